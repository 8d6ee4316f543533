-- scripts/blocking_fortune_client.lua: Qt's Blocking Fortune Client. The
-- same protocol and messages as fortune_client.lua, written top to bottom as
-- Qt's FortuneThread::run is: waitForConnected, then waitForReadyRead until
-- the size and then the whole block are there, each bounded by 5 s. Under
-- luanetd the main chunk is a task, so each waitFor* suspends it and the
-- loop runs on; under a stock lua5.4 they run the loop nested, as Qt's do.
--
--   luanetd scripts/blocking_fortune_client.lua HOST PORT
local net = require "luanet"
local cli = require "luanet.cli"
local fortune = require "luanet.fortune"

local USAGE = "blocking_fortune_client.lua HOST PORT [--tls [--cacert FILE]]"
local FLAGS = { tls = true, cacert = false }

-- Waits until n bytes are buffered; false when a wait fails first.
local function wait_for_bytes(sock, n)
  while sock:bytesAvailable() < n do
    if not sock:waitForReadyRead(fortune.TIMEOUT_MS) then return false end
  end
  return true
end

-- Returns the fortune, or nil and the message to show.
local function fetch_fortune(host, port, opts)
  local sock <close> = net.TcpSocket()
  cli.connect(sock, host, port, opts)
  local ready = opts.tls and sock.waitForEncrypted or sock.waitForConnected
  if not ready(sock, fortune.TIMEOUT_MS) then return nil, fortune.error_message(sock) end
  if not wait_for_bytes(sock, 2) then return nil, fortune.error_message(sock) end
  local stream = net.DataStream(sock)
  local block_size = stream:readUInt16()
  if not wait_for_bytes(sock, block_size) then return nil, fortune.error_message(sock) end
  local text = stream:readQString()
  if not text then return nil, fortune.MALFORMED end
  return text
end

local function main(...)
  local text, message = fetch_fortune(cli.host_port_flags(USAGE, FLAGS, ...))
  if not text then cli.fail(message) end
  print(text)
  return 0
end

cli.run(main, ...)
