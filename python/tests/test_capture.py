"""Outliers (level 2) and the profiler (level 3), through the Flask test client."""
import json
import threading
import time

import evodash
from conftest import new_app, rows, wait_for


def very_slow_function():
    time.sleep(0.4)
    return "slow"


def hot_loop_function(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def outlier_app():
    app = new_app()

    @app.route("/work", methods=["GET", "POST"])
    def work():
        from flask import request
        if request.method == "POST":
            request.form  # parsed by the view, so the capture may read it
        if request.args.get("slow"):
            return very_slow_function()
        return "fast"

    return app


def background_waiter(ev):
    ev.wait(10)


def test_outlier_has_python_stack_and_masked_details(bound, store_path, fresh_config):
    fresh_config.monitor_level = 2
    done = threading.Event()
    other = threading.Thread(target=background_waiter, args=(done,))
    other.start()
    try:
        check_outlier(bound, store_path)
    finally:
        done.set()
        other.join()


def check_outlier(bound, store_path):
    app = outlier_app()
    b = bound(app)
    c = app.test_client()
    for _ in range(20):  # a running mean needs 10 requests ...
        c.get("/work")
    b.flush(5000)  # ... that the writer has seen (it keeps the mean)
    c.set_cookie("localhost", "session", "xyz")
    long_name = "n" * 200 + "_token"  # past the 127 bytes the old matcher read
    r = c.post("/work?slow=1&q=shoes&access_token=abc123&jwt=jwtval&access_key=akval"
               "&sig=sigval&j%77t=encval&" + long_name + "=longval",
               data={"password": "hunter2", "colour": "blue", "passwd": "pw2"},
               headers={"Authorization": "Bearer topsecret", "X-Trace": "t-1",
                        "X-Jwt": "hdrjwt", "X-Access-Key": "hdrkey",
                        "X-" + "a" * 200 + "-Secret": "hdrlong"})
    assert r.status_code == 200
    b.flush(5000)
    # (a warm-up request delayed by a busy machine may be an outlier too)
    out = rows(store_path, "SELECT o.stack, o.details, o.cpu, o.memory FROM outliers o JOIN "
                           "requests r ON r.id = o.request_id WHERE r.duration_us > 300000")
    assert len(out) == 1
    stack, details, cpu, memory = out[0]
    frames = [line.split("\t") for line in stack.strip().split("\n")]
    names = [f[0] for f in frames]
    assert "very_slow_function" in names
    # outermost first: the view comes before the function it calls
    assert names.index("outlier_app.<locals>.work") < names.index("very_slow_function")
    slow = frames[names.index("very_slow_function")]
    assert slow[1].endswith("test_capture.py") and int(slow[2]) > 0
    d = json.loads(details)
    assert "/work?" in d["url"] and "q=shoes" in d["url"]
    assert "abc123" not in details and "topsecret" not in details
    assert "xyz" not in details and "hunter2" not in details
    for v in ("jwtval", "akval", "sigval", "encval", "longval", "pw2", "hdrjwt", "hdrkey",
              "hdrlong"):
        assert v not in details, v
    assert d["headers"]["X-Jwt"] == "***" and d["headers"]["X-Access-Key"] == "***"
    assert d["values"]["jwt"] == "***" and d["values"]["sig"] == "***"
    assert d["values"][long_name] == "***"
    assert d["headers"]["Authorization"] == "***"
    assert d["headers"]["Cookie"] == "***"
    assert d["headers"]["X-Trace"] == "t-1"
    assert d["environ"]["REQUEST_METHOD"] == "POST"
    assert d["values"]["q"] == "shoes"
    assert d["values"]["colour"] == "blue"
    assert d["values"]["password"] == "***"
    assert d["values"]["access_token"] == "***"
    # the stacks of the other threads come along too, not the request's own again
    assert any("background_waiter" in s for s in d["threads"].values())
    assert not any("very_slow_function" in s for s in d["threads"].values())
    assert json.loads(cpu) and json.loads(memory)
    assert b.counters()["outliers"] >= 1


def test_steady_requests_are_not_outliers(bound, store_path, fresh_config):
    # 20 ms each, so that scheduling noise on a busy machine stays far
    # below the deadline (2.5 x the mean)
    fresh_config.monitor_level = 2
    app = new_app()

    @app.route("/steady")
    def steady():
        time.sleep(0.02)
        return "s"

    b = bound(app)
    c = app.test_client()
    for _ in range(25):
        c.get("/steady")
    b.flush(5000)
    assert rows(store_path, "SELECT count(*) FROM requests") == [(25,)]
    assert rows(store_path, "SELECT count(*) FROM outliers") == [(0,)]


def test_profiler_tree_names_the_hot_function(bound, store_path, fresh_config):
    fresh_config.monitor_level = 3
    fresh_config.sampling_period = 5
    app = new_app()

    @app.route("/hot")
    def hot():
        hot_loop_function(0.4)
        return "done"

    b = bound(app)
    assert app.test_client().get("/hot").status_code == 200
    b.flush(5000)
    lines = rows(store_path, "SELECT position, indent, function, file, line, duration_us, "
                             "samples FROM profiler_samples ORDER BY position")
    assert lines, "no profiler samples"
    hot_lines = [l for l in lines if l[2] == "hot_loop_function"]
    assert hot_lines
    # most of the request's time is spent in the hot function
    assert sum(l[5] for l in hot_lines) >= 200000
    assert hot_lines[0][3].endswith("test_capture.py") and hot_lines[0][4] > 0
    view = [l for l in lines if l[2].endswith("hot")]
    assert view and view[0][1] < hot_lines[0][1]


def test_level_one_captures_nothing(bound, store_path, fresh_config):
    app = outlier_app()
    b = bound(app)
    c = app.test_client()
    for _ in range(15):
        c.get("/work")
    c.get("/work?slow=1")
    b.flush(5000)
    assert rows(store_path, "SELECT count(*) FROM outliers") == [(0,)]
    assert rows(store_path, "SELECT count(*) FROM profiler_samples") == [(0,)]
