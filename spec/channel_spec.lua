-- net.Channel within one process: a message reaches every subscribed
-- Channel of its name (the publisher's own included) as a copy, in
-- publish order, on the loop's next iteration; close() stops it; what is
-- not plain data is refused; a subscriber that falls behind loses what is
-- past its queue and the loss is logged. Across worker threads and
-- reloads: spec/integration/chat_server_spec.lua.
local helper = require "helper"
local net = helper.net

describe("Channel", function()
  it("delivers each message to every subscriber, in order, on the next loop iteration", function()
    local a, b = net.Channel("spec-order"), net.Channel("spec-order")
    local got_a, got_b = {}, {}
    a.message:connect(function(m) got_a[#got_a + 1] = m end)
    b.message:connect(function(m) got_b[#got_b + 1] = m end)
    for i = 1, 100 do assert.is_true(a:publish(i)) end
    assert.are.same({}, got_a)   -- not during publish
    helper.run(helper.TIMEOUT, function() return #got_a == 100 and #got_b == 100 end)
    local want = {}
    for i = 1, 100 do want[i] = i end
    assert.are.same(want, got_a)
    assert.are.same(want, got_b)
  end)

  it("gives each subscriber a copy of plain data", function()
    local ch = net.Channel("spec-copy")
    local got = {}
    ch.message:connect(function(m) got[#got + 1] = m end)
    ch.message:connect(function(m) got[#got + 1] = m end)
    local doc = { user = "ann", tags = { "a", "b" }, n = 3 }
    ch:publish(doc)
    doc.user = "changed"
    helper.run(helper.TIMEOUT, function() return #got == 2 end)
    assert.are.same({ user = "ann", tags = { "a", "b" }, n = 3 }, got[1])
    assert.are.same(got[1], got[2])
  end)

  it("carries a decoded JSON document's null, [] and {} as they were", function()
    local ch = net.Channel("spec-json")
    local got
    ch.message:connect(function(m) got = m end)
    local text = '{"empty":[],"none":null,"obj":{}}'
    ch:publish(net.json.decode(text))
    helper.run(helper.TIMEOUT, function() return got ~= nil end)
    assert.are.same(text, net.json.encode(got, { sortKeys = true }))
  end)

  it("refuses what is not plain data", function()
    local ch = net.Channel("spec-refuse")
    local ok, why = ch:publish({ f = print })
    assert.is_false(ok)
    assert.truthy(why:find("value.f: a function", 1, true), why)
    assert.is_true(ch:publish("nobody listens, and that is fine"))
  end)

  it("stops delivering after close()", function()
    local ch = net.Channel("spec-close")
    local got = 0
    ch.message:connect(function() got = got + 1 end)
    ch:publish(1)
    helper.run(helper.TIMEOUT, function() return got == 1 end)
    ch:close()
    local other = net.Channel("spec-close")
    other:publish(2)
    helper.drive(50)
    assert.are.same(1, got)
    assert.are.same("luanet.Channel (closed)", tostring(ch))
  end)

  it("drops what is past a slow subscriber's queue, counts it and says so", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
local net = require "luanet"
local ch = net.Channel("flood")
local got = 0
ch.message:connect(function() got = got + 1 end)
for i = 1, 70000 do ch:publish(i) end   -- the loop does not run meanwhile
net.sleep(200)
print(got)
]])
    f:close()
    local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, script))
    os.remove(script)
    assert.are.same(0, code, err)
    assert.are.same("65536\n", out)
    assert.truthy(err:find("Channel flood: 4464 message(s) dropped", 1, true), err)
  end)
end)
