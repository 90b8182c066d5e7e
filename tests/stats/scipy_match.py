#!/usr/bin/python3
"""Compare src/stats (through tests/stats/stats_driver) with scipy.

Usage: scipy_match.py path/to/stats_driver

Every case is fixed or drawn from a seeded generator; all of them go to the
driver in one run and every number it prints is checked.

Tolerances (relative unless said otherwise), and why:
  1e-9   every p-value, statistic and interval bound, the default.  Where both
         sides compute the same formula (U, the normal approximation, the exact
         U distribution, chi-square, Wilson, Pearson) the actual agreement is
         ~1e-13; 1e-9 leaves room for libm's erfc against cephes' and for
         summation order, and still catches any wrong formula.
  exact  U statistics, exact/asymptotic choice, ties flag, return codes, and
         order statistics (interval bounds picked from the data).
  1e-12  ratio interval bounds, which are order statistics of b/a computed
         here as b * (1/a) and in the reference as exp(log b - log a).
  p < 1e-300 is compared as "both below 1e-290" (underflow on either side).
scipy 1.10 (Debian 12) has no false_discovery_control, quantile_test or
Hodges-Lehmann interval: Holm/BH, the median CI and Moses' interval are
checked against references written below from their definitions (numpy).
"""
import functools
import math
import subprocess
import sys

import numpy as np
import scipy
from scipy import special, stats

DEGENERATE = -20
EINVAL = -2

cases = []  # (input text, checker(fields))
failures = []
checked = [0]
worst = {}  # kind of case -> largest relative difference seen


def fail(name, msg):
    failures.append(f"{name}: {msg}")


def close(name, what, got, want, rel=1e-9, absol=0.0):
    checked[0] += 1
    if isinstance(want, (bool, int, np.integer)) and not isinstance(want, float):
        if got != want:
            fail(name, f"{what}: got {got}, want {want}")
        return
    want = float(want)
    if math.isnan(want) or math.isnan(got):
        fail(name, f"{what}: NaN (got {got}, want {want})")
        return
    if abs(want) < 1e-290 and abs(got) < 1e-290:
        return
    if math.isinf(want) or math.isinf(got):
        if got != want:
            fail(name, f"{what}: got {got}, want {want}")
        return
    kind = name.split()[0]
    if want:
        worst[kind] = max(worst.get(kind, 0.0), abs(got - want) / abs(want))
    if abs(got - want) > max(rel * abs(want), absol):
        err = abs(got - want) / abs(want) if want else abs(got)
        fail(name, f"{what}: got {got!r}, want {want!r} (rel err {err:.2e})")


def fmt(v):
    return " ".join(repr(float(x)) for x in v)


def ifmt(v):
    return " ".join(str(int(x)) for x in v)


# ---- distributions ------------------------------------------------------------

