-- spec/integration/daemon_limits_spec.lua: the per-service limits of
-- luanetd's config as an operator meets them: cpu_limit stops a runaway
-- slot so that its neighbours in the same worker go on answering,
-- memory_limit fails an allocation (and closes the connection of a
-- readyRead slot, or of a socket whose unread data grows past it),
-- cpu_limit = false lets long work finish, max_connections makes further
-- clients wait in the backlog (none dropped), ctl status shows the limits
-- and a bad value is a config error. Every peer is an in-process TcpSocket
-- on 127.0.0.1.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local start, on_cleanup = kit.start, kit.on_cleanup
local client, connect, stop = kit.client, kit.connect, kit.stop
local status, line_of, pattern_escape = dh.status, dh.line_of, dh.pattern_escape
local count_lines = dh.count_lines

local line_client = require("support.line_client").connect

-- How long a neighbour may wait for a runaway slot of cpu_limit 50 ms:
-- the sanitizer build is 2-3 times slower.
local ASAN = helper.LUANETD:find("asan", 1, true) ~= nil
local NEIGHBOUR_MS = ASAN and 300 or 100

-- A line service: answers each line with "NAME:line". Some lines are
-- commands, run in the readyRead slot itself: "spin" loops for ever, "trap"
-- loops for ever catching every error, "eat" allocates without end,
-- "busy" works 300 ms of CPU and answers "done". "deep spin" and "deep
-- eat" run the same loops in a function that the slot calls. Each logs
-- what it starts.
local LIMITED = [[
local service = ...
local server = service.listeners[1]

local deep = {}
function deep.spin() local m = 0 while true do m = m + 1 end end
function deep.eat() local u = {} while true do u[#u + 1] = ("y"):rep(100) .. #u end end

server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client.readyRead:connect(function()
    while client:canReadLine() do
      local line = client:readLine():gsub("\r?\n$", "")
      local deep_fn = deep[line:match("^deep (%a+)$") or ""]
      if line == "spin" then
        service.log.info("spinning")
        local n = 0
        while true do n = n + 1 end
      elseif line == "trap" then
        service.log.info("trapping")
        local k = 0
        while true do pcall(function() while true do k = k + 1 end end) end
      elseif line == "eat" then
        service.log.info("eating")
        local t = {}
        while true do t[#t + 1] = ("x"):rep(100) .. #t end
      elseif line == "busy" then
        local t0 = os.clock()
        while os.clock() - t0 < 0.3 do end
        client:write("done\n")
      elseif deep_fn then
        service.log.info(line)
        deep_fn()
      else
        client:write(service.name .. ":" .. line .. "\n")
      end
    end
  end)
end)
]]

-- A service that greets each client with "hello" and never reads what
-- it sends: the socket's read buffer grows.
local DEAF = [[
local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client:write("hello\n")
  client.readyRead:connect(function() end)
end)
]]








-- Sends a line and returns the reply and the ms from sending to it.
local function timed_ask(c, line, ms)
  local t0 = helper.now_ms()
  local reply = c.ask(line, ms)
  return reply, helper.now_ms() - t0
end



-- `runaway` (LIMITED, with `limits` in its block) and "echo"
-- (scripts/echo_server.lua) in one worker.
local function start_pair(runaway, limits)
  return start(([[
workers = 1
shutdown_timeout = 2000
service %q { script = "limited.lua", listen = "tcp://127.0.0.1:0", %s }
service "echo" { script = %q, listen = "tcp://127.0.0.1:0" }
]]):format(runaway, limits, dh.SCRIPTS .. "/echo_server.lua"), { ["limited.lua"] = LIMITED })
end

