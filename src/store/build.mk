# src/store/build.mk — the suites that run against PostgreSQL.  Each starts
# a throwaway server of its own (tests/pg/with_pg.sh) and removes it after:
# no test relies on a server left running.

PG := tests/pg/with_pg.sh

# The PostgreSQL backend's own cases, under ASan+UBSan.
build/asan/tests/pg/test_pg_store: tests/pg/test_pg_store.c build/asan/libevodash.a | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS_asan) $< -o $@ \
	    build/asan/libevodash.a $(LDFLAGS_asan) $(PKG_LIBS) -lcmocka
# And under ThreadSanitizer: a sliced scan's rows are received by threads.
build/tsan/tests/pg/test_pg_store: tests/pg/test_pg_store.c build/tsan/libevodash.a | deps
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS_tsan) $< -o $@ \
	    build/tsan/libevodash.a $(LDFLAGS_tsan) $(PKG_LIBS) -lcmocka
check-pg-store: build/asan/tests/pg/test_pg_store build/tsan/tests/pg/test_pg_store
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(PG) build/tsan/tests/pg/test_pg_store

# The writer suite, and the dashboard's API and browser suites, unchanged,
# against a PostgreSQL store.  The API suite runs three times: with every
# range over 50 rows read in slices (sent COPY reads, two connections),
# with none (streamed COPY reads, cut short by the RAW_ROWS_MAX cases), and
# with every past hour packed (compact.c).
check-pg-writer: build/asan/tests/test_writer
	EVODASH_TEST_UNIT_PG=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
# Packed hours (compact.c) read as the log does, on PostgreSQL too.
check-pg-packed: build/asan/tests/test_packed
	EVODASH_TEST_UNIT_PG=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
check-pg-api: build/rel/evodash build/rel/tests/integration/fill
	EVODASH_PG_SLICE_ROWS=50 $(PG) /usr/bin/python3 tests/integration/api_test.py build/rel --pg
	EVODASH_PG_SLICE_ROWS=1000000000 $(PG) /usr/bin/python3 tests/integration/api_test.py build/rel --pg
	EVODASH_API_PACKED=1 $(PG) /usr/bin/python3 tests/integration/api_test.py build/rel --pg
check-pg-ui: $(UI_DEPS)
	$(PG) env EVODASH_UI_PG=1 node --test --test-concurrency=1 tests/ui/

# Losing the database under load (30 s), and a service that starts without
# it (a wrong password, an unreachable host): nothing lost unseen.
check-pg-outage: build/rel/examples/c_service build/rel/evodash
	$(PG) /usr/bin/python3 tests/pg/outage_test.py build/rel

# `evodash migrate` SQLite -> PostgreSQL -> SQLite.
check-pg-migrate: build/rel/evodash build/rel/tests/integration/fill build/rel/examples/c_service
	$(PG) /usr/bin/python3 tests/pg/migrate_test.py build/rel

CHECK_EXTRA += check-pg-store check-pg-writer check-pg-packed check-pg-api check-pg-ui \
               check-pg-outage check-pg-migrate
.PHONY: check-pg-store check-pg-writer check-pg-packed check-pg-api check-pg-ui check-pg-outage \
        check-pg-migrate

# A SQLite store that goes wrong under a running service: its folder deleted,
# read-only, a full disk (a tmpfs, where mounting is allowed), damaged; and
# FLUSH_INTERVAL_MS, set and at its default (the kill -9 bound docs/config.md
# states: a burst is stored within about that interval).  Stored + shown
# drops = sent, every time.
check-faults: build/rel/examples/c_service build/rel/evodash build/rel/tests/integration/fill
	/usr/bin/python3 tests/faults/fault_test.py build/rel
CHECK_EXTRA += check-faults
.PHONY: check-faults

# ---- benchmarks against PostgreSQL (not part of make check) -----------------------
# A server with PostgreSQL's own defaults (durable commits), on loopback.
bench-ingest_pg: build/rel/bench/bench_ingest_pg
	$(PG) --durable sh -c '$< "$$EVODASH_TEST_PG"'
BENCHES += ingest_pg
.PHONY: bench-ingest_pg
