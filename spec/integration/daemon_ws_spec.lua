-- spec/integration/daemon_ws_spec.lua: scripts/ws_echo.lua as a service of
-- `luanetd -c FILE`, on a config listener: a hot reload leaves open
-- WebSockets on the old code, which goes on echoing and closes them with
-- 1001 shortly before its drain time (shutdown_timeout) is up, while new
-- WebSockets reach the new code. The clients are in-process net.WebSockets.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local net = helper.net

-- A WebSocket to port that records what it receives and how it ended.
local function client(port)
  local ws = net.WebSocket()
  local c = { ws = ws, got = {} }
  ws.textMessageReceived:connect(function(m) c.got[#c.got + 1] = m end)
  ws.disconnected:connect(function() c.closed = { ws:closeCode(), ws:closeReason(), helper.now_ms() } end)
  ws:open(("ws://127.0.0.1:%d/"):format(port))
  assert(helper.run(helper.TIMEOUT, function() return ws:state() == "ConnectedState" end), "not connected")
  kit.on_cleanup(function() ws:abort() end)
  return c
end

local function echoed(c, text)
  local n = #c.got
  c.ws:sendTextMessage(text)
  return helper.run(helper.TIMEOUT, function() return #c.got > n end) and c.got[#c.got] == text
end

describe("ws_echo.lua under the daemon", function()
  after_each(kit.cleanup)

  it("keeps a WebSocket on the old code through a reload, and closes it with 1001 before the drain ends", function()
    local d = kit.start([[
shutdown_timeout = 2000
service "ws" { script = "ws_echo.lua", listen = "tcp://127.0.0.1:0" }
]], { ["ws_echo.lua"] = assert(helper.slurp(dh.SCRIPTS .. "/ws_echo.lua")) })
    local port = d.port("ws")
    local old = client(port)
    assert.is_true(echoed(old, "before"))

    local code, out, err = d.ctl("reload", "ws")
    assert.are.same(0, code, err)
    assert.are.same("ws: reloaded\n", out)
    local reloaded = helper.now_ms()
    assert.is_true(echoed(old, "during the drain"))
    local new = client(port)
    assert.is_true(echoed(new, "to the new code"))

    assert.is_true(helper.run(4000, function() return old.closed ~= nil end), "the old WebSocket was not closed")
    assert.are.same({ 1001, "server going away" }, { old.closed[1], old.closed[2] })
    local after = old.closed[3] - reloaded
    assert.is_true(after >= 1500 and after < 2000, ("closed %d ms after the reload"):format(after))
    assert.is_nil(new.closed)
    assert.is_true(echoed(new, "still there"))
  end)
end)
