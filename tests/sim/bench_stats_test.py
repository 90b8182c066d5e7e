"""The statistics of bench-capacity (bench/bench_capacity.py) that its
verdict rests on: the drift keeps the traffic's CPU level, the confidence
interval of a measured mean is Student's, and measure() batches a load by
whole drift periods.  Plain python3 (stdlib): run by `make check`."""
import csv
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import bench_capacity as bc  # noqa: E402

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def cpu_at(mix, t):
    """The nominal CPU (ms per s at rate 1) that mix needs at time t."""
    return sum(share * cost * (1 + amp * math.sin(2 * math.pi * t / bc.DRIFT_S + phase))
               for (_, share, _, cost), (amp, phase) in zip(mix, bc.drift(mix)))


for kind, mix in bc.MIXES.items():
    level = [cpu_at(mix, bc.DRIFT_S * i / 97) for i in range(97)]
    mean = sum(share * cost for _, share, _, cost in mix)
    check(max(abs(x - mean) for x in level) < 1e-9 * mean,
          "%s: the drifting traffic needs the same CPU throughout" % kind)
    amps = [a for a, _ in bc.drift(mix)]
    check(max(amps) == bc.DRIFT_AMP and min(amps) > 0.1,
          "%s: every endpoint's rate swings, the cheapest by DRIFT_AMP (%s)" % (kind, amps))

# Student's t, 0.975 (tables): within 1% from 3 degrees of freedom on
for dof, t in ((3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (1000, 1.962)):
    got = bc.t975(dof)
    check(abs(got - t) < 0.01 * t, "t975(%d) = %.3f (table %.3f)" % (dof, got, t))

# six batch means 1, 2, ..., 6: mean 3.5, sd 1.8708, t(5) 2.571
ci = bc.batch_ci([1, 2, 3, 4, 5, 6])
check(abs(ci - 2.571 * 1.8708 / math.sqrt(6) / 3.5) < 0.01 * ci, "batch_ci of 1..6: %.4f" % ci)
check(bc.batch_ci([1, 2]) is None, "batch_ci needs three batches")

# measured(): endpoint 0 takes 10 ms in even drift periods and 30 ms in odd
# ones, endpoint 1 always 5 ms; requests due in the warm-up and failed ones
# are left out
with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "load.csv")
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([0, 1.0, 9.0, "200", 0])  # in the warm-up
        t = bc.WARM_S
        while t < 6 * bc.DRIFT_S:
            w.writerow([0, t, 0.010 if int(t // bc.DRIFT_S) % 2 == 0 else 0.030, "200", 0])
            w.writerow([1, t, 0.005, "200", 0])
            w.writerow([1, t, 7.0, "503", 0])  # failed
            t += 0.5
    (m0, p0, n0, ci0), (m1, p1, n1, ci1) = bc.measured(out, [None, None])
    check(n0 == n1 == 6 * 80 - 10, "measured() counts the answered requests after the warm-up "
          "(%d, %d)" % (n0, n1))
    check(abs(m1 - 0.005) < 1e-12 and ci1 < 1e-9, "a steady endpoint's mean has no spread")
    # batches: 20, 30, 20, 30, 20, 30 ms (the first one is shorter, the same value)
    want = bc.batch_ci([0.010, 0.030] * 3)
    check(abs(ci0 - want) < 1e-9, "the batches are whole drift periods (ci %.4f, want %.4f)"
          % (ci0, want))
    check(abs(p0 - 0.030) < 1e-12, "p95 of the alternating endpoint: %.3f" % p0)

print("bench stats: %d failed" % len(failures) if failures else "bench stats: all passed")
sys.exit(1 if failures else 0)
