#!/usr/bin/env python3
"""fault_test.py BUILD_DIR — nothing lost unseen when the store fails.

Each case runs the example C service (examples/c_service) or `evodash
serve` against a SQLite store that goes wrong under it, counts the requests
sent, the requests stored and the drops the service's own dashboard shows
(/dashboard/metrics and /api/counters, which carry the process's live
counters), and checks stored + shown drops = sent:

1. the store's folder is deleted under the running service (rm -rf), then
   made again: the service serves throughout, what it could not keep is
   counted and shown, and it records into the new store once it can;
2. the store is read-only (left by another user, with a -wal file beside
   it), then writable again: the same, and the example keeps serving;
3. the disk is full (a 16 MB tmpfs, filled and freed twice; skipped with a
   message where this machine does not allow mounting);
4. the store is damaged (garbage in the middle, or in its last page): the
   service and `evodash serve` refuse it with a clear message, write
   nothing to it, and leave no -wal or -shm file beside it;
5. FLUSH_INTERVAL_MS bounds what a kill -9 can take: requests older than it
   are in the store without any flush;
6. the default interval is the one docs/config.md documents (the kill -9
   bound it states): after an idle spell, a burst of requests sent at a
   random phase of the writer's wait is stored within about that interval,
   every time, and a kill -9 afterwards loses nothing.
"""
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
ADMIN = ("faults", "fault-admin-pw")
TOKEN = "fault-token-0123456789"
ROOT = os.geteuid() == 0
NOBODY = 65534



def as_nobody():
    """Run a child as an unprivileged user: root ignores file permissions."""
    if ROOT:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


