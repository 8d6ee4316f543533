-- What an operator scrapes and reads: `metrics = "tcp://..."` served to
-- curl and checked by Prometheus's own promtool, `ctl status --json`, and
-- `log = { format = "json" }`. The figures are asserted against what the
-- spec did: connections made and held, bytes sent, a reload that worked
-- and one that failed, a slot that raised, one stopped by cpu_limit and
-- one by memory_limit, entries in a SharedDict.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local net = helper.net

-- A line service: "incr" counts in the dict, "boom" raises in the slot,
-- "spin" loops past cpu_limit, "hog" asks for more than memory_limit; any
-- other line comes back.
local LINES = [[
local net = require "luanet"
local cli = require "luanet.cli"
local function main(service)
  local opts = cli.options("lines.lua", { host = "127.0.0.1", port = 0 }, service)
  local server = assert(cli.listen(opts))
  local dict = net.SharedDict("hits")
  server.newConnection:connect(function()
    local c = server:nextPendingConnection()
    c.readyRead:connect(function()
      while c:canReadLine() do
        local line = c:readLine():gsub("\n$", "")
        if line == "incr" then c:write(dict:incr("n", 1, 0) .. "\n")
        elseif line:match("^boom") then c:write("raising\n") error("boom as asked: " .. line)
        elseif line == "spin" then c:write("spinning\n") while true do end
        elseif line == "hog" then   -- one allocation past memory_limit: stopped at once, whatever the CPU
          c:write("hogging\n")
          local s = ("x"):rep(64 << 20)
        else c:write(line .. "\n") end
      end
    end)
  end)
end
cli.run(main, ...)
]]

local CONFIG = [[
workers = 2
metrics = "tcp://127.0.0.1:0"
shared = { hits = "64K" }
service "lines" {
  script = "lines.lua",
  listen = "tcp://127.0.0.1:0",
  cpu_limit = 100,
  memory_limit = "8M",
}
]]

local function metrics_port(d)
  return math.tointeger(tonumber(d.wait_log("metrics on tcp://127%.0%.0%.1:(%d+)")))
end

-- curl's answer: exit code, head and body.
local function curl(port, ...)
  local argv = { "curl", "-sS", "-i", "--max-time", "5", ... }
  argv[#argv + 1] = ("http://127.0.0.1:%d/metrics"):format(port)
  local code, out = helper.execute(helper.quote_all(table.unpack(argv)))
  local head, body = out:match("^(.-)\r\n\r\n(.*)$")
  return code, head or out, body
end

-- The samples of a scrape: name{labels} -> value.
local function samples(text)
  local s = {}
  for name, value in text:gmatch("\n(luanetd_[^ \n]+) ([^\n]+)") do s[name] = tonumber(value) end
  return s
end

-- The sum of a family's samples for service "lines" over the workers.
local function sum(s, family)
  local total, seen = 0, 0
  for name, v in pairs(s) do
    if name:match("^luanetd_" .. family .. '{service="lines",worker="%d+"}$') then
      total, seen = total + v, seen + 1
    end
  end
  assert.are.same(2, seen, family .. ": one sample per worker")
  return total
end

local function scrape(port)
  local code, head, body = curl(port)
  assert.are.same(0, code)
  assert.truthy(head:match("^HTTP/1.1 200 OK"), head)
  return samples("\n" .. body), body
end

-- Prometheus's own check of the exposition format (promtool, Debian's
-- prometheus package): names, types, HELP, duplicates, label syntax.
local function assert_promtool_accepts(text)
  local file = os.tmpname()
  dh.write(file, text)
  local code, out, err = helper.execute("promtool check metrics < " .. helper.quote(file))
  os.remove(file)
  assert.are.same(0, code, out .. err)
end

