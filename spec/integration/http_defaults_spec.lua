-- The HTTP server's time-outs as shipped: hello_http.lua (net.HttpServer()
-- with no options) and the default config's httpd, each probed at once by
-- a client that never speaks, one that dribbles a head and one that goes
-- idle after a response. Nothing sets a time-out, so what is measured is
-- the documented default: headerTimeout 10 s, keepAliveTimeout 5 s.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local HEADER_TIMEOUT, KEEP_ALIVE_TIMEOUT = 10000, 5000
local SLACK = 1500   -- ms: the loop's and this machine's jitter

-- A whole response with a Content-Length.
local function complete(text)
  local head_end = text:find("\r\n\r\n", 1, true)
  local length = tonumber(text:match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)"))
  return head_end and length and #text >= head_end + 3 + length
end

-- A probe on 127.0.0.1:port: `kind` is "silent", "dribble" or "idle".
-- Records when the server closed it (ms from `t0`, or from the response
-- for "idle") and what it received.
local function probe(port, kind)
  local p = { kind = kind, data = {}, sock = net.TcpSocket() }
  local sock = p.sock
  local t0, dribbler
  sock.readyRead:connect(function()
    local chunk = sock:readAll()
    p.data[#p.data + 1] = chunk
    if kind == "idle" and not p.answered and complete(table.concat(p.data)) then
      p.answered, t0 = true, helper.now_ms()
    end
  end)
  sock.disconnected:connect(function()
    p.closed_after = helper.now_ms() - t0
    if dribbler then dribbler:stop() end
  end)
  sock.connected:connect(function()
    t0 = helper.now_ms()
    if kind == "dribble" then
      sock:write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      dribbler = net.Timer()
      dribbler:setInterval(1000)
      dribbler.timeout:connect(function() sock:write("X-Slow: 1\r\n") end)
      dribbler:start()
    elseif kind == "idle" then
      sock:write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    end
  end)
  sock:connectToHost("127.0.0.1", port)
  function p.received() return table.concat(p.data) end
  return p
end

-- Runs the three probes against every port at once; returns them by port.
local function probe_all(ports)
  local all, by_port = {}, {}
  for _, port in ipairs(ports) do
    by_port[port] = {}
    for _, kind in ipairs{ "silent", "dribble", "idle" } do
      local p = probe(port, kind)
      by_port[port][kind] = p
      all[#all + 1] = p
    end
  end
  helper.run(HEADER_TIMEOUT + SLACK + 2000, function()
    for _, p in ipairs(all) do if not p.closed_after then return false end end
    return true
  end)
  for _, p in ipairs(all) do p.sock:abort() end
  return by_port
end

local function assert_near(expected, got, what)
  assert(got, what .. ": the server never closed the connection")
  assert(got >= expected - 300 and got <= expected + SLACK,
         ("%s: closed after %d ms, expected %d ms"):format(what, got, expected))
end

describe("HTTP time-outs as shipped", function()
  it("hello_http.lua and the default config's httpd close silent, slow and idle clients on time", function()
    local hello, d
    -- busted keeps one finally per it (the last one given): one for both.
    finally(function()
      if d then d.cleanup() end
      if hello then hello.cleanup() end
    end)
    local hello_port
    hello, hello_port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("hello_http.lua")))

    d = dh.start_shipped("httpd")
    local httpd_port = d.port("httpd")

    local got = probe_all{ hello_port, httpd_port }
    for port, name in pairs{ [hello_port] = "hello_http.lua", [httpd_port] = "the default config's httpd" } do
      local p = got[port]
      assert_near(HEADER_TIMEOUT, p.silent.closed_after, name .. ", a client that never sends a byte")
      assert.are.same("", p.silent.received())
      assert_near(HEADER_TIMEOUT, p.dribble.closed_after, name .. ", a head dribbled a line a second")
      assert.matches("^HTTP/1%.1 408 ", p.dribble.received())
      assert.is_true(p.idle.answered == true, name .. ": no response to the idle probe: " .. p.idle.received())
      assert_near(KEEP_ALIVE_TIMEOUT, p.idle.closed_after, name .. ", an idle keep-alive connection")
    end
  end)
end)
