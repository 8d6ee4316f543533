-- Timer: QTimer on the loop. Times are measured with helper.now_ms
-- (/proc/uptime, 10 ms steps), so bounds are loose.
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net

describe("Timer", function()
  it("fires a single-shot timer once and is inactive after", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    t:setSingleShot(true)
    assert.are.same(true, t:isSingleShot())
    local fired = helper.expect()
    t.timeout:connect(fired)
    t:start(20)
    assert.are.same(true, t:isActive())
    helper.run(helper.TIMEOUT, function() return fired.count > 0 end)
    helper.drive(60)
    assert.are.same(1, fired.count)
    assert.are.same(false, t:isActive())
  end)

  it("fires a repeating timer repeatedly until stopped", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    local fired = helper.expect()
    t.timeout:connect(fired)
    t:start(10)
    helper.run(helper.TIMEOUT, function() return fired.count >= 5 end)
    assert.are.same(true, fired.count >= 5)
    assert.are.same(true, t:isActive())
    t:stop()
    local count = fired.count
    helper.drive(50)
    assert.are.same(count, fired.count)
    assert.are.same(false, t:isActive())
  end)

  it("stops a repeating timer from its own slot", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    local fired = 0
    t.timeout:connect(function()
      fired = fired + 1
      if fired == 2 then t:stop() end
    end)
    t:start(5)
    helper.run(helper.TIMEOUT, function() return fired >= 2 end)
    helper.drive(40)
    assert.are.same(2, fired)
    assert.are.same(false, t:isActive())
  end)

  it("never fires once stopped", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    local fired = helper.expect()
    t.timeout:connect(fired)
    t:start(30)
    t:stop()
    helper.drive(120)
    assert.are.same(0, fired.count)
  end)

  it("never fires when stopped by an earlier timer's slot", function()
    local a, b = net.Timer(), net.Timer()
    finally(function() a:stop(); b:stop() end)
    local fired = helper.expect()
    b.timeout:connect(fired)
    a:setSingleShot(true)
    a.timeout:connect(function() b:stop() end)
    a:start(10)
    b:start(40)
    helper.drive(120)
    assert.are.same(0, fired.count)
  end)

  it("keeps the interval given to start and setInterval", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    assert.are.same(0, t:interval())
    t:setInterval(250)
    assert.are.same(250, t:interval())
    assert.are.same(false, t:isActive())
    t:start(40)
    assert.are.same(40, t:interval())
  end)

  it("restarts an active timer with the new interval on setInterval", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    local fired = helper.expect()
    t.timeout:connect(fired)
    t:start(5000)
    t:setInterval(20)
    assert.are.same(true, t:isActive())
    helper.run(helper.TIMEOUT, function() return fired.count > 0 end)
    assert.are.same(true, fired.count > 0)
  end)

  it("reports remainingTime: -1 when inactive, counting down when active", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    assert.are.same(-1, t:remainingTime())
    t:start(1000)
    local first = t:remainingTime()
    assert.are.same(true, first > 900 and first <= 1000)
    helper.drive(100)
    local second = t:remainingTime()
    assert.are.same(true, second < first and second >= 800)
    t:stop()
    assert.are.same(-1, t:remainingTime())
  end)

  it("restarts from the full interval when start is called again", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    t:start(300)
    helper.drive(100)
    t:start()
    assert.are.same(true, t:remainingTime() > 250)
  end)

  it("fires a zero-interval timer on every turn without starving sockets", function()
    local t = net.Timer()
    local client, accepted, server = core.pair()
    finally(function() core.close(t, client, accepted, server) end)
    local ticks = 0
    t.timeout:connect(function() ticks = ticks + 1 end)
    t:start(0)
    accepted.readyRead:connect(function() accepted:write(accepted:readAll()) end)
    client:write("through")
    assert.are.same("through", core.read_exactly(client, 7))
    assert.are.same(true, ticks > 0)
  end)

  it("fires Timer.singleShot callbacks in the order of their time-outs", function()
    local order = {}
    net.Timer.singleShot(60, function() order[#order + 1] = 60 end)
    net.Timer.singleShot(20, function() order[#order + 1] = 20 end)
    net.Timer.singleShot(40, function() order[#order + 1] = 40 end)
    net.Timer.singleShot(0, function() order[#order + 1] = 0 end)
    helper.run(helper.TIMEOUT, function() return #order == 4 end)
    assert.are.same({ 0, 20, 40, 60 }, order)
  end)

  it("fires Timer.singleShot callbacks of equal time-outs in call order", function()
    local order = {}
    for i = 1, 20 do
      net.Timer.singleShot(10, function() order[#order + 1] = i end)
    end
    helper.run(helper.TIMEOUT, function() return #order == 20 end)
    local expected = {}
    for i = 1, 20 do expected[i] = i end
    assert.are.same(expected, order)
  end)

  it("does not call Timer.singleShot's function before its time", function()
    local t0 = helper.now_ms()
    local at
    net.Timer.singleShot(100, function() at = helper.now_ms() end)
    helper.run(helper.TIMEOUT, function() return at ~= nil end)
    assert.are.same(true, at - t0 >= 90)
  end)

  it("lets a single-shot timer's slot start it again", function()
    local t = net.Timer()
    finally(function() t:stop() end)
    t:setSingleShot(true)
    local fired = 0
    t.timeout:connect(function()
      fired = fired + 1
      if fired < 3 then t:start(5) end
    end)
    t:start(5)
    helper.run(helper.TIMEOUT, function() return fired == 3 end)
    helper.drive(30)
    assert.are.same(3, fired)
    assert.are.same(false, t:isActive())
  end)

  it("fires a started timer that no variable holds", function()
    local fired = 0
    do
      local t = net.Timer()
      t:setSingleShot(true)
      t.timeout:connect(function() fired = fired + 1 end)
      t:start(30)
    end
    collectgarbage("collect")
    collectgarbage("collect")
    helper.run(helper.TIMEOUT, function() return fired > 0 end)
    assert.are.same(1, fired)
  end)

  it("stops a timer at the end of a <close> scope", function()
    local fired = 0
    local t
    do
      local timer <close> = net.Timer()
      t = timer
      timer.timeout:connect(function() fired = fired + 1 end)
      timer:start(20)
    end
    assert.are.same(false, t:isActive())
    helper.drive(60)
    assert.are.same(0, fired)
  end)

  it("keeps firing other timers when a timeout slot raises", function()
    local bad, good = net.Timer(), net.Timer()
    finally(function() bad:stop(); good:stop() end)
    local ok = 0
    bad.timeout:connect(function() error("luanet spec: deliberate error in a timer slot") end)
    good.timeout:connect(function() ok = ok + 1 end)
    bad:start(5)
    good:start(5)
    helper.run(helper.TIMEOUT, function() return ok >= 3 end)
    assert.are.same(true, ok >= 3)
    assert.are.same(true, bad:isActive())
  end)

  it("raises a clear error for a negative or non-numeric interval", function()
    local t = net.Timer()
    local ok, err = pcall(function() t:start(-5) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'start'", 1, true) ~= nil)
    ok, err = pcall(function() t:setInterval("soon") end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'setInterval'", 1, true) ~= nil)
    ok, err = pcall(function() net.Timer.singleShot(10, 42) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #2 to 'singleShot'", 1, true) ~= nil)
    assert.are.same(false, t:isActive())
  end)
end)
