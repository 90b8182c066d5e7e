#!/usr/bin/env python3
"""outage_test.py BUILD_DIR — losing the database is normal operation.

Run under tests/pg/with_pg.sh.  The example C service (examples/c_service)
records into a PostgreSQL database while two clients keep it busy.  After
5 s the server is stopped (pg_ctl stop -m fast) for OUTAGE_S seconds (30)
and started again; the load goes on throughout and for 10 s after.  Then:

- every request was answered 200, none slowly (the request path never
  waits for the database);
- stored requests + counted drops = requests sent, exactly (the writer kept
  what its ring could hold, reconnected, and counted the rest);
- the drops are shown: the service's own dashboard (/api/counters,
  /metrics) and `evodash serve` on the same database report them.

Also the bad-input cases of a service that starts without its database: a
wrong password and an unreachable host are clear errors (without the
password) and the service serves anyway.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402
import storedb  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
OUTAGE_S = float(os.environ.get("OUTAGE_S", "30"))
ADMIN = ("ops", "outage-admin-pw")



def pg_ctl(*args):
    run = os.environ.get("EVODASH_TEST_PG_RUN", "").split()
    cmd = run + [os.path.join(os.environ["EVODASH_TEST_PG_BIN"], "pg_ctl"),
                 "-D", os.environ["EVODASH_TEST_PG_DATA"]] + list(args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_service(tmp, name, database, extra=""):
    cfg = os.path.join(tmp, name + ".cfg")
    with open(cfg, "w") as f:
        f.write("[dashboard]\nDATABASE=%s\nSERVICE_NAME=shop\nAPP_VERSION=2.0\n"
                "RING_CAPACITY=1024\n%s[authentication]\nUSERNAME=%s\nPASSWORD=%s\n"
                % (database, extra, ADMIN[0], ADMIN[1]))
    errf = open(os.path.join(tmp, name + ".err"), "w+")
    proc = subprocess.Popen([os.path.join(BUILD, "examples/c_service"), cfg, "0"], stderr=errf)
    for _ in range(400):
        errf.seek(0)
        log = errf.read()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log)
        if m:
            return proc, int(m.group(1)), errf
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    errf.seek(0)
    raise SystemExit("c_service did not start: " + errf.read())


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "the service stops on SIGTERM")


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/dashboard/login", body=json.dumps({"username": ADMIN[0],
                                                           "password": ADMIN[1]}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    cookie = re.match(r"(evd_session=[0-9a-f]+)", r.getheader("Set-Cookie") or "")
    c.close()
    return cookie.group(1) if cookie else None


def get(port, path, cookie):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/dashboard" + path, headers={"Cookie": cookie})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


class Load(threading.Thread):
    """One keep-alive client, about 150 requests a second."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.sent, self.bad, self.lat = port, False, 0, 0, []

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop:
            t0 = time.monotonic()
            try:
                c.request("GET", "/hello")
                r = c.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.lat.append((t0, time.monotonic() - t0))
            if ok:
                self.sent += 1
            else:
                self.bad += 1
            time.sleep(max(0.0, 1 / 150 - (time.monotonic() - t0)))
        c.close()


