# evodash build.
#
# Layout: every component lives in src/NAME/.  The library libevodash.{a,so}
# holds what a monitored process and `evodash serve` need: core, agent, store,
# the dashboard handler (dash), its libmicrohttpd server (server) and the
# embedded assets.  The tool chain (profile builder, utilisation logger,
# simulator) becomes libevdtools.a; both link into the `evodash` CLI.  The
# function tracer is a library of its own, libevodash-trace.so.
# Components may add a src/NAME/build.mk fragment that appends to the
# variables below (TOOL_SRC, TSAN_TESTS, CHECK_EXTRA, BENCHES, ...), so that
# they can grow without touching this file.
#
# Three build variants share one set of rules:
#   build/rel   -O2, PIC, what gets installed
#   build/asan  AddressSanitizer + UndefinedBehaviorSanitizer, for tests
#   build/tsan  ThreadSanitizer, for the lock-free and threaded tests

.DEFAULT_GOAL := all
PREFIX   ?= /usr/local
CC       ?= cc
VERSION  := 0.1.0

WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 \
            -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith \
            -Wvla -Wno-missing-field-initializers
INCS     := -Iinclude -Isrc
PKGS     := sqlite3 libpq inih jansson libsodium libmicrohttpd libunwind zlib
# Libraries only the tool code (libevdtools.a) uses: linked into the CLI,
# the tests and the benchmarks, never into libevodash.so (build.mk
# fragments add to it).
TOOL_PKGS :=
# Recursive (=): evaluated after scripts/install-deps has run.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TOOL_PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread -lm -ldl
TOOL_LIBS  = $(if $(TOOL_PKGS),$(shell pkg-config --libs $(TOOL_PKGS)))

CFLAGS_rel  := -O2 -g -fPIC -fvisibility=hidden -Werror
CFLAGS_asan := -O1 -g -fPIC -fvisibility=hidden -Werror -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_tsan := -O1 -g -fPIC -fvisibility=hidden -Werror -fsanitize=thread
LDFLAGS_rel  :=
LDFLAGS_asan := -fsanitize=address,undefined
LDFLAGS_tsan := -fsanitize=thread

LIB_SRC    := $(wildcard src/core/*.c src/agent/*.c src/store/*.c src/dash/*.c src/server/*.c)
ASSET_SRC  := $(wildcard src/assets/*.S)
CLI_SRC    := $(wildcard src/cli/*.c)
TOOL_SRC   :=
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
TSAN_TESTS := test_ring test_writer
CHECK_EXTRA :=
BENCHES    := hotpath ingest writer_pace
ALL_EXTRA  :=
INSTALL_EXTRA :=

include $(wildcard src/*/build.mk python/build.mk)

all: build/rel/evodash build/rel/libevodash.so build/rel/libevodash.a $(ALL_EXTRA)

# ---- dependencies -----------------------------------------------------------
# Order-only, so it never forces a rebuild; it is a quick dpkg-query when all
# packages are present.
deps:
	@scripts/install-deps

# ---- objects, one rule set per variant --------------------------------------
define variant
build/$(1)/%.o: %.c | deps
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $$(INCS) $$(PKG_CFLAGS) $$(CFLAGS_$(1)) $$(EXTRA_CFLAGS) -MMD -MP -c $$< -o $$@
build/$(1)/%.o: %.S | deps web/node_modules/echarts/dist/echarts.min.js
	@mkdir -p $$(@D)
	$$(CC) -Wa,-I$$(CURDIR) -c $$< -o $$@
build/$(1)/libevodash.a: $$(patsubst %.c,build/$(1)/%.o,$$(LIB_SRC)) $$(patsubst %.S,build/$(1)/%.o,$$(ASSET_SRC))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/libevdtools.a: $$(patsubst %.c,build/$(1)/%.o,$$(TOOL_SRC))
	@rm -f $$@; mkdir -p $$(@D)
	$$(if $$^,ar rcs $$@ $$^,printf '!<arch>\n' > $$@)
