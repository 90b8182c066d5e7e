# src/sim — the capacity simulator.  See docs/simulate.md.
TOOL_SRC += $(wildcard src/sim/*.c)

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
