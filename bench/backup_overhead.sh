#!/usr/bin/env bash
# Backups and drills beside the raw tools (issue 14): on one database of at
# least SIZE_GB GiB (pg_database_size) in a throw-away PostgreSQL 15 cluster,
# REPEATS rounds of, each timed as wall clock (and the CPU of the process and
# its waited children; the PostgreSQL backends' CPU is in neither):
#
#   a  raw   pg_dump -Fc --no-password -f FILE                  (what drwatchd runs for data.dump)
#   b  drwatchd backup run dump_file                            (file:// storage)
#   c  raw   curl --aws-sigv4 -T FILE                           (one PUT of a's dump to s3rver)
#   m  raw   curl --aws-sigv4, the same in 8 MiB parts          (a multipart upload, as drwatchd's)
#   d  drwatchd backup run dump_s3                              (s3rver, multipart 8 MiB parts)
#   e  raw   CREATE DATABASE; pg_restore --exit-on-error -d of b's data.dump;
#            the drill's verification queries; DROP DATABASE
#   f  drwatchd restore drill drill                             (b's newest run)
#
# in the order a b c m d e f, then b a d c m f e, and so on; then, each alone, the
# pieces of work drwatchd does besides (its extra pg_dump --schema-only and
# pg_dumpall children, its row and structure counts, SHA-256; a drill's copy
# of data.dump and pg_restore -l). Prints one line per step and markdown
# tables of the medians: drwatchd over raw for file:// (b / a), S3 (d / (a + c):
# the raw tools dump, then upload; d / (a + m) and d / c, the upload alone, as
# well) and the drill (f / e), against the goals 1.10, 1.20, 1.10.
#
#   bench/backup_overhead.sh [--smoke] [SIZE_GB] [REPEATS] [DRWATCHD]
#
# Defaults: 1 GiB, 3 rounds, build/daemon/drwatchd (an empty argument takes
# the default). --smoke: a database of a few MB (SIZE_GB 0.005) and one round
# unless given, for scripts/test: the script fails when any step fails. Needs
# root (PostgreSQL runs as postgres), PostgreSQL 15, curl (--aws-sigv4) and
# s3rver (scripts/bootstrap). Everything lives in one mktemp directory under
# ${TMPDIR:-/tmp}, removed at the end: a 1 GiB run needs about 4 GiB there.
# KEEP_LOGS=DIR copies each step's output and the raw results there; JOBS=N
# restores with pg_restore -j N (the drill's `jobs: N`); PERF_OUT=DIR writes
# perf profiles of one more backup run of each kind and drill there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SMOKE=0
if [ "${1:-}" = --smoke ]; then
  SMOKE=1
  shift
fi
if [ "$SMOKE" = 1 ]; then
  SIZE_GB=${1:-0.005}
  REPEATS=${2:-1}
else
  SIZE_GB=${1:-1}
  REPEATS=${2:-3}
