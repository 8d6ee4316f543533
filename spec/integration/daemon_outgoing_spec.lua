-- A service's own connections out (a Redis subscriber, an HTTP client's
-- keep-alive pool) do not hold up a drain: SIGTERM ends a daemon whose
-- only open sockets are ones its service made, without waiting for
-- shutdown_timeout; a peer's connection still does hold it up.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local net = helper.net

-- Connects out to `port` (option) and keeps the connection.
local CLIENT = [[
local net = require "luanet"
local cli = require "luanet.cli"
local function main(service)
  local opts = cli.options("out.lua", { host = "127.0.0.1", port = 0, to = 0 }, service)
  local server = assert(cli.listen(opts))
  server.newConnection:connect(function() server:nextPendingConnection() end)
  local out = net.TcpSocket()
  out:connectToHost("127.0.0.1", opts.to)
  service.state.out = nil
  _G.keep = out
end
cli.run(main, ...)
]]

describe("a draining service", function()
  after_each(kit.cleanup)

  local function start(to)
    return kit.start(([[
shutdown_timeout = 10000
service "out" { script = "out.lua", listen = "tcp://127.0.0.1:0", options = { to = %d } }
]]):format(to), { ["out.lua"] = CLIENT })
  end

  it("is not held up by its own connections out", function()
    local server, port = helper.listen()
    local accepted = {}
    server.newConnection:connect(function() accepted[#accepted + 1] = server:nextPendingConnection() end)
    local d = start(port)
    assert.is_true(helper.run(helper.TIMEOUT, function() return #accepted == 1 end), "the service did not connect out")
    local t0 = helper.now_ms()
    assert.are.same(0, d.stop())
    local took = helper.now_ms() - t0
    assert.is_true(took < 3000, ("SIGTERM took %d ms"):format(took))
    assert.is_nil(d.log():find("shutdown_timeout", 1, true), d.log())
    server:close()
  end)

  it("is still held up by a peer's connection, until shutdown_timeout", function()
    local server, port = helper.listen()
    server.newConnection:connect(function() server:nextPendingConnection() end)
    local d = start(port)
    local peer = net.TcpSocket()
    peer:connectToHost("127.0.0.1", d.port("out"))
    assert.is_true(peer:waitForConnected(helper.TIMEOUT))
    helper.drive(100)
    d.kill("TERM")
    assert.truthy(d.wait_log("stopping; 1 connections open"), d.log())
    helper.drive(500)
    assert.is_nil(d.proc.wait(10), "it ended with a peer still connected")
    peer:abort()
    assert.are.same(0, d.proc.wait(helper.TIMEOUT))
    server:close()
  end)
end)
