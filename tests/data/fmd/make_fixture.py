#!/usr/bin/python3
"""Write a small Flask-MonitoringDashboard database with FMD's own code.

usage: FMD_SRC=/path/to/Flask-MonitoringDashboard make_fixture.py OUT.db

FMD_SRC is a checkout of https://github.com/flask-dashboard/Flask-MonitoringDashboard
(nothing of it is copied here).  Only its Python packages are imported;
they need Debian's python3-flask, python3-sqlalchemy, python3-psutil,
python3-tzlocal and python3-apscheduler.  See README.md for the run that
made fmd.db.

A Flask app with six endpoints is bound to FMD (bind(app, schedule=False,
include_dashboard=False)) and driven with Flask's test client, once per
version, each version in a process of its own (FMD reads its version when
its database module is imported):

  setup   creates the endpoints and sets their monitor levels with FMD's
          update_endpoint (as its dashboard does)
  1.0, 1.1, 2.0
          the same traffic, `slow` slower in 2.0; every request carries a
          session cookie, and those to `slow` ?password=hunter2 and an
          Authorization header, so that FMD's outliers hold secrets in
          their URL, headers and environment

FMD stamps every row with the wall clock and a run takes seconds, so the
script then spreads each version's requests over about a day (in id order)
and moves the versions a week apart: 1.0 ends 14 days, 1.1 7 days before
2.0.  Nothing else is changed after FMD wrote it.
"""
import datetime
import os
import random
import sqlite3
import subprocess
import sys
import time

PHASES = ["setup", "1.0", "1.1", "2.0"]
LEVELS = {"index": 1, "slow": 2, "report": 3, "api.users": 2, "fail": 1, "health": 0}
SHIFT_DAYS = {"1.0": -14, "1.1": -7, "2.0": 0}
SPREAD_MIN = 17  # minutes between two requests of one version, after spreading
FMT = "%Y-%m-%d %H:%M:%S.%f"
SECRET_QS = "password=hunter2&q=shoes"
HEADERS = {"Authorization": "Bearer tok-s3cr3t-abc"}
COOKIE = ("session", "sess-c00kie-xyz")


# The app, compiled under a path of its own (its lines registered with
# linecache, where traceback.extract_stack finds them), so that the stacks
# FMD records name no folder of the machine that ran this.
APP_FILE = "/srv/shop/app.py"
APP_SRC = '''import time

from flask import Blueprint, Flask, abort, request

app = Flask("shop")
app.secret_key = "fixture-only"


def sleep_ms(ms):
    time.sleep(ms / 1000.0)


def lookup(ms):
    sleep_ms(ms)
    return "found"


def render(ms):
    return lookup(ms) + " " + request.args.get("q", "")


@app.route("/")
def index():
    return "hello"


@app.route("/slow")
def slow():
    return render(float(request.args.get("ms", "5")))


@app.route("/report")
def report():
    total = 0
    for _ in range(3):
        total += len(lookup(20))
    return str(total)


@app.route("/fail")
def fail():
    raise RuntimeError("boom")


@app.route("/health")
def health():
    return "ok"


bp = Blueprint("api", "shop_api")


@bp.route("/api/users/<int:uid>")
def users(uid):
    if uid == 404:
        abort(404)
    return {"id": uid}


app.register_blueprint(bp)
'''


def make_app():
    import linecache

    linecache.cache[APP_FILE] = (len(APP_SRC), None, APP_SRC.splitlines(True), APP_FILE)
    ns = {"__name__": "shop"}
    exec(compile(APP_SRC, APP_FILE, "exec"), ns)
    return ns["app"]


def set_cookie(client, name, value):
    import inspect

    if "server_name" in inspect.signature(client.set_cookie).parameters:
        client.set_cookie("localhost", name, value)  # Werkzeug < 2.3 (Debian 12)
    else:
        client.set_cookie(name, value)


def run_phase(phase, out):
    import flask
    import flask_monitoringdashboard as dashboard

    dashboard.config.database_name = "sqlite:///" + out
    dashboard.config.version = "1.0" if phase == "setup" else phase
    dashboard.config.outlier_detection_constant = 2.5
    dashboard.config.group_by = lambda: flask.request.args.get("user")
    app = make_app()
    dashboard.bind(app, schedule=False, include_dashboard=False)
    if phase == "setup":
        from flask_monitoringdashboard.database import session_scope
        from flask_monitoringdashboard.database.endpoint import update_endpoint

        with session_scope() as session:
            for name, level in LEVELS.items():
                update_endpoint(session, name, level)
        return
    rnd = random.Random(PHASES.index(phase))
    users = ["alice", "bob", None]
    client = app.test_client()
    set_cookie(client, *COOKIE)

    def get(path, ip, **kw):
        client.get(path, environ_base={"REMOTE_ADDR": ip}, **kw)
        time.sleep(0.02)  # FMD writes from threads; keep them in order

    for i in range(60):
        u = users[i % 3]
        ip = "10.0.0.%d" % (1 + i % 5)
        get("/" + ("?user=" + u if u else ""), ip)
        if i % 3 == 0:
            slow_ms = 8 if phase != "2.0" else 12
            ms = slow_ms if rnd.random() > 0.25 else rnd.choice([150, 220, 300])
            get("/slow?%s&ms=%d%s" % (SECRET_QS, ms, "&user=" + u if u else ""), ip,
                headers=HEADERS)
        if i % 6 == 0:
            get("/api/users/%d" % (404 if i % 24 == 0 else i), ip)
        if i % 15 == 0:
            get("/report?user=carol", ip)
        if i % 20 == 0:
            get("/fail", ip)
            get("/health", ip)
    # FMD's request threads are not daemons: the process ends after them


def spread(out):
    db = sqlite3.connect(out)
    base = None
    for phase in PHASES[1:]:
        rows = db.execute("SELECT id, time_requested FROM Request WHERE version_requested = ? "
                          "ORDER BY id", (phase,)).fetchall()
        last = datetime.datetime.strptime(rows[-1][1], FMT)
        if base is None:
            base = last
        for k, (rid, _) in enumerate(rows):
            t = last + datetime.timedelta(days=SHIFT_DAYS[phase],
                                          minutes=-SPREAD_MIN * (len(rows) - 1 - k))
            db.execute("UPDATE Request SET time_requested = ? WHERE id = ?",
                       (t.strftime(FMT), rid))
    # endpoints were added before the first request of 1.0
    first = db.execute("SELECT min(time_requested) FROM Request").fetchone()[0]
    added = datetime.datetime.strptime(first, FMT) - datetime.timedelta(hours=1)
    db.execute("UPDATE Endpoint SET time_added = ?", (added.strftime(FMT),))
    db.execute("UPDATE Endpoint SET last_requested = (SELECT max(time_requested) FROM Request r "
               "WHERE r.endpoint_id = Endpoint.id) WHERE id IN (SELECT endpoint_id FROM Request)")
    db.commit()
    db.execute("VACUUM")
    db.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1].startswith("--phase="):
        run_phase(sys.argv[1][len("--phase="):], sys.argv[2])
        return 0
    if len(sys.argv) != 2 or not os.environ.get("FMD_SRC"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out = os.path.abspath(sys.argv[1])
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(os.environ["FMD_SRC"]))
    for phase in PHASES:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--phase=" + phase, out],
                       env=env, check=True)
    spread(out)
    db = sqlite3.connect(out)
    for t in ("Endpoint", "Request", "Outlier", "StackLine", "CodeLine"):
        print("%s: %d rows" % (t, db.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0]))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