fi
DRWATCHD=${3:-build/daemon/drwatchd}
[[ "$DRWATCHD" = /* ]] || DRWATCHD=$ROOT/$DRWATCHD
[ -x "$DRWATCHD" ] || { echo "backup_overhead: no drwatchd at $DRWATCHD" >&2; exit 2; }
S3RVER=$ROOT/tests/s3rver/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || { echo "backup_overhead: s3rver is missing: run scripts/bootstrap" >&2; exit 2; }
source scripts/pg-helpers.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/drwatch-bench-overhead-XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/pg" "$WORK/store" "$WORK/state" "$WORK/tmp" "$WORK/s3" "$WORK/raw"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
S3_PID=""
cleanup() {
  if [ -n "$S3_PID" ]; then kill "$S3_PID" 2>/dev/null || true; wait "$S3_PID" 2>/dev/null || true; fi
  pg_stop "$WORK/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "backup_overhead: $*" >&2; }

# --- PostgreSQL 15 ------------------------------------------------------------
# Settings of a small production server; wal_level=minimal lets the tables
# created and filled in one transaction skip the WAL (the generation only).
PG_PORT=$(free_port)
pg_start "$WORK/pg" "$PG_PORT" "-c shared_buffers=256MB -c maintenance_work_mem=256MB $(
  )-c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=4GB -c checkpoint_timeout=30min"
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"

# --- the database: shaped a little like the app's ------------------------------
# Rows per GiB of pg_database_size (measured: heap, TOAST and indexes):
# audit_logs about 45 %, documents 35 %, orders 20 %; users scale too.
rows() { awk -v s="$SIZE_GB" -v per="$1" 'BEGIN { n = int(s * per); print (n < 100 ? 100 : n) }'; }
AUDIT=$(rows 1500000) DOCS=$(rows 800000) ORDERS=$(rows 2000000) USERS=$(rows 50000)
log "generating $SIZE_GB GiB: $AUDIT audit_logs, $DOCS documents, $ORDERS orders, $USERS users"
gen_start=$(date +%s.%N)
"${PSQL[@]}" -d bench <<SQL
CREATE ROLE bench_reader NOLOGIN;
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
BEGIN;
CREATE TABLE users (id integer NOT NULL, email text NOT NULL, display_name text NOT NULL,
  created_at timestamptz NOT NULL);
INSERT INTO users SELECT g, 'user' || g || '@example.org', 'User ' || md5(g::text),
  timestamptz '2024-01-01' + g * interval '17 minutes' FROM generate_series(1, $USERS) g;
CREATE TABLE orders (id bigint NOT NULL, customer_id integer NOT NULL, product_id integer NOT NULL,
  quantity integer NOT NULL, amount_cents bigint NOT NULL, status order_status NOT NULL,
  created_at timestamptz NOT NULL);
INSERT INTO orders SELECT g, 1 + g % $USERS, 1 + (g * 7919) % 5000, 1 + g % 9, (g * 104729) % 100000,
  (ARRAY['new', 'paid', 'shipped', 'cancelled']::order_status[])[1 + g % 4],
  timestamptz '2024-01-01' + g * interval '3 seconds' FROM generate_series(1::bigint, $ORDERS) g;
COMMIT;
SQL
# The two big tables in parallel sessions (each created in its own transaction).
"${PSQL[@]}" -d bench <<SQL &
BEGIN;
CREATE TABLE audit_logs (id bigint NOT NULL, created_at timestamptz NOT NULL, actor_id integer NOT NULL,
  action text NOT NULL, target_table text NOT NULL, ip inet, payload jsonb NOT NULL);
INSERT INTO audit_logs SELECT g, timestamptz '2024-01-01' + g * interval '1 second', 1 + g % $USERS,
  (ARRAY['insert', 'update', 'delete', 'login', 'logout'])[1 + g % 5],
  (ARRAY['orders', 'documents', 'users'])[1 + g % 3],
  ('10.' || g % 256 || '.' || (g / 256) % 256 || '.7')::inet,
  jsonb_build_object('request_id', md5(g::text), 'path', '/api/v1/orders/' || g % 100000,
    'status', 200 + (g % 3) * 100, 'duration_ms', g % 977,
    'changes', jsonb_build_object('quantity', g % 13, 'note', left(md5((g * 3)::text), (8 + g % 24)::int)))
  FROM generate_series(1::bigint, $AUDIT) g;
COMMIT;
SQL
audit_pid=$!
"${PSQL[@]}" -d bench <<SQL
BEGIN;
CREATE TABLE documents (id bigint NOT NULL, owner_id integer NOT NULL, title text NOT NULL, body text NOT NULL,
  updated_at timestamptz NOT NULL);
INSERT INTO documents SELECT g, 1 + g % $USERS, 'Document ' || g || ': ' || left(md5(g::text), 12),
  concat_ws(' ', md5(g::text), 'the customer asked about invoice', g % 9973, md5((g + 1)::text),
    'shipment delayed, new date confirmed by the carrier', md5((g + 2)::text), repeat('lorem ipsum dolor ', (g % 30)::int)),
  timestamptz '2024-01-01' + g * interval '40 seconds' FROM generate_series(1::bigint, $DOCS) g;
COMMIT;
SQL
wait "$audit_pid"
"${PSQL[@]}" -d bench <<SQL
ALTER TABLE users ADD PRIMARY KEY (id), ADD UNIQUE (email);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE audit_logs ADD PRIMARY KEY (id);
ALTER TABLE documents ADD PRIMARY KEY (id);
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (created_at);
CREATE INDEX ON audit_logs (created_at);
CREATE INDEX ON audit_logs (actor_id);
CREATE INDEX ON documents (owner_id);
ALTER TABLE documents ADD FOREIGN KEY (owner_id) REFERENCES users (id);
CREATE VIEW recent_orders AS SELECT * FROM orders WHERE created_at > timestamptz '2024-06-01';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO bench_reader;
VACUUM (FREEZE, ANALYZE);
SQL
# What VACUUM dirtied is written now, not by the first measured DROP DATABASE
# (which requests an immediate checkpoint).
"${PSQL[@]}" -d bench -c CHECKPOINT
DB_BYTES=$("${PSQL[@]}" -d bench -At -c "SELECT pg_database_size('bench')")
log "generated in $(awk -v a="$gen_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s: $("${PSQL[@]}" -d bench -At -c \
  "SELECT string_agg(relname || ' ' || pg_size_pretty(pg_total_relation_size(oid)), ', ' ORDER BY relname)
   FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"), database $DB_BYTES bytes"
awk -v b="$DB_BYTES" -v s="$SIZE_GB" 'BEGIN { exit !(b >= s * 1073741824) }' ||
  { echo "backup_overhead: the database has $DB_BYTES bytes, less than $SIZE_GB GiB" >&2; exit 1; }

# --- s3rver ---------------------------------------------------------------------
S3_PORT=$(free_port)
# Its continuation tokens use DES, which OpenSSL 3 keeps in the legacy provider.
NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" --directory "$WORK/s3" --address 127.0.0.1 --port "$S3_PORT" \
  --configure-bucket bench >"$WORK/s3rver.log" 2>&1 &
S3_PID=$!
for _ in $(seq 100); do grep -q "S3rver listening on" "$WORK/s3rver.log" && break; sleep 0.2; done
grep -q "S3rver listening on" "$WORK/s3rver.log" || { cat "$WORK/s3rver.log" >&2; exit 1; }

# --- the catalogue ----------------------------------------------------------------
TABLES="public.audit_logs, public.documents, public.orders, public.users"
VERIFY_1="SELECT count(*) > 0 FROM audit_logs WHERE action = 'login'"
VERIFY_2="SELECT NOT EXISTS (SELECT 1 FROM documents d LEFT JOIN users u ON u.id = d.owner_id WHERE u.id IS NULL)"
cat >"$WORK/bench.yml" <<EOF
targets:
  db: {type: postgres, dsn: "host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench"}
  drill_server: {type: postgres, dsn: "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"}
  files: {type: storage, url: "file://$WORK/store"}
  s3: {type: storage, url: "s3://bench/drwatch", endpoint: "http://127.0.0.1:$S3_PORT",
       access_key_id: S3RVER, secret_access_key: S3RVER}
checks:
  - {name: dump_file, kind: backup.pg_dump, target: db, storage: files, tables: [$TABLES], keep: {last: 1}, timeout: 3h}
  - {name: dump_s3, kind: backup.pg_dump, target: db, storage: s3, tables: [$TABLES], keep: {last: 1}, timeout: 3h}
  - name: drill
    kind: restore.drill
    target: drill_server
    backup: dump_file
    verify: ["$VERIFY_1", "$VERIFY_2"]
$([ -n "${JOBS:-}" ] && echo "    jobs: $JOBS")
EOF

# --- one measured step --------------------------------------------------------------
# measure STEP CMD...: runs CMD (a command or a function of this shell), appends
# "STEP wall_s cpu_s ROUND" to results (CPU: user + system of the waited children).
# `times` runs in this shell (not in a $(...) subshell, whose children are not these).
child_cpu() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
measure() {
  local step=$1 t0 t1 c0 c1
  shift
  times >"$WORK/times0"
  t0=$(date +%s.%N)
  "$@" >"$WORK/out.$step" 2>&1 || { log "step $step failed: $*"; cat "$WORK/out.$step" >&2; exit 1; }
  t1=$(date +%s.%N)
  times >"$WORK/times1"
  c0=$(child_cpu "$WORK/times0") c1=$(child_cpu "$WORK/times1")
  awk -v s="$step" -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v r="$round" 'BEGIN { printf "%s %.3f %.3f %s\n", s, b - a, d - c, r }' |
    tee -a "$WORK/results" >&2
}

drwatchd() { TMPDIR=$WORK/tmp "$DRWATCHD" --config.file="$WORK/bench.yml" --storage.path="$WORK/state" "$@"; }
RAW_DUMP=$WORK/raw/data.dump
raw_dump() { rm -f "$RAW_DUMP"; "$PG_BIN/pg_dump" -d bench -Fc --no-password -f "$RAW_DUMP"; }
s3curl() {
  curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
raw_upload() { s3curl -T "$RAW_DUMP" "http://127.0.0.1:$S3_PORT/bench/raw/data.dump"; }
# The same file as a multipart upload of 8 MiB parts, as drwatchd sends it,
# one part after the other (split beforehand, not timed): what s3rver's
# multipart handling costs whoever the client is.
split_parts() { rm -f "$WORK"/raw/part.*; split -b 8M -d -a 5 "$RAW_DUMP" "$WORK/raw/part."; }
raw_multipart() {
  local base="http://127.0.0.1:$S3_PORT/bench/raw/multipart.dump" id n=0 etag parts="" part
  id=$(s3curl -X POST "$base?uploads" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
  for part in "$WORK"/raw/part.*; do
    n=$((n + 1))
    etag=$(s3curl -T "$part" -D - -o /dev/null "$base?partNumber=$n&uploadId=$id" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
    parts+="<Part><PartNumber>$n</PartNumber><ETag>$etag</ETag></Part>"
  done
  s3curl -X POST --data-binary "<CompleteMultipartUpload>$parts</CompleteMultipartUpload>" "$base?uploadId=$id"
}
# The queries a drill runs after restoring (lib/restore/: restore_steps.cpp
# VerifyTable for each manifest table, structure.cpp kStructureQuery, then
# the catalogue's verify), here through one psql session.
STRUCTURE_SQL=$(cat <<'SQL'
SELECT
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition),
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AND c.relkind IN ('r', 'p', 'f') AND c.relispartition),
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AND c.relkind IN ('v', 'm')),
 (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')),
 (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'),
 (SELECT count(*) FROM pg_policy),
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AND c.relrowsecurity),
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AND c.relacl IS NOT NULL AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)),
 (SELECT count(*) FROM pg_extension),
 (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')),
 (SELECT count(*) FROM pg_publication);
SQL
)
stamp() { echo "$(date +%s.%N) $1" >>"$WORK/phases.e"; }
raw_restore() {
  local dump db=raw_scratch
  dump=$(ls "$WORK"/store/dump_file/*/data.dump)
  : >"$WORK/phases.e"
  stamp start
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db"
  stamp "create database"
  "$PG_BIN/pg_restore" --exit-on-error ${JOBS:+-j "$JOBS"} -d "$db" "$dump"
  stamp "pg_restore"
  {
    for t in audit_logs documents orders users; do
      echo "SELECT to_regclass('\"public\".\"$t\"') IS NOT NULL;"
      echo "SELECT count(*) FROM \"public\".\"$t\";"
    done
    echo "$STRUCTURE_SQL"
    echo "BEGIN READ ONLY; $VERIFY_1; COMMIT;"
    echo "BEGIN READ ONLY; $VERIFY_2; COMMIT;"
  } | "${PSQL[@]}" -d "$db" -At
  stamp "verification queries"
  "${PSQL[@]}" -d postgres -c "DROP DATABASE $db WITH (FORCE)"
  stamp "drop database"
  awk '{ t = $1; $1 = ""; if (NR > 1) printf "  %-40s %.3fs\n", substr($0, 2), t - p; p = t }' "$WORK/phases.e"
}