def dist_cases():
    def add(name, args, want, rel=1e-12):
        text = "dist " + name + " " + " ".join(str(a) for a in args)
        cases.append((text, lambda f, n=text, w=want, r=rel: close(n, "value", float(f[0]), w, r)))

    for x in [-38.0, -20.0, -8.5, -3.0, -1.0, -0.1, 0.0, 0.3, 1.96, 5.0, 12.0]:
        add("norm_cdf", [repr(x)], stats.norm.cdf(x))
        add("norm_sf", [repr(x)], stats.norm.sf(x))
    for p in [1e-300, 1e-20, 1e-8, 0.001, 0.02, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-10]:
        # The ppf is the inverse of a function with slope up to 1/phi(x):
        # agreement to ~1e-14 in x is all a double p allows.
        add("norm_ppf", [repr(p)], stats.norm.ppf(p), 1e-13)
    for a, b in [(0.5, 0.5), (1, 1), (2.5, 0.5), (0.5, 7), (10, 3), (50, 50), (1e3, 20),
                 (1.5e3, 1.5e3), (1e5, 1e5), (4e5, 6e5)]:
        # scipy 1.10's special.betainc (cephes) loses digits for a, b >~ 1e3
        # (it gives I_0.5(1e5, 1e5) = 0.5000000003); there the reference is
        # Boost's binomial, scipy.stats.binom, for integer a and b:
        # I_x(a, b) = P(Bin(a + b - 1, x) >= a).
        big = a >= 1000 and b >= 1000
        mode = a / (a + b)
        for x in sorted({0.001, 0.1, 0.5, 0.9, 0.999, mode,
                         max(1e-9, mode - 3 * math.sqrt(mode * (1 - mode) / (a + b))),
                         min(1 - 1e-9, mode + 3 * math.sqrt(mode * (1 - mode) / (a + b)))}):
            x = round(x * 2**40) / 2**40  # dyadic: 1 - x is exact for the complement
            if big:
                want = stats.binom.sf(a - 1, a + b - 1, x)
                wantc = stats.binom.cdf(a - 1, a + b - 1, x)
            else:
                want = special.betainc(a, b, x)
                wantc = special.betainc(b, a, 1 - x)
            if want > 1e-290:
                add("betainc", [a, b, repr(x)], want)
            if wantc > 1e-290:
                add("betainc_c", [a, b, repr(x)], wantc)
    for a in [0.5, 1, 3.5, 20, 300]:
        for x in [0.01, 0.5, a * 0.9, a, a * 1.1 + 1, 3 * a + 10]:
            add("gammainc_p", [a, repr(x)], special.gammainc(a, x))
            add("gammainc_q", [a, repr(x)], special.gammaincc(a, x))
    for df in [1, 2, 3, 7.5, 30, 1000]:
        for t in [-4.0, -0.5, 0.0, 0.7, 2.0, 6.0, 40.0]:
            add("t_sf", [repr(t), df], stats.t.sf(t, df))
    for df in [1, 2, 5, 30]:
        for x in [0.0, 0.004, 1.0, 3.84, 10.0, 80.0, 400.0]:
            add("chi2_sf", [repr(x), df], stats.chi2.sf(x, df))
    for n, k, p in [(10, 3, 0.5), (100, 39, 0.5), (1000, 469, 0.5), (5, 0, 0.5), (40, 10, 0.3),
                    (100000, 49690, 0.5), (10**6, 499019, 0.5)]:
        add("binom_cdf", [k, n, p], stats.binom.cdf(k, n, p), 1e-10)


# ---- Mann-Whitney ------------------------------------------------------------------

def mwu_case(name, x, y, method="auto"):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    text = f"mwu {method} {len(x)} {len(y)}\n{fmt(x)}\n{fmt(y)}"
    pooled = np.concatenate([x, y])
    ties = len(np.unique(pooled)) < len(pooled)
    if len(np.unique(pooled)) == 1:
        want_rc, want_p = DEGENERATE, 1.0
        u1 = len(x) * len(y) / 2
    else:
        res = stats.mannwhitneyu(x, y, alternative="two-sided", method=method,
                                 use_continuity=True)
        want_rc, want_p, u1 = 0, res.pvalue, res.statistic
    small = min(len(x), len(y))
    want_exact = int(want_rc == 0 and (method == "exact" or
                                       (method == "auto" and small <= 8 and not ties)))
    mn = len(x) * len(y)

    def check(f):
        close(name, "rc", int(f[0]), want_rc)
        close(name, "u1", float(f[1]), float(u1), 0)
        close(name, "u2", float(f[2]), mn - float(u1), 0)
        close(name, "p", float(f[3]), want_p)
        close(name, "exact", int(f[5]), want_exact)
        close(name, "ties", int(f[6]), int(ties))
        close(name, "cles", float(f[7]), float(u1) / mn, 1e-15)
        close(name, "rank_biserial", float(f[8]), 2 * float(u1) / mn - 1, 1e-12, 1e-15)

    cases.append((text, check))


def lognormal(rng, n, mu=7.0, sigma=1.2):
    return np.exp(rng.normal(mu, sigma, n))


