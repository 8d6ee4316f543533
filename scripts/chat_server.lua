-- scripts/chat_server.lua: a line-based TCP chat. Every line a client
-- sends goes to every client, the sender too: through net.Channel, so
-- under the daemon the room is one across its worker threads and across
-- reloads (clients still on the old code hear the new code's and the
-- other way round).
--
--   luanetd scripts/chat_server.lua [--host H] [--port P] [--channel NAME]
--   service "chat" { script = "scripts/chat_server.lua",
--                    listen = "tcp://127.0.0.1:7020", reload = "watch" }
--
-- Lines are published whole, with their "\n"; a line without one waits
-- for the rest. The line "/who" is not published: it is answered, to its
-- sender only, with "worker N" (the daemon's worker thread serving it; 1
-- alone). A client that reads slower than the room talks is not
-- waited for: its socket queues what it has not read yet.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "chat_server.lua [--host H] [--port P] [--channel NAME]"

local function main(...)
  local worker = type((...)) == "table" and (...).worker or 1
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, channel = "chat" }, ...)
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  local room = net.Channel(opts.channel)
  local clients = {}
  room.message:connect(function(line)
    for client in pairs(clients) do client:write(line) end
  end)
  server.newConnection:connect(function()
    while server:hasPendingConnections() do
      local client = server:nextPendingConnection()
      clients[client] = true
      client.readyRead:connect(function()
        while client:canReadLine() do
          local line = client:readLine()
          if line:match("^/who\r?\n$") then
            client:write(("worker %d\n"):format(worker))
          else
            room:publish(line)
          end
        end
      end)
      client.disconnected:connect(function() clients[client] = nil end)
    end
  end)
end

cli.run(main, ...)
