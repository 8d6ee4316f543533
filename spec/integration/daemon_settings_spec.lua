-- The daemon's global settings reach what they govern: `resolver` the
-- name lookups of every service, `log.level` the log, `control` the
-- control socket (mode 0600). Real luanetd, real dnsmasq.
local helper = require "helper"
local dh = require "support.daemon_helper"
local dns_helper = require "support.dns_helper"
local net = helper.net

-- Answers each line (a host name) with the addresses HostInfo finds, or
-- with the error; a lookup is a task's wait, so the service keeps serving.
local RESOLVER = [[
local net = require "luanet"
local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local c = server:nextPendingConnection()
  c.readyRead:connect(function()
    while c:canReadLine() do
      local name = c:readLine():gsub("%s+$", "")
      local info = net.HostInfo.fromName(name)
      local list = {}
      for i, a in ipairs(info:addresses()) do list[i] = a:toString() end
      table.sort(list)
      c:write((info:error() == "NoError" and table.concat(list, " ") or info:errorString()) .. "\n")
    end
  end)
end)
]]

local function ask(port, line)
  local sock = net.TcpSocket()
  sock:connectToHost("127.0.0.1", port)
  assert.is_true(sock:waitForConnected(2000))
  sock:write(line .. "\n")
  local got = ""
  helper.run(5000, function()
    got = got .. sock:readAll()
    return got:find("\n") ~= nil
  end)
  sock:abort()
  return got
end

describe("resolver in the config", function()
  it("points every service's lookups at the configured server", function()
    local dns, server = dns_helper.start({ "svc.test,127.0.0.42,::42,60" })
    local d
    -- busted keeps one finally per it (the last one given): one for both.
    finally(function()
      if d then d.cleanup() end
      dns.cleanup()
    end)
    d = dh.start(([[
resolver = { servers = { %q }, timeout = 500, tries = 1 }
service "resolve" { script = "resolve.lua", listen = "tcp://127.0.0.1:0" }
]]):format(server), { ["resolve.lua"] = RESOLVER })
    assert.are.same("127.0.0.42 ::42\n", ask(d.port("resolve"), "svc.test"))
    assert.are.same("Host not found\n", ask(d.port("resolve"), "nope.test"))
  end)

  it("gives up after its time-out on a server that never answers", function()
    local silent, server = dns_helper.silent()
    local d
    finally(function()
      if d then d.cleanup() end
      silent.cleanup()
    end)
    d = dh.start(([[
resolver = { servers = { %q }, timeout = 300, tries = 1 }
service "resolve" { script = "resolve.lua", listen = "tcp://127.0.0.1:0" }
]]):format(server), { ["resolve.lua"] = RESOLVER })
    local t0 = helper.now_ms()
    assert.are.same("Host lookup timed out\n", ask(d.port("resolve"), "silent.test"))
    local took = helper.now_ms() - t0
    assert.is_true(took >= 250 and took < 3000, ("took %d ms"):format(took))
  end)
end)

describe("log.level in the config", function()
  it("drops the lines below it", function()
    local d = dh.start([[
log = { level = "warn" }
service "quiet" { script = "quiet.lua", listen = "tcp://127.0.0.1:0" }
]], { ["quiet.lua"] = [[
local service = ...
service.log.info("an info line")
service.log.warn("a warning line")
]] }, { wait = {} })
    finally(d.cleanup)
    assert.is_not_nil(d.wait_log("warn quiet a warning line"), d.log())
    assert.are.same(0, d.stop())
    local log = d.log()
    assert.is_nil(log:find("an info line", 1, true), log)
    assert.is_nil(log:find(" info ", 1, true), log)
  end)
end)

describe("control in the config", function()
  it("makes the control socket there, readable and writable by its owner only", function()
    local d = dh.start([[
service "echo" { script = "echo.lua", listen = "tcp://127.0.0.1:0" }
]], { ["echo.lua"] = "local s = ...; s.listeners[1].newConnection:connect(function() end)" })
    finally(d.cleanup)
    local code, out = helper.execute("stat -c %a:%F " .. helper.quote(d.control))
    assert.are.same({ 0, "600:socket\n" }, { code, out })
    assert.are.same(0, d.stop())
    assert.is_nil(io.open(d.control), "the socket file outlived the daemon")
  end)
end)
