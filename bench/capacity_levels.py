"""capacity_levels: a service's CPU per request at several level rates, the
measurement behind docs/capacity.md's reading of bench-capacity's errors.

    python3 bench/capacity_levels.py KIND RATE SECONDS FACTORS [--bare]

KIND is c or flask (bench_capacity's services and mix), RATE the base rate
(requests/s), FACTORS a comma-separated list of multiples of it, each run
SECONDS at a level rate (no drift) on one running service.  --bare runs
the Flask app without evodash.  Run it alone, as bench-capacity:
flock /tmp/evodash-bench.lock python3 bench/capacity_levels.py flask 35 60 0.5,1,2,2.67

Per level it prints the service's CPU per request (every process of its
group, from /proc).  For the Flask service it also splits it: a gunicorn
sync worker runs requests on its main thread, so the other threads are
evodash's (writer, watchdog, sampler).  The C service serves on a thread
per connection, which ends with it, so no split is printed there."""
import csv
import os
import sys
import tempfile
import time

import bench_capacity as bc


def other_threads(pgid):
    """CPU seconds of every thread but the main ones of the service's
    process group, by (pid, tid)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as f:
                if int(f.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            for tid in os.listdir("/proc/%s/task" % pid):
                if tid == pid:
                    continue
                with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[(int(pid), int(tid))] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue  # a process or thread that ended meanwhile
    return out


def main(argv):
    bare = "--bare" in argv
    argv = [a for a in argv if a != "--bare"]
    if len(argv) != 4 or argv[0] not in bc.MIXES:
        sys.exit(__doc__)
    kind, base, secs = argv[0], float(argv[1]), float(argv[2])
    factors = [float(x) for x in argv[3].split(",")]
    bc.PYTHON = os.path.join(bc.ROOT, "build", "python", "venv", "bin", "python")
    if bare:
        os.environ["CAPACITY_NO_EVODASH"] = "1"
    mix = bc.MIXES[kind]
    tmp = tempfile.mkdtemp(prefix="evd-levels-")
    proc, port = bc.start(kind, tmp, os.path.join(tmp, "levels.db"), "cap-" + kind)
    try:
        bc.load(port, 20, mix, 5, os.path.join(tmp, "warm.csv"), 9, False)
        for i, k in enumerate(factors):
            out = os.path.join(tmp, "level-%d.csv" % i)
            c0, t0 = bc.cpu_of_group(proc.pid), other_threads(proc.pid)
            bc.load(port, base * k, mix, secs, out, 10 + i, False)
            cpu = bc.cpu_of_group(proc.pid) - c0
            t1 = other_threads(proc.pid)
            other = sum(c - t0.get(key, 0.0) for key, c in t1.items())
            with open(out) as f:
                n = sum(1 for row in csv.reader(f) if row[3].startswith("2"))
            line = "%.2fx (%.1f requests/s): %d requests, CPU per request %.3f ms" % (
                k, base * k, n, cpu / n * 1e3)
            if kind == "flask":
                line += " (main threads %.3f, evodash's threads %.3f)" % (
                    (cpu - other) / n * 1e3, other / n * 1e3)
            print(line, flush=True)
    finally:
        bc.stop(proc)


if __name__ == "__main__":
    main(sys.argv[1:])
