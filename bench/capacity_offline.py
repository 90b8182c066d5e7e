"""capacity_offline: bench-capacity's comparison again, from what runs of it
kept (CAPACITY_KEEP=1 keeps each run's recordings and measurements in a
directory it names), with the model of this build or of other simulate
options.  Building and running a model takes seconds where a run takes a
quarter of an hour, and one run's errors move by several points from run
to run: a change to the model is judged on several kept runs at once.

    python3 bench/capacity_offline.py [--evodash PATH] [--windows S] DIR... [-- OPTION...]

OPTIONs go to `evodash simulate` (for instance `-- --quantum 0`).  For
each DIR and service it prints bench-capacity's tables and worst errors
(the model on the generator's planned arrivals, where the run kept its
plans, and the what-if), then one line per DIR.  The utilisation measured in a run is not kept
(U real is "-"); a recording made by an older evodash may need
`evodash migrate` first.

--windows S also compares, for each load that has a plan, the model's mean
response time on the planned arrivals with the measured one in windows of
S seconds (by when the requests ended).  A model that is off by the same
share in every window is wrong in itself; one that is right in most
windows and off in a few was surprised by something in those stretches
(the host, or a queue that the model builds faster or slower than the
service)."""
import csv
import json
import os
import sys
import tempfile

import bench_capacity as bc


def span(out):
    """How long a kept load ran (s): its last request's due time."""
    with open(out) as f:
        return max(float(row[1]) for row in csv.reader(f))


def windows(runs, times, mix, out, width):
    """Print the model's and the measured mean response time per endpoint
    of mix in windows of width s: the model's from its runs on the planned
    arrivals (runs: planned_runs()'s, simulated with --interval width),
    the measured ones from the load's CSV (out)."""
    names = [ep for _, _, ep, _ in mix]
    n = int(max(max(t) for t in times if t) // width) + 2
    acc = {ep: [[0.0, 0, 0.0, 0] for _ in range(n)] for ep in names}  # model sum, n; real
    for doc, labels in runs:
        done, before = {}, {}
        d = doc["dones"]
        for t, ident, c in zip(d["t"], d["identifier"], d["completed"]):
            done[t, ident] = c - before.get(ident, 0)
            before[ident] = c
        r = doc["response_time"]
        for t, ident, rt in zip(r["t"], r["identifier"], r["response time"]):
            w = int(round(t / 1e9 / width)) - 1
            if ident in labels and 0 <= w < n and rt is not None:
                a = acc[labels[ident]][w]
                a[0] += rt * done.get((t, ident), 0)
                a[1] += done.get((t, ident), 0)
    with open(out) as f:
        for row in csv.reader(f):
            w = int((float(row[1]) + float(row[2])) // width)
            if row[3].startswith("2") and w < n:
                a = acc[names[int(row[0])]][w]
                a[2] += float(row[2])
                a[3] += 1
    print("  %7s " % "from s" + " ".join("| %-29s" % ep for ep in names))
    for w in range(n):
        cells = []
        for ep in names:
            a = acc[ep][w]
            if a[1] and a[3]:
                m, r = 1e3 * a[0] / a[1], 1e3 * a[2] / a[3]
                cells.append("| %8.2f %8.2f %+6.1f%% %4d" % (m, r, 100 * (m - r) / r, a[3]))
            else:
                cells.append("| %-29s" % "-")
        print("  %7.0f " % (w * width) + " ".join(cells))


def factors_of(d, kind):
    """The factors of the higher loads that the run in d ran kind at (its
    KIND-factors.json; a run from before it was written ran 2x and 8/3x)."""
    try:
        with open(os.path.join(d, kind + "-factors.json")) as f:
            return tuple(json.load(f))
    except FileNotFoundError:
        return bc.OLD_FACTORS


def main(argv):
    evodash, dirs, extra, width = bc.EVODASH, [], [], 0
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    while argv:
        a = argv.pop(0)
        if a == "--evodash" and argv:
            evodash = argv.pop(0)
        elif a == "--windows" and argv:
            width = float(argv.pop(0))
        else:
            dirs.append(a)
    if not dirs:
        sys.exit(__doc__)
    summary = []
    tmp = tempfile.mkdtemp(prefix="evd-offline-")
    for d in dirs:
        print("==", d)
        rows, prows = [], []
        for kind, mix in bc.MIXES.items():
            factors = factors_of(d, kind)
            if not os.path.exists(os.path.join(d, "%s-%.2f.csv" % (kind, factors[-1]))):
                continue
            mdir = os.path.join(tmp, kind + "-model")
            doc = bc.predict(evodash, os.path.join(d, kind + "-rec.db"), "cap-" + kind,
                             (1.0,) + factors, mdir, extra=extra)
            for k in (1.0,) + factors:
                out = os.path.join(d, kind + "-rec.csv" if k == 1.0 else "%s-%.2f.csv" % (kind, k))
                got = bc.measured(out, mix)
                # the rate: the requests measured after the warm-up, per s
                rate = sum(g[2] for g in got) / (span(out) - bc.WARM_S)
                rows += bc.compared(kind, *bc.whatif_at(doc, k), k, got, None, rate)
                if os.path.exists(out[:-4] + ".plan"):
                    times = bc.read_plan(out[:-4] + ".plan", mix)
                    # one set of runs for both: the series' interval does not
                    # change what is simulated
                    runs = list(bc.planned_runs(evodash, mdir, times, mix, tmp, extra=[
                        "--interval", "%g" % width] if width > 0 else []))
                    prows += bc.compared(kind, bc.pooled([doc for doc, _ in runs], mix), None,
                                         k, got, None, rate)
                    if width > 0:
                        print("%s %.2fx, per %g s: model mean ms, measured mean ms, error, "
                              "requests measured" % (kind, k, width))
                        windows(runs, times, mix, out, width)
        if not rows:
            print("%s: no kept run of bench-capacity" % d)
            continue
        line = "%s:" % d
        if prows:
            print("the model on the generator's planned arrivals:")
            plan_mean, plan_p95, _ = bc.report(prows)
            line += " planned %.1f %% (p95 %.1f %%)," % (100 * plan_mean, 100 * plan_p95)
            print("the what-if:")
        worst_mean, worst_p95, noise = bc.report(rows)
        summary.append("%s capacity_error %.1f %%, capacity_p95_error %.1f %%, capacity_noise %s"
                       % (line, 100 * worst_mean, 100 * worst_p95,
                          "%.1f %%" % (100 * noise) if noise is not None else "-"))
        print()
    print("\n".join(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
