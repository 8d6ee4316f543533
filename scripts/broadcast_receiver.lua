-- scripts/broadcast_receiver.lua: Qt's Broadcast Receiver example. It binds
-- port 45454 with ShareAddress|ReuseAddressHint, so that several receivers
-- on one host share the port and each gets every broadcast, and prints
-- every datagram as `Received datagram: "..."`.
--
--   luanetd scripts/broadcast_receiver.lua [--port P] [--count N]
--
-- The first line names the port ("Listening for broadcasted messages on
-- port P"): --port 0 takes a free one. --count N exits after N datagrams
-- (0, the default, never does).
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "broadcast_receiver.lua [--port P] [--count N]"

local function main(...)
  local opts = cli.options(USAGE, { port = 45454, count = "0" }, ...)
  local count = math.tointeger(tonumber(opts.count))
  if not count or count < 0 then cli.usage_error(USAGE, "bad count " .. tostring(opts.count)) end

  local socket = net.UdpSocket()
  if not socket:bind("Any", opts.port, "ShareAddress|ReuseAddressHint") then
    cli.fail(("Unable to bind port %d: %s."):format(opts.port, socket:errorString()))
  end
  print(("Listening for broadcasted messages on port %d"):format(socket:localPort()))

  local received = 0
  socket.readyRead:connect(function()
    while socket:hasPendingDatagrams() do
      local datagram = socket:readDatagram()
      if not datagram then break end
      print(('Received datagram: "%s"'):format(datagram))
      received = received + 1
      if count > 0 and received >= count then
        socket:close()   -- nothing is left: the process ends
        return
      end
    end
  end)
end

cli.run(main, ...)
