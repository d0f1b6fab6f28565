#!/usr/bin/env bash
# The .deb, as an admin meets it: cpack builds it from the build tree, dpkg -i
# puts every file where the README says (nothing more, nothing less), the
# installed binary and unit work, dpkg -r keeps the edited conffile, dpkg -P
# removes /etc/drwatch. Never leaves the package installed; runs of this test
# wait for each other (flock). A drwatch already on the machine (even only its
# conffiles, after dpkg -r) is never touched: the package is then built and
# inspected (dpkg-deb -c, -f) but not installed, and the test exits 77, which
# CTest reports as skipped; dpkg -P drwatch lets the whole test run.
# usage: deb_test.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$1
src=$2
version=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n -- "$0" "$@" || fail "needs root (or password-less sudo) for dpkg -i"
fi
# The package of each is in scripts/required-tools (cpack needs file, strip
# and dpkg-shlibdeps for SHLIBDEPS and CPACK_STRIP_FILES).
for tool in cpack:cmake dpkg:dpkg dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev file:file strip:binutils flock:util-linux; do
  command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing: install the Debian package ${tool#*:} (scripts/bootstrap does)"
done

exec 9>/run/lock/drwatch-deb-test.lock
flock -w 900 9 || fail "another deb test held the lock for 15 minutes"

work=$(mktemp -d /tmp/drwatch-deb.XXXXXX)
installed=0
# dpkg does not wait for its lock (apt in another shell may hold it): retry.
dpkg_retry() {
  local out i
  for i in $(seq 180); do
    if out=$(dpkg "$@" 2>&1); then return 0; fi
    if ! grep -qi 'lock' <<<"$out"; then echo "$out" >&2; return 1; fi
    sleep 1
  done
  echo "$out" >&2
  return 1
}
cleanup() {
  if [ "$installed" = 1 ]; then dpkg_retry --purge drwatch >/dev/null 2>&1 || echo "cleanup: dpkg -P drwatch failed" >&2; fi
  rm -rf "$work"
}
trap cleanup EXIT

status() { dpkg-query -W -f='${Status}' drwatch 2>/dev/null || true; }
inspect_only=0
case "$(status)" in
  ""|"unknown ok not-installed") ;;
  *)
    inspect_only=1
    echo "NOTE: a drwatch package is already on this machine ($(status)); it is left alone, and the" \
         "new package is built and inspected but not installed. 'dpkg -P drwatch' removes it" \
         "(conffiles too) and lets this test install, remove and purge the package." >&2
    ;;
esac

# --- build -------------------------------------------------------------------
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
debs=("$work"/out/drwatch_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one drwatch_*.deb in $work/out"
deb=${debs[0]}
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "drwatch_${version}_${arch}.deb" ] || fail "file name $(basename "$deb")"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = drwatch ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
depends=$(field Depends)
names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
for lib in libc6 libpq5 libsystemd0 libstdc++6; do
  grep -qxF "$lib" <<<"$names" || fail "Depends lacks $lib (shlibdeps): $depends"
done
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/drwatch/drwatch.yml ] || fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"