describe("luanetd service limits", function()
  after_each(function()
    kit.cleanup()
  end)

  describe("cpu_limit", function()
    it("stops a runaway slot, so a neighbour in the same worker waits at most about the limit", function()
      local d = start_pair("spin", "cpu_limit = 50")
      local spin, echo = connect(d.port("spin")), connect(d.port("echo"))
      assert.are.same("spin:hi", spin.ask("hi"))
      assert.are.same("hi", echo.ask("hi"))

      spin.sock:write("spin\n")
      assert.is_not_nil(d.wait_log("info spin spinning\n"), d.log())
      local reply, took = timed_ask(echo, "while spinning", 3000)
      assert.are.same("while spinning", reply)
      assert.is_true(took < NEIGHBOUR_MS, ("echo answered %d ms after the line was sent"):format(took))

      local file = pattern_escape(d.dir .. "/limited.lua")
      local want = ("error spin cpu_limit %%(50 ms%%) exceeded: stopped the slot defined at %s:%d, at %s:%d | stack traceback: ")
        :format(file, line_of(LIMITED, "client.readyRead:connect(function()"), file, line_of(LIMITED, "while true do n = n + 1 end"))
      assert.is_not_nil(d.wait_log(want), d.log())
      assert.are.same(1, count_lines(d.log(), "cpu_limit (50 ms) exceeded", true), d.log())
      assert.are.same(0, count_lines(d.log(), "error echo "), d.log())

      -- The connection stays open, with no reply; the service serves a new one.
      helper.drive(200)
      assert.is_false(spin.closed)
      assert.are.same({ "spin:hi" }, spin.lines)
      local again = connect(d.port("spin"))
      assert.are.same("spin:after", again.ask("after"))
      assert.are.same("after", echo.ask("after"))
      local s = status(d)
      assert.are.same("running", s.spin[2])
      assert.is_truthy(s.spin[7]:find("^last_error=[^\t]*cpu_limit %(50 ms%) exceeded"), s.raw)
      assert.are.same(0, stop(d), d.log())
    end)

    it("names the slot and the line of the loop when the loop is in a function the slot called", function()
      local d = start_pair("spin", "cpu_limit = 50")
      local spin, echo = connect(d.port("spin")), connect(d.port("echo"))
      spin.sock:write("deep spin\n")
      assert.is_not_nil(d.wait_log("info spin deep spin\n"), d.log())
      local reply, took = timed_ask(echo, "while spinning", 3000)
      assert.are.same("while spinning", reply)
      assert.is_true(took < NEIGHBOUR_MS, ("echo answered %d ms after the line was sent"):format(took))
      local file = d.dir .. "/limited.lua"
      local line = d.wait_log("\n[^\n]* (error spin [^\n]*cpu_limit[^\n]*)\n")
      assert.is_not_nil(line, d.log())
      local want = ("error spin cpu_limit (50 ms) exceeded: stopped the slot defined at %s:%d, at %s:%d | stack traceback: | ")
        :format(file, line_of(LIMITED, "client.readyRead:connect(function()"), file, line_of(LIMITED, "function deep.spin"))
      assert.are.same(want, line:sub(1, #want))
      assert.are.same("spin:after", connect(d.port("spin")).ask("after"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("stops a runaway slot that catches every error with pcall", function()
      local d = start_pair("trap", "cpu_limit = 50")
      local trap, echo = connect(d.port("trap")), connect(d.port("echo"))
      assert.are.same("trap:hi", trap.ask("hi"))

      trap.sock:write("trap\n")
      assert.is_not_nil(d.wait_log("info trap trapping\n"), d.log())
      local reply, took = timed_ask(echo, "while trapping", 1500)
      assert.are.same("while trapping", reply, "the worker is still running the slot after 1.5 s")
      assert.is_true(took < NEIGHBOUR_MS, ("echo answered %d ms after the line was sent"):format(took))
      assert.is_not_nil(d.wait_log("error trap cpu_limit %(50 ms%) exceeded"), d.log())
      local again = connect(d.port("trap"))
      assert.are.same("trap:after", again.ask("after"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("= false lets a slot run 300 ms of work to its end, where cpu_limit = 100 stops it", function()
      local d = start([[
workers = 1
shutdown_timeout = 2000
service "free" { script = "limited.lua", listen = "tcp://127.0.0.1:0", cpu_limit = false }
service "capped" { script = "limited.lua", listen = "tcp://127.0.0.1:0", cpu_limit = 100 }
]], { ["limited.lua"] = LIMITED })
      local free = connect(d.port("free"))
      local reply, took = timed_ask(free, "busy", 5000)
      assert.are.same("done", reply)
      assert.is_true(took >= 250, ("the 300 ms of work answered after %d ms"):format(took))
      assert.are.same("free:next", free.ask("next"))
      assert.are.same(0, count_lines(d.log(), "cpu_limit", true), d.log())

      local capped = connect(d.port("capped"))
      capped.sock:write("busy\n")
      assert.is_not_nil(d.wait_log("error capped cpu_limit %(100 ms%) exceeded: stopped the slot defined at "), d.log())
      helper.drive(300)
      assert.are.same({}, capped.lines)
      assert.is_false(capped.closed)
      assert.are.same(0, count_lines(d.log(), "error free ", true), d.log())
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("memory_limit", function()
    it("fails a slot that allocates without end and closes its connection; the neighbour and the service go on", function()
      local d = start_pair("eat", 'memory_limit = "2M"')
      local eat, echo = connect(d.port("eat")), connect(d.port("echo"))
      local other = connect(d.port("eat"))
      assert.are.same("eat:hi", eat.ask("hi"))
      assert.are.same("eat:hi", other.ask("hi"))

      eat.sock:write("eat\n")
      local reply, took = timed_ask(echo, "while eating", 3000)
      assert.are.same("while eating", reply)
      assert.is_true(took < NEIGHBOUR_MS, ("echo answered %d ms after the line was sent"):format(took))

      assert.is_true(helper.run(3000, function() return eat.closed end), "the eating connection is still open")
      assert.are.same({ "eat:hi" }, eat.lines)
      assert.is_not_nil(d.wait_log("info eat eating\n"), d.log())
      local file = pattern_escape(d.dir .. "/limited.lua")
      assert.is_not_nil(d.wait_log(("error eat not enough memory | stack traceback: | %s:%d: in "):format(
        file, line_of(LIMITED, 'while true do t[#t + 1]'))), d.log())
      assert.is_not_nil(d.wait_log("error eat memory_limit reached in a readyRead slot: closing its connection\n"), d.log())

      -- The other connection and new ones are served; it can happen again.
      assert.are.same("eat:still", other.ask("still"), d.log())
      local again = connect(d.port("eat"))
      assert.are.same("eat:after", again.ask("after"))
      again.sock:write("eat\n")
      assert.is_true(helper.run(3000, function() return again.closed end), "the second eating connection is still open")
      assert.are.same("eat:last", other.ask("last"))
      assert.are.same("last", echo.ask("last"))
      assert.are.same(0, count_lines(d.log(), "error echo "), d.log())
      assert.are.same(0, stop(d), d.log())
    end)

    it("gives the memory back after a slot that allocated in a function it called: the service serves on", function()
      local d = start_pair("eat", 'memory_limit = "2M"')
      local eat, other = connect(d.port("eat")), connect(d.port("eat"))
      assert.are.same("eat:hi", other.ask("hi"))
      eat.sock:write("deep eat\n")
      assert.is_true(helper.run(3000, function() return eat.closed end), "the eating connection is still open")
      assert.is_not_nil(d.wait_log(("error eat not enough memory | stack traceback: | %s:%d: in "):format(
        pattern_escape(d.dir .. "/limited.lua"), line_of(LIMITED, "function deep.eat"))), d.log())
      assert.is_not_nil(d.wait_log("error eat memory_limit reached in a readyRead slot: closing its connection\n"), d.log())

      local reply = other.ask("still", 2000)
      local again = connect(d.port("eat"))
      local reply2 = again.ask("after", 2000)
      local s = status(d)
      assert.are.same("eat:still", reply, d.log())
      assert.are.same("eat:after", reply2, d.log())
      assert.are.same(1, count_lines(d.log(), "not enough memory", true), d.log())
      -- What the slot allocated is garbage now: the state is back under 1 MiB.
      local kib = tonumber(s.eat[5]:match("^lua=(%d+)KiB$"))
      assert.is_true(kib ~= nil and kib < 1024, s.raw)
      assert.are.same(0, stop(d), d.log())
    end)

    it("closes a connection whose unread data grows past it; the others are fine", function()
      local d = start(([[
workers = 1
shutdown_timeout = 2000
service "deaf" { script = "deaf.lua", listen = "tcp://127.0.0.1:0", memory_limit = "1M" }
service "echo" { script = %q, listen = "tcp://127.0.0.1:0" }
]]):format(dh.SCRIPTS .. "/echo_server.lua"), { ["deaf.lua"] = DEAF })
      local quiet = connect(d.port("deaf"))
      assert.is_true(quiet.wait_line("hello"))
      quiet.sock:write("a little\n")
      local hog = connect(d.port("deaf"))
      assert.is_true(hog.wait_line("hello"))
      local echo = connect(d.port("echo"))

      -- 4 MiB that the service never reads.
      local chunk = ("x"):rep(64 * 1024)
      for _ = 1, 64 do hog.sock:write(chunk) end
      assert.is_true(helper.run(8000, function() return hog.closed or hog.error ~= nil end),
        "the connection holding 4 MiB of unread data is still open")
      assert.is_not_nil(d.wait_log("error deaf memory_limit reached holding %d+ bytes read: closing the connection\n"), d.log())

      helper.drive(100)
      assert.is_false(quiet.closed)
      assert.is_nil(quiet.error)
      local fresh = connect(d.port("deaf"))
      assert.is_true(fresh.wait_line("hello"))
      assert.are.same("fine", echo.ask("fine"))
      assert.are.same("running", status(d).deaf[2])
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("max_connections = 2", function()
    it("serves 2 clients at once, the others wait in the backlog and are served in turn: none is dropped", function()
      local d = start([[
workers = 1
shutdown_timeout = 2000
service "few" { script = "limited.lua", listen = "tcp://127.0.0.1:0", max_connections = 2 }
]], { ["limited.lua"] = LIMITED })
      local port = d.port("few")
      local N = 5
      local cs = {}
      for i = 1, N do cs[i] = client(port) end
      assert.is_true(helper.run(5000, function()
        for _, c in ipairs(cs) do if not c.connected then return false end end
        return true
      end), "not every client connected at TCP level")
      for i, c in ipairs(cs) do c.sock:write(("hi %d\n"):format(i)) end

      local function served()
        local list = {}
        for i, c in ipairs(cs) do
          if #c.lines > 0 then list[#list + 1] = i end
        end
        return list
      end
      local left = {}   -- the clients this test closed
      local function errors()
        local list = {}
        for i, c in ipairs(cs) do
          if c.error or (c.closed and not left[i]) then
            list[#list + 1] = ("%d: %s"):format(i, tostring(c.error_string or "closed"))
          end
        end
        return list
      end

      helper.run(3000, function() return #served() >= 2 end)
      helper.drive(300)
      local first = served()
      assert.are.same(2, #first, ("served: %s"):format(table.concat(first, ",")))
      local s = status(d)
      assert.are.same("connections=2", s.few[4], s.raw)
      assert.are.same("max_connections=2", s.few[#s.few], s.raw)

      -- One leaves: exactly one more is served.
      cs[first[1]].sock:disconnectFromHost()
      left[first[1]] = true
      helper.run(3000, function() return #served() >= 3 end)
      helper.drive(300)
      local second = served()
      assert.are.same(3, #second, ("served: %s"):format(table.concat(second, ",")))

      -- Each served client leaves in turn until all 5 got their answer.
      left[first[1]] = true
      helper.run(10000, function()
        for _, i in ipairs(served()) do
          if not left[i] then
            left[i] = true
            cs[i].sock:disconnectFromHost()
          end
        end
        return #served() == N
      end)
      assert.are.same(N, #served(), ("served: %s"):format(table.concat(served(), ",")))
      for i, c in ipairs(cs) do
        assert.are.same({ ("few:hi %d"):format(i) }, c.lines)
      end
      assert.are.same({}, errors())
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("in ctl status and the config", function()
    it("status shows each service's memory, memory_limit, cpu_limit and max_connections", function()
      local d = start([[
workers = 1
service "plain" { script = "limited.lua", listen = "tcp://127.0.0.1:0" }
service "tight" { script = "limited.lua", listen = "tcp://127.0.0.1:0",
                  memory_limit = "2M", cpu_limit = 50, max_connections = 2 }
service "bytes" { script = "limited.lua", listen = "tcp://127.0.0.1:0",
                  memory_limit = 1048576, cpu_limit = false }
service "kilo" { script = "limited.lua", listen = "tcp://127.0.0.1:0", memory_limit = "512K" }
]], { ["limited.lua"] = LIMITED })
      local s = status(d)
      local function tail(name)
        local f = assert(s[name], s.raw)
        return table.concat(f, "\t", 10)
      end
      local MEM = "memory=[%d.]+[KMG]?i?B"
      assert.is_truthy(tail("plain"):find("^" .. MEM .. "\tmemory_limit=%-\tcpu_limit=1000ms\tmax_connections=%-$"), s.raw)
      assert.is_truthy(tail("tight"):find("^" .. MEM .. "\tmemory_limit=2%.0MiB\tcpu_limit=50ms\tmax_connections=2$"), s.raw)
      assert.is_truthy(tail("bytes"):find("^" .. MEM .. "\tmemory_limit=1%.0MiB\tcpu_limit=%-\tmax_connections=%-$"), s.raw)
      assert.is_truthy(tail("kilo"):find("^" .. MEM .. "\tmemory_limit=512%.0KiB\tcpu_limit=1000ms\tmax_connections=%-$"), s.raw)
      assert.are.same(0, stop(d), d.log())
    end)

    -- The config names its control socket on line 1, so that the lines in
    -- the messages are those of the text as written.
    local CASES = {
      { 'memory_limit = "lots",', 'memory_limit must be a size of at least 64K, like "64M", "512K" or a number of bytes' },
      { 'memory_limit = "32K",', 'memory_limit must be a size of at least 64K, like "64M", "512K" or a number of bytes' },
      { "cpu_limit = -1,", "cpu_limit must be milliseconds (a whole number >= 1) or false" },
      { "cpu_limit = 0.5,", "cpu_limit must be milliseconds (a whole number >= 1) or false" },
      { "max_connections = 0,", "max_connections must be a whole number >= 1" },
    }
    for _, case in ipairs(CASES) do
      it(("refuses %s with FILE:LINE and exit 2"):format(case[1]:sub(1, -2)), function()
        local code, out, err, conf = dh.run(([[
control = "ctl.sock"
service "x" {
  script = "limited.lua",
  listen = "tcp://127.0.0.1:0",
  %s
}
]]):format(case[1]), { ["limited.lua"] = LIMITED })
        assert.are.same(2, code, err)
        assert.are.same("", out)
        assert.are.same(('%s:5: service "x": %s\n'):format(conf, case[2]), err)
      end)
    end
  end)
end)