# What drwatchd does besides the raw tools' work, each alone with the raw
# programs: the extra children of a backup run (pg_dump --schema-only,
# pg_dumpall --roles-only), the row and structure counts it takes in the
# snapshot, the SHA-256 it computes on the way; a drill's copy of data.dump into
# its temp directory with the checksum, and its plan (pg_restore -l -v).
extra_schema() { "$PG_BIN/pg_dump" -d bench --schema-only --no-password -f "$WORK/raw/schema.sql"; }
extra_roles() { "$PG_BIN/pg_dumpall" --roles-only --no-role-passwords --no-password -l bench -f "$WORK/raw/roles.sql"; }
extra_counts() {
  {
    echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
    echo "SELECT (SELECT count(*) FROM public.audit_logs), (SELECT count(*) FROM public.documents),"
    echo "  (SELECT count(*) FROM public.orders), (SELECT count(*) FROM public.users);"
    echo "$STRUCTURE_SQL"
    echo "COMMIT;"
  } | "${PSQL[@]}" -d bench -At
}
extra_sha256() { sha256sum "$RAW_DUMP"; }
extra_fetch() { cp "$RAW_DUMP" "$WORK/tmp/fetched.dump" && sha256sum "$WORK/tmp/fetched.dump" && rm "$WORK/tmp/fetched.dump"; }
extra_plan() { "$PG_BIN/pg_restore" -l -v "$RAW_DUMP" | wc -l; }
EXTRAS=(schema roles counts sha256 fetch plan)

