-- scripts/blocking_fortune_client.lua: Qt's Blocking Fortune Client. The
-- same protocol and messages as fortune_client.lua, written top to bottom as
-- Qt's FortuneThread::run is: waitForConnected, then waitForReadyRead until
-- the size and then the whole block are there, each bounded by 5 s. Under
-- luanetd the main chunk is a task, so each waitFor* suspends it and the
-- loop runs on; under a stock lua5.4 they run the loop nested, as Qt's do.
--
--   luanetd scripts/blocking_fortune_client.lua HOST PORT
local net = require "luanet"

local TIMEOUT_MS = 5000

local MESSAGES = {
  HostNotFoundError = "The host was not found. Please check the host name and port settings.",
  ConnectionRefusedError = "The connection was refused by the peer. Make sure the fortune"
    .. " server is running, and check that the host name and port settings are correct.",
}

local function parse_args(host, port, ...)
  port = math.tointeger(tonumber(port))
  if not host or not port or port < 0 or port > 65535 or select("#", ...) > 0 then
    io.stderr:write("usage: blocking_fortune_client.lua HOST PORT\n")
    os.exit(2)
  end
  return host, port
end

local function error_message(sock)
  return MESSAGES[sock:error()] or ("The following error occurred: %s."):format(sock:errorString())
end

-- Waits until n bytes are buffered; false when a wait fails first.
local function wait_for_bytes(sock, n)
  while sock:bytesAvailable() < n do
    if not sock:waitForReadyRead(TIMEOUT_MS) then return false end
  end
  return true
end

-- Returns the fortune, or nil and the message to show.
local function fetch_fortune(host, port)
  local sock <close> = net.TcpSocket()
  sock:connectToHost(host, port)
  if not sock:waitForConnected(TIMEOUT_MS) then return nil, error_message(sock) end
  if not wait_for_bytes(sock, 2) then return nil, error_message(sock) end
  local stream = net.DataStream(sock)
  local block_size = stream:readUInt16()
  if not wait_for_bytes(sock, block_size) then return nil, error_message(sock) end
  local fortune = stream:readQString()
  if not fortune then return nil, "The following error occurred: Malformed fortune block." end
  return fortune
end

local function main(...)
  io.stdout:setvbuf("line")
  local fortune, message = fetch_fortune(parse_args(...))
  if not fortune then
    io.stderr:write(message, "\n")
    return 1
  end
  print(fortune)
  return 0
end

local code = main(...)
-- Under luanetd quit ends the loop; a stock lua5.4 has no loop running.
if coroutine.isyieldable() then net.quit(code) else os.exit(code) end
