#!/usr/bin/env python3
"""HTTP-level hardening of the dashboard's own servers: a real `evodash
serve` on a filled store and the real C example service (the libmicrohttpd
adapter), on loopback ports.

  - keep-alive: many requests on one connection, none answered with
    "Connection: close"; pipelining: three requests sent at once, three
    answers in order;
  - connection exhaustion: 1,500 idle sockets from one address (127.0.0.2)
    leave the server usable from another (127.0.0.1); idle sockets are
    closed after HTTP_IDLE_TIMEOUT;
  - every error is JSON {"error", "status"} with the HTTP status: bad UTF-8,
    over-long URLs and headers, JSON bodies with a key twice;
  - time zones: more distinct zones than the server caches, then UTC;
  - secrets: an outlier of the C service whose request carried X-Jwt,
    X-Access-Key, jwt=, access_key=, sig= and names over 127 bytes shows
    none of their values in /dashboard/api/outliers/{id}.

usage: http_test.py BUILD_DIR        (e.g. build/rel)
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
ADMIN = ("boss", "hardening-admin-pw")
GUEST = ("visitor", "hardening-guest-pw")
TOKEN = "hardening-token-0123456789"
IDLE_S = 2  # HTTP_IDLE_TIMEOUT of both servers



# ---- servers ------------------------------------------------------------------

def start(tmp, name, argv, pattern):
    errf = open(os.path.join(tmp, name + ".err"), "w+")
    proc = subprocess.Popen(argv, stderr=errf)
    for _ in range(300):
        errf.seek(0)
        m = re.search(pattern, errf.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    errf.seek(0)
    raise SystemExit("%s did not start: %s" % (name, errf.read()))


def stop(proc, name):
    proc.terminate()
    try:
        check(proc.wait(15) == 0, "%s exits 0 on SIGTERM" % name)
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "%s stops on SIGTERM" % name)


# ---- clients ------------------------------------------------------------------

def request(port, method, path, body=None, headers=None, src=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20,
                                   source_address=(src, 0) if src else None)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data


def login(port, user, pw):
    st, h, data = request(port, "POST", "/dashboard/login",
                          body="username=%s&password=%s" % (user, pw),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200, (st, data)
    cookie = re.match(r"(evd_session=[0-9a-f]+)", h["set-cookie"]).group(1)
    return cookie, json.loads(data)["csrf_token"]


def raw(port, data, timeout=10):
    """Send data on a fresh socket; return everything read until the server
    closes the connection or stays silent for `timeout` s."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out


def parse_responses(buf):
    """Split a byte stream into (status, headers, body) by Content-Length
    (or chunked encoding)."""
    out = []
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        h = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            h[k.strip().lower()] = v.strip()
        if "content-length" in h:
            n = int(h["content-length"])
            body, buf = rest[:n], rest[n:]
        elif h.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size, 16)
                body += rest[:n]
                rest = rest[n + 2:]
                if n == 0:
                    break
            buf = rest
        else:
            body, buf = rest, b""
        out.append((status, h, body))
    return out


def json_error(status, h, body, want, what):
    """An error reply: JSON with the error text and the same status."""
    ok = status == want and h.get("content-type", "").startswith("application/json")
    doc = None
    if ok:
        try:
            doc = json.loads(body)
        except ValueError:
            ok = False
    ok = ok and isinstance(doc.get("error"), str) and doc.get("status") == want
    check(ok, "%s: want JSON %d, got %d %s %r" % (what, want, status, h.get("content-type"),
                                                  body[:80]))


def raw_error(port, data, want, what):
    rs = parse_responses(raw(port, data))
    if not rs:
        return check(False, "%s: no response" % what)
    status, h, body = rs[0]
    json_error(status, h, body, want, what)


