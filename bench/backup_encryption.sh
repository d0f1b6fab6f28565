#!/usr/bin/env bash
# The cost of client-side backup encryption: `drwatchd backup run` of the same
# database to a file:// store, plain and encrypted, RUNS times each in turn,
# timed as whole processes by /usr/bin/time (wall, user and system CPU of
# drwatchd and its children: pg_dump, pg_dumpall). Prints one line per run
# and the medians. Starts and removes a throwaway PostgreSQL 15 cluster.
#
#   bench/backup_encryption.sh [BUILD_DIR] [ROWS] [RUNS]
#
# Defaults: build, 1000000 rows (about 150 MiB of data.dump), 5 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROWS=${2:-1000000}
RUNS=${3:-5}
DRWATCHD=$PWD/$BUILD/daemon/drwatchd
source scripts/pg-helpers.sh

WORK=$(mktemp -d /tmp/drwatch-bench-enc-XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
trap 'pg_stop "$WORK"; rm -rf "$WORK"' EXIT
pg_start "$WORK" "$PG_PORT"
PSQL=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1)
# md5 text does not compress much: data.dump is close to the table's size.
"${PSQL[@]}" -c "CREATE TABLE blobs (id bigint PRIMARY KEY, payload text NOT NULL);
  INSERT INTO blobs SELECT g, md5(g::text) || md5((-g)::text) || md5((g * 7)::text)
  FROM generate_series(1, $ROWS) g;"

"$DRWATCHD" backup keygen >"$WORK/backup.key"
mkdir -p "$WORK/store-plain" "$WORK/store-enc" "$WORK/state"
for mode in plain enc; do
  enc=""
  [ "$mode" = enc ] && enc="    encryption: {key: \"\${file:$WORK/backup.key}\"}"
  cat >"$WORK/$mode.yml" <<EOF
targets:
  db: {type: postgres, dsn: "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"}
  store: {type: storage, url: "file://$WORK/store-$mode"}
checks:
  - name: bench
    kind: backup.pg_dump
    target: db
    storage: store
    keep: {last: 1}
$enc
EOF
done

run() {  # run MODE: one timed backup; prints "MODE wall user sys bytes"
  local mode=$1
  /usr/bin/time -f "%e %U %S" -o "$WORK/time" \
    "$DRWATCHD" --config.file="$WORK/$mode.yml" --storage.path="$WORK/state" --log.level=warn backup run bench \
    >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; exit 1; }
  local bytes
  bytes=$(sed -n 's/.* \([0-9]*\) bytes in .*/\1/p' "$WORK/out")
  echo "$mode $(cat "$WORK/time") $bytes"
}

run plain >/dev/null  # warm-up: the table in shared buffers and the page cache
echo "mode wall_s user_s sys_s stored_bytes"
for _ in $(seq "$RUNS"); do
  run plain
  run enc
done | tee "$WORK/results"
median() {  # median MODE COLUMN
  awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$WORK/results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
for mode in plain enc; do
  wall=$(median "$mode" 2) user=$(median "$mode" 3) sys=$(median "$mode" 4) bytes=$(median "$mode" 5)
  awk -v m="$mode" -v w="$wall" -v u="$user" -v s="$sys" -v b="$bytes" 'BEGIN {
    printf "median %-5s wall %.2f s, CPU %.2f s (user %.2f + sys %.2f), %.1f MiB stored, %.1f MiB/s\n",
           m, w, u + s, u, s, b / 1048576, b / 1048576 / w }'
done
