-- net.SharedDict outside the daemon (net.SharedDict(name, size) makes a
-- dict for the process): values copied in and out as plain data, ngx's
-- results and reasons, numbers that keep their type, time to live, and a
-- full dict that evicts (set) or refuses (safeSet). Under the daemon, with
-- workers and reloads: spec/integration/daemon_shared_spec.lua.
local helper = require "helper"
local net = helper.net

local n = 0
-- A fresh dict of `size` for each test: names are the process's.
local function dict(size)
  n = n + 1
  return net.SharedDict(("spec%d"):format(n), size or "1M")
end

describe("SharedDict", function()
  it("gives back what was set, as a copy of plain data", function()
    local d = dict()
    local doc = { name = "x", list = { 1, 2.5, "three", true }, nested = { deep = { deeper = "yes" } } }
    assert.are.same({ true }, { d:set("doc", doc) })
    local got = d:get("doc")
    assert.are.same(doc, got)
    got.name = "changed"
    assert.are.same("x", d:get("doc").name)
    doc.list[1] = 99
    assert.are.same(1, d:get("doc").list[1])
    assert.are.same("plain", (d:set("s", "plain") and d:get("s")))
    assert.are.same(false, (d:set("f", false) and d:get("f")))
    assert.is_nil(d:get("absent"))
  end)

  it("keeps a decoded JSON document's null, [] and {} as they were", function()
    local d = dict()
    local text = '{"a":null,"list":[],"n":[1,2.5,null],"obj":{}}'
    d:set("doc", net.json.decode(text))
    local got = d:get("doc")
    assert.are.equal(net.json.null, got.a)
    assert.are.equal(net.json.emptyArray, got.list)
    assert.are.same({}, got.obj)
    assert.are.same(text, net.json.encode(got, { sortKeys = true }))
  end)

  it("keeps integers integers and floats floats", function()
    local d = dict()
    d:set("i", 3)
    d:set("f", 3.0)
    d:set("big", math.maxinteger)
    assert.are.same("integer", math.type(d:get("i")))
    assert.are.same("float", math.type(d:get("f")))
    assert.are.same(math.maxinteger, d:get("big"))
  end)

  it("answers add and replace as ngx.shared.DICT does", function()
    local d = dict()
    assert.are.same({ false, "not found" }, { d:replace("k", 1) })
    assert.are.same({ true }, { d:add("k", 1) })
    assert.are.same({ false, "exists" }, { d:add("k", 2) })
    assert.are.same({ true }, { d:replace("k", 3) })
    assert.are.same(3, d:get("k"))
    assert.are.same({ true }, { d:set("k", nil) })
    assert.is_nil(d:get("k"))
  end)

  it("increments numbers, starting from init when there is none", function()
    local d = dict()
    assert.are.same({ nil, "not found" }, { d:incr("c", 1) })
    assert.are.same(11, d:incr("c", 1, 10))
    assert.are.same(16, d:incr("c", 5))
    assert.are.same("integer", math.type(d:get("c")))
    assert.are.same(16.5, d:incr("c", 0.5))
    assert.are.same("float", math.type(d:get("c")))
    d:set("s", "text")
    assert.are.same({ nil, "not a number" }, { d:incr("s", 1) })
  end)

  it("forgets an entry once its time to live is over", function()
    local d = dict()
    d:set("short", "v", 50)
    d:set("long", "v", 60000)
    d:set("forever", "v")
    assert.are.same("v", d:get("short"))
    local ttl = d:ttl("long")
    assert.is_true(ttl > 59000 and ttl <= 60000, tostring(ttl))
    assert.are.same(0, d:ttl("forever"))
    helper.drive(120)
    assert.is_nil(d:get("short"))
    assert.are.same({ nil, "not found" }, { d:ttl("short") })
    assert.are.same({ true }, { d:expire("forever", 30) })
    helper.drive(80)
    assert.is_nil(d:get("forever"))
    assert.are.same("v", d:get("long"))
    assert.are.same({ false, "not found" }, { d:expire("absent", 10) })
  end)

  it("evicts the least recently used when full, and says so; safeSet refuses", function()
    local d = dict("16K")
    assert.are.same(16384, d:capacity())
    local value = ("x"):rep(1000)
    local evicted_at
    for i = 1, 40 do
      local ok, why = d:set("k" .. i, value)
      assert.is_true(ok)
      if why == "evicted" and not evicted_at then evicted_at = i end
    end
    assert.is_truthy(evicted_at, "a full dict evicted nothing")
    assert.is_nil(d:get("k1"))            -- the oldest went
    assert.are.same(value, d:get("k40"))  -- the newest stayed
    assert.is_true(d:count() < 40 and d:count() >= 10, tostring(d:count()))
    assert.are.same({ false, "no memory" }, { d:safeSet("another", ("y"):rep(8000)) })
    assert.are.same(value, d:get("k40"))
    assert.are.same({ false, "no memory" }, { d:set("huge", ("z"):rep(20000)) })
  end)

  it("keeps the entries it used last when it evicts", function()
    local d = dict("16K")
    local value = ("x"):rep(1000)
    for i = 1, 10 do d:set("k" .. i, value) end
    assert.are.same(value, d:get("k1"))   -- k1 is now the most recently used
    for i = 11, 16 do d:set("k" .. i, value) end
    assert.are.same(value, d:get("k1"))
    assert.is_nil(d:get("k2"))
  end)

  it("lists keys, most recently used first, and flushes", function()
    local d = dict()
    for i = 1, 5 do d:set("k" .. i, i) end
    d:get("k2")
    assert.are.same({ "k2", "k5", "k4", "k3", "k1" }, d:keys())
    assert.are.same({ "k2", "k5" }, d:keys(2))
    assert.are.same(5, d:count())
    local before = d:freeSpace()
    d:flushAll()
    assert.are.same(0, d:count())
    assert.are.same({}, d:keys())
    assert.is_true(d:freeSpace() > before)
    assert.are.same(d:capacity(), d:freeSpace())
  end)

  it("is one dict for every handle of its name", function()
    local a = net.SharedDict("spec-shared-name", "64K")
    a:set("k", "from a")
    local b = net.SharedDict("spec-shared-name")
    assert.are.same("from a", b:get("k"))
    assert.are.same("spec-shared-name", b:name())
    assert.are.same("luanet.SharedDict (spec-shared-name)", tostring(b))
  end)

  it("refuses what is not plain data, naming where it is, and keeps nothing of it", function()
    local d = dict()
    local cyclic = {}
    cyclic.self = cyclic
    for _, case in ipairs({
      { function() end, "value: a function" },
      { setmetatable({}, {}), "value: a table with a metatable" },
      { cyclic, "value.self: a table that contains itself" },
      { { list = { 1, { io.stdout } } }, "value.list[2][1]: a userdata" },
    }) do
      local ok, err = d:set("k", case[1])
      assert.is_false(ok)
      assert.truthy(err:find(case[2], 1, true), err)
      assert.is_nil(d:get("k"))
    end
    assert.has_error(function() d:set({}, "v") end)
    assert.has_error(function() net.SharedDict("spec-never-made") end)
  end)
end)
