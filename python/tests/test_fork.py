"""fork() while the sampler waits for the GIL must not deadlock (the agent's
fork handler takes the capture lock the sampler holds)."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    import flask, evodash
    evodash.config.database_name = "sqlite:///" + sys.argv[1]
    evodash.config.username = "admin"
    evodash.config.password = "pw-fork-1"
    evodash.config.monitor_level = 3
    evodash.config.sampling_period = 1
    app = flask.Flask("forky")

    @app.route("/spin")
    def spin():
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            pass
        return "spun"

    b = evodash.bind(app)
    t = threading.Thread(target=lambda: app.test_client().get("/spin"))
    t.start()
    time.sleep(0.2)
    forks = 0
    while t.is_alive():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        forks += 1
    t.join()
    b.flush(5000)
    print("forks", forks, "samples", b.counters())
""")


def test_fork_while_sampling_does_not_deadlock(tmp_path):
    db = str(tmp_path / "fork.db")
    r = subprocess.run([sys.executable, "-c", SCRIPT, db], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    forks = int(r.stdout.split()[1])
    assert forks >= 5, r.stdout
    import sqlite3
    n = sqlite3.connect(db).execute("SELECT count(*) FROM profiler_samples").fetchone()[0]
    assert n > 0
