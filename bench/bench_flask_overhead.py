"""bench-flask_overhead: the time evodash adds to a Flask request.

Two apps (hello world, and one whose endpoint takes ~1 ms) are called
in-process through their WSGI interface under five configurations: no
evodash, level 1, level 2 with no outliers, level 2 with every request past
its deadline, and level 3.  The machine is shared and noisy, so the
configurations are interleaved in rounds and each round's cost is taken
against the same round's no-evodash baseline; the figure is the median over
rounds.  Then gunicorn (2 sync workers) is driven by wrk with and without
evodash at level 1, alternating, and the median throughput ratio is shown.

The last line is the headline: `flask_level1_added: N us`.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import flask

import evodash

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))


def hello_app():
    app = flask.Flask("hello")

    @app.route("/")
    def hello():
        return "Hello, World!"

    return app


def ms_app():
    app = flask.Flask("one_ms")

    @app.route("/")
    def one_ms():
        end = time.perf_counter() + 0.001
        while time.perf_counter() < end:
            pass
        return "done"

    return app


def bind(app, tmp, name, level, constant):
    evodash.config.__init__()
    evodash.config.database_name = "sqlite:///%s/%s.db" % (tmp, name)
    evodash.config.username = "admin"
    evodash.config.password = "bench-pw"
    evodash.config.monitor_level = level
    evodash.config.outlier_detection_constant = constant
    return evodash.bind(app)


ENVIRON = {
    "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "",
    "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost", "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
    "wsgi.multiprocess": False, "wsgi.run_once": False,
}


def start_response(status, headers, exc_info=None):
    return None


def per_request_us(app, n):
    import io
    t0 = time.perf_counter_ns()
    for _ in range(n):
        env = dict(ENVIRON)
        env["wsgi.input"] = io.BytesIO()
        it = app(env, start_response)
        for _chunk in it:
            pass
        if hasattr(it, "close"):
            it.close()
    return (time.perf_counter_ns() - t0) / n / 1000.0


CONFIGS = [
    ("no evodash", None, None),
    ("level 1", 1, 2.5),
    ("level 2, no outliers", 2, 1e6),
    ("level 2, every request an outlier", 2, 0.001),
    ("level 3", 3, 2.5),
]


def measure(make_app, label, n, tmp):
    apps, bindings = [], []
    for i, (name, level, constant) in enumerate(CONFIGS):
        app = make_app()
        if level is not None:
            bindings.append(bind(app, tmp, "%s_%d" % (label.split()[0], i), level, constant))
        apps.append(app)
    for app in apps:  # warm up (and give level 2 its running mean)
        per_request_us(app, max(20, n // 10))
    cost = [[] for _ in CONFIGS]
    for _ in range(ROUNDS):
        for i, app in enumerate(apps):
            cost[i].append(per_request_us(app, n))
    added = [statistics.median(c - b for c, b in zip(cost[i], cost[0]))
             for i in range(len(CONFIGS))]
    print("%s, in-process WSGI (median of %d rounds x %d requests)" % (label, ROUNDS, n))
    print("  %-36s %8.1f us/request" % (CONFIGS[0][0], statistics.median(cost[0])))
    for i in range(1, len(CONFIGS)):
        print("  %-36s %+8.1f us/request" % (CONFIGS[i][0], added[i]))
    outliers = [b.counters()["outliers"] for b in bindings]
    print("  outliers captured per configuration: %s" % outliers)
    for b in bindings:
        b.close()
    evodash._bindings.clear()
    return added


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wrk_rps(off, tmp):
    port = free_port()
    env = dict(os.environ, EVODASH_DATABASE="sqlite:///%s/gunicorn.db" % tmp,
               EVODASH_USERNAME="admin", EVODASH_PASSWORD="bench-pw", EVODASH_MONITOR_LEVEL="1")
    if off:
        env["EVODASH_BENCH_OFF"] = "1"
    g = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b",
                          "127.0.0.1:%d" % port, "--chdir", HERE, "bench_flask_app:app"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(["wrk", "-t1", "-c8", "-d1s", "http://127.0.0.1:%d/" % port],
                       capture_output=True)
        out = subprocess.run(["wrk", "-t1", "-c8", "-d4s", "http://127.0.0.1:%d/" % port],
                             capture_output=True, text=True).stdout
        m = re.search(r"Requests/sec:\s*([\d.]+)", out)
        return float(m.group(1)) if m else 0.0
    finally:
        g.terminate()
        g.wait(30)


def main():
    tmp = tempfile.mkdtemp(prefix="bench_flask_")
    try:
        hello = measure(hello_app, "hello world", 2000, tmp)
        measure(ms_app, "1 ms endpoint", 150, tmp)
        if shutil.which("wrk"):
            ratios = []
            for _ in range(3):
                base = wrk_rps(True, tmp)
                with_evd = wrk_rps(False, tmp)
                if base > 0:
                    ratios.append(with_evd / base)
            if ratios:
                print("gunicorn (2 sync workers) + wrk, level 1 / no evodash throughput: "
                      "%.3f (median of %d, runs %s)"
                      % (statistics.median(ratios), len(ratios),
                         ", ".join("%.3f" % r for r in ratios)))
        else:
            print("gunicorn + wrk: skipped (wrk is not installed)")
        print("flask_level1_added: %.2f us" % hello[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
