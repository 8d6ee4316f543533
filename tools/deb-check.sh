#!/usr/bin/env bash
# tools/deb-check.sh [DEB]: `make deb-check`. The Debian package as a user
# of a fresh Debian 12 gets it: lintian first (no error allowed), then a
# minimal root (debootstrap minbase, from this machine's apt mirror) in a
# temporary directory, where `apt-get install ./luanetd_*.deb` resolves the
# dependencies and the installed files are put to use: luanetd --version,
# a stock lua5.4 requiring luanet and exchanging a line over 127.0.0.1,
# the config's --check, the system user and the conffile, the daemon itself
# running the installed config as that user (in a network namespace of its
# own, so its ports never meet the host's), the man pages. Everything it
# made is unmounted and removed at exit, on failure too. Needs root and
# the Debian archive; takes a few minutes. DEB: build-deb/luanetd_*.deb.
set -eu
root_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/debian-root.sh
. "$root_dir/tools/debian-root.sh"

[ "$(id -u)" -eq 0 ] || { echo "deb-check: run as root (debootstrap, chroot)" >&2; exit 2; }
deb=${1:-$(ls -t "$root_dir"/build-deb/luanetd_*_amd64.deb 2>/dev/null | head -n 1)}
[ -f "$deb" ] || { echo "deb-check: no build-deb/luanetd_*_amd64.deb: run make deb first" >&2; exit 2; }
command -v lintian >/dev/null || "$root_dir/tools/deps.sh" lintian
start=$(date +%s)

echo "deb-check: lintian $(basename "$deb")"
lintian_out=$(lintian --display-info "$deb" 2>&1 | grep -v '^running with root privileges') || true
echo "${lintian_out:-(nothing to report)}" | sed 's/^/  /'
if grep -q '^E: ' <<<"$lintian_out"; then
  echo "deb-check: FAIL: lintian reports errors" >&2
  exit 1
fi

tmp=$(mktemp -d /var/tmp/luanetd-deb-check.XXXXXX)
cleanup() {
  debian_root_remove "$tmp/root" && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # so that EXIT's cleanup runs on these too

mkdir "$tmp/root"
debian_root_bootstrap "$tmp/root" "$tmp/debootstrap.log"
debian_root_mount "$tmp/root"
# No service starts in the root (there is no systemd in it anyway).
printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d"
chmod 755 "$tmp/root/usr/sbin/policy-rc.d"
cp "$deb" "$tmp/root/tmp/"
cp "$root_dir/tools/loopback-check.lua" "$tmp/root/tmp/"

# In the root, with the network: the package, as a user installs it
# (apt-get resolves what it depends on), then man-db to look the pages up.
cat >"$tmp/root/tmp/install.sh" <<'EOF'
export DEBIAN_FRONTEND=noninteractive
cd /tmp
apt-get update -q >apt.log 2>&1
if apt-get install -y -q --no-install-recommends ./luanetd_*.deb >>apt.log 2>&1; then
  echo "deb-check: ok: apt-get install ./$(echo luanetd_*.deb): $(grep -E '^[0-9]+ upgraded, [0-9]+ newly installed' apt.log)"
else
  tail -n 20 apt.log
  echo "deb-check: FAIL: apt-get install ./luanetd_*.deb"
  exit 1
fi
apt-get install -y -q --no-install-recommends man-db >>apt.log 2>&1
EOF

# Then, in a network namespace of its own (only lo, up), the checks. Each
# says ok or FAIL; the script's status is the number of failures.
cat >"$tmp/root/tmp/checks.sh" <<'EOF'
set -u
failed=0
ok() { echo "deb-check: ok: $*"; }
fail() { echo "deb-check: FAIL: $*"; failed=$((failed + 1)); }

version=$(luanetd --version 2>&1)
echo "$version" | sed 's/^/  /'
case $version in
  "luanetd "[0-9]*) ;;
  *) fail "luanetd --version: no 'luanetd VERSION' line" ;;
esac
if grep -q '^OpenSSL [0-9]' <<<"$version"; then
  ok "luanetd --version, with its TLS module (/usr/lib/*/lua/5.4/luanet/tls.so) loaded"
else
  fail "luanetd --version: OpenSSL not available"
fi

