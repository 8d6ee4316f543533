-- bench/shared_incr_service.lua: the service of the shared phase's
-- two-worker run (bench/shared_phase.py), under luanetd -c with workers = 2
-- and shared = { bench = "1M" }. Line commands, one answer line each:
--   who          -> "worker W"
--   go N         -> N x dict:incr("hot", 1, 0) in one loop, then
--                   "worker=W n=N start_ms=S end_ms=E ns_per_incr=X last=V"
--                   (start/end: net.clock(), a monotonic clock that every
--                   worker shares, so the harness can see the loops overlap)
--   get          -> "value=V" (the key "hot"; 0 when absent)
--   reset        -> "value=0"
-- The loop holds this worker's event loop for its time: that is the point.
local net = require "luanet"

local service = ...
local worker = type(service) == "table" and service.worker or 1
local server = service.listeners[1]
local dict = net.SharedDict("bench")

local function go(n)
  local incr = dict.incr
  local t0 = net.clock()
  local v
  for _ = 1, n do v = incr(dict, "hot", 1, 0) end
  local t1 = net.clock()
  return ("worker=%d n=%d start_ms=%.3f end_ms=%.3f ns_per_incr=%.1f last=%s\n")
    :format(worker, n, t0, t1, (t1 - t0) * 1e6 / n, tostring(v))
end

server.newConnection:connect(function()
  while server:hasPendingConnections() do
    local c = server:nextPendingConnection()
    c.readyRead:connect(function()
      while c:canReadLine() do
        local line = c:readLine()
        local n = line:match("^go (%d+)")
        if n then
          c:write(go(tonumber(n)))
        elseif line:match("^who") then
          c:write(("worker %d\n"):format(worker))
        elseif line:match("^get") then
          c:write(("value=%s\n"):format(tostring(dict:get("hot") or 0)))
        elseif line:match("^reset") then
          dict:set("hot", 0)
          c:write("value=0\n")
        else
          c:write("error unknown command\n")
        end
      end
    end)
  end
end)
