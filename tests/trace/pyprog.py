"""A traced Python program with known work per function, for python.sh.

Interaction "py/req": work_b spins 30 ms itself, then calls work_a, which
spins 50 ms.  A spin can overrun on a loaded machine, so the program also
measures each one and writes "name ms ..." lines to argv[3] for depths 1
and 2, which the test compares with the profile.
"""
import sys
import time

sys.path.insert(0, sys.argv[1])
import _evodash_trace as tracer  # noqa: E402


measured = {}


def spin(ms):
    start = time.perf_counter()
    end = start + ms / 1000.0
    now = start
    while now < end:
        now = time.perf_counter()
    return (now - start) * 1000.0


def work_a():
    measured["a"] = spin(50)


def work_b():
    measured["b"] = spin(30)
    work_a()


tracer.start(sys.argv[2])
tracer.enable()
tracer.root_begin("py/req")
work_b()
tracer.root_end()
tracer.disable()
tracer.stop()
with open(sys.argv[3], "w") as f:
    a, b = measured["a"], measured["b"]
    f.write("d1 pyprog.work_b %.3f\n" % (a + b))
    f.write("d2 pyprog.spin %.3f pyprog.work_a %.3f\n" % (b, a))
