-- spec/integration/daemon_lifecycle_spec.lua: `luanetd -c FILE` as an
-- operator runs it: services whose slots raise or whose scripts do not
-- start, `luanetd ctl` status/reload/stop, hot reload that keeps open
-- connections on the old code, graceful shutdown (SIGTERM, SIGINT twice,
-- shutdown_timeout) and the log's format and rate limit. Every peer is an
-- in-process TcpSocket on 127.0.0.1.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local start, on_cleanup = kit.start, kit.on_cleanup
local connect = kit.connect
local status, line_of, pattern_escape = dh.status, dh.line_of, dh.pattern_escape
local net = helper.net

-- A line service: answers each line with "TAG:line". A line "boom" raises
-- in the readyRead slot; a line "storm" starts a timer whose slot raises
-- the same error 50 times in a row. On `stopping` it says "bye" to every
-- open client and logs it. TAG is the option `tag`, else VERSION.
local LINES = [[
local net = require "luanet"
local service = ...
local VERSION = "v1"
local tag = service.options.tag or VERSION
local server = service.listeners[1]
local clients = {}

local function storm()
  local n = 0
  local t = net.Timer()
  t.timeout:connect(function()
    n = n + 1
    if n >= 50 then t:stop() end
    error("storm " .. "error")
  end)
  t:start(1)
end

local function answer(client, line)
  if line == "boom" then
    error("boom requested by a client")
  elseif line == "storm" then
    storm()
    client:write("storming\n")
  else
    client:write(tag .. ":" .. line .. "\n")
  end
end

server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  clients[client] = true
  client.disconnected:connect(function() clients[client] = nil end)
  client.readyRead:connect(function()
    while client:canReadLine() do
      answer(client, (client:readLine():gsub("\r?\n$", "")))
    end
  end)
end)

service.stopping:connect(function()
  local n = 0
  for client in pairs(clients) do
    client:write("bye\n")
    n = n + 1
  end
  service.log.info(("stopping slot ran: said bye to %d clients"):format(n))
end)
]]

-- LINES with another version string.
local function lines_version(v)
  return (LINES:gsub('local VERSION = "v1"', ('local VERSION = %q'):format(v), 1))
end



local client = require("support.line_client").connect



-- One line service "grace" with the given shutdown_timeout (ms).
local function start_grace(shutdown_timeout)
  return start(([[
shutdown_timeout = %d
service "grace" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "grace" } }
]]):format(shutdown_timeout), { ["lines.lua"] = LINES })
end



-- Lines of the log matching `pattern`, leaving out the "(repeated N more
-- times)" lines.
local function count_lines(log, pattern)
  local n = 0
  for line in log:gmatch("[^\n]+") do
    if line:find(pattern) and not line:find("%(repeated %d+ more times%)$") then n = n + 1 end
  end
  return n
end

-- Signals the daemon and returns its exit code and the ms it took to exit.
local function signal_and_wait(d, sig, ms)
  local t0 = helper.now_ms()
  d.kill(sig)
  local code = d.proc.wait(ms)
  return code, helper.now_ms() - t0
end

local TWO_SERVICES = [[
shutdown_timeout = 1500
service "alpha" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "alpha" } }
service "beta" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "beta" } }
]]