class Service:
    """examples/c_service on store db (a path), config in dir."""

    def __init__(self, d, db, extra="", unprivileged=False):
        self.cfg = os.path.join(d, "svc.cfg")
        with open(self.cfg, "w") as f:
            f.write("[dashboard]\nDATABASE=sqlite:///%s\nSERVICE_NAME=shop\nAPP_VERSION=1.0\n"
                    "RING_CAPACITY=4096\nSECURITY_TOKEN=%s\n%s[authentication]\nUSERNAME=%s\n"
                    "PASSWORD=%s\n" % (db, TOKEN, extra, ADMIN[0], ADMIN[1]))
        self.errpath = os.path.join(d, "svc.err")
        self.errf = open(self.errpath, "w+")
        self.proc = subprocess.Popen([os.path.join(BUILD, "examples/c_service"), self.cfg, "0"],
                                     stderr=self.errf,
                                     preexec_fn=as_nobody if unprivileged else None)
        self.port = None
        for _ in range(400):
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            raise SystemExit("c_service did not start: " + self.log())
        self.cookie = None

    def log(self):
        self.errf.seek(0)
        return self.errf.read()

    def get(self, path, cookie=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path, headers={"Cookie": cookie} if cookie else
                  {"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def hammer(self, n):
        """n requests; how many were answered 200."""
        ok = 0
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        for _ in range(n):
            c.request("GET", "/hello")
            r = c.getresponse()
            r.read()
            ok += r.status == 200
        c.close()
        return ok

    def login(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", "/dashboard/login", body="username=%s&password=%s" % ADMIN,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        m = re.match(r"(evd_session=[0-9a-f]+)", r.getheader("Set-Cookie") or "")
        c.close()
        self.cookie = m.group(1) if m else None
        return self.cookie

    def shown(self):
        """(recorded, written, dropped) of this process, as its dashboard shows them."""
        st, data = self.get("/dashboard/api/counters", self.cookie)
        if st != 200:
            return None
        mine = [i for i in json.loads(data)["items"] if i.get("pid") == self.proc.pid]
        if not mine:
            return None
        return mine[0]["recorded"], mine[0]["written"], mine[0]["dropped"]

    def metrics_dropped(self):
        """The drops /metrics shows, read with the bearer token as a scraper does."""
        st, data = self.get("/dashboard/metrics")
        if st != 200:
            return None
        return sum(int(m) for m in re.findall(rb'evodash_dropped_records_total\{[^}]*\} (\d+)',
                                              data))

    def settle_metrics(self, dropped, timeout=60):
        """Wait until /metrics shows this many drops."""
        t0 = time.monotonic()
        m = None
        while time.monotonic() - t0 < timeout:
            m = self.metrics_dropped()
            if m == dropped:
                break
            time.sleep(0.3)
        return m

    def settle(self, sent, timeout=60):
        """Wait until every record sent is written or counted dropped."""
        t0 = time.monotonic()
        s = None
        while time.monotonic() - t0 < timeout:
            s = self.shown()
            if s and s[0] == sent and s[1] + s[2] == sent:
                return s
            time.sleep(0.3)
        return s

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            check(False, "the service stops on SIGTERM")


def stored(db):
    if not os.path.exists(db):
        return 0
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    con.close()
    return n


def deleted_folder(tmp):
    d = os.path.join(tmp, "deleted")
    store_dir = os.path.join(d, "store")
    os.makedirs(store_dir)
    db = os.path.join(store_dir, "svc.db")
    svc = Service(d, db)
    try:
        check(svc.login(), "deleted: dashboard login")
        a = svc.hammer(200)
        svc.settle(a)
        before = stored(db)
        shutil.rmtree(store_dir)
        b = svc.hammer(500)
        check(b == 500, "deleted: the service answers every request (%d of 500)" % b)
        s = svc.settle(a + b)
        check(s is not None and s[2] == 500 and s[1] == a,
              "deleted: the 500 that could not be kept are counted: %r" % (s,))
        m = svc.metrics_dropped()
        check(m == 500, "deleted: /metrics shows them (%r)" % m)
        # the folder is back: the writer makes a new store and records there
        os.makedirs(store_dir)
        c = 0
        for _ in range(100):
            c += svc.hammer(5)
            time.sleep(0.05)
        s = svc.settle(a + b + c)
        check(s is not None and s[1] == a + c and s[2] == 500,
              "deleted: once the folder is back, new requests are stored: %r" % (s,))
    finally:
        svc.stop()
    check(before == a and stored(db) == c,
          "deleted: the first store held %d of %d, the new one holds %d of %d"
          % (before, a, stored(db), c))
    con = sqlite3.connect(db)
    row = con.execute("SELECT recorded, written, dropped FROM instances").fetchone()
    con.close()
    check(row == (a + b + c, a + c, 500), "deleted: the new store's counters say it all: %r"
          % (row,))


def read_only(tmp):
    d = os.path.join(tmp, "ro")
    os.makedirs(d)
    db = os.path.join(d, "svc.db")
    # a store written once, with a -wal file left beside it
    subprocess.run([os.path.join(BUILD, "tests/integration/fill"), db, str(int(time.time())),
                    "100", "2", "1", "5", "1", "3"], check=True, stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS keep_wal(x)")
    base = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    # the connection stays open so the -wal file stays
    if ROOT:  # the service runs as nobody: its files are nobody's
        os.chown(d, NOBODY, NOBODY)
        for f in os.listdir(d):
            os.chown(os.path.join(d, f), NOBODY, NOBODY)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o444)
    check(os.path.exists(db + "-wal"), "read-only: a -wal file is left beside the store")
    svc = Service(d, db, unprivileged=True)
    try:
        check("read-only" in svc.log() or svc.proc.poll() is None,
              "read-only: the service starts and says why it cannot write: "
              + svc.log().strip()[-200:])
        a = svc.hammer(300)
        check(a == 300, "read-only: the example keeps serving (%d of 300)" % a)
        # no session can be written: a scraper with the token still sees
        # what could not be kept
        m = svc.settle_metrics(300)
        check(m == 300, "read-only: /metrics shows the 300 drops (%r)" % m)
        con.close()
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
        time.sleep(3)  # the writer and the dashboard try again every 2 s
        b = svc.hammer(200)
        check(svc.login(), "read-only: with write permission back, the dashboard logs in")
        s = svc.settle(a + b)
        check(s is not None and s[1] == b and s[2] == 300,
              "read-only: with write permission back, new requests are stored: %r" % (s,))
    finally:
        svc.stop()
    check(stored(db) == base + b, "read-only: the store holds the %d written after (%d)"
          % (b, stored(db) - base))


def disk_full(tmp):
    mnt = os.path.join(tmp, "full")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode:
        print("fault_test: SKIP disk full: cannot mount a tmpfs here (%s)"
              % (r.stderr.strip() or "not root"), file=sys.stderr)
        return
    try:
        db = os.path.join(mnt, "svc.db")
        svc = Service(tmp, db)
        sent = 0
        try:
            svc.login()
            sent += svc.hammer(100)
            svc.settle(sent)
            for rnd in range(2):  # filled and freed twice
                filler = os.path.join(mnt, "filler")
                with open(filler, "wb") as f:
                    try:
                        while True:
                            f.write(b"\0" * (1 << 20))
                            f.flush()
                    except OSError:
                        pass
                n = svc.hammer(2000)
                sent += n
                s = svc.settle(sent)
                shown = s[2] if s else None
                m = svc.metrics_dropped()
                check(s is not None and m == shown and shown > 0,
                      "disk full (round %d): the drops are shown live: %r, /metrics %r"
                      % (rnd + 1, s, m))
                os.unlink(filler)
                time.sleep(1.5)
                sent += svc.hammer(100)
                s = svc.settle(sent)
            check(s is not None and s[0] == sent and s[1] + s[2] == sent,
                  "disk full: written + dropped = sent: %r of %d" % (s, sent))
        finally:
            svc.stop()
        con = sqlite3.connect(db)
        n = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        dr = con.execute("SELECT dropped FROM instances").fetchone()[0]
        con.close()
        check(n + dr == sent, "disk full: stored %d + dropped %d = sent %d" % (n, dr, sent))
    finally:
        subprocess.run(["umount", "-l", mnt])


def damaged(tmp):
    for where in ("middle", "last page"):
        d = os.path.join(tmp, "damaged-" + where.replace(" ", "-"))
        os.makedirs(d)
        db = os.path.join(d, "svc.db")
        subprocess.run([os.path.join(BUILD, "tests/integration/fill"), db, str(int(time.time())),
                        "20000", "4", "2", "20", "2", "5"], check=True, stdout=subprocess.DEVNULL)
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        for f in (db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.unlink(f)
        size = os.path.getsize(db)
        off = size // 2 if where == "middle" else size - 4096 + 100
        with open(db, "r+b") as f:
            f.seek(off)
            f.write(bytes((i * 37 + 11) & 0xFF for i in range(3000)))
        digest = hashlib.sha256(open(db, "rb").read()).hexdigest()
        p = subprocess.run([os.path.join(BUILD, "evodash"), "serve", "--db", db, "--listen",
                            "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
        check(p.returncode != 0 and "damaged" in p.stderr,
              "damaged (%s): serve refuses it: %s" % (where, p.stderr.strip()[-200:]))
        svc = Service(d, db)
        try:
            n = svc.hammer(50)
            check(n == 50, "damaged (%s): the service serves anyway" % where)
            check("damaged" in svc.log(), "damaged (%s): the service says why" % where)
        finally:
            svc.stop()
        check(hashlib.sha256(open(db, "rb").read()).hexdigest() == digest,
              "damaged (%s): the file is unchanged" % where)
        check(not os.path.exists(db + "-wal") and not os.path.exists(db + "-shm"),
              "damaged (%s): no -wal or -shm file beside it" % where)


def flush_interval(tmp):
    d = os.path.join(tmp, "flush")
    os.makedirs(d)
    db = os.path.join(d, "svc.db")
    svc = Service(d, db, extra="FLUSH_INTERVAL_MS=50\n")
    try:
        n = 0
        for _ in range(20):
            n += svc.hammer(3)
            time.sleep(0.02)
        time.sleep(0.5)  # ten intervals: a kill -9 now loses nothing
        svc.proc.kill()
        svc.proc.wait()
    finally:
        pass
    check(stored(db) == n, "FLUSH_INTERVAL_MS: %d of %d stored before the kill -9"
          % (stored(db), n))


def documented_interval():
    """FLUSH_INTERVAL_MS's default as docs/config.md states it, in ms."""
    doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "config.md")
    m = re.search(r"^\| `FLUSH_INTERVAL_MS` \| [^|]* \| `(\d+)` \|", open(doc).read(), re.M)
    return int(m.group(1)) if m else None


def default_interval(tmp):
    doc_ms = documented_interval()
    check(doc_ms is not None, "docs/config.md states FLUSH_INTERVAL_MS's default")
    if doc_ms is None:
        return
    d = os.path.join(tmp, "default_interval")
    os.makedirs(d)
    db = os.path.join(d, "svc.db")
    svc = Service(d, db)  # no FLUSH_INTERVAL_MS: the default
    # Twice the interval plus 50 ms for writing the batch and a loaded
    # machine.  A default ten times the documented one would be caught 99.9%
    # of the time in 6 bursts (each stored within the bound with p = 0.25).
    bound = 2 * doc_ms / 1000.0 + 0.05
    rnd = random.Random(16)
    n, worst = 0, 0.0
    try:
        for _ in range(6):
            time.sleep(3 * doc_ms / 1000.0 + rnd.random() * doc_ms / 1000.0)  # idle
            n += svc.hammer(3)
            t0 = time.monotonic()
            while stored(db) < n and time.monotonic() - t0 < 5 * bound + 1:
                time.sleep(0.005)
            worst = max(worst, time.monotonic() - t0)
        svc.proc.kill()
        svc.proc.wait()
    finally:
        svc.errf.close()
    check(worst <= bound, "default FLUSH_INTERVAL_MS (%d ms documented): bursts stored within "
          "%.0f ms of being answered (worst %.0f ms)" % (doc_ms, bound * 1000, worst * 1000))
    check(stored(db) == n, "default FLUSH_INTERVAL_MS: %d of %d stored before the kill -9"
          % (stored(db), n))


def main():
    tmp = tempfile.mkdtemp(prefix="evd-faults-")
    os.chmod(tmp, 0o755)
    try:
        for case in (deleted_folder, read_only, disk_full, damaged, flush_interval,
                     default_interval):
            try:
                case(tmp)
            except Exception as e:  # a crashed case is a failure, not a stop
                check(False, "%s: %r" % (case.__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("fault_test")


if __name__ == "__main__":
    main()
