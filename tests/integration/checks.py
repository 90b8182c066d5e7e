"""checks.py: the tally the integration scripts share.

check() notes a failed condition and lets the script go on, so that one run
lists every failure; finish() prints the summary line and exits 1 when any
check failed.
"""
import sys

failures = []
count = 0


def check(cond, what):
    global count
    count += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def finish(name):
    if failures:
        print("%s: %d of %d checks failed" % (name, len(failures), count), file=sys.stderr)
        sys.exit(1)
    print("%s: all %d checks passed" % (name, count))
