#!/usr/bin/env python3
"""The C example service (examples/c_service.c) records its requests per
route through the libmicrohttpd adapter and serves the dashboard on the
same port.  Paths that are none of its routes (scanners' probes) get a 404
and create no endpoint.

usage: c_service_test.py BUILD_DIR
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from checks import check, finish

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data


def main():
    tmp = tempfile.mkdtemp(prefix="evd-csvc-")
    db = os.path.join(tmp, "svc.db")
    cfg = os.path.join(tmp, "svc.cfg")
    with open(cfg, "w") as f:
        f.write("[dashboard]\nDATABASE=sqlite:///%s\nAPP_VERSION=1.2.3\nUSERNAME=admin1\n"
                "PASSWORD=svc-pw\n" % db)
    errf = open(os.path.join(tmp, "svc.err"), "w+")
    proc = subprocess.Popen([os.path.join(BUILD, "examples/c_service"), cfg, "0"], stderr=errf)
    try:
        port = None
        for _ in range(200):
            errf.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", errf.read())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        errf.seek(0)
        assert port, "c_service did not start: " + errf.read()

        sent = {"GET /hello": (20, 200), "GET /users/<id>": (19, 200),
                "POST /orders": (3, 201), "GET /work/3": (2, 200)}
        for _ in range(20):
            check(request(port, "GET", "/hello")[0] == 200, "GET /hello answers 200")
        for i in range(15):  # the service names the group from X-User
            check(request(port, "GET", "/users/%d" % (i + 1),
                          headers={"X-User": "alice" if i < 10 else "bob"})[0] == 200,
                  "GET /users/N")
        for _ in range(3):
            check(request(port, "POST", "/orders", body="{}")[0] == 201, "POST /orders")
        for _ in range(2):  # CPU work: one endpoint per cost
            check(request(port, "GET", "/work/3")[0] == 200, "GET /work/3")
        for path in ("/work/0", "/work/201", "/work/x", "/work/"):
            check(request(port, "GET", path)[0] == 404, "%s gets 404" % path)
        for i in range(4):  # a route's own 404s are recorded under the route
            check(request(port, "GET", "/users/%d" % (5000 + i))[0] == 404, "no such user: 404")
        scanners = ["/wp-login.php", "/.env", "/.git/config", "/admin", "/phpmyadmin/",
                    "/wp-admin/setup-config.php", "/xmlrpc.php", "/config.json", "/.aws/credentials",
                    "/server-status", "/actuator/health", "/api/v1/pods", "/cgi-bin/luci",
                    "/boaform/admin/formLogin", "/HNAP1/", "/owa/auth/logon.aspx", "/.DS_Store",
                    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/solr/admin/info/system",
                    "/console/", "/manager/html", "/login.action", "/index.php?s=/Index/think",
                    "/users/abc", "/users/", "/hello/", "/orders", "/users/1/../2", "/%2e%2e/etc/passwd",
                    "/favicon.ico"]
        for path in scanners:
            check(request(port, "GET", path)[0] == 404, "scanner URL %s gets 404" % path)

        # the dashboard on the same port
        st, _, data = request(port, "GET", "/dashboard/api/overview")
        check(st == 401, "dashboard API needs a login")
        st, h, data = request(port, "POST", "/dashboard/login",
                              body="username=admin1&password=svc-pw",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 200, "login on the service's port")
        cookie = re.match(r"(evd_session=[0-9a-f]+)", h.get("set-cookie", "")).group(1)
        hits = {}
        items = []
        deadline = time.time() + 15
        while time.time() < deadline:  # the agent's writer commits in batches
            st, _, data = request(port, "GET", "/dashboard/api/overview", headers={"Cookie": cookie})
            items = json.loads(data)["items"]
            hits = {it["name"]: it["hits"]["overall"] for it in items}
            if all(hits.get(k) == n for k, (n, _) in sent.items()):
                break
            time.sleep(0.2)
        for name, (n, _) in sent.items():
            check(hits.get(name) == n, "%s recorded %s times, expected %d" % (name, hits.get(name), n))
        check(set(hits) == set(sent), "only the service's routes are endpoints: %r" % sorted(hits))
        check(not any(k.startswith("GET /dashboard") or k.startswith("POST /dashboard")
                      for k in hits), "dashboard requests are not recorded as service routes")
        byname = {it["name"]: it for it in items}
        check(byname["GET /users/<id>"]["errors"]["overall"] == 4, "404s counted as errors")
        med = byname["POST /orders"]["median_us"]["overall"]
        check(med is not None and med >= 29000 * 0.99, "slow route's median reflects ~30 ms")
        fast = byname["GET /hello"]["median_us"]["overall"]
        check(fast is not None and fast < med, "fast route is faster than the slow one")
        eid = byname["POST /orders"]["id"]
        st, _, data = request(port, "GET", "/dashboard/api/endpoints/%d/status?from=0" % eid,
                              headers={"Cookie": cookie})
        codes = {c["status"]: c["count"] for c in json.loads(data)["codes"]}
        check(codes == {201: 3}, "status codes recorded as sent: %r" % codes)
        uid = byname["GET /users/<id>"]["id"]
        st, _, data = request(port, "GET", "/dashboard/api/endpoints/%d/groups?from=0" % uid,
                              headers={"Cookie": cookie})
        groups = {g["group"]: g["box"]["count"] for g in json.loads(data)["items"]}
        check(groups == {"alice": 10, "bob": 5, "": 4},
              "evd_mhd_set_group names each request's group: %r" % groups)
        st, _, data = request(port, "GET", "/dashboard/api/endpoints/%d/groups?from=0" % eid,
                              headers={"Cookie": cookie})
        groups = {g["group"]: g["box"]["count"] for g in json.loads(data)["items"]}
        check(groups == {"": 3}, "a request without a group has none: %r" % groups)
        st, _, data = request(port, "GET", "/dashboard/api/versions", headers={"Cookie": cookie})
        check([v["name"] for v in json.loads(data)["items"]] == ["1.2.3"], "version recorded")
    finally:
        proc.terminate()
        try:
            check(proc.wait(15) == 0, "c_service exits 0 on SIGTERM")
        except subprocess.TimeoutExpired:
            proc.kill()
            check(False, "c_service stops on SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    finish("c_service_test")


if __name__ == "__main__":
    main()
