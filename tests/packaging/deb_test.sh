#!/usr/bin/env bash
# The .deb built by CPack (as `packaging/dev package` does) holds everything an operator and a
# plugin author need, in the places the unit and the binaries expect, and its installed tree works:
#   control: Recommends systemd, shlibdeps-derived Depends, the conffile, the maintainer scripts;
#   files:   binaries, the build's plugins, the SDK (headers + CMake package), unit, sysusers.d,
#            tmpfiles.d, config, an empty workflows dir, the examples;
#   extracted into a temp root: the CLI finds its plugins relative to itself, the unit and config
#   are the ones in packaging/, and the maintainer scripts, run against that root (DPKG_ROOT), make
#   the user and directories and never start the service by themselves; lintian if installed.
# Usage: deb_test.sh SOURCE_DIR BUILD_DIR [--reelflowd] [--worker]
#   --reelflowd, --worker: those targets exist, so the package must hold them.
set -euo pipefail

source_dir=$1
build_dir=$2
shift 2
expect_reelflowd=0 expect_worker=0
for option in "$@"; do
  case "$option" in
    --reelflowd) expect_reelflowd=1 ;;
    --worker) expect_worker=1 ;;
    *) echo "deb_test.sh: unknown option $option" >&2; exit 2 ;;
  esac
done

fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found (packaging/dev deps)"; exit 77; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Own output directory: CPack stages under it, so a concurrent `packaging/dev package` is
# unaffected.
if ! cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" \
    >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  fail "cpack failed"
fi
debs=("$work"/out/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  fail "expected one .deb, got: ${debs[*]}"
fi
deb=${debs[0]}
echo "ok: built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# Control archive.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = reelflow ] || fail "Package is '$(field Package)'"
case " $(field Recommends) " in
  *" systemd "* | *" systemd,"*) ;;
  *) fail "Recommends lacks systemd: '$(field Recommends)'" ;;
esac
field Depends | grep -q 'libc6' || fail "Depends has no shlibdeps result: '$(field Depends)'"
dpkg-deb -e "$deb" "$work/control"
grep -qx '/etc/reelflow/reelflowd.yaml' "$work/control/conffiles" \
  || fail "/etc/reelflow/reelflowd.yaml is not a conffile"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "maintainer script $script missing or not executable"
  sh -n "$work/control/$script" || fail "$script has a syntax error"
  cmp -s "$work/control/$script" "$source_dir/packaging/debian/$script" \
    || fail "$script differs from packaging/debian/$script"
done
grep -q 'systemd-sysusers .*reelflow.conf' "$work/control/postinst" || fail "postinst makes no user"
echo "ok: control: Recommends systemd, Depends from shlibdeps, conffile, postinst/prerm/postrm"

