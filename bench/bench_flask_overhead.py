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
import gc
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "31"))


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
    order = list(range(len(apps)))
    gc.disable()  # collections would land on whichever configuration runs then
    try:
        for r in range(ROUNDS):
            for i in (order if r % 2 == 0 else order[::-1]):
                cost[i].append(per_request_us(apps[i], n))
            gc.collect()
    finally:
        gc.enable()
    added = [statistics.median(c - b for c, b in zip(cost[i], cost[0]))
             for i in range(len(CONFIGS))]
    print("%s, in-process WSGI (median of %d rounds x %d requests)" % (label, ROUNDS, n))
    print("  %-36s %8.1f us/request" % (CONFIGS[0][0], statistics.median(cost[0])))
    for i in range(1, len(CONFIGS)):
        print("  %-36s %+8.1f us/request" % (CONFIGS[i][0], added[i]))
    # The Wrapper alone, called directly: what evodash adds inside the view
    # call (the WSGI figures above also include the middleware, and the C
    # ensure_sync hook, which saves Flask's inspect call).
    name = [k for k in bindings[0].endpoints if k != "static"][0]
    w = apps[1].view_functions[name]
    if label.startswith("hello") and isinstance(w, evodash._evodash.Wrapper):
        direct = []
        for _ in range(7):
            t0 = time.perf_counter_ns()
            for _ in range(20000):
                w.__wrapped__()
            t1 = time.perf_counter_ns()
            for _ in range(20000):
                w()
            t2 = time.perf_counter_ns()
            direct.append(((t2 - t1) - (t1 - t0)) / 20000 / 1000.0)
        print("  %-36s %+8.2f us/call (level 1, median of 7)" % ("wrapper alone, called directly",
                                                                statistics.median(direct)))
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


def start_gunicorn(off, tmp):
    port = free_port()
    env = dict(os.environ, EVODASH_DATABASE="sqlite:///%s/gunicorn.db" % tmp,
               EVODASH_USERNAME="admin", EVODASH_PASSWORD="bench-pw", EVODASH_MONITOR_LEVEL="1")
    if off:
        env["EVODASH_BENCH_OFF"] = "1"
    g = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b",
                          "127.0.0.1:%d" % port, "--chdir", HERE, "bench_flask_app:app"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return g, port


def workers_cpu_s(master):
    """CPU seconds (user + system) used so far by the master's workers."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def wrk_run(g, port, seconds):
    """(requests/s, worker CPU us per request) of one wrk run."""
    cpu0 = workers_cpu_s(g.pid)
    out = subprocess.run(["wrk", "-t1", "-c8", "-d%ds" % seconds, "http://127.0.0.1:%d/" % port],
                         capture_output=True, text=True).stdout
    cpu = workers_cpu_s(g.pid) - cpu0
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not rps or not n or int(n.group(1)) == 0:
        return 0.0, 0.0
    return float(rps.group(1)), cpu * 1e6 / int(n.group(1))


def wrk_ratio(tmp, pairs=10):
    """Both servers up at once; short alternating wrk runs, so that the
    machine's load drifts alike for both.  Returns the per-pair ratios of
    throughput and of worker CPU per request (off / on): the second is what
    the throughput ratio would be on an otherwise idle machine, and it does
    not move with other people's load."""
    (g_off, p_off), (g_on, p_on) = start_gunicorn(True, tmp), start_gunicorn(False, tmp)
    try:
        wrk_run(g_off, p_off, 1)
        wrk_run(g_on, p_on, 1)
        tput, cpu = [], []
        for i in range(pairs):
            if i % 2:
                on, off = wrk_run(g_on, p_on, 2), wrk_run(g_off, p_off, 2)
            else:
                off, on = wrk_run(g_off, p_off, 2), wrk_run(g_on, p_on, 2)
            if off[0] > 0 and on[1] > 0:
                tput.append(on[0] / off[0])
                cpu.append(off[1] / on[1])
        return tput, cpu
    finally:
        for g in (g_off, g_on):
            g.terminate()
            g.wait(30)


def main():
    tmp = tempfile.mkdtemp(prefix="bench_flask_")
    try:
        hello = measure(hello_app, "hello world", 1000, tmp)
        measure(ms_app, "1 ms endpoint", 100, tmp)
        if shutil.which("wrk"):
            tput, cpu = wrk_ratio(tmp)
            if tput:
                print("gunicorn (2 sync workers) + wrk, level 1 / no evodash, median of %d "
                      "alternating 2 s pairs:" % len(tput))
                print("  throughput ratio: %.3f (pairs: %s)"
                      % (statistics.median(tput), ", ".join("%.2f" % r for r in tput)))
                print("  CPU-per-request ratio (throughput ratio on an idle machine): %.3f "
                      "(pairs: %s)" % (statistics.median(cpu), ", ".join("%.2f" % r for r in cpu)))
        else:
            print("gunicorn + wrk: skipped (wrk is not installed)")
        print("flask_level1_added: %.2f us" % hello[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
