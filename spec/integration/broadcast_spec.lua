-- spec/integration/broadcast_spec.lua: Qt's Broadcast Sender and Receiver
-- examples (scripts/broadcast_sender.lua, scripts/broadcast_receiver.lua)
-- as real luanetd processes, against each other and against PyQt5's
-- QUdpSocket (spec/integration/qt/qt_udp_*.py). Receivers take a free port
-- (--port 0) and print it; the others share it. Datagrams go to
-- 127.255.255.255, loopback's broadcast address, and nowhere else.
local helper = require "helper"
local net = helper.net

local LUANETD = helper.LUANETD
local PYTHON = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS"
  .. " QT_QPA_PLATFORM=offscreen /usr/bin/python3 -u"   -- Debian's, with PyQt5
local QT_DIR = "spec/integration/qt"
local BROADCAST = "127.255.255.255"

local LISTENING = "Listening for broadcasted messages on port (%d+)\n"

local quote_all = helper.quote_all

-- The spec file's copy of scripts/NAME (helper.script), not the live file.
local function luanetd(script, ...)
  return ("%s %s %s"):format(LUANETD, helper.quote(helper.script(script)), quote_all(...))
end

local function python(script, ...)
  return ("%s %s/%s %s"):format(PYTHON, QT_DIR, script, quote_all(...))
end

-- Starts a receiver command and reads its port from its first line; the
-- process goes into `procs` for the caller's finally.
local function start_receiver(procs, cmd)
  local proc = helper.spawn(cmd)
  procs[#procs + 1] = proc
  local port = proc.wait_line(LISTENING)
  if not port then
    error(("receiver did not start: %s\nstdout: %s\nstderr: %s"):format(cmd, proc.output(),
      proc.stderr()), 2)
  end
  return proc, math.tointeger(tonumber(port))
end

local function cleanup(procs)
  return function()
    for _, p in ipairs(procs) do p.cleanup() end
  end
end

-- What a receiver prints for the datagrams "Broadcast message 1..n".
local function received_lines(port, n)
  local lines = { ("Listening for broadcasted messages on port %d\n"):format(port) }
  for i = 1, n do lines[#lines + 1] = ('Received datagram: "Broadcast message %d"\n'):format(i) end
  return table.concat(lines)
end

local function sent_lines(n)
  local lines = {}
  for i = 1, n do lines[i] = ("Now broadcasting datagram %d\n"):format(i) end
  return table.concat(lines)
end

describe("broadcast_sender.lua and broadcast_receiver.lua", function()
  it("reach two receivers sharing one port with every datagram", function()
    local procs = {}
    finally(cleanup(procs))
    local r1, port = start_receiver(procs, luanetd("broadcast_receiver.lua", "--port", 0, "--count", 3))
    local r2 = start_receiver(procs, luanetd("broadcast_receiver.lua", "--port", port, "--count", 3))
    local code, out, err = helper.execute(luanetd("broadcast_sender.lua", "--address", BROADCAST,
      "--port", port, "--interval", 100, "--count", 3))
    assert.are.same({ 0, sent_lines(3), "" }, { code, out, err })
    assert.are.same(0, r1.wait())
    assert.are.same(0, r2.wait())
    assert.are.same({ received_lines(port, 3), "" }, { r1.output(), r1.stderr() })
    assert.are.same({ received_lines(port, 3), "" }, { r2.output(), r2.stderr() })
  end)

  it("send to 127.255.255.255 by default", function()
    local procs = {}
    finally(cleanup(procs))
    local r, port = start_receiver(procs, luanetd("broadcast_receiver.lua", "--port", 0, "--count", 2))
    local code = helper.execute(luanetd("broadcast_sender.lua", "--port", port, "--interval", 50,
      "--count", 2))
    assert.are.same(0, code)
    assert.are.same(0, r.wait())
    assert.are.same(received_lines(port, 2), r.output())
  end)

  it("receiver says so and exits 1 when the port is held without ShareAddress", function()
    local holder = net.UdpSocket()
    finally(function() holder:abort() end)
    assert.is_true(holder:bind("127.0.0.1", 0))
    local port = holder:localPort()
    local code, out, err = helper.execute(luanetd("broadcast_receiver.lua", "--port", port))
    assert.are.same({ 1, "" }, { code, out })
    assert.are.same(("Unable to bind port %d: The bound address is already in use.\n"):format(port), err)
  end)

  it("reject bad options with exit status 2", function()
    for _, args in ipairs({
      { "broadcast_sender.lua", "--interval", "0" },
      { "broadcast_sender.lua", "--count", "many" },
      { "broadcast_sender.lua", "--address", "not.an.address" },
      { "broadcast_sender.lua", "--port", "70000" },
      { "broadcast_receiver.lua", "--count", "-1" },
      { "broadcast_receiver.lua", "--bogus", "1" },
    }) do
      local code, out, err = helper.execute(luanetd(table.unpack(args)))
      assert.are.same({ 2, "" }, { code, out }, table.concat(args, " "))
      assert.truthy(err:match("usage: "), err)
    end
  end)
end)

describe("the broadcast examples and Qt (PyQt5 QUdpSocket)", function()
  it("a Qt receiver gets our sender's datagrams", function()
    local procs = {}
    finally(cleanup(procs))
    local r, port = start_receiver(procs, python("qt_udp_receiver.py", 0, 3))
    local code, out = helper.execute(luanetd("broadcast_sender.lua", "--address", BROADCAST,
      "--port", port, "--interval", 100, "--count", 3))
    assert.are.same({ 0, sent_lines(3) }, { code, out })
    assert.are.same(0, r.wait())
    assert.are.same({ received_lines(port, 3), "" }, { r.output(), r.stderr() })
  end)

  it("our receiver prints a Qt sender's datagrams", function()
    local procs = {}
    finally(cleanup(procs))
    local r, port = start_receiver(procs, luanetd("broadcast_receiver.lua", "--port", 0, "--count", 3))
    local code, out, err = helper.execute(python("qt_udp_sender.py", BROADCAST, port, 3, 100))
    assert.are.same({ 0, sent_lines(3), "" }, { code, out, err })
    assert.are.same(0, r.wait())
    assert.are.same({ received_lines(port, 3), "" }, { r.output(), r.stderr() })
  end)

  it("our receiver and a Qt receiver share one port, and both get every datagram", function()
    local procs = {}
    finally(cleanup(procs))
    local ours, port = start_receiver(procs, luanetd("broadcast_receiver.lua", "--port", 0, "--count", 3))
    local qt = start_receiver(procs, python("qt_udp_receiver.py", port, 3))
    local code = helper.execute(luanetd("broadcast_sender.lua", "--address", BROADCAST,
      "--port", port, "--interval", 100, "--count", 3))
    assert.are.same(0, code)
    assert.are.same(0, ours.wait())
    assert.are.same(0, qt.wait())
    assert.are.same(received_lines(port, 3), ours.output())
    assert.are.same(received_lines(port, 3), qt.output())
  end)
end)
