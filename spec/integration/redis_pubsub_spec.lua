-- net.Redis's pub/sub against redis-server: message and pmessage, a
-- subscribed connection that serves nothing else, unsubscribe, and a
-- subscriber (in a luanetd child, for its log) that comes back by itself
-- after redis-server is restarted on the same port.
local helper = require "helper"
local dh = require "support.daemon_helper"
local redis_server = require "support.redis_server"
local net = helper.net

local maybe_describe = redis_server.installed() and describe or pending

-- PUBLISH from a connection of its own until `until_fn()` (a subscriber
-- may not have subscribed yet): the number of PUBLISHes sent.
local function publish_until(url, channel, payload, until_fn)
  local sent = 0
  helper.in_task(function()
    local r = assert(net.Redis.connect(url))
    local deadline = net.clock() + 8000
    repeat
      r:call("PUBLISH", channel, payload)
      sent = sent + 1
      net.sleep(20)
    until until_fn() or net.clock() > deadline
    r:close()
  end)
  return sent
end

maybe_describe("net.Redis pub/sub against redis-server", function()
  local dir, port, stop, url
  setup(function()
    dir = dh.tmpdir()
    port, stop = redis_server.start(dir)
    url = ("redis://127.0.0.1:%d"):format(port)
  end)
  teardown(function()
    if stop then stop() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("emits message and pmessage for what is published, and nothing after unsubscribe", function()
    local sub
    helper.in_task(function() sub = assert(net.Redis.connect(url)) end)
    local got = {}
    sub.message:connect(function(channel, payload) got[#got + 1] = { "message", channel, payload } end)
    sub.pmessage:connect(function(pattern, channel, payload) got[#got + 1] = { "pmessage", pattern, channel, payload } end)
    assert.is_true(sub:subscribe("news", "chat"))
    assert.is_true(sub:psubscribe("user.*"))
    publish_until(url, "news", "first", function() return #got > 0 end)
    got = {}
    helper.in_task(function()
      local r = assert(net.Redis.connect(url))
      assert.are.same(1, r:call("PUBLISH", "chat", "bin\0ary\r\n"))
      assert.are.same(1, r:call("PUBLISH", "user.ann", "hi"))
      r:close()
    end)
    helper.run(helper.TIMEOUT, function() return #got == 2 end)
    assert.are.same({ { "message", "chat", "bin\0ary\r\n" }, { "pmessage", "user.*", "user.ann", "hi" } }, got)

    helper.in_task(function()
      local v, err, kind = sub:call("GET", "x")
      assert.is_nil(v)
      assert.are.same("network", kind)
      assert.truthy(err:find("subscribed", 1, true), err)
    end)

    sub:unsubscribe("chat")
    got = {}
    publish_until(url, "news", "still", function() return #got > 0 end)   -- news still arrives, so chat's UNSUBSCRIBE was read
    helper.in_task(function()
      local r = assert(net.Redis.connect(url))
      assert.are.same(0, r:call("PUBLISH", "chat", "gone"))
      r:close()
    end)
    sub:close()
  end)

  it("comes back by itself after redis-server restarts, and says so in the log", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
local net = require "luanet"
net.spawn(function()
  local sub = assert(net.Redis.connect("%s"))
  sub.message:connect(function(_, payload)
    io.stdout:write(payload, "\n")
    io.stdout:flush()
    if payload == "after" then sub:close() end   -- then nothing keeps it running
  end)
  sub:subscribe("room")
end)
]]):format(url))
    f:close()
    local proc = helper.spawn(helper.quote_all(helper.LUANETD, script))
    finally(function()
      proc.cleanup()
      os.remove(script)
    end)
    publish_until(url, "room", "before", function() return proc.output():find("before\n", 1, true) ~= nil end)
    assert.truthy(proc.output():find("before\n", 1, true), proc.stderr())

    stop()
    port, stop = redis_server.start(dir, nil, nil, port)   -- the same port
    publish_until(url, "room", "after", function() return proc.output():find("after\n", 1, true) ~= nil end)
    assert.are.same(0, proc.wait(helper.TIMEOUT), proc.stderr())
    local log = proc.stderr()
    assert.truthy(log:find("Redis subscriber 127.0.0.1:" .. port .. ": lost the server", 1, true), log)
    assert.truthy(log:find("reconnected; subscribed again to 1 channel(s) and 0 pattern(s)", 1, true), log)
  end)
end)