-- Lines out, answers back, then the client goes.
local function session(port, lines)
  local c = kit.connect(port)
  local answers = {}
  for _, l in ipairs(lines) do answers[#answers + 1] = c.ask(l) end
  c.sock:disconnectFromHost()
  helper.run(helper.TIMEOUT, function() return c.closed end)
  return answers
end

describe("the daemon's metrics", function()
  after_each(kit.cleanup)

  it("counts known connections and bytes, and promtool accepts the text", function()
    local d = kit.start(CONFIG, { ["lines.lua"] = LINES })
    local port, mport = d.port("lines"), metrics_port(d)
    local before = scrape(mport)
    assert.are.same(0, sum(before, "connections_accepted_total"))
    for i = 1, 7 do assert.are.same({ "hello " .. i }, session(port, { "hello " .. i })) end
    local held = { kit.connect(port), kit.connect(port), kit.connect(port) }
    for _, c in ipairs(held) do assert.are.same("x", c.ask("x")) end
    local s, text = scrape(mport)
    assert.are.same(10, sum(s, "connections_accepted_total"))
    assert.are.same(3, sum(s, "connections_open"))
    -- "hello N\n" is 8 bytes each way, "x\n" 2.
    assert.are.same(7 * 8 + 3 * 2, sum(s, "received_bytes_total"))
    assert.are.same(7 * 8 + 3 * 2, sum(s, "sent_bytes_total"))
    assert.is_true(sum(s, "lua_memory_bytes") > 0)
    assert.is_true(sum(s, "lua_cpu_seconds_total") > 0)
    assert.are.same(1, s['luanetd_service_up{service="lines"}'])
    assert.are.same(65536, s['luanetd_shared_dict_capacity_bytes{dict="hits"}'])
    assert.is_true(s["luanetd_worker_cpu_seconds_total{worker=\"1\"}"] >= 0)
    assert_promtool_accepts(text)
    for name in text:gmatch("\n# TYPE (%S+)") do assert.truthy(name:match("^luanetd_"), name) end
  end)

  it("counts reloads, failed reloads, errors, cpu_limit and memory_limit stops, and dict use", function()
    local d = kit.start(CONFIG, { ["lines.lua"] = LINES })
    local port, mport = d.port("lines"), metrics_port(d)
    assert.are.same({ "1", "2", "3" }, session(port, { "incr", "incr", "incr" }))
    assert.are.same(0, (d.ctl("reload", "lines")))
    dh.write(d.dir .. "/lines.lua", "this is not Lua")
    assert.are_not.same(0, (d.ctl("reload", "lines")))
    dh.write(d.dir .. "/lines.lua", LINES)
    assert.are.same({ "raising" }, session(port, { "boom" }))
    assert.are.same({ "spinning" }, session(port, { "spin" }))
    assert.are.same({ "hogging" }, session(port, { "hog" }))
    helper.run(helper.TIMEOUT, function()
      local s = scrape(mport)
      return sum(s, "errors_total") == 3 and sum(s, "memory_limit_stops_total") == 1
    end)
    local s = scrape(mport)
    assert.are.same(1, s['luanetd_reloads_total{service="lines"}'])
    assert.are.same(1, s['luanetd_reload_failures_total{service="lines"}'])
    assert.are.same(3, sum(s, "errors_total"))   -- boom, spin, hog: each a slot that ended in an error
    assert.are.same(1, sum(s, "cpu_limit_stops_total"))
    assert.are.same(1, sum(s, "memory_limit_stops_total"))
    assert.are.same(4, sum(s, "connections_accepted_total"))   -- counted across the reload
    assert.are.same(1, s['luanetd_shared_dict_entries{dict="hits"}'])
    assert.is_true(s['luanetd_shared_dict_used_bytes{dict="hits"}'] > 0)
  end)

  it("answers only GET and HEAD /metrics, and a silent client does not hold a scrape up", function()
    local d = kit.start(CONFIG, { ["lines.lua"] = LINES })
    local mport = metrics_port(d)
    local silent = net.TcpSocket()
    silent:connectToHost("127.0.0.1", mport)
    assert.is_true(silent:waitForConnected(helper.TIMEOUT))
    kit.on_cleanup(function() silent:abort() end)
    local code, head, body = curl(mport, "-I")
    assert.are.same(0, code)
    assert.truthy(head:match("^HTTP/1.1 200 OK\r\n"), head)
    assert.truthy(head:match("Content%-Type: text/plain; version=0%.0%.4"), head)
    assert.are.same("", body)
    code, head = curl(mport, "-X", "POST")
    assert.truthy(head:match("^HTTP/1.1 405 ") and head:match("Allow: GET, HEAD"), head)
    local _, out = helper.execute(helper.quote_all("curl", "-sS", "-i", ("http://127.0.0.1:%d/"):format(mport)))
    assert.truthy(out:match("^HTTP/1.1 404 "), out)
    code, head = curl(mport, "-H", "X-Big: " .. ("b"):rep(9000))
    assert.truthy(head:match("^HTTP/1.1 431 "), head)
    local raw = net.TcpSocket()
    raw:connectToHost("127.0.0.1", mport)
    assert.is_true(raw:waitForConnected(helper.TIMEOUT))
    raw:write("GET /metrics HTTP/9.9\r\n\r\n")
    assert.is_true(raw:waitForDisconnected(helper.TIMEOUT))
    assert.truthy(raw:readAll():match("^HTTP/1.1 400 Bad Request\r\n"))
  end)

  it("is on in the shipped config, with every service up", function()
    local d = dh.start_shipped("ftpd")
    kit.on_cleanup(d.cleanup)
    local s, text = scrape(metrics_port(d))
    local up = {}
    for name, v in pairs(s) do
      local service = name:match('^luanetd_service_up{service="([^"]+)"}$')
      if service then up[service] = v end
    end
    assert.are.same({ fortune = 1, echo = 1, counter = 1, chat = 1, httpd = 1, ftpd = 1 }, up)
    assert.are.same(65536, s['luanetd_shared_dict_capacity_bytes{dict="counters"}'])
    assert_promtool_accepts(text)
    -- luanetd.conf(5) lists every family the daemon serves
    local page = assert(helper.slurp("docs/man/luanetd.conf.5"))
    for name in text:gmatch("\n# TYPE (%S+)") do
      assert.truthy(page:find("\n.B " .. name .. "\n", 1, true), name .. " is not in luanetd.conf(5)")
    end
  end)

  it("is off unless configured, and a bad address is refused with its line", function()
    local d = kit.start([[service "lines" { script = "lines.lua", listen = "tcp://127.0.0.1:0" }
shared = { hits = "64K" }
]], { ["lines.lua"] = LINES })
    assert.is_nil(d.log():match("metrics on"))
    local code, _, err, conf = dh.run('workers = 1\nmetrics = "udp://127.0.0.1:9145"\n')
    assert.are.same(2, code)
    assert.are.same(conf .. ':3: metrics: "udp://127.0.0.1:9145" must be a tcp:// address\n', err)
    code, _, err, conf = dh.run('metrics = "tcp://localhost:9145"\n')
    assert.are.same(2, code)
    assert.truthy(err:find(conf .. ':2: metrics: bad listener "tcp://localhost:9145"', 1, true), err)
    local taken, taken_port = helper.listen("127.0.0.1")
    code, _, err = dh.run(('metrics = "tcp://127.0.0.1:%d"\n'):format(taken_port))
    taken:close()
    assert.are.same(2, code)
    assert.truthy(err:find("metrics: tcp://127.0.0.1:%d+: Address already in use"), err)
  end)
end)

describe("ctl status --json", function()
  after_each(kit.cleanup)

  it("says what the text says, with the counters, as one JSON document", function()
    local d = kit.start(CONFIG, { ["lines.lua"] = LINES })
    local port = d.port("lines")
    assert.are.same({ "1" }, session(port, { "incr" }))
    local held = kit.connect(port)
    assert.are.same("x", held.ask("x"))
    local code, out, err = d.ctl("status", "--json")
    assert.are.same(0, code, err)
    local doc = net.json.decode(out)
    assert.are.same(2, doc.workers)
    assert.are.same(d.pid(), doc.pid)
    local sv = doc.services[1]
    assert.are.same("lines", sv.name)
    assert.are.same("running", sv.status)
    assert.are.same({ ("tcp://127.0.0.1:%d"):format(port) }, sv.listeners)
    assert.are.same(1, sv.connections)
    assert.are.same(2, sv.accepted)
    assert.are.same(5 + 2, sv.bytes_in)   -- "incr\n", "x\n"
    assert.are.same(net.json.null, sv.last_error)
    assert.are.same({ memory_limit = 8 << 20, cpu_limit_ms = 100, max_connections = net.json.null }, sv.limits)
    assert.are.same(2, #sv.workers)
    assert.are.same(1, sv.workers[1].connections + sv.workers[2].connections)
    assert.are.same({ { name = "hits", capacity_bytes = 65536, used_bytes = doc.shared[1].used_bytes, entries = 1,
                        evictions = 0 } }, doc.shared)
    local text = dh.status(d)
    assert.are.same("connections=1", text.lines[4])
    code, _, err = d.ctl("status", "--yaml")
    assert.are.same(2, code)
    assert.truthy(err:match("usage: luanetd ctl %[%-s SOCKET%] status %[%-%-json%]"), err)
  end)
end)

describe("log = { format = \"json\" }", function()
  after_each(kit.cleanup)

  it("writes one JSON object per line, a traceback and a peer's bytes included", function()
    local d = kit.start('log = { format = "json" }\n' .. CONFIG, { ["lines.lua"] = LINES }, { wait = {} })
    local port = math.tointeger(tonumber(d.wait_log('"service":"lines","message":"started [^"]*listening on tcp://127%.0%.0%.1:(%d+)"')))
    assert.are.same({ "raising" }, session(port, { "boom \xff\xfe" }))
    d.wait_log("boom as asked")
    assert.are.same(0, d.stop())
    local lines = 0
    for line in d.log():gmatch("[^\n]+") do
      local ok, obj = pcall(net.json.decode, line)
      assert.is_true(ok, line)
      assert.truthy(obj.time:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"), line)
      assert.truthy(({ debug = 1, info = 1, warn = 1, error = 1 })[obj.level], line)
      assert.are.same("string", type(obj.service))
      assert.are.same("string", type(obj.message))
      lines = lines + 1
    end
    assert.is_true(lines >= 4)
    local err = d.log():match('[^\n]*"level":"error"[^\n]*')
    local obj = net.json.decode(err)
    assert.are.same("lines", obj.service)
    assert.truthy(obj.message:find("boom as asked: boom \u{FFFD}\u{FFFD}", 1, true), obj.message)
    assert.truthy(obj.message:find("stack traceback:", 1, true))
  end)
end)
