#!/bin/sh
# demo_run.sh [BUILD_DIR] — what `make demo` runs: a store with a realistic
# 60-day history (demo_history), then the example C service recording its
# live traffic into the same store while a small client loop calls it, and
# the dashboard on the service's own port.  Prints the URL and the logins;
# Ctrl-C stops everything it started.
set -eu
B=${1:-build/rel}
DIR=build/demo
mkdir -p "$DIR"
DB=$(cd "$DIR" && pwd)/evodash.db
PORT=${DEMO_PORT:-9090}
rm -f "$DB" "$DB-wal" "$DB-shm"
"$B/examples/demo_history" "$DB" "${DEMO_REQUESTS:-600000}"
CFG=$DIR/evodash.cfg
cat > "$CFG" <<CFGEOF
[dashboard]
APP_VERSION=v1.6.0
SERVICE_NAME=shop
MONITOR_LEVEL=3
DATABASE=sqlite:///$DB
[authentication]
USERNAME=admin
PASSWORD=demo-admin
GUEST_USERNAME=guest
GUEST_PASSWORD=demo-guest
CFGEOF
"$B/examples/c_service" "$CFG" "$PORT" 2> "$DIR/service.log" &
SVC=$!
CLIENT=
cleanup() {
    [ -n "$CLIENT" ] && kill "$CLIENT" 2>/dev/null || true
    kill "$SVC" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for _ in $(seq 50); do
    grep -q listening "$DIR/service.log" 2>/dev/null && break
    kill -0 "$SVC" 2>/dev/null || { cat "$DIR/service.log" >&2; exit 1; }
    sleep 0.1
done
URL=http://127.0.0.1:$PORT
# Live traffic: a few requests a second, of every speed, some 404s.
(
    i=0
    while :; do
        i=$((i + 1))
        curl -s -o /dev/null "$URL/hello" || true
        curl -s -o /dev/null -H "X-User: user$((i % 12 + 1))" "$URL/users/$((i * 37 % 1100))" || true
        [ $((i % 3)) = 0 ] && curl -s -o /dev/null -X POST -d '{}' "$URL/orders" || true
        sleep 0.3
    done
) &
CLIENT=$!
echo
echo "evodash demo: dashboard at $URL/dashboard/"
echo "  admin: admin / demo-admin    guest: guest / demo-guest"
echo "  store: $DB (60 days of history + live traffic from examples/c_service)"
echo "  Ctrl-C to stop."
wait "$SVC"
