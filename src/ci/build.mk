# src/ci/build.mk — `evodash collect`'s tool code: JUnit XML reports
# (libexpat) and the upload (libcurl).  In libevdtools.a only, so that
# libevodash.so, which services load, never links either library.
TOOL_SRC  += $(wildcard src/ci/*.c)
TOOL_PKGS += expat libcurl

# The CI store, upload and agent cases of tests/unit/test_ci.c, also on
# PostgreSQL; the API, `evodash collect` on real pytest and ctest reports,
# and the pytest plugin end to end, on both backends.
check-pg-ci: build/asan/tests/test_ci
	EVODASH_TEST_UNIT_PG=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
CHECK_EXTRA += check-pg-ci
.PHONY: check-pg-ci

build/rel/tests/integration/ci_live: tests/integration/ci_live.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)
# (the venv with the binding installed, for the pytest plugin: python/build.mk)
CI_TEST_DEPS := build/rel/evodash build/rel/tests/integration/ci_live build/python/installed.stamp
check-ci: $(CI_TEST_DEPS)
	/usr/bin/python3 tests/integration/ci_test.py build/rel
check-pg-ci-api: $(CI_TEST_DEPS)
	$(PG) /usr/bin/python3 tests/integration/ci_test.py build/rel --pg
CHECK_EXTRA += check-ci check-pg-ci-api
.PHONY: check-ci check-pg-ci-api
