-- What the daemon says and does at start and when a service is down, as a
-- new user meets it: --version, a script that does not compile (a config
-- error: exit 2 before anything listens), a service with no running code
-- (its connections are closed at once, and counted), and the log lines of
-- a SIGHUP.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local kit = dh.kit()
local pattern_escape = dh.pattern_escape

-- A line service: answers "TAG:line".
local LINES = [[
local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local c = server:nextPendingConnection()
  c.readyRead:connect(function()
    while c:canReadLine() do
      c:write((service.options.tag or "?") .. ":" .. c:readLine())
    end
  end)
end)
]]

-- Connects to port and waits for the server to close the connection:
-- true when it closed within ms with nothing sent, false otherwise.
local function closed_at_once(port, ms)
  local sock = net.TcpSocket()
  local got, closed = "", false
  sock.readyRead:connect(function() got = got .. sock:readAll() end)
  sock.disconnected:connect(function() closed = true end)
  sock:connectToHost("127.0.0.1", port)
  helper.run(ms, function() return closed end)
  sock:abort()
  return closed and got == ""
end

local function status(d) return dh.status(d) end

local function field(fields, name)
  for _, f in ipairs(fields) do
    local v = f:match("^" .. name .. "=(.*)$")
    if v then return v end
  end
end

describe("luanetd --version", function()
  it("prints its version and its libraries' and exits 0", function()
    local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, "--version"))
    assert.are.same(0, code, err)
    local cmake = assert(helper.slurp("CMakeLists.txt"))
    local version = assert(cmake:match("project%(luanetd VERSION ([%d.]+)"))
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.same("luanetd " .. version, lines[1])
    assert.matches("^Lua 5%.4%.%d+$", lines[2])
    assert.matches("^libev %d+%.%d+$", lines[3])
    assert.matches("^c%-ares %d+%.%d+%.%d+$", lines[4])
    assert.matches("^llhttp %d+%.%d+%.%d+$", lines[5])
    assert.matches("^OpenSSL %d+%.%d+%.%d+", lines[6])
  end)

  it("refuses an option it does not have instead of running it as a script", function()
    local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, "--bogus"))
    assert.are.same(2, code)
    assert.are.same("", out)
    assert.matches("^luanetd: unknown option %-%-bogus\nusage: luanetd script%.lua", err)
  end)
end)

describe("a service whose script does not compile", function()
  it("is a config error at start: FILE:LINE, exit 2, and nothing listens", function()
    local port = require("support.core_helper").free_port()
    local config = ([[
service "good" { script = "good.lua", listen = "tcp://127.0.0.1:0" }
service "broken" { script = "broken.lua", listen = "tcp://127.0.0.1:%d" }
]]):format(port)
    local t0 = helper.now_ms()
    local code, out, err, conf = dh.run(config, { ["good.lua"] = LINES, ["broken.lua"] = "local x = \n\nx = = 1\n" })
    assert.are.same(2, code)
    assert.is_true(helper.now_ms() - t0 < 3000)
    assert.are.same("", out)
    local dir = conf:match("^(.*)/[^/]+$")
    assert.are.same(('%s:3: service "broken": %s/broken.lua:3: unexpected symbol near \'=\'\n'):format(conf, dir), err)
    -- Nothing was left listening on the broken service's port.
    local s = net.TcpSocket()
    s:connectToHost("127.0.0.1", port)
    assert.is_false(s:waitForConnected(500))
    s:abort()
  end)
end)

