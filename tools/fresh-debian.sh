#!/usr/bin/env bash
# tools/fresh-debian.sh [ROOTFS]: `make fresh`. The README's contract on a
# fresh minimal Debian 12: a debootstrap'd root (minbase, made once under
# ROOTFS.base and copied for each run), a clean clone of HEAD in /root of
# that root, then the README's two commands inside it as root: `make test`
# (with CI=true) must end with "N passed, 0 failed", and `make run` must
# serve. Needs root, debootstrap and the Debian archive; takes about 20
# minutes (the packages are downloaded into the new root).
set -eu
root_dir=$(cd "$(dirname "$0")/.." && pwd)
rootfs=${1:-/var/tmp/luanetd-fresh}
base=$rootfs.base
log=$rootfs.log

# shellcheck source=tools/debian-root.sh
. "$root_dir/tools/debian-root.sh"

[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: run as root (debootstrap, chroot)" >&2; exit 2; }

# Made aside and renamed, so that a debootstrap cut short is never taken
# for a base.
if [ ! -x "$base/bin/sh" ]; then
  rm -rf --one-file-system "$base.new"
  debian_root_bootstrap "$base.new" "$log.debootstrap"
  rm -rf --one-file-system "$base"
  mv "$base.new" "$base"
fi

trap debian_root_unmount EXIT

rm -rf --one-file-system "$rootfs"
cp -a "$base" "$rootfs"
debian_root_mount "$rootfs"

# A clean clone of what is committed, as a user would make it, in /root
# (mode 0700, as on a fresh machine).
git clone -q "$root_dir" "$rootfs/root/luanetd"
chmod 0700 "$rootfs/root"

# What a user types on a fresh machine: make first (minbase has none),
# then the README's two commands.
chroot "$rootfs" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb CI=true /bin/bash -c '
  set -e
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends make >/dev/null
  cd /root/luanetd
  make test
' >"$log" 2>&1 || true
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
grep -aE '^(Failure|Error) → ' "$log" | sed 's/^/fresh-debian: /' || true
echo "fresh-debian: make test: ${summary:-no summary line} (the whole output: $log)"

# make run serves: the default config's echo service answers.
run_out=$(chroot "$rootfs" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c '
  cd /root/luanetd
  make run >/tmp/run.log 2>&1 &
  pid=$!
  answered=
  for _ in $(seq 100); do
    answered=$( (exec 3<>/dev/tcp/127.0.0.1/7007 && printf "fresh\n" >&3 && read -r -t 2 line <&3 &&
                 echo "$line") 2>/dev/null) && break
    sleep 0.2
  done
  echo "fresh-debian: make run: the echo service answered \"$answered\""
  kill -TERM "$(pgrep -P $pid luanetd || echo $pid)" 2>/dev/null
  wait $pid
  tail -n 3 /tmp/run.log
')
echo "$run_out"
case $summary in
  *" passed, 0 failed") ;;
  *) exit 1 ;;
esac
grep -q 'answered "fresh"' <<<"$run_out"
