-- scripts/counter_server.lua: answers each line with how many lines the
-- service has answered, a count that survives hot reloads. By default the
-- count lives in service.state, which the daemon copies into the new
-- code's state when it reloads (a snapshot at the switch: connections
-- still on the old code go on counting there), one count per worker. With
-- --dict NAME (option dict under the daemon) it lives in the SharedDict
-- NAME instead: one count for every worker and generation, incremented
-- atomically.
--
--   luanetd scripts/counter_server.lua [--host H] [--port P] [--dict NAME]
--   service "counter" { script = "scripts/counter_server.lua",
--                       listen = "tcp://127.0.0.1:7010", reload = "watch",
--                       options = { dict = "counters" } }   -- with shared = { counters = "64K" }
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "counter_server.lua [--host H] [--port P] [--dict NAME]"

local function serve(client, next_count)
  client.readyRead:connect(function()
    while client:canReadLine() do
      client:readLine()
      client:write(("%d\n"):format(next_count()))
    end
  end)
end

local function main(...)
  local service = type((...)) == "table" and (...) or nil
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, dict = false }, ...)
  local next_count
  if opts.dict then
    local dict = net.SharedDict(opts.dict, service == nil and "64K" or nil)
    next_count = function() return dict:incr("count", 1, 0) end
  else
    local state = service and service.state or {}
    state.count = state.count or 0
    next_count = function()
      state.count = state.count + 1
      return state.count
    end
  end
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  server.newConnection:connect(function() serve(server:nextPendingConnection(), next_count) end)
end

cli.run(main, ...)
