#!/usr/bin/env python3
"""Login and session hardening against real `evodash serve` processes, over
HTTP on loopback (client sockets bound to 127.0.0.x to act as many
addresses).

Rate limit (5 failures per address, 10 per user name, per 5 minutes):
  - another user's success clears neither the address's failures nor the
    attacked user's;
  - 24 parallel wrong guesses from one address are all answered, and at
    most 5 of them are verified (401), the rest refused (429);
  - a flood of logins from 300 other addresses, each with a name of its
    own, does not unblock a blocked address.

Users and sessions, across restarts with a changed config (the config is
the source of truth):
  - a guest password dropped from a GUEST_PASSWORD list ends the sessions
    made with it, and only those;
  - a guest no longer named cannot log in, and their session gets 401; a
    guest named again does not get the old session back;
  - a changed PASSWORD ends the admin's sessions; the new one logs in;
  - a changed USERNAME disables the old name;
  - GUEST_USERNAME equal to USERNAME is refused at start.

usage: login_test.py BUILD_DIR        (e.g. build/rel)
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from checks import check, finish  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/rel"
ADMIN = ("boss", "login-admin-pw")
GUEST = ("visitor", "login-guest-pw")



# ---- servers ------------------------------------------------------------------

def write_cfg(tmp, db, lines):
    cfg = os.path.join(tmp, "serve.cfg")
    with open(cfg, "w") as f:
        f.write("[dashboard]\nDATABASE=sqlite:///%s\n%s\n" % (db, "\n".join(lines)))
    return cfg


def start(tmp, cfg):
    errf = open(os.path.join(tmp, "serve.err"), "w+")
    proc = subprocess.Popen([os.path.join(BUILD, "evodash"), "serve", "--config", cfg,
                             "--listen", "127.0.0.1:0"], stderr=errf)
    for _ in range(400):
        errf.seek(0)
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/dashboard", errf.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    errf.seek(0)
    raise SystemExit("serve did not start: " + errf.read())


def stop(proc):
    proc.terminate()
    try:
        check(proc.wait(15) == 0, "serve exits 0 on SIGTERM")
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "serve stops on SIGTERM")


# ---- clients ------------------------------------------------------------------

def request(port, method, path, body=None, headers=None, src="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(src, 0))
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data


def try_login(port, user, pw, src="127.0.0.1"):
    """(status, cookie or None)"""
    st, h, _ = request(port, "POST", "/dashboard/login",
                       body=json.dumps({"username": user, "password": pw}),
                       headers={"Content-Type": "application/json"}, src=src)
    m = re.match(r"(evd_session=[0-9a-f]+)", h.get("set-cookie", ""))
    return st, m.group(1) if st == 200 and m else None


def session(port, cookie):
    return request(port, "GET", "/dashboard/api/session", headers={"Cookie": cookie})[0]


# ---- the rate limit -------------------------------------------------------------

def another_users_success(port):
    # the address: 4 failures, the guest's success, 1 failure: blocked
    a = "127.0.0.10"
    got = [try_login(port, "nobody-a", "wrong", a)[0] for _ in range(4)]
    got.append(try_login(port, *GUEST, src=a)[0])
    got.append(try_login(port, "nobody-a", "wrong", a)[0])
    got.append(try_login(port, *GUEST, src=a)[0])
    check(got == [401] * 4 + [200, 401, 429],
          "another user's success does not clear the address's failures: %r" % got)
    # the user name: 8 failures at the admin from two addresses, the guest's
    # success, 2 more: the admin is blocked from any address
    got = [try_login(port, ADMIN[0], "wrong", "127.0.0.%d" % (11 + i // 4))[0] for i in range(8)]
    got.append(try_login(port, *GUEST, src="127.0.0.13")[0])
    got += [try_login(port, ADMIN[0], "wrong", "127.0.0.13")[0] for _ in range(2)]
    got.append(try_login(port, *ADMIN, src="127.0.0.14")[0])
    got.append(try_login(port, *GUEST, src="127.0.0.14")[0])
    check(got == [401] * 8 + [200, 401, 401, 429, 200],
          "another user's success does not clear the user's failures; 10 lock the name, "
          "not the address: %r" % got)


def parallel_guesses(port):
    got = []
    lock = threading.Lock()

    def guess(i):
        try:
            st = try_login(port, "nobody-p", "wrong-%d" % i, "127.0.0.20")[0]
        except (OSError, http.client.HTTPException) as e:
            st = repr(e)
        with lock:
            got.append(st)

    th = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    n401, n429 = got.count(401), got.count(429)
    check(n401 + n429 == 24 and 1 <= n401 <= 5,
          "24 parallel guesses: all answered, at most 5 verified (401 x%d, 429 x%d, other %r)"
          % (n401, n429, [s for s in got if s not in (401, 429)]))


def flood(port):
    blocked = "127.0.0.30"
    got = [try_login(port, "nobody-f", "wrong", blocked)[0] for _ in range(6)]
    check(got == [401] * 5 + [429], "5 failures block an address: %r" % got)
    # More addresses than the old 256-slot table held.  Each sends a login
    # without a password (the old table gave it a slot before reading the
    # body), every 5th a wrong password too, with a name of its own: those
    # cost an argon2 verification each, so there are only 60 of them.
    srcs = ["127.0.0.%d" % x for x in range(40, 255)] + ["127.0.1.%d" % x for x in range(2, 87)]
    codes = {}
    lock = threading.Lock()

    def worker(part):
        for i, s in part:
            sts = [request(port, "POST", "/dashboard/login", body="username=flood-" + s,
                           headers={"Content-Type": "application/x-www-form-urlencoded"},
                           src=s)[0]]
            if i % 5 == 0:
                sts.append(try_login(port, "flood-" + s, "wrong", s)[0])
            with lock:
                for st in sts:
                    codes[st] = codes.get(st, 0) + 1

    th = [threading.Thread(target=worker, args=(list(enumerate(srcs))[i::4],)) for i in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    check(codes == {400: len(srcs), 401: len(srcs) // 5},
          "a flood from %d addresses is answered 400 and 401: %r" % (len(srcs), codes))
    st = try_login(port, *GUEST, src=blocked)[0]
    check(st == 429, "after the flood the blocked address is still blocked (got %d)" % st)


def rate_limit(tmp, db):
    cfg = write_cfg(tmp, db, ["USERNAME=%s" % ADMIN[0], "PASSWORD=%s" % ADMIN[1],
                              "GUEST_USERNAME=%s" % GUEST[0], "GUEST_PASSWORD=%s" % GUEST[1]])
    proc, port = start(tmp, cfg)
    try:
        t0 = time.monotonic()
        another_users_success(port)
        parallel_guesses(port)
        t1 = time.monotonic()
        flood(port)
        print("login_test: rate-limit cases %.1f s, flood %.1f s"
              % (t1 - t0, time.monotonic() - t1))
    finally:
        stop(proc)


# ---- users and sessions across restarts -------------------------------------------

def config_changes(tmp, db):
    admin = ["USERNAME=%s" % ADMIN[0], "PASSWORD=%s" % ADMIN[1]]
    guest = ["GUEST_USERNAME=%s" % GUEST[0]]

    def serve(lines):
        return start(tmp, write_cfg(tmp, db, lines))

    proc, port = serve(admin + guest + ["GUEST_PASSWORD=['g-one', 'g-two']"])
    st1, a1 = try_login(port, *ADMIN)
    st2, g1 = try_login(port, GUEST[0], "g-one")
    st3, g2 = try_login(port, GUEST[0], "g-two")
    check([st1, st2, st3] == [200] * 3, "admin and both guest passwords log in: %r"
          % [st1, st2, st3])
    stop(proc)
    if not (a1 and g1 and g2):
        return

    proc, port = serve(admin + guest + ["GUEST_PASSWORD=['g-one']"])
    got = [session(port, g2), session(port, g1), session(port, a1),
           try_login(port, GUEST[0], "g-two")[0]]
    check(got == [401, 200, 200, 401],
          "a guest password taken off the list ends its sessions, only its: %r" % got)
    stop(proc)

    proc, port = serve(admin)
    got = [session(port, g1), try_login(port, GUEST[0], "g-one")[0], session(port, a1)]
    check(got == [401, 401, 200], "a guest no longer in the config: session 401, login 401; "
          "the admin's session is kept: %r" % got)
    stop(proc)

    proc, port = serve(["USERNAME=%s" % ADMIN[0], "PASSWORD=changed-admin-pw"])
    st, a2 = try_login(port, ADMIN[0], "changed-admin-pw")
    got = [session(port, a1), try_login(port, *ADMIN)[0], st, a2 and session(port, a2)]
    check(got == [401, 401, 200, 200], "a changed PASSWORD: the old session 401, the old "
          "password 401, the new one logs in: %r" % got)
    stop(proc)

    proc, port = serve(["USERNAME=chief", "PASSWORD=changed-admin-pw"] + guest +
                       ["GUEST_PASSWORD=g-one"])
    got = [session(port, g1), try_login(port, GUEST[0], "g-one")[0],
           a2 and session(port, a2), try_login(port, ADMIN[0], "changed-admin-pw")[0],
           try_login(port, "chief", "changed-admin-pw")[0]]
    check(got == [401, 200, 401, 401, 200], "a guest named again logs in but gets no old "
          "session back; a renamed admin: old name 401, new name 200: %r" % got)
    stop(proc)

    cfg = write_cfg(tmp, db, ["USERNAME=chief", "PASSWORD=changed-admin-pw",
                              "GUEST_USERNAME=chief", "GUEST_PASSWORD=g-one"])
    proc = subprocess.Popen([os.path.join(BUILD, "evodash"), "serve", "--config", cfg,
                             "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    err = err.decode(errors="replace")
    check(proc.returncode not in (0, -9) and "GUEST_USERNAME" in err,
          "GUEST_USERNAME equal to USERNAME is refused (rc %d: %r)" % (proc.returncode, err[-200:]))


def main():
    tmp = tempfile.mkdtemp(prefix="evd-login-")
    try:
        db = os.path.join(tmp, "t.db")
        subprocess.run([os.path.join(BUILD, "tests/integration/fill"), db, str(int(time.time())),
                        "50", "1", "1", "1", "1", "7"], check=True, stdout=subprocess.DEVNULL)
        rate_limit(tmp, db)
        t0 = time.monotonic()
        config_changes(tmp, db)
        print("login_test: config changes %.1f s" % (time.monotonic() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("login_test")


if __name__ == "__main__":
    main()
