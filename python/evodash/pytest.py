"""evodash's pytest plugin: CI timings of the app's endpoints, per test.

Enable it with ``-p evodash.pytest`` or, in pytest.ini::

    [pytest]
    addopts = -p evodash.pytest

While a test runs (setup, call and teardown), every request that an app
bound with ``evodash.bind(app)`` serves is recorded as a call of that test,
with its endpoint and duration, into the CI tables of the app's own store
(never into its live data).  At the end of the session the tests become one
build of the app's version: stored in that same store, in one transaction,
or uploaded to a dashboard with ``--evodash-url`` and ``--evodash-token``.

Tests are named as pytest's JUnit XML names them (classname and name), so
a build the plugin stores and one ``evodash collect`` reads from
``--junitxml`` describe the same tests.
"""
import json
import os
import time
import urllib.error
import urllib.request

import pytest

import evodash

_CI_VARS = ("CI_PIPELINE_ID", "BUILD_NUMBER", "CIRCLE_BUILD_NUM", "BUILDKITE_BUILD_NUMBER",
            "DRONE_BUILD_NUMBER", "BITBUCKET_BUILD_NUMBER", "TRAVIS_BUILD_NUMBER",
            "BUILD_BUILDID")


def pytest_addoption(parser):
    g = parser.getgroup("evodash", "evodash CI timings")
    g.addoption("--evodash-build", default=None,
                help="the build id (default: the CI's, e.g. GITHUB_RUN_ID; else local-<time>)")
    g.addoption("--evodash-url", default=os.environ.get("EVODASH_URL"),
                help="upload the build to this dashboard (https://host/dashboard) "
                     "instead of the app's own store")
    g.addoption("--evodash-token", default=os.environ.get("EVODASH_TOKEN"),
                help="the dashboard's SECURITY_TOKEN (default: $EVODASH_TOKEN)")


def _build_id(opt):
    if opt:
        return opt
    gh, attempt = os.environ.get("GITHUB_RUN_ID"), os.environ.get("GITHUB_RUN_ATTEMPT")
    if gh:
        return gh if attempt in (None, "", "1") else "%s.%s" % (gh, attempt)
    for v in _CI_VARS:
        if os.environ.get(v):
            return os.environ[v]
    return time.strftime("local-%Y%m%dT%H%M%SZ", time.gmtime())


def _names(nodeid):
    """(classname, name) as pytest's junitxml writes them."""
    parts = nodeid.split("::")
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    path = path.replace("/", ".").replace("\\", ".")
    return ".".join([path] + [p for p in parts[1:-1] if p != "()"]), parts[-1]


def _now_us():
    return time.time_ns() // 1000


class _Recorder:
    def __init__(self, config):
        self.config = config
        self.tests = {}  # nodeid -> the test's record, in run order
        self.lines = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        suite, name = _names(item.nodeid)
        self.tests[item.nodeid] = {"suite": suite, "name": name, "duration_us": 0,
                                   "outcome": "passed", "from_us": _now_us()}
        evodash._set_test(suite + "::" + name)

    def pytest_runtest_logreport(self, report):
        t = self.tests.get(report.nodeid)
        if t is None:
            return
        t["duration_us"] += int(round(report.duration * 1e6))
        if report.skipped and t["outcome"] == "passed":
            t["outcome"] = "skipped"
        elif report.failed:
            # a setup or teardown failure is an error of the test, as in JUnit
            t["outcome"] = "failed" if report.when == "call" else "error"
        if report.when == "teardown":
            t["to_us"] = _now_us()
            evodash._set_test(None)

    def pytest_sessionfinish(self, session):
        evodash._set_test(None)
        tests = [t for t in self.tests.values() if "to_us" in t]
        if not tests:
            return
        build = _build_id(self.config.getoption("evodash_build"))
        url = self.config.getoption("evodash_url")
        token = self.config.getoption("evodash_token")
        stores = {}
        for b in evodash._bindings:
            b.flush(10000)  # the writer has stored every call of every test
            stores.setdefault((b.database(), b.service()), b.version)
        if not stores:
            self.lines.append("evodash: no app was bound with evodash.bind(app): "
                              "no CI timings recorded")
            return
        for (db, service), version in stores.items():
            report = json.dumps({"build": build, "version": version, "service": service,
                                 "tests": tests})
            try:
                if url:
                    self.lines.append(self._upload(url, token, evodash._evodash.ci_attach(
                        db, report), build))
                else:
                    r = evodash._evodash.ci_store(db, report)
                    self.lines.append("evodash: build %s of %s: %d tests, %d calls stored in %s"
                                      % (build, service, r["tests"], r["calls"], r["store"]))
            except evodash.EvodashError as e:
                self.lines.append("evodash: build %s of %s not stored: %s" % (build, service, e))
                session.exitstatus = session.exitstatus or 1

    @staticmethod
    def _upload(url, token, body, build):
        if not token:
            raise evodash.EvodashError("--evodash-url needs --evodash-token (or EVODASH_TOKEN)")
        rq = urllib.request.Request(url.rstrip("/") + "/api/ci/builds", data=body.encode(),
                                    method="POST",
                                    headers={"Content-Type": "application/json",
                                             "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(rq, timeout=120) as r:
                doc = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                msg = json.load(e).get("error", "")
            except ValueError:
                msg = ""
            raise evodash.EvodashError("the dashboard answered %d: %s" % (e.code, msg))
        except OSError as e:
            raise evodash.EvodashError("upload to %s failed: %s" % (url, e))
        return "evodash: build %s: %d tests, %d calls uploaded to %s" % (
            build, doc["tests"], doc["calls"], url)

    def pytest_terminal_summary(self, terminalreporter):
        for line in self.lines:
            terminalreporter.write_line(line)


def pytest_configure(config):
    config.pluginmanager.register(_Recorder(config), "evodash-recorder")
