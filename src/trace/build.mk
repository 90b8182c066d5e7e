# src/trace/build.mk — profiling tool chain (issue 6): the tracer runtime
# libevodash-trace.so, and utillog / profile / validate in libevdtools.a.

# Fragments are included before `all:`; keep `make` with no target building all.
.DEFAULT_GOAL := all

# pyhook.c needs Python.h: it is built alone, as a Python module (below).
TRACE_TOOL_SRC := $(filter-out src/trace/rt_%.c src/trace/pyhook.c,$(wildcard src/trace/*.c))
TRACE_RT_SRC   := $(wildcard src/trace/rt_*.c)
TOOL_SRC       += $(TRACE_TOOL_SRC)

# The schemas are embedded with .incbin from schema_data.c; -MMD cannot see them.
$(foreach v,rel asan tsan,$(eval build/$(v)/src/trace/schema_data.o: $(wildcard src/trace/schemas/*.json)))

# ---- the tracer runtime -------------------------------------------------------
# Its own library: built -fvisibility=hidden (CFLAGS_rel), exporting only the
# evd_trace_* names and the two __cyg_profile_func_* hooks.
build/rel/libevodash-trace.so: $(patsubst %.c,build/rel/%.o,$(TRACE_RT_SRC))
	$(CC) -shared -Wl,-soname,libevodash-trace.so -o $@ $^ -lpthread -ldl

ALL_EXTRA     += build/rel/libevodash-trace.so
INSTALL_EXTRA += build/rel/libevodash-trace.so

TRACE_INSTR_FLAGS := $(WARN) -Iinclude -O1 -g -finstrument-functions
TRACE_LINK_RT     := -Lbuild/rel -levodash-trace -Wl,-rpath,$(CURDIR)/build/rel

# ---- round trip: trace real programs, profile them, check the result --------
build/rel/trace/roundtrip_prog: tests/trace/roundtrip_prog.c build/rel/libevodash-trace.so
	@mkdir -p $(@D)
	$(CC) $(TRACE_INSTR_FLAGS) $< -o $@ $(TRACE_LINK_RT) -lpthread
# Built without the library: glibc's no-op hooks are replaced by LD_PRELOAD.
build/rel/trace/preload_prog: tests/trace/preload_prog.c
	@mkdir -p $(@D)
	$(CC) $(TRACE_INSTR_FLAGS) $< -o $@

check-trace-roundtrip: build/rel/trace/roundtrip_prog build/rel/trace/preload_prog \
                       build/rel/evodash build/rel/libevodash-trace.so
	tests/trace/roundtrip.sh build/rel

CHECK_EXTRA += check-trace-roundtrip
.PHONY: check-trace-roundtrip

# ---- utillog on the real /proc -------------------------------------------------
build/rel/trace/netpeer: tests/trace/netpeer.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 $< -o $@

check-trace-utillog: build/rel/trace/netpeer build/rel/evodash
	tests/trace/utillog.sh build/rel

CHECK_EXTRA += check-trace-utillog
.PHONY: check-trace-utillog

# ---- benchmarks --------------------------------------------------------------
# bench_trace is compiled with -finstrument-functions and linked with the
# tracer, so it needs its own rule; bench_profile uses the pattern rule.
build/rel/bench/bench_trace: bench/bench_trace.c build/rel/libevodash-trace.so
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude -O2 -g -finstrument-functions $< -o $@ $(TRACE_LINK_RT) -lpthread
bench-trace: build/rel/bench/bench_trace
	$<

BENCHES += trace profile
.PHONY: bench-trace

# The tracer runtime is lock-free on its hot path: test it under TSan too.
TSAN_TESTS += test_trace_rt

# ---- the Python profile hook (a CPython extension module) ------------------
TRACE_PY_INCLUDES = $(shell python3-config --includes 2>/dev/null)
build/rel/trace/_evodash_trace.so: src/trace/pyhook.c include/evodash_trace.h build/rel/libevodash-trace.so
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude $(TRACE_PY_INCLUDES) -O2 -g -fPIC -shared -fvisibility=hidden -Werror \
	    $< -o $@ $(TRACE_LINK_RT)

check-trace-python: build/rel/trace/_evodash_trace.so build/rel/evodash
	tests/trace/python.sh build/rel

CHECK_EXTRA += check-trace-python
.PHONY: check-trace-python

check-trace-cli: build/rel/evodash
	tests/trace/cli.sh build/rel

CHECK_EXTRA += check-trace-cli
.PHONY: check-trace-cli
