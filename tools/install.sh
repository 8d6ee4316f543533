#!/usr/bin/env bash
# tools/install.sh [--build DIR] [--user NAME] DESTDIR PREFIX SYSCONFDIR LUA_VERSION
#   `make install`, and the install step of the Debian package (debian/rules).
# tools/install.sh --cmake-options PREFIX LUA_VERSION
#   The CMake options that name where the files go, for a caller that
#   builds itself (debian/rules, with Debian's build flags).
# Without --build, builds in build-install/ with the Lua directory set to
# where the files go, so the installed binary never reads the source tree;
# --build DIR installs what DIR holds, configured with --cmake-options.
# --user NAME sets `user = "NAME"` in the installed config.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

# Where the Lua library and the C modules go, for PREFIX and LUA_VERSION.
paths() {
  prefix=$1 luaver=$2
  luadir=$prefix/share/lua/$luaver
  cmoddir=$prefix/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo .)/lua/$luaver
  # A stock lua5.4 searches /usr/local/lib/lua/5.4 (and, for /usr, the
  # multiarch directory); keep C modules where it looks.
  [ "$prefix" = /usr/local ] && cmoddir=$prefix/lib/lua/$luaver
  cmake_options=(-DLUANET_LUA_DIR="$luadir" -DLUANET_TLS_MODULE="$cmoddir/luanet/tls.so")
}

if [ "${1:-}" = --cmake-options ]; then
  paths "$2" "$3"
  echo "${cmake_options[@]}"
  exit 0
fi

build= user=
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    *) break ;;
  esac
done
destdir=$1 sysconfdir=$3
paths "$2" "$4"
scriptdir=$prefix/share/luanetd/scripts
confdir=$sysconfdir/luanetd
docdir=$prefix/share/doc/luanetd
unitdir=$prefix/lib/systemd/system
[ "$prefix" = /usr ] && unitdir=/lib/systemd/system

if [ -z "$build" ]; then
  build=$root/build-install
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${cmake_options[@]}" >/dev/null
  cmake --build "$build" -j "$(nproc)"
fi

install -d "$destdir$prefix/bin" "$destdir$luadir/luanet" "$destdir$cmoddir/luanet" \
  "$destdir$scriptdir" "$destdir$confdir" "$destdir$unitdir" "$destdir$docdir"
install -m 0755 "$build/luanetd" "$destdir$prefix/bin/luanetd"
# The library with its folders (luanet/http/, luanet/ftp/, ...). A file
# an older install left where a folder now stands (luanet/http.lua, now
# luanet/http/init.lua) would be found first on package.path: it goes.
for d in "$root"/lua/luanet/*/; do rm -f "$destdir$luadir/luanet/$(basename "$d").lua"; done
(cd "$root/lua" && find luanet -name '*.lua' | sort) | while read -r f; do
  install -D -m 0644 "$root/lua/$f" "$destdir$luadir/$f"
done
install -m 0644 "$build/luanet/core.so" "$destdir$cmoddir/luanet/core.so"
install -m 0644 "$build/luanet/tls.so" "$destdir$cmoddir/luanet/tls.so"
install -m 0644 "$root"/scripts/*.lua "$destdir$scriptdir/"
install -d "$destdir$prefix/share/luanetd/www"
install -m 0644 "$root"/www/* "$destdir$prefix/share/luanetd/www/"
install -d "$destdir$prefix/share/luanetd/ftp/pub"
install -m 0644 "$root"/ftp/pub/* "$destdir$prefix/share/luanetd/ftp/pub/"
install -m 0644 "$root/README.md" "$destdir$docdir/README.md"
# The man pages and the API reference (LDoc's HTML), once they exist.
for section in 5 8; do
  for page in "$root"/docs/man/*."$section"; do
    [ -e "$page" ] || continue
    install -D -m 0644 "$page" "$destdir$prefix/share/man/man$section/$(basename "$page")"
  done
done
if [ -d "$root/docs/api" ]; then
  (cd "$root/docs" && find api -type f | sort) | while read -r f; do
    install -D -m 0644 "$root/docs/$f" "$destdir$docdir/$f"
  done
fi
# Keep a config the administrator has changed.
if [ ! -e "$destdir$confdir/luanetd.conf" ]; then
  set_user=()
  [ -z "$user" ] || set_user=(-e "s|^-- user = \"[^\"]*\"|user = \"$user\"|")
  sed -e "s|\"\\.\\./scripts/|\"$scriptdir/|" -e "s|root = \"www\"|root = \"$prefix/share/luanetd/www\"|" \
    -e "s|root = \"ftp\"|root = \"$prefix/share/luanetd/ftp\"|" \
    "${set_user[@]}" \
    "$root/etc/luanetd.conf" >"$destdir$confdir/luanetd.conf"
  chmod 0644 "$destdir$confdir/luanetd.conf"
  if [ -n "$user" ] && ! grep -q "^user = \"$user\"" "$destdir$confdir/luanetd.conf"; then
    echo "install: etc/luanetd.conf has no '-- user = \"...\"' line to set user = \"$user\" in" >&2
    exit 1
  fi
fi
sed -e "s|@BINDIR@|$prefix/bin|" -e "s|@CONFDIR@|$confdir|" -e "s|@DOCDIR@|$docdir|" \
  "$root/etc/luanetd.service" >"$destdir$unitdir/luanetd.service"
chmod 0644 "$destdir$unitdir/luanetd.service"
echo "installed luanetd under $destdir$prefix (config $destdir$confdir/luanetd.conf, unit $destdir$unitdir/luanetd.service)"
