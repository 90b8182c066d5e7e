"""capacity_offline: bench-capacity's comparison again, from what runs of it
kept (CAPACITY_KEEP=1 keeps each run's recordings and measurements in a
directory it names), with the model of this build or of other simulate
options.  Building and running a model takes seconds where a run takes a
quarter of an hour, and one run's errors move by several points from run
to run: a change to the model is judged on several kept runs at once.

    python3 bench/capacity_offline.py [--evodash PATH] DIR... [-- OPTION...]

OPTIONs go to `evodash simulate` (for instance `-- --quantum 0`).  For
each DIR and service it prints bench-capacity's table and worst errors,
then one line per DIR.  The utilisation measured in a run is not kept
(U real is "-"); a recording made by an older evodash may need
`evodash migrate` first."""
import csv
import os
import sys

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
    for d in dirs:
        rows = []
        for kind, mix in bc.MIXES.items():
            if not os.path.exists(os.path.join(d, "%s-%.2f.csv" % (kind, bc.FACTORS[-1]))):
                continue
            doc = bc.predict(evodash, os.path.join(d, kind + "-rec.db"), "cap-" + kind,
                             extra=extra)
            # the rates: the requests measured after the warm-up, per s
            rec = bc.measured(os.path.join(d, kind + "-rec.csv"), mix)
            rate = sum(n for _, _, n in rec) / (span(os.path.join(d, kind + "-rec.csv")) - bc.WARM_S)
            rows += bc.compared(kind, doc, 1.0, rec, None, rate)
            for k in bc.FACTORS:
                out = os.path.join(d, "%s-%.2f.csv" % (kind, k))
                got = bc.measured(out, mix)
                rate = sum(n for _, _, n in got) / (span(out) - bc.WARM_S)
                rows += bc.compared(kind, doc, k, got, None, rate)
        if not rows:
            print("%s: no kept run of bench-capacity" % d)
            continue
        print("==", d)
        worst_mean, worst_p95 = bc.report(rows)
        summary.append("%s: capacity_error %.1f %%, capacity_p95_error %.1f %%"
                       % (d, 100 * worst_mean, 100 * worst_p95))
        print()
    print("\n".join(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
