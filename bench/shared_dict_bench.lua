-- bench/shared_dict_bench.lua: the loops of the shared phase's dict
-- measure, one definition for both runtimes: bench/shared_dict_loop.lua
-- (build/luanetd, Lua 5.4, net.SharedDict) and bench/shared_dict_ngx.lua
-- (nginx's content_by_lua_file, LuaJIT, ngx.shared.DICT) load it with
-- dofile. Lua 5.1 syntax, so that LuaJIT reads it too.
--
-- loops(d, keys, R): the dict loop (R rounds over the pre-built keys of
-- d:incr(k, 1, 0); d:get(k); d:set(k, r)) and the table loop (the same
-- three operations on a plain table of this runtime).
-- measure(d, keys, R, reps, wall_ms, runtime): both loops, warmed up, then
-- reps times each, alternating, timed with os.clock (CPU time; wall_ms()
-- for the wall time beside it); returns the text: a line per repetition
-- and a last key=value line with the medians in ns per operation (3 per
-- key per round) and the difference, added_ns: what the dict adds.
local M = {}

function M.loops(d, keys, R)
  local N = #keys
  local function dict_loop()
    for r = 1, R do
      for i = 1, N do
        local k = keys[i]
        d:incr(k, 1, 0)
        local _ = d:get(k)
        d:set(k, r)
      end
    end
  end
  local function table_loop()
    local t = {}
    for r = 1, R do
      for i = 1, N do
        local k = keys[i]
        t[k] = (t[k] or 0) + 1
        local _ = t[k]
        t[k] = r
      end
    end
  end
  return dict_loop, table_loop
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  local h = math.floor(n / 2)
  return n % 2 == 1 and s[h + 1] or (s[h] + s[h + 1]) / 2
end

function M.measure(d, keys, R, reps, wall_ms, runtime)
  local dict_loop, table_loop = M.loops(d, keys, R)
  local ops = 3 * #keys * R
  local function timed(f)
    collectgarbage()
    local c0, w0 = os.clock(), wall_ms()
    f()
    local c1, w1 = os.clock(), wall_ms()
    return (c1 - c0) * 1e9 / ops, (w1 - w0) * 1e6 / ops
  end
  dict_loop(); table_loop()   -- warm-up (and a JIT's traces): the dict's entries exist from here on
  local dict_ns, table_ns, diff_ns, out = {}, {}, {}, {}
  for rep = 1, reps do
    local dc, dw, tc, tw
    if rep % 2 == 1 then
      dc, dw = timed(dict_loop); tc, tw = timed(table_loop)
    else
      tc, tw = timed(table_loop); dc, dw = timed(dict_loop)
    end
    dict_ns[rep], table_ns[rep], diff_ns[rep] = dc, tc, dc - tc
    out[#out + 1] = ("rep=%d dict_ns=%.1f table_ns=%.1f added_ns=%.1f dict_wall_ns=%.1f table_wall_ns=%.1f\n")
      :format(rep, dc, tc, dc - tc, dw, tw)
  end
  assert(d:get(keys[1]) == R, "the dict's last set did not stick")
  out[#out + 1] = ("runtime=%s keys=%d rounds=%d reps=%d ops=%d dict_ns=%.2f table_ns=%.2f added_ns=%.2f\n")
    :format(runtime, #keys, R, reps, ops, median(dict_ns), median(table_ns), median(diff_ns))
  return table.concat(out)
end

return M
