#!/usr/bin/env bash
# The shipped unit: systemd-analyze verify accepts it without a single warning
# (unknown keys and bad values are only warnings there, so any output fails),
# its offline security exposure stays low, and it keeps the directives the
# daemon's notify protocol and the README rely on.
# usage: systemd_unit_test.sh DRWATCHD_BINARY UNIT_FILE
set -euo pipefail
binary=$1
unit=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd; scripts/bootstrap installs it)"

work=$(mktemp -d /tmp/drwatch-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT

# verify needs ExecStart to exist: point it at the binary just built.
copy() { sed "s|^ExecStart=/usr/bin/drwatchd |ExecStart=$binary |" "$1" > "$work/drwatchd.service"; }
verify() {
  local out
  out=$(cd "$work" && systemd-analyze verify ./drwatchd.service 2>&1) || { echo "$out" >&2; return 1; }
  [ -z "$out" ] || { echo "$out" >&2; return 1; }
}

copy "$unit"
grep -q "^ExecStart=$binary " "$work/drwatchd.service" || fail "ExecStart is not /usr/bin/drwatchd …"
verify || fail "systemd-analyze verify complained about $unit"

# The check itself can fail: a typo'd key and an unknown value must be caught.
{ cat "$unit"; printf '[Service]\nRestartt=on-failure\nProtectSystem=bogus\n'; } > "$work/broken"
copy "$work/broken"
if verify 2>/dev/null; then fail "verify accepted a broken unit: the check proves nothing"; fi

copy "$unit"
(cd "$work" && systemd-analyze security --offline=true --threshold=20 ./drwatchd.service >"$work/security" 2>&1) \
  || { cat "$work/security" >&2; fail "security exposure above 2.0"; }

for directive in \
  'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30s' 'ExecReload=/bin/kill -HUP $MAINPID' \
  'Restart=on-failure' 'DynamicUser=yes' 'StateDirectory=drwatch' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'SystemCallFilter=@system-service' \
  'MemoryMax=256M' 'LoadCredential=prmcms_dsn:/etc/drwatch/prmcms_dsn' \
  'ExecStart=/usr/bin/drwatchd --config.file=/etc/drwatch/drwatch.yml' \
  'WantedBy=multi-user.target'; do
  grep -qxF -- "$directive" "$unit" || fail "$unit lacks the line: $directive"
done
echo "PASS: $unit"
