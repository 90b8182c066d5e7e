#!/usr/bin/python3
"""verdicts_api_test.py BUILD_DIR [--pg] — the version-verdict routes
against a real `evodash serve`: /api/findings, /api/compare,
/api/endpoints/{id}/profile_diff, version marks, renames, and the findings
gauge of /metrics.

The store is tests/verdicts/plant's (seed 3), on SQLite or (with --pg) on
the PostgreSQL server tests/pg/with_pg.sh started.  Counts are checked
exactly against the raw rows, quantiles within the sketch's 1%, and the
statistics against scipy run here on the same raw durations: the U test's
p-value, the two-proportion test behind error_rate, Holm's correction
across the compared endpoints, and the Hodges-Lehmann ratio with its
bounds.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402
import storedb  # noqa: E402
from api_test import Client, start_serve  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
PG = "--pg" in sys.argv[2:]
ADMIN = ("boss", "verdict-admin-pw")
GUEST = ("visitor", "verdict-guest-pw")
TOKEN = "verdict-token-0123456789"
SEED = 3



def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def holm(p):
    """statsmodels' multipletests(method='holm'), from its definition."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adj, run = [0.0] * m, 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * p[i]))
        adj[i] = run
    return adj


def near_rank(v, values_sorted, q):
    """v is within 1% of a value at (or next to) rank q."""
    n = len(values_sorted)
    k = q * (n - 1)
    lo = values_sorted[max(0, math.floor(k) - 1)]
    hi = values_sorted[min(n - 1, math.ceil(k) + 1)]
    return lo * 0.99 - 1e-9 <= v <= hi * 1.01 + 1e-9


def post(cl, path, body, csrf=True):
    h = {"Content-Type": "application/json"}
    if csrf and cl.csrf:
        h["X-CSRF-Token"] = cl.csrf
    st, _, data = cl.req("POST", path, body=json.dumps(body), headers=h)
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    return st, doc


def main():
    tmp = tempfile.mkdtemp(prefix="evd-verdicts-")
    db = storedb.fresh_pg_db("evd_verdicts") if PG else os.path.join(tmp, "v.db")
    now = int(time.time()) // 3600 * 3600
    proc = None
    try:
        truth = json.loads(subprocess.run([os.path.join(BUILD, "tests/verdicts/plant"), db,
                                           str(now), str(SEED)], check=True,
                                          capture_output=True, text=True).stdout)
        cfg = ("[dashboard]\nDATABASE=%s\nUSERNAME=%s\nPASSWORD=%s\nGUEST_USERNAME=%s\n"
               "GUEST_PASSWORD=%s\nSECURITY_TOKEN=%s\n"
               % (storedb.database_url(db), ADMIN[0], ADMIN[1], GUEST[0], GUEST[1], TOKEN))
        proc, port, log = start_serve(tmp, "verdicts", cfg)
        assert port, "serve did not start: " + log
        run(port, db, truth, now)
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    finish("verdicts_api_test (%s)" % ("PostgreSQL" if PG else "SQLite"))


