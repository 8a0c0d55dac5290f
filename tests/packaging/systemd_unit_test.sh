#!/usr/bin/env bash
# The systemd files in packaging/systemd/ are valid and the unit stays hardened:
#   1. `systemd-analyze verify` accepts reelflowd.service (no warning at all),
#   2. `systemd-analyze security --offline=true` rates it at exposure <= 2.5 (figure printed),
#   3. sysusers.d and tmpfiles.d apply cleanly to an empty root, with the modes and owners meant.
# Usage: systemd_unit_test.sh SOURCE_DIR [REELFLOWD]
#   REELFLOWD: the build tree's daemon; when absent (not built yet) a stand-in executable takes its
#   place in ExecStart=, which verify requires to exist. Everything else is checked the same way.
# Skips (exit 77) when systemd-analyze is missing; `packaging/dev deps` installs systemd.
set -euo pipefail

source_dir=$1
reelflowd=${2:-}
unit=$source_dir/packaging/systemd/reelflowd.service
sysusers=$source_dir/packaging/systemd/reelflow.sysusers
tmpfiles=$source_dir/packaging/systemd/reelflow.tmpfiles
max_exposure=2.5

fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (install the systemd package: packaging/dev deps)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. verify. It checks every directive and that ExecStart's binary exists and is executable; the
# machine need not run systemd (--generators=no; --man=no: man pages are not installed here).
if [ -n "$reelflowd" ] && [ -x "$reelflowd" ]; then
  daemon=$reelflowd
else
  daemon=$work/reelflowd
  printf '#!/bin/sh\nexit 0\n' > "$daemon"
  chmod 0755 "$daemon"
  echo "note: reelflowd is not built; verifying with a stand-in ExecStart binary"
fi
grep -q '^ExecStart=/usr/bin/reelflowd ' "$unit" \
  || fail "ExecStart= no longer starts /usr/bin/reelflowd"
sed "s#^ExecStart=/usr/bin/reelflowd #ExecStart=$daemon #" "$unit" > "$work/reelflowd.service"
if ! output=$(systemd-analyze verify --man=no --generators=no "$work/reelflowd.service" 2>&1); then
  fail "systemd-analyze verify rejected the unit:"$'\n'"$output"
fi
# Unknown or misspelt directives are only warnings: treat any output as a failure.
[ -z "$output" ] || fail "systemd-analyze verify complained:"$'\n'"$output"
echo "ok: systemd-analyze verify reelflowd.service"

# 2. security. The real unit file: --offline=true reads only the file.
report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) \
  || fail "systemd-analyze security failed:"$'\n'"$report"
exposure=$(printf '%s\n' "$report" \
  | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "no exposure figure in:"$'\n'"$report"
echo "exposure: $exposure" \
  "(systemd-analyze security --offline=true packaging/systemd/reelflowd.service)"
if ! awk -v e="$exposure" -v max="$max_exposure" 'BEGIN { exit !(e <= max) }'; then
  printf '%s\n' "$report" | grep '✗' >&2 || true
  fail "exposure $exposure is above $max_exposure"
fi
echo "ok: exposure $exposure <= $max_exposure"

# 3. sysusers and tmpfiles, applied to an empty root. Both write only under --root; tmpfiles
# resolves the reelflow user through the root's /etc/passwd that sysusers just wrote.
root=$work/root
mkdir -p "$root/etc"
systemd-sysusers --root="$root" - < "$sysusers" >/dev/null 2>"$work/sysusers.err" \
  || fail "systemd-sysusers rejected reelflow.sysusers: $(cat "$work/sysusers.err")"
grep -q '^reelflow:x:[0-9]*:[0-9]*:[^:]*:/var/lib/reelflow:/usr/sbin/nologin$' "$root/etc/passwd" \
  || fail "sysusers did not make the reelflow user as intended: $(cat "$root/etc/passwd")"
grep -q '^reelflow:x:' "$root/etc/group" || fail "sysusers did not make the reelflow group"
echo "ok: sysusers creates user and group reelflow"

if [ "$(id -u)" -ne 0 ]; then
  # Without root, tmpfiles cannot chown: check the syntax only.
  echo "note: not root; tmpfiles checked for field counts only"
  grep -v '^#' "$tmpfiles" | awk 'NF && NF != 6 { exit 1 }' \
    || fail "a tmpfiles line has not 6 fields"
  exit 0
fi
systemd-tmpfiles --root="$root" --create - < "$tmpfiles" 2>"$work/tmpfiles.err" \
  || fail "systemd-tmpfiles rejected reelflow.tmpfiles: $(cat "$work/tmpfiles.err")"
[ -s "$work/tmpfiles.err" ] && fail "systemd-tmpfiles complained: $(cat "$work/tmpfiles.err")"
uid=$(awk -F: '$1 == "reelflow" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "reelflow" { print $3 }' "$root/etc/group")
expect_dir() {  # PATH MODE UID GID
  local got
  got=$(stat -c '%a %u %g' "$root$1" 2>/dev/null) || fail "tmpfiles did not create $1"
  [ "$got" = "$2 $3 $4" ] || fail "$1 is '$got' (mode uid gid), expected '$2 $3 $4'"
}
expect_dir /var/lib/reelflow 750 "$uid" "$gid"
expect_dir /srv/reelflow 755 0 0
expect_dir /srv/reelflow/inbox 2775 "$uid" "$gid"
echo "ok: tmpfiles creates /var/lib/reelflow, /srv/reelflow/inbox with their modes and owners"
