#!/usr/bin/env python3
"""Several groupings as separate dimensions, against a real `evodash serve`.

A store is filled (tests/integration/fill, GROUPS=multi) with group texts
as the Flask binding writes them for several groupings ("user=u;plan=p"),
with some requests naming no group, some no plan, and some an old
single-name text.  The group routes (/groups, /bubbles?by=group) must
answer per grouping (?grouping=NAME, default the first), list the
groupings, and count a request without the grouping under "" — all
checked against the raw rows, split here independently.

usage: groupings_test.py BUILD_DIR [--pg]
"""
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict

import api_test
import storedb
from api_test import Client, all_items, check, start_serve, stop_serve

NOW_S = api_test.NOW_S
DAYS = 10
NREQ = 12000
EP = 2


def split(text):
    """{grouping: value} of a group text, as the dashboard reads it."""
    out = {}
    for part in (text or "").split(";"):
        name, eq, value = part.partition("=")
        if not eq:
            name, value = "group", part
        if part and name and name not in out:
            out[name] = value
    return out


def expected(db):
    con = storedb.connect(db)
    rows = con.execute("SELECT r.group_name, r.duration_us, v.name, r.ts_us FROM requests r "
                       "JOIN versions v ON v.id = r.version_id WHERE r.endpoint_id = ? "
                       "ORDER BY r.ts_us DESC, r.id DESC", (EP,)).fetchall()
    con.close()
    order = []  # the groupings, in the order of the newest row naming them
    for g, _, _, _ in rows:
        for name in split(g):
            if name not in order:
                order.append(name)
    boxes = {n: defaultdict(list) for n in order}
    bubbles = {n: defaultdict(list) for n in order}
    for g, dur, ver, _ in rows:
        parts = split(g)
        for n in order:
            boxes[n][parts.get(n, "")].append(dur)
            bubbles[n][(parts.get(n, ""), ver)].append(dur)
    return rows, order, boxes, bubbles


