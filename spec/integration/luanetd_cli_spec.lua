-- spec/integration/luanetd_cli_spec.lua: `luanetd script.lua [args...]` as a
-- user runs it: arguments as lua5.4 gives them, exit codes, errors. And
-- the scripts of scripts/ run as daemon services: a script that cannot
-- start says why through the daemon's log, not on a raw stderr.
local helper = require "helper"
local dh = require "support.daemon_helper"

local function script(body)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(body)
  f:close()
  return path
end

local function run(path, args)
  return helper.execute(("%s %s %s"):format(helper.LUANETD, path, args or ""))
end

describe("luanetd script.lua", function()
  it("passes the arguments as ... and in arg, as lua5.4 does", function()
    local path = script([[
local a, b = ...
print(select("#", ...), a, b)
print(arg[0]:match("[^/]+$"), arg[1], arg[2], arg[-1]:match("luanetd$") ~= nil)
]])
    finally(function() os.remove(path) end)
    local code, out = run(path, "one 'two words'")
    assert.are.same(0, code)
    assert.are.same(("2\tone\ttwo words\n%s\tone\ttwo words\ttrue\n"):format(path:match("[^/]+$")), out)
  end)

  it("exits with net.quit's code, even with sockets open", function()
    local path = script([[
local net = require "luanet"
local server = net.TcpServer()
assert(server:listen("127.0.0.1", 0))
net.Timer.singleShot(20, function() net.quit(7) end)
]])
    finally(function() os.remove(path) end)
    local code = run(path)
    assert.are.same(7, code)
  end)

  it("keeps running while a timer is active and exits 0 after it", function()
    local path = script([[
local net = require "luanet"
local t = net.Timer()
local n = 0
t.timeout:connect(function() n = n + 1; if n == 3 then t:stop(); print("ticks", n) end end)
t:start(10)
]])
    finally(function() os.remove(path) end)
    local code, out = run(path)
    assert.are.same(0, code)
    assert.are.same("ticks\t3\n", out)
  end)

  it("reports a syntax error with file and line and exits 1", function()
    local path = script("local x = = 1\n")
    finally(function() os.remove(path) end)
    local code, out, err = run(path)
    assert.are.same(1, code)
    assert.are.same("", out)
    assert.is_truthy(err:find(path .. ":1:", 1, true), err)
  end)

  it("exits 1 with the error when a task's uncaught error ends the main chunk later", function()
    local path = script([[
local net = require "luanet"
net.sleep(10)
local t = nil
t.field = 1
]])
    finally(function() os.remove(path) end)
    local code, _, err = run(path)
    assert.are.same(1, code)
    assert.is_truthy(err:find("attempt to index a nil value", 1, true), err)
    assert.is_truthy(err:find("stack traceback", 1, true), err)
  end)

  it("logs an error in a slot and keeps serving", function()
    local path = script([[
local net = require "luanet"
net.Timer.singleShot(5, function() error("slot failed") end)
net.Timer.singleShot(30, function() print("still running") end)
]])
    finally(function() os.remove(path) end)
    local code, out, err = run(path)
    assert.are.same(0, code)
    assert.are.same("still running\n", out)
    assert.is_truthy(err:find("slot failed", 1, true), err)
  end)

  it("reports a missing script and exits 1", function()
    local code, _, err = run("/nonexistent/script.lua")
    assert.are.same(1, code)
    assert.is_truthy(err:find("cannot open /nonexistent/script.lua", 1, true), err)
  end)
end)

describe("a script of scripts/ that cannot start as a daemon service", function()
  -- The lines of the daemon's stderr that are not its log lines
  -- ("TIME LEVEL SERVICE message").
  local function raw_lines(log)
    local raw = {}
    for line in log:gmatch("[^\n]+") do
      if not line:match(dh.LOG_LINE) then raw[#raw + 1] = line end
    end
    return raw
  end

  -- Runs a copy of scripts/SCRIPT (the spec does not run the live file) as
  -- service "u" on `listen`; the message its first failure logged, and
  -- the whole log.
  local function first_failure(script, listen, options)
    local config = ('service "u" { script = %q, listen = %q, options = %s }\n'):format(script, listen, options or "{}")
    local d = dh.start(config, { [script] = assert(helper.slurp("scripts/" .. script)) }, { wait = {} })
    finally(d.cleanup)
    local message = d.wait_log("error u failed to start: ([^\n]*); trying again in 1 s\n")
    return message, d.log()
  end

  it("logs fortune_server.lua's own message for a udp:// listener, and nothing raw on stderr", function()
    local message, log = first_failure("fortune_server.lua", "udp://127.0.0.1:0")
    assert.are.same("service u needs a tcp:// or unix: listener", message, log)
    assert.are.same({}, raw_lines(log))
  end)

  it("logs httpd.lua's own message for a root that is not a directory, and nothing raw on stderr", function()
    local message, log = first_failure("httpd.lua", "tcp://127.0.0.1:0", '{ root = "/nonexistent/www" }')
    assert.are.same("not a directory: /nonexistent/www", message, log)
    assert.are.same({}, raw_lines(log))
  end)
end)
