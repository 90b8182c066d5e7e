#!/bin/sh
# The CLI side: --help, usage errors (exit 2), failures (exit 1) with clear
# messages, and validate's JSON paths.  usage: cli.sh BUILD_DIR
set -eu
E=$1/evodash
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli: FAIL: $*" >&2; exit 1; }
# expect CODE PATTERN CMD...: exit status and a pattern in stdout+stderr
expect() {
	code=$1 pat=$2
	shift 2
	set +e
	"$@" >"$T/out" 2>&1
	rc=$?
	set -e
	[ $rc -eq "$code" ] || fail "'$*' exited $rc, expected $code: $(cat "$T/out")"
	grep -q -- "$pat" "$T/out" || fail "'$*': no '$pat' in: $(cat "$T/out")"
}
for c in utillog profile validate; do
	expect 0 "usage: evodash $c" "$E" $c --help
done
expect 2 "-cl CALLLOG is required" "$E" profile
expect 2 "unknown option '--bogus'" "$E" profile --bogus
expect 2 "expected an integer in 1..1000, got '0'" "$E" profile -cl x -d 0
expect 2 "-p PROGRAM is required" "$E" utillog
expect 2 "bad number" "$E" utillog -p x --hz abc
expect 1 "nope: No such file" "$E" profile -cl "$T/nope" -o "$T"
printf 'start a 1\nend a 2\n' >"$T/log"
printf 'when,cpu\n' >"$T/u.csv"
expect 1 "expected the header time,cpu,mem" "$E" profile -cl "$T/log" -l "$T/u.csv" -o "$T"
expect 0 "1 interactions" "$E" profile -cl "$T/log" -o "$T/out1"
expect 0 "valid" "$E" validate "$T/out1/profile.json" "$T/out1/services.json" "$T/out1/mapping.json"
printf '{"name":"x","scenarios":[{"scenarioID":1,"interactions":[{"name":"a","interactionID":"0 a","delay":0,"functions":[{"functionID":"f","cpu":1,"cpu_time":"fast","ram":0,"io":0,"net":0,"delay":0,"callbacks":["-1"]}]}]}]}' >"$T/bad.json"
expect 1 'bad.json: $.scenarios\[0\].interactions\[0\].functions\[0\].cpu_time: expected number, got string' \
	"$E" validate "$T/bad.json"
printf '{"services": [{"serviceID": "db"}]}' >"$T/s.json"
expect 1 '$.services: no item matches' "$E" validate "$T/s.json"
expect 1 'invalid JSON at line 1' "$E" validate --schema mapping "$T/log"
expect 2 "unknown schema 'x'" "$E" validate --schema x "$T/s.json"
expect 0 '"scaleingMetric"' "$E" validate --print-schema services

# The original DSPS tools' own files (tests/data/dsps, see its README):
# every one validates, and every demo model simulates.
DSPS=$(dirname "$0")/../data/dsps
for f in "$DSPS"/demo_files/*.json "$DSPS"/demo_files/Validierung_Queueing_Theory/*/*.json; do
	expect 0 ": valid" "$E" validate "$f"
done
for d in "$DSPS"/demo_files "$DSPS"/demo_files/Validierung_Queueing_Theory/1 \
	"$DSPS"/demo_files/Validierung_Queueing_Theory/2 "$DSPS"/demo_files/Validierung_Queueing_Theory/3; do
	expect 0 "in flight 0, not started 0" "$E" simulate -p "$d/profile.json" -s "$d/services.json" \
		-m "$d/mapping.json" -d "$d/distribution.json" -o -
done
expect 0 "^arrivals 1;" "$E" simulate -p "$DSPS/demo_files/profile.json" \
	-s "$DSPS/demo_files/services.json" -m "$DSPS/demo_files/mapping.json" \
	-d "$DSPS/demo_files/distribution2.json" -o -
# The profile builder's own test input: its net.csv is a 0-byte file, which
# means no connections; the UtilLog is one the original logger wrote.
CT=$DSPS/Profiler/Converter/Tests
expect 0 "2 interactions, 11 functions, 0 remote calls" "$E" profile -cl "$CT/callLog.csv" \
	-n "$CT/net.csv" -l "$DSPS/demo_files/validationTestProgram/utilLog.csv" -o "$T/dsps"
expect 0 "valid" "$E" validate "$T/dsps/profile.json" "$T/dsps/services.json" "$T/dsps/mapping.json"
echo "cli: all checks passed"
