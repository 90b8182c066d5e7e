"""A traced Python program with known work per function, for python.sh.

Interaction "py/req": work_b spins 30 ms itself, then calls work_a, which
spins 50 ms.  Spinning to a deadline keeps the wall times exact.
"""
import sys
import time

sys.path.insert(0, sys.argv[1])
import _evodash_trace as tracer  # noqa: E402


def spin(ms):
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


def work_a():
    spin(50)


def work_b():
    spin(30)
    work_a()


tracer.start(sys.argv[2])
tracer.enable()
tracer.root_begin("py/req")
work_b()
tracer.root_end()
tracer.disable()
tracer.stop()
