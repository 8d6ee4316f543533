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

-- Stdin as lines, read without blocking the loop: a TcpSocket adopts
-- descriptor 0. on_line(line) gets each line without its "\n" (the last
-- one even without one); on_end() comes once stdin has ended. Returns a
-- function that lets stdin go unheard: closed, and blocking again as the
-- shell gave it, which os.exit (cli.fail) would skip.
local function read_lines(on_line, on_end)
  local input = net.TcpSocket()
  local function complete_lines()
    while input:canReadLine() do on_line(input:readLine():sub(1, -2)) end
  end
  input.readyRead:connect(complete_lines)
  input.disconnected:connect(function()
    complete_lines()   -- what came with the end of input
    local rest = input:readAll()
    if rest ~= "" then on_line(rest) end
    on_end()
  end)
  if not input:setSocketDescriptor(0) then cli.fail("stdin: " .. input:errorString()) end
  return function()
    input.readyRead:disconnect()
    input.disconnected:disconnect()
    input:abort()
  end
end

local function main(...)
  local args, opts = cli.parse(USAGE, { cacert = true }, ...)
  local url = args[1]
  if not url then cli.usage_error(USAGE, "missing URL") end
  if args[2] then cli.usage_error(USAGE, "unexpected " .. args[2]) end

  local ws = net.WebSocket()
  local up = false
  local let_go_of_stdin = function() end

  local function send(line)
    if not ws:sendTextMessage(line) then
      let_go_of_stdin()
      cli.fail(ws:errorString())
    end
  end
  -- Once nothing waits to be sent, the close handshake; the server's end
  -- of it brings `disconnected`.
  local function close_when_sent()
    if ws:bytesToWrite() == 0 then ws:close() end
  end

  ws.connected:connect(function()
    up = true
    let_go_of_stdin = read_lines(send, function()
      ws.bytesWritten:connect(close_when_sent)
      close_when_sent()
    end)
  end)
  ws.textMessageReceived:connect(function(msg) io.stdout:write(msg, "\n") end)
  ws.binaryMessageReceived:connect(function(data) io.stdout:write(("[binary %d bytes]\n"):format(#data)) end)
  ws.disconnected:connect(function()
    if not up then cli.fail(ws:errorString()) end
    let_go_of_stdin()   -- when the server ended first, the rest of stdin is not read
    net.quit(0)
  end)
  local options = opts.cacert and { caCertificates = opts.cacert } or nil
  if not ws:open(url, nil, options) then cli.fail(ws:errorString()) end
end

cli.run(main, ...)
