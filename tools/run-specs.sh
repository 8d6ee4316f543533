#!/usr/bin/env bash
# Runs every spec twice: with a stock lua5.4 against build/ and with the
# sanitizer build's own luanetd as the interpreter (an ASan-built core.so
# cannot load into a stock lua5.4). Any AddressSanitizer/UBSan report, from
# the runner or from a luanetd a spec started, fails the run. The last line
# adds both passes up: "N passed, N failed" (busted's errors count as failed).
set -u
cd "$(dirname "$0")/.."

reports=build-asan/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# A daemon that drops privileges (user = "nobody") still writes its report.
chmod 1777 "$reports"

total_pass=0
total_fail=0

# The layers of daemon/ (docs/DESIGN.md, Layout): no include from a
# folder to a later one, no cycle between folders or between the files of
# one folder, no folder-private header used from outside. One check.
if python3 tools/include-graph.py --strict --files-strict >/tmp/luanetd-include-graph.$$ 2>&1; then
  total_pass=$((total_pass + 1))
else
  echo "run-specs: daemon/'s include graph has an upward include, a cycle or a private include:" >&2
  cat /tmp/luanetd-include-graph.$$ >&2
  total_fail=$((total_fail + 1))
fi
rm -f /tmp/luanetd-include-graph.$$

# Parses busted's summary line: "N successes / N failures / N errors / N pending".
count() {
  local log=$1 line
  line=$(grep -aE '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors?' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "run-specs: no busted summary in $log (the runner crashed?)" >&2
    total_fail=$((total_fail + 1))
    return
  fi
  local pass fail err
  pass=$(sed -E 's/^([0-9]+) success.*/\1/' <<<"$line")
  fail=$(sed -E 's/.* ([0-9]+) failures? .*/\1/' <<<"$line")
  err=$(sed -E 's/.* ([0-9]+) errors? .*/\1/' <<<"$line")
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail + err))
}

echo "== specs: lua5.4 /usr/bin/busted (build/) =="
log1=$(mktemp)
LUANETD=build/luanetd lua5.4 /usr/bin/busted "$@" 2>&1 | tee "$log1"
count "$log1"

echo "== specs: build-asan/luanetd tools/busted.lua (ASan + UBSan) =="
log2=$(mktemp)
# Reports go to files so that those of spawned luanetd processes count too.
ASAN_OPTIONS="log_path=$PWD/$reports/asan:detect_leaks=1:abort_on_error=0" \
UBSAN_OPTIONS="log_path=$PWD/$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp:print_suppressions=0" \
LUANETD=build-asan/luanetd build-asan/luanetd tools/busted.lua "$@" 2>&1 | tee "$log2"
count "$log2"

nreports=$(find "$reports" -type f | wc -l)
if [ "$nreports" -gt 0 ]; then
  echo "run-specs: $nreports sanitizer report(s):" >&2
  for f in "$reports"/*; do
    echo "--- $f" >&2
    head -n 60 "$f" >&2
  done
  total_fail=$((total_fail + nreports))
fi
rm -f "$log1" "$log2"

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