describe("a service with no running code", function()
  after_each(kit.cleanup)

  it("closes each connection at once, counts it, and serves once it starts; last_error is cleared", function()
    local d = kit.start([[
shutdown_timeout = 1000
service "good" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "good" } }
service "bad" { script = "bad.lua", listen = "tcp://127.0.0.1:0", reload = "watch", options = { tag = "bad" } }
]], { ["lines.lua"] = LINES, ["bad.lua"] = "local service = ...\nerror(\"no database yet\")\n" }, { wait = { "good" } })
    assert.is_not_nil(d.wait_log("error bad failed to start: [^\n]*bad%.lua:2: no database yet; trying again in 1 s\n"),
                      d.log())
    local port = assert(d.port("good"))
    -- The bad service's listener is open (the daemon holds it): its port.
    local bad_port = math.tointeger(tonumber(status(d).bad[3]:match(":(%d+)$")))
    local t0 = helper.now_ms()
    assert.is_true(closed_at_once(bad_port, 2000), "a connection to the down service was not closed at once")
    assert.is_true(closed_at_once(bad_port, 2000))
    assert.is_true(helper.now_ms() - t0 < 1000, "refusing took " .. (helper.now_ms() - t0) .. " ms")
    local s = status(d)
    assert.are.same("backoff", s.bad[2])
    assert.are.same("2", field(s.bad, "refused"), s.raw)
    assert.are.same("0", field(s.good, "refused"), s.raw)
    assert.matches("no database yet$", field(s.bad, "last_error"))
    assert.are.same("good:still here", kit.connect(port).ask("still here"))

    -- Fixed: it starts (the watch sees the save), accepts, and its
    -- last_error is gone; the count stays.
    dh.write(d.dir .. "/bad.lua", LINES)
    assert.is_not_nil(d.wait_log("info bad started", 4000), d.log())
    assert.are.same("bad:served", kit.connect(bad_port).ask("served"))
    s = status(d)
    assert.are.same("running", s.bad[2])
    assert.are.same("-", field(s.bad, "last_error"), s.raw)
    assert.are.same("2", field(s.bad, "refused"), s.raw)
  end)

  it("after net.quit() stopped it, closes connections at once", function()
    local d = kit.start([[
shutdown_timeout = 1000
service "quitter" { script = "quit.lua", listen = "tcp://127.0.0.1:0" }
service "good" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "good" } }
]], { ["lines.lua"] = LINES, ["quit.lua"] = [[
local service = ...
local net = require "luanet"
local server = service.listeners[1]
server.newConnection:connect(function()
  server:nextPendingConnection():write("bye\n")
  net.quit(0)
end)
]] })
    local port = d.port("quitter")
    local c = kit.connect(port)
    assert.is_not_nil(d.wait_log("info quitter net.quit%(0%) called: the service stops"), d.log())
    c.sock:abort()
    assert.is_true(closed_at_once(port, 2000))
    assert.are.same("1", field(status(d).quitter, "refused"))
  end)
end)

describe("the daemon's log", function()
  after_each(kit.cleanup)

  it("says 1 service, and sums a SIGHUP up in one line", function()
    local d = kit.start([[
shutdown_timeout = 1000
service "a" { script = "a.lua", listen = "tcp://127.0.0.1:0", options = { tag = "a" } }
]], { ["a.lua"] = LINES })
    assert.is_truthy(d.log():find(": 1 service, 1 worker, control socket ", 1, true), d.log())
    local conf = assert(helper.slurp(d.conf))
    dh.write(d.conf, conf .. [[
service "b" { script = "a.lua", listen = "tcp://127.0.0.1:0", options = { tag = "b" } }
service "c" { script = "a.lua", listen = "tcp://127.0.0.1:0", options = { tag = "c" } }
]])
    d.kill("HUP")
    assert.is_not_nil(d.wait_log("info luanetd SIGHUP: 2 services added, 1 unchanged\n"), d.log())
    dh.write(d.dir .. "/a.lua", LINES .. "-- saved\n")
    d.kill("HUP")
    assert.is_not_nil(d.wait_log("info luanetd SIGHUP: 3 services reloaded\n"), d.log())
  end)

  it("warns of a workers change only while the running count differs from the config's", function()
    local base = [[
shutdown_timeout = 1000
workers = %d
service "a" { script = "a.lua", listen = "tcp://127.0.0.1:0", options = { tag = "a" } }
]]
    local d = kit.start(base:format(1), { ["a.lua"] = LINES })
    dh.write(d.conf, ("control = %q\n"):format(d.control) .. base:format(2))
    d.kill("HUP")
    assert.is_not_nil(d.wait_log("warn luanetd workers changed %(1 running, 2 in the config%): takes effect at the next restart"),
                      d.log())
    dh.write(d.conf, ("control = %q\n"):format(d.control) .. base:format(1))
    d.kill("HUP")
    helper.run(3000, function() return dh.count_lines(d.log(), "SIGHUP: ", true) >= 4 end)
    assert.are.same(1, dh.count_lines(d.log(), "workers changed", true), d.log())
  end)
end)
