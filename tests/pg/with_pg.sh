#!/bin/sh
# with_pg.sh [--durable] CMD [ARG...] — run CMD beside a throwaway
# PostgreSQL server: a fresh cluster in a temporary folder, owned by an
# unprivileged user, listening on a free loopback port, with password
# authentication over TCP.  CMD finds it in the environment:
#
#   EVODASH_TEST_PG   postgresql://evodash:PASSWORD@127.0.0.1:PORT  (a superuser;
#                     append /DBNAME, see newdb below)
#   EVODASH_TEST_PG_BIN  the server's bin folder (pg_ctl, createdb, psql)
#   EVODASH_TEST_PG_DATA the cluster's folder (to stop and start it)
#   EVODASH_TEST_PG_RUN  how to run a server command as its owner
#
# The cluster is stopped and removed when CMD ends, however it ends.  By
# default it trades durability for speed (fsync off), which tests do not
# need; --durable keeps PostgreSQL's defaults, for benchmarks.
set -eu
DURABLE=
if [ "${1:-}" = --durable ]; then
    DURABLE=1
    shift
fi
[ $# -gt 0 ] || { echo "usage: with_pg.sh [--durable] CMD [ARG...]" >&2; exit 2; }
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$BIN/initdb" ] || { echo "with_pg.sh: no PostgreSQL server (install the postgresql package)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/evd-pg-XXXXXX)
if [ "$(id -u)" = 0 ]; then
    # initdb refuses root: the cluster belongs to the package's postgres user
    OWNER=postgres
    chown "$OWNER" "$DIR"
    RUN="runuser -u $OWNER --"
else
    RUN=
fi
PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PW" > "$DIR/pw"
chmod 600 "$DIR/pw"
[ -n "$RUN" ] && chown "$OWNER" "$DIR/pw"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
    $RUN "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

$RUN "$BIN/initdb" -D "$DIR/data" -U evodash --pwfile="$DIR/pw" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 ||
    { cat "$DIR/initdb.log" >&2; exit 1; }
OPTS="-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c max_connections=200"
[ -n "$DURABLE" ] || OPTS="$OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
$RUN "$BIN/pg_ctl" -D "$DIR/data" -o "$OPTS" -l "$DIR/server.log" -w start >/dev/null ||
    { cat "$DIR/server.log" >&2; exit 1; }

export EVODASH_TEST_PG="postgresql://evodash:$PW@127.0.0.1:$PORT"
export EVODASH_TEST_PG_BIN="$BIN"
export EVODASH_TEST_PG_DATA="$DIR/data"
export EVODASH_TEST_PG_RUN="$RUN"
export EVODASH_TEST_PG_OPTS="$OPTS"
set +e
"$@"
rc=$?
set -e
exit $rc
