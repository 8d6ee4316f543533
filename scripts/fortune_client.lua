-- scripts/fortune_client.lua: Qt's Fortune Client example, event-driven.
-- It connects, reads one block (a quint16 size, then a Qt 4 QString) from
-- readyRead, prints the fortune and exits 0. The block may come in any
-- number of pieces: as in Qt's example, the size is read once two bytes are
-- there (blockSize stays 0 until then), and the string once the whole block
-- is. Failures print the example's messages on stderr and exit 1; a
-- net.Timer gives up when no complete fortune has come within 5 s.
--
--   luanetd scripts/fortune_client.lua HOST PORT [--tls [--cacert FILE]]
--
-- --tls: over TLS (fortune_server.lua --cert FILE --key FILE), verifying
-- the server against the system CA store or the CAs in --cacert FILE.
local net = require "luanet"
local cli = require "luanet.cli"
local fortune = require "luanet.fortune"

local USAGE = "fortune_client.lua HOST PORT [--tls [--cacert FILE]]"
local FLAGS = { tls = true, cacert = false }

local function new_client(host, port, opts)
  local sock = net.TcpSocket()
  local stream = net.DataStream(sock)
  local timer = net.Timer()
  local block_size = 0

  local function finish()
    timer:stop()
    sock:abort()
  end

  local function fail(text)
    finish()
    cli.fail(text)
  end

  -- Qt's readFortune: true once the client is done (printed or failed).
  local function read_fortune()
    if block_size == 0 then
      if sock:bytesAvailable() < 2 then return false end
      block_size = stream:readUInt16()
    end
    if sock:bytesAvailable() < block_size then return false end
    -- The whole block is here, so a string that will not read is corrupt.
    local text = stream:readQString()
    if not text then
      fail(fortune.MALFORMED)
      return true
    end
    print(text)
    finish()
    net.quit(0)
    return true
  end

  -- Qt's displayError. The example ignores RemoteHostClosedError because
  -- its window stays open; here the peer closing before a whole block came
  -- means no fortune will come, so it is reported like the others.
  local function display_error(err)
    if err == "RemoteHostClosedError" and read_fortune() then return end
    fail(fortune.error_message(sock))
  end

  sock.readyRead:connect(read_fortune)
  sock.errorOccurred:connect(display_error)
  timer:setSingleShot(true)
  timer.timeout:connect(function() fail(fortune.TIMED_OUT) end)

  timer:start(fortune.TIMEOUT_MS)
  cli.connect(sock, host, port, opts)
end

cli.run(function(...) new_client(cli.host_port_flags(USAGE, FLAGS, ...)) end, ...)
