# src/server/build.mk — the libmicrohttpd transport and adapter (their
# sources are in LIB_SRC).

# HTTP-level hardening against a real `evodash serve` and the real C example
# service: keep-alive and pipelining, connection exhaustion and idle
# time-outs, JSON errors for bad input, many time zones, masked secrets in
# outlier details.  About 10 s.
check-hardening-http: build/rel/evodash build/rel/tests/integration/fill build/rel/examples/c_service
	/usr/bin/python3 tests/hardening/http_test.py build/rel
CHECK_EXTRA += check-hardening-http
.PHONY: check-hardening-http

# Login and session hardening against real `evodash serve` processes: the
# rate limit (other users' successes, parallel guesses, a flood from 300
# addresses), users removed from the config and sessions after a password
# change (restarts with a changed config).  About 15 s, most of it argon2.
check-hardening-login: build/rel/evodash build/rel/tests/integration/fill
	/usr/bin/python3 tests/hardening/login_test.py build/rel
CHECK_EXTRA += check-hardening-login
.PHONY: check-hardening-login
