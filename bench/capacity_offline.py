"""capacity_offline: bench-capacity's comparison again, from what runs of it
kept (CAPACITY_KEEP=1 keeps each run's recordings and measurements in a
directory it names), with the model of this build or of other simulate
options.  Building and running a model takes seconds where a run takes a
quarter of an hour, and one run's errors move by several points from run
to run: a change to the model is judged on several kept runs at once.

    python3 bench/capacity_offline.py [--evodash PATH] DIR... [-- OPTION...]

OPTIONs go to `evodash simulate` (for instance `-- --quantum 0`).  For
each DIR and service it prints bench-capacity's tables and worst errors
(the model on the generator's planned arrivals, where the run kept its
plans, and the what-if), then one line per DIR.  The utilisation measured in a run is not kept
(U real is "-"); a recording made by an older evodash may need
`evodash migrate` first."""
import csv
import os
import sys
import tempfile

import bench_capacity as bc


def span(out):
    """How long a kept load ran (s): its last request's due time."""
    with open(out) as f:
        return max(float(row[1]) for row in csv.reader(f))


def main(argv):
    evodash, dirs, extra = bc.EVODASH, [], []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    while argv:
        a = argv.pop(0)
        if a == "--evodash" and argv:
            evodash = argv.pop(0)
        else:
            dirs.append(a)
    if not dirs:
        sys.exit(__doc__)
    summary = []
    tmp = tempfile.mkdtemp(prefix="evd-offline-")
    for d in dirs:
        rows, prows = [], []
        for kind, mix in bc.MIXES.items():
            if not os.path.exists(os.path.join(d, "%s-%.2f.csv" % (kind, bc.FACTORS[-1]))):
                continue
            mdir = os.path.join(tmp, kind + "-model")
            doc = bc.predict(evodash, os.path.join(d, kind + "-rec.db"), "cap-" + kind, mdir,
                             extra=extra)
            for k in (1.0,) + bc.FACTORS:
                out = os.path.join(d, kind + "-rec.csv" if k == 1.0 else "%s-%.2f.csv" % (kind, k))
                got = bc.measured(out, mix)
                # the rate: the requests measured after the warm-up, per s
                rate = sum(n for _, _, n in got) / (span(out) - bc.WARM_S)
                rows += bc.compared(kind, *bc.whatif_at(doc, k), k, got, None, rate)
                if os.path.exists(out[:-4] + ".plan"):
                    times = bc.read_plan(out[:-4] + ".plan", mix)
                    prows += bc.compared(kind, bc.predict_planned(evodash, mdir, times, mix, tmp),
                                         None, k, got, None, rate)
        if not rows:
            print("%s: no kept run of bench-capacity" % d)
            continue
        print("==", d)
        line = "%s:" % d
        if prows:
            print("the model on the generator's planned arrivals:")
            plan_mean, plan_p95 = bc.report(prows)
            line += " planned %.1f %% (p95 %.1f %%)," % (100 * plan_mean, 100 * plan_p95)
            print("the what-if:")
        worst_mean, worst_p95 = bc.report(rows)
        summary.append("%s capacity_error %.1f %%, capacity_p95_error %.1f %%"
                       % (line, 100 * worst_mean, 100 * worst_p95))
        print()
    print("\n".join(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
