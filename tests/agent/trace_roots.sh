#!/bin/sh
# The agent marks every request as a function-tracer interaction when
# libevodash-trace.so is loaded and tracing: the call log of the quick-start
# program (1000 requests) must hold 1000 startRoot/endRoot pairs named by
# the endpoint's rule.  Without the tracer, nothing changes.
set -eu
build=${1:-build/rel}
tmp=$(mktemp -d /tmp/evd-troots-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
EVODASH_TRACE_OUT="$tmp/callLog" LD_PRELOAD="$build/libevodash-trace.so" \
	"$build/examples/quickstart" "sqlite:///$tmp/q.db" >/dev/null
starts=$(grep -c '^startRoot /api/users/<id> ' "$tmp/callLog" || true)
ends=$(grep -c '^endRoot /api/users/<id> ' "$tmp/callLog" || true)
if [ "$starts" != 1000 ] || [ "$ends" != 1000 ]; then
	echo "trace roots: expected 1000 startRoot/endRoot, got $starts/$ends" >&2
	head -5 "$tmp/callLog" >&2
	exit 1
fi
"$build/examples/quickstart" "sqlite:///$tmp/q2.db" >/dev/null # no tracer: still fine
echo "trace roots: 1 passed, 0 failed"
