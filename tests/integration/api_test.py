#!/usr/bin/env python3
"""API correctness and authentication tests against a real `evodash serve`.

A store is filled with known synthetic traffic (tests/integration/fill),
`evodash serve` is started on a loopback port, and every number the API
returns is checked against values computed here, independently, from the
raw request rows: counts exactly, quantiles within the sketch's 1% bound.
Local-time buckets are computed with Python's zoneinfo (the system tz
database), over a window that spans a DST change.

usage: api_test.py BUILD_DIR [--pg]   (e.g. build/rel)

With --pg the store is a PostgreSQL database on the server that
tests/pg/with_pg.sh started; the checks are the same.
"""
import csv
import http.client
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import storedb
from checks import check, finish  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
PG = "--pg" in sys.argv[2:]
# EVODASH_API_PACKED=1: every past hour packed first (`evodash compact`),
# so that the raw-row views read packed hours; else none is, and the
# dashboard's background packing is off, so that they read the log.
PACKED = os.environ.get("EVODASH_API_PACKED") == "1"
TZNAME = "Europe/Amsterdam"
TZ = ZoneInfo(TZNAME)
# An hour boundary 10 days after the end of DST in Europe (2026-10-25), so
# the default 30-day heat map and the daily view cross the change.
NOW_S = int(datetime(2026, 11, 4, 13, 0, tzinfo=timezone.utc).timestamp())
DAYS = 40
NREQ = 30000
ADMIN = ("boss", "s3cret-admin-pw")
GUEST = ("visitor", "guest-pw-1")
TOKEN = "machine-token-0123456789"



def quantile_ok(v, values_sorted, q):
    """v is within 1% of a value at (or next to) rank q."""
    n = len(values_sorted)
    k = q * (n - 1)
    lo = values_sorted[max(0, math.floor(k) - 1)]
    hi = values_sorted[min(n - 1, math.ceil(k) + 1)]
    return lo * 0.99 - 1e-9 <= v <= hi * 1.01 + 1e-9


def interp(values_sorted, q):
    pos = q * (len(values_sorted) - 1)
    i = int(pos)
    if i + 1 >= len(values_sorted):
        return float(values_sorted[-1])
    return values_sorted[i] + (pos - i) * (values_sorted[i + 1] - values_sorted[i])


class Client:
    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.csrf = None

    def req(self, method, path, body=None, headers=None, raw_path=False):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path if raw_path else "/dashboard" + path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def get(self, path, **kw):
        st, h, data = self.req("GET", path, **kw)
        doc = None
        if h.get("content-type", "").startswith("application/json"):
            doc = json.loads(data)
        return st, doc, data

    def login(self, user, pw, form=False):
        if form:
            body = "username=%s&password=%s" % (user, pw)
            ct = "application/x-www-form-urlencoded"
        else:
            body = json.dumps({"username": user, "password": pw})
            ct = "application/json"
        st, h, data = self.req("POST", "/login", body=body, headers={"Content-Type": ct})
        if st == 200:
            m = re.match(r"(evd_session=[0-9a-f]{64})", h.get("set-cookie", ""))
            self.cookie = m.group(1)
            self.csrf = json.loads(data)["csrf_token"]
        return st, h, data


def all_items(cl, path):
    """Every item of a paginated list, walking pages of 7."""
    items, page = [], 1
    sep = "&" if "?" in path else "?"
    while True:
        st, doc, _ = cl.get("%s%spage=%d&per_page=7" % (path, sep, page))
        assert st == 200, (path, st, doc)
        items += doc["items"]
        if len(items) >= doc["total"] or not doc["items"]:
            check(len(items) == doc["total"], "%s: pagination total" % path)
            return items
        page += 1


def start_serve(tmp, name, cfgtext):
    """Start `evodash serve` with cfgtext; returns (process, port, stderr text)."""
    cfg = os.path.join(tmp, name + ".cfg")
    with open(cfg, "w") as f:
        f.write(cfgtext)
    errf = open(os.path.join(tmp, name + ".err"), "w+")
    proc = subprocess.Popen([os.path.join(BUILD, "evodash"), "serve", "--config", cfg,
                             "--listen", "127.0.0.1:0"], stderr=errf)
    port = None
    for _ in range(200):
        errf.seek(0)
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/dashboard", errf.read())
        if m:
            port = int(m.group(1))
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    errf.seek(0)
    return proc, port, errf.read()


