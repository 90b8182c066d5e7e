"""bench-flask_overhead: the time evodash adds to a Flask request.

Two apps (hello world, and one whose endpoint takes ~1 ms) are called
in-process through their WSGI interface under five configurations: no
evodash, level 1, level 2 with no outliers, level 2 with every request past
its deadline, and level 3.  The machine is shared and noisy, so the
configurations are interleaved in rounds and each round's cost is taken
against the same round's no-evodash baseline; the figure is the median over
rounds.

Then the cost under a real server: gunicorn (2 sync workers) serving the
hello app, driven by wrk, bare and bound to evodash at each level 0..3 (all
up at once, each level with a store of its own), in alternating pairs of
runs of the bare app and one level (bare, evodash, evodash, bare; 1 s each).  For each level the median throughput ratio,
the median CPU-per-request ratio (bare / evodash, every thread of the
workers from /proc, which is what throughput would be on an idle machine
and moves far less with other people's load) and where the CPU goes
(request threads, the agent's threads).  BENCH_ONLY=gunicorn skips the
in-process part.

The last line is the headline, level 1's CPU-per-request ratio (target
>= 0.97): `flask_gunicorn_cpu_ratio: 0.97x`.
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


def start_gunicorn(level, tmp):
    """gunicorn with 2 sync workers on the hello app: bare (level None), or
    bound to evodash at `level` with a store of its own (the two workers
    share it, as a real deployment's would)."""
    port = free_port()
    env = dict(os.environ, EVODASH_DATABASE="sqlite:///%s/gunicorn_%s.db" % (tmp, level),
               EVODASH_USERNAME="admin", EVODASH_PASSWORD="bench-pw",
               EVODASH_MONITOR_LEVEL=str(level))
    if level is None:
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


def threads_cpu_s(master):
    """(request threads, other threads) CPU seconds used so far by the
    master's workers, in ns from schedstat (the tick-based counters of
    /proc/PID/stat are too coarse for the agent's ~1% over a second).  A
    sync worker serves on its main thread; the others are the agent's
    (writer, watchdog, sampler)."""
    main, other = 0, 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) != master:  # ppid
                    continue
            tasks = os.listdir("/proc/%s/task" % d)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%s/task/%s/schedstat" % (d, t)) as f:
                    ns = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if t == d:
                main += ns
            else:
                other += ns
    return main / 1e9, other / 1e9


def wrk_run(g, port, seconds):
    """(requests, seconds, request-thread CPU s, agent-thread CPU s) of one
    wrk run, or None."""
    cpu0 = threads_cpu_s(g.pid)
    t0 = time.monotonic()
    out = subprocess.run(["wrk", "-t1", "-c8", "-d%ds" % seconds, "http://127.0.0.1:%d/" % port],
                         capture_output=True, text=True).stdout
    dt = time.monotonic() - t0
    cpu1 = threads_cpu_s(g.pid)
    n = re.search(r"(\d+) requests in", out)
    if not n or int(n.group(1)) == 0:
        return None
    return int(n.group(1)), dt, cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]


# Level 1 is the headline; the others get fewer pairs to keep the run short.
GUNICORN_LEVELS = [(1, int(os.environ.get("BENCH_GUNICORN_PAIRS", "12"))),
                   (0, int(os.environ.get("BENCH_GUNICORN_PAIRS_OTHER", "6"))),
                   (2, int(os.environ.get("BENCH_GUNICORN_PAIRS_OTHER", "6"))),
                   (3, int(os.environ.get("BENCH_GUNICORN_PAIRS_OTHER", "6")))]


