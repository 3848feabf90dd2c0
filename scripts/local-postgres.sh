#!/usr/bin/env bash
# A PostgreSQL server on this machine, listening on 127.0.0.1 only, for sharing one `excolor search` study
# between workers (and for tests/test_search_postgres.py): Debian's postgresql package, a cluster of its own.
#
#   sudo scripts/local-postgres.sh start     # install the package if missing (apt), initdb, start
#   eval "$(scripts/local-postgres.sh env)"  # EXCOLOR_POSTGRES_URL=postgresql://postgres@127.0.0.1:5433/excolor
#   excolor search experiment=smoke --trials 8 --seeds 0-1 --storage "$EXCOLOR_POSTGRES_URL" --dir searches/s
#   sudo scripts/local-postgres.sh stop      # stop the server (the data in $EXCOLOR_POSTGRES_DIR stays)
#   scripts/local-postgres.sh status         # pg_isready, or why the server is not up
#
# Everything it writes lives in $EXCOLOR_POSTGRES_DIR (default /tmp/excolor-postgres): the cluster, its
# socket and server.log. The machine's own clusters (/etc/postgresql) are left alone; port 5433 by
# default (EXCOLOR_POSTGRES_PORT) so as not to meet one on 5432. Authentication is `trust`, on 127.0.0.1
# and the socket only: for trying things out and tests, not for a shared machine's production use.
# Needs root to install and to run the server as the `postgres` user (initdb refuses to run as root).
set -euo pipefail

DIR=${EXCOLOR_POSTGRES_DIR:-/tmp/excolor-postgres}
PORT=${EXCOLOR_POSTGRES_PORT:-5433}
DB=excolor
URL="postgresql://postgres@127.0.0.1:$PORT/$DB"

say() { echo "local-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

install_packages() {
  if bindir >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root (apt)"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get"
  say "installing postgresql (apt)"
  if ! apt-cache policy postgresql 2>/dev/null | grep -q "Candidate: [0-9]"; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
  fi
  mkdir -p "$DIR"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >"$DIR/apt.log" 2>&1 \
    || die "apt-get install failed (see $DIR/apt.log)"
  bindir >/dev/null || die "postgresql installed but no initdb found under /usr/lib/postgresql"
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

ready() { "$(bindir)/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ] || die "start needs root (apt; the server runs as postgres)"
  install_packages
  local bin
  bin=$(bindir)
  id postgres >/dev/null 2>&1 || die "no postgres user (the package makes one)"
  mkdir -p "$DIR"
  chown postgres "$DIR"
  if ready; then say "up: $URL"; return; fi
  if [ ! -s "$DIR/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >"$DIR/initdb.log" 2>&1 \
      || die "initdb failed (see $DIR/initdb.log)"
  fi
  as_postgres "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200" start >/dev/null \
    || die "the server did not start (see $DIR/server.log)"
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
      | grep -q 1; then
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB" || die "createdb $DB failed"
  fi
  say "up: $URL"
}

stop() {
  local bin
  bin=$(bindir) || die "PostgreSQL is not installed"
  if [ -s "$DIR/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null || die "pg_ctl stop failed"
  fi
  say "stopped"
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    flock 9  # two test workers may start it at once: the second finds it up
    start ;;
  stop) stop ;;
  env) echo "export EXCOLOR_POSTGRES_URL=$URL" ;;
  status)
    bindir >/dev/null || die "not installed: run $0 start (as root)"
    ready && echo "up: $URL" || die "not running: run $0 start (as root)" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
