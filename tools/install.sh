#!/usr/bin/env bash
# tools/install.sh DESTDIR PREFIX SYSCONFDIR LUA_VERSION: `make install`.
# Builds in build-install/ with the Lua directory set to where the files
# go, so the installed binary never reads the source tree.
set -eu
destdir=$1 prefix=$2 sysconfdir=$3 luaver=$4
root=$(cd "$(dirname "$0")/.." && pwd)
luadir=$prefix/share/lua/$luaver
cmoddir=$prefix/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo .)/lua/$luaver
# A stock lua5.4 searches /usr/local/lib/lua/5.4 (and, for /usr, the
# multiarch directory); keep C modules where it looks.
[ "$prefix" = /usr/local ] && cmoddir=$prefix/lib/lua/$luaver
scriptdir=$prefix/share/luanetd/scripts
confdir=$sysconfdir/luanetd
unitdir=$prefix/lib/systemd/system
[ "$prefix" = /usr ] && unitdir=/lib/systemd/system

cmake -S "$root" -B "$root/build-install" -DCMAKE_BUILD_TYPE=Release -DLUANET_LUA_DIR="$luadir" \
  -DLUANET_TLS_MODULE="$cmoddir/luanet/tls.so" >/dev/null
cmake --build "$root/build-install" -j "$(nproc)"

install -d "$destdir$prefix/bin" "$destdir$luadir/luanet" "$destdir$cmoddir/luanet" \
  "$destdir$scriptdir" "$destdir$confdir" "$destdir$unitdir" "$destdir$prefix/share/doc/luanetd"
install -m 0755 "$root/build-install/luanetd" "$destdir$prefix/bin/luanetd"
# The library with its folders (luanet/http/, luanet/ftp/, ...). A file
# an older install left where a folder now stands (luanet/http.lua, now
# luanet/http/init.lua) would be found first on package.path: it goes.
for d in "$root"/lua/luanet/*/; do rm -f "$destdir$luadir/luanet/$(basename "$d").lua"; done
(cd "$root/lua" && find luanet -name '*.lua' | sort) | while read -r f; do
  install -D -m 0644 "$root/lua/$f" "$destdir$luadir/$f"
done
install -m 0644 "$root/build-install/luanet/core.so" "$destdir$cmoddir/luanet/core.so"
install -m 0644 "$root/build-install/luanet/tls.so" "$destdir$cmoddir/luanet/tls.so"
install -m 0644 "$root"/scripts/*.lua "$destdir$scriptdir/"
install -d "$destdir$prefix/share/luanetd/www"
install -m 0644 "$root"/www/* "$destdir$prefix/share/luanetd/www/"
install -d "$destdir$prefix/share/luanetd/ftp/pub"
install -m 0644 "$root"/ftp/pub/* "$destdir$prefix/share/luanetd/ftp/pub/"
install -m 0644 "$root/README.md" "$destdir$prefix/share/doc/luanetd/README.md"
# Keep a config the administrator has changed.
if [ ! -e "$destdir$confdir/luanetd.conf" ]; then
  sed -e "s|\"\\.\\./scripts/|\"$scriptdir/|" -e "s|root = \"www\"|root = \"$prefix/share/luanetd/www\"|" \
    -e "s|root = \"ftp\"|root = \"$prefix/share/luanetd/ftp\"|" \
    "$root/etc/luanetd.conf" >"$destdir$confdir/luanetd.conf"
  chmod 0644 "$destdir$confdir/luanetd.conf"
fi
sed -e "s|@BINDIR@|$prefix/bin|" -e "s|@CONFDIR@|$confdir|" -e "s|@DOCDIR@|$prefix/share/doc/luanetd|" \
  "$root/etc/luanetd.service" >"$destdir$unitdir/luanetd.service"
chmod 0644 "$destdir$unitdir/luanetd.service"
echo "installed luanetd under $destdir$prefix (config $destdir$confdir/luanetd.conf, unit $destdir$unitdir/luanetd.service)"
