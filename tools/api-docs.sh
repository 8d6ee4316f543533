#!/usr/bin/env bash
# tools/api-docs.sh [DIR]: writes the Lua library's API reference (HTML)
# into DIR, docs/api by default, from the doc comments in daemon/ and
# lua/luanet/ with LDoc (Debian's lua-ldoc) and config.ld. The output is
# the same on every run (config.ld drops LDoc's timestamp), so the
# committed docs/api can be compared with a fresh run: that is what
# spec/unit/api_docs_spec.lua does. Any LDoc warning (an unknown tag, a
# comment LDoc cannot place) fails the run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs/api}
case $out in /*) ;; *) out=$PWD/$out ;; esac

if ! command -v ldoc >/dev/null; then
  echo "api-docs: ldoc not found (apt-get install lua-ldoc)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ldoc reads ./config.ld and the files it lists, relative to the root.
# It writes its warnings, and only those, to stderr. One kind is dropped:
# datastream.lua's rules ("------ encoding") start with three dashes, so
# LDoc takes them for doc comments with nothing after them to document;
# they are section marks for its readers, and no entry comes of them.
rules="datastream\.lua:[0-9]+: definition cannot be parsed - not 'name=value' or 'return value'\$"
if ! (cd "$root" && ldoc -d "$tmp/html" .) >"$tmp/out" 2>"$tmp/err"; then
  echo "api-docs: ldoc failed:" >&2
  cat "$tmp/out" "$tmp/err" >&2
  exit 1
fi
if grep -vE "$rules" "$tmp/err" >"$tmp/warnings"; then
  echo "api-docs: ldoc warned (fix the doc comment it names):" >&2
  cat "$tmp/warnings" >&2
  exit 1
fi

# Only what LDoc writes is replaced, so a stale page of a class that is
# gone does not stay behind, and nothing else in DIR is touched.
mkdir -p "$out"
rm -rf "$out/index.html" "$out/ldoc.css" "$out/classes" "$out/modules"
cp -R "$tmp/html/." "$out/"
echo "api-docs: wrote $(find "$out" -name '*.html' | wc -l) pages to $out"