def wrk_pair(on_s, off_s, seconds=1):
    """One pair: bare, evodash, evodash, bare (1 s each), so that a load
    that drifts linearly over the pair weighs alike on both halves.  Per
    half: (requests/s, request-thread us/request, agent-thread
    us/request), or None."""
    runs = [wrk_run(*s, seconds) for s in (off_s, on_s, on_s, off_s)]
    if None in runs:
        return None
    halves = []
    for a, b in ((runs[0], runs[3]), (runs[1], runs[2])):
        n, dt = a[0] + b[0], a[1] + b[1]
        halves.append((n / dt, (a[2] + b[2]) * 1e6 / n, (a[3] + b[3]) * 1e6 / n))
    return halves[0], halves[1]


def wrk_ratios(tmp):
    """All servers up at once (the bare app and one per level); pairs of
    short wrk runs of the bare app and one level (wrk_pair), the levels'
    pairs interleaved.  Per level and pair, the ratios of throughput and of
    worker CPU per request (bare / evodash): the second is what the
    throughput ratio would be on an otherwise idle machine, and it moves
    far less with other people's load.  Also the CPU per request of the
    request threads and of the agent's threads."""
    servers = {None: start_gunicorn(None, tmp)}
    for level, _ in GUNICORN_LEVELS:
        servers[level] = start_gunicorn(level, tmp)
    try:
        for g, port in servers.values():
            wrk_run(g, port, 1)  # warm up
        res = {level: {"tput": [], "cpu": [], "req_on": [], "req_off": [], "agent": []}
               for level, _ in GUNICORN_LEVELS}
        for r in range(max(p for _, p in GUNICORN_LEVELS)):
            for level, pairs in GUNICORN_LEVELS:
                if r >= pairs:
                    continue
                pair = wrk_pair(servers[level], servers[None])
                if not pair:
                    continue
                off, on = pair
                d = res[level]
                d["tput"].append(on[0] / off[0])
                d["cpu"].append((off[1] + off[2]) / (on[1] + on[2]))
                d["req_on"].append(on[1])
                d["req_off"].append(off[1] + off[2])
                d["agent"].append(on[2])
        return res
    finally:
        for g, _ in servers.values():
            g.terminate()
        for g, _ in servers.values():
            g.wait(30)


def report_gunicorn(res):
    """Prints the per-level figures; returns level 1's CPU ratio or None."""
    med = statistics.median
    print("gunicorn (2 sync workers) + wrk -c8, hello world: evodash at each level against the "
          "bare app")
    print("in the same run, alternating pairs (bare, evodash, evodash, bare; 1 s each), medians "
          "(CPU per request: bare / evodash, all worker threads):")
    for level, _ in sorted(GUNICORN_LEVELS):
        d = res[level]
        if not d["cpu"]:
            print("  level %d: no figures (wrk failed)" % level)
            continue
        print("  level %d: throughput ratio %.3f, CPU-per-request ratio %.3f (%d pairs); "
              "us/request: bare %.1f, request thread %.1f, agent threads %.1f"
              % (level, med(d["tput"]), med(d["cpu"]), len(d["cpu"]), med(d["req_off"]),
                 med(d["req_on"]), med(d["agent"])))
    d = res[1]
    if not d["cpu"]:
        return None
    print("  level 1 pairs, throughput:      %s" % ", ".join("%.3f" % r for r in d["tput"]))
    print("  level 1 pairs, CPU per request: %s" % ", ".join("%.3f" % r for r in d["cpu"]))
    return med(d["cpu"])


def main():
    tmp = tempfile.mkdtemp(prefix="bench_flask_")
    try:
        if os.environ.get("BENCH_ONLY") != "gunicorn":
            hello = measure(hello_app, "hello world", 1000, tmp)
            measure(ms_app, "1 ms endpoint", 100, tmp)
            print("flask_level1_added: %.2f us" % hello[1])
        if not shutil.which("wrk"):
            print("gunicorn + wrk: skipped (wrk is not installed)")
            return
        ratio = report_gunicorn(wrk_ratios(tmp))
        if ratio is None:
            sys.exit("bench: wrk gave no figures")
        print("flask_gunicorn_cpu_ratio: %.3fx" % ratio)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