# Warm-up: the tables in the page cache, and one run of each check (the first
# backup of a check has no older run for retention to remove).
"${PSQL[@]}" -d bench -At -c "SELECT count(*) FROM audit_logs; SELECT count(*) FROM documents;
  SELECT count(*) FROM orders; SELECT count(*) FROM users" >/dev/null
drwatchd --log.level=warn backup run dump_file >"$WORK/out.warmup" 2>&1 || { cat "$WORK/out.warmup" >&2; exit 1; }
drwatchd --log.level=warn backup run dump_s3 >"$WORK/out.warmup" 2>&1 || { cat "$WORK/out.warmup" >&2; exit 1; }

for round in $(seq "$REPEATS"); do
  log "round $round of $REPEATS"
  if [ $((round % 2)) = 1 ]; then
    order=(a b c m d e f)
  else
    order=(b a d c m f e)
  fi
  for step in "${order[@]}"; do
    case $step in
      a) measure a raw_dump && split_parts ;;
      b) measure b drwatchd --log.level=warn backup run dump_file ;;
      c) measure c raw_upload ;;
      m) measure m raw_multipart ;;
      d) measure d drwatchd --log.level=warn backup run dump_s3 ;;
      e) measure e raw_restore ;;
      f) measure f drwatchd --log.level=warn restore drill drill ;;
    esac
    cp "$WORK/out.$step" "$WORK/out.$step.$round"
  done
  for extra in "${EXTRAS[@]}"; do measure "$extra" "extra_$extra"; done
