# python/build.mk — the Flask binding (a CPython extension in C).
#
# check-python installs the binding the way users do (pip, offline, into a
# venv made from Debian's /usr/bin/python3 with system site packages, so
# Debian's Flask, pytest and gunicorn are used) and runs its pytest suite.
# Each run builds in its own copy and venv, so that two `make check` runs
# in one checkout never reinstall under each other's tests.

PY_VENV    := build/python/venv
PY         := $(PY_VENV)/bin/python
PY_SRC     := $(wildcard python/evodash/*.c python/evodash/*.h python/evodash/*.py) python/setup.py
PY_STAMP   := build/python/installed.stamp

$(PY):
	@mkdir -p $(@D)/..
	/usr/bin/python3 -m venv --system-site-packages $(PY_VENV)

# The venv the benchmark uses.
$(PY_STAMP): $(PY) $(PY_SRC) build/rel/libevdtools.a build/rel/libevodash.a
	rm -rf build/python/src && mkdir -p build/python/src
	cp -r python/setup.py python/evodash build/python/src/
	EVODASH_ROOT=$(CURDIR) $(PY) -m pip install -q --no-build-isolation --no-index --no-deps \
	    --force-reinstall ./build/python/src
	@touch $@

check-python: build/rel/libevdtools.a build/rel/libevodash.a build/rel/evodash
	@set -e; d=build/python/check.$$$$; rm -rf $$d; mkdir -p $$d/src; \
	trap 'rm -rf $$d' EXIT; \
	cp -r python/setup.py python/evodash $$d/src/; \
	/usr/bin/python3 -m venv --system-site-packages $$d/venv; \
	echo "check-python: pip install --no-build-isolation (offline) into $$d/venv"; \
	EVODASH_ROOT=$(CURDIR) $$d/venv/bin/python -m pip install -q --no-build-isolation \
	    --no-index --no-deps ./$$d/src; \
	$$d/venv/bin/python -m pytest -q -p no:cacheprovider python/tests

bench-flask_overhead: $(PY_STAMP)
	$(PY) bench/bench_flask_overhead.py

CHECK_EXTRA += check-python
BENCHES     += flask_overhead

.PHONY: check-python bench-flask_overhead
