#!/bin/sh
# serve_test.sh — integration test of `evodash simulate --serve`: start the
# server on a free loopback port, upload the four files with curl, and check
# the page, the results API, the list of past runs, and the rejection of bad
# or hostile input.  Usage: tests/sim/serve_test.sh path/to/evodash
set -eu
EVODASH=${1:-build/rel/evodash}
DATA=$(dirname "$0")/data
TMP=$(mktemp -d /tmp/evd_sim_serve.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
fail() { echo "serve_test: FAIL: $*" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$EVODASH" simulate --serve --listen "127.0.0.1:$PORT" --dir "$TMP/runs" \
	--max-upload 200000 --max-arrivals 1000000 2>"$TMP/server.log" &
PID=$!
i=0
until curl -fsS -o /dev/null "$BASE/" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "server did not start: $(cat "$TMP/server.log")"
	kill -0 "$PID" 2>/dev/null || fail "server exited: $(cat "$TMP/server.log")"
	sleep 0.1
done

# The page and the embedded ECharts (nothing from a CDN).
curl -fsS "$BASE/" >"$TMP/page.html"
grep -q 'src="echarts.js"' "$TMP/page.html" || fail "page does not load echarts.js"
grep -q 'api/runs' "$TMP/page.html" || fail "page does not use the API"
if grep -qE 'src="https?://' "$TMP/page.html"; then fail "page loads a remote script"; fi
[ "$(curl -fsS "$BASE/echarts.js" | wc -c)" -gt 100000 ] || fail "echarts.js is missing"

# status CODE BODYFILE curl-args...: run curl, check the HTTP status.
status() {
	want=$1 out=$2
	shift 2
	got=$(curl -sS -o "$out" -w '%{http_code}' "$@")
	[ "$got" = "$want" ] || fail "$* -> HTTP $got, expected $want: $(cat "$out")"
}

upload() {
	status "$1" "$2" -F "profile=@$DATA/profile.json" -F "services=@$3" \
		-F "mapping=@$DATA/mapping.json" -F "distribution=@$4" -F "seed=$5" "$BASE/api/runs"
}

# Two runs with the same seed, one with another.
upload 201 "$TMP/r1.json" "$DATA/services.json" "$DATA/distribution.json" 7
upload 201 "$TMP/r2.json" "$DATA/services.json" "$DATA/distribution.json" 7
upload 201 "$TMP/r3.json" "$DATA/services.json" "$DATA/distribution.json" 8
status 200 "$TMP/list.json" "$BASE/api/runs"
for k in 1 2 3; do
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/r$k.json")
	status 200 "$TMP/res$k.json" "$BASE/api/runs/$id"
done
python3 - "$TMP" <<'EOF'
import json, sys
d = sys.argv[1]
runs = json.load(open(d + "/list.json"))["runs"]
metas = [json.load(open(f"{d}/r{k}.json")) for k in (1, 2, 3)]
assert [r["id"] for r in runs] == sorted((m["id"] for m in metas), reverse=True), runs
res = [json.load(open(f"{d}/res{k}.json")) for k in (1, 2, 3)]
for m, r in zip(metas, res):
    for key in ("dones", "response_time", "service_util", "sim_events"):
        cols = r[key]
        n = len(cols["t"])
        assert n > 0, key
        assert all(len(v) == n for v in cols.values()), key
    s = r["summary"]
    assert s["arrivals"] == m["arrivals"] > 0
    assert s["interactions_completed"] + s["interactions_in_flight"] == s["interactions_started"]
    assert {x["identifier"] for x in s["services"]} == {"default", "db"}
    assert set(r["service_util"]["identifier"]) == {"default", "db", "average"}
    assert set(r["dones"]["identifier"]) == {"scenario 1 interaction 0", "scenario 1 interaction 1"}
    # expected vs completed: the last sample has everything completed.
    last = {i: (c, e) for i, c, e in zip(r["dones"]["identifier"], r["dones"]["completed"], r["dones"]["expected"])}
    assert all(c == e for c, e in last.values()), last
strip = lambda r: json.dumps(r["summary"]["interactions"], sort_keys=True)
assert strip(res[0]) == strip(res[1]), "same seed, different results"
assert strip(res[0]) != strip(res[2]), "another seed, same results"
EOF

# Bad input: a JSON-path error, a missing file, oversize, too much work,
# malformed ids and path traversal.
printf '{"services":[{"serviceID":"default"},{"serviceID":"db","scale":0}]}' >"$TMP/bad.json"
upload 400 "$TMP/e1.json" "$TMP/bad.json" "$DATA/distribution.json" 1
grep -q 'services.json: \$.services\[1\].scale: expected a positive integer' "$TMP/e1.json" ||
	fail "no JSON path in $(cat "$TMP/e1.json")"
status 400 "$TMP/e2.json" -F "distribution=@$DATA/distribution.json" "$BASE/api/runs"
grep -q 'profile' "$TMP/e2.json" || fail "missing profile not reported"
python3 -c 'print("[" + ",".join(["{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":1,\"scenarioID\":1}"] * 4000) + "]")' >"$TMP/big.json"
upload 413 "$TMP/e3.json" "$DATA/services.json" "$TMP/big.json" 1
printf '[{"kind":"uniform","start":0,"end":10,"volume":1e9,"scenarioID":1}]' >"$TMP/huge.json"
upload 400 "$TMP/e4.json" "$DATA/services.json" "$TMP/huge.json" 1
grep -q 'at most' "$TMP/e4.json" || fail "arrival cap not reported: $(cat "$TMP/e4.json")"
status 400 "$TMP/e5.json" "$BASE/api/runs/abc"
status 400 "$TMP/e6.json" --path-as-is "$BASE/api/runs/../../../../etc/passwd"
status 400 "$TMP/e7.json" "$BASE/api/runs/..%2F..%2Fetc%2Fpasswd"
status 404 "$TMP/e8.json" "$BASE/api/runs/999999"
status 405 "$TMP/e9.json" -X DELETE "$BASE/api/runs/1"
[ "$(ls "$TMP/runs" | wc -l)" = 3 ] || fail "rejected uploads left run directories"
kill -0 "$PID" || fail "server died"
echo "serve_test: all checks passed"
