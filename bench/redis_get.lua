-- bench/redis_get.lua: luanetd's side of the redis workload's GET measure
-- (bench/redis_phase.py); bench/node_redis_get.js is ioredis's.
--
--   build/luanetd bench/redis_get.lua --port P [--secs S] [--depth D] [--size B]
--                                     [--warmup W] [--mode both|single|pipeline]
--
-- One connection (net.Redis.connect) to redis-server on 127.0.0.1:P; SET
-- "bench:key" to a B-byte value (64), then, each for W seconds (0.5)
-- untimed and then for S seconds (2):
-- single: r:call("GET", key) one at a time, a round trip each;
-- pipeline: r:pipeline of D (16) GETs per round trip. Every reply is
-- checked against the value. Prints one key=value line per mode:
--   client=luanetd mode=single ops= secs= ops_per_s=
local net = require "luanet"

local opts = { port = 6379, secs = 2, warmup = 0.5, depth = 16, size = 64, mode = "both" }
local args = { ... }
for i = 1, #args, 2 do
  local k = args[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil or args[i + 1] == nil then
    io.stderr:write("usage: redis_get.lua --port P [--secs S] [--depth D] [--size B] [--warmup W] [--mode both|single|pipeline]\n")
    os.exit(2)
  end
  opts[k] = tonumber(args[i + 1]) or args[i + 1]
end

local function fail(...)
  io.stderr:write("redis_get.lua: ", table.concat({ ... }, " "), "\n")
  net.quit(1)
end

local KEY = "bench:key"
local value = ("v"):rep(opts.size)
local r, err = net.Redis.connect(("redis://127.0.0.1:%d"):format(opts.port))
if not r then return fail(err) end
local ok, why = r:call("SET", KEY, value)
if ok ~= "OK" then return fail("SET:", tostring(why)) end

local function single(secs)
  local n, t0 = 0, net.clock()
  local stop = t0 + secs * 1000
  repeat
    for _ = 1, 100 do
      local v, e = r:call("GET", KEY)
      if v ~= value then return fail("GET:", tostring(e or v)) end
    end
    n = n + 100
  until net.clock() >= stop
  return n, (net.clock() - t0) / 1000
end

local function pipelined(secs)
  local cmds = {}
  for i = 1, opts.depth do cmds[i] = { "GET", KEY } end
  local n, t0 = 0, net.clock()
  local stop = t0 + secs * 1000
  repeat
    for _ = 1, 10 do
      local replies, e = r:pipeline(cmds)
      if not replies then return fail("pipeline:", tostring(e)) end
      for i = 1, opts.depth do
        if replies[i] ~= value then return fail("pipeline reply", i, tostring(replies[i])) end
      end
    end
    n = n + 10 * opts.depth
  until net.clock() >= stop
  return n, (net.clock() - t0) / 1000
end

local function report(mode, n, secs)
  io.write(("client=luanetd mode=%s depth=%d ops=%d secs=%.3f ops_per_s=%.0f\n")
           :format(mode, mode == "single" and 1 or opts.depth, n, secs, n / secs))
  io.flush()
end

if opts.mode == "both" or opts.mode == "single" then
  single(opts.warmup)
  report("single", single(opts.secs))
end
if opts.mode == "both" or opts.mode == "pipeline" then
  pipelined(opts.warmup)
  report("pipeline", pipelined(opts.secs))
end
r:close()
net.quit(0)
