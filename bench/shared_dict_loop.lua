-- bench/shared_dict_loop.lua: luanetd's side of the shared phase's dict
-- measure (bench/shared_phase.py); the loops are bench/shared_dict_bench.lua's.
--
--   build/luanetd bench/shared_dict_loop.lua [--keys N] [--rounds R] [--reps K]
--                                             [--size S] [--only dict]
--
-- On net.SharedDict("bench", S): R rounds over N pre-built keys of
-- d:incr(k, 1, 0); d:get(k); d:set(k, r), and the same on a plain Lua
-- table, K times each; prints a line per repetition and a last key=value
-- line with the medians (ns per operation) and added_ns = dict - table.
-- The time is CPU time (os.clock); the wall time (net.clock) is printed
-- beside it. --only dict runs the dict loop alone, R rounds K times, and
-- prints nothing: what the phase's profile (perf record) looks at.
local net = require "luanet"

local opts = { keys = 1000, rounds = 200, reps = 7, size = "16M", only = "" }
local args = { ... }
for i = 1, #args, 2 do
  local k = args[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil or args[i + 1] == nil then
    io.stderr:write("usage: shared_dict_loop.lua [--keys N] [--rounds R] [--reps K] [--size S] [--only dict]\n")
    os.exit(2)
  end
  opts[k] = tonumber(args[i + 1]) or args[i + 1]
end

local bench = dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "shared_dict_bench.lua")
local keys = {}
for i = 1, opts.keys do keys[i] = "key:" .. i end
local d = net.SharedDict("bench", opts.size)

if opts.only == "dict" then
  local dict_loop = bench.loops(d, keys, opts.rounds)
  for _ = 1, opts.reps + 1 do dict_loop() end
  os.exit(0)
end
io.write(bench.measure(d, keys, opts.rounds, opts.reps, net.clock, "luanetd"))
