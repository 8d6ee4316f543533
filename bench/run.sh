#!/usr/bin/env bash
# bench/run.sh: what `make bench` runs after `make build` and the bench deps.
# Builds the C parts of the harness (cc -O2, into build/bench/), raises the
# fd limit for the idle-connection test, and runs bench/harness.py, which
# writes bench/RESULTS.md and prints the table. Arguments go to the harness
# (e.g. bench/run.sh --quick, --rounds 3, --skip cachegrind, --servers luanetd,floor).
set -eu
cd "$(dirname "$0")/.."

out=build/bench
mkdir -p "$out"
for prog in loadgen echo_floor chat_load; do
  if [ ! -x "$out/$prog" ] || [ "bench/$prog.c" -nt "$out/$prog" ]; then
    cc -O2 -Wall -Wextra -std=gnu11 -o "$out/$prog" "bench/$prog.c"
  fi
done

[ -x build/luanetd ] || { echo "bench: build/luanetd missing: run make build" >&2; exit 1; }

# The Node.js peers' packages (the ws workload's `ws`, the redis workload's
# `ioredis`), at the versions
# bench/package-lock.json pins, from the npm registry.
# npm comes with Node.js (NodeSource's package) or as Debian's npm.
if [ ! -d bench/node_modules/ws ] || [ ! -d bench/node_modules/ioredis ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  command -v npm >/dev/null || { echo "bench: npm missing (apt-get install npm)" >&2; exit 1; }
  (cd bench && npm ci --no-audit --no-fund --silent)
fi

# 5,000 held connections need 5,000 fds in the server and in the client.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 6000 ]; then
  ulimit -Hn 65536 2>/dev/null || true
  hard=$(ulimit -Hn)
fi
ulimit -n "$hard"

exec /usr/bin/python3 bench/harness.py "$@"
