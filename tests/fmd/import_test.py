#!/usr/bin/python3
"""`evodash import-fmd` on a database that Flask-MonitoringDashboard wrote
itself (tests/data/fmd/fmd.db, see its README), against a real store and a
real `evodash serve`.

Checks: every FMD row arrives (requests, endpoints, versions, groups,
status codes, outliers, profiler lines, each counted in FMD's own tables);
FMD's outlier stacks become several frames with files and lines; no secret
of the fixture's requests is left in clear anywhere in the store; a second
import of the same database, under its own name or another, is refused
with exit status 3 and changes nothing; --force imports it again; and the
dashboard API shows an imported outlier with its frames and masked details.

usage: import_test.py BUILD_DIR [--pg]   (e.g. build/rel)

With --pg the store is a PostgreSQL database on the server that
tests/pg/with_pg.sh started.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import storedb  # noqa: E402
from api_test import Client, start_serve  # noqa: E402
from checks import check, finish  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
PG = "--pg" in sys.argv[2:]
FIXTURE = os.path.join(HERE, "..", "data", "fmd", "fmd.db")
SECRETS = ["hunter2", "tok-s3cr3t-abc", "sess-c00kie-xyz"]
ADMIN = ("boss", "fmd-import-admin-pw")

def fmd(sql, args=()):
    # read-only: a missing fixture is an error, not a new empty file
    con = sqlite3.connect("file:%s?mode=ro" % FIXTURE, uri=True)
    rows = con.execute(sql, args).fetchall()
    con.close()
    return rows


def store(db, sql, args=()):
    con = storedb.connect(db)
    rows = con.execute(sql, args).fetchall()
    con.close()
    return rows


def tables(db):
    if storedb.is_pg(db):
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return sorted(r[0] for r in store(db, sql))


def snapshot(db):
    """Every table's row count: what a refused import must leave alone."""
    return {t: store(db, 'SELECT count(*) FROM "%s"' % t)[0][0] for t in tables(db)}


def all_text(db):
    """Every value of every table, as text (blobs decoded as they come)."""
    out = []
    for t in tables(db):
        for row in store(db, 'SELECT * FROM "%s"' % t):
            for v in row:
                if isinstance(v, (bytes, memoryview)):
                    v = bytes(v).decode("utf-8", "replace")
                if v is not None:
                    out.append((t, str(v)))
    return out


def run_import(db, *args, source=FIXTURE):
    return subprocess.run([os.path.join(BUILD, "evodash"), "import-fmd", source, "--into",
                           storedb.database_url(db)] + list(args), capture_output=True, text=True)


def check_counts(db, factor=1):
    n_req = fmd("SELECT count(*) FROM Request")[0][0]
    check(store(db, "SELECT count(*) FROM requests")[0][0] == factor * n_req,
          "requests: %d x FMD's %d" % (factor, n_req))
    check(store(db, "SELECT sum(count) FROM rollups")[0][0] == factor * n_req,
          "the rollups count every request")
    ep = dict(fmd("SELECT name, count(r.id) FROM Endpoint e LEFT JOIN Request r ON r.endpoint_id = "
                  "e.id GROUP BY name"))
    got = dict(store(db, "SELECT e.name, count(r.id) FROM endpoints e LEFT JOIN requests r ON "
                         "r.endpoint_id = e.id GROUP BY e.name"))
    check(got == {k: factor * v for k, v in ep.items()},
          "requests per endpoint: %r against FMD's %r" % (got, ep))
    levels = dict(fmd("SELECT name, monitor_level FROM Endpoint"))
    check(dict(store(db, "SELECT name, level FROM endpoints")) == levels,
          "endpoint levels as in FMD")
    ver = dict(fmd("SELECT version_requested, count(*) FROM Request GROUP BY 1"))
    got = dict(store(db, "SELECT v.name, count(*) FROM requests r JOIN versions v ON v.id = "
                         "r.version_id GROUP BY v.name"))
    check(len(ver) >= 3 and got == {k: factor * v for k, v in ver.items()},
          "requests per version: %r against FMD's %r" % (got, ver))
    grp = dict(fmd("SELECT group_by, count(*) FROM Request WHERE group_by != 'None' GROUP BY 1"))
    got = dict(store(db, "SELECT group_name, count(*) FROM requests WHERE group_name IS NOT NULL "
                         "GROUP BY 1"))
    check(len(grp) >= 2 and got == {k: factor * v for k, v in grp.items()},
          "groups (FMD's 'None' is none): %r against %r" % (got, grp))
    st = dict(fmd("SELECT status_code, count(*) FROM Request GROUP BY 1"))
    got = dict(store(db, "SELECT status, count(*) FROM requests GROUP BY 1"))
    check(got == {k: factor * v for k, v in st.items()}, "status codes: %r" % got)
    dur = fmd("SELECT sum(duration) FROM Request")[0][0] * 1000
    got = float(store(db, "SELECT sum(duration_us) FROM requests")[0][0])
    check(abs(got - factor * dur) <= factor * n_req, "durations in microseconds")
    n_out = fmd("SELECT count(*) FROM Outlier")[0][0]
    check(store(db, "SELECT count(*) FROM outliers")[0][0] == factor * n_out, "outliers")
    n_lines = fmd("SELECT count(*) FROM StackLine")[0][0]
    check(store(db, "SELECT count(*) FROM profiler_samples")[0][0] == factor * n_lines,
          "profiler lines")


