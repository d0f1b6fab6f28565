#!/usr/bin/env bash
# drwatchd beside its peers (issue 14): the same work (database connectivity
# and the age of the newest audit_logs row) done by drwatchd,
# prometheus-postgres-exporter and prometheus-sql-exporter (Debian 12), one
# after another against one throw-away PostgreSQL 15 cluster, and the figures
# of each: RSS (anonymous and file-backed) at idle and after load, scrape
# latency p50/p99 sequentially (bench/scrape_latency, one keep-alive
# connection) and under `wrk -c8 -t2`, the exporter's CPU per 1,000 scrapes
# (utime + stime from /proc/PID/stat), and over a window with a scrape every
# 15 s: the exporter's CPU, PostgreSQL's CPU (the postmaster, its children and
# its reaped children, from /proc), the statements it ran (pg_stat_statements
# of the exporters' role) and the sessions it opened, and the connections it
# holds. Prints one markdown table with the ratio drwatchd / best peer.
#
#   bench/peers.sh [--smoke] [--variant basic|wide] [DRWATCHD]
#
#   --variant basic  one audit_logs table of ROWS rows (100,000) indexed on
#                    created_at: one connectivity check and one age query
#   --variant wide   TABLES (100) small tables of 100 rows: one connectivity
#                    check and one age query a table
#   --smoke          the same path in about ten seconds (tiny windows, 50
#                    scrapes, wrk for 1 s); exits non-zero when an exporter
#                    does not start or its /metrics lacks the expected series
#   DRWATCHD         default build/daemon/drwatchd; scrape_latency is looked
#                    for beside it, then in ../bench/ (a build tree), or $SCRAPER
#
# Durations (seconds, environment): WINDOW (60) with a scrape every 15 s,
# the checks' and sql_exporter's job's interval 15 s (2 s with --smoke),
# SCRAPES (1000) sequential scrapes REPEATS (5) times, WRK_SECONDS (10)
# WRK_RUNS (3) times; figures measured more than once are medians (the CPU
# per 1,000 scrapes: over all of them, the clock ticks are 10 ms). BASELINE=0
# skips the window without any exporter (PostgreSQL's own CPU).
# STATEMENTS_OUT=FILE appends each exporter's most frequent statements;
# SMAPS_OUT=FILE keeps drwatchd's /proc/PID/smaps after the load.
#
# The schedules differ, and the table says so: drwatchd and sql_exporter run
# their queries on their own interval (15 s here) and answer a scrape from
# memory; postgres_exporter runs them on every scrape. Needs PostgreSQL 15
# (with pg_stat_statements), curl, wrk, ss and the two peers; as root the
# cluster runs as the postgres user. Every process it starts is stopped on
# exit.
set -euo pipefail

usage() {
  echo "usage: bench/peers.sh [--smoke] [--variant basic|wide] [DRWATCHD]" >&2
  exit 2
}
smoke=0
variant=basic
DRWATCHD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --variant) [ $# -ge 2 ] || usage; variant=$2; shift ;;
    --variant=*) variant=${1#*=} ;;
    -*) usage ;;
    *) DRWATCHD=$1 ;;
  esac
  shift
