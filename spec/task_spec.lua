-- Tasks and the loop: net.spawn, net.sleep, net.processEvents, net.exec
-- and net.quit, and failures inside tasks.
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net

describe("tasks", function()
  it("runs a spawned function at once with its arguments", function()
    local got
    net.spawn(function(...) got = table.pack(...) end, 1, "two", nil)
    assert.are.same({ n = 3, 1, "two", nil }, got)
  end)

  it("returns from net.spawn when the task first suspends", function()
    local steps = {}
    net.spawn(function()
      steps[#steps + 1] = "started"
      net.sleep(20)
      steps[#steps + 1] = "woke"
    end)
    steps[#steps + 1] = "spawn returned"
    assert.are.same({ "started", "spawn returned" }, steps)
    helper.run(helper.TIMEOUT, function() return #steps == 3 end)
    assert.are.same({ "started", "spawn returned", "woke" }, steps)
  end)

  it("makes the spawned function a task that can yield", function()
    local yieldable
    net.spawn(function() yieldable = coroutine.isyieldable() end)
    assert.are.same(true, yieldable)
  end)

  it("sleeps in a task for about the time asked while the loop goes on", function()
    local t0 = helper.now_ms()
    local woke, ticks = nil, 0
    local timer = net.Timer()
    finally(function() timer:stop() end)
    timer.timeout:connect(function() ticks = ticks + 1 end)
    timer:start(10)
    net.spawn(function()
      net.sleep(100)
      woke = helper.now_ms()
    end)
    helper.run(helper.TIMEOUT, function() return woke ~= nil end)
    assert.are.same(true, woke - t0 >= 90 and woke - t0 < 1000)
    assert.are.same(true, ticks >= 4)
  end)

  it("sleeps in the main chunk, by a nested loop or by suspending", function()
    local fired = false
    net.Timer.singleShot(10, function() fired = true end)
    local t0 = helper.now_ms()
    net.sleep(60)
    assert.are.same(true, helper.now_ms() - t0 >= 50)
    assert.are.same(true, fired)
  end)

  it("sleeps inside a plain coroutine by running the loop nested", function()
    local fired = false
    net.Timer.singleShot(10, function() fired = true end)
    local co = coroutine.wrap(function()
      net.sleep(40)
      return "slept"
    end)
    assert.are.same("slept", co())
    assert.are.same(true, fired)
  end)

  it("lets two tasks sleep concurrently and both finish in time order", function()
    local done = {}
    local t0 = helper.now_ms()
    net.spawn(function() net.sleep(80); done[#done + 1] = "long" end)
    net.spawn(function() net.sleep(30); done[#done + 1] = "short" end)
    helper.run(helper.TIMEOUT, function() return #done == 2 end)
    assert.are.same({ "short", "long" }, done)
    assert.are.same(true, helper.now_ms() - t0 < 1000)
  end)

  it("runs a hundred sleeping tasks at once", function()
    local done = 0
    for i = 1, 100 do
      net.spawn(function() net.sleep(10 + i % 7); done = done + 1 end)
    end
    helper.run(helper.TIMEOUT, function() return done == 100 end)
    assert.are.same(100, done)
  end)

  it("runs 300 tasks that each connect, write and wait for an echo at once", function()
    local N = 300
    local server, port, accepted = core.echo_server(N)
    local socks = {}
    finally(function() core.close(socks, accepted, server) end)
    local ok, suspended = 0, 0
    for i = 1, N do
      net.spawn(function()
        local s = net.TcpSocket()
        socks[i] = s
        s:connectToHost("127.0.0.1", port)
        suspended = suspended + 1
        if not s:waitForConnected(helper.TIMEOUT) then return end
        local msg = "task " .. i
        s:write(msg)
        local got = ""
        while #got < #msg and s:waitForReadyRead(helper.TIMEOUT) do got = got .. s:readAll() end
        s:close()
        if got == msg then ok = ok + 1 end
      end)
    end
    assert.are.same(N, suspended)
    helper.run(helper.TIMEOUT * 2, function() return ok == N end)
    assert.are.same(N, ok)
  end)

  it("treats net.sleep(0) and a negative time as an immediate wake-up", function()
    local steps = {}
    net.spawn(function()
      net.sleep(0)
      steps[#steps + 1] = "zero"
      net.sleep(-5)
      steps[#steps + 1] = "negative"
    end)
    helper.run(helper.TIMEOUT, function() return #steps == 2 end)
    assert.are.same({ "zero", "negative" }, steps)
  end)

  it("logs a task's error and keeps the loop and other tasks going", function()
    local other
    net.spawn(function()
      net.sleep(10)
      error("luanet spec: deliberate error in a task")
    end)
    net.spawn(function() net.sleep(40); other = "finished" end)
    helper.run(helper.TIMEOUT, function() return other ~= nil end)
    assert.are.same("finished", other)
  end)

  it("logs a spawned task's error on stderr with a traceback", function()
    local code, out, err = core.run_script([[
local net = require "luanet"
net.spawn(function() net.sleep(5); error("task failure text") end)
net.spawn(function() net.sleep(20); print("other task done"); net.quit(7) end)
os.exit(net.exec())
]])
    assert.are.same(7, code)
    assert.are.same("other task done\n", out)
    assert.are.same(true, err:find("task failure text", 1, true) ~= nil)
    assert.are.same(true, err:find("stack traceback", 1, true) ~= nil)
  end)

  it("runs the loop with net.exec until net.quit and returns its code", function()
    local code, out = core.run_script([[
local net = require "luanet"
net.Timer.singleShot(20, function() print("quitting"); net.quit(3) end)
print("exec returned", net.exec())
]])
    assert.are.same(0, code)
    assert.are.same("quitting\nexec returned\t3\n", out)
  end)

  it("returns from net.exec when nothing is left to wait for", function()
    local code, out = core.run_script([[
local net = require "luanet"
net.spawn(function() net.sleep(10); print("slept") end)
print("exec returned", net.exec())
]])
    assert.are.same(0, code)
    assert.are.same("slept\nexec returned\t0\n", out)
  end)

  it("runs a script under luanetd until nothing is left and exits 0", function()
    local path = core.tempfile([[
local net = require "luanet"
local server = net.TcpServer()
assert(server:listen("127.0.0.1", 0))
local sock = net.TcpSocket()
sock:connectToHost("127.0.0.1", server:serverPort())
print("connected", sock:waitForConnected(2000))
print("accepted", server:waitForNewConnection(2000))
server:nextPendingConnection():close()
print("disconnected", sock:waitForDisconnected(2000))
server:close()
]], ".lua")
    finally(function() os.remove(path) end)
    local code, out = helper.execute(("env LUANET_LUA_DIR=lua %s %s"):format(helper.LUANETD, path))
    assert.are.same(0, code)
    assert.are.same("connected\ttrue\naccepted\ttrue\ndisconnected\ttrue\n", out)
  end)

  it("exits luanetd with 1 and a traceback when the main chunk raises", function()
    local path = core.tempfile('local net = require "luanet"\nnet.sleep(5)\nerror("main chunk failed")\n', ".lua")
    finally(function() os.remove(path) end)
    local code, _, err = helper.execute(("env LUANET_LUA_DIR=lua %s %s"):format(helper.LUANETD, path))
    assert.are.same(1, code)
    assert.are.same(true, err:find("main chunk failed", 1, true) ~= nil)
    assert.are.same(true, err:find("stack traceback", 1, true) ~= nil)
  end)

  it("returns from net.processEvents(ms) within about ms", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    t:start(1000)
    local t0 = helper.now_ms()
    net.processEvents(50)
    local elapsed = helper.now_ms() - t0
    assert.are.same(true, elapsed >= 40 and elapsed < 500)
  end)

  it("handles what is ready with net.processEvents() and returns at once", function()
    local fired = false
    net.Timer.singleShot(0, function() fired = true end)
    local t = net.Timer()
    finally(function() t:stop() end)
    t:start(1000)
    local t0 = helper.now_ms()
    for _ = 1, 5 do net.processEvents() end
    assert.are.same(true, fired)
    assert.are.same(true, helper.now_ms() - t0 < 200)
  end)

  it("refuses a second task waiting on the same socket with an error", function()
    local client, accepted, server = core.pair()
    finally(function() core.close(client, accepted, server) end)
    local first, second
    net.spawn(function() first = { client:waitForReadyRead(helper.TIMEOUT) } end)
    net.spawn(function() second = { pcall(client.waitForReadyRead, client, helper.TIMEOUT) } end)
    assert.are.same(false, second[1])
    assert.are.same(true, tostring(second[2]):find("already waiting", 1, true) ~= nil)
    accepted:write("x")
    helper.run(helper.TIMEOUT, function() return first ~= nil end)
    assert.are.same({ true }, first)
  end)

  it("raises a clear error when net.spawn gets no function", function()
    local ok, err = pcall(function() net.spawn(42) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'spawn'", 1, true) ~= nil)
    ok, err = pcall(function() net.sleep("long") end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'sleep'", 1, true) ~= nil)
  end)
end)