build/$(1)/tests/%: tests/unit/%.c build/$(1)/libevdtools.a build/$(1)/libevodash.a | deps
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $$(INCS) $$(PKG_CFLAGS) $$(CFLAGS_$(1)) -MMD -MP $$< -o $$@ \
	    build/$(1)/libevdtools.a build/$(1)/libevodash.a $$(LDFLAGS_$(1)) $$(TOOL_LIBS) $$(PKG_LIBS) -lcmocka
endef
$(eval $(call variant,rel))
$(eval $(call variant,asan))
$(eval $(call variant,tsan))

build/rel/evodash: $(patsubst %.c,build/rel/%.o,$(CLI_SRC)) build/rel/libevdtools.a build/rel/libevodash.a
	$(CC) -o $@ $^ $(TOOL_LIBS) $(PKG_LIBS)

build/rel/libevodash.so: $(patsubst %.c,build/rel/%.o,$(LIB_SRC)) $(patsubst %.S,build/rel/%.o,$(ASSET_SRC))
	$(CC) -shared -Wl,-soname,libevodash.so -o $@ $^ $(PKG_LIBS)

web/node_modules/echarts/dist/echarts.min.js: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

# ---- tests ------------------------------------------------------------------
# `make -j2 all tests` compiles everything in parallel; `make check` then runs
# the suites (CI runs them one at a time: several checks time real work, and
# two of them sharing two cores would measure each other).
tests: $(addprefix build/asan/tests/,$(UNIT_TESTS)) $(addprefix build/tsan/tests/,$(TSAN_TESTS))

# Every unit test runs under ASan+UBSan; the threaded ones also under TSan.
check: all $(addprefix check-asan-,$(UNIT_TESTS)) $(addprefix check-tsan-,$(TSAN_TESTS)) \
       check-install check-trace-roots format-check $(CHECK_EXTRA)
	@echo "make check: all suites passed"

check-asan-%: build/asan/tests/%
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $<
check-tsan-%: build/tsan/tests/%
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $<

check-install: all
	+tests/install/check.sh

check-trace-roots: build/rel/examples/quickstart build/rel/libevodash-trace.so
	tests/agent/trace_roots.sh build/rel

format-check:
	clang-format --dry-run -Werror $$(git ls-files 'include/*.h' 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c' 'examples/*.c' 'fuzz/*.c' 'python/*.c')

# ---- benchmarks -------------------------------------------------------------
# Each prints its headline as the last line: `name: value unit`.
bench: $(addprefix bench-,$(BENCHES))
build/rel/bench/%: bench/%.c build/rel/libevdtools.a build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevdtools.a build/rel/libevodash.a $(TOOL_LIBS) $(PKG_LIBS)
bench-%: build/rel/bench/bench_% build/rel/evodash
	$<

# ---- demo -------------------------------------------------------------------
build/rel/examples/%: examples/%.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)

# A store with 60 days of realistic history, the example C service recording
# live traffic into it, and the dashboard on the service's port; Ctrl-C stops.
demo: all build/rel/examples/demo_history build/rel/examples/c_service
	examples/demo_run.sh build/rel

# ---- install ----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 build/rel/evodash $(DESTDIR)$(PREFIX)/bin/evodash
	install -m 644 build/rel/libevodash.a $(DESTDIR)$(PREFIX)/lib/libevodash.a
	install -m 755 build/rel/libevodash.so $(DESTDIR)$(PREFIX)/lib/libevodash.so
	install -m 644 include/evodash*.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' scripts/evodash.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/evodash.pc
	$(foreach f,$(INSTALL_EXTRA),install -m 755 $(f) $(DESTDIR)$(PREFIX)/lib/ ;)

clean:
	rm -rf build

.PHONY: all deps tests check check-install check-trace-roots format-check bench demo install clean
# Keep every build output (test binaries are reached only through pattern
# rules and would otherwise be deleted as intermediates).  Not .SECONDARY:
# with no prerequisites it makes the check-* targets count as up to date.
.PRECIOUS: build/%
-include $(shell find build -name '*.d' 2>/dev/null)