# Exactly these files, nothing else.
expected=(
  /etc/drwatch/drwatch.yml
  /lib/systemd/system/drwatchd.service
  /usr/bin/drwatchd
  /usr/share/doc/drwatch/README.md
  /usr/share/drwatch/drwatch.example.yml
)
for f in "$src"/docs/*.md; do expected+=("/usr/share/doc/drwatch/docs/$(basename "$f")"); done
# Installed when present (they are delivered separately).
for f in alerts/drwatch.rules.yml alerts/alertmanager.example.yml grafana/drwatch.json; do
  if [ -f "$src/config/$f" ]; then expected+=("/usr/share/drwatch/$f"); fi
done
printf '%s\n' "${expected[@]}" | sort >"$work/expected"
dpkg-deb -c "$deb" | awk '$1 ~ /^-/ {print substr($NF, 2)}' | sort >"$work/actual"
diff -u "$work/expected" "$work/actual" >&2 || fail "package contents differ from the README's layout (- expected, + packed)"

if [ "$inspect_only" = 1 ]; then
  echo "SKIPPED install, remove and purge of $(basename "$deb"): drwatch is already installed ($(status)); dpkg -P drwatch, then run again" >&2
  exit 77
fi

# --- install -------------------------------------------------------------------
installed=1
dpkg_retry -i "$deb" || fail "dpkg -i failed"
[ "$(status)" = "install ok installed" ] || fail "status after dpkg -i: $(status)"
for f in "${expected[@]}"; do [ -f "$f" ] || fail "$f missing after dpkg -i"; done
[ "$(stat -c %a /usr/bin/drwatchd)" = 755 ] || fail "/usr/bin/drwatchd mode $(stat -c %a /usr/bin/drwatchd)"
out=$(/usr/bin/drwatchd --version) || fail "/usr/bin/drwatchd --version failed"
[[ "$out" == "drwatchd $version (revision "* ]] || fail "--version printed: $out"
cmp -s "$src/systemd/drwatchd.service" /lib/systemd/system/drwatchd.service || fail "installed unit differs from systemd/drwatchd.service"
cmp -s "$src/config/drwatch.example.yml" /usr/share/drwatch/drwatch.example.yml || fail "installed example differs"

# The installed unit, with the installed binary, passes verify as is.
out=$(systemd-analyze verify /lib/systemd/system/drwatchd.service 2>&1) || { echo "$out" >&2; fail "verify of the installed unit"; }
[ -z "$out" ] || { echo "$out" >&2; fail "verify warned about the installed unit"; }

# /etc's catalogue reads the DSN from the credential the unit loads, by name
# (${cred:}, so systemd-run units of the command-line tools resolve it too); it
# is otherwise the example. Outside systemd $CREDENTIALS_DIRECTORY is unset and
# --config.check says so; pointed at a directory holding prmcms_dsn, it passes.
grep -qF 'dsn: "${cred:prmcms_dsn}"' /etc/drwatch/drwatch.yml || fail "/etc/drwatch/drwatch.yml does not read \${cred:prmcms_dsn}"
# The example's other secrets come from the environment: give them values, so
# the DSN's credential is all that decides.
export SUPABASE_ANON_KEY=deb-test-anon SUPABASE_ACCESS_TOKEN=sbp_deb_test \
  S3_ACCESS_KEY_ID=AKIDDEBTEST S3_SECRET_ACCESS_KEY=deb-test-s3-secret
if env -u CREDENTIALS_DIRECTORY /usr/bin/drwatchd --config.file=/etc/drwatch/drwatch.yml --config.check >"$work/check" 2>&1; then
  fail "--config.check passed without \$CREDENTIALS_DIRECTORY"
fi
grep -qF 'credential prmcms_dsn: $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=prmcms_dsn:/path, or use ${file:PATH})' "$work/check" \
  || { cat "$work/check" >&2; fail "--config.check did not explain the unset \$CREDENTIALS_DIRECTORY"; }
mkdir -m 0700 "$work/credentials"
echo "host=db.example port=5432 dbname=prmcms password=deb-test-s3cr3t" >"$work/credentials/prmcms_dsn"
chmod 600 "$work/credentials/prmcms_dsn"  # a secret: every user may not read it
if ! CREDENTIALS_DIRECTORY="$work/credentials" /usr/bin/drwatchd --config.file=/etc/drwatch/drwatch.yml --config.check \
    >"$work/check" 2>&1; then
  cat "$work/check" >&2
  fail "--config.check failed with CREDENTIALS_DIRECTORY holding prmcms_dsn"
fi
if grep -qF deb-test-s3cr3t "$work/check"; then fail "--config.check printed the credential"; fi
if [ -f /usr/share/drwatch/alerts/drwatch.rules.yml ] && command -v promtool >/dev/null; then
  promtool check rules /usr/share/drwatch/alerts/drwatch.rules.yml >"$work/promtool" 2>&1 \
    || { cat "$work/promtool" >&2; fail "promtool rejects the installed rules"; }
fi

# --- remove: binaries go, the edited conffile stays ----------------------------
echo "# edited by the admin" >>/etc/drwatch/drwatch.yml
echo "host=db.example port=5432" >/etc/drwatch/prmcms_dsn
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf /lib/systemd/system/drwatchd.service /etc/systemd/system/multi-user.target.wants/drwatchd.service
dpkg_retry -r drwatch || fail "dpkg -r failed"
[ "$(status)" = "deinstall ok config-files" ] || fail "status after dpkg -r: $(status)"
for f in "${expected[@]}"; do
  [ "$f" = /etc/drwatch/drwatch.yml ] && continue
  [ ! -e "$f" ] || fail "$f still there after dpkg -r"
done
[ ! -e /usr/share/drwatch ] || fail "/usr/share/drwatch still there after dpkg -r"
[ ! -e /usr/share/doc/drwatch ] || fail "/usr/share/doc/drwatch still there after dpkg -r"
tail -n1 /etc/drwatch/drwatch.yml | grep -qxF "# edited by the admin" || fail "dpkg -r lost the edited conffile"

# --- purge: /etc/drwatch and the enablement go --------------------------------
dpkg_retry -P drwatch || fail "dpkg -P failed"
installed=0
case "$(status)" in ""|"unknown ok not-installed") ;; *) fail "status after dpkg -P: $(status)" ;; esac
[ ! -e /etc/drwatch ] || fail "/etc/drwatch still there after dpkg -P: $(ls -A /etc/drwatch)"
[ ! -L /etc/systemd/system/multi-user.target.wants/drwatchd.service ] || fail "enable symlink left after dpkg -P"
echo "PASS: $(basename "$deb") installs, removes and purges cleanly"