def mwu_cases():
    rng = np.random.default_rng(20240601)
    mwu_case("mwu fixed 3v4", [1, 2, 3], [4, 5, 6, 0.5])
    mwu_case("mwu fixed 1v1", [1.0], [2.0])
    mwu_case("mwu fixed 1v1 tie", [1.0], [1.0])
    mwu_case("mwu separated 8v8", np.arange(8), np.arange(8) + 100)
    mwu_case("mwu all equal", [5.0] * 30, [5.0] * 40)
    mwu_case("mwu ties small", [1, 2, 2, 3], [2, 3, 3, 4, 5])
    mwu_case("mwu forced asymptotic", [1, 2, 3], [4, 5, 6, 0.5], "asymptotic")
    mwu_case("mwu forced exact with ties", [1, 2, 2, 3, 9], [2, 3, 3, 4, 5, 6], "exact")
    for (n1, n2) in [(2, 3), (5, 8), (8, 8), (7, 9), (8, 20), (3, 60), (8, 250), (9, 9),
                     (30, 40)]:
        x = lognormal(rng, n1)
        y = lognormal(rng, n2) * 1.3
        mwu_case(f"mwu auto {n1}v{n2}", x, y)
        if n1 <= 8 or n2 <= 8:
            mwu_case(f"mwu asymptotic {n1}v{n2}", x, y, "asymptotic")
    for (n1, n2) in [(10, 12), (20, 30), (40, 50)]:  # exact forced beyond auto's 8
        mwu_case(f"mwu exact {n1}v{n2}", lognormal(rng, n1), lognormal(rng, n2) * 1.5, "exact")
    for (n1, n2, f) in [(1000, 1500, 1.0), (1000, 1500, 1.1), (20000, 30000, 1.02),
                        (200000, 200000, 1.005), (10, 100000, 2.0)]:
        mwu_case(f"mwu large {n1}v{n2} x{f}", lognormal(rng, n1), lognormal(rng, n2) * f)
    # Exact, with one side much larger (scipy's exact method needs
    # (n1+1)(n2+1)(n1 n2/2) doubles, so the other side stays small here).
    mwu_case("mwu exact 300v7", lognormal(rng, 300), lognormal(rng, 7) * 1.2)
    # Durations in whole milliseconds: many ties.
    for (n1, n2, f) in [(5000, 7000, 1.0), (5000, 7000, 1.05), (50000, 40000, 1.0)]:
        mwu_case(f"mwu ties {n1}v{n2} x{f}", np.round(lognormal(rng, n1, 3, 1)),
                 np.round(lognormal(rng, n2, 3, 1) * f))
    # A huge effect: p far in the tail.
    mwu_case("mwu tail", lognormal(rng, 3000, 5, 0.5), lognormal(rng, 3000, 6, 0.5))


def mwub_case(name, cx, cy, method="auto"):
    cx = np.asarray(cx, dtype=np.int64)
    cy = np.asarray(cy, dtype=np.int64)
    text = f"mwub {method} {len(cx)}\n{ifmt(cx)}\n{ifmt(cy)}"
    idx = np.arange(len(cx), dtype=float)
    x = np.repeat(idx, cx)
    y = np.repeat(idx, cy)
    pooled = np.concatenate([x, y])
    if len(x) == 0 or len(y) == 0:
        want_rc, want_p, u1 = DEGENERATE, 1.0, 0.0
    elif len(np.unique(pooled)) == 1:
        want_rc, want_p, u1 = DEGENERATE, 1.0, len(x) * len(y) / 2
    else:
        res = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
        want_rc, want_p, u1 = 0, res.pvalue, res.statistic

    def check(f):
        close(name, "rc", int(f[0]), want_rc)
        close(name, "u1", float(f[1]), float(u1), 0)
        close(name, "p", float(f[3]), want_p)

    cases.append((text, check))


