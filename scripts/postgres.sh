#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the API tests (installing Debian's package if
# needed) and prints its URL. Idempotent: a running server is reused.
#   scripts/postgres.sh start   -> prints postgres://hks:hks@127.0.0.1:$HKS_PG_PORT/hks
#   scripts/postgres.sh stop
set -euo pipefail
# Below the ephemeral range (32768-60999): a port there can be taken by any outgoing
# connection, e.g. kube-apiserver's to etcd, and the server then cannot bind it.
PORT="${HKS_PG_PORT:-15432}"
DATA="${HKS_PG_DIR:-/tmp/hks-postgres}"
URL="postgres://hks:hks@127.0.0.1:${PORT}/hks"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

case "${1:-start}" in
  start)
    if [ -z "$(bin_dir)" ]; then
      echo "installing PostgreSQL from Debian's packages..." >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    BIN="$(bin_dir)"
    if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      if [ ! -f "$DATA/PG_VERSION" ]; then
        mkdir -p "$DATA"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
        as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust >/dev/null
      fi
      as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
        -o "-p ${PORT} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
    fi
    as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "select 1 from pg_roles where rolname='hks'" | grep -q 1 \
      || as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "create role hks login createdb password 'hks'"
    as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "select 1 from pg_database where datname='hks'" | grep -q 1 \
      || as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "create database hks owner hks"
    echo "$URL"
    ;;
  stop)
    BIN="$(bin_dir)"
    [ -n "$BIN" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || true
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop" >&2
    exit 2
    ;;
esac