def outage(tmp):
    db = storedb.fresh_pg_db("evd_outage")
    proc, port, errf = start_service(tmp, "shop", db)
    try:
        load = [Load(port), Load(port)]
        for t in load:
            t.start()
        time.sleep(5)
        t0 = time.monotonic()
        pg_ctl("-m", "fast", "-w", "stop")
        print("outage_test: PostgreSQL stopped for %.0f s under load" % OUTAGE_S, file=sys.stderr)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t0)))
        # the log goes beside the cluster, which its owner may write
        pg_ctl("-o", os.environ["EVODASH_TEST_PG_OPTS"], "-l",
               os.path.join(os.path.dirname(os.environ["EVODASH_TEST_PG_DATA"]), "restart.log"),
               "-w", "start")
        time.sleep(10)
        for t in load:
            t.stop = True
        for t in load:
            t.join()
        sent = sum(t.sent for t in load)
        lat = sorted(x for t in load for _, x in t.lat)
        p99 = lat[int(len(lat) * 0.99)]
        print("outage_test: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
              % (sent, lat[len(lat) // 2] * 1e3, p99 * 1e3, lat[-1] * 1e3), file=sys.stderr)
        check(all(t.bad == 0 for t in load), "every request answered 200 (%d not)"
              % sum(t.bad for t in load))
        # Requests during the outage against those before it, in the same
        # run (a loaded machine slows both alike): a request that waited for
        # the database would take seconds (libpq's connect, the outage).
        before = sorted(x for t in load for s0, x in t.lat if s0 < t0)
        during = sorted(x for t in load for s0, x in t.lat if t0 <= s0 < t0 + OUTAGE_S)
        p99b, p99d = (v[int(len(v) * 0.99)] for v in (before, during))
        check(p99d <= 2 * p99b + 0.02 and during[-1] < 2.0,
              "no request waited for the database (p99 %.1f ms before the outage, %.1f ms "
              "during it, slowest %.1f ms)" % (p99b * 1e3, p99d * 1e3, during[-1] * 1e3))
        # the writer catches up and syncs its counters
        cookie = login(port)
        check(cookie is not None, "dashboard login after the outage")
        shown = None
        for _ in range(120):
            st, data = get(port, "/api/counters", cookie)
            if st == 200:
                tot = json.loads(data)["totals"]
                if tot["recorded"] + tot["dropped"] >= sent and tot["written"] == tot["recorded"]:
                    shown = tot
                    break
            time.sleep(0.5)
        check(shown is not None, "the counters catch up after the outage: %s" % (shown,))
        st, metrics = get(port, "/metrics", cookie)
        m = re.search(rb'evodash_dropped_records_total\{service="shop",instance="[^"]+"\} (\d+)',
                      metrics)
        check(st == 200 and m and shown and int(m.group(1)) == shown["dropped"],
              "/metrics shows the drops")
    finally:
        stop(proc)
    con = storedb.connect(db)
    stored = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    dropped = con.execute("SELECT coalesce(sum(dropped), 0) FROM endpoint_drops").fetchone()[0]
    inst = con.execute("SELECT dropped, written, recorded FROM instances").fetchone()
    con.close()
    print("outage_test: sent %d, stored %d, dropped %d" % (sent, stored, dropped), file=sys.stderr)
    check(stored + dropped == sent, "stored %d + dropped %d = sent %d" % (stored, dropped, sent))
    check(dropped > 0, "the ring overflowed during the outage (the drop path was exercised)")
    check(inst[0] == dropped and inst[1] == stored, "the instance's counters agree: %r" % (inst,))
    check(shown and shown["dropped"] == dropped, "the dashboard showed every drop")
    # a dashboard started afterwards shows them too
    serve = subprocess.Popen([os.path.join(BUILD, "evodash"), "serve", "--db", db, "--listen",
                              "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "serving" not in line:
            line = serve.stderr.readline()
            if not line:
                break
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/", line)
        check(m and os.environ["EVODASH_TEST_PG"].split(":")[2].split("@")[0] not in line,
              "serve names the store without its password")
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def bad_start(tmp):
    """A service whose database refuses it, or is not there, still serves."""
    base = os.environ["EVODASH_TEST_PG"]
    pw = base.split(":")[2].split("@")[0]
    storedb.fresh_pg_db("evd_badpw")
    cases = [("wrong password", base.replace(pw, "not-" + pw) + "/evd_badpw",
              "password authentication failed"),
             ("unreachable host", "postgresql://evodash:%s@127.0.0.1:1/x" % pw, "cannot connect")]
    for what, url, msg in cases:
        proc, port, errf = start_service(tmp, what.replace(" ", "_"), url)
        try:
            ok = all(http.client.HTTPConnection("127.0.0.1", port, timeout=5) and
                     _get_ok(port) for _ in range(20))
            check(ok, "%s: the service serves" % what)
        finally:
            stop(proc)
        errf.seek(0)
        log = errf.read()
        check(msg in log, "%s: a clear error (%r)" % (what, log.strip()[:200]))
        check(pw not in log, "%s: the password is not printed" % what)
        check("some records did not reach the store" in log,
              "%s: the service says records were lost" % what)


def _get_ok(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/hello")
    ok = c.getresponse().status == 200
    c.close()
    return ok


def main():
    tmp = tempfile.mkdtemp(prefix="evd-outage-")
    bad_start(tmp)
    outage(tmp)
    finish("outage_test")


if __name__ == "__main__":
    main()