done

# PERF_OUT=DIR: one more backup run to file:// and to S3 and one drill under
# `perf record` (drwatchd and its children, not the PostgreSQL backends): the
# CPU by program and library, and drwatchd's own hottest symbols.
if [ -n "${PERF_OUT:-}" ]; then
  mkdir -p "$PERF_OUT"
  for run in "file:backup run dump_file" "s3:backup run dump_s3" "drill:restore drill drill"; do
    name=${run%%:*}
    read -ra words <<<"${run#*:}"
    perf record -q -F 999 -g -o "$WORK/perf.$name" -- \
      env TMPDIR="$WORK/tmp" "$DRWATCHD" --config.file="$WORK/bench.yml" --storage.path="$WORK/state" \
      --log.level=warn "${words[@]}" >/dev/null 2>&1 || { log "perf record of $name failed"; continue; }
    perf report -q -i "$WORK/perf.$name" --no-children --stdio --sort comm,dso --percent-limit 0.5 -g none \
      >"$PERF_OUT/$name.by-program.txt" 2>/dev/null || true
    perf report -q -i "$WORK/perf.$name" --no-children --stdio --comm drwatchd --sort dso,sym --percent-limit 0.5 \
      -g none >"$PERF_OUT/$name.drwatchd.txt" 2>/dev/null || true
  done
  log "perf reports in $PERF_OUT"
fi

