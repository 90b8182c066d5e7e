# python/build.mk — the Flask binding (a CPython extension in C).
#
# check-python installs the binding the way users do (pip, offline, into a
# venv made from Debian's /usr/bin/python3 with system site packages, so
# Debian's Flask, pytest and gunicorn are used) and runs its pytest suite.

PY_VENV    := build/python/venv
PY         := $(PY_VENV)/bin/python
PY_SRC     := $(wildcard python/evodash/*.c python/evodash/*.h python/evodash/*.py) python/setup.py
PY_STAMP   := build/python/installed.stamp

$(PY):
	@mkdir -p $(@D)/..
	/usr/bin/python3 -m venv --system-site-packages $(PY_VENV)

$(PY_STAMP): $(PY) $(PY_SRC) build/rel/libevodash.a
	rm -rf python/build
	$(PY) -m pip install -q --no-build-isolation --no-index --no-deps --force-reinstall ./python
	rm -rf python/build python/evodash.egg-info
	@touch $@

check-python: $(PY_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider python/tests

bench-flask_overhead: $(PY_STAMP)
	$(PY) bench/bench_flask_overhead.py

CHECK_EXTRA += check-python
BENCHES     += flask_overhead

.PHONY: check-python bench-flask_overhead
