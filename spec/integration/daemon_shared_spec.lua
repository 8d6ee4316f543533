-- net.SharedDict under the daemon: dicts declared by the config's
-- `shared` setting, one dict for both worker threads (no update lost when
-- they increment one key at once), entries that outlive a reload of the
-- code and a SIGHUP that resizes the dict, a dict dropped from the config,
-- and the errors a user meets (an undeclared name, a bad size with its
-- line). The service is a line counter over TCP; the clients are
-- in-process TcpSockets.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local net = helper.net

-- Each line "incr" is answered "W N" (the worker, the counter after it);
-- "get" with the counter; "size" with the dict's capacity.
local COUNTER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local function main(service)
  local opts = cli.options("counter.lua", { host = "127.0.0.1", port = 0, dict = "counters" }, service)
  local server = assert(cli.listen(opts))
  local hits = net.SharedDict(opts.dict)
  server.newConnection:connect(function()
    local c = server:nextPendingConnection()
    c.readyRead:connect(function()
      while c:canReadLine() do
        local line = c:readLine():gsub("\n$", "")
        local ok, answer = pcall(function()
          if line == "incr" then return service.worker .. " " .. hits:incr("n", 1, 0) end
          if line == "get" then return tostring(hits:get("n")) end
          if line == "size" then return tostring(hits:capacity()) end
          if line == "json" then   -- a decoded document kept in service.state across reloads
            service.state.doc = service.state.doc or net.json.decode('{"a":null,"list":[],"obj":{},"n":[1,2.5]}')
            return net.json.encode(service.state.doc, { sortKeys = true })
          end
          local n = line:match("^fill (%d+)$")
          if n then   -- n values of 128 KiB, each made and dropped in turn
            for i = 1, tonumber(n) do assert(hits:set("blob" .. i, ("x"):rep(131072))) end
            return tostring(hits:capacity() - hits:freeSpace())
          end
        end)
        c:write((ok and answer or "error " .. tostring(answer)) .. "\n")
      end
    end)
  end)
end
cli.run(main, ...)
]]

local function connect(port)
  local s = net.TcpSocket()
  s:connectToHost("127.0.0.1", port)
  assert(s:waitForConnected(helper.TIMEOUT))
  kit.on_cleanup(function() s:abort() end)
  return s
end

-- Sends `line` count times at once and returns the count answers.
local function ask(s, line, count)
  s:write((line .. "\n"):rep(count or 1))
  local got = {}
  helper.run(helper.TIMEOUT * 2, function()
    while s:canReadLine() do got[#got + 1] = s:readLine():gsub("\n$", "") end
    return #got >= (count or 1)
  end)
  return got
end

-- The config becomes `text` (after the control line dh.prepare put
-- first), and SIGHUP makes the daemon read it.
local function reconfigure(d, text)
  local control = assert(helper.slurp(d.conf)):match("^[^\n]*\n")
  local f = assert(io.open(d.conf, "w"))
  f:write(control, text)
  f:close()
  d.kill("HUP")
  assert.truthy(d.wait_log("SIGHUP: "))
end

local function start(config)
  return kit.start(config, { ["counter.lua"] = COUNTER })
end

describe("SharedDict under the daemon", function()
  after_each(kit.cleanup)

  it("is one dict for both workers: no increment is lost", function()
    local d = start([[
workers = 2
shared = { counters = "1M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    local port = d.port("count")
    local clients, workers = {}, {}
    for i = 1, 24 do
      clients[i] = connect(port)
      clients[i]:write(("incr\n"):rep(250))
    end
    local answers = 0
    for _, s in ipairs(clients) do
      local got = {}
      helper.run(helper.TIMEOUT * 2, function()
        while s:canReadLine() do got[#got + 1] = s:readLine() end
        return #got >= 250
      end)
      assert.are.same(250, #got)
      for _, a in ipairs(got) do
        workers[a:match("^(%d+) ")] = true
        answers = answers + 1
      end
    end
    assert.are.same({ ["1"] = true, ["2"] = true }, workers)
    assert.are.same({ tostring(answers) }, ask(connect(port), "get"))
    assert.are.same(6000, answers)
  end)

  it("keeps its entries through a reload of the code and a SIGHUP that resizes it", function()
    local d = start([[
shared = { counters = "1M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    local port = d.port("count")
    ask(connect(port), "incr", 7)
    local code, _, err = d.ctl("reload", "count")
    assert.are.same(0, code, err)
    assert.are.same({ "8" }, { (ask(connect(port), "incr")[1]:match(" (%d+)$")) })

    reconfigure(d, [[
shared = { counters = "2M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    helper.run(helper.TIMEOUT, function() return ask(connect(port), "size")[1] == tostring(2 << 20) end)
    assert.are.same({ tostring(2 << 20) }, ask(connect(port), "size"))
    assert.are.same({ "8" }, ask(connect(port), "get"))
  end)

  it("hands a decoded JSON document's null, [] and {} to the new code at a reload", function()
    local d = start([[
shared = { counters = "1M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    local want = '{"a":null,"list":[],"n":[1,2.5],"obj":{}}'
    assert.are.same({ want }, ask(connect(d.port("count")), "json"))
    local code, _, err = d.ctl("reload", "count")
    assert.are.same(0, code, err)
    assert.truthy(d.wait_log("count reloaded"), d.log())
    assert.are.same({ want }, ask(connect(d.port("count")), "json"))
  end)

  it("charges its entries to its own size, not to the service's memory_limit", function()
    local d = start([[
shared = { counters = "16M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0", memory_limit = "4M" }
]])
    local used = tonumber(ask(connect(d.port("count")), "fill 64")[1])   -- 8 MiB, twice the limit
    assert.is_true(used and used > 64 * 131072, tostring(used))
    assert.are.same({ "1" }, { (ask(connect(d.port("count")), "incr")[1]:match(" (%d+)$")) })
  end)

  it("drops a dict the config no longer declares", function()
    local d = start([[
shared = { counters = "1M", other = "64K" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    local port = d.port("count")
    local s = connect(port)
    ask(s, "incr", 3)
    reconfigure(d, [[
shared = { other = "64K" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]])
    local answer
    helper.run(helper.TIMEOUT, function()
      answer = ask(s, "get")[1]
      return answer ~= "3"
    end)
    assert.truthy(answer:find("the dict was removed from the config", 1, true), answer)
  end)

  it("refuses a dict the config does not declare, naming the setting", function()
    local code, _, err = dh.run([[
shared = { counters = "1M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0", options = { dict = "sessions" } }
]], { ["counter.lua"] = COUNTER }, "--check")
    -- --check compiles the scripts; the dict is asked for when the service starts
    assert.are.same(0, code, err)
    local d = kit.start([[
shared = { counters = "1M" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0", options = { dict = "sessions" } }
]], { ["counter.lua"] = COUNTER }, { wait = {} })
    assert.truthy(d.wait_log("SharedDict sessions: not declared in the config's `shared` setting"), d.log())
  end)

  it("says which line has a bad size", function()
    local code, _, err, conf = dh.run([[
workers = 1
shared = { counters = "12" }
service "count" { script = "counter.lua", listen = "tcp://127.0.0.1:0" }
]], { ["counter.lua"] = COUNTER })
    assert.are.same(2, code)
    local line = 3   -- dh.run puts its control line first
    assert.truthy(err:find(("%s:%d: shared: counters must be a size of at least 8K"):format(conf, line), 1, true), err)
  end)
end)
