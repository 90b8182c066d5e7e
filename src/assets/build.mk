# src/assets/build.mk — the dashboard app (web/src) embedded in libevodash,
# its demo history, browser tests and UI benchmark.

SPA_FILES := $(sort $(wildcard web/src/*.html web/src/*.js web/src/*.css web/src/views/*.js))

# spa.S lists the files; .incbin'd content is not seen by make, so every
# variant's object depends on the files themselves.
src/assets/spa.S: $(SPA_FILES) src/assets/gen-spa.sh
	src/assets/gen-spa.sh
$(foreach v,rel asan tsan,build/$(v)/src/assets/spa.o): $(SPA_FILES)

# playwright-core comes with `npm ci` (the echarts rule in the Makefile).
web/node_modules/playwright-core/package.json: web/node_modules/echarts/dist/echarts.min.js
	@test -f $@ || (cd web && npm ci --no-audit --no-fund)

UI_DEPS := build/rel/evodash build/rel/examples/demo_history build/rel/examples/c_service build/rel/tests/verdicts/plant build/rel/tests/integration/fill web/node_modules/playwright-core/package.json

# Browser tests: a demo store, `evodash serve` on loopback, headless chromium.
check-ui: $(UI_DEPS)
	src/assets/gen-spa.sh --check
	node --test --test-concurrency=1 tests/ui/

bench-ui: $(UI_DEPS)
	node tests/ui/bench_ui.mjs

CHECK_EXTRA += check-ui
BENCHES     += ui
.PHONY: check-ui bench-ui
