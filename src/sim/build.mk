# src/sim — the capacity simulator.  See docs/simulate.md and docs/capacity.md.
#
# The simulator's core (model, engine, replay, the capacity model built from
# the store, what-if runs) is in the library, libevodash: the dashboard's
# Capacity page runs it (src/dash/api_capacity.c) wherever the dashboard is
# served, in `evodash serve` and inside a service alike, so libevodash.so
# must hold it (it depends on nothing the library does not have already:
# jansson and the store).  Only the page of `simulate --serve` and the
# HTML report stay tool code in libevdtools.a.  Keeping the core in the
# tools archive instead would leave the dashboard objects of libevodash.a
# with references that only an archive linked before it resolves, which a
# one-pass linker cannot do, and libevodash.so unusable alone.
SIM_TOOL_SRC := src/sim/serve.c src/sim/report.c
LIB_SRC  += $(filter-out $(SIM_TOOL_SRC),$(wildcard src/sim/*.c))
TOOL_SRC += $(SIM_TOOL_SRC)
# An archive built before the core moved still holds it, and linked first
# it would win: rebuilding the page's objects when this file changes makes
# libevdtools.a start afresh.
$(foreach v,rel asan tsan,$(patsubst %.c,build/$(v)/%.o,$(SIM_TOOL_SRC))): src/sim/build.mk

# The page of `simulate --serve`, embedded with .incbin (src/sim/page.S).
# TOOL_SRC only takes .c files, so the object joins the archive as an extra
# prerequisite (ar gets $^).
build/rel/libevdtools.a: build/rel/src/sim/page.o
build/asan/libevdtools.a: build/asan/src/sim/page.o
build/tsan/libevdtools.a: build/tsan/src/sim/page.o
build/rel/src/sim/page.o build/asan/src/sim/page.o build/tsan/src/sim/page.o: src/sim/page.html

# Queueing-theory checks: ~50M simulated arrivals, so -O2 rather than ASan.
build/rel/tests/sim/%: tests/sim/%.c build/rel/libevdtools.a build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevdtools.a build/rel/libevodash.a $(PKG_LIBS)
check-sim-queueing: build/rel/tests/sim/queueing
	$<
CHECK_EXTRA += check-sim-queueing
.PHONY: check-sim-queueing
BENCHES += sim

# Integration test of `evodash simulate --serve` (curl + python3 stdlib).
check-sim-serve: build/rel/evodash
	tests/sim/serve_test.sh build/rel/evodash
CHECK_EXTRA += check-sim-serve
.PHONY: check-sim-serve
TSAN_TESTS += test_sim_serve

# The capacity model's store functions and the builder on PostgreSQL too
# (the same cmocka suite, its store a throwaway server's database).
check-pg-capacity: build/asan/tests/test_capacity
	EVODASH_TEST_UNIT_PG=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(PG) $<
CHECK_EXTRA += check-pg-capacity
.PHONY: check-pg-capacity

# The statistics bench-capacity's verdict rests on (python3, stdlib).
check-sim-bench-stats:
	python3 tests/sim/bench_stats_test.py
CHECK_EXTRA += check-sim-bench-stats
.PHONY: check-sim-bench-stats

# The capacity model against measurement: the C example service and a Flask
# app under gunicorn, each recorded at utilisation 0.3 under an open-loop
# Poisson load (bench/loadgen.c), predicted at utilisation 0.6 and 0.8 and
# then run there for real (docs/capacity.md).  About 23 minutes; it measures real
# latencies, so run it alone: flock /tmp/evodash-bench.lock make bench-capacity
# (python/build.mk, read after this file, makes the venv: its stamp is named
# here because prerequisites are expanded as they are read)
bench-capacity: build/rel/evodash build/rel/bench/loadgen build/rel/examples/c_service \
                build/python/installed.stamp
	/usr/bin/python3 bench/bench_capacity.py build/rel $(PY)
BENCHES += capacity
.PHONY: bench-capacity
