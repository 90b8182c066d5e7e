#!/bin/sh
# utillog on the real /proc: a watched process with known connections,
# stopped by SIGTERM and by SIGINT; both files must be complete.
# usage: utillog.sh BUILD_DIR (holding evodash and trace/netpeer)
set -eu
B=$1
T=$(mktemp -d)
PEER=
trap '[ -n "$PEER" ] && kill $PEER 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "utillog: FAIL: $*" >&2; exit 1; }

"$B/trace/netpeer" 6 >"$T/port" &
PEER=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
read -r port cport <"$T/port" || fail "netpeer did not start"

run() { # signal seconds dir
	mkdir -p "$3"
	"$B/evodash" utillog -p netpeer -o "$3" --hz 10 >"$3/out" 2>"$3/err" &
	u=$!
	sleep "$2"
	kill -s "$1" $u
	wait $u || fail "utillog exited with $? after SIG$1: $(cat "$3/err")"
	# complete files: every line ends with a newline and has 3 fields
	for f in UtilLog.csv netLog.csv; do
		[ "$(tail -c 1 "$3/$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "$f does not end with a newline"
		awk -F, 'NF != 3 { exit 1 }' "$3/$f" || fail "$f has a row without 3 fields"
	done
	head -1 "$3/UtilLog.csv" | grep -qx 'time,cpu,mem' || fail "UtilLog.csv header"
	head -1 "$3/netLog.csv" | grep -qx 'start,target,end' || fail "netLog.csv header"
	rows=$(($(wc -l <"$3/UtilLog.csv") - 1))
	min=$(awk -v s="$2" 'BEGIN { print int(s * 10 * 0.6) }')
	[ "$rows" -ge "$min" ] || fail "only $rows samples in $2 s at 10 Hz"
	awk -F, 'NR > 1 && !($1 > 1e9 && $2 >= 0 && $3 > 0) { exit 1 }' "$3/UtilLog.csv" ||
		fail "UtilLog.csv values out of range"
	[ "$(grep -c ",127.0.0.1:$port," "$3/netLog.csv")" -eq 1 ] ||
		fail "expected one connection to 127.0.0.1:$port: $(cat "$3/netLog.csv")"
	grep -q ",127.0.0.1:9," "$3/netLog.csv" || fail "no UDP connection to 127.0.0.1:9 in netLog.csv"
	# the accepted side of the connection is incoming: not logged
	! grep -q ",127.0.0.1:$cport," "$3/netLog.csv" || fail "incoming connection logged: $(cat "$3/netLog.csv")"
	pct=$(sed -n 's/.*own CPU .* = \([0-9.]*\)% of one core.*/\1/p' "$3/out")
	[ -n "$pct" ] || fail "no own CPU line: $(cat "$3/out")"
	echo "utillog: SIG$1 after $2 s: $rows samples, own CPU $pct% of one core"
}
run TERM 2 "$T/term"
run INT 1 "$T/int"
echo "utillog: all checks passed"
