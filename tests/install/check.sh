#!/bin/sh
# Install into a scratch prefix, then check what a user gets: the files, a
# pkg-config file that works, a shared library that exports only evd_
# names, and the README's quick start compiling and running against it.
set -eu
cd "$(dirname "$0")/../.."
stage=$(mktemp -d /tmp/evd-install-XXXXXX)
trap 'rm -rf "$stage"' EXIT
make -s install PREFIX="$stage" >/dev/null
for f in bin/evodash lib/libevodash.so lib/libevodash.a include/evodash.h lib/pkgconfig/evodash.pc; do
	[ -e "$stage/$f" ] || { echo "install: missing $f" >&2; exit 1; }
done
"$stage/bin/evodash" version | grep -q '^evodash ' || { echo "install: evodash version failed" >&2; exit 1; }

# Only evd_ names may leak into a host process.
leaks=$(nm -D --defined-only "$stage/lib/libevodash.so" | awk '$2 ~ /[TDBRVW]/ {print $3}' |
	grep -v '^evd_' | grep -v '^_init$' | grep -v '^_fini$' || true)
if [ -n "$leaks" ]; then
	echo "install: libevodash.so exports non-evd_ symbols:" >&2
	echo "$leaks" >&2
	exit 1
fi

export PKG_CONFIG_PATH="$stage/lib/pkgconfig"
cc -Wall -Werror examples/quickstart.c -o "$stage/quickstart" $(pkg-config --cflags --libs evodash) \
	-Wl,-rpath,"$stage/lib"
out=$("$stage/quickstart" "sqlite:///$stage/q.db")
[ "$out" = "recorded 1000, dropped 0" ] || { echo "install: quick start printed: $out" >&2; exit 1; }
n=$(sqlite3 "$stage/q.db" 'SELECT count(*) FROM requests')
[ "$n" = 1000 ] || { echo "install: quick start stored $n rows, not 1000" >&2; exit 1; }
echo "install: 1 passed, 0 failed"
