# src/dash/build.mk — the dashboard handler, its libmicrohttpd server and
# their tests.  The sources are in LIB_SRC (src/dash, src/server).

# Synthetic traffic for the API test and bench-api (store API, -O2).
build/rel/tests/integration/fill: tests/integration/fill.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)

# API correctness and authentication against a real `evodash serve`: the
# raw-row views read from the request log, then from packed hours.
check-dash-api: build/rel/evodash build/rel/tests/integration/fill
	python3 tests/integration/api_test.py build/rel
	EVODASH_API_PACKED=1 python3 tests/integration/api_test.py build/rel
CHECK_EXTRA += check-dash-api
.PHONY: check-dash-api

# Several groupings in one group text, each its own dimension (groupings.c);
# on SQLite and on a throwaway PostgreSQL server.
check-dash-groupings: build/rel/evodash build/rel/tests/integration/fill
	/usr/bin/python3 tests/integration/groupings_test.py build/rel
check-pg-groupings: build/rel/evodash build/rel/tests/integration/fill
	tests/pg/with_pg.sh /usr/bin/python3 tests/integration/groupings_test.py build/rel --pg
CHECK_EXTRA += check-dash-groupings check-pg-groupings
.PHONY: check-dash-groupings check-pg-groupings

# ---- libFuzzer: routing, query parsing, login body ---------------------------
# The dashboard sources are rebuilt with clang's fuzzer instrumentation; the
# rest of the library comes from the release archive (its dash objects are
# never pulled, since every symbol they define is already defined).
DASH_FUZZ_SRC := $(wildcard src/dash/*.c)
build/fuzz/fuzz_dash: fuzz/fuzz_dash.c $(DASH_FUZZ_SRC) build/rel/libevodash.a
	@mkdir -p $(@D)
	clang $(WARN) $(INCS) $(PKG_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined fuzz/fuzz_dash.c $(DASH_FUZZ_SRC) -o $@ \
	    build/rel/libevodash.a $(PKG_LIBS)
# Bounded: 20 s, starting from the checked-in seeds (new inputs go to build/).
check-dash-fuzz: build/fuzz/fuzz_dash
	@mkdir -p build/fuzz/corpus_dash
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz_dash -max_total_time=20 -max_len=4096 \
	    -print_final_stats=0 build/fuzz/corpus_dash fuzz/seeds_dash
CHECK_EXTRA += check-dash-fuzz
.PHONY: check-dash-fuzz

# ---- the C-service example and its test --------------------------------------
build/rel/examples/c_service: examples/c_service.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)
ALL_EXTRA += build/rel/examples/c_service
check-dash-cservice: build/rel/examples/c_service
	python3 tests/integration/c_service_test.py build/rel
CHECK_EXTRA += check-dash-cservice
.PHONY: check-dash-cservice

# ---- bench-api: every route against a 10M-request store -------------------------
# Not part of `make check`.  The store is cached in build/rel/bench-api/.
bench-api: build/rel/bench/bench_api build/rel/evodash build/rel/tests/integration/fill
	bench/bench_api.sh build/rel
BENCHES += api
# The same against PostgreSQL (the store copied in with `evodash migrate`).
bench-api_pg: build/rel/bench/bench_api build/rel/evodash build/rel/tests/integration/fill
	tests/pg/with_pg.sh --durable bench/bench_api.sh build/rel --pg
BENCHES += api_pg
.PHONY: bench-api bench-api_pg

# The handler is shared by the transport's threads: run its thread test under TSan.
TSAN_TESTS += test_dash_threads
TSAN_TESTS += test_mhd_adapter
TSAN_TESTS += test_ratelimit

# ---- version verdicts: planted faults, findings API ----------------
# A store with realistic traffic and planted faults (tests/verdicts/plant.c).
build/rel/tests/verdicts/plant: tests/verdicts/plant.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)
# Every planted fault found over 20 seeds, no finding on the unchanged
# endpoints at the defaults (the rate is printed).
check-verdicts-planted: build/rel/evodash build/rel/tests/verdicts/plant
	/usr/bin/python3 tests/verdicts/planted_test.py build/rel
CHECK_EXTRA += check-verdicts-planted
.PHONY: check-verdicts-planted
# The verdict routes (findings, compare, profile diff, marks, renames,
# metrics gauge) against a real serve, statistics checked with scipy; on
# SQLite and on a throwaway PostgreSQL server.
check-verdicts-api: build/rel/evodash build/rel/tests/verdicts/plant
	/usr/bin/python3 tests/verdicts/verdicts_api_test.py build/rel
check-pg-verdicts: build/rel/evodash build/rel/tests/verdicts/plant
	tests/pg/with_pg.sh /usr/bin/python3 tests/verdicts/verdicts_api_test.py build/rel --pg
CHECK_EXTRA += check-verdicts-api check-pg-verdicts
.PHONY: check-verdicts-api check-pg-verdicts
TSAN_TESTS += test_verdicts