describe("luanetd -c", function()
  after_each(function()
    kit.cleanup()
  end)

  describe("a Lua error in a slot", function()
    it("is logged with the service's name and file:line; the other service and connections go on", function()
      local d = start(TWO_SERVICES, { ["lines.lua"] = LINES })
      local a1, a2 = connect(d.port("alpha")), connect(d.port("alpha"))
      local b = connect(d.port("beta"))
      assert.are.same("alpha:one", a1.ask("one"))
      assert.are.same("beta:one", b.ask("one"))

      a1.sock:write("boom\n")
      local where = ("%s/lines.lua:%d: boom requested by a client"):format(d.dir, line_of(LINES, "error(\"boom"))
      local line = d.wait_log("[^\n]* error alpha [^\n]*" .. pattern_escape(where) .. "[^\n]*")
      assert.is_not_nil(line, d.log())
      assert.is_truthy(line:find("stack traceback:", 1, true), line)
      -- One line: the traceback joined with " | ".
      assert.is_truthy(line:find(" | ", 1, true), line)
      assert.are.same(0, count_lines(d.log(), "error beta "))

      -- The other connection of the same service and the other service serve.
      assert.are.same("alpha:two", a2.ask("two"))
      assert.are.same("beta:two", b.ask("two"))
      local a3 = connect(d.port("alpha"))
      assert.are.same("alpha:three", a3.ask("three"))
      -- The connection whose slot raised is not left hanging: the daemon
      -- either closed it or goes on serving it.
      local reply = a1.ask("after")
      assert.is_true(reply == "alpha:after" or a1.closed, ("reply %s, closed %s"):format(tostring(reply), tostring(a1.closed)))

      local s = status(d)
      assert.are.same("running", s.alpha[2])
      assert.are.same("running", s.beta[2])
      assert.are.same("last_error=" .. where, s.alpha[7])
      assert.are.same("last_error=-", s.beta[7])
      assert.are.same(0, d.stop())
    end)
  end)

  describe("a service whose script fails to start", function()
    it("is retried with back-off while the others serve, and starts once fixed", function()
      local BROKEN = "local service = ...\n-- not yet\nerror(\"no database configured\")\n"
      local d = start([[
shutdown_timeout = 1500
service "good" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "good" } }
service "bad" { script = "bad.lua", listen = "tcp://127.0.0.1:0", options = { tag = "bad" } }
]], { ["lines.lua"] = LINES, ["bad.lua"] = BROKEN }, { wait = { "good" } })
      local msg = pattern_escape(("%s/bad.lua:3: no database configured"):format(d.dir))
      assert.is_not_nil(d.wait_log("error bad failed to start: " .. msg .. "; trying again in 1 s\n"), d.log())

      local g = connect(d.port("good"))
      assert.are.same("good:hello", g.ask("hello"))

      local s = status(d)
      assert.are.same("backoff", s.bad[2])
      assert.are.same(("tcp://127.0.0.1:%d"):format(d.port("good")), s.good[3])
      assert.is_truthy(s.bad[7]:find("^last_error=" .. msg .. "$"), s.raw)
      assert.are.same("running", s.good[2])

      -- The first retry, a second later, fails too and doubles the wait.
      local t0 = helper.now_ms()
      assert.is_not_nil(d.wait_log("error bad failed to start: " .. msg .. "; trying again in 2 s\n", 3000), d.log())
      local waited = helper.now_ms() - t0
      assert.is_true(waited <= 1700, ("the 1 s retry came after %d ms more"):format(waited))
      assert.are.same("good:still", g.ask("still"))

      -- Fixed on disk: the next retry (2 s later) starts it.
      dh.write(d.dir .. "/bad.lua", LINES)
      assert.is_not_nil(d.wait_log("info bad started [^\n]*bad%.lua, listening on tcp://127%.0%.0%.1:%d+", 4000), d.log())
      assert.are.same(0, count_lines(d.log(), "trying again in 4 s"))
      local b = connect(d.port("bad"))
      assert.are.same("bad:works", b.ask("works"))
      assert.are.same("running", status(d).bad[2])
      assert.are.same(0, d.stop())
    end)
  end)

  describe("luanetd ctl", function()
    it("status lists every service; reload NAME reloads it; reload nosuch fails; SIGHUP reloads what changed", function()
      -- beta runs a copy of the script, so that its code can change alone.
      local config = TWO_SERVICES:gsub('(service "beta" { script = )"lines.lua"', '%1"beta.lua"')
      local d = start(config, { ["lines.lua"] = LINES, ["beta.lua"] = LINES })
      local s = status(d)
      local lines = {}
      for l in s.raw:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.same(2, #lines, s.raw)
      for i, name in ipairs({ "alpha", "beta" }) do
        local want = ("^%s\trunning\ttcp://127%%.0%%.0%%.1:%d\tconnections=0\tlua=%%d+KiB\treloads=0\tlast_error=%%-"
                      .. "\trefused=0\tcpu_overruns=0\tmemory=[%%d.]+%%a+\tmemory_limit=%%-\tcpu_limit=1000ms\tmax_connections=%%-$")
          :format(name, d.port(name))
        assert.is_truthy(lines[i]:find(want), lines[i])
      end

      local a = connect(d.port("alpha"))
      assert.are.same("alpha:x", a.ask("x"))
      assert.are.same("connections=1", status(d).alpha[4])

      local code, out, err = d.ctl("reload", "alpha")
      assert.are.same(0, code, err)
      assert.are.same("alpha: reloaded\n", out)
      assert.is_not_nil(d.wait_log("info alpha reloaded [^\n]*lines%.lua %(generation 2%)"), d.log())
      s = status(d)
      assert.are.same("reloads=1", s.alpha[6])
      assert.are.same("reloads=0", s.beta[6])

      code, out, err = d.ctl("reload", "nosuch")
      assert.are.same(1, code)
      assert.are.same("", out)
      assert.is_truthy(err:find("nosuch", 1, true), err)

      code, out, err = d.ctl("reload")
      assert.are.same(0, code, err)
      assert.are.same("alpha: reloaded\nbeta: reloaded\n", out)

      -- SIGHUP reloads what changed: here beta's code, not alpha.
      local f = assert(io.open(d.dir .. "/beta.lua", "w"))
      f:write(LINES, "\n-- changed\n")
      f:close()
      d.kill("HUP")
      assert.is_not_nil(d.wait_log("info beta reloaded [^\n]*%(generation 3%)"), d.log())
      s = status(d)
      assert.are.same("reloads=2", s.alpha[6])
      assert.are.same("reloads=2", s.beta[6])
      assert.are.same("alpha:still", a.ask("still"))
      assert.are.same(0, d.stop())
    end)

    it("stop prints stopping and the daemon exits 0", function()
      local d = start(TWO_SERVICES, { ["lines.lua"] = LINES })
      local code, out, err = d.ctl("stop")
      assert.are.same(0, code, err)
      assert.are.same("stopping\n", out)
      assert.are.same(0, d.proc.wait(5000), d.log())
      assert.is_truthy(d.log():find("\n[^\n]* info luanetd stopped\n$"), d.log())
      -- The daemon removed its socket: nobody answers there now.
      code, out, err = d.ctl("status")
      assert.are.same(2, code)
      assert.is_truthy(err:find("no daemon answers at " .. d.control, 1, true), err)
    end)

    it("exits 2 when no daemon answers at the path", function()
      local dir = dh.tmpdir()
      on_cleanup(function() os.execute("rm -rf " .. helper.quote(dir)) end)
      for _, cmd in ipairs({ { "status" }, { "reload", "x" }, { "stop" } }) do
        local code, out, err = dh.ctl(dir .. "/none.sock", table.unpack(cmd))
        assert.are.same(2, code, err)
        assert.are.same("", out)
        assert.is_truthy(err:find("luanetd ctl: no daemon answers at " .. dir .. "/none.sock", 1, true), err)
      end
    end)
  end)

  describe("reload", function()
    it("keeps open connections on the old code and sends new ones to the new code", function()
      local d = start([[
shutdown_timeout = 1500
service "ver" { script = "ver.lua", listen = "tcp://127.0.0.1:0" }
]], { ["ver.lua"] = LINES })
      local old = connect(d.port("ver"))
      assert.are.same("v1:a", old.ask("a"))

      dh.write(d.dir .. "/ver.lua", lines_version("v2"))
      local code, out, err = d.ctl("reload", "ver")
      assert.are.same(0, code, err)
      assert.are.same("ver: reloaded\n", out)

      -- The old generation got `stopping`: its client heard "bye".
      assert.is_true(old.wait_line("bye"), table.concat(old.lines, "\\n"))
      assert.is_not_nil(d.wait_log("info ver stopping slot ran: said bye to 1 clients"), d.log())

      assert.are.same("v1:b", old.ask("b"))
      local new = connect(d.port("ver"))
      assert.are.same("v2:c", new.ask("c"))
      assert.are.same("v1:d", old.ask("d"))

      local s = status(d)
      assert.are.same("running", s.ver[2])
      assert.are.same("connections=1", s.ver[4])
      assert.are.same("reloads=1", s.ver[6])
      assert.is_not_nil(s.draining.ver, s.raw)
      assert.are.same(1, #s.draining.ver, s.raw)
      assert.is_truthy(s.draining.ver[1]:find("^ver\tdraining\tgeneration=1\tconnections=1\ttasks=%d+\tlua=%d+KiB\tworker=1$"),
        s.draining.ver[1])

      -- The old connection ends: the old generation is closed.
      old.sock:disconnectFromHost()
      local gone = helper.run(3000, function() return status(d).draining.ver == nil end)
      assert.is_true(gone, status(d).raw)
      assert.are.same("v2:e", new.ask("e"))
      assert.are.same(0, d.stop())
    end)

    it("with a syntax error in the new code fails with file:line and keeps the old code", function()
      local d = start([[
shutdown_timeout = 1500
service "ver" { script = "ver.lua", listen = "tcp://127.0.0.1:0" }
]], { ["ver.lua"] = LINES })
      local old = connect(d.port("ver"))
      assert.are.same("v1:a", old.ask("a"))

      dh.write(d.dir .. "/ver.lua", "local service = ...\nlocal x = = 1\n")
      local code, out, err = d.ctl("reload", "ver")
      assert.are.same(1, code, err)
      assert.are.same("", out)
      assert.is_truthy(err:find("^luanetd ctl: ver: " .. pattern_escape(d.dir .. "/ver.lua") .. ":2: "), err)
      assert.is_not_nil(d.wait_log("error ver reload failed[^\n]*ver%.lua:2:"), d.log())

      -- A new code that raises while starting is refused the same way.
      dh.write(d.dir .. "/ver.lua", "local service = ...\n\nerror(\"bad new code\")\n")
      code, out, err = d.ctl("reload", "ver")
      assert.are.same(1, code, err)
      assert.is_truthy(err:find("^luanetd ctl: ver: " .. pattern_escape(d.dir .. "/ver.lua") .. ":3: bad new code"), err)

      assert.are.same("v1:b", old.ask("b"))
      local new = connect(d.port("ver"))
      assert.are.same("v1:c", new.ask("c"))
      local s = status(d)
      assert.are.same("running", s.ver[2])
      assert.are.same("reloads=0", s.ver[6])
      assert.is_nil(s.draining.ver, s.raw)
      assert.are.same({ "v1:a", "v1:b" }, old.lines)   -- no "bye": the old code was not stopped
      assert.are.same(0, d.stop())
    end)
  end)

  describe("graceful shutdown", function()
    it("on SIGTERM stops accepting, emits stopping, lets the open connection finish, exits 0", function()
      local d = start_grace(8000)
      local port = d.port("grace")
      local c = connect(port)
      assert.are.same("grace:hi", c.ask("hi"))

      d.kill("TERM")
      assert.is_not_nil(d.wait_log("info luanetd SIGTERM: stopping; 1 connections open, waiting up to 8000 ms"), d.log())
      assert.is_true(c.wait_line("bye"), table.concat(c.lines, "\\n"))
      assert.is_not_nil(d.wait_log("info grace stopping slot ran: said bye to 1 clients"), d.log())

      -- The open connection can still finish an exchange.
      assert.are.same("grace:last", c.ask("last"))

      -- No new connection is taken: refused.
      local late = client(port)
      on_cleanup(function() late.sock:abort() end)
      helper.run(2000, function() return late.error ~= nil or #late.lines > 0 end)
      assert.are.same("ConnectionRefusedError", late.error,
        ("a connect after SIGTERM: connected=%s, error=%s"):format(tostring(late.connected), tostring(late.error_string)))
      late.sock:abort()

      -- The client closes: the daemon exits 0 well before the time-out.
      local t0 = helper.now_ms()
      c.sock:disconnectFromHost()
      local code = d.proc.wait(5000)
      local took = helper.now_ms() - t0
      assert.are.same(0, code, d.log())
      assert.is_true(took < 3000, ("exited %d ms after the last client closed"):format(took))
      assert.is_truthy(d.log():find("\n[^\n]* info luanetd stopped\n$"), d.log())
      assert.are.same(0, count_lines(d.log(), "shutdown_timeout"))
    end)

    it("closes a connection that never ends at shutdown_timeout and exits 0", function()
      local d = start_grace(1500)
      local c = connect(d.port("grace"))
      assert.are.same("grace:hi", c.ask("hi"))
      local code, took = signal_and_wait(d, "TERM", 6000)
      assert.are.same(0, code, d.log())
      assert.is_true(took >= 1400 and took < 3500, ("exited %d ms after SIGTERM, shutdown_timeout 1500"):format(took))
      assert.is_not_nil(d.log():find("warn luanetd shutdown_timeout (1500 ms) reached: closing 1 connections", 1, true), d.log())
      assert.is_truthy(d.log():find("\n[^\n]* info luanetd stopped\n$"), d.log())
      helper.run(2000, function() return c.closed end)
      assert.is_true(c.closed)
    end)

    it("exits at once with 130 on a second SIGINT while draining", function()
      local d = start_grace(20000)
      local c = connect(d.port("grace"))
      assert.are.same("grace:hi", c.ask("hi"))
      d.kill("INT")
      assert.is_not_nil(d.wait_log("info luanetd SIGINT: stopping; 1 connections open"), d.log())
      assert.is_true(c.wait_line("bye"))
      assert.is_nil(d.proc.exit_code())
      local code, took = signal_and_wait(d, "INT", 5000)
      assert.are.same(130, code, d.log())
      assert.is_true(took < 1500, ("exited %d ms after the second SIGINT"):format(took))
    end)
  end)

  describe("the log", function()
    it("is one TIME LEVEL SERVICE message line per event, and rate-limits a repeated error", function()
      local d = start(TWO_SERVICES, { ["lines.lua"] = LINES })
      local a = connect(d.port("alpha"))
      assert.are.same("storming", a.ask("storm"))
      local where = pattern_escape(("%s/lines.lua:%d: storm error"):format(d.dir, line_of(LINES, "error(\"storm")))
      assert.is_not_nil(d.wait_log("error alpha " .. where), d.log())
      helper.drive(300)   -- the timer has raised its 50 times by now
      local log = d.log()
      local storm_lines = count_lines(log, "error alpha " .. where)
      assert.is_true(storm_lines >= 1 and storm_lines <= 5, ("%d lines for 50 errors:\n%s"):format(storm_lines, log))
      assert.are.same("alpha:after", a.ask("after"))

      -- Other events: a slot error of the other service, a reload, a stop.
      local b = connect(d.port("beta"))
      b.sock:write("boom\n")
      assert.is_not_nil(d.wait_log("error beta [^\n]*boom requested"), d.log())
      local code = d.ctl("reload", "beta")
      assert.are.same(0, code)
      a.sock:abort()
      b.sock:abort()
      assert.are.same(0, d.stop(), d.log())

      log = d.log()
      -- The count of what was held back comes before the lines after it.
      local total = 0
      for n in log:gmatch("error alpha " .. where .. "[^\n]* %(repeated (%d+) more times%)\n") do
        total = total + tonumber(n)
      end
      assert.are.same(50, storm_lines + total, log)
      local repeated_at = log:find("%(repeated %d+ more times%)")
      local boom_at = log:find("error beta [^\n]*boom requested")
      assert.is_true(repeated_at ~= nil and repeated_at < boom_at, log)

      local levels = { debug = true, info = true, warn = true, error = true }
      local n = 0
      for line in log:gmatch("([^\n]*)\n") do
        n = n + 1
        local level, svc = line:match(dh.LOG_LINE)
        assert.is_truthy(level and levels[level] and svc, "not a log line: " .. line)
      end
      assert.is_true(n >= 8, log)
      assert.are.same("\n", log:sub(-1))
    end)

    it("reports the held-back repeat count when the daemon stops right after", function()
      local d = start(TWO_SERVICES, { ["lines.lua"] = LINES })
      local a = connect(d.port("alpha"))
      assert.are.same("storming", a.ask("storm"))
      local where = pattern_escape(("%s/lines.lua:%d: storm error"):format(d.dir, line_of(LINES, "error(\"storm")))
      assert.is_not_nil(d.wait_log("error alpha " .. where), d.log())
      helper.drive(200)
      a.sock:abort()
      assert.are.same(0, d.stop(), d.log())
      local log = d.log()
      local storm_lines = count_lines(log, "error alpha " .. where)
      local repeated = tonumber(log:match("error alpha " .. where .. "[^\n]* %(repeated (%d+) more times%)\n"))
      assert.is_not_nil(repeated, log)
      assert.are.same(50, storm_lines + repeated, log)
      -- Reported before the next line that differs: the "stopping" line.
      local repeated_at = log:find("%(repeated %d+ more times%)")
      local stopping_at = log:find("info luanetd SIGTERM: stopping", 1, true)
      assert.is_true(repeated_at < stopping_at, log)
    end)
  end)
end)
