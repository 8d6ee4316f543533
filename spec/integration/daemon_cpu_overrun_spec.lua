-- cpu_limit and a slot stuck in a long C call (a Lua pattern that
-- backtracks for about a second): the count hook cannot stop C code, so
-- the slot runs past its limit; once it returns, the log names the slot,
-- where it was defined and how long it ran, ctl status counts it, and the
-- service goes on serving.
local helper = require "helper"
local dh = require "support.daemon_helper"

local SLOW = [[
local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local c = server:nextPendingConnection()
  c.readyRead:connect(function()
    local line = c:readLine()
    if line == "slow\n" then
      ("a"):rep(110):find(("a*"):rep(4) .. "b")   -- a long C call
    end
    c:write("done " .. line)
  end)
end)
]]

describe("cpu_limit and a long C call", function()
  it("logs the slot that overran once it returns, counts it in ctl status, and serves on", function()
    local d = dh.start([[
shutdown_timeout = 1000
service "slow" { script = "slow.lua", listen = "tcp://127.0.0.1:0", cpu_limit = 100 }
]], { ["slow.lua"] = SLOW })
    finally(d.cleanup)
    local c = require("support.line_client").connect(d.port("slow"))
    assert.is_true(c.wait_connected())
    local t0 = helper.now_ms()
    assert.are.same("done slow", c.ask("slow", 10000))
    local took = helper.now_ms() - t0
    local ran = d.wait_log("warn slow cpu_limit %(100 ms%) overrun: the slot defined at [^\n]*slow%.lua:5 ran (%d+) ms "
                           .. "in one turn, in a C call that the limit cannot stop")
    assert(ran, d.log())
    assert.is_true(tonumber(ran) > 100 and tonumber(ran) <= took + 50, ("ran %s ms, the reply took %d ms"):format(ran, took))
    assert.are.same("done quick", c.ask("quick"))
    local s = dh.status(d)
    local overruns
    for _, f in ipairs(s.slow) do overruns = overruns or f:match("^cpu_overruns=(%d+)$") end
    assert.are.same("1", overruns, s.raw)
    c.sock:abort()
  end)
end)