def stop_serve(proc):
    proc.terminate()
    try:
        check(proc.wait(10) == 0, "serve exits 0 on SIGTERM")
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "serve stops on SIGTERM")


def main():
    tmp = tempfile.mkdtemp(prefix="evd-api-")
    db = storedb.fresh_pg_db("evd_api") if PG else os.path.join(tmp, "t.db")
    proc = None
    try:
        subprocess.run([os.path.join(BUILD, "tests/integration/fill"), db, str(NOW_S), str(NREQ),
                        "6", "3", "40", str(DAYS), "7"], check=True, stdout=subprocess.DEVNULL)
        if PACKED:
            out = subprocess.run([os.path.join(BUILD, "evodash"), "compact", "--db",
                                  storedb.database_url(db)], capture_output=True, text=True)
            check(out.returncode == 0 and "compact: done" in out.stderr,
                  "evodash compact: " + out.stderr.strip()[-200:])
            con = storedb.connect(db)
            packed = con.execute("SELECT sum(rows) FROM raw_segments").fetchone()[0]
            con.close()
            check(packed == NREQ, "every request is in a packed hour: %r" % (packed,))
        cfgtext = ("[dashboard]\nDATABASE=%s\nUSERNAME=%s\nPASSWORD=%s\n"
                   "GUEST_USERNAME=%s\nGUEST_PASSWORD=%s\nSECURITY_TOKEN=%s\nTIMEZONE=%s\n"
                   "PACK_HOURS=%s\n"
                   % (storedb.database_url(db), ADMIN[0], ADMIN[1], GUEST[0], GUEST[1], TOKEN,
                      TZNAME, "true" if PACKED else "false"))
        proc, port, log = start_serve(tmp, "evodash", cfgtext)
        assert port, "serve did not start: " + log
        check("password" not in log, "no generated password when USERNAME is configured")
        if PG:
            secret = re.match(r"postgresql://[^:]+:([^@]+)@", db).group(1)
            check(secret not in log and "***" in log,
                  "serve names the store without its password: " + log.strip()[-120:])
        run_tests(port, db)
        stop_serve(proc)
        # a range holding more rows than RAW_ROWS_MAX: the newest only, said so
        proc, port, log = start_serve(tmp, "capped", cfgtext + "RAW_ROWS_MAX=100\n")
        assert port, "capped serve did not start: " + log
        run_capped_tests(port, db)
        stop_serve(proc)
        proc = None
        if not PACKED:
            # the dashboard packs every past hour in the background
            os.environ["EVODASH_PACK_DELAY_MS"] = "500"  # not a minute after the start
            proc, port, log = start_serve(tmp, "packing", cfgtext.replace(
                "PACK_HOURS=false", "PACK_HOURS=true"))
            del os.environ["EVODASH_PACK_DELAY_MS"]
            assert port, "packing serve did not start: " + log
            packed, t0 = None, time.time()
            while time.time() - t0 < 60 and packed != NREQ:
                time.sleep(1)
                con = storedb.connect(db)
                packed = con.execute("SELECT sum(rows) FROM raw_segments").fetchone()[0]
                con.close()
            check(packed == NREQ, "the dashboard packed every past hour in the background "
                  "within %.0f s: %r of %d requests" % (time.time() - t0, packed, NREQ))
            stop_serve(proc)
            proc = None
    finally:
        if proc:
            stop_serve(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    report("api_test")


def report(name):
    """Exit 1 when a check failed, else say how many passed."""
    finish("%s (%s%s)" % (name, "PostgreSQL" if PG else "SQLite", ", packed" if PACKED else ""))


def run_capped_tests(port, db):
    cl = Client(port)
    st, _, _ = cl.login(*ADMIN)
    check(st == 200, "login to the capped server")
    con = storedb.connect(db)
    n = con.execute("SELECT count(*) FROM requests WHERE endpoint_id = 1").fetchone()[0]
    cut = con.execute("SELECT ts_us FROM requests WHERE endpoint_id = 1 ORDER BY ts_us DESC "
                      "LIMIT 1 OFFSET 99").fetchone()[0]
    newest = con.execute("SELECT count(*) FROM requests WHERE endpoint_id = 1 AND ts_us >= ?",
                         (cut,)).fetchone()[0]
    con.close()
    check(n > 1000, "endpoint 1 holds far more than 100 rows")
    rng = "from=0&to=%d" % NOW_S
    st, doc, _ = cl.get("/api/endpoints/1/groups?per_page=1000&" + rng)
    check(st == 200 and sum(i["box"]["count"] for i in doc["items"]) == newest,
          "capped: the box plots hold the newest rows only")
    check(doc["partial"] is not None and doc["partial"]["rows"] == newest
          and abs(datetime.fromisoformat(doc["partial"]["from"]).timestamp() * 1e6 - cut) < 1e6,
          "capped: the reply says from when: %r" % (doc.get("partial"),))
    st, doc, _ = cl.get("/api/endpoints/1/status?" + rng)
    check(st == 200 and sum(c["count"] for c in doc["codes"]) == newest
          and doc["partial"]["rows"] == newest, "capped: status codes of the newest rows")
    check(sum(doc["classes"].values()) == n, "capped: status classes still cover the range")
    st, doc, _ = cl.get("/api/endpoints/1/groups?from=%d&to=%d" % (NOW_S - 3600, NOW_S))
    check(st == 200 and doc["partial"] is None, "a range under the cap is not partial")


def raw_rows(db):
    con = storedb.connect(db)
    rows = con.execute("SELECT r.id, r.endpoint_id, e.name, v.name, r.ts_us, r.duration_us, "
                       "r.status, r.group_name, r.ip FROM requests r JOIN endpoints e ON "
                       "e.id = r.endpoint_id JOIN versions v ON v.id = r.version_id").fetchall()
    con.close()
    return rows


def local(ts_us):
    return datetime.fromtimestamp(ts_us / 1e6, TZ)


def run_tests(port, db):
    rows = raw_rows(db)
    check(len(rows) == NREQ, "fill wrote %d rows" % len(rows))
    anon = Client(port)
    admin = Client(port)
    guest = Client(port)
    st, _, _ = admin.login(*ADMIN)
    check(st == 200, "admin login (JSON)")
    st, _, _ = guest.login(*GUEST, form=True)
    check(st == 200, "guest login (form)")
    to = "to=%d" % NOW_S
    by_ep = defaultdict(list)
    for r in rows:
        by_ep[r[1]].append(r)

    # ---- overview ----
    now_local = datetime.fromtimestamp(NOW_S, TZ)
    today0 = datetime(now_local.year, now_local.month, now_local.day, tzinfo=TZ)
    week0 = today0 - timedelta(days=6)
    t_today = int(today0.timestamp() * 1e6)
    t_week = int(week0.replace(tzinfo=None).replace(tzinfo=TZ).timestamp() * 1e6)
    items = all_items(admin, "/api/overview?" + to)
    check(len(items) == 6, "overview lists every endpoint")
    for it in items:
        eprows = by_ep[it["id"]]
        for win, t0 in (("today", t_today), ("week", t_week), ("overall", 0)):
            sel = sorted(r[5] for r in eprows if r[4] >= t0)
            errs = sum(1 for r in eprows if r[4] >= t0 and r[6] >= 400)
            check(it["hits"][win] == len(sel), "overview %s hits %s: %s != %d"
                  % (it["name"], win, it["hits"][win], len(sel)))
            check(it["errors"][win] == errs, "overview %s errors %s" % (it["name"], win))
            if sel:
                check(quantile_ok(it["median_us"][win], sel, 0.5),
                      "overview %s median %s" % (it["name"], win))
                check(quantile_ok(it["p90_us"][win], sel, 0.9),
                      "overview %s p90 %s" % (it["name"], win))
        check(re.fullmatch(r"#[0-9a-f]{6}", it["colour"]) is not None, "colour format")

    # colours are the same in every view
    colours = {it["id"]: it["colour"] for it in items}
    for it in all_items(admin, "/api/rules"):
        check(colours[it["id"]] == it["colour"], "rules colour == overview colour")

    # ---- performance box plots over a range ----
    frm = NOW_S - 10 * 86400
    rng = "from=%d&to=%d" % (frm, NOW_S)
    for it in all_items(admin, "/api/performance?" + rng):
        sel = sorted(r[5] for r in by_ep[it["endpoint_id"]] if frm * 1e6 <= r[4] < NOW_S * 1e6)
        b = it["box"]
        check(b["count"] == len(sel), "performance count")
        check(b["min_us"] == sel[0] and b["max_us"] == sel[-1], "performance min/max exact")
        check(abs(b["mean_us"] - sum(sel) / len(sel)) < 1e-6 * b["mean_us"], "performance mean")
        for key, q in (("q1_us", .25), ("median_us", .5), ("q3_us", .75)):
            check(quantile_ok(b[key], sel, q), "performance %s" % key)
        check(colours[it["endpoint_id"]] == it["colour"], "performance colour")

    # ---- heat map: 24 x 30 local days, across the DST change ----
    st, doc, _ = admin.get("/api/heatmap?" + to)
    check(st == 200 and len(doc["days"]) == 30 and all(len(d) == 24 for d in doc["counts"]),
          "heatmap shape 30 x 24")
    expect = defaultdict(int)
    for r in rows:
        lt = local(r[4])
        expect[(lt.date().isoformat(), lt.hour)] += 1
    ok = all(doc["counts"][i][h] == expect[(day, h)]
             for i, day in enumerate(doc["days"]) for h in range(24))
    check(ok, "heatmap cells equal local-time counts (DST-correct)")
    check("2026-10-25" in doc["days"], "heatmap window spans the DST change")
    st, doc, _ = admin.get("/api/endpoints/2/heatmap?days=5&" + to)
    exp2 = defaultdict(int)
    for r in by_ep[2]:
        lt = local(r[4])
        exp2[(lt.date().isoformat(), lt.hour)] += 1
    check(st == 200 and all(doc["counts"][i][h] == exp2[(d, h)]
                            for i, d in enumerate(doc["days"]) for h in range(24)),
          "per-endpoint heatmap")

    # ---- daily utilisation ----
    st, doc, _ = admin.get("/api/daily?" + rng)
    check(st == 200, "daily")
    for s in doc["items"]:
        exp = defaultdict(int)
        for r in by_ep[s["endpoint_id"]]:
            if frm * 1e6 <= r[4] < NOW_S * 1e6:
                exp[local(r[4]).date().isoformat()] += 1
        check(all(s["counts"][i] == exp[d] for i, d in enumerate(doc["days"])),
              "daily counts of %s" % s["name"])

    # ---- last 48 hours ----
    st, doc, _ = admin.get("/api/hourly?" + to)
    check(st == 200 and len(doc["hours"]) == 48, "hourly shape")
    h0 = NOW_S // 3600 - 48
    for s in doc["items"]:
        for k in range(48):
            sel = [r[5] for r in by_ep[s["endpoint_id"]] if r[4] // 3600000000 == h0 + k]
            check(s["count"][k] == len(sel), "hourly count")
            if sel:
                check(s["min_us"][k] == min(sel) and s["max_us"][k] == max(sel), "hourly min/max")
                check(abs(s["avg_us"][k] - sum(sel) / len(sel)) < 1e-6 * max(sel), "hourly avg")
            else:
                check(s["min_us"][k] is None, "hourly empty hour is null")

    # ---- versions, per-endpoint per-version, matrix ----
    vers = all_items(admin, "/api/versions")
    vcount = defaultdict(int)
    for r in rows:
        vcount[r[3]] += 1
    check(sorted(v["name"] for v in vers) == ["v01", "v02", "v03"], "versions listed")
    for v in vers:
        check(v["requests"] == vcount[v["name"]], "version %s requests" % v["name"])
    st, doc, _ = admin.get("/api/endpoints/1/versions?from=0&" + to)
    for it in doc["items"]:
        sel = sorted(r[5] for r in by_ep[1] if r[3] == it["version"])
        check(it["box"]["count"] == len(sel), "endpoint version count")
        check(quantile_ok(it["box"]["median_us"], sel, .5), "endpoint version median")
        check(it["first_seen"] is not None and it["last_seen"] is not None, "first/last seen")
    st, doc, _ = admin.get("/api/matrix?" + rng)
    for v in doc["items"]:
        sel = [r for r in rows if r[3] == v["version"] and frm * 1e6 <= r[4] < NOW_S * 1e6]
        check(v["total"] == len(sel), "matrix total of %s" % v["version"])
        for e in v["endpoints"]:
            n = sum(1 for r in sel if r[1] == e["endpoint_id"])
            check(e["count"] == n, "matrix count")
            check(abs(e["share"] - n / len(sel)) < 1e-9, "matrix share")
    # evolution: the same cells with each one's median and p90
    st, doc, _ = admin.get("/api/evolution?" + rng)
    live = [n for n in ["v01", "v02", "v03"]
            if any(r[3] == n and frm * 1e6 <= r[4] < NOW_S * 1e6 for r in rows)]
    check(st == 200 and [v["version"] for v in doc["items"]] == live and len(live) >= 2,
          "evolution lists the versions of the range in deployment order")
    for v in doc["items"]:
        for e in v["endpoints"]:
            sel = sorted(r[5] for r in rows if r[3] == v["version"] and r[1] == e["endpoint_id"]
                         and frm * 1e6 <= r[4] < NOW_S * 1e6)
            check(e["count"] == len(sel), "evolution count")
            check(quantile_ok(e["median_us"], sel, .5), "evolution median of %s in %s"
                  % (e["name"], v["version"]))
            check(quantile_ok(e["p90_us"], sel, .9), "evolution p90")

    # ---- status codes ----
    st, doc, _ = admin.get("/api/endpoints/1/status?from=0&" + to)
    codes = defaultdict(int)
    for r in by_ep[1]:
        codes[r[6]] += 1
    check({c["status"]: c["count"] for c in doc["codes"]} == dict(codes), "status codes")
    check(doc["classes"]["4xx"] == sum(v for k, v in codes.items() if 400 <= k < 500),
          "status classes")

    # ---- per group / per IP box plots, bubbles ----
    for route, col, key in (("groups", 7, "group"), ("ips", 8, "ip")):
        its = all_items(admin, "/api/endpoints/3/%s?%s" % (route, rng))
        grp = defaultdict(list)
        for r in by_ep[3]:
            if frm * 1e6 <= r[4] < NOW_S * 1e6:
                grp[r[col]].append(r[5])
        check(len(its) == len(grp), "%s: one box per value" % route)
        for it in its:
            sel = sorted(grp[it[key]])
            b = it["box"]
            check(b["count"] == len(sel) and b["min_us"] == sel[0] and b["max_us"] == sel[-1],
                  "%s box count/min/max" % route)
            check(abs(b["median_us"] - interp(sel, .5)) < 1e-6 * (1 + sel[-1]),
                  "%s box median exact" % route)
    its = all_items(admin, "/api/endpoints/3/bubbles?by=group&" + rng)
    bub = defaultdict(list)
    for r in by_ep[3]:
        if frm * 1e6 <= r[4] < NOW_S * 1e6:
            bub[(r[7], r[3])].append(r[5])
    check(len(its) == len(bub), "bubbles: one per group x version")
    for it in its:
        sel = bub[(it["group"], it["version"])]
        check(it["count"] == len(sel) and abs(it["avg_us"] - sum(sel) / len(sel)) < 1e-6 * max(sel),
              "bubble count/avg")

    # ---- instances and counters ----
    st, doc, _ = admin.get("/api/counters")
    check(st == 200 and doc["totals"]["dropped"] == 7 and doc["totals"]["write_errors"] == 2
          and doc["totals"]["written"] == NREQ, "counters totals")
    st, doc, _ = admin.get("/api/instances")
    check(st == 200 and doc["total"] == 1 and doc["items"][0]["host"] == "fillhost", "instances")

    # ---- outliers and profiler ----
    con = storedb.connect(db)
    oid, oep = con.execute("SELECT id, endpoint_id FROM outliers ORDER BY id LIMIT 1").fetchone()
    n_out = con.execute("SELECT count(*) FROM outliers WHERE endpoint_id = ?", (oep,)).fetchone()[0]
    preq = con.execute("SELECT request_id FROM profiler_samples LIMIT 1").fetchone()[0]
    con.close()
    st, doc, _ = admin.get("/api/endpoints/%d/outliers?from=0&%s" % (oep, to))
    check(st == 200 and doc["total"] == n_out, "outliers list total")
    durs = [d for (d,) in storedb.connect(db).execute(
        "SELECT duration_us FROM outliers WHERE endpoint_id = ? ORDER BY duration_us DESC",
        (oep,))]
    st, doc, _ = admin.get("/api/endpoints/%d/outliers?from=0&sort=duration&per_page=2&%s"
                           % (oep, to))
    check(st == 200 and [o["duration_us"] for o in doc["items"]] == durs[:2],
          "outliers slowest first")
    st, doc, _ = admin.get("/api/endpoints/%d/outliers?from=0&page=999&%s" % (oep, to))
    check(st == 200 and doc["items"] == [] and doc["total"] == n_out,
          "a page past the end is empty but keeps the total")
    st, doc, _ = admin.get("/api/endpoints/%d/outliers?sort=size" % oep)
    check(st == 400 and "sort" in doc["error"], "an unknown sort order is 400")
    # profiled requests: exactly those with a call tree, newest first
    con = storedb.connect(db)
    prof = con.execute("SELECT r.id FROM requests r WHERE r.endpoint_id = 1 AND r.id IN (SELECT "
                       "request_id FROM profiler_samples) ORDER BY r.ts_us DESC").fetchall()
    con.close()
    st, doc, _ = admin.get("/api/endpoints/1/profiled?from=0&per_page=1000&" + to)
    check(st == 200 and [i["request_id"] for i in doc["items"]] == [i for (i,) in prof]
          and doc["total"] == len(prof) > 0, "profiled requests listed")
    st, doc, _ = admin.get("/api/outliers/%d" % oid)
    check(st == 200 and doc["stack"][2] == {"function": "slow_query", "file": "db.c", "line": 7},
          "outlier stack formatted")
    check(doc["cpu_per_core"] == [{"core": 0, "percent": 12.5}, {"core": 1, "percent": 80.0}],
          "outlier cpu per core")
    check(doc["headers"] == {"Accept": "*/*"} and doc["url"] == "/api/x?id=1", "outlier details")
    # the other threads' stacks, formatted like the request's, in the order captured
    check(doc["threads"] == [
        {"thread": "140002", "stack": [{"function": "run", "file": "pool.py", "line": 5},
                                       {"function": "wait_job", "file": "pool.py", "line": 88}]},
        {"thread": "140001", "stack": []}], "outlier: the other threads' stacks")
    oid2 = storedb.connect(db).execute(
        "SELECT id FROM outliers ORDER BY id LIMIT 1 OFFSET 1").fetchone()[0]
    st, doc, _ = admin.get("/api/outliers/%d" % oid2)
    check(st == 200 and doc["threads"] is None and doc["url"] == "/api/x?id=1",
          "outlier without other threads' stacks: threads is null")
    st, doc, _ = admin.get("/api/requests/%d/profile" % preq)
    check(st == 200 and doc["tree"][0]["function"] == "handle"
          and [c["function"] for c in doc["tree"][0]["children"]] == ["parse", "query"]
          and doc["tree"][0]["children"][1]["children"][0]["function"] == "render",
          "profiler call tree nesting")
    st, doc, _ = admin.get("/api/endpoints/1/profile?from=0&" + to)
    check(st == 200 and doc["total"] > 0, "grouped profile")

    # ---- export (streamed) and metrics ----
    st, h, data = admin.req("GET", "/api/export?format=csv&" + rng)
    sel = [r for r in rows if frm * 1e6 <= r[4] < NOW_S * 1e6]
    lines = list(csv.reader(io.StringIO(data.decode())))
    check(st == 200 and len(lines) == len(sel) + 1, "CSV export rows")
    st, h, data = admin.req("GET", "/api/export?format=json&" + rng)
    check(st == 200 and len(json.loads(data)) == len(sel), "JSON export rows")
    st, h, data = admin.req("GET", "/metrics")
    text = data.decode()
    check(st == 200 and h["content-type"].startswith("text/plain"), "metrics served")
    for ep in range(1, 7):
        name = by_ep[ep][0][2]
        n2 = sum(1 for r in by_ep[ep] if 200 <= r[6] < 300)
        check('evodash_requests_total{service="fill",endpoint="%s",status_class="2xx"} %d'
              % (name, n2) in text, "metrics 2xx count of %s" % name)
        check('evodash_request_duration_seconds_count{service="fill",endpoint="%s"} %d'
              % (name, len(by_ep[ep])) in text, "metrics histogram count")
    check('evodash_dropped_records_total{service="fill",instance="fill:1"} 7' in text,
          "metrics dropped")
    check("user0" not in text and "10.0." not in text, "metrics labels carry no user or IP")

    # ---- authentication ----
    routes = ["/api/session", "/api/overview", "/api/rules", "/api/heatmap", "/api/daily",
              "/api/hourly", "/api/performance", "/api/versions", "/api/instances",
              "/api/counters", "/api/matrix", "/api/evolution", "/api/endpoints/1/versions",
              "/api/endpoints/1/groups", "/api/endpoints/1/ips", "/api/endpoints/1/bubbles",
              "/api/endpoints/1/status", "/api/endpoints/1/heatmap",
              "/api/endpoints/1/outliers", "/api/endpoints/1/profile",
              "/api/endpoints/1/profiled", "/api/outliers/1",
              "/api/requests/%d/profile" % preq, "/api/export", "/metrics"]
    for r in routes:
        st, doc, _ = anon.get(r)
        check(st == 401 and doc and "error" in doc, "401 without a session: " + r)
    for r in routes[:-2]:
        st, _, _ = guest.get(r + ("?" + to if "?" not in r else ""))
        check(st == 200, "guest reads " + r)
    for r in ("/api/export", "/metrics"):
        st, doc, _ = guest.get(r)
        check(st == 403 and "error" in doc, "guest 403 on " + r)
    st, _, data = guest.req("POST", "/api/rules/1/level", body='{"level":2}',
                            headers={"Content-Type": "application/json",
                                     "X-CSRF-Token": guest.csrf})
    check(st == 403, "guest 403 on setting a level")
    st, _, _ = admin.req("POST", "/api/rules/1/level", body='{"level":2}',
                         headers={"Content-Type": "application/json"})
    check(st == 403, "403 without a CSRF token")
    st, _, _ = admin.req("POST", "/api/rules/1/level", body='{"level":2}',
                         headers={"Content-Type": "application/json", "X-CSRF-Token": "0" * 64})
    check(st == 403, "403 with a wrong CSRF token")
    st, _, _ = admin.req("POST", "/api/rules/1/level", body='{"level":2}',
                         headers={"Content-Type": "application/json",
                                  "X-CSRF-Token": admin.csrf})
    check(st == 200, "admin sets a level with CSRF")
    lv = {it["id"]: it["level"] for it in all_items(admin, "/api/rules")}
    check(lv[1] == 2, "the level reached the store")
    st, _, _ = admin.req("POST", "/api/rules/1/level", body='{"level":9}',
                         headers={"Content-Type": "application/json",
                                  "X-CSRF-Token": admin.csrf})
    check(st == 400, "level out of range is 400")
    # machine access
    tok = Client(port)
    st, _, data = tok.req("GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    check(st == 200, "bearer token reads metrics")
    st, _, data = tok.req("GET", "/api/export?" + rng, headers={"Authorization": "Bearer " + TOKEN})
    check(st == 200, "bearer token exports")
    st, _, _ = tok.req("GET", "/api/export", headers={"Authorization": "Bearer wrong"})
    check(st == 401, "wrong bearer token is 401")
    st, _, _ = tok.req("GET", "/api/overview", headers={"Authorization": "Bearer " + TOKEN})
    check(st == 403, "bearer token does not read views")
    runs = json.dumps({"build": "b1", "version": "v03", "service": "fill",
                       "tests": [{"suite": "ci", "name": "t1", "duration_us": 5,
                                  "calls": [{"endpoint": "api.endpoint_01", "duration_us": 4}]}]})
    st, _, _ = tok.req("POST", "/api/ci/builds", body=runs,
                       headers={"Authorization": "Bearer " + TOKEN,
                                "Content-Type": "application/json"})
    check(st == 201, "bearer token uploads a CI build")
    # session expiry: age the guest's session in the store
    con = storedb.connect(db)
    con.execute("UPDATE sessions SET expires_us = 1 WHERE user_id = (SELECT id FROM users WHERE "
                "username = ?)", (GUEST[0],))
    con.commit()
    con.close()
    st, _, _ = guest.get("/api/overview")
    check(st == 401, "an expired session is 401")
    # logout
    st, h, _ = admin.req("POST", "/logout", headers={"X-CSRF-Token": admin.csrf})
    check(st == 200 and "Max-Age=0" in h.get("set-cookie", ""), "logout clears the cookie")
    st, _, _ = admin.get("/api/overview")
    check(st == 401, "a logged-out session is 401")
    st, h, _ = admin.login(*ADMIN)
    ck = h.get("set-cookie", "")
    check("HttpOnly" in ck and "SameSite=Strict" in ck, "session cookie is HttpOnly, SameSite")
    check("Max-Age=43200" in ck and "Secure" not in ck,
          "over plain HTTP the cookie lasts SESSION_HOURS (12) and is not Secure: " + ck)
    st, h, _ = admin.req("POST", "/login", body=json.dumps({"username": ADMIN[0],
                                                            "password": ADMIN[1]}),
                         headers={"Content-Type": "application/json",
                                  "X-Forwarded-Proto": "https"})
    check(st == 200 and "; Secure" in h.get("set-cookie", ""),
          "behind a TLS proxy the session cookie is Secure")

    # ---- bad input: 4xx with a JSON error body, never 5xx ----
    bad = [("/api/overview?to=yesterday", 400), ("/api/daily?from=2026-13-01", 400),
           ("/api/daily?from=10&to=5", 400), ("/api/overview?per_page=1000000000000", 400),
           ("/api/overview?page=-1", 400), ("/api/overview?page=99999999999999999999999", 400),
           ("/api/heatmap?days=100000", 400), ("/api/heatmap?tz=Mars/Olympus", 400),
           ("/api/heatmap?tz=../../etc/passwd", 400), ("/api/endpoints/999/versions", 404),
           ("/api/endpoints/abc/versions", 400), ("/api/outliers/999999", 404),
           ("/api/overview?a=%zz", 400), ("/api/nothing", 404),
           ("/static/../../../etc/passwd", 400), ("/static/%2e%2e/%2e%2e/etc/passwd", 400),
           ("/static/nope.js", 404), ("/api/export?format=xml", 400)]
    for path, code in bad:
        st, h, data = admin.req("GET", "/dashboard" + path, raw_path=True)
        ok = st == code and h.get("content-type", "").startswith("application/json") \
            and "error" in json.loads(data)
        check(ok, "bad input %s -> %d (got %d %r)" % (path, code, st, data[:80]))
    st, _, data = anon.req("POST", "/login", body="{", headers={"Content-Type": "application/json"})
    check(st == 400 and "error" in json.loads(data), "malformed login JSON is 400")
    st, _, data = anon.req("GET", "/static/echarts.min.js")
    check(st == 200 and len(data) > 100000, "ECharts asset served")

    # ---- login rate limit (last: it locks this client IP out) ----
    codes = [anon.login(ADMIN[0], "wrong")[0] for _ in range(5)]
    check(codes == [401] * 5, "wrong passwords are 401")
    st, _, _ = anon.login(*ADMIN)
    check(st == 429, "after 5 failures even the right password is rate-limited (429)")


if __name__ == "__main__":
    main()