out=$(cd / && lua5.4 /tmp/loopback-check.lua 2>&1)
echo "$out" | sed 's/^/  /'
if grep -qx 'echo: hello over 127.0.0.1' <<<"$out" && grep -q '^luanet.core: /usr/lib/x86_64-linux-gnu/lua/5.4/luanet/core.so$' <<<"$out"; then
  ok "lua5.4: require \"luanet\" (no environment), a TcpServer and a TcpSocket exchanged a line"
else
  fail "lua5.4 with luanet: no line back, or the module came from elsewhere"
fi

out=$(luanetd -c /etc/luanetd/luanetd.conf --check 2>&1)
if [ $? -eq 0 ]; then ok "luanetd -c /etc/luanetd/luanetd.conf --check: $out"; else fail "--check: $out"; fi

if user=$(getent passwd luanetd); then ok "the system user: $user"; else fail "no user luanetd"; fi
if grep -q '^user = "luanetd"' /etc/luanetd/luanetd.conf; then
  ok "the config drops to it: $(grep '^user = ' /etc/luanetd/luanetd.conf)"
else
  fail "the config sets no user = \"luanetd\""
fi
conffiles=$(dpkg-query -W -f='${Conffiles}' luanetd)
if grep -q '^ /etc/luanetd/luanetd.conf [0-9a-f]\{32\}$' <<<"$conffiles"; then
  ok "conffile registered:$conffiles"
else
  fail "conffiles: '$conffiles'"
fi
unit=/lib/systemd/system/luanetd.service
if grep -q '^Type=notify$' $unit && grep -q '^ExecStart=/usr/bin/luanetd -c /etc/luanetd/luanetd.conf$' $unit &&
   [ -L /etc/systemd/system/multi-user.target.wants/luanetd.service ]; then
  ok "the unit: $unit (Type=notify), enabled for multi-user.target"
else
  fail "the unit: $unit missing, not Type=notify, or not enabled"
fi

# The daemon as systemd would run it: started as root, the installed
# config, the echo service answers, it runs as luanetd, ctl finds it.
luanetd -c /etc/luanetd/luanetd.conf >/tmp/daemon.log 2>&1 &
pid=$!
answer=
for _ in $(seq 50); do
  answer=$( (exec 3<>/dev/tcp/127.0.0.1/7007 && printf 'deb-check\n' >&3 && read -r -t 2 line <&3 && echo "$line") 2>/dev/null) && break
  sleep 0.2
done
uid=$(awk '/^Uid:/ { print $2 }' /proc/$pid/status 2>/dev/null)
if [ "$answer" = deb-check ] && [ "$uid" = "$(id -u luanetd)" ]; then
  ok "the daemon with the installed config: echo on 127.0.0.1:7007 answered, running as luanetd (uid $uid)"
else
  fail "the daemon: echo answered '$answer', uid '$uid'"
fi
if status=$(luanetd ctl status 2>&1); then
  ok "luanetd ctl status (its default socket): $(echo "$status" | head -n 1)"
else
  fail "luanetd ctl status: $status"
fi
kill -TERM $pid
wait $pid
code=$?
if [ $code -eq 0 ]; then ok "SIGTERM: exit 0"; else fail "SIGTERM: exit $code"; fi
sed 's/^/  daemon: /' /tmp/daemon.log | tail -n 12

pages=$(man -w luanetd 2>&1; man -w 5 luanetd.conf 2>&1)
if grep -q '/usr/share/man/man8/luanetd.8.gz' <<<"$pages" && grep -q '/usr/share/man/man5/luanetd.conf.5.gz' <<<"$pages"; then
  ok "man -w luanetd, man -w 5 luanetd.conf: $(echo $pages)"
else
  fail "man pages: $pages"
fi
exit $failed
EOF

status=0
in_root="/usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /bin/bash"
chroot "$tmp/root" $in_root /tmp/install.sh || status=$?
[ $status -ne 0 ] || unshare --net /bin/sh -c 'ip link set lo up && exec chroot "$@"' sh "$tmp/root" $in_root \
  /tmp/checks.sh || status=$?
echo "deb-check: $([ $status -eq 0 ] && echo passed || echo "$status check(s) FAILED") in $(($(date +%s) - start)) s"
exit $status
