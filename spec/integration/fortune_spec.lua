-- spec/integration/fortune_spec.lua: the fortune examples as a user runs
-- them. scripts/fortune_server.lua runs as a real luanetd process; each
-- client script runs as one too, and the spec checks what it prints and
-- its exit status. Misbehaving servers (silent, slow, closing early) are
-- written in the spec on net.TcpServer and driven by helper.run while the
-- client process runs. Real Qt (PyQt5, spec/integration/qt/) is the peer
-- for wire compatibility, both ways.
local helper = require "helper"
local net = helper.net

local LUANETD = helper.LUANETD
local PYTHON = "/usr/bin/python3"   -- Debian's, with PyQt5
local QT_DIR = "spec/integration/qt"

local CLIENTS = { "scripts/fortune_client.lua", "scripts/blocking_fortune_client.lua" }

local REFUSED = "The connection was refused by the peer. Make sure the fortune server is"
  .. " running, and check that the host name and port settings are correct.\n"
local NOT_FOUND = "The host was not found. Please check the host name and port settings.\n"
local TIMED_OUT = "The following error occurred: Network operation timed out.\n"
local CLOSED = "The following error occurred: The remote host closed the connection.\n"

-- Non-ASCII in the BMP (é, ✓, 七) and beyond it (🍀, 🚀: surrogate pairs).
local UNICODE_FORTUNE = "Bonne fortune: café ✓ 七転び八起き 🍀🚀"

-- "Slow and steady 🐢 wins, ü" as Qt's Fortune Server sends it, bytes made
-- by PyQt5's QDataStream (Qt_4_0): size 0x38, QString of 0x34 bytes.
local SLOW_FORTUNE = "Slow and steady 🐢 wins, ü"
local SLOW_BLOCK = ("0038000000340053006c006f007700200061006e0064002000730074006500610064"
  .. "00790020d83ddc22002000770069006e0073002c002000fc")
  :gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)


local quote_all = helper.quote_all

-- Qt peers: Debian's python3 with no sanitizer runtime preloaded.
local function python(script, ...)
  return ("env -u LD_PRELOAD QT_QPA_PLATFORM=offscreen %s %s/%s %s")
    :format(PYTHON, QT_DIR, script, quote_all(...))
end

-- script: "scripts/NAME", run from the spec file's copy of scripts/
-- (helper.script), not from the files a user may be editing.
local function luanetd(script, ...)
  local name = assert(script:match("^scripts/(.+)$"), script)
  return ("%s %s %s"):format(LUANETD, helper.quote(helper.script(name)), quote_all(...))
end

-- Starts a server command and reads its first line; returns proc, port,
-- address. The caller registers proc.cleanup with finally.
local start_server = helper.start_server

-- A port nothing listens on: bound a moment ago, closed now.
local function closed_port()
  local server, port = helper.listen()
  server:close()
  return port
end

