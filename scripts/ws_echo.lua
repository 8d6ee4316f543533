-- scripts/ws_echo.lua: a WebSocket server that sends every message back
-- to its sender, with its type (text stays text, binary stays binary).
-- The benchmark's WebSocket server, and a service under the daemon: the
-- listener's connections are handed to a WebSocketServer; after a reload
-- the open WebSockets stay on the old code, which closes them with 1001
-- (going away) shortly before its drain time (shutdown_timeout) is up.
--
--   luanetd scripts/ws_echo.lua [--host H] [--port P] [--deflate yes] [--cert FILE --key FILE]
--
-- --deflate yes takes permessage-deflate (RFC 7692) when a client offers it.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ws_echo.lua [--host H] [--port P] [--deflate yes] [--cert FILE --key FILE]"

-- `open` is weak: a WebSocket leaves it when it is collected, after its
-- disconnect (close() on one that is already gone does nothing).
local function serve(ws, open)
  open[ws] = true
  ws.textMessageReceived:connect(function(msg) ws:sendTextMessage(msg) end)
  ws.binaryMessageReceived:connect(function(data) ws:sendBinaryMessage(data) end)
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, deflate = "no", cert = false, key = false }, ...)
  if opts.deflate ~= "yes" and opts.deflate ~= "no" then cli.usage_error(USAGE, "--deflate takes yes or no") end
  local tcp, err = cli.listen(opts)
  if not tcp then cli.fail(err) end
  local server = net.WebSocketServer("ws_echo", opts.cert and "SecureMode" or "NonSecureMode",
    { deflate = opts.deflate == "yes" })
  local open = setmetatable({}, { __mode = "k" })
  server.newConnection:connect(function()
    while server:hasPendingConnections() do serve(server:nextPendingConnection(), open) end
  end)
  tcp.newConnection:connect(function()
    while tcp:hasPendingConnections() do server:handleConnection(tcp:nextPendingConnection()) end
  end)
  cli.before_drain_ends((...), function()
    for ws in pairs(open) do ws:close(net.WebSocket.CloseCodeGoingAway, "server going away") end
  end)
end

cli.run(main, ...)
