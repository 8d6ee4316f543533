-- Signals: connect order, handles, disconnect forms, Lua-made signals,
-- and slots that raise.
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net

describe("Signal", function()
  it("calls several slots of one signal in connect order", function()
    local sig = net.Signal()
    local order = {}
    for i = 1, 5 do sig:connect(function() order[#order + 1] = i end) end
    sig:emit()
    assert.are.same({ 1, 2, 3, 4, 5 }, order)
  end)

  it("calls the slots of a socket's signal in connect order", function()
    local client, accepted, server = core.pair()
    finally(function() core.close(client, accepted, server) end)
    local order = {}
    accepted.readyRead:connect(function() order[#order + 1] = "first" end)
    accepted.readyRead:connect(function() order[#order + 1] = "second" end)
    accepted.readyRead:connect(function() order[#order + 1] = "third"; accepted:readAll() end)
    client:write("x")
    helper.run(helper.TIMEOUT, function() return #order >= 3 end)
    assert.are.same({ "first", "second", "third" }, order)
  end)

  it("passes the emit's arguments to every slot", function()
    local sig = net.Signal()
    local got = {}
    sig:connect(function(...) got[#got + 1] = table.pack(...) end)
    sig:connect(function(...) got[#got + 1] = table.pack(...) end)
    sig:emit(1, "two", nil, false)
    assert.are.same({ { n = 4, 1, "two", nil, false }, { n = 4, 1, "two", nil, false } }, got)
  end)

  it("emits when called like a function", function()
    local sig = net.Signal()
    local got
    sig:connect(function(v) got = v end)
    sig("called")
    assert.are.same("called", got)
  end)

  it("returns a connection handle from connect", function()
    local sig = net.Signal()
    local handle = sig:connect(function() end)
    assert.are.same("table", type(handle))
    assert.are.same("function", type(handle.disconnect))
    assert.are.same(1, sig:slotCount())
  end)

  it("calls a function connected twice twice", function()
    local sig = net.Signal()
    local n = 0
    local function slot() n = n + 1 end
    sig:connect(slot)
    sig:connect(slot)
    sig:emit()
    assert.are.same(2, n)
  end)

  it("removes a slot with disconnect(fn), leaving the others", function()
    local sig = net.Signal()
    local order = {}
    local function a() order[#order + 1] = "a" end
    local function b() order[#order + 1] = "b" end
    local function c() order[#order + 1] = "c" end
    sig:connect(a); sig:connect(b); sig:connect(c)
    assert.are.same(true, sig:disconnect(b))
    sig:emit()
    assert.are.same({ "a", "c" }, order)
    assert.are.same(false, sig:disconnect(b))
  end)

  it("removes a slot with disconnect(handle)", function()
    local sig = net.Signal()
    local order = {}
    sig:connect(function() order[#order + 1] = 1 end)
    local h = sig:connect(function() order[#order + 1] = 2 end)
    assert.are.same(true, sig:disconnect(h))
    sig:emit()
    assert.are.same({ 1 }, order)
  end)

  it("removes a slot with handle:disconnect()", function()
    local sig = net.Signal()
    local order = {}
    local h = sig:connect(function() order[#order + 1] = 1 end)
    sig:connect(function() order[#order + 1] = 2 end)
    assert.are.same(true, h:disconnect())
    assert.are.same(false, h:disconnect())
    sig:emit()
    assert.are.same({ 2 }, order)
  end)

  it("removes only one connection of a function connected twice", function()
    local sig = net.Signal()
    local n = 0
    local function slot() n = n + 1 end
    sig:connect(slot)
    sig:connect(slot)
    sig:disconnect(slot)
    sig:emit()
    assert.are.same(1, n)
  end)

  it("removes every slot with disconnect()", function()
    local sig = net.Signal()
    local n = 0
    for _ = 1, 3 do sig:connect(function() n = n + 1 end) end
    assert.are.same(true, sig:disconnect())
    sig:emit()
    assert.are.same(0, n)
    assert.are.same(0, sig:slotCount())
  end)

  it("disconnects a socket's signal so its slot is not called again", function()
    local client, accepted, server = core.pair()
    finally(function() core.close(client, accepted, server) end)
    local calls = 0
    local h = accepted.readyRead:connect(function() calls = calls + 1; accepted:readAll() end)
    client:write("one")
    helper.run(helper.TIMEOUT, function() return calls == 1 end)
    h:disconnect()
    client:write("two")
    core.wait_bytes(accepted, 3)
    helper.drive(20)
    assert.are.same(1, calls)
    assert.are.same("two", accepted:readAll())
  end)

  it("gives equal signals on every access, and slots connected through one reach the other", function()
    -- An object's signal is a handle made on each access (idle connections
    -- pay nothing for signals: daemon/core/signals.c); == says whether two
    -- are the same signal.
    local sock, other = net.TcpSocket(), net.TcpSocket()
    assert.are.same(true, sock.readyRead == sock.readyRead)
    assert.are.same(false, sock.readyRead == other.readyRead)
    assert.are.same(false, sock.readyRead == sock.disconnected)
    local first = sock.readyRead
    local got = {}
    first:connect(function(v) got[#got + 1] = "a" .. v end)
    sock.readyRead:connect(function(v) got[#got + 1] = "b" .. v end)
    assert.are.same(2, first:slotCount())
    sock.readyRead:emit(1)
    assert.are.same({ "a1", "b1" }, got)
    assert.are.same(true, first:disconnect())
    assert.are.same(0, sock.readyRead:slotCount())
    assert.are.same("luanet.Signal (0 slots)", tostring(sock.readyRead))
  end)

  it("keeps a callable table connected alone to an object's signal", function()
    local sock = net.TcpSocket()
    local calls = 0
    local slot = setmetatable({}, { __call = function() calls = calls + 1 end })
    sock.readyRead:connect(slot)
    sock.readyRead:emit()
    assert.are.same(1, calls)
    assert.are.same(true, sock.readyRead:disconnect(slot))
    sock.readyRead:emit()
    assert.are.same(1, calls)
  end)

  it("accepts a callable table as a slot", function()
    local sig = net.Signal()
    local rec = helper.expect()
    sig:connect(rec)
    sig:emit("v")
    assert.are.same(1, rec.count)
    assert.are.same({ n = 1, "v" }, rec.args)
  end)

  it("does not call a slot connected during an emit in that emit", function()
    local sig = net.Signal()
    local order = {}
    sig:connect(function()
      order[#order + 1] = "first"
      sig:connect(function() order[#order + 1] = "late" end)
    end)
    sig:emit()
    assert.are.same({ "first" }, order)
    sig:emit()
    assert.are.same({ "first", "first", "late" }, order)
  end)

  it("still calls the next slot when a slot disconnects itself during the emit", function()
    local sig = net.Signal()
    local order = {}
    local h
    h = sig:connect(function() order[#order + 1] = "once"; h:disconnect() end)
    sig:connect(function() order[#order + 1] = "second" end)
    sig:connect(function() order[#order + 1] = "third" end)
    sig:emit()
    assert.are.same({ "once", "second", "third" }, order)
    sig:emit()
    assert.are.same({ "once", "second", "third", "second", "third" }, order)
  end)

  it("still calls the later slots when a slot disconnects an earlier one during the emit", function()
    local sig = net.Signal()
    local order = {}
    local function first() order[#order + 1] = "first" end
    sig:connect(first)
    sig:connect(function() order[#order + 1] = "second"; sig:disconnect(first) end)
    sig:connect(function() order[#order + 1] = "third" end)
    sig:emit()
    assert.are.same({ "first", "second", "third" }, order)
  end)

  it("calls no further slot after a slot disconnects them all", function()
    local sig = net.Signal()
    local order = {}
    sig:connect(function() order[#order + 1] = "first"; sig:disconnect() end)
    sig:connect(function() order[#order + 1] = "second" end)
    sig:emit()
    assert.are.same({ "first" }, order)
  end)

  it("does not call a slot that an earlier slot disconnected during the emit", function()
    local sig = net.Signal()
    local order = {}
    local function victim() order[#order + 1] = "victim" end
    sig:connect(function() order[#order + 1] = "killer"; sig:disconnect(victim) end)
    sig:connect(victim)
    sig:connect(function() order[#order + 1] = "last" end)
    sig:emit()
    assert.are.same({ "killer", "last" }, order)
  end)

  it("runs every slot as a task that may yield", function()
    local sig = net.Signal()
    local yieldable
    sig:connect(function() yieldable = coroutine.isyieldable() end)
    sig:emit()
    assert.are.same(true, yieldable)
  end)

  it("returns from emit when a slot suspends, and the slot resumes later", function()
    local sig = net.Signal()
    local steps = {}
    sig:connect(function()
      steps[#steps + 1] = "before"
      net.sleep(30)
      steps[#steps + 1] = "after"
    end)
    sig:connect(function() steps[#steps + 1] = "next slot" end)
    sig:emit()
    assert.are.same({ "before", "next slot" }, steps)
    helper.run(helper.TIMEOUT, function() return #steps == 3 end)
    assert.are.same({ "before", "next slot", "after" }, steps)
  end)

  it("calls the other slots when one raises", function()
    local sig = net.Signal()
    local order = {}
    sig:connect(function() order[#order + 1] = 1 end)
    sig:connect(function() error("luanet spec: deliberate error in a slot") end)
    sig:connect(function() order[#order + 1] = 3 end)
    sig:emit()
    assert.are.same({ 1, 3 }, order)
    sig:emit()
    assert.are.same({ 1, 3, 1, 3 }, order)
  end)

  it("keeps the loop and the socket's other slots going when a socket slot raises", function()
    local client, accepted, server = core.pair()
    finally(function() core.close(client, accepted, server) end)
    accepted.readyRead:connect(function() error("luanet spec: deliberate error in readyRead") end)
    accepted.readyRead:connect(function() accepted:write(accepted:readAll()) end)
    client:write("still ")
    assert.are.same("still ", core.read_exactly(client, 6))
    client:write("alive")
    assert.are.same("alive", core.read_exactly(client, 5))
  end)

  it("logs a slot's error with its traceback on stderr and goes on", function()
    local code, out, err = core.run_script([[
local net = require "luanet"
local sig = net.Signal()
sig:connect(function() error("boom from the first slot") end)
sig:connect(function() print("second slot ran") end)
sig:emit()
net.Timer.singleShot(10, function() print("loop went on"); net.quit(0) end)
os.exit(net.exec())
]])
    assert.are.same(0, code)
    assert.are.same("second slot ran\nloop went on\n", out)
    assert.are.same(true, err:find("boom from the first slot", 1, true) ~= nil)
    assert.are.same(true, err:find("stack traceback", 1, true) ~= nil)
  end)

  it("raises a clear error when connect gets no function", function()
    local sig = net.Signal()
    local ok, err = pcall(function() sig:connect(42) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'connect' (function expected, got number)", 1, true) ~= nil)
    ok, err = pcall(function() net.TcpSocket().readyRead:connect("nope") end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'connect'", 1, true) ~= nil)
  end)

  describe(":wait(ms), as QSignalSpy::wait", function()
    it("suspends a task until the signal is emitted, and leaves no slot behind", function()
      local sig = net.Signal()
      local other = sig:connect(function() end)
      helper.in_task(function()
        net.Timer.singleShot(30, function() sig:emit("x") end)
        local t0 = net.clock()
        assert.is_true(sig:wait(2000))
        local took = net.clock() - t0
        assert.is_true(took > 5 and took < 1000, "waited " .. took .. " ms")   -- libev counts from its cached now
      end)
      assert.are.same(1, sig:slotCount())
      other:disconnect()
    end)

    it("returns false after ms when nothing is emitted, and an emit later finds no waiter", function()
      local sig = net.Signal()
      helper.in_task(function()
        local t0 = net.clock()
        assert.is_false(sig:wait(60))
        assert.is_true(net.clock() - t0 >= 40)
      end)
      assert.are.same(0, sig:slotCount())
      sig:emit()
    end)

    it("runs the loop nested outside a task", function()
      local sig = net.Signal()
      local t = net.Timer.singleShot(20, function() sig:emit() end)
      assert.is_true(sig:wait(2000))
      assert.is_false(sig:wait(30))
      t = nil
    end)

    it("wakes every task that waits on one signal", function()
      local sig = net.Signal()
      local woken = 0
      for _ = 1, 3 do
        net.spawn(function() if sig:wait(2000) then woken = woken + 1 end end)
      end
      net.Timer.singleShot(10, function() sig:emit() end)
      helper.run(helper.TIMEOUT, function() return woken == 3 end)
      assert.are.same(3, woken)
    end)

    it("waits on an object's signal over a real socket", function()
      local server = helper.listen()
      finally(function() server:close() end)
      helper.in_task(function()
        local c = net.TcpSocket()
        c:connectToHost("127.0.0.1", server:serverPort())
        assert.is_true(c.connected:wait(helper.TIMEOUT))
        assert.are.same("ConnectedState", c:state())
        assert.is_true(server.newConnection:wait(helper.TIMEOUT) or server:hasPendingConnections())
        local peer = server:nextPendingConnection()
        peer:write("ping")
        assert.is_true(c.readyRead:wait(helper.TIMEOUT))
        assert.are.same("ping", c:readAll())
        assert.are.same(0, c.readyRead:slotCount())
        c:abort()
        peer:abort()
      end)
    end)
  end)
end)