-- A spec-side server; on_client(sock) gets each accepted socket. Returns
-- its port and a function that closes it and everything it accepted.
local function spec_server(on_client)
  local server, port = helper.listen()
  local held = {}
  server.newConnection:connect(function()
    local sock = server:nextPendingConnection()
    held[#held + 1] = sock
    on_client(sock, held)
  end)
  return port, function()
    server:close()
    for _, obj in ipairs(held) do
      if obj.abort then obj:abort() else obj:stop() end
    end
  end
end

-- Writes bytes one at a time, every ms, then calls after(sock).
local function trickle(sock, bytes, ms, held, after)
  sock:setSocketOption("LowDelayOption", 1)   -- one segment per byte
  local timer = net.Timer()
  held[#held + 1] = timer
  local i = 0
  timer.timeout:connect(function()
    i = i + 1
    sock:write(bytes:sub(i, i))
    if i >= #bytes then
      timer:stop()
      if after then after(sock) end
    end
  end)
  timer:start(ms)
end

local decode_block = require("support.fortune_block").decode

describe("fortune_server.lua", function()
  it("prints its address and real port on its first line", function()
    local proc, port, addr = start_server(luanetd("scripts/fortune_server.lua"))
    finally(proc.cleanup)
    assert.are.same("127.0.0.1", addr)
    assert.is_true(port > 0 and port < 65536)
  end)

  it("listens where --host and --port say, ::1 included", function()
    local port = closed_port()
    local proc, got_port, addr = start_server(luanetd("scripts/fortune_server.lua",
      "--host", "::1", "--port", port))
    finally(proc.cleanup)
    assert.are.same("::1", addr)
    assert.are.same(port, got_port)
    local code, out = helper.execute(luanetd("scripts/fortune_client.lua", "::1", port))
    assert.are.same(0, code)
    assert.is_truthy(out:match("^[^\n]+\n$"))
  end)

  it("gives each of 1,000 concurrent clients a complete, valid block", function()
    local proc, port = start_server(luanetd("scripts/fortune_server.lua"))
    local N = 1000
    local socks, results, failures = {}, {}, {}
    local finished = 0
    finally(function()
      for _, sock in ipairs(socks) do sock:abort() end
      proc.cleanup()
    end)
    for i = 1, N do
      local sock = net.TcpSocket()
      local parts = {}
      sock.readyRead:connect(function() parts[#parts + 1] = sock:readAll() end)
      sock.errorOccurred:connect(function(err)
        if err ~= "RemoteHostClosedError" then
          failures[#failures + 1] = ("client %d: %s"):format(i, sock:errorString())
          finished = finished + 1
        end
      end)
      sock.disconnected:connect(function()
        parts[#parts + 1] = sock:readAll()
        results[i] = table.concat(parts)
        finished = finished + 1
      end)
      sock:connectToHost("127.0.0.1", port)
      socks[i] = sock
    end
    helper.run(30000, function() return finished >= N end)
    local seen, distinct = {}, 0
    for i = 1, N do
      local fortune, why = decode_block(results[i] or "")
      if not fortune then
        failures[#failures + 1] = ("client %d: %s"):format(i, results[i] and why or "no block")
      elseif not seen[fortune] then
        seen[fortune] = true
        distinct = distinct + 1
      end
    end
    assert.are.same({}, { table.unpack(failures, 1, 10) })
    assert.is_true(distinct > 1, "every client got the same fortune")
  end)

  it("ends on SIGTERM", function()
    local proc = start_server(luanetd("scripts/fortune_server.lua"))
    finally(proc.cleanup)
    proc.kill("TERM")
    assert.is_not_nil(proc.wait(5000))
  end)
end)

for _, client in ipairs(CLIENTS) do
  describe(client, function()
    local function run(host, port, ms)
      return helper.execute(luanetd(client, host, port), ms)
    end

    it("prints a fortune from our server and exits 0", function()
      local proc, port = start_server(luanetd("scripts/fortune_server.lua"))
      finally(proc.cleanup)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same("", err)
      assert.are.same(0, code)
      assert.is_truthy(out:match("^[^\n]+\n$"), out)
      assert.is_truthy(utf8.len(out), "not UTF-8")
    end)

    it("prints non-ASCII and non-BMP fortunes byte for byte", function()
      local proc, port = start_server(luanetd("scripts/fortune_server.lua",
        "--fortune", UNICODE_FORTUNE))
      finally(proc.cleanup)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same({ 0, UNICODE_FORTUNE .. "\n", "" }, { code, out, err })
    end)

    it("prints the refused message and exits 1 when nothing listens", function()
      local code, out, err = run("127.0.0.1", closed_port())
      assert.are.same({ 1, "", REFUSED }, { code, out, err })
    end)

    it("prints the host-not-found message and exits 1 for an unknown name", function()
      local code, out, err = run("nonexistent.invalid", 9)
      assert.are.same({ 1, "", NOT_FOUND }, { code, out, err })
    end)

    it("times out after 5 s when the server accepts and never writes", function()
      local port, close = spec_server(function() end)
      finally(close)
      local t0 = helper.now_ms()
      local code, out, err = run("127.0.0.1", port, 15000)
      local elapsed = helper.now_ms() - t0
      assert.are.same({ 1, "", TIMED_OUT }, { code, out, err })
      assert.is_true(elapsed >= 4500 and elapsed < 10000, ("took %d ms"):format(elapsed))
    end)

    it("times out when only part of the block comes", function()
      local port, close = spec_server(function(sock) sock:write(SLOW_BLOCK:sub(1, 9)) end)
      finally(close)
      local code, out, err = run("127.0.0.1", port, 15000)
      assert.are.same({ 1, "", TIMED_OUT }, { code, out, err })
    end)

    it("reports the server closing before the whole block came", function()
      local port, close = spec_server(function(sock)
        sock:write(SLOW_BLOCK:sub(1, 9))
        sock:disconnectFromHost()
      end)
      finally(close)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same({ 1, "", CLOSED }, { code, out, err })
    end)

    it("reads a block that comes one byte at a time", function()
      local port, close = spec_server(function(sock, held)
        trickle(sock, SLOW_BLOCK, 15, held, function(s) s:disconnectFromHost() end)
      end)
      finally(close)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same({ 0, SLOW_FORTUNE .. "\n", "" }, { code, out, err })
    end)

    it("reads a block that comes one byte at a time from a server that stays open", function()
      local port, close = spec_server(function(sock, held) trickle(sock, SLOW_BLOCK, 15, held) end)
      finally(close)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same({ 0, SLOW_FORTUNE .. "\n", "" }, { code, out, err })
    end)

    it("reads a non-BMP fortune from a Qt Fortune Server (PyQt5)", function()
      local proc, port = start_server(python("qt_fortune_server.py", UNICODE_FORTUNE))
      finally(proc.cleanup)
      local code, out, err = run("127.0.0.1", port)
      assert.are.same({ 0, UNICODE_FORTUNE .. "\n", "" }, { code, out, err })
    end)
  end)
end

describe("a Qt Fortune Client (PyQt5)", function()
  it("reads non-ASCII and non-BMP fortunes from our server", function()
    local proc, port = start_server(luanetd("scripts/fortune_server.lua",
      "--fortune", UNICODE_FORTUNE))
    finally(proc.cleanup)
    local code, out, err = helper.execute(python("qt_fortune_client.py", "127.0.0.1", port))
    assert.are.same({ 0, UNICODE_FORTUNE .. "\n", "" }, { code, out, err })
  end)

  it("reads fortunes from our server's own list", function()
    local proc, port = start_server(luanetd("scripts/fortune_server.lua"))
    finally(proc.cleanup)
    for _ = 1, 5 do
      local code, out, err = helper.execute(python("qt_fortune_client.py", "127.0.0.1", port))
      assert.are.same({ 0, "" }, { code, err })
      assert.is_truthy(out:match("^[^\n]+\n$"), out)
    end
  end)

  it("reads the spec's byte-by-byte block (so SLOW_BLOCK is what Qt sends)", function()
    local port, close = spec_server(function(sock, held)
      trickle(sock, SLOW_BLOCK, 5, held, function(s) s:disconnectFromHost() end)
    end)
    finally(close)
    local code, out, err = helper.execute(python("qt_fortune_client.py", "127.0.0.1", port))
    assert.are.same({ 0, SLOW_FORTUNE .. "\n", "" }, { code, out, err })
  end)
end)