# --- the figures ----------------------------------------------------------------------
median() {  # median STEP COLUMN
  awk -v s="$1" -v c="$2" '$1 == s { print $c }' "$WORK/results" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
W_a=$(median a 2) W_b=$(median b 2) W_c=$(median c 2) W_d=$(median d 2) W_e=$(median e 2) W_f=$(median f 2)
C_a=$(median a 3) C_b=$(median b 3) C_c=$(median c 3) C_d=$(median d 3) C_e=$(median e 3) C_f=$(median f 3)
W_m=$(median m 2) C_m=$(median m 3)
dump_bytes=$(stat -c %s "$RAW_DUMP")
stored=$(sed -n 's/.* \([0-9]*\) bytes in .*/\1/p' "$WORK/out.b")
echo
echo "database $DB_BYTES bytes ($(awk -v b="$DB_BYTES" 'BEGIN { printf "%.2f", b / 1073741824 }') GiB), pg_dump -Fc $dump_bytes bytes, drwatchd run $stored bytes (data.dump, schema.sql, roles.sql); $REPEATS round(s), medians"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| | raw tools | wall (CPU) | drwatchd | wall (CPU) | ratio of the medians | ratio in each round (median, range) | goal | met |"
echo "|---|---|---|---|---|---|---|---|---|"
# ratios DRW RAW [RAW2]: "median min max" over the rounds of DRW / (RAW + RAW2),
# each round's steps taken next to each other.
ratios() {
  awk -v n="$1" -v d1="$2" -v d2="${3:-}" '{ w[$1, $4] = $2; if ($4 > rounds) rounds = $4 }
    END { for (r = 1; r <= rounds; r++) print w[n, r] / (w[d1, r] + (d2 == "" ? 0 : w[d2, r])) }' "$WORK/results" |
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
row() {  # row NAME RAW_LABEL RAW_WALL RAW_CPU DRW_LABEL DRW_WALL DRW_CPU GOAL "MEDIAN MIN MAX"
  awk -v n="$1" -v rl="$2" -v rw="$3" -v rc="$4" -v dl="$5" -v dw="$6" -v dc="$7" -v g="$8" -v p="$9" 'BEGIN {
    split(p, q, " ")
    printf "| %s | %s | %.2f s (%.2f s) | %s | %.2f s (%.2f s) | %.2f | %.2f (%.2f–%.2f) | %s | %s |\n",
      n, rl, rw, rc, dl, dw, dc, dw / rw, q[1], q[2], q[3], g, (q[1] <= g ? "yes" : "no") }'
}
row "backup to file://" "pg_dump -Fc -f" "$W_a" "$C_a" "backup run" "$W_b" "$C_b" 1.10 "$(ratios b a)"
row "backup to S3" "pg_dump -Fc -f, then curl -T" "$(awk -v a="$W_a" -v c="$W_c" 'BEGIN { print a + c }')" \
  "$(awk -v a="$C_a" -v c="$C_c" 'BEGIN { print a + c }')" "backup run" "$W_d" "$C_d" 1.20 "$(ratios d a c)"
row "(S3, upload alone)" "curl -T" "$W_c" "$C_c" "backup run" "$W_d" "$C_d" 1.20 "$(ratios d c)"
row "(S3, multipart by hand)" "pg_dump -Fc -f, then curl 8 MiB parts" "$(awk -v a="$W_a" -v m="$W_m" 'BEGIN { print a + m }')" \
  "$(awk -v a="$C_a" -v m="$C_m" 'BEGIN { print a + m }')" "backup run" "$W_d" "$C_d" 1.20 "$(ratios d a m)"
row "drill" "createdb, pg_restore, queries, dropdb" "$W_e" "$C_e" "restore drill" "$W_f" "$C_f" 1.10 "$(ratios f e)"
echo "(met: the median of the rounds' ratios, each round's raw and drwatchd steps run next to each other)"
echo
echo "what drwatchd does besides, each alone with the raw programs (medians):"
echo
echo "| | wall (CPU) |"
echo "|---|---|"
extra_row() { awk -v n="$1" -v w="$(median "$2" 2)" -v c="$(median "$2" 3)" 'BEGIN { printf "| %s | %.2f s (%.2f s) |\n", n, w, c }'; }
extra_row "backup: pg_dump --schema-only" schema
extra_row "backup: pg_dumpall --roles-only --no-role-passwords" roles
extra_row "backup: row counts of the 4 tables and the structure counts" counts
extra_row "backup: SHA-256 of data.dump (sha256sum)" sha256
extra_row "drill: copy data.dump and its SHA-256 (cp, sha256sum)" fetch
extra_row "drill: plan (pg_restore -l -v)" plan
echo
echo "the last raw restore's steps:"
grep '^  ' "$WORK/out.e"
echo "the last drill's steps:"
sed -n '/^restore drill/,/^OK/p' "$WORK/out.f"
if [ -n "${KEEP_LOGS:-}" ]; then cp "$WORK"/results "$WORK"/out.* "$KEEP_LOGS"/; fi
