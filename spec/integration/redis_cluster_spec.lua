-- The worked example of issue 20, with real parts: redis-server, three
-- luanetd nodes running scripts/redis_chat.lua from etc/cluster/'s
-- configs, and HAProxy (etc/cluster/haproxy.cfg) in front; the clients are
-- in-process line clients that only know HAProxy's port. Every line
-- reaches every client exactly once; after SIGKILL of a node its clients
-- reconnect through HAProxy and the chat goes on; after redis-server
-- restarts on its port the nodes subscribe again and lines flow; /count
-- is one counter for every node. Ports are free ones, put in place of the
-- example's 6379 and 7100-7103.
local helper = require "helper"
local core = require "support.core_helper"
local dh = require "support.daemon_helper"
local redis_server = require "support.redis_server"
local kit = dh.kit()

local HAPROXY = "/usr/sbin/haproxy"
local maybe_describe = (redis_server.installed() and helper.installed(HAPROXY)) and describe or pending

-- etc/cluster/<name> with the example's ports replaced.
local function example(name, ports)
  local text = assert(helper.slurp(helper.copy_of("etc") .. "/cluster/" .. name))
  for from, to in pairs(ports) do text = text:gsub(from, tostring(to)) end
  return text
end

-- Reads every client's lines until each has `count` (c.lines, as
-- support.line_client collects them).
local function until_each(clients, count)
  return helper.run(helper.TIMEOUT * 2, function()
    for _, c in ipairs(clients) do if #c.lines < count then return false end end
    return true
  end)
end

-- Each client says one line; every client must hear each exactly once.
local function round(clients, tag)
  local said = {}
  for _, c in ipairs(clients) do c.lines = {} end
  for i, c in ipairs(clients) do
    said[i] = ("%s %d"):format(tag, i)
    c.sock:write(said[i] .. "\n")
  end
  local all = until_each(clients, #said)
  helper.drive(100)   -- time for a second copy to show, were there one
  table.sort(said)
  for i, c in ipairs(clients) do
    local heard = table.move(c.lines, 1, #c.lines, 1, {})
    table.sort(heard)
    assert.are.same(said, heard, ("%s: client %d heard %s"):format(tag, i, table.concat(c.lines, "|")))
  end
  assert.is_true(all)
end

maybe_describe("redis_chat.lua on three nodes behind HAProxy (etc/cluster)", function()
  after_each(kit.cleanup)

  it("is one room across the nodes, through a node's death and a Redis restart", function()
    local dir = dh.tmpdir()
    kit.on_cleanup(function() os.execute("rm -rf " .. helper.quote(dir)) end)
    local redis_port, stop_redis = redis_server.start(dir)
    kit.on_cleanup(function() stop_redis() end)
    local front = core.free_port()
    local ports = { ["6379"] = redis_port, ["7100"] = front }
    local nodes = {}
    for n = 1, 3 do ports["710" .. n] = core.free_port() end
    for n = 1, 3 do
      local conf = example("node" .. n .. ".conf", ports):gsub("%.%./%.%./scripts/", "")
      nodes[n] = kit.start(conf, { ["redis_chat.lua"] = assert(helper.slurp(dh.SCRIPTS .. "/redis_chat.lua")) })
    end
    local cfg = dir .. "/haproxy.cfg"
    local f = assert(io.open(cfg, "w"))
    f:write(example("haproxy.cfg", ports))
    f:close()
    kit.on_cleanup(helper.start_peer({ HAPROXY, "-db", "-f", cfg }, front, "haproxy"))

    -- Nine clients through HAProxy (round robin): some on each node.
    local clients, on = {}, {}
    for i = 1, 9 do
      clients[i] = kit.connect(front)
      on[i] = clients[i].ask("/who")
    end
    local seen = {}
    for _, who in ipairs(on) do seen[who] = true end
    assert.are.same({ ["node node1"] = true, ["node node2"] = true, ["node node3"] = true }, seen)
    round(clients, "hello")

    -- One counter for every node.
    local counts = {}
    for i = 1, 3 do counts[i] = clients[i].ask("/count") end
    assert.are.same({ "count 1", "count 2", "count 3" }, counts)

    -- node2 dies: its clients are cut and come back through HAProxy.
    nodes[2].kill("KILL")
    for i, c in ipairs(clients) do
      if on[i] == "node node2" then
        assert.is_true(helper.run(helper.TIMEOUT, function() return c.closed end), "client " .. i .. " was not cut")
        local again
        helper.run(helper.TIMEOUT, function()
          again = kit.connect(front)
          local who = again.ask("/who")
          if who and who ~= "node node2" then return true end
          again.sock:abort()
          return false
        end)
        clients[i], on[i] = again, again.ask("/who")
      end
    end
    round(clients, "after the node")

    -- redis-server restarts on its port: the nodes subscribe again.
    stop_redis()
    redis_port, stop_redis = redis_server.start(dir, nil, nil, redis_port)
    local n = 0
    assert.is_true(helper.run(helper.TIMEOUT * 2, function()
      n = n + 1
      for _, c in ipairs(clients) do c.lines = {} end
      clients[1].sock:write(("probe %d\n"):format(n))
      helper.drive(200)
      for _, c in ipairs(clients) do
        local got = false
        for _, l in ipairs(c.lines) do got = got or l:match("^probe") ~= nil end
        if not got then return false end
      end
      return true
    end), "lines did not flow again after Redis restarted")
    helper.drive(300)   -- the last probes' copies
    round(clients, "after Redis")
  end)
end)
