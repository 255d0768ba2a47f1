# Starts throw-away Redis and PostgreSQL servers on 127.0.0.1 for the tests and exports their URLs.
# Sourced by .ci/run; developers can `source .ci/services.sh && start_services` too.
start_services() {
  local root=${SERVICES_DIR:-/tmp/dejavu-ci-services}
  mkdir -p "$root"
  if command -v redis-server >/dev/null; then
    redis-cli -p 6399 ping >/dev/null 2>&1 || redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$root" --logfile "$root/redis.log"
    export TEST_REDIS_URL=redis://127.0.0.1:6399
  fi
  local pg_bin
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$pg_bin" ]; then
    local pg_data="$root/pg"
    chown -R postgres "$root" 2>/dev/null || true
    if [ ! -f "$pg_data/PG_VERSION" ]; then
      su postgres -c "$pg_bin/initdb -D $pg_data -A trust -U postgres" >/dev/null
    fi
    if ! su postgres -c "$pg_bin/pg_isready -h 127.0.0.1 -p 5499" >/dev/null 2>&1; then
      su postgres -c "$pg_bin/pg_ctl -D $pg_data -o '-p 5499 -k /tmp -c listen_addresses=127.0.0.1' -l $root/pg.log -w start" >/dev/null
    fi
    export TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5499/postgres
  fi
}
