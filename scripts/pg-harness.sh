#!/bin/sh
# Throw-away PostgreSQL server for poking at lock behaviour by hand, set up like
# tests/real_pg.rs does it (Unix socket only, autovacuum off, TimeZone UTC, the
# fixture of fixtures/locks/README.md in schema `lab`).
#
#   scripts/pg-harness.sh            start, open psql, stop when psql exits
#   scripts/pg-harness.sh FILE.sql   start, run FILE.sql, stop
#
# Environment: MIGRADE_PG_BINDIR (default: /usr/lib/postgresql/15/bin, else the
# highest /usr/lib/postgresql/<N>/bin).
set -eu

bindir=${MIGRADE_PG_BINDIR:-}
if [ -z "$bindir" ]; then
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        bindir=/usr/lib/postgresql/15/bin
    else
        bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg-harness: no PostgreSQL server binaries; install Debian's postgresql package" >&2
    exit 2
fi
psql=$bindir/psql
[ -x "$psql" ] || psql=psql

dir=$(mktemp -d /tmp/migrade-pg-XXXXXX)
port=$(( 40000 + $$ % 20000 ))
as_pg=""
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    as_pg="runuser -u postgres --"
fi

cleanup() {
    (cd "$dir" && $as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cd "$dir"
$as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
$as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=$port -c autovacuum=off -c fsync=off -c TimeZone=UTC" \
    start >/dev/null
cd - >/dev/null

conn="-X -h $dir -p $port -U postgres -d postgres"
"$psql" $conn -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA lab;
ALTER DATABASE postgres SET search_path = lab;
SET search_path = lab;
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE t (id int PRIMARY KEY, parent_id int REFERENCES parent (id), a int, b int,
                v20 varchar(20), txt text, num numeric(10,2), ts timestamp, code text NOT NULL);
CREATE INDEX t_a_idx ON t (a);
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 100) g;
INSERT INTO t SELECT g, 1 + g % 100, g, g % 7, 'v' || g, 'text ' || g, g / 3.0,
       timestamp '2024-01-01' + g * interval '1 minute', 'c' || g FROM generate_series(1, 1000) g;
SQL
echo "pg-harness: server on $dir (port $port); connect with: $psql $conn" >&2
echo "pg-harness: own locks after a statement: BEGIN; <stmt>; SELECT relation::regclass, mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'; ROLLBACK;" >&2
if [ $# -ge 1 ]; then
    "$psql" $conn -v ON_ERROR_STOP=1 -f "$1"
else
    "$psql" $conn
fi
