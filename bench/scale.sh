#!/usr/bin/env bash
# Scale benchmark (issue 14): CHECKS postgres.query checks (SELECT 1 over each
# database's one shared connection) spread over DATABASES databases of one
# throw-away PostgreSQL 15 cluster, every INTERVAL; drwatchd runs them for
# WARMUP + MEASURE seconds while a scrape comes every 15 s, then the figures:
# CPU % of one core over the measured window (from /proc/PID/stat), RSS, the
# /metrics body plain and gzip, scrape latency (bench/scrape_latency), the
# schedule delay p50/p99 (from drwatch_check_schedule_delay_seconds, as
# histogram_quantile interpolates) and the runs by result.
#
#   bench/scale.sh [CHECKS] [DATABASES] [INTERVAL] [MEASURE] [WARMUP]
#   bench/scale.sh 1000 100 10s 60        # the issue's first figure
#   bench/scale.sh 10000 100 60s 120 70   # the second
#
# Needs root (PostgreSQL runs as the postgres user), PostgreSQL 15 under
# /usr/lib/postgresql/15/bin, curl, and a build in $BUILD (default build/)
# with the drwatchd and scrape_latency targets. Prints one markdown table row.
set -euo pipefail

CHECKS=${1:-1000}
DATABASES=${2:-100}
INTERVAL=${3:-10s}
MEASURE=${4:-60}
WARMUP=${5:-25}
BUILD=${BUILD:-build}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DRWATCHD=$BUILD/daemon/drwatchd
SCRAPER=${SCRAPER:-$BUILD/bench/scrape_latency}

PG_BIN=$PGBIN
source "$(dirname "$0")/../scripts/pg-helpers.sh"  # free_port, pg_start, pg_stop

work=$(mktemp -d /tmp/drwatch-scale-XXXXXX)
chmod 755 "$work"
pg_port=$(free_port)
http_port=$(free_port)
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  pg_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

# --- PostgreSQL: one cluster, DATABASES databases ---------------------------
pg_start "$work" "$pg_port" "-c max_connections=$((DATABASES + 20)) -c fsync=off"
for ((d = 0; d < DATABASES; d++)); do echo "CREATE DATABASE bench_$d;"; done |
  runuser -u postgres -- psql -q -h "$work" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null

# --- the catalogue ----------------------------------------------------------
catalogue=$work/scale.yml
{
  echo "global: {interval: $INTERVAL, timeout: 5s, max_concurrency: 32}"
  echo "targets:"
  for ((d = 0; d < DATABASES; d++)); do
    echo "  db_$d: {type: postgres, dsn: \"host=127.0.0.1 port=$pg_port dbname=bench_$d user=postgres\"}"
  done
  echo "checks:"
  for ((c = 0; c < CHECKS; c++)); do
    echo "  - {name: db$((c % DATABASES))_q$c, kind: postgres.query, target: db_$((c % DATABASES)), query: \"SELECT 1 AS one\"}"
  done
} >"$catalogue"

# --- drwatchd ---------------------------------------------------------------
# STATE_DIR: where results are saved (default: under the work directory, on
# disk; /dev/shm/... shows what the fsyncs of the state store cost).
state_dir=${STATE_DIR:-$work/state}
"$DRWATCHD" --config.file="$catalogue" --web.listen-address="127.0.0.1:$http_port" \
  --storage.path="$state_dir" --log.level=warn 2>"$work/drwatchd.log" &
daemon_pid=$!
url=http://127.0.0.1:$http_port/metrics
for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }

sleep "$WARMUP"
before=$work/metrics-before.txt
curl -sf -o "$before" "$url"
t0=$(cpu_ticks)
start=$(date +%s.%N)
for ((elapsed = 0; elapsed < MEASURE; elapsed += 15)); do
  curl -sf -H 'Accept-Encoding: gzip' -o /dev/null "$url"
  sleep $((MEASURE - elapsed < 15 ? MEASURE - elapsed : 15))
done
t1=$(cpu_ticks)
end=$(date +%s.%N)
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$t0" -v b="$t1" -v s="$start" -v e="$end" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) * 100 }')
rss=$(status_kb VmRSS)
hwm=$(status_kb VmHWM)
anon=$(status_kb RssAnon)

