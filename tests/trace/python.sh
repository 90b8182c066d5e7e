#!/bin/sh
# The Python profile hook: trace pyprog.py, profile it, check the pieces of
# its interaction and their cpu_time within 10%, and the C calls' names.
# usage: python.sh BUILD_DIR (holding evodash and trace/_evodash_trace.so)
set -eu
B=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "python: FAIL: $*" >&2; exit 1; }

python3 "$(dirname "$0")/pyprog.py" "$B/trace" "$T/callLog" "$T/expect" || fail "pyprog.py"
grep -q '^start pyprog.work_b ' "$T/callLog" || fail "no pyprog.work_b in the log"
grep -q '^start time.perf_counter ' "$T/callLog" || fail "C calls are not named module.function"
! grep -q '_evodash_trace' "$T/callLog" || fail "the tracer's own calls are in the log"
for d in 1 2; do
	"$B/evodash" profile -cl "$T/callLog" -d $d -o "$T/d$d" 2>"$T/d$d.err" ||
		{ cat "$T/d$d.err"; fail "profile -d $d"; }
	grep -q ' 0 unclosed, 0 unmatched ends' "$T/d$d.err" || fail "unbalanced log: $(cat "$T/d$d.err")"
done
got() {
	jq -r '.scenarios[0].interactions[] | select(.name == "py/req") | .functions[]
		| select(.cpu_time >= 1e6) | "\(.functionID | sub("_[0-9]+$"; "")) \(.cpu_time / 1e6)"' \
		"$1/profile.json" | tr '\n' ' '
}
# check DIR KEY NOMINAL: pieces match the program's own measurements (line
# KEY of $T/expect) within 10%, and each measurement is >= its nominal time.
check() {
	g=$(got "$1")
	meas=$(sed -n "s/^$2 //p" "$T/expect")
	d=$1 nominal=$3
	set -- $meas
	k=0
	n=0
	for _ in $g; do n=$((n + 1)); done
	[ $n -eq $# ] || fail "$d: expected '$meas', got '$g'"
	for w in $g; do
		k=$((k + 1))
		eval "want=\${$k}"
		if [ $((k % 2)) -eq 1 ]; then
			[ "$w" = "$want" ] || fail "$d: expected '$meas', got '$g'"
		else
			awk -v g="$w" -v e="$want" 'BEGIN { exit !(g >= 0.9 * e && g <= 1.1 * e) }' ||
				fail "$d: cpu_time $w ms, measured $want ms: not within 10% (got '$g')"
			nom=$(echo "$nominal" | cut -d' ' -f$((k / 2)))
			awk -v m="$want" -v e="$nom" 'BEGIN { exit !(m >= e) }' ||
				fail "$d: measured $want ms for a $nom ms spin"
		fi
	done
	echo "python: $d ok: $g"
}
check "$T/d1" d1 "80"
check "$T/d2" d2 "30 50"
echo "python: all checks passed"
