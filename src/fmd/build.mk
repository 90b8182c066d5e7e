# src/fmd/build.mk — `evodash import-fmd`: a Flask-MonitoringDashboard
# database copied into a store.  Tool code, in libevdtools.a: a monitored
# process never imports, so libevodash holds none of it.  Its SQL lives in
# src/store like all SQL (fmd_source.c reads FMD's file, imports.c keeps the
# store's record of imports) and goes into libevdtools.a with it.

FMD_STORE_SRC := src/store/fmd_source.c src/store/imports.c
LIB_SRC  := $(filter-out $(FMD_STORE_SRC),$(LIB_SRC))
TOOL_SRC += $(wildcard src/fmd/*.c) $(FMD_STORE_SRC)

# The importer's unit cases (tests/unit/test_fmd_import.c, run by make check
# under ASan like every unit test) on a PostgreSQL store too.
check-pg-fmd-unit: build/asan/tests/test_fmd_import
	EVODASH_TEST_UNIT_PG=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
CHECK_EXTRA += check-pg-fmd-unit
.PHONY: check-pg-fmd-unit

# import-fmd end to end on tests/data/fmd/fmd.db (written by FMD itself):
# counts, frames, no secret left, a second import refused, --force, and the
# outlier in the dashboard API; on SQLite and on a throwaway PostgreSQL.
check-fmd-import: build/rel/evodash
	/usr/bin/python3 tests/fmd/import_test.py build/rel
check-pg-fmd-import: build/rel/evodash
	$(PG) /usr/bin/python3 tests/fmd/import_test.py build/rel --pg
CHECK_EXTRA += check-fmd-import check-pg-fmd-import
.PHONY: check-fmd-import check-pg-fmd-import
