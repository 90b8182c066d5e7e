#!/bin/sh
# Round trip: trace roundtrip_prog (known work per function), build the
# profile, check the call-tree shape and cpu_time within 10%; then trace
# preload_prog through LD_PRELOAD and check its tree.
# usage: roundtrip.sh BUILD_DIR (holding evodash, libevodash-trace.so, trace/)
set -eu
B=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "roundtrip: FAIL: $*" >&2; exit 1; }

EVODASH_TRACE_OUT="$T/callLog" ROUNDTRIP_EXPECT="$T/expect" "$B/trace/roundtrip_prog"
"$B/evodash" profile -cl "$T/callLog" -d 3 -o "$T/d3" 2>"$T/d3.err" || { cat "$T/d3.err"; fail "profile -d 3"; }
"$B/evodash" profile -cl "$T/callLog" -d 1 -o "$T/d1" 2>"$T/d1.err" || { cat "$T/d1.err"; fail "profile -d 1"; }

# "name ms" for the pieces of one interaction longer than 1 ms, in order.
pieces() { # dir interaction
	jq -r --arg i "$2" '.scenarios[0].interactions[] | select(.name == $i) | .functions[]
		| select(.cpu_time >= 1e6)
		| "\(.functionID | sub("_[0-9]+$"; "")) \(.cpu_time / 1e6)"' "$1/profile.json"
}
# expect DIR INTERACTION KEY NOMINAL: the pieces must match the program's
# own measurements (line KEY of $T/expect) in name and within 10% in time,
# and each measurement must be at least its nominal time (the work was done).
expect() {
	got=$(pieces "$1" "$2" | tr '\n' ' ')
	meas=$(sed -n "s/^$3 //p" "$T/expect")
	d=$1 i=$2 nominal=$4
	set -- $meas
	n=0
	for _ in $got; do n=$((n + 1)); done
	[ $n -eq $# ] || fail "$d $i: expected pieces '$meas', got '$got'"
	k=0
	for w in $got; do
		k=$((k + 1))
		eval "want=\${$k}"
		if [ $((k % 2)) -eq 1 ]; then
			[ "$w" = "$want" ] || fail "$d $i: piece $(((k + 1) / 2)) is '$w', expected '$want' (got '$got')"
		else
			awk -v g="$w" -v e="$want" 'BEGIN { exit !(g >= 0.9 * e && g <= 1.1 * e) }' ||
				fail "$d $i: cpu_time $w ms, measured $want ms: not within 10% (got '$got')"
			nom=$(echo "$nominal" | cut -d' ' -f$((k / 2)))
			awk -v m="$want" -v e="$nom" 'BEGIN { exit !(m >= e) }' ||
				fail "$d $i: measured $want ms for a $nom ms spin"
		fi
	done
	echo "roundtrip: $d $i ok: $got"
}
expect "$T/d3" req/a a3 "20 50 20 100 20"
expect "$T/d3" req/b b3 "100 100"
expect "$T/d1" req/a a1 "210"
expect "$T/d1" req/b b1 "200"
jq -e '.scenarios[0].interactions | length == 2' "$T/d3/profile.json" >/dev/null || fail "2 interactions"
# Interactions are in start order: req/b ran first.
jq -e '.scenarios[0].interactions[0].name == "req/b" and .scenarios[0].interactions[1].delay > 2e8' \
	"$T/d3/profile.json" >/dev/null || fail "interaction order or delay"
# The chain of callbacks runs through every piece and ends with "-1".
jq -e '[.scenarios[0].interactions[].functions as $f | range(0; $f | length) as $k
	| if $k + 1 < ($f | length) then $f[$k].callbacks == [$f[$k + 1].functionID]
	  else $f[$k].callbacks == ["-1"] end] | all' "$T/d3/profile.json" >/dev/null || fail "callback chain"
"$B/evodash" validate "$T/d3/profile.json" "$T/d3/services.json" "$T/d3/mapping.json" >/dev/null ||
	fail "validate"
grep -q 'echarts' "$T/d3/gantt.html" && grep -q 'req/a' "$T/d3/gantt.html" || fail "gantt.html"
grep -q 'spin_100' "$T/d3/callgraph.html" || fail "callgraph.html"
# The three files load in the simulator (the next tool in the chain).
echo '[{"kind":"uniform","start":0,"end":5,"volume":10,"scenarioID":1}]' >"$T/dist.json"
"$B/evodash" simulate -p "$T/d3/profile.json" -s "$T/d3/services.json" -m "$T/d3/mapping.json" \
	-d "$T/dist.json" -o "$T/sim.json" >"$T/sim.out" 2>&1 || { cat "$T/sim.out"; fail "simulate"; }
grep -q 'req/a' "$T/sim.out" || fail "simulate: no req/a in $(cat "$T/sim.out")"
# The charts' code runs and draws (ECharts' server-side renderer in node).
E="$(pwd)/web/node_modules/echarts"
timeout 60 node "$(dirname "$0")/html_check.js" "$E" "$T/d3/gantt.html" 2 || fail "gantt.html does not draw"
timeout 60 node "$(dirname "$0")/html_check.js" "$E" "$T/d3/callgraph.html" 5 || fail "callgraph.html does not draw"

# LD_PRELOAD, no markers: main is the one interaction; static leaf is named.
# The program forks: the child writes its own log (%p), the parent's is whole.
out=$(EVODASH_TRACE_OUT="$T/pl.%p" LD_PRELOAD="$B/libevodash-trace.so" "$B/trace/preload_prog")
[ "$out" = 18 ] || fail "preload_prog printed '$out'"
[ "$(ls "$T"/pl.* | wc -l)" -eq 2 ] || fail "expected 2 logs (parent, child): $(ls "$T")"
log=$(grep -l '^start preload_prog.main ' "$T"/pl.*)
clog=$(grep -L '^start preload_prog.main ' "$T"/pl.*)
[ "$(grep -c '^start preload_prog.leaf ' "$log")" -eq 6 ] || fail "6 calls of leaf in $log"
[ "$(grep -c '^end preload_prog.middle ' "$log")" -eq 3 ] || fail "3 ends of middle in $log"
[ "$(grep -c '^start preload_prog.leaf ' "$clog")" -eq 4 ] || fail "4 calls of leaf in child $clog"
"$B/evodash" profile -cl "$log" -d 2 -o "$T/pl" 2>"$T/pl.err" || { cat "$T/pl.err"; fail "profile preload"; }
jq -e '.scenarios[0].interactions | length == 1 and .[0].name == "preload_prog.main"' \
	"$T/pl/profile.json" >/dev/null || fail "preload: one interaction named preload_prog.main"
n=$(jq '[.scenarios[0].interactions[0].functions[].functionID | select(startswith("preload_prog.leaf_"))] | length' "$T/pl/profile.json")
[ "$n" -eq 6 ] || fail "preload: 6 leaf pieces at depth 2, got $n"
echo "roundtrip: all checks passed"