# Contents.
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's#^\./#/#; s#/$##' > "$work/files"
expect_file() { grep -qx "$1" "$work/files" || fail "the .deb lacks $1"; }
expect_file /usr/bin/reelflow
if [ $expect_reelflowd -eq 1 ]; then expect_file /usr/bin/reelflowd; fi
if [ $expect_worker -eq 1 ]; then expect_file /usr/libexec/reelflow/reelflow-worker; fi
plugin_count=0
for plugin in "$build_dir"/lib/reelflow/plugins/*.so; do
  [ -e "$plugin" ] || continue
  expect_file "/usr/lib/reelflow/plugins/$(basename "$plugin")"
  plugin_count=$((plugin_count + 1))
done
[ $plugin_count -gt 0 ] || fail "no plugin in $build_dir/lib/reelflow/plugins"
for file in /usr/include/reelflow/plugin.h /usr/include/reelflow/plugin.hpp \
            /usr/lib/cmake/Reelflow/ReelflowConfig.cmake \
            /usr/lib/cmake/Reelflow/ReelflowConfigVersion.cmake \
            /usr/lib/cmake/Reelflow/ReelflowTargets.cmake \
            /usr/lib/cmake/Reelflow/ReelflowPlugin.cmake \
            /usr/lib/systemd/system/reelflowd.service \
            /usr/lib/sysusers.d/reelflow.conf /usr/lib/tmpfiles.d/reelflow.conf \
            /etc/reelflow/reelflowd.yaml /etc/reelflow/workflows \
            /usr/share/doc/reelflow/examples/demo.yaml \
            /usr/share/doc/reelflow/examples/product_launch.yaml \
            /usr/share/doc/reelflow/examples/livestream_highlights.yaml \
            /usr/share/doc/reelflow/examples/retrain.yaml \
            /usr/share/doc/reelflow/examples/secrets.example; do
  expect_file "$file"
done
if grep -q '^/etc/reelflow/workflows/.' "$work/files"; then
  fail "a workflow is enabled by default: $(grep '^/etc/reelflow/workflows/.' "$work/files")"
fi
if grep -q '^/etc/reelflow/secrets$' "$work/files"; then fail "the .deb ships a secrets file"; fi
echo "ok: contents: binaries, $plugin_count plugin(s), SDK, unit, sysusers, tmpfiles, config," \
  "examples"

# The installed tree.
root=$work/root
dpkg-deb -x "$deb" "$root"
cmp -s "$root/usr/lib/systemd/system/reelflowd.service" \
  "$source_dir/packaging/systemd/reelflowd.service" \
  || fail "the packaged unit is not packaging/systemd/reelflowd.service"
cmp -s "$root/etc/reelflow/reelflowd.yaml" "$source_dir/packaging/reelflowd.yaml" \
  || fail "the packaged config is not packaging/reelflowd.yaml"
[ "$(stat -c %a "$root/etc/reelflow/reelflowd.yaml")" = 644 ] || fail "config mode is not 0644"
# The CLI finds ../lib/reelflow/plugins relative to itself, as reelflowd does under /usr/bin.
plugins_output=$("$root/usr/bin/reelflow" plugins 2>&1) \
  || fail "reelflow plugins failed: $plugins_output"
for plugin in "$build_dir"/lib/reelflow/plugins/*.so; do
  printf '%s\n' "$plugins_output" | grep -q "$root/usr/lib/reelflow/plugins/$(basename "$plugin")" \
    || fail "the installed reelflow does not load $(basename "$plugin"):"$'\n'"$plugins_output"
done
echo "ok: the extracted reelflow loads its plugins from /usr/lib/reelflow/plugins"
if [ $expect_reelflowd -eq 1 ]; then
  # The shipped config as it is, and with every documented default uncommented (the first of
  # alternatives such as the two `control:` lines), passes the daemon's own validation.
  config=$root/etc/reelflow/reelflowd.yaml
  awk '/^#?[a-z_]+:/ {
         key = $0; sub(/^#/, "", key); sub(/:.*/, "", key)
         if (key in seen || ($0 ~ /^#/ && key == "plugins")) next
         seen[key] = 1; sub(/^#/, ""); print
       }' "$config" > "$work/defaults.yaml"
  [ "$(grep -c . "$work/defaults.yaml")" -ge 15 ] \
    || fail "expected 15 or more documented settings, got: $(cat "$work/defaults.yaml")"
  # --check also looks at the state dir, the workflows and the control token file the config
  # names, which do not exist on a build machine: point those at the test's own (flags win over
  # the file; the token file's path is replaced in the uncommented copy).
  mkdir -p "$work/check-state" "$work/check-workflows"
  echo check-token > "$work/check.token"
  sed -i "s|^control_token_file:.*|control_token_file: $work/check.token|" "$work/defaults.yaml"
  for file in "$config" "$work/defaults.yaml"; do
    check=$("$root/usr/bin/reelflowd" --config "$file" --state-dir "$work/check-state" \
              --workflows "$work/check-workflows" --check 2>&1) \
      || fail "reelflowd rejects $(basename "$file"):"$'\n'"$check"
  done
  echo "ok: reelflowd --check accepts the shipped config and every documented default"
fi
# The maintainer scripts, run against the extracted root through DPKG_ROOT, with systemctl and
# chown recorded instead of run; a $root/run/systemd/system directory plays a booted systemd.
if command -v systemd-sysusers >/dev/null && [ "$(id -u)" -eq 0 ]; then
  stubs=$work/stubs calls=$work/calls
  mkdir -p "$stubs" "$root/run/systemd/system"
  for command in systemctl chown; do
    printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$command" "$calls" > "$stubs/$command"
    chmod 0755 "$stubs/$command"
  done
  run_script() {  # SCRIPT ARGS...: run it, keep its output in $work/script.out
    : > "$calls"
    DPKG_ROOT=$root PATH=$stubs:$PATH sh "$work/control/$1" "${@:2}" > "$work/script.out" 2>&1 \
      || fail "$* failed: $(cat "$work/script.out")"
  }
  called() { grep -qx "$1" "$calls"; }

  echo 'token=x' > "$root/etc/reelflow/secrets"
  chmod 0600 "$root/etc/reelflow/secrets"  # root:reelflow 0600 would be unreadable for the daemon
  run_script postinst configure ''
  [ "$(stat -c %a "$root/etc/reelflow/secrets")" = 640 ] \
    || fail "postinst left the secrets file mode $(stat -c %a "$root/etc/reelflow/secrets"), not 640"
  grep -q '^reelflow:' "$root/etc/passwd" || fail "postinst made no reelflow user"
  for dir in /srv/reelflow/inbox /var/lib/reelflow; do
    [ -d "$root$dir" ] || fail "postinst made no $dir"
  done
  called "chown root:reelflow $root/etc/reelflow/secrets" || fail "postinst did not chown secrets"
  called "systemctl daemon-reload" || fail "postinst did not reload systemd"
  if grep -Eq 'systemctl .*(start|enable|restart)' "$calls"; then
    fail "a first install started or enabled the service: $(cat "$calls")"
  fi
  grep -q 'systemctl enable --now reelflowd' "$work/script.out" \
    || fail "postinst does not say how to enable the service"
  # demo.yaml needs the demo's logo, accounts and hand-over folder, and would post publicly.
  if grep -q 'demo.yaml' "$work/script.out"; then
    fail "postinst points operators at demo.yaml: $(cat "$work/script.out")"
  fi
  for example in $(grep -oE 'examples/[a-z_]+(\.[a-z]+)?' "$work/script.out"); do
    [ -e "$root/usr/share/doc/reelflow/$example" ] \
      || fail "postinst names $example, which the package does not ship"
  done
  run_script postinst configure 0.0.1
  called "systemctl try-restart reelflowd.service" \
    || fail "an upgrade does not restart a running daemon"
  run_script prerm upgrade 0.2.0
  [ ! -s "$calls" ] || fail "prerm upgrade did something: $(cat "$calls")"
  run_script prerm remove
  called "systemctl stop reelflowd.service" || fail "prerm remove did not stop the service"
  run_script postrm remove
  [ -d "$root/var/lib/reelflow" ] || fail "postrm remove deleted the state"
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -s /usr/lib/systemd/system/reelflowd.service \
    "$root/etc/systemd/system/multi-user.target.wants/reelflowd.service"
  run_script postrm purge
  [ ! -e "$root/var/lib/reelflow" ] || fail "postrm purge kept /var/lib/reelflow"
  [ ! -L "$root/etc/systemd/system/multi-user.target.wants/reelflowd.service" ] \
    || fail "postrm purge kept the enablement symlink"
  for kept in /srv/reelflow/inbox /etc/reelflow/secrets; do
    [ -e "$root$kept" ] || fail "postrm purge deleted $kept"
  done
  rm -rf "$root/run/systemd/system"
  run_script postinst configure ''
  if grep -q systemctl "$calls"; then fail "systemctl called without systemd: $(cat "$calls")"; fi
  echo "ok: postinst/prerm/postrm: user, directories, secrets, no auto-start, restart on upgrade," \
    "stop on remove, purge keeps videos and secrets; nothing of systemctl without systemd"
else
  echo "note: not root or no systemd-sysusers; maintainer scripts not exercised"
fi

if command -v lintian >/dev/null; then
  # A bonus: reported, not enforced (CPack packages lack a changelog and copyright file).
  echo "lintian:"
  lintian --no-tag-display-limit "$deb" 2>&1 | sed 's/^/  /' || true
else
  echo "note: lintian not installed; skipped"
fi
