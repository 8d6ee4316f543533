-- scripts/ws_client.lua: a WebSocket client for the command line. Each
-- line of stdin goes to URL as a text message (without its "\n"; a last
-- line without one is sent too); each text message that comes back is
-- printed on a line of stdout. Binary messages are not printed as they
-- are, since they are not text: a line "[binary N bytes]" stands for each.
--
--   luanetd scripts/ws_client.lua URL [--cacert FILE]
--   printf 'hello\nworld\n' | luanetd scripts/ws_client.lua ws://127.0.0.1:8080/
--
-- wss:// servers are verified against the system CA store, or the CA
-- certificates in --cacert FILE. Stdin is read only once the connection
-- is up, through a TcpSocket that adopts descriptor 0
-- (setSocketDescriptor), so that reading it never blocks the loop. When
-- stdin ends, the client waits until every message has been handed to the
-- kernel, then makes the close handshake and exits 0; a server that closes
-- first ends it too (exit 0, after what came was printed). A connection
-- that cannot be made (refused, a bad URL, a handshake or a certificate
-- the client does not accept) prints Qt's error text on stderr and exits
-- 1, as does a message that cannot be queued. Stdin is read as fast as it
-- comes: for a server slower than the input, messages wait in memory.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ws_client.lua URL [--cacert FILE]"

-- Sends each complete line that input holds, without its "\n".
local function send_lines(input, ws)
  while input:canReadLine() do
    if not ws:sendTextMessage(input:readLine():sub(1, -2)) then cli.fail(ws:errorString()) end
  end
end

-- Reads stdin as lines into ws; calls at_end once stdin has ended and its
-- last line was sent.
local function pipe_stdin(ws, at_end)
  local input = net.TcpSocket()
  input.readyRead:connect(function() send_lines(input, ws) end)
  input.disconnected:connect(function()
    send_lines(input, ws)   -- what came with the end of input
    local rest = input:readAll()
    if rest ~= "" and not ws:sendTextMessage(rest) then cli.fail(ws:errorString()) end
    at_end()
  end)
  if not input:setSocketDescriptor(0) then cli.fail("stdin: " .. input:errorString()) end
  return input
end

local function main(...)
  local args, opts = cli.parse(USAGE, { cacert = true }, ...)
  local url = args[1]
  if not url then cli.usage_error(USAGE, "missing URL") end
  if args[2] then cli.usage_error(USAGE, "unexpected " .. args[2]) end

  local ws = net.WebSocket()
  local input, up = nil, false

  -- Once nothing waits to be sent, the close handshake; the server's end
  -- of it brings `disconnected`.
  local function close_when_sent()
    if ws:bytesToWrite() == 0 then ws:close() end
  end

  ws.connected:connect(function()
    up = true
    input = pipe_stdin(ws, function()
      ws.bytesWritten:connect(close_when_sent)
      close_when_sent()
    end)
  end)
  ws.textMessageReceived:connect(function(msg) io.stdout:write(msg, "\n") end)
  ws.binaryMessageReceived:connect(function(data) io.stdout:write(("[binary %d bytes]\n"):format(#data)) end)
  ws.disconnected:connect(function()
    if not up then cli.fail(ws:errorString()) end
    if input then   -- the server ended first: stdin is closed unheard, and given back as it came
      input.disconnected:disconnect()
      input:abort()
    end
    net.quit(0)
  end)
  local options = opts.cacert and { caCertificates = opts.cacert } or nil
  if not ws:open(url, nil, options) then cli.fail(ws:errorString()) end
end

cli.run(main, ...)
