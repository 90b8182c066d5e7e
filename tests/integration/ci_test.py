#!/usr/bin/env python3
"""CI test timings end to end, against a real `evodash serve`.

- Live traffic of five versions whose medians are the paper's Table I
  (tests/integration/ci_live), five CI builds uploaded with the bearer
  token whose CI medians are its Travis column: the correlation API gives
  scipy's Pearson r and p on the medians it returns, and r = 0.934,
  p = 0.020 as the paper reports.
- The upload: a missing or wrong token is 401 and stores nothing; malformed
  JSON, a build with no test, a build sent twice: a clear error, nothing
  half-stored.
- `evodash collect` on reports that pytest (--junitxml) and ctest
  (--output-junit) write here, run by this test: uploaded with the token,
  written with --db, --cmd run three times; malformed XML, an empty report,
  a duplicate build, a wrong token; a PostgreSQL password never printed.
- The pytest plugin on the example Flask shop (examples/flask_shop), with
  its own test suite: every test's endpoints and durations, a test that
  hits no endpoint recorded with none, no test traffic in the live tables;
  and the same suite uploaded to the dashboard.
- Box plots per test and per endpoint, builds side by side, and a CI
  regression flagged (an endpoint twice as slow), not a steady one.

usage: ci_test.py BUILD_DIR [--pg]   (with --pg under tests/pg/with_pg.sh)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import scipy.stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storedb  # noqa: E402
from checks import check, finish  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/rel")
PG = "--pg" in sys.argv[2:]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVODASH = os.path.join(BUILD, "evodash")
VENV_PY = os.path.join(ROOT, "build/python/venv/bin/python")
TOKEN = "ci-token-0123456789abcdef"
ADMIN = ("boss", "s3cret-admin-pw")
# Table I of the paper: live and Travis medians (ms) of five versions
LIVE = [1349.41, 1466.13, 1256.65, 1266.42, 1080.68]
TRAVIS = [764.87, 992.87, 760.87, 813.89, 303.4]



def http(port, method, path, body=None, headers=None):
    rq = urllib.request.Request("http://127.0.0.1:%d/dashboard%s" % (port, path), method=method,
                                data=body.encode() if isinstance(body, str) else body,
                                headers=headers or {})
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, json.loads(data) if data else None


def upload(port, doc, token=TOKEN):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    return http(port, "POST", "/api/ci/builds", body=doc if isinstance(doc, str)
                else json.dumps(doc), headers=h)


def login(port):
    rq = urllib.request.Request("http://127.0.0.1:%d/dashboard/login" % port, method="POST",
                                data=json.dumps({"username": ADMIN[0],
                                                 "password": ADMIN[1]}).encode(),
                                headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=30) as r:
        return re.match(r"(evd_session=[0-9a-f]+)", r.headers["Set-Cookie"]).group(1)


def get(port, cookie, path):
    return http(port, "GET", path, headers={"Cookie": cookie})


def count(db, sql, *args):
    con = storedb.connect(db)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def start_serve(tmp, url):
    cfg = os.path.join(tmp, "serve.cfg")
    with open(cfg, "w") as f:
        f.write("[dashboard]\nDATABASE=%s\nUSERNAME=%s\nPASSWORD=%s\nSECURITY_TOKEN=%s\n"
                % (url, ADMIN[0], ADMIN[1], TOKEN))
    errf = open(os.path.join(tmp, "serve.err"), "w+")
    proc = subprocess.Popen([EVODASH, "serve", "--config", cfg, "--listen", "127.0.0.1:0"],
                            stderr=errf)
    for _ in range(200):
        errf.seek(0)
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/dashboard", errf.read())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    raise SystemExit("serve did not start")


def table_i(port, cookie, db, url):
    """Live medians and CI medians of Table I; Pearson as scipy has it."""
    for i, ms in enumerate(TRAVIS):
        us = int(round(ms * 1000))
        calls = [{"endpoint": "api.search", "duration_us": d} for d in (us - 500, us, us + 700)]
        st, doc = upload(port, {"build": "t%d" % (i + 1), "version": "v%d" % (i + 1),
                                "service": "shop", "created_us": 1000 + i,
                                "tests": [{"suite": "tests.test_search", "name": "test_search",
                                           "duration_us": us * 3 + 900, "calls": calls}]})
        check(st == 201 and doc["calls"] == 3, "upload of build t%d: %s %s" % (i + 1, st, doc))
    st, doc = get(port, cookie, "/api/ci/correlation?endpoint=api.search")
    check(st == 200, "correlation: %s %s" % (st, doc))
    if st != 200:
        return
    check(doc["endpoint"] == "api.search" and set(doc) >= {"versions", "pearson_r", "p_value"},
          "correlation: the issue's shape")
    vs = doc["versions"]
    check([v["version"] for v in vs] == ["v1", "v2", "v3", "v4", "v5"], "correlation: versions")
    for v, live, ci in zip(vs, LIVE, TRAVIS):
        check(abs(v["live_median_ms"] - live) <= live * 0.01,
              "%s: live median %s within 1%% of %s" % (v["version"], v["live_median_ms"], live))
        check(abs(v["ci_median_ms"] - round(ci * 1000) / 1000) < 1e-9,
              "%s: CI median %s is exactly %s" % (v["version"], v["ci_median_ms"], ci))
        check(v["ci_samples"] == 3, "%s: ci_samples" % v["version"])
    ref = scipy.stats.pearsonr([v["live_median_ms"] for v in vs], [v["ci_median_ms"] for v in vs])
    check(abs(doc["pearson_r"] - ref[0]) < 1e-9 and abs(doc["p_value"] - ref[1]) < 1e-9,
          "Pearson r %r p %r match scipy %r" % (doc["pearson_r"], doc["p_value"], ref))
    exact = scipy.stats.pearsonr(LIVE, TRAVIS)
    check(round(exact[0], 3) == 0.934 and round(exact[1], 3) == 0.020, "Table I in scipy")
    check(round(doc["pearson_r"], 2) == 0.93 and round(doc["p_value"], 2) == 0.02,
          "Table I through the API: r = %.3f, p = %.3f" % (doc["pearson_r"], doc["p_value"]))
    st, doc = get(port, cookie, "/api/ci/correlation?endpoint=nope")
    check(st == 404, "correlation of an unknown endpoint: 404")
    st, doc = get(port, cookie, "/api/ci/correlation")
    check(st == 400, "correlation without an endpoint: 400")


def upload_errors(port, db):
    builds = count(db, "SELECT count(*) FROM ci_builds")
    good = {"build": "e1", "version": "v1", "service": "shop",
            "tests": [{"name": "t", "duration_us": 5}]}
    for token, what in ((None, "no token"), ("wrong-token", "a wrong token")):
        st, doc = upload(port, good, token=token)
        check(st == 401, "upload with %s: 401 (%s)" % (what, st))
    for body, what in (("{", "malformed JSON"),
                       ('{"build":"e2","version":"v1","tests":[]}', "no test"),
                       ('{"build":"e2","version":"v1","tests":[{"name":"t"}]}', "no duration"),
                       ('{"build":"e2","build":"e3","version":"v1","tests":[]}', "a key twice")):
        st, doc = upload(port, body)
        check(st == 400 and doc and doc.get("error"), "%s: 400 with a message (%s %s)"
              % (what, st, doc))
    check(count(db, "SELECT count(*) FROM ci_builds") == builds, "nothing stored by refusals")
    st, doc = upload(port, good)
    check(st == 201, "the good build")
    st, doc = upload(port, dict(good, tests=[{"name": "t", "duration_us": 5}] * 2))
    check(st == 409 and "stored already" in doc["error"], "the same build again: 409 (%s)" % doc)
    check(count(db, "SELECT count(*) FROM ci_tests t JOIN ci_builds b ON b.id = t.build_id "
                    "WHERE b.build = 'e1'") == 1, "the duplicate left the first build as it was")


PYTEST_SUITE = '''
import time
import pytest

def test_fast():
    time.sleep(0.002)

def test_slow():
    time.sleep(0.02)

def test_broken():
    assert 1 + 1 == 3

@pytest.mark.skip(reason="not today")
def test_later():
    pass
'''

CMAKE = '''
cmake_minimum_required(VERSION 3.16)
project(citest NONE)
enable_testing()
add_test(NAME t_ok COMMAND sh -c "sleep 0.01")
add_test(NAME t_fail COMMAND false)
'''


def collect_tests(tmp, port, cookie, db, url):
    work = os.path.join(tmp, "suite")
    os.makedirs(work)
    with open(os.path.join(work, "test_suite.py"), "w") as f:
        f.write(PYTEST_SUITE)
    report = os.path.join(work, "r.xml")
    r = run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--junitxml=" + report, "test_suite.py"], cwd=work)
    check(r.returncode == 1 and os.path.exists(report), "pytest ran and wrote its report")
    base = [EVODASH, "collect", "--service", "shop", "--version", "v5"]
    # upload with the token, the build id from the CI's variable
    env = dict(os.environ, GITHUB_RUN_ID="9001", GITHUB_RUN_ATTEMPT="1", EVODASH_TOKEN=TOKEN)
    dash = "http://127.0.0.1:%d/dashboard" % port
    r = run(base + ["--junit", report, "--url", dash], env=env)
    check(r.returncode == 0 and "uploaded" in r.stdout, "collect --url: %s %s" % (r.stdout,
                                                                               r.stderr))
    st, doc = get(port, cookie, "/api/ci/builds?service=shop")
    b = [x for x in doc["builds"] if x["build"] == "9001"]
    check(len(b) == 1 and b[0]["tests"] == 4 and b[0]["failed"] == 1 and b[0]["version"] == "v5",
          "the uploaded pytest build: %s" % b)
    r = run(base + ["--junit", report, "--url", dash, "--build", "9002", "--token", "nope"])
    check(r.returncode == 1 and "401" in r.stderr and "nothing was stored" in r.stderr,
          "collect with a wrong token: %s" % r.stderr)
    check(count(db, "SELECT count(*) FROM ci_builds WHERE build = '9002'") == 0,
          "nothing stored with a wrong token")
    r = run(base + ["--junit", report, "--url", dash], env=env)
    check(r.returncode == 1 and "stored already" in r.stderr, "collect twice: %s" % r.stderr)
    # ctest's report, straight into the store
    cdir = os.path.join(tmp, "cmake")
    os.makedirs(os.path.join(cdir, "build"))
    with open(os.path.join(cdir, "CMakeLists.txt"), "w") as f:
        f.write(CMAKE)
    r = run(["cmake", "-S", cdir, "-B", os.path.join(cdir, "build")])
    check(r.returncode == 0, "cmake configures: %s" % r.stderr[-300:])
    creport = os.path.join(tmp, "ctest.xml")
    r = run(["ctest", "--test-dir", os.path.join(cdir, "build"), "--output-junit", creport])
    check(os.path.exists(creport), "ctest wrote its report")
    r = run(base + ["--junit", creport, "--build", "c1", "--db", url])
    check(r.returncode == 0 and "2 test runs" in r.stdout, "collect --db of ctest: %s %s"
          % (r.stdout, r.stderr))
    check(count(db, "SELECT count(*) FROM ci_tests t JOIN ci_builds b ON b.id = t.build_id "
                    "WHERE b.build = 'c1' AND t.name = 't_fail' AND t.outcome = 'failed'") == 1,
          "ctest's failing test stored as failed")
    if PG:
        secret = re.match(r"postgresql://[^:]+:([^@]+)@", url).group(1)
        r2 = run(base + ["--junit", creport, "--build", "c1", "--db", url])
        check(secret not in r.stdout + r.stderr + r2.stdout + r2.stderr and
              "stored already" in r2.stderr, "collect never prints the password: " + r2.stderr)
    # --cmd --times: three runs, three iterations of each test
    r = run(base + ["--cmd", "/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml=%s "
                    "test_suite.py" % report, "--times", "3", "--junit", report,
                    "--build", "x3", "--db", url], cwd=work)
    check(r.returncode == 0 and "12 test runs" in r.stdout, "collect --cmd --times 3: %s %s"
          % (r.stdout, r.stderr[-400:]))
    check(count(db, "SELECT max(iteration) FROM ci_tests t JOIN ci_builds b ON b.id = t.build_id"
                    " WHERE b.build = 'x3'") == 3, "three iterations")
    # malformed and empty reports: a message, nothing stored
    bad = os.path.join(tmp, "bad.xml")
    with open(bad, "w") as f:
        f.write("<testsuite><testcase name='a'>\n</testsuite>")
    empty = os.path.join(tmp, "empty.xml")
    with open(empty, "w") as f:
        f.write("<testsuites></testsuites>")
    before = count(db, "SELECT count(*) FROM ci_builds")
    for path, msg in ((bad, "malformed XML"), (empty, "no test case")):
        r = run(base + ["--junit", report, path, "--build", "m1", "--db", url])
        check(r.returncode == 1 and msg in r.stderr and "nothing was stored" in r.stderr,
              "collect of %s: %s" % (os.path.basename(path), r.stderr))
    check(count(db, "SELECT count(*) FROM ci_builds") == before, "nothing half-stored")
    r = run([EVODASH, "collect", "--junit", report, "--db", url],
            env={k: v for k, v in os.environ.items()
                 if k not in ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_NUMBER")})
    check(r.returncode == 1 and "--build" in r.stderr, "no build id: says so")


def plugin_tests(tmp, port, cookie, db, url):
    shop = os.path.join(tmp, "flask_shop")
    shutil.copytree(os.path.join(ROOT, "examples/flask_shop"), shop)
    env = dict(os.environ, EVODASH_DATABASE=url, EVODASH_APP_VERSION="v5",
               EVODASH_SERVICE_NAME="shop")
    r = run([VENV_PY, "-m", "pytest", "-q", "--evodash-build", "plug1"], cwd=shop, env=env)
    check(r.returncode == 0 and "build plug1 of shop: 8 tests, 10 calls stored" in r.stdout,
          "the plugin stores the shop's suite: %s %s" % (r.stdout[-600:], r.stderr[-600:]))
    q = ("SELECT count(*) FROM ci_calls c JOIN ci_tests t ON t.id = c.test_id JOIN ci_builds b "
         "ON b.id = t.build_id WHERE b.build = 'plug1' AND t.name = ? AND c.endpoint = ?")
    for test, ep, n in (("test_index", "index", 1), ("test_items", "items", 1),
                        ("test_item[1]", "item", 1), ("test_checkout", "checkout", 3),
                        ("test_checkout", "item", 1), ("test_basket", "items", 1),
                        ("test_prices_add_up", "index", 0)):
        check(count(db, q, test, ep) == n, "plugin: %s called %s %d times" % (test, ep, n))
    check(count(db, "SELECT count(*) FROM ci_calls c JOIN ci_tests t ON t.id = c.test_id WHERE "
                    "t.name = 'test_prices_add_up'") == 0 and
          count(db, "SELECT count(*) FROM ci_tests WHERE name = 'test_prices_add_up'") >= 1,
          "a test that hits no endpoint is recorded, with no call")
    check(count(db, "SELECT min(c.duration_us) FROM ci_calls c JOIN ci_tests t ON t.id = "
                    "c.test_id WHERE t.name = 'test_checkout' AND c.endpoint = 'checkout'")
          >= 2000, "checkout's calls last its 2 ms sleep")
    check(count(db, "SELECT count(*) FROM requests r JOIN endpoints e ON e.id = r.endpoint_id "
                    "JOIN services s ON s.id = e.service_id WHERE s.name = 'shop' AND e.name IN "
                    "('index', 'items', 'item', 'checkout')") == 0,
          "test traffic kept out of the live requests")
    r = run([VENV_PY, "-m", "pytest", "-q", "--evodash-build", "plug1"], cwd=shop, env=env)
    check(r.returncode == 1 and "stored already" in r.stdout, "plugin, the same build again")
    # the upload: the app records into a store of its own, the build goes up
    local = "sqlite:///" + os.path.join(tmp, "local.db")
    env = dict(env, EVODASH_DATABASE=local, EVODASH_TOKEN=TOKEN)
    r = run([VENV_PY, "-m", "pytest", "-q", "--evodash-build", "plug2", "--evodash-url",
             "http://127.0.0.1:%d/dashboard" % port], cwd=shop, env=env)
    check(r.returncode == 0 and "10 calls uploaded" in r.stdout,
          "the plugin uploads: %s %s" % (r.stdout[-500:], r.stderr[-500:]))
    check(count(db, q.replace("plug1", "plug2"), "test_checkout", "checkout") == 3,
          "the upload carries the calls")


def views_and_regressions(port, cookie):
    st, doc = get(port, cookie, "/api/ci/boxes?by=test&builds=5&service=shop")
    check(st == 200 and len(doc["builds"]) == 5, "boxes: the last five builds")
    keys = {(k["suite"], k["name"]): k for k in doc["keys"]}
    k = keys.get(("tests.test_shop", "test_checkout"))
    check(k is not None and len(k["boxes"]) == 5, "boxes: a test's boxes, one per build")
    st, doc = get(port, cookie, "/api/ci/boxes?by=endpoint&builds=2&service=shop")
    check(st == 200 and any(k["name"] == "checkout" and k["boxes"][-1]["count"] == 3
                            for k in doc["keys"]), "boxes per endpoint: %s" % doc)
    st, _ = get(port, cookie, "/api/ci/boxes?by=version")
    check(st == 400, "boxes by something else: 400")
    # two builds of a service: api.slow twice as slow, api.steady the same
    for i, factor in enumerate((1.0, 2.0)):
        calls = [{"endpoint": "api.slow", "duration_us": int((1000 + 37 * j) * factor)}
                 for j in range(12)]
        calls += [{"endpoint": "api.steady", "duration_us": 500 + (j * 7919 + i * 13) % 50}
                  for j in range(12)]
        st, _ = upload(port, {"build": "r%d" % i, "version": "w%d" % i, "service": "reg",
                              "created_us": 5000 + i,
                              "tests": [{"name": "test_all", "duration_us": 30000,
                                         "calls": calls}]})
        check(st == 201, "regression build r%d" % i)
    st, doc = get(port, cookie, "/api/ci/regressions?service=reg")
    check(st == 200, "regressions: %s" % st)
    names = [(x["kind"], x["name"]) for x in doc["items"]]
    check(names == [("endpoint", "api.slow")], "only api.slow flagged: %s" % names)
    x = doc["items"][0] if doc["items"] else {}
    check(x.get("ratio_lo", 0) > 1 and x.get("p_adjusted", 1) < 0.05 and
          x.get("previous", {}).get("build") == "r0", "the flag's evidence: %s" % x)


def main():
    tmp = tempfile.mkdtemp(prefix="evd-ci-")
    db = storedb.fresh_pg_db("evd_ci") if PG else os.path.join(tmp, "ci.db")
    url = storedb.database_url(db)
    proc = None
    try:
        # live traffic first: the server caches closed days' rollups at start
        for i, ms in enumerate(LIVE):
            subprocess.run([os.path.join(BUILD, "tests/integration/ci_live"), url, "shop",
                            "api.search", "v%d" % (i + 1), str(int(ms * 1000)), "101",
                            str(490000 + i)], check=True)
        proc, port = start_serve(tmp, url)
        cookie = login(port)
        table_i(port, cookie, db, url)
        upload_errors(port, db)
        collect_tests(tmp, port, cookie, db, url)
        plugin_tests(tmp, port, cookie, db, url)
        views_and_regressions(port, cookie)
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    finish("ci_test (%s)" % ("PostgreSQL" if PG else "SQLite"))


if __name__ == "__main__":
    main()
