# src/dash/build.mk — the dashboard handler, its libmicrohttpd server and
# their tests (issue 3).  The sources are in LIB_SRC (src/dash, src/server).

# Synthetic traffic for the API test and bench-api (store API, -O2).
build/rel/tests/integration/fill: tests/integration/fill.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)

# API correctness and authentication against a real `evodash serve`.
check-dash-api: build/rel/evodash build/rel/tests/integration/fill
	python3 tests/integration/api_test.py build/rel
CHECK_EXTRA += check-dash-api
.PHONY: check-dash-api
