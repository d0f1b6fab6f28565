# Shell helpers for throwaway PostgreSQL clusters (sourced by scripts/demo and
# the benchmarks in bench/). Clusters are UTF8 with the C locale.
# PostgreSQL refuses to run as root: as root, the cluster runs as user postgres.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Prints a TCP port nobody listens on, on loopback.
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 100); do
    if ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# Runs a command as the cluster's owner.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# pg_start DIR PORT [OPTIONS]: creates and starts a cluster in DIR/data on
# 127.0.0.1:PORT; OPTIONS are more postgres options ("-c name=value ...").
pg_start() {
  local dir=$1 port=$2 options=${3:-}
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  as_pg "$PG_BIN/initdb" --no-sync -U postgres -A trust -E UTF8 --locale=C -D "$dir/data" >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $options" start >/dev/null \
    || { cat "$dir/postgres.log" >&2; return 1; }
}

# pg_stop DIR: stops the cluster quickly.
pg_stop() {
  as_pg "$PG_BIN/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
}