# The body as of the end of the window: sizes, schedule delay, runs (before
# the back-to-back scrapes below, which hold the loop and delay runs).
body=$work/metrics.txt
curl -sf -o "$body" "$url"
plain=$(stat -c %s "$body")
gzipped=$(curl -sf -H 'Accept-Encoding: gzip' -o - "$url" | wc -c)
series=$(grep -vc '^#' "$body")

if [[ -n "${PERF_OUT:-}" ]]; then  # where the daemon's idle CPU goes
  perf record -q -F 499 -g -p "$daemon_pid" -o "$work/perf.data" -- sleep 20 >/dev/null 2>&1
  perf report -q -i "$work/perf.data" --no-children --stdio --percent-limit 1 -g none >"$PERF_OUT" 2>/dev/null || true
fi

# Scrape latency, and the daemon's CPU for those scrapes.
s0=$(cpu_ticks)
scrapes=${SCRAPES:-200}
latency=$("$SCRAPER" 127.0.0.1 "$http_port" /metrics "$scrapes")
s1=$(cpu_ticks)
cpu_per_scrape_ms=$(awk -v a="$s0" -v b="$s1" -v hz="$hz" -v n="$scrapes" 'BEGIN { printf "%.2f", (b - a) / hz / n * 1000 }')

# histogram_quantile over the increase of the cumulative buckets during the
# measured window (as over rate(...[window])), linear within a bucket.
quantile() {
  awk -v q="$1" '
    FNR == 1 { file++ }
    /^drwatch_check_schedule_delay_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      if (file == 1) { start[le] = $NF; next }
      n++; bound[n] = (le == "+Inf") ? -1 : le; count[n] = $NF - start[le]
    }
    END {
      total = count[n]; rank = q * total; prev_b = 0; prev_c = 0
      for (i = 1; i <= n; i++) {
        if (count[i] >= rank) {
          if (bound[i] < 0) { printf ">%s", prev_b; exit }
          printf "%.4f", prev_b + (bound[i] - prev_b) * (rank - prev_c) / (count[i] - prev_c + 1e-12); exit
        }
        prev_b = bound[i]; prev_c = count[i]
      }
    }' "$before" "$body"
}
# Runs by result during the window.
runs() {
  awk -v r="result=\"$1\"" 'FNR == 1 { f++ } index($0, "drwatch_check_runs_total{") == 1 && index($0, r) {
    s += (f == 1 ? -$NF : $NF) } END { print s + 0 }' "$before" "$body"
}
delay_count=$(awk '/^drwatch_check_schedule_delay_seconds_count/ { n = (FNR == NR) ? -$NF : n + $NF } END { print n }' "$before" "$body")

echo "checks=$CHECKS databases=$DATABASES interval=$INTERVAL measured=${MEASURE}s after ${WARMUP}s"
echo "latency: $latency"
echo "| checks | interval | CPU % of a core | RSS MB (anon) | peak RSS MB | series | /metrics plain / gzip | scrape p50 / p99 | CPU per scrape | schedule delay p50 / p99 | runs ok / failed / timeout / skipped |"
p50=$(echo "$latency" | sed -E 's/.*p50 ([0-9]+).*/\1/')
p99=$(echo "$latency" | sed -E 's/.*p99 ([0-9]+).*/\1/')
printf '| %s | %s | %s | %.1f (%.1f) | %.1f | %s | %.0f kB / %.0f kB | %.1f / %.1f ms | %s ms | %s / %s s (%s runs) | %s / %s / %s / %s |\n' \
  "$CHECKS" "$INTERVAL" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" \
  "$(echo "$hwm / 1024" | bc -l)" "$series" "$(echo "$plain / 1000" | bc -l)" "$(echo "$gzipped / 1000" | bc -l)" \
  "$(echo "$p50 / 1000" | bc -l)" "$(echo "$p99 / 1000" | bc -l)" "$cpu_per_scrape_ms" \
  "$(quantile 0.5)" "$(quantile 0.99)" "$delay_count" \
  "$(runs success)" "$(runs failure)" "$(runs timeout)" "$(runs skipped)"
if grep -q . "$work/drwatchd.log"; then echo "drwatchd log (warn and above):"; head -5 "$work/drwatchd.log"; fi
