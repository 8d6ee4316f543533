#!/usr/bin/env bash
# tools/deb.sh [JOBS]: `make deb`. Builds build-deb/luanetd_VERSION_amd64.deb
# from debian/ with dpkg-buildpackage, in a copy of the working tree under
# build-deb/ (dpkg-buildpackage writes next to the source directory and
# leaves debian/build, debian/luanetd, ... behind: all of it stays in
# build-deb/). The copy is the working tree as it is, edits included, as
# `make install` would install it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${1:-$(nproc)}
out=$root/build-deb

# One version: debian/changelog's must be CMakeLists.txt's, which the
# binary reports (luanetd --version).
deb_version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
cmake_version=$(sed -nE 's/^project\(luanetd VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
if [ "$deb_version" != "$cmake_version" ]; then
  echo "deb: debian/changelog says $deb_version, CMakeLists.txt's project says $cmake_version: add a changelog entry (dch -v $cmake_version)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/luanetd-$deb_version"
# Build directories and what git ignores for other reasons stay out.
tar -C "$root" -c --exclude-vcs --exclude='./build*' --exclude=./bench/node_modules . |
  tar -C "$out/luanetd-$deb_version" -x
echo "deb: dpkg-buildpackage -us -uc -b in build-deb/luanetd-$deb_version (log: build-deb/build.log)"
if ! (cd "$out/luanetd-$deb_version" && dpkg-buildpackage -us -uc -b -J"$jobs") >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log" >&2
  echo "deb: dpkg-buildpackage failed (the whole log: build-deb/build.log)" >&2
  exit 1
fi
# What the packaging tools warned about (dpkg-shlibdeps, dh_*), if anything.
grep -E '^(dpkg-[a-z]+|dh_[a-z]+): warning' "$out/build.log" >&2 || true
rm -rf "${out:?}/luanetd-$deb_version"
ls "$out"/luanetd_"$deb_version"_*.deb