def run(port, db, truth, now):
    con = storedb.connect(db)
    q = lambda sql, *a: con.execute(sql, a).fetchall()  # noqa: E731
    eid = {n: i for i, n in q("SELECT id, name FROM endpoints")}
    vid = {n: i for i, n in q("SELECT id, name FROM versions")}
    admin, guest, anon, tok = Client(port), Client(port), Client(port), Client(port)
    check(admin.login(*ADMIN)[0] == 200, "admin login")
    check(guest.login(*GUEST)[0] == 200, "guest login")

    # ---- findings: access, content, order ----
    st, _, _ = anon.get("/api/findings")
    check(st == 401, "findings need a login (got %d)" % st)
    st, doc, _ = tok.get("/api/findings", headers={"Authorization": "Bearer " + TOKEN})
    check(st == 200, "the bearer token reads findings (got %d)" % st)
    st, gdoc, _ = guest.get("/api/findings")
    check(st == 200, "a guest reads findings")
    t0 = time.time()
    st, doc, _ = admin.get("/api/findings")
    check(st == 200 and time.time() - t0 < 1, "findings answered from the cache")
    fs = doc["findings"]
    for want in truth["planted"]:
        hit = [f for f in fs if all(f.get(k) == v for k, v in want.items())]
        check(len(hit) == 1, "planted %s found once: %r" % (want, [f["summary"] for f in hit]))
    check(not [f for f in fs if f["endpoint"] in truth["unchanged"]],
          "no finding on an unchanged endpoint")
    rank = {"high": 3, "medium": 2, "low": 1}
    check([rank[f["severity"]] for f in fs] == sorted((rank[f["severity"]] for f in fs),
                                                      reverse=True), "most severe first")
    for f in fs:
        check(f["summary"] and f["link"].startswith("/dashboard/#/") and f["evidence"],
              "finding has summary, link and evidence: %r" % f)
    st, d2, _ = admin.get("/api/findings?kind=regression")
    check(st == 200 and d2["findings"] and all(f["kind"] == "regression" for f in d2["findings"]),
          "?kind= filters")
    st, d2, _ = admin.get("/api/findings?endpoint=%d" % eid["svc.errors"])
    check(st == 200 and [f["kind"] for f in d2["findings"]] == ["error_rate"],
          "?endpoint= filters: %r" % [f["kind"] for f in d2["findings"]])

    # the regression's numbers: counts and U test from the raw rows (scipy)
    reg = next(f for f in fs if f["kind"] == "regression")
    a = [r[0] for r in q("SELECT duration_us FROM requests WHERE endpoint_id = ? AND "
                         "version_id = ?", eid["svc.slower"], vid["v3"])]
    b = [r[0] for r in q("SELECT duration_us FROM requests WHERE endpoint_id = ? AND "
                         "version_id = ?", eid["svc.slower"], vid["v4"])]
    ev = reg["evidence"]
    check(ev["method"] == "raw" and ev["requests"] == len(b) and ev["baseline_requests"] == len(a),
          "regression counts from the raw rows: %r" % ev)
    p = stats.mannwhitneyu(b, a, alternative="two-sided", use_continuity=True).pvalue
    check(rel(ev["p_raw"], p) < 1e-9 or (p < 1e-290 and ev["p_raw"] < 1e-290),
          "regression p = scipy's mannwhitneyu (%g vs %g)" % (ev["p_raw"], p))
    check(ev["p_holm"] >= ev["p_raw"] and reg["p_value"] == ev["p_holm"], "Holm-adjusted p")
    check(rel(reg["ratio"], float(np.median(b)) / float(np.median(a))) < 1e-9,
          "ratio = median b / median a")
    hl = float(np.median(np.divide.outer(np.array(b, float), np.array(a, float)).ravel()))
    lo, hi = ev["ratio_ci95"]
    check(rel(ev["hodges_lehmann_ratio"], hl) < 1e-6 and lo <= hl <= hi and lo > 1.2,
          "Hodges-Lehmann ratio %g (ref %g) within [%g, %g]" % (ev["hodges_lehmann_ratio"], hl,
                                                               lo, hi))
    err = next(f for f in fs if f["kind"] == "error_rate")
    e = err["evidence"]
    ka = q("SELECT count(*) FROM requests WHERE endpoint_id = ? AND version_id = ? AND status "
           ">= 500", eid["svc.errors"], vid["v4"])[0][0]
    kb = q("SELECT count(*) FROM requests WHERE endpoint_id = ? AND version_id = ? AND status "
           ">= 500", eid["svc.errors"], vid["v5"])[0][0]
    check(e["baseline_errors"] == ka and e["errors"] == kb, "error counts from the raw rows")
    chi = stats.chi2_contingency([[ka, e["baseline_requests"] - ka],
                                  [kb, e["requests"] - kb]], correction=False)
    check(rel(e["p_raw"], chi[1]) < 1e-9, "error_rate p = scipy's chi2_contingency (%g vs %g)"
          % (e["p_raw"], chi[1]))

    oc = next(f for f in fs if f["kind"] == "outlier_cause")["evidence"]
    yates = stats.chi2_contingency([[oc["other_endpoints_stacks_with"],
                                     oc["other_endpoints_stacks"] - oc["other_endpoints_stacks_with"]],
                                    [oc["stacks_with"], oc["stacks"] - oc["stacks_with"]]],
                                   correction=True)[1]
    check(rel(oc["p_raw"], yates) < 1e-9 or (yates < 1e-290 and oc["p_raw"] < 1e-290),
          "outlier_cause p = scipy's chi2_contingency with Yates (%g vs %g)" % (oc["p_raw"], yates))
    n_st = q("SELECT count(*) FROM outliers WHERE endpoint_id = ?", eid["svc.outliers"])[0][0]
    check(oc["stacks"] == min(n_st, 200), "outlier stacks counted (%d of %d)" % (oc["stacks"], n_st))

    # ---- compare two versions ----
    st, cmp_, _ = admin.get("/api/compare?a=v3&b=v4")
    check(st == 200 and cmp_["a"]["name"] == "v3" and cmp_["b"]["id"] == vid["v4"],
          "compare v3 with v4")
    rows = {r["endpoint"]: r for r in cmp_["endpoints"]}
    row = rows["svc.slower"]
    check(row["a"]["requests"] == len(a) and row["b"]["requests"] == len(b),
          "compare counts = raw rows")
    sa, sb = sorted(a), sorted(b)
    check(near_rank(row["a"]["median_us"], sa, 0.5) and near_rank(row["b"]["p95_us"], sb, 0.95),
          "compare quantiles within the sketch's error: %r %r" % (row["a"], np.median(sa)))
    check(row["method"] == "raw" and rel(row["p_value"], p) < 1e-9 or p < 1e-290,
          "compare p = scipy's (%r)" % row.get("p_value"))
    check(row["change"] == "slower" and row["ratio_ci95"][0] > 1.5, "slower, CI above 1.5")
    s5 = q("SELECT count(*) FROM requests WHERE endpoint_id = ? AND version_id = ? AND status "
           ">= 500", eid["svc.slower"], vid["v4"])[0][0]
    check(row["b"]["status"]["5xx"] == s5, "status mix of each side")
    ps = [r["p_value"] for r in cmp_["endpoints"] if r.get("p_holm") is not None]
    hs = [r["p_holm"] for r in cmp_["endpoints"] if r.get("p_holm") is not None]
    check(len(ps) > 30 and all(rel(x, y) < 1e-9 or y == 0 for x, y in zip(hs, holm(ps))),
          "Holm over the compared endpoints = its definition")
    check("svc.dead" not in rows or rows["svc.dead"]["change"] == "vanished",
          "svc.dead is not in v4")
    st, c45, _ = admin.get("/api/compare?a=v4&b=v5")
    check(c45["appeared"] == ["svc.new_name"] and c45["vanished"] == ["svc.old_name"],
          "appeared/vanished: %r %r" % (c45["appeared"], c45["vanished"]))
    groups = {g["group"]: g for g in cmp_["groups"]}
    check("user07" in groups and groups["user00"]["a"]["requests"] > 0, "per user group")
    st, cr, _ = admin.get("/api/compare?a_from=%d&a_to=%d&b_from=%d&b_to=%d"
                          % (now - 14 * 86400, now - 7 * 86400, now - 7 * 86400, now))
    check(st == 200 and cr["a"]["kind"] == "range" and len(cr["endpoints"]) >= 40,
          "compare two ranges")
    for bad, code in [("/api/compare", 400), ("/api/compare?a=v3", 400),
                      ("/api/compare?a=v3&b=nope", 404), ("/api/compare?a_from=5&a_to=1&"
                                                          "b_from=1&b_to=2", 400)]:
        st, d, _ = admin.get(bad)
        check(st == code and "error" in d, "%s -> %d (got %d)" % (bad, code, st))

    # ---- profile diff ----
    st, pd, _ = admin.get("/api/endpoints/%d/profile_diff?a=v3&b=v4&from=0" % eid["svc.slower"])
    np3 = q("SELECT count(*) FROM profiled WHERE endpoint_id = ? AND version_id = ?",
            eid["svc.slower"], vid["v3"])[0][0]
    check(st == 200 and pd["grew_most"]["function"] == "serialize" and pd["a"]["requests"] == np3,
          "profile diff: serialize grew most (%r), %r requests" % (pd and pd.get("grew_most"),
                                                                   pd and pd["a"]["requests"]))
    handle = pd["tree"]["children"][0]
    check(handle["function"] == "handle" and abs(handle["a_share"] - 1) < 1e-9 and
          {k["function"] for k in handle["children"]} == {"parse", "query", "serialize"},
          "profile diff tree")
    st, _, _ = admin.get("/api/endpoints/%d/profile_diff?a=v3" % eid["svc.slower"])
    check(st == 400, "profile diff needs a and b")

    # ---- version marks: admin only, with CSRF; baselines follow ----
    path = "/api/versions/%d/mark" % vid["v2"]
    check(post(guest, path, {"important": True})[0] == 403, "a guest cannot mark")
    check(post(admin, path, {"important": True}, csrf=False)[0] == 403, "marking needs CSRF")
    check(post(admin, path, {"important": 1})[0] == 400, "important must be a boolean")
    check(post(admin, path, {"loud": True})[0] == 400, "unknown member refused")
    st, d = post(admin, path, {"important": True})
    check(st == 200 and d["important"] is True, "admin marks v2 important")
    st, doc, _ = admin.get("/api/findings")
    regs = [f for f in doc["findings"] if f["kind"] == "regression"]
    check({(f["version"], f["baseline_version"]) for f in regs} >= {("v4", "v2"), ("v5", "v2")},
          "baselines: the previous important version (%r)"
          % [(f["version"], f["baseline_version"]) for f in regs])
    post(admin, path, {"important": False})
    st, d = post(admin, "/api/versions/%d/mark" % vid["v6"], {"hidden": True})
    st, vs, _ = admin.get("/api/versions")
    check("v6" not in [v["name"] for v in vs["items"]], "a hidden version is not listed")
    st, vs, _ = admin.get("/api/versions?hidden=1")
    check([v["hidden"] for v in vs["items"] if v["name"] == "v6"] == [True], "?hidden=1 lists it")
    post(admin, "/api/versions/%d/mark" % vid["v6"], {"hidden": False})
    check(post(admin, "/api/versions/99999/mark", {"hidden": True})[0] == 404, "no such version")

    # ---- renames: one endpoint with the joined history, undone ----
    old, new = eid["svc.old_name"], eid["svc.new_name"]
    n_old = q("SELECT count(*) FROM requests WHERE endpoint_id = ?", old)[0][0]
    n_new = q("SELECT count(*) FROM requests WHERE endpoint_id = ?", new)[0][0]
    check(post(admin, "/api/renames", {"from": old, "to": old})[0] == 400, "rename to itself")
    check(post(admin, "/api/renames", {"from": 99999, "to": new})[0] == 404, "unknown endpoint")
    check(post(guest, "/api/renames", {"from": old, "to": new})[0] == 403, "guest cannot rename")
    st, d = post(admin, "/api/renames", {"from": old, "to": new})
    check(st == 200, "admin confirms the rename (%d %r)" % (st, d))
    check(post(admin, "/api/renames", {"from": old, "to": new})[0] == 400, "renamed twice")
    st, ov, _ = admin.get("/api/overview?per_page=1000")
    names = {i["name"]: i for i in ov["items"]}
    check("svc.old_name" not in names and names["svc.new_name"]["hits"]["overall"] ==
          n_old + n_new, "overview: one endpoint with the joined history")
    st, ev_, _ = admin.get("/api/endpoints/%d/versions?from=0" % new)
    check(st == 200 and {"v1", "v6"} <= {x.get("version") for x in ev_["items"]},
          "the endpoint page reads the old rows too: %r" % [x.get("version") for x in
                                                             ev_.get("items", [])][:8])
    st, gr, _ = admin.get("/api/endpoints/%d/groups?from=0&per_page=1000" % new)
    check(st == 200 and sum(g["box"]["count"] for g in gr["items"]) == n_old + n_new,
          "raw-row views read the old endpoint's rows too")
    st, ol, _ = admin.get("/api/endpoints/%d/outliers?from=0&per_page=1" % new)
    n_out = q("SELECT count(*) FROM outliers WHERE endpoint_id IN (?, ?)", old, new)[0][0]
    check(st == 200 and ol["total"] == n_out, "outliers of both (%r vs %d)" % (ol.get("total"), n_out))
    st, doc, _ = admin.get("/api/findings")
    check(not [f for f in doc["findings"] if f["kind"] == "rename_candidate"],
          "no rename candidate once confirmed")
    st, rn, _ = admin.get("/api/renames")
    check([(r["from"], r["to"]) for r in rn["items"]] == [("svc.old_name", "svc.new_name")],
          "renames listed")
    st, d = post(admin, "/api/renames/%d/undo" % old, {})
    check(st == 200, "undo the rename")
    check(q("SELECT count(*) FROM requests WHERE endpoint_id = ?", old)[0][0] == n_old,
          "raw rows kept their endpoint ids")
    st, ov, _ = admin.get("/api/overview?per_page=1000")
    names = {i["name"]: i for i in ov["items"]}
    check(names.get("svc.old_name", {}).get("hits", {}).get("overall") == n_old and
          names["svc.new_name"]["hits"]["overall"] == n_new, "undone: two endpoints again")
    check(post(admin, "/api/renames/%d/undo" % old, {})[0] == 404, "undo twice is 404")

    # ---- metrics: a gauge per kind, the old series kept ----
    st, h, data = tok.req("GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    text = data.decode()
    check(st == 200 and 'evodash_findings_open{kind="regression"} 1' in text and
          'evodash_findings_open{kind="new_endpoint"} 0' in text and
          "evodash_requests_total" in text and "evodash_dropped_records_total" in text,
          "metrics: findings gauge and the old series")
    con.close()


if __name__ == "__main__":
    main()