def guarded(fn, *args):
    """Run one case; an exception (a server that died, say) is a failure."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - any error of a case is a failed check
        check(False, "%s%r raised %r" % (fn.__name__, args[1:2], e))


# ---- the cases ----------------------------------------------------------------

def keep_alive(port, name, cookie):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.connect()
    sock = c.sock
    paths = ["/dashboard/api/session", "/dashboard/api/overview", "/dashboard/metrics",
             "/dashboard/api/versions", "/dashboard/", "/dashboard/api/nope",
             "/dashboard/api/overview?page=0"] * 3
    statuses = []
    for p in paths:
        c.request("GET", p, headers={"Cookie": cookie})
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        check((r.getheader("Connection") or "").lower() != "close",
              "%s: %s answered without Connection: close" % (name, p))
    # a POST with a body on the same connection, then a GET again
    c.request("POST", "/dashboard/login", body="username=nobody&password=x",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    statuses.append(r.status)
    c.request("GET", "/dashboard/api/session", headers={"Cookie": cookie})
    r = c.getresponse()
    r.read()
    statuses.append(r.status)
    check(c.sock is sock, "%s: %d requests on one connection (keep-alive)" % (name, len(statuses)))
    want = [200, 200, 200, 200, 200, 404, 400] * 3 + [401, 200]
    check(statuses == want, "%s: keep-alive answers are right: %r" % (name, statuses))
    c.close()


def pipelining(port, name, cookie):
    ck = cookie.encode()
    reqs = (b"GET /dashboard/api/session HTTP/1.1\r\nHost: x\r\nCookie: " + ck + b"\r\n\r\n"
            b"GET /dashboard/api/nope HTTP/1.1\r\nHost: x\r\nCookie: " + ck + b"\r\n\r\n"
            b"POST /dashboard/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\n"
            b"username=nobody&password=x"
            b"GET /dashboard/metrics HTTP/1.1\r\nHost: x\r\nCookie: " + ck +
            b"\r\nConnection: close\r\n\r\n")
    rs = parse_responses(raw(port, reqs))
    check([r[0] for r in rs] == [200, 404, 401, 200],
          "%s: four pipelined requests, four answers in order: %r" % (name, [r[0] for r in rs]))
    if len(rs) == 4:
        check(json.loads(rs[0][2]).get("role") is not None, "%s: first answer is the session" % name)
        check(rs[3][2].startswith(b"#") or b"evodash" in rs[3][2], "%s: last is metrics" % name)


def json_errors(port, name, cookie, csrf):
    """Both servers have the 256 KiB per-connection memory of
    server_mhd_options(), so 100 KB requests reach the handler too."""
    ck = {"Cookie": cookie}
    for q in ["tz=%ff%fe", "from=%c3%28", "%ff=1", "per_page=" + "%e2%82%ac" * 20]:
        st, h, body = request(port, "GET", "/dashboard/api/overview?" + q, headers=ck)
        json_error(st, h, body, 400, "%s: bad UTF-8 %s" % (name, q[:20]))
    st, h, body = request(port, "GET", "/dashboard/api/ov%ffview", headers=ck)
    json_error(st, h, body, 404, "%s: bad UTF-8 in the path" % name)
    ckb = cookie.encode()
    for n in (9000, 24000):  # over the 8 KiB URL / 16 KiB header bounds, under 32 KiB
        raw_error(port, b"GET /dashboard/api/overview?q=" + b"a" * n + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Cookie: " + ckb + b"\r\nConnection: close\r\n\r\n", 414,
                  "%s: %d-byte URL" % (name, n))
        raw_error(port, b"GET /dashboard/api/overview HTTP/1.1\r\nHost: x\r\nX-Big: " +
                  b"a" * (n + 8000) + b"\r\nConnection: close\r\n\r\n", 431,
                  "%s: %d-byte header" % (name, n + 8000))
    # past libmicrohttpd's default 32 KiB per connection
    raw_error(port, b"GET /dashboard/api/overview?q=" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n", 414, "%s: 100 KB URL" % name)
    raw_error(port, b"GET /dashboard/api/overview HTTP/1.1\r\nHost: x\r\n" +
              b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(100)) +
              b"Connection: close\r\n\r\n", 431, "%s: 100 KB of headers" % name)
    # a JSON body with a key twice
    hj = dict(ck, **{"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    st, h, body = request(port, "POST", "/dashboard/api/rules/1/level",
                          body='{"level":1,"level":3}', headers=hj)
    json_error(st, h, body, 400, "%s: {\"level\":1,\"level\":3}" % name)
    st, h, body = request(port, "POST", "/dashboard/login",
                          body='{"username":"x","username":"%s","password":"%s"}' % ADMIN,
                          headers={"Content-Type": "application/json"})
    json_error(st, h, body, 400, "%s: login body with a key twice" % name)


def dup_test_runs(port):
    st, h, body = request(port, "POST", "/dashboard/api/ci/builds",
                          body='{"build":"s","version":"t","build":"u","tests":[]}',
                          headers={"Authorization": "Bearer " + TOKEN,
                                   "Content-Type": "application/json"})
    json_error(st, h, body, 400, "serve: ci/builds body with a key twice")


def time_zones(port):
    cookie, _ = login(port, *GUEST)
    zones = ["Europe/Amsterdam", "Europe/Paris", "Europe/Berlin", "Europe/London", "Asia/Tokyo",
             "Asia/Kolkata", "Asia/Shanghai", "Asia/Dubai", "Asia/Kathmandu", "America/New_York",
             "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
             "Australia/Sydney", "Africa/Cairo", "Pacific/Auckland", "Etc/GMT%2B5", "Etc/GMT-14",
             "Pacific/Chatham", "Asia/Tehran", "America/St_Johns"]
    bad = [z for z in zones
           if request(port, "GET", "/dashboard/api/heatmap?tz=" + z,
                      headers={"Cookie": cookie})[0] != 200]
    check(not bad, "serve: %d distinct zones all served: refused %r" % (len(zones), bad))
    for q in ["tz=UTC", "", "tz=Europe%2FAmsterdam"]:
        st, _, body = request(port, "GET", "/dashboard/api/heatmap?" + q, headers={"Cookie": cookie})
        check(st == 200, "serve: after many zones, heatmap?%s answers 200 (got %d %r)"
              % (q, st, body[:80]))
    for q in ["tz=", "tz=Nope%2FZone", "tz=..%2F..%2Fetc%2Fpasswd", "tz=UTC%00", "tz=%2FUTC",
              "tz=" + "A" * 300, "tz=Europe%2F%ff"]:
        st, h, body = request(port, "GET", "/dashboard/api/heatmap?" + q,
                              headers={"Cookie": cookie})
        json_error(st, h, body, 400, "serve: odd zone %s" % q[:30])


def connections(port, name):
    """1,500 idle sockets from 127.0.0.2 (libmicrohttpd takes about 1,020 by
    default); a request from 127.0.0.1 must still be answered, and an idle
    socket is closed after IDLE_S."""
    held = []
    for _ in range(1500):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(3)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            break
        held.append(s)
    time.sleep(0.3)
    t0 = time.monotonic()
    try:
        st = request(port, "GET", "/dashboard/api/session", src="127.0.0.1")[0]
    except (OSError, http.client.HTTPException) as e:
        st = repr(e)
    ok = st == 401 and time.monotonic() - t0 < 5
    check(ok, "%s: with 1,500 idle sockets from one address, another "
                                       "gets its answer (got %s)" % (name, st))
    alive = 0
    for s in held:
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    check(alive <= 32, "%s: one address holds at most 32 connections "
                                                "(held %d)" % (name, alive))
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    s.settimeout(IDLE_S + 6)
    s.connect(("127.0.0.1", port))
    t0 = time.monotonic()
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = False
    took = time.monotonic() - t0
    s.close()
    check(closed and took < IDLE_S + 4,
                                   "%s: an idle connection is closed after %d s (closed %s after "
                                   "%.1f s)" % (name, IDLE_S, closed, took))


def secrets(port):
    cookie, _ = login(port, "admin1", "svc-pw")
    for _ in range(20):
        request(port, "GET", "/slow?ms=1")
    items = []
    deadline = time.time() + 15
    while time.time() < deadline:  # the writer keeps the mean that sets deadlines
        st, _, data = request(port, "GET", "/dashboard/api/overview", headers={"Cookie": cookie})
        items = [i for i in json.loads(data)["items"] if i["name"] == "GET /slow"]
        if items and items[0]["hits"]["overall"] >= 20:
            break
        time.sleep(0.2)
    check(items, "c_service: GET /slow recorded")
    if not items:
        return
    eid = items[0]["id"]
    long_q = "n" * 200 + "_token"
    long_h = "X-" + "a" * 200 + "-Secret"
    values = {"jwt": "qjwt-SECRET1", "access_key": "qak-SECRET2", "sig": "qsig-SECRET3",
              "j%77t": "qenc-SECRET4", long_q: "qlong-SECRET5"}
    headers = {"X-Jwt": "hjwt-SECRET6", "X-Access-Key": "hak-SECRET7",
               "Authorization": "Bearer hauth-SECRET8", "Cookie": "sid=hck-SECRET9",
               long_h: "hlong-SECRET10", "X-Plain": "plain-header"}
    qs = "ms=400&q=shoes&" + "&".join("%s=%s" % kv for kv in values.items())
    request(port, "GET", "/slow?" + qs, headers=headers)
    # On a busy machine a warm-up request may be an outlier too: find ours.
    data, seen = None, {}
    deadline = time.time() + 15
    while time.time() < deadline and data is None:
        st, _, listing = request(port, "GET", "/dashboard/api/endpoints/%d/outliers?from=0" % eid,
                                 headers={"Cookie": cookie})
        for o in json.loads(listing)["items"] if st == 200 else []:
            if o["id"] in seen:
                continue
            st, _, d = request(port, "GET", "/dashboard/api/outliers/%d" % o["id"],
                               headers={"Cookie": cookie})
            check(st == 200, "c_service: outlier details answer 200")
            url = json.loads(d).get("url") if st == 200 else None
            seen[o["id"]] = (o.get("duration_us"), url)
            if "ms=400" in (url or ""):
                data = d
        time.sleep(0.2)
    # what was seen instead, should it fail: which outliers, how long, for which URL
    _, _, counters = request(port, "GET", "/dashboard/api/counters", headers={"Cookie": cookie})
    check(data is not None, "c_service: the slow request is an outlier (outliers seen: %s; "
          "counters: %s)" % (seen, counters[:300]))
    if data is None:
        return
    text = data.decode()
    check("SECRET" not in text, "c_service: no secret value in the outlier: %s"
          % re.findall(r'[^"]*SECRET[^"]*', text)[:5])
    doc = json.loads(data)
    hd, vals = doc.get("headers") or {}, doc.get("values") or {}
    for k in ("X-Jwt", "X-Access-Key", "Authorization", "Cookie", long_h):
        check(hd.get(k) == "***", "c_service: header %s masked: %r" % (k[:20], hd.get(k)))
    check(hd.get("X-Plain") == "plain-header", "c_service: a plain header is shown")
    for k in ("jwt", "access_key", "sig", "jwt", long_q):  # j%77t arrives decoded as jwt
        check(vals.get(k) == "***", "c_service: parameter %s masked: %r" % (k[:20], vals.get(k)))
    check(vals.get("q") == "shoes" and "q=shoes" in (doc.get("url") or ""),
          "c_service: plain parameters are shown")
    check("jwt=***" in doc.get("url", "") and "j%77t=***" in doc.get("url", ""),
          "c_service: the URL's query is masked: %r" % doc.get("url", "")[:120])


def main():
    tmp = tempfile.mkdtemp(prefix="evd-hard-")
    procs = []
    try:
        db = os.path.join(tmp, "t.db")
        subprocess.run([os.path.join(BUILD, "tests/integration/fill"), db, str(int(time.time())),
                        "2000", "3", "2", "5", "3", "7"], check=True, stdout=subprocess.DEVNULL)
        cfg = os.path.join(tmp, "serve.cfg")
        with open(cfg, "w") as f:
            f.write("[dashboard]\nDATABASE=sqlite:///%s\nUSERNAME=%s\nPASSWORD=%s\n"
                    "GUEST_USERNAME=%s\nGUEST_PASSWORD=%s\nSECURITY_TOKEN=%s\n"
                    "HTTP_IDLE_TIMEOUT=%d\n" % ((db,) + ADMIN + GUEST + (TOKEN, IDLE_S)))
        serve, sport = start(tmp, "serve", [os.path.join(BUILD, "evodash"), "serve", "--config",
                                            cfg, "--listen", "127.0.0.1:0"],
                             r"serving http://127\.0\.0\.1:(\d+)/dashboard")
        procs.append((serve, "serve"))
        scfg = os.path.join(tmp, "svc.cfg")
        with open(scfg, "w") as f:
            f.write("[dashboard]\nDATABASE=sqlite:///%s\nAPP_VERSION=1.0\nUSERNAME=admin1\n"
                    "PASSWORD=svc-pw\nMONITOR_LEVEL=2\nHTTP_IDLE_TIMEOUT=%d\n"
                    % (os.path.join(tmp, "svc.db"), IDLE_S))
        svc, cport = start(tmp, "c_service", [os.path.join(BUILD, "examples/c_service"), scfg, "0"],
                           r"listening on http://127\.0\.0\.1:(\d+)/")
        procs.append((svc, "c_service"))

        # The C service's idle-socket case waits on its time-out: run it
        # beside the cases that use serve.  (serve's runs alone, last, so
        # that its 1,500 sockets measure it and nothing else.)
        scookie, scsrf = login(sport, *ADMIN)
        ccookie, ccsrf = login(cport, "admin1", "svc-pw")
        slow = threading.Thread(target=guarded, args=(connections, cport, "c_service"))
        slow.start()
        guarded(keep_alive, sport, "serve", scookie)
        guarded(pipelining, sport, "serve", scookie)
        guarded(json_errors, sport, "serve", scookie, scsrf)
        guarded(dup_test_runs, sport)
        guarded(time_zones, sport)
        slow.join()
        guarded(keep_alive, cport, "c_service", ccookie)
        guarded(pipelining, cport, "c_service", ccookie)
        guarded(secrets, cport)
        guarded(json_errors, cport, "c_service", ccookie, ccsrf)
        guarded(connections, sport, "serve")
    finally:
        for proc, name in procs:
            stop(proc, name)
        shutil.rmtree(tmp, ignore_errors=True)
    finish("http_test")


if __name__ == "__main__":
    main()