def sketch_counts(rng, n, mu, sigma, nb=300):
    """Counts over log buckets of width ln(1.0202) (evodash's sketch)."""
    v = lognormal(rng, n, mu, sigma)
    b = np.ceil(np.log(v) / math.log(1.0202020202020202)).astype(int)
    b = np.clip(b - 150, 0, nb - 1)
    return np.bincount(b, minlength=nb)


def mwub_cases():
    rng = np.random.default_rng(7)
    mwub_case("mwub fixed", [3, 0, 2, 5], [1, 4, 0, 2])
    mwub_case("mwub distinct buckets (exact)", [1, 0, 1, 0, 1], [0, 1, 0, 1, 0])
    mwub_case("mwub one bucket", [0, 7, 0], [0, 9, 0])
    mwub_case("mwub empty side", [0, 0, 0], [1, 2, 3])
    for (n1, n2, shift) in [(500, 800, 0.0), (5000, 4000, 0.05), (100000, 80000, 0.01)]:
        cx = sketch_counts(rng, n1, 4.0, 0.8)
        cy = sketch_counts(rng, n2, 4.0 + shift, 0.8)
        mwub_case(f"mwub sketch {n1}v{n2} +{shift}", cx, cy)


# ---- intervals ------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def u_counts(m, n):
    """Number of arrangements with U = k, k = 0..mn (Mann & Whitney's
    recursion f(m, n, k) = f(m-1, n, k-n) + f(m, n-1, k)), as a tuple."""
    if m == 0 or n == 0:
        return (1,)
    a = u_counts(m - 1, n)
    b = u_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for k, c in enumerate(b):
        out[k] += c
    for k, c in enumerate(a):
        out[k + n] += c
    return tuple(out)


def moses_c(m, n, pooled, conf):
    """C and the coverage, from the definitions in stats.h: C = 1 + the
    largest c with P(U <= c) <= (1 - conf) / 2, at least 1, and the coverage
    1 - 2 P(U <= C - 1); exact (Mann & Whitney's recursion) or normal with
    continuity and tie corrections."""
    half = (1 - conf) / 2
    mn = m * n
    cmax = (mn + 1) // 2
    ties = len(np.unique(pooled)) < len(pooled)
    if min(m, n) <= 8 and not ties:
        cnt = u_counts(min(m, n), max(m, n))
        total = math.comb(m + n, m)
        cdf = lambda c: sum(cnt[: c + 1]) / total
        c = -1
        while c + 1 < cmax and cdf(c + 1) <= half:
            c += 1
        big_c = max(c + 1, 1)
        return big_c, 1 - 2 * cdf(big_c - 1), 1
    _, t = np.unique(pooled, return_counts=True)
    N = m + n
    var = m * n / 12 * ((N + 1) - float(np.sum(t.astype(float) ** 3 - t)) / (N * (N - 1)))
    sd = math.sqrt(var)
    z = stats.norm.ppf(1 - half)
    # P(U <= c) ~ Phi((c + 1/2 - mn/2) / sd) <= half  <=>  c <= mn/2 - 1/2 - z sd
    big_c = int(min(max(math.floor(mn / 2 - 0.5 - z * sd) + 1, 1), cmax))
    return big_c, 1 - 2 * stats.norm.cdf((big_c - 1 + 0.5 - mn / 2) / sd), 0


def ratio_case(name, a, b, conf=0.95):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    text = f"ratio {conf!r} {len(a)} {len(b)}\n{fmt(a)}\n{fmt(b)}"
    d = np.sort((np.log(b)[None, :] - np.log(a)[:, None]).ravel())
    mn = len(d)
    c, coverage, exact = moses_c(len(a), len(b), np.concatenate([a, b]), conf)
    want = (np.median(b) / np.median(a), math.exp(np.median(d)), math.exp(d[c - 1]),
            math.exp(d[mn - c]), coverage, exact)

    def check(f):
        close(name, "rc", int(f[0]), 0)
        close(name, "median_ratio", float(f[1]), want[0], 1e-14)
        close(name, "hl", float(f[2]), want[1], 1e-12)
        close(name, "lo", float(f[3]), want[2], 1e-12)
        close(name, "hi", float(f[4]), want[3], 1e-12)
        close(name, "coverage", float(f[5]), want[4], 1e-9)
        close(name, "exact", int(f[6]), want[5])

    cases.append((text, check))