done
[[ $variant == basic || $variant == wide ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/pg-helpers.sh"

DRWATCHD=${DRWATCHD:-build/daemon/drwatchd}
if [ -z "${SCRAPER:-}" ]; then
  SCRAPER=$(dirname "$DRWATCHD")/../bench/scrape_latency
  [ -x "$(dirname "$DRWATCHD")/scrape_latency" ] && SCRAPER=$(dirname "$DRWATCHD")/scrape_latency
fi
POSTGRES_EXPORTER=${POSTGRES_EXPORTER:-/usr/bin/prometheus-postgres-exporter}
SQL_EXPORTER=${SQL_EXPORTER:-/usr/bin/prometheus-sql-exporter}
ROWS=${ROWS:-100000}
# The peers' Go driver speaks plain TCP here (sslmode=disable; it has no GSS
# encryption): drwatchd's libpq likewise, unless DRWATCHD_DSN_OPTIONS says
# otherwise ("" = libpq's defaults, which first ask for TLS and GSSAPI).
DRWATCHD_DSN_OPTIONS=${DRWATCHD_DSN_OPTIONS-sslmode=disable gssencmode=disable}
TABLES=${TABLES:-100}
SCRAPE_EVERY=15
CHECK_INTERVAL=15s CHECK_TIMEOUT=5s  # drwatchd's checks and sql_exporter's job
if [ "$smoke" = 1 ]; then
  CHECK_INTERVAL=2s CHECK_TIMEOUT=1s  # the first runs come within it
  WINDOW=${WINDOW:-1} SCRAPES=${SCRAPES:-50} REPEATS=${REPEATS:-1}
  WRK_SECONDS=${WRK_SECONDS:-1} WRK_RUNS=${WRK_RUNS:-1} BASELINE=${BASELINE:-0}
else
  WINDOW=${WINDOW:-60} SCRAPES=${SCRAPES:-1000} REPEATS=${REPEATS:-5}
  WRK_SECONDS=${WRK_SECONDS:-10} WRK_RUNS=${WRK_RUNS:-3} BASELINE=${BASELINE:-1}
fi

fail() { echo "bench/peers.sh: $*" >&2; exit 1; }
for program in "$DRWATCHD" "$SCRAPER" "$POSTGRES_EXPORTER" "$SQL_EXPORTER" "$PG_BIN/initdb"; do
  [ -x "$program" ] || fail "$program is missing (scripts/bootstrap installs the peers; build drwatchd and scrape_latency)"
done
for program in wrk curl psql ss; do
  command -v "$program" >/dev/null || fail "$program is missing (scripts/bootstrap installs it)"
done

work=$(mktemp -d /tmp/drwatch-peers-XXXXXX)
chmod 755 "$work"
pg_port=""
exporter_pid=""
cleanup() {
  if [ -n "$exporter_pid" ]; then kill "$exporter_pid" 2>/dev/null || true; wait "$exporter_pid" 2>/dev/null || true; fi
  [ -z "$pg_port" ] || pg_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

hz=$(getconf CLK_TCK)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- PostgreSQL: the cluster, the exporters' role, the data -----------------
pg_port=$(free_port)
pg_start "$work" "$pg_port" "-c shared_preload_libraries=pg_stat_statements -c fsync=off -c max_connections=60"
sql() {  # sql DB STATEMENT: one value a line, as the superuser
  psql -X -qAt -h "$work" -p "$pg_port" -U postgres -d "$1" -v ON_ERROR_STOP=1 -c "$2"
}
sql postgres "CREATE EXTENSION pg_stat_statements; CREATE ROLE exporter LOGIN" >/dev/null
sql postgres "CREATE DATABASE bench" >/dev/null
sql bench "GRANT pg_read_all_data TO exporter;" >/dev/null
tables=()
if [ "$variant" = basic ]; then
  tables=(audit_logs)
  sql bench "CREATE TABLE audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, action text NOT NULL);
    INSERT INTO audit_logs (created_at, action)
      SELECT now() - i * interval '1 second', 'update' FROM generate_series(1, $ROWS) i;
    CREATE INDEX ON audit_logs (created_at); ANALYZE audit_logs;" >/dev/null
else
  for ((t = 0; t < TABLES; t++)); do tables+=("audit_logs_$t"); done
  sql bench "DO \$\$ BEGIN FOR t IN 0..$((TABLES - 1)) LOOP
      EXECUTE format('CREATE TABLE audit_logs_%s (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, action text NOT NULL)', t);
      EXECUTE format('INSERT INTO audit_logs_%s (created_at, action) SELECT now() - i * interval ''1 minute'', ''update'' FROM generate_series(1, 100) i', t);
      EXECUTE format('CREATE INDEX ON audit_logs_%s (created_at)', t);
      EXECUTE format('ANALYZE audit_logs_%s', t);
    END LOOP; END \$\$;" >/dev/null
fi
last=${tables[-1]}
age_sql() { echo "SELECT extract(epoch FROM now() - max(created_at))::float8 AS age_seconds FROM $1"; }

# --- the exporters: configuration, start, the series that prove the work ----
# Each start_* sets exporter_pid, port and expect (extended regexps that must
# all match lines of /metrics: connectivity up, the last table's age).
start_drwatchd() {
  local c="$work/drwatchd.yml"
  {
    echo "global: {interval: $CHECK_INTERVAL, timeout: $CHECK_TIMEOUT}"
    echo "targets:"
    echo "  primary: {type: postgres, dsn: \"host=127.0.0.1 port=$pg_port dbname=bench user=exporter $DRWATCHD_DSN_OPTIONS\"}"
    echo "checks:"
    echo "  - {name: db_connectivity, kind: postgres.ping, target: primary}"
    for t in "${tables[@]}"; do
      echo "  - {name: ${t}_recency, kind: postgres.recency, target: primary, query: \"SELECT max(created_at) FROM $t\", max_age: 24h}"
    done
  } >"$c"
  "$DRWATCHD" --config.file="$c" --web.listen-address="127.0.0.1:$port" --storage.path="$work/drwatchd-state" \
    --log.level=warn >"$work/exporter.log" 2>&1 &
  exporter_pid=$!
  expect=("^drwatch_check_success\{.*check=\"db_connectivity\".*\} 1$"
          "^drwatch_data_age_seconds\{.*check=\"${last}_recency\".*\} [0-9]")
}
start_postgres_exporter() {
  # --disable-default-metrics, --disable-settings-metrics and the two
  # collectors off: only pg_up (connectivity) and the queries of queries.yaml.
  local c="$work/queries.yaml"
  for t in "${tables[@]}"; do
    printf '%s:\n  query: "%s"\n  master: true\n  metrics:\n    - age_seconds:\n        usage: "GAUGE"\n        description: "age of the newest row"\n' \
      "$t" "$(age_sql "$t")"
  done >"$c"
  DATA_SOURCE_NAME="postgresql://exporter@127.0.0.1:$pg_port/bench?sslmode=disable" \
    "$POSTGRES_EXPORTER" --web.listen-address="127.0.0.1:$port" --extend.query-path="$c" \
    --disable-default-metrics --disable-settings-metrics --no-collector.database --no-collector.bgwriter \
    --log.level=warn >"$work/exporter.log" 2>&1 &
  exporter_pid=$!
  expect=("^pg_up 1$" "^${last}_age_seconds(\{.*\})? [0-9]")
}
start_sql_exporter() {
  # One job on the job's own interval (like drwatchd's checks): SELECT 1 for
  # connectivity, then the age queries, on one kept connection.
  local c="$work/sql_exporter.yml"
  {
    echo "jobs:"
    echo "  - name: bench"
    echo "    interval: $CHECK_INTERVAL"
    echo "    connections: ['postgres://exporter@127.0.0.1:$pg_port/bench?sslmode=disable']"
    echo "    queries:"
    echo "      - {name: up, help: \"1 when the database answers\", values: [up], query: \"SELECT 1::float8 AS up\"}"
    for t in "${tables[@]}"; do
      echo "      - {name: ${t}_age_seconds, help: \"age of the newest row\", values: [age_seconds], query: \"$(age_sql "$t")\"}"
    done
  } >"$c"
  "$SQL_EXPORTER" -config.file="$c" -web.listen-address="127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
  exporter_pid=$!
  expect=("^sql_up\{.*\} 1$" "^sql_${last}_age_seconds\{.*\} [0-9]")
}

# --- measuring --------------------------------------------------------------
declare -A fig  # fig[exporter,figure]
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_mb() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# PostgreSQL's CPU ticks so far: the postmaster, its children, and the
# children it reaped (cutime + cstime), so sessions that ended count too.
pg_ticks() {
  local pm c
  pm=$(head -1 "$work/data/postmaster.pid")
  {
    cat "/proc/$pm/stat"
    for c in $(ps --ppid "$pm" -o pid=); do cat "/proc/$c/stat" 2>/dev/null || true; done
  } | awk -v pm="$pm" '$1 == pm { s += $14 + $15 + $16 + $17; next } { s += $14 + $15 } END { print s }'
}
# The statements the exporters' role ran and the sessions opened on bench.
counters() {
  sql postgres "SELECT (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                        WHERE r.rolname = 'exporter') || ' ' || sessions FROM pg_stat_database WHERE datname = 'bench'"
}
held() { sql postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = 'exporter'"; }
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ms() {  # a wrk duration (12.3us, 4.5ms, 1.2s) in milliseconds
  awk -v d="$1" 'BEGIN { n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
    printf "%.3f", u == "us" ? n / 1000 : u == "ms" ? n : u == "s" ? n * 1000 : u == "m" ? n * 60000 : -1 }'
}

# The window: a scrape every SCRAPE_EVERY seconds for WINDOW seconds, the
# CPU of the exporter (pid $2, none for the baseline) and of PostgreSQL, the
# statements and sessions; per minute.
window() {
  local name=$1 pid=$2 url=$3
  local s0 n0 p0 e0 t0 s1 n1 p1 e1 t1 elapsed
  read -r s0 n0 < <(counters)
  p0=$(pg_ticks); e0=0; [ "$pid" = none ] || e0=$(ticks "$pid"); t0=$(date +%s.%N)
  for ((elapsed = 0; elapsed < WINDOW; elapsed += SCRAPE_EVERY)); do
    [ "$url" = none ] || curl -sf -o /dev/null "$url" || fail "$name: a scrape failed"
    sleep $((WINDOW - elapsed < SCRAPE_EVERY ? WINDOW - elapsed : SCRAPE_EVERY))
  done
  e1=0; [ "$pid" = none ] || e1=$(ticks "$pid"); p1=$(pg_ticks); t1=$(date +%s.%N)
  read -r s1 n1 < <(counters)
  local per_min="60 / ($t1 - $t0)"
  fig[$name,exp_cpu]=$(awk "BEGIN { printf \"%.3f\", ($e1 - $e0) / $hz * $per_min }")
  fig[$name,pg_cpu]=$(awk "BEGIN { printf \"%.3f\", ($p1 - $p0) / $hz * $per_min }")
  fig[$name,stmts]=$(awk "BEGIN { printf \"%.0f\", ($s1 - $s0) * $per_min }")
  fig[$name,sessions]=$(awk "BEGIN { printf \"%.1f\", ($n1 - $n0) * $per_min }")
}

measure() {
  local name=$1 url body i out
  sql postgres "SELECT pg_stat_statements_reset()" >/dev/null
  port=$(free_port)
  "start_$name"
  url=http://127.0.0.1:$port/metrics
  body=$work/metrics.txt
  # Ready when every expected series is there (drwatchd and sql_exporter
  # after their first runs).
  for ((i = 0; ; i++)); do
    kill -0 "$exporter_pid" 2>/dev/null || { cat "$work/exporter.log" >&2; fail "$name exited at start-up"; }
    if curl -sf -o "$body" "$url"; then
      local missing=0 e
      for e in "${expect[@]}"; do grep -Eq "$e" "$body" || missing=1; done
      [ "$missing" = 1 ] || break
    fi
    if ((i >= 300)); then
      echo "--- $name log:" >&2; tail -20 "$work/exporter.log" >&2
      echo "--- $name /metrics (expected: ${expect[*]}):" >&2; grep -v '^#' "$body" 2>/dev/null | head -20 >&2
      fail "$name did not answer /metrics with the expected series within 30 s"
    fi
    sleep 0.1
  done
  fig[$name,series]=$(grep -vc '^#' "$body")

  window "$name" "$exporter_pid" "$url"
  fig[$name,rss_idle]=$(status_mb "$exporter_pid" VmRSS)
  fig[$name,anon_idle]=$(status_mb "$exporter_pid" RssAnon)
  fig[$name,file_idle]=$(status_mb "$exporter_pid" RssFile)
  fig[$name,pss_idle]=$(awk '$1 == "Pss:" { printf "%.1f", $2 / 1024 }' "/proc/$exporter_pid/smaps_rollup")
  fig[$name,threads]=$(awk '$1 == "Threads:" { print $2 }' "/proc/$exporter_pid/status")
  fig[$name,held_idle]=$(held)

  local p50s=() p99s=() c0 c1
  c0=$(ticks "$exporter_pid")
  for ((i = 0; i < REPEATS; i++)); do
    out=$("$SCRAPER" 127.0.0.1 "$port" /metrics "$SCRAPES") || fail "$name: scrape_latency failed"
    p50s+=("$(echo "$out" | sed -E 's/.* p50 ([0-9]+) .*/\1/')")
    p99s+=("$(echo "$out" | sed -E 's/.* p99 ([0-9]+) .*/\1/')")
    fig[$name,body]=$(echo "$out" | sed -E 's/.* body ([0-9]+) bytes.*/\1/')
  done
  fig[$name,seq_p50]=$(awk -v u="$(median "${p50s[@]}")" 'BEGIN { printf "%.3f", u / 1000 }')
  fig[$name,seq_p99]=$(awk -v u="$(median "${p99s[@]}")" 'BEGIN { printf "%.3f", u / 1000 }')
  c1=$(ticks "$exporter_pid")
  fig[$name,cpu_1000]=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$((REPEATS * SCRAPES))" 'BEGIN { printf "%.3f", (b - a) / hz * 1000 / n }')

  local w50s=() w99s=() rps=()
  for ((i = 0; i < WRK_RUNS; i++)); do
    out=$(wrk -c8 -t2 -d"${WRK_SECONDS}s" --latency "$url") || fail "$name: wrk failed"
    if grep -q 'Non-2xx' <<<"$out"; then echo "$out" >&2; fail "$name: wrk got errors"; fi
    w50s+=("$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")")
    w99s+=("$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")")
    rps+=("$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")")
  done
  fig[$name,wrk_p50]=$(median "${w50s[@]}")
  fig[$name,wrk_p99]=$(median "${w99s[@]}")
  fig[$name,wrk_rps]=$(median "${rps[@]}")
  fig[$name,rss_load]=$(status_mb "$exporter_pid" VmRSS)
  fig[$name,anon_load]=$(status_mb "$exporter_pid" RssAnon)
  fig[$name,hwm]=$(status_mb "$exporter_pid" VmHWM)
  fig[$name,held_load]=$(held)

  if [ -n "${SMAPS_OUT:-}" ] && [ "$name" = drwatchd ]; then cp "/proc/$exporter_pid/smaps" "$SMAPS_OUT"; fi
  if [ -n "${STATEMENTS_OUT:-}" ]; then  # what it ran, most frequent first
    echo "--- $name: statements of role exporter since its start, by calls" >>"$STATEMENTS_OUT"
    sql postgres "SELECT calls || ' | ' || regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements s
                  JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'exporter' ORDER BY calls DESC LIMIT 15" >>"$STATEMENTS_OUT"
  fi
  kill "$exporter_pid"
  wait "$exporter_pid" 2>/dev/null || true
  exporter_pid=""
}

if [ "$BASELINE" = 1 ]; then window none none none; fi
exporters=(drwatchd postgres_exporter sql_exporter)
for e in "${exporters[@]}"; do measure "$e"; done

# --- the table --------------------------------------------------------------
echo "variant=$variant tables=${#tables[@]} rows=$([ "$variant" = basic ] && echo "$ROWS" || echo 100)/table" \
  "interval=$CHECK_INTERVAL window=${WINDOW}s (a scrape every ${SCRAPE_EVERY}s) scrapes=${REPEATS}x$SCRAPES wrk=${WRK_RUNS}x${WRK_SECONDS}s" \
  "load average: $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
echo "drwatchd: $("$DRWATCHD" --version 2>&1 | head -1); postgres_exporter: $("$POSTGRES_EXPORTER" --version 2>&1 | head -1 | sed 's/, version / /; s/ (.*//')"
echo
echo "| figure | drwatchd | postgres_exporter | sql_exporter | drwatchd / best peer |"
echo "|---|---|---|---|---|"
row() {  # row KEY LABEL [max]: best peer is the smaller, or the larger with max
  local key=$1 label=$2 better=${3:-min} d p s
  d=${fig[drwatchd,$key]} p=${fig[postgres_exporter,$key]} s=${fig[sql_exporter,$key]}
  awk -v l="$label" -v d="$d" -v p="$p" -v s="$s" -v b="$better" 'BEGIN {
    best = (b == "max") ? (p > s ? p : s) : (p < s ? p : s)
    r = (best > 0) ? sprintf("%.2f", d / best) : "–"
    printf "| %s | %s | %s | %s | %s |\n", l, d, p, s, r }'
}
row rss_idle "RSS idle, MB"
row anon_idle "anonymous RSS idle, MB"
row file_idle "file-backed RSS idle, MB"
row pss_idle "PSS idle, MB (shared library pages split among their users)"
row threads "threads"
row rss_load "RSS after load, MB"
row anon_load "anonymous RSS after load, MB"
row hwm "peak RSS (VmHWM), MB"
row series "/metrics series (lines without #)"
row body "/metrics body, bytes"
row seq_p50 "sequential scrape p50, ms"
row seq_p99 "sequential scrape p99, ms"
row cpu_1000 "exporter CPU per 1,000 scrapes, s"
row wrk_p50 "wrk -c8 -t2 p50, ms"
row wrk_p99 "wrk -c8 -t2 p99, ms"
row wrk_rps "wrk -c8 -t2 requests/s" max
row exp_cpu "exporter CPU, s/min (a scrape every ${SCRAPE_EVERY}s)"
row pg_cpu "PostgreSQL CPU, s/min (a scrape every ${SCRAPE_EVERY}s)"
row stmts "PostgreSQL statements/min (a scrape every ${SCRAPE_EVERY}s)"
row sessions "PostgreSQL sessions opened/min"
row held_idle "connections held, idle"
row held_load "connections held, after wrk"
if [ "$BASELINE" = 1 ]; then
  echo
  echo "PostgreSQL alone over the same window (no exporter): ${fig[none,pg_cpu]} s CPU/min, ${fig[none,stmts]} statements/min."
fi
