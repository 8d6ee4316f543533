-- scripts/counter_server.lua: answers each line with how many lines the
-- service has answered, a count that survives hot reloads. The count lives
-- in service.state, which the daemon copies into the new code's state when
-- it reloads (a snapshot at the switch: connections still on the old code
-- go on counting there).
--
--   luanetd scripts/counter_server.lua [--host H] [--port P]   (alone: from 0)
--   service "counter" { script = "scripts/counter_server.lua",
--                       listen = "tcp://127.0.0.1:7010", reload = "watch" }
local cli = require "luanet.cli"

local USAGE = "counter_server.lua [--host H] [--port P]"

local function serve(client, state)
  client.readyRead:connect(function()
    while client:canReadLine() do
      client:readLine()
      state.count = state.count + 1
      client:write(("%d\n"):format(state.count))
    end
  end)
end

local function main(...)
  local service = type((...)) == "table" and (...) or nil
  local state = service and service.state or {}
  state.count = state.count or 0
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0 }, ...)
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  server.newConnection:connect(function() serve(server:nextPendingConnection(), state) end)
end

cli.run(main, ...)