def ratiob_case(name, ca, cb, w, conf=0.95):
    ca = np.asarray(ca, dtype=np.int64)
    cb = np.asarray(cb, dtype=np.int64)
    text = f"ratiob {conf!r} {w!r} {len(ca)}\n{ifmt(ca)}\n{ifmt(cb)}"
    idx = np.arange(len(ca), dtype=float)
    a = np.repeat(idx, ca)
    b = np.repeat(idx, cb)
    d = np.sort((b[None, :] - a[:, None]).ravel())
    mn = len(d)
    c, coverage, exact = moses_c(len(a), len(b), np.concatenate([a, b]), conf)
    want = (np.median(np.exp(b * w)) / np.median(np.exp(a * w)), math.exp(np.median(d) * w),
            math.exp(d[c - 1] * w), math.exp(d[mn - c] * w), coverage, exact)

    def check(f):
        close(name, "rc", int(f[0]), 0)
        for i, what in enumerate(["median_ratio", "hl", "lo", "hi", "coverage"]):
            close(name, what, float(f[1 + i]), want[i], 1e-12)
        close(name, "exact", int(f[6]), want[5])

    cases.append((text, check))


def medci_case(name, v, conf=0.95):
    v = np.asarray(v, dtype=float)
    n = len(v)
    text = f"medci {conf!r} {n}\n{fmt(v)}"
    s = np.sort(v)
    half = (1 - conf) / 2
    # l = 1 + the largest c with P(B <= c) <= half, B ~ Bin(n, 1/2); at least 1.
    c = -1
    while c + 1 < (n + 1) // 2 and stats.binom.cdf(c + 1, n, 0.5) <= half:
        c += 1
    l = max(c + 1, 1)
    want = (np.median(v), s[l - 1], s[n - l], 1 - 2 * stats.binom.cdf(l - 1, n, 0.5))

    def check(f):
        close(name, "rc", int(f[0]), 0)
        close(name, "est", float(f[1]), want[0], 1e-15)
        close(name, "lo", float(f[2]), want[1], 0)
        close(name, "hi", float(f[3]), want[2], 0)
        close(name, "coverage", float(f[4]), want[3], 1e-9)

    cases.append((text, check))


def interval_cases():
    rng = np.random.default_rng(99)
    ratio_case("ratio 3v4 exact", [1.0, 2.0, 3.5], [2.5, 4.0, 6.0, 1.2])
    ratio_case("ratio 8v30 exact", lognormal(rng, 8), lognormal(rng, 30) * 1.4)
    ratio_case("ratio 5v5 too small", lognormal(rng, 5), lognormal(rng, 5))
    ratio_case("ratio 1v1", [2.0], [3.0])
    for (m, n, f) in [(40, 60, 1.0), (300, 400, 1.25), (1000, 1500, 0.9), (2000, 2500, 1.1)]:
        ratio_case(f"ratio {m}v{n} x{f}", lognormal(rng, m), lognormal(rng, n) * f)
    ratio_case("ratio ties", np.round(lognormal(rng, 800, 3, 0.7)) + 1,
               np.round(lognormal(rng, 900, 3.1, 0.7)) + 1)
    ratio_case("ratio 90%", lognormal(rng, 200), lognormal(rng, 150), 0.9)
    ratio_case("ratio 99%", lognormal(rng, 200), lognormal(rng, 150), 0.99)
    w = math.log(1.0202020202020202)
    ratiob_case("ratiob fixed", [0, 3, 5, 2, 0, 1], [1, 0, 2, 6, 3, 1], w)
    ratiob_case("ratiob distinct", [1, 0, 1, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0, 0], w)
    ratiob_case("ratiob sketch", sketch_counts(rng, 600, 4.0, 0.5, 200),
                sketch_counts(rng, 700, 4.2, 0.5, 200), w)
    for n in [1, 2, 5, 6, 7, 10, 31, 100, 1001, 20000]:
        medci_case(f"medci n={n}", lognormal(rng, n))
    medci_case("medci ties", np.round(lognormal(rng, 500, 2, 1)))
    medci_case("medci 99%", lognormal(rng, 300), 0.99)


