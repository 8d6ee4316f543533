-- scripts/echo_server.lua: sends every byte it receives back to its sender.
-- It is the benchmark's server, so the hot path is one slot: readyRead
-- takes all that is buffered and writes it back (write sends at once and
-- queues only what the kernel will not take). A closed connection needs
-- nothing from us: the core releases the socket.
--
--   luanetd scripts/echo_server.lua [--host H] [--port P]
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "echo_server.lua [--host H] [--port P]"

-- Back-pressure: while 1 MiB waits for a peer that reads slower than it
-- sends, the socket reads no more (setWriteHighWater), so TCP slows the
-- sender and memory stays bounded; the queue's cap is never reached, and
-- the stream never has to be cut.
local HIGH_WATER = 1 << 20

local function serve(client)
  client:setWriteHighWater(HIGH_WATER)
  client.readyRead:connect(function() client:write(client:readAll()) end)
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0 }, ...)
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  server.newConnection:connect(function() serve(server:nextPendingConnection()) end)
end

cli.run(main, ...)
