"""Real servers over real HTTP: gunicorn (3 sync or gthread workers, with
max_requests recycling and SIGTERM) and Werkzeug's threaded dev server."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.serving import make_server

from conftest import new_app, rows, wait_for

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(port, method, path):
    # up to 30 s: under a loaded CI machine, gunicorn recycling all of its
    # workers at once (--max-requests) has left nobody accepting for 5 s
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request(method, path, body=b"" if method == "POST" else None)
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, body
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.1)
    raise RuntimeError("server not answering")


class Gunicorn:
    def __init__(self, tmp_path, worker, extra=()):
        self.port = free_port()
        self.db = str(tmp_path / "evodash.db")
        env = dict(os.environ, EVODASH_DATABASE="sqlite:///" + self.db,
                   EVODASH_APP_VERSION="9.9", EVODASH_USERNAME="admin",
                   EVODASH_PASSWORD="pw-test-1")
        args = [sys.executable, "-m", "gunicorn", "-w", "3", "-k", worker, "-b",
                "127.0.0.1:%d" % self.port, "--chdir", APPS, "--graceful-timeout", "20",
                *extra, "gapp:app"]
        if worker == "gthread":
            args[args.index("gthread") + 1:args.index("gthread") + 1] = ["--threads", "4"]
        self.log = open(str(tmp_path / "gunicorn.log"), "w+")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        call(self.port, "GET", "/dashboard")  # up (the dashboard is not monitored)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def gunicorn(tmp_path):
    started = []

    def start(worker, extra=()):
        g = Gunicorn(tmp_path, worker, extra)
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()


def drive(port, plan, parallel=8):
    """Send plan [(method, path)] concurrently; returns the statuses."""
    with ThreadPoolExecutor(parallel) as ex:
        return list(ex.map(lambda mp: call(port, *mp), plan))


def stored(db):
    return rows(db, "SELECT e.name, r.status, count(*) FROM requests r JOIN endpoints e ON "
                    "e.id = r.endpoint_id GROUP BY 1, 2 ORDER BY 1, 2")


@pytest.mark.parametrize("worker,extra", [("sync", []), ("gthread", []),
                                          ("sync", ["--preload"])])
def test_gunicorn_every_request_one_row(gunicorn, worker, extra):
    g = gunicorn(worker, extra)
    plan = ([("GET", "/ok")] * 120 + [("POST", "/created")] * 40 + [("GET", "/missing")] * 25 +
            [("GET", "/boom")] * 15)
    answers = drive(g.port, plan)
    assert sorted(s for s, _ in answers) == sorted([200] * 120 + [201] * 40 + [404] * 25 +
                                                   [500] * 15)
    pids = {b for s, b in answers if s == 200}
    log = g.stop()  # SIGTERM to the master: nothing may be lost
    assert g.proc.returncode == 0, log
    assert stored(g.db) == [("boom", 500, 15), ("created", 201, 40), ("missing", 404, 25),
                            ("ok", 200, 120)], log
    # every worker recorded, each as its own instance
    n_inst = rows(g.db, "SELECT count(DISTINCT instance_id) FROM requests")[0][0]
    assert 2 <= len(pids) <= n_inst <= 3  # /ok alone may not reach all 3
    assert rows(g.db, "SELECT DISTINCT v.name FROM requests r JOIN versions v ON "
                      "v.id = r.version_id") == [("9.9",)]


def test_gunicorn_max_requests_recycling_loses_nothing(gunicorn):
    g = gunicorn("sync", ["--max-requests", "20"])
    answers = drive(g.port, [("GET", "/ok")] * 240)
    assert all(s == 200 for s, _ in answers)
    pids = {b for _, b in answers}
    log = g.stop()
    assert len(pids) > 3, "workers were not recycled"
    assert stored(g.db) == [("ok", 200, 240)], log


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_level_change_reaches_every_worker(gunicorn, worker):
    g = gunicorn(worker)
    before = drive(g.port, [("GET", "/ok")] * 60)
    assert all(s == 200 for s, _ in before)
    # through the dashboard mounted in the app, as an administrator would
    db = sqlite3.connect(g.db, timeout=10)
    assert wait_for(lambda: db.execute("SELECT count(*) FROM endpoints WHERE name='ok'")
                    .fetchone()[0] == 1)
    (ep_id,) = db.execute("SELECT id FROM endpoints WHERE name='ok'").fetchone()
    c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=30)
    c.request("POST", "/dashboard/login", body=json.dumps(
        {"username": "admin", "password": "pw-test-1"}),
        headers={"Content-Type": "application/json"})
    r = c.getresponse()
    login = json.loads(r.read())
    assert r.status == 200, login
    cookie = r.getheader("Set-Cookie").split(";")[0]
    c.close()
    c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=30)
    c.request("POST", "/dashboard/api/rules/%d/level" % ep_id, body=json.dumps({"level": 0}),
              headers={"Content-Type": "application/json", "Cookie": cookie,
                       "X-CSRF-Token": login["csrf_token"]})
    r = c.getresponse()
    assert r.status == 200, r.read()
    c.close()
    assert db.execute("SELECT level FROM endpoints WHERE id = ?", (ep_id,)).fetchone() == (0,)
    db.close()
    time.sleep(4.0)  # a level change must reach every worker within 5 s
    after = drive(g.port, [("GET", "/ok")] * 90)
    assert all(s == 200 for s, _ in after)
    pids_after = {b for _, b in after}
    log = g.stop()
    assert len(pids_after) == 3, "not every worker answered after the change"
    assert stored(g.db) == [("ok", 200, 60)], log


def test_werkzeug_threaded_dev_server(bound, store_path):
    app = new_app()
    app.testing = False

    @app.route("/w/<int:n>")
    def work(n):
        time.sleep(0.002)
        return str(n), 200 if n % 5 else 404

    b = bound(app)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        answers = drive(srv.server_port, [("GET", "/w/%d" % i) for i in range(150)], 12)
    finally:
        srv.shutdown()
        t.join(10)
    assert sorted(s for s, _ in answers) == sorted(200 if i % 5 else 404 for i in range(150))
    b.flush(5000)
    assert stored(store_path) == [("work", 200, 120), ("work", 404, 30)]


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_sigterm_during_traffic_loses_nothing(gunicorn, worker):
    """Requests still arriving when the master gets SIGTERM: every request
    that got an answer is stored, exactly once."""
    g = gunicorn(worker)
    answered = []
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=10)
                c.request("GET", "/ok")
                r = c.getresponse()
                r.read()
                c.close()
            except OSError:
                if g.proc.poll() is not None:
                    return
                continue
            with lock:
                answered.append(r.status)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    g.proc.send_signal(signal.SIGTERM)
    g.proc.wait(60)
    stop.set()
    for t in threads:
        t.join(30)
    log = g.stop()
    assert len(answered) > 50 and set(answered) == {200}
    assert stored(g.db) == [("ok", 200, len(answered))], log