# ---- proportions ---------------------------------------------------------------------------

def wilson(k, n, conf):
    with np.errstate(all="ignore"):  # binomtest's own p-value, unused here
        return stats.binomtest(k, n).proportion_ci(conf, method="wilson")


def wilson_case(k, n, conf=0.95):
    name = f"wilson {k}/{n} {conf}"
    ci = wilson(k, n, conf)

    def check(f):
        close(name, "rc", int(f[0]), 0)
        close(name, "est", float(f[1]), k / n, 1e-15)
        close(name, "lo", float(f[2]), ci.low, 1e-12, 1e-15)
        close(name, "hi", float(f[3]), ci.high, 1e-12, 1e-15)

    cases.append((f"wilson {k} {n} {conf!r}", check))


def prop2_case(ka, na, kb, nb, conf=0.95):
    name = f"prop2 {ka}/{na} vs {kb}/{nb}"
    text = f"prop2 {ka} {na} {kb} {nb} {conf!r}"
    table = np.array([[ka, na - ka], [kb, nb - kb]])
    cia = wilson(ka, na, conf)
    cib = wilson(kb, nb, conf)
    pa, pb = ka / na, kb / nb
    d = pb - pa
    dlo = d - math.sqrt((pb - cib.low) ** 2 + (cia.high - pa) ** 2)
    dhi = d + math.sqrt((cib.high - pb) ** 2 + (pa - cia.low) ** 2)
    k, n = ka + kb, na + nb
    if k == 0 or k == n:
        want = None  # scipy raises: a zero expected frequency
    else:
        c0 = stats.chi2_contingency(table, correction=False)
        c1 = stats.chi2_contingency(table, correction=True)
        pool = k / n
        z = d / math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
        want = (z, 2 * stats.norm.sf(abs(z)), c0[0], c0[1], c1[0], c1[1])

    def check(f):
        close(name, "rc", int(f[0]), 0 if want else DEGENERATE)
        close(name, "p_a", float(f[1]), pa, 1e-15)
        close(name, "p_b", float(f[2]), pb, 1e-15)
        if want:
            for i, what in enumerate(["z", "p_z", "chi2", "p_chi2", "chi2_yates", "p_chi2_yates"]):
                close(name, what, float(f[3 + i]), want[i], 1e-9, 1e-300)
        else:
            close(name, "p_z", float(f[4]), 1.0)
        for i, (what, w) in enumerate([("a.lo", cia.low), ("a.hi", cia.high), ("b.lo", cib.low),
                                       ("b.hi", cib.high), ("d.lo", dlo), ("d.hi", dhi)]):
            close(name, what, float(f[9 + i]), w, 1e-12, 1e-15)

    cases.append((text, check))


def prop_cases():
    for k, n in [(0, 10), (10, 10), (1, 2), (3, 40), (57, 1000), (12, 123456), (50000, 100000),
                 (1, 10**7)]:
        wilson_case(k, n)
    wilson_case(7, 90, 0.9)
    wilson_case(7, 90, 0.999)
    for t in [(3, 1000, 9, 1000), (40, 5000, 44, 5100), (0, 300, 5, 300), (12, 50, 0, 80),
              (500, 100000, 650, 100000), (1, 3, 2, 3), (5, 10, 5, 10), (20, 1000000, 80, 900000),
              (0, 100, 0, 200), (100, 100, 50, 50)]:
        prop2_case(*t)


# ---- multiple testing, Pearson -------------------------------------------------------------