def check_stacks(db):
    fmd_stacks = [r[0] for r in fmd("SELECT stacktrace FROM Outlier WHERE stacktrace != '' "
                                    "ORDER BY id")]
    check(len(fmd_stacks) >= 3 and all('File: "' in s and "<br />" in s for s in fmd_stacks),
          "the fixture holds FMD's own stack format")
    stacks = [r[0] for r in store(db, "SELECT stack FROM outliers WHERE stack IS NOT NULL")]
    check(len(stacks) == len(fmd_stacks), "every FMD stack imported: %d of %d"
          % (len(stacks), len(fmd_stacks)))
    for s, f in zip(sorted(stacks), sorted(fmd_stacks)):
        frames = [line.split("\t") for line in s.splitlines()]
        check(len(frames) == f.count("<br />") + 1, "one frame per FMD line: %r" % s)
        check(len(frames) >= 2 and all(len(x) == 3 and x[1] and x[2].isdigit() for x in frames),
              "frames with function, file and line: %r" % s)


def check_no_secret(db):
    leaks = [(t, v[:80]) for t, v in all_text(db) if any(s in v for s in SECRETS)]
    check(not leaks, "no secret in clear in the store: %r" % leaks[:3])
    fmd_leaks = [r for r in fmd("SELECT request_header || request_environment || "
                                "CAST(request_url AS TEXT) FROM Outlier")
                 if all(s in r[0] for s in SECRETS)]
    check(fmd_leaks, "the fixture does hold the secrets in clear")


def check_api(tmp, db):
    cfg = ("[dashboard]\nDATABASE=%s\nUSERNAME=%s\nPASSWORD=%s\nTIMEZONE=UTC\n"
           % (storedb.database_url(db), ADMIN[0], ADMIN[1]))
    proc, port, log = start_serve(tmp, "serve", cfg)
    assert port, "serve did not start: " + log
    try:
        cl = Client(port)
        st, _, _ = cl.login(*ADMIN)
        check(st == 200, "login")
        ep = store(db, "SELECT id FROM endpoints WHERE name = 'slow'")[0][0]
        st, doc, _ = cl.get("/api/endpoints/%d/outliers?from=0&to=4102444800&per_page=100"
                            "&sort=duration" % ep)
        check(st == 200 and doc["total"] >= 3, "the imported outliers are listed: %r" % (doc,))
        shown = 0
        for item in doc["items"]:
            st, o, _ = cl.get("/api/outliers/%d" % item["id"])
            check(st == 200, "outlier %d" % item["id"])
            if not o["stack"]:
                continue
            shown += 1
            names = [f["function"] for f in o["stack"]]
            check(names == ["slow", "render", "lookup", "sleep_ms"],
                  "the outlier's frames, outermost first: %r" % names)
            check(all(f["file"] == "/srv/shop/app.py" and f["line"] > 0 for f in o["stack"]),
                  "frames with file and line: %r" % o["stack"])
            check("password=***" in o["url"] and "hunter2" not in o["url"],
                  "the URL masked: %s" % o["url"])
            check(o["headers"].get("Authorization") == "***" and
                  o["headers"].get("Cookie") == "***", "secret headers masked")
            check(o["values"].get("password") == "***" and o["values"].get("q") == "shoes",
                  "the query's values, masked: %r" % o["values"])
            check(o["environ"].get("HTTP_COOKIE") == "***" and
                  o["environ"].get("werkzeug.request") == "<Request>",
                  "the environ as live capture shows it")
            check(o["memory"].get("total_bytes", 0) > 0 and len(o["cpu_per_core"]) >= 1,
                  "memory and CPU from psutil's text")
        check(shown >= 3, "outliers with frames shown: %d" % shown)
    finally:
        proc.terminate()
        check(proc.wait(10) == 0, "serve exits 0 on SIGTERM")


def main():
    tmp = tempfile.mkdtemp(prefix="evd-fmd-")
    db = storedb.fresh_pg_db("evd_fmd") if PG else os.path.join(tmp, "evodash.db")
    try:
        r = run_import(db, "--service", "shop")
        check(r.returncode == 0, "import: %s" % r.stderr)
        n_req = fmd("SELECT count(*) FROM Request")[0][0]
        check(("%d requests" % n_req) in r.stdout, "the import says what it brought: " + r.stdout)
        check_counts(db)
        check_stacks(db)
        check_no_secret(db)
        check_api(tmp, db)

        # the same database again, under its name and under another: refused
        before = snapshot(db)
        r = run_import(db, "--service", "shop")
        check(r.returncode == 3 and "imported into" in r.stderr and "--force" in r.stderr,
              "a second import is refused (3): %d %s" % (r.returncode, r.stderr))
        check(snapshot(db) == before, "a refused import changes nothing")
        copy = os.path.join(tmp, "fmd-copy.db")
        shutil.copy(FIXTURE, copy)
        r = run_import(db, "--service", "other", source=copy)
        check(r.returncode == 3, "a copy of the database is the same database: " + r.stderr)
        check(snapshot(db) == before, "nor does a refused copy (no service 'other' either)")

        # forced: imported once more
        r = run_import(db, "--service", "shop", "--force")
        check(r.returncode == 0, "--force imports again: " + r.stderr)
        check_counts(db, factor=2)
        check(store(db, "SELECT count(*), max(attempt) FROM imports")[0] == (2, 2),
              "the store remembers both imports")
        check_no_secret(db)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("fmd import_test (%s)" % ("PostgreSQL" if PG else "SQLite"))


if __name__ == "__main__":
    main()
