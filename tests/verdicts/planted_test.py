#!/usr/bin/python3
"""planted_test.py BUILD_DIR — the findings engine against planted faults.

For 20 seeds, tests/verdicts/plant writes 14 days of realistic traffic
(34 unchanged endpoints and seven planted faults: a regression, an
improvement, an error spike, a slow user group, a dead endpoint, a rename
and an outlier cause) and `evodash stats --findings-json` computes the
findings.  Every planted fault must be found, with its fields, in every
seed; and no finding may name an unchanged endpoint at the defaults.  The
false-finding rate (findings on unchanged endpoints / unchanged endpoints
examined) is printed at the defaults and, for scale, at looser floors,
where it is not required to be 0.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

SEEDS = range(1, 21)
LOOSE = [("1.05", "50")]  # (min ratio, min requests)


def findings(evodash, db, ratio=None, minreq=None):
    cmd = [evodash, "stats", "--db", db, "--findings-json"]
    if ratio:
        cmd += ["--min-ratio", ratio, "--min-requests", minreq]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["findings"]


def matches(f, want):
    return all(f.get(k) == v for k, v in want.items())


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
    evodash = os.path.join(build, "evodash")
    plant = os.path.join(build, "tests/verdicts/plant")
    now = int(time.time()) // 3600 * 3600
    missed, false_default, examined = [], 0, 0
    loose = {k: 0 for k in LOOSE}
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in SEEDS:
            db = os.path.join(tmp, f"seed{seed}.db")
            truth = json.loads(subprocess.run([plant, db, str(now), str(seed)], check=True,
                                              capture_output=True, text=True).stdout)
            unchanged = set(truth["unchanged"])
            got = findings(evodash, db)
            for want in truth["planted"]:
                if any(matches(f, want) for f in got):
                    passed += 1
                else:
                    failed += 1
                    missed.append((seed, want))
            wrong = [f for f in got if f["endpoint"] in unchanged]
            for f in wrong:
                print(f"seed {seed}: false finding: {f['kind']}: {f['summary']}")
            false_default += len(wrong)
            examined += len(unchanged)
            for k in LOOSE:
                loose[k] += sum(1 for f in findings(evodash, db, *k) if f["endpoint"] in unchanged)
    for seed, want in missed:
        print(f"seed {seed}: planted fault not found: {want}")
    print(f"planted faults found: {passed} of {passed + failed} ({len(SEEDS)} seeds)")
    print(f"false-finding rate at the defaults (ratio 1.2, 200 requests): "
          f"{false_default}/{examined} unchanged endpoints = {false_default / examined:.4f}")
    for (ratio, minreq), n in loose.items():
        print(f"false-finding rate at ratio {ratio}, {minreq} requests (for scale): "
              f"{n}/{examined} = {n / examined:.4f}")
    ok = failed == 0 and false_default == 0
    if false_default:
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