def holm_ref(p):
    """Holm from its definition: for the i-th smallest, max over j <= i of
    min(1, (m - j + 1) p_(j)) (1-based j)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    best = 0.0
    for j, i in enumerate(order):
        best = max(best, min(1.0, (m - j) * p[i]))
        out[i] = best
    return out


def bh_ref(p):
    """Benjamini-Hochberg: for the i-th smallest, min over j >= i of
    min(1, m / j p_(j))."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    for pos, i in enumerate(order):
        out[i] = min(min(1.0, m / (j + 1) * p[order[j]]) for j in range(pos, m))
    return out


def multi_cases():
    rng = np.random.default_rng(3)
    sets = [[0.01, 0.04, 0.03, 0.005], [0.5], [0.0, 1.0, 0.2, 0.2, 0.2, 1e-12],
            list(rng.uniform(size=40)), list(rng.uniform(size=25) ** 4),
            [0.001] * 5 + [0.9] * 3]
    for p in sets:
        for kind, ref in [("holm", holm_ref), ("bh", bh_ref)]:
            want = ref(p)
            name = f"{kind} m={len(p)}"

            def check(f, name=name, want=want):
                close(name, "rc", int(f[0]), 0)
                for i, w in enumerate(want):
                    close(name, f"adj[{i}]", float(f[1 + i]), w, 1e-14)

            cases.append((f"{kind} {len(p)} {fmt(p)}", check))
    cases.append(("holm 2 0.5 1.5", lambda f: close("holm p>1", "rc", int(f[0]), EINVAL)))


def pearson_case(name, x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    r, p = stats.pearsonr(x, y)

    def check(f):
        close(name, "rc", int(f[0]), 0)
        close(name, "r", float(f[1]), r, 1e-12)
        close(name, "p", float(f[2]), p, 1e-12, 1e-300)

    cases.append((f"pearson {len(x)} {fmt(x)} {fmt(y)}", check))


def pearson_cases():
    # The seed paper's Table I: live and Travis medians of five versions.
    live = [1349.41, 1466.13, 1256.65, 1266.42, 1080.68]
    travis = [764.87, 992.87, 760.87, 813.89, 303.4]

    def table1(f):
        close("pearson Table I", "rc", int(f[0]), 0)
        close("pearson Table I", "r (3 decimals)", round(float(f[1]), 3), 0.934, 0)
        close("pearson Table I", "p (3 decimals)", round(float(f[2]), 3), 0.020, 0)

    cases.append((f"pearson 5 {fmt(live)} {fmt(travis)}", table1))
    pearson_case("pearson Table I vs scipy", live, travis)
    rng = np.random.default_rng(11)
    for n in [3, 4, 10, 50, 1000]:
        x = rng.normal(size=n)
        pearson_case(f"pearson n={n}", x, 0.3 * x + rng.normal(size=n))
    x = rng.normal(size=200)
    pearson_case("pearson strong", x, x + 1e-3 * rng.normal(size=200))
    pearson_case("pearson offset", 1e9 + x, 5e8 - 2 * x + rng.normal(size=200))
    for text, what in [("pearson 2 1 2 3 4", "n<3"), ("pearson 4 1 1 1 1 1 2 3 4", "constant")]:
        cases.append((text, lambda f, w=what: (close(f"pearson {w}", "rc", int(f[0]), DEGENERATE),
                                                close(f"pearson {w}", "p", float(f[2]), 1.0))))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    dist_cases()
    mwu_cases()
    mwub_cases()
    interval_cases()
    prop_cases()
    multi_cases()
    pearson_cases()
    text = "\n".join(c[0] for c in cases) + "\n"
    out = subprocess.run([sys.argv[1]], input=text, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    if len(lines) != len(cases):
        print(f"scipy_match: {len(lines)} result lines for {len(cases)} cases", file=sys.stderr)
        return 1
    for (_, check), line in zip(cases, lines):
        check(line.split())
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    print("largest relative difference per kind: " +
          ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items())))
    print(f"stats vs scipy {scipy.__version__}: {len(cases)} cases, {checked[0]} values, "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
