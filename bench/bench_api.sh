#!/bin/sh
# bench_api.sh BUILD_DIR [--pg] — fill (or reuse) a store of 10 million
# requests over 90 days (50 endpoints, 20 versions, 1000 users), start
# `evodash serve` on a loopback port, and measure every route with
# bench_api.  The store is cached in BUILD_DIR/bench-api/, keyed by the fill
# parameters, so a rerun is quick.
#
# With --pg (run under tests/pg/with_pg.sh) the same store is copied into
# the PostgreSQL server with `evodash migrate` (analysed and checkpointed
# after, as a production database would have been) and served from there.
# Either way every past hour of the store is packed first (`evodash
# compact`), as the dashboard's background packing leaves a store.
set -eu
B=${1:-build/rel}
NOW=1793797200   # 2026-11-04T13:00:00Z: fixed, so that the cache stays valid
ARGS="10000000 50 20 1000 90 42"
SCHEMA=6  # refill when the store layout changes
PGMODE=${2:-}
DIR=$B/bench-api
DB=$DIR/store.db
mkdir -p "$DIR"
if [ ! -f "$DB" ] || [ "$(cat "$DIR/params" 2>/dev/null)" != "$NOW $ARGS $SCHEMA" ]; then
    rm -f "$DB" "$DB-wal" "$DB-shm" "$DIR/params"
    echo "bench-api: filling $DB (10M requests; cached for later runs)" >&2
    # shellcheck disable=SC2086
    "$B/tests/integration/fill" "$DB" "$NOW" $ARGS >&2
    echo "$NOW $ARGS $SCHEMA" > "$DIR/params"
fi
URL=sqlite:///$(cd "$DIR" && pwd)/store.db
# as a dashboard running at NOW leaves it: every hour packed but the last,
# which ended less than 10 minutes before (quick when the cached store is
# packed already)
"$B/evodash" compact --db "$URL" --until "$NOW" >&2
if [ "$PGMODE" = --pg ]; then
    [ -n "${EVODASH_TEST_PG:-}" ] || { echo "bench_api.sh --pg: run under tests/pg/with_pg.sh" >&2; exit 2; }
    "$EVODASH_TEST_PG_BIN/psql" "$EVODASH_TEST_PG/postgres" -qc "CREATE DATABASE bench_api"
    echo "bench-api: copying the store into PostgreSQL (evodash migrate)" >&2
    t0=$(date +%s)
    "$B/evodash" migrate --from "$URL" --to "$EVODASH_TEST_PG/bench_api" >&2
    echo "bench-api: copied in $(( $(date +%s) - t0 )) s; analysing" >&2
    # analysed, and the copy's dirty pages written out now rather than by a
    # checkpoint in the middle of the measurements
    "$EVODASH_TEST_PG_BIN/psql" "$EVODASH_TEST_PG/bench_api" -qc "VACUUM ANALYZE" -c "CHECKPOINT"
    URL=$EVODASH_TEST_PG/bench_api
fi
CFG=$DIR/serve.cfg
printf '[dashboard]\nDATABASE=%s\nUSERNAME=bench\nPASSWORD=bench-pw\nSECURITY_TOKEN=bench-token\n' \
    "$URL" > "$CFG"
"$B/evodash" serve --config "$CFG" --listen 127.0.0.1:0 2> "$DIR/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$DIR/serve.err")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { cat "$DIR/serve.err" >&2; exit 1; }
"$B/bench/bench_api" "$PORT" bench bench-pw bench-token "$NOW" 15