def run(port, db):
    cl = Client(port)
    st, _, _ = cl.login(*api_test.ADMIN)
    check(st == 200, "login")
    rows, order, boxes, bubbles = expected(db)
    check(len(rows) > 1000 and set(order) == {"user", "plan", "group"},
          "the store has three groupings: %r" % order)
    rng = "from=0&to=%d" % NOW_S
    st, doc, _ = cl.get("/api/endpoints/%d/groups?per_page=1&%s" % (EP, rng))
    check(st == 200 and doc["groupings"] == order, "groupings listed newest first: %r"
          % (doc and doc.get("groupings"),))
    check(doc["grouping"] == order[0], "the default grouping is the first")
    for name in order:
        its = all_items(cl, "/api/endpoints/%d/groups?grouping=%s&%s" % (EP, name, rng))
        want = boxes[name]
        check({i["group"] for i in its} == set(want), "%s: one box per value" % name)
        for it in its:
            sel = sorted(want[it["group"]])
            b = it["box"]
            check(b["count"] == len(sel) and b["min_us"] == sel[0] and b["max_us"] == sel[-1],
                  "%s box %r count/min/max" % (name, it["group"]))
            check(abs(b["median_us"] - api_test.interp(sel, .5)) < 1e-6 * (1 + sel[-1]),
                  "%s box median exact" % name)
        check(sum(i["box"]["count"] for i in its) == len(rows),
              "%s: every request counted once" % name)
        its = all_items(cl, "/api/endpoints/%d/bubbles?by=group&grouping=%s&%s" % (EP, name, rng))
        want = bubbles[name]
        check(len(its) == len(want), "%s bubbles: one per value x version" % name)
        for it in its:
            sel = want[(it["group"], it["version"])]
            check(it["count"] == len(sel)
                  and abs(it["avg_us"] - sum(sel) / len(sel)) < 1e-6 * max(sel),
                  "%s bubble count/avg" % name)
    # the plans: a few values, not the combinations of user and plan
    st, doc, _ = cl.get("/api/endpoints/%d/groups?grouping=plan&per_page=100&%s" % (EP, rng))
    check(st == 200 and {i["group"] for i in doc["items"]} == {"", "free", "pro", "team"},
          "plan: its values and (none)")
    check(doc["grouping"] == "plan", "the reply names the grouping asked for")
    st, doc, _ = cl.get("/api/endpoints/%d/bubbles?by=group&grouping=plan&%s" % (EP, rng))
    check(st == 200 and doc["groupings"] == order and doc["grouping"] == "plan",
          "bubbles list the groupings too")
    # a grouping the range does not have: an empty view, still listing them
    st, doc, _ = cl.get("/api/endpoints/%d/groups?grouping=nosuch&%s" % (EP, rng))
    check(st == 200 and doc["items"] == [] and doc["total"] == 0
          and doc["grouping"] == "nosuch" and doc["groupings"] == order,
          "an unknown grouping is an empty view")
    # the comparison's groups table, per grouping: every request of each
    # side is sampled (each side holds fewer than 5000 per endpoint)
    con = storedb.connect(db)
    every = con.execute("SELECT r.group_name, r.duration_us, v.name FROM requests r "
                        "JOIN versions v ON v.id = r.version_id").fetchall()
    con.close()
    for name in ("plan", "user", None):
        q = "&grouping=%s" % name if name else ""
        st, doc, _ = cl.get("/api/compare?a=v01&b=v02" + q)
        shown = name or doc["groupings"][0]  # default: the first
        check(st == 200 and doc["grouping"] == shown
              and set(doc["groupings"]) == {"user", "plan", "group"},
              "compare: grouping %s and the groupings listed" % shown)
        want = defaultdict(lambda: {"v01": [], "v02": []})
        for g, dur, ver in every:
            val = split(g).get(shown, "")
            if val and ver in ("v01", "v02"):
                want[val][ver].append(max(dur, 1))
        got = {x["group"]: x for x in doc["groups"]}
        busiest = sorted(want, key=lambda k: -(len(want[k]["v01"]) + len(want[k]["v02"])))[:50]
        check(set(got) == set(busiest), "compare %s: its groups" % shown)
        for k in got:
            for side, ver in (("a", "v01"), ("b", "v02")):
                sel = sorted(want[k][ver])
                m = (sel[len(sel) // 2] if len(sel) % 2 else
                     (sel[len(sel) // 2 - 1] + sel[len(sel) // 2]) / 2) if sel else 0
                check(got[k][side]["requests"] == len(sel)
                      and abs(got[k][side]["median_us"] - m) < 1e-6 * (1 + m),
                      "compare %s %r side %s: count and median" % (shown, k, side))
    # slow groups are found per grouping: the slow plan itself, not each
    # (user, plan) text
    st, doc, _ = cl.get("/api/findings?from=0")
    slow = [f for f in doc["findings"] if f["kind"] == "slow_group"] if st == 200 else []
    check(any(f["grouping"] == "plan" and f["group"] == "team" and f["ratio"] >= 5
              for f in slow), "slow_group: plan 'team' is found: %r"
          % [(f.get("grouping"), f["group"]) for f in slow])
    check(all("=" not in f["group"] and ";" not in f["group"] for f in slow),
          "slow_group: groups, not group texts")
    check(all(f["grouping"] in ("plan", "user") for f in slow)
          and not any(f["grouping"] == "plan" and f["group"] != "team" for f in slow),
          "slow_group: only the slow plan and its users")
    team = next((f for f in slow if f["grouping"] == "plan"), None)
    check(team is not None and team["summary"].startswith("Requests of plan 'team' are "),
          "slow_group: the summary names the grouping: %r" % (team and team["summary"],))
    # IPs have no groupings
    st, doc, _ = cl.get("/api/endpoints/%d/ips?per_page=1&%s" % (EP, rng))
    check(st == 200 and "groupings" not in doc, "the IP view lists no groupings")
    # a range where no request names a group: the one grouping, all (none)
    per_s = defaultdict(list)
    for r in rows:
        per_s[r[3] // 1000000].append(r[0])
    quiet = [t for t, gs in per_s.items() if not any(split(g) for g in gs)]
    check(bool(quiet), "some second holds only requests naming no group")
    if quiet:
        t = quiet[0]
        st, doc, _ = cl.get("/api/endpoints/%d/groups?from=%d&to=%d" % (EP, t, t + 1))
        check(st == 200 and doc["groupings"] == ["group"] and len(doc["items"]) == 1
              and doc["items"][0]["group"] == ""
              and doc["items"][0]["box"]["count"] == len(per_s[t]),
              "no group named: the default grouping, (none): %r" % (doc,))


def main():
    tmp = tempfile.mkdtemp(prefix="evd-groupings-")
    db = storedb.fresh_pg_db("evd_groupings") if api_test.PG else os.path.join(tmp, "t.db")
    proc = None
    try:
        subprocess.run([os.path.join(api_test.BUILD, "tests/integration/fill"), db, str(NOW_S),
                        str(NREQ), "4", "3", "60", str(DAYS), "11", "multi"], check=True,
                       stdout=subprocess.DEVNULL)
        cfgtext = ("[dashboard]\nDATABASE=%s\nUSERNAME=%s\nPASSWORD=%s\nTIMEZONE=UTC\n"
                   % (storedb.database_url(db), api_test.ADMIN[0], api_test.ADMIN[1]))
        proc, port, log = start_serve(tmp, "evodash", cfgtext)
        assert port, "serve did not start: " + log
        run(port, db)
    finally:
        if proc:
            stop_serve(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    api_test.report("groupings_test")

if __name__ == "__main__":
    main()
