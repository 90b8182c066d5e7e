#!/usr/bin/env python3
"""migrate_test.py BUILD_DIR — `evodash migrate` SQLite -> PostgreSQL -> SQLite.

Run under tests/pg/with_pg.sh.  A SQLite store filled with synthetic traffic
(tests/integration/fill) is copied to PostgreSQL and back.  Every table
arrives whole with its ids (row counts and a digest of each table's rows),
the dashboard answers the same on the three stores, a target holding data
is refused unless --force, new requests written to a copy get fresh ids,
and no output shows the password.
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402
import storedb  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
NOW_S = 1793797200
TABLES = ["services", "versions", "instances", "endpoints", "endpoint_drops", "requests",
          "outliers", "profiler_samples", "profiled", "rollups", "test_runs", "users", "sessions"]
KEYS = {"requests": "id", "rollups": "endpoint_id, version_id, hour, instance_id",
        "endpoint_drops": "endpoint_id, instance_id", "profiled": "request_id",
        "sessions": "token_hash"}



def digest(db, table):
    """Row count and a digest of every row (blobs as hex), in key order."""
    con = storedb.connect(db)
    rows = con.execute("SELECT * FROM %s ORDER BY %s" % (table, KEYS.get(table, "id"))).fetchall()
    con.close()
    h = hashlib.sha256()
    for r in rows:
        h.update(repr([bytes(v).hex() if isinstance(v, (bytes, memoryview)) else v
                       for v in r]).encode())
    return len(rows), h.hexdigest()


def migrate(src, dst, *extra):
    p = subprocess.run([os.path.join(BUILD, "evodash"), "migrate", "--from",
                        storedb.database_url(src), "--to", storedb.database_url(dst)] + list(extra),
                       capture_output=True, text=True)
    return p.returncode, p.stderr


def views(db, tmp, name):
    """The dashboard's answers for a few views of db."""
    cfg = os.path.join(tmp, name + ".cfg")
    with open(cfg, "w") as f:
        f.write("[dashboard]\nDATABASE=%s\nUSERNAME=m\nPASSWORD=migrate-pw\nTIMEZONE=UTC\n"
                % storedb.database_url(db))
    proc = subprocess.Popen([os.path.join(BUILD, "evodash"), "serve", "--config", cfg,
                             "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    out = {}
    try:
        line = proc.stderr.readline()
        while line and "serving" not in line:
            line = proc.stderr.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/dashboard/login", body="username=m&password=migrate-pw",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        cookie = r.getheader("Set-Cookie").split(";")[0]
        rng = "from=0&to=%d" % NOW_S
        for path in ["/api/overview?" + rng, "/api/versions", "/api/performance?" + rng,
                     "/api/endpoints/1/groups?" + rng, "/api/endpoints/1/status?" + rng,
                     "/api/endpoints/2/outliers?" + rng, "/api/hourly?to=%d" % NOW_S]:
            c.request("GET", "/dashboard" + path, headers={"Cookie": cookie})
            r = c.getresponse()
            out[path] = (r.status, json.loads(r.read()))
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="evd-migrate-")
    try:
        a = os.path.join(tmp, "a.db")
        subprocess.run([os.path.join(BUILD, "tests/integration/fill"), a, str(NOW_S), "20000",
                        "6", "3", "40", "20", "11"], check=True, stdout=subprocess.DEVNULL)
        want_views = views(a, tmp, "a")  # also creates the dashboard's users
        want = {t: digest(a, t) for t in TABLES}
        pgdb = storedb.fresh_pg_db("evd_migrate")
        pw = re.match(r"postgresql://[^:]+:([^@]+)@", pgdb).group(1)

        rc, err = migrate(a, pgdb)
        check(rc == 0, "SQLite -> PostgreSQL: %s" % err.strip()[-300:])
        check("migrate: requests" in err and "100%" in err, "a progress line per table")
        check(pw not in err and "***" in err, "the password is not shown")
        for t in TABLES:
            check(digest(pgdb, t) == want[t], "PostgreSQL copy of %s (%d rows)" % (t, want[t][0]))
        got = views(pgdb, tmp, "p")
        for path, v in want_views.items():
            check(got[path] == v, "the dashboard answers %s the same on PostgreSQL" % path)

        # a target holding data is refused, unchanged, unless --force
        rc, err = migrate(a, pgdb)
        check(rc == 1 and "--force" in err, "a non-empty target is refused: " + err.strip()[-200:])
        check(digest(pgdb, "requests") == want["requests"], "the refused target is unchanged")
        rc, err = migrate(a, pgdb, "--force")
        check(rc == 0 and digest(pgdb, "requests") == want["requests"], "--force replaces it")

        b = os.path.join(tmp, "b.db")
        rc, err = migrate(pgdb, b)
        check(rc == 0, "PostgreSQL -> SQLite: %s" % err.strip()[-300:])
        for t in TABLES:
            check(digest(b, t) == want[t], "SQLite copy of %s" % t)
        check(views(b, tmp, "b") == want_views, "the dashboard answers the same on the copy back")

        # writing goes on in the copy: new requests get fresh ids
        cfg = os.path.join(tmp, "svc.cfg")
        with open(cfg, "w") as f:
            f.write("[dashboard]\nDATABASE=%s\nSERVICE_NAME=fill\n" % pgdb)
        svc = subprocess.Popen([os.path.join(BUILD, "examples/c_service"), cfg, "0"],
                               stderr=subprocess.PIPE, text=True)
        line = svc.stderr.readline()
        while line and "listening" not in line:
            line = svc.stderr.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
        for _ in range(25):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/hello")
            c.getresponse().read()
            c.close()
        svc.terminate()
        svc.wait(timeout=30)
        con = storedb.connect(pgdb)
        n, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM requests").fetchone()
        con.close()
        check(n == want["requests"][0] + 25 and distinct == n,
              "new requests after the copy get fresh ids (%d rows, %d ids)" % (n, distinct))

        rc, err = migrate(os.path.join(tmp, "missing.db"), b)
        check(rc == 1 and "missing.db" in err, "a missing source is a clear error")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("migrate_test")


if __name__ == "__main__":
    time.sleep(0)
    main()
