# src/tracer/build.mk — the function tracer: libevodash-trace.so (the
# -finstrument-functions hooks and the call-log writer, public API in
# include/evodash_trace.h) and its Python profile hook.

TRACER_SRC := src/tracer/tracer.c src/tracer/symbols.c src/core/intern.c

# Its own library: built -fvisibility=hidden (CFLAGS_rel), exporting only the
# evd_trace_* names and the two __cyg_profile_func_* hooks.
build/rel/libevodash-trace.so: $(patsubst %.c,build/rel/%.o,$(TRACER_SRC))
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

# ---- benchmark ---------------------------------------------------------------
# bench_trace is compiled with -finstrument-functions and linked with the
# tracer, so it needs its own rule.
build/rel/bench/bench_trace: bench/bench_trace.c build/rel/libevodash-trace.so
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude -O2 -g -finstrument-functions $< -o $@ $(TRACE_LINK_RT) -lpthread
bench-trace: build/rel/bench/bench_trace
	$<

BENCHES += trace
.PHONY: bench-trace

# The tracer is lock-free on its hot path: test it under TSan too.
TSAN_TESTS += test_trace_rt

# ---- the Python profile hook (a CPython extension module) ------------------
# pyhook.c needs Python.h: it is built alone, as a Python module, not into
# any of the libraries.
TRACE_PY_INCLUDES = $(shell python3-config --includes 2>/dev/null)
build/rel/trace/_evodash_trace.so: src/tracer/pyhook.c include/evodash_trace.h build/rel/libevodash-trace.so
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude $(TRACE_PY_INCLUDES) -O2 -g -fPIC -shared -fvisibility=hidden -Werror \
	    $< -o $@ $(TRACE_LINK_RT)

check-trace-python: build/rel/trace/_evodash_trace.so build/rel/evodash
	tests/trace/python.sh build/rel

CHECK_EXTRA += check-trace-python
.PHONY: check-trace-python
