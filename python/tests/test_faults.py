"""A Flask app under gunicorn whose store's folder is deleted while it runs:
every request is answered, what could not be kept is counted by each
worker and shown live on /dashboard/metrics, and once the folder is back
the workers record into a new store."""
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from conftest import rows
from test_servers import APPS, call, drive, free_port

TOKEN = "faults-token-0123456789"


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/dashboard/metrics", headers={"Authorization": "Bearer " + TOKEN})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return {m[0]: int(m[1]) for m in re.findall(
        r'evodash_dropped_records_total\{service="[^"]*",instance="([^"]+)"\} (\d+)', text)}


def test_gunicorn_store_folder_deleted(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    db = str(folder / "evodash.db")
    port = free_port()
    env = dict(os.environ, EVODASH_DATABASE="sqlite:///" + db, EVODASH_APP_VERSION="9.9",
               EVODASH_USERNAME="admin", EVODASH_PASSWORD="pw-test-1",
               EVODASH_SECURITY_TOKEN=TOKEN)
    log = open(str(tmp_path / "gunicorn.log"), "w+")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "-b",
                             "127.0.0.1:%d" % port, "--chdir", APPS, "gapp:app"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        call(port, "GET", "/dashboard")
        assert all(s == 200 for s, _ in drive(port, [("GET", "/ok")] * 60))
        time.sleep(2)  # written and synced
        shutil.rmtree(folder)
        answers = drive(port, [("GET", "/ok")] * 300)
        assert all(s == 200 for s, _ in answers), "the app serves without its store"
        # each worker's /metrics carries its own drops as they are now (the
        # other worker's line comes from the deleted file: older, lower)
        seen = {}
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            for inst, n in metrics(port).items():
                seen[inst] = max(seen.get(inst, 0), n)
            if sum(seen.values()) == 300:
                break
            time.sleep(0.2)
        assert sum(seen.values()) == 300, "drops shown per worker: %r" % seen
        folder.mkdir()
        for _ in range(40):  # workers reopen the store at their next batch
            drive(port, [("GET", "/ok")] * 5)
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    log.seek(0)
    assert proc.returncode == 0, log.read()
    # the new store holds what came after, and the workers' drops
    stored = rows(db, "SELECT count(*) FROM requests")[0][0]
    dropped = rows(db, "SELECT coalesce(sum(dropped), 0) FROM instances")[0][0]
    assert stored == 200 and dropped == 300, (stored, dropped)
