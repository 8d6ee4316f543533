-- HTTP/2 in net.HttpServer (h2c with prior knowledge), against real peers:
-- curl --http2-prior-knowledge, nghttp -nv, h2load, and Python's h2
-- (spec/support/h2_peer.py) driving frames for the edge cases and the
-- attacks with names. The same handler serves HTTP/1.1 on the same port.
local helper = require "helper"
local net = helper.net
local dh = require "support.daemon_helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

-- /slow?i=K answers after 200 - 10 K ms (so that later requests finish
-- first); /echo-length reads the body (streamed with --stream); /big is
-- 1 MiB; /stop calls closeIdle; anything else says hello and the version.
local SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0, stream = false, headerTimeout = "10000",
                                     sendTimeout = "60000" }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer{ streamBody = opts.stream and true or false,
  headerTimeout = tonumber(opts.headerTimeout), sendTimeout = tonumber(opts.sendTimeout) }
server.request:connect(function(req, res)
  if req.path == "/slow" then
    local i = tonumber(req.query:match("i=(%d+)"))
    net.sleep(math.max(0, 200 - i * 10))
    res:finish("slow " .. i)
  elseif req.path == "/echo-length" then
    local body = req.body
    if opts.stream then
      local parts = {}
      while true do local p = req:read() if not p then break end parts[#parts + 1] = p end
      body = table.concat(parts)
    end
    res:finish(req.method .. " " .. #body .. " " .. req.version)
  elseif req.path == "/big" then
    res:finish(("b"):rep(1 << 20))
  elseif req.path == "/stop" then
    server:closeIdle()
    res:finish("stopping")
  else
    res:setHeader("Content-Type", "text/plain")
    res:setHeader("Connection", "keep-alive")   -- HTTP/1.1's: left out of HTTP/2's HEADERS
    res:finish("hello " .. req.httpVersion)
  end
end)
server:serve(tcp)
]]

local function start(...)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(SERVER)
  f:close()
  local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, path, ...))
  return proc, port, function()
    proc.cleanup()
    os.remove(path)
  end
end

local function peer(port, scenario, arg)
  local code, out, err = helper.execute(("%s spec/support/h2_peer.py %d %s %s"):format(PYTHON, port, scenario,
    arg or ""), 30000)
  assert(code == 0, ("h2_peer %s: %s%s"):format(scenario, out, err))
  return net.json.decode(out)
end

local function curl(...)
  local argv = { "curl", "-sS", "--max-time", "10", ... }
  return helper.execute(helper.quote_all(table.unpack(argv)))
end

describe("HTTP/2 (h2c, prior knowledge)", function()
  local proc, port, stop
  setup(function() proc, port, stop = start() end)
  teardown(function() stop() end)

  it("answers curl with the handler's response; req.httpVersion is \"2\"", function()
    local code, out, err = curl("--http2-prior-knowledge", "-i", ("http://127.0.0.1:%d/"):format(port))
    assert.are.same(0, code, err)
    assert.truthy(out:match("^HTTP/2 200 ?\r\n"), out)
    assert.truthy(out:match("\r\ncontent%-type: text/plain\r\n"), out)
    assert.truthy(out:match("\r\ncontent%-length: 7\r\n"), out)
    assert.is_nil(out:lower():match("\r\nconnection:"), out)
    assert.truthy(out:match("\r\n\r\nhello 2$"), out)
  end)

  it("answers 501 to a method it does not serve, as over HTTP/1.1, and goes on", function()
    local code, out, err = curl("--http2-prior-knowledge", "-i", "-X", "FOO", ("http://127.0.0.1:%d/"):format(port))
    assert.are.same(0, code, err)
    assert.truthy(out:match("^HTTP/2 501 ?\r\n"), out)
    code, out = curl("--http2-prior-knowledge", ("http://127.0.0.1:%d/"):format(port))
    assert.are.same({ 0, "hello 2" }, { code, out })
  end)

  it("serves HTTP/1.1 on the same port", function()
    local code, out = curl("-i", ("http://127.0.0.1:%d/"):format(port))
    assert.are.same(0, code)
    assert.truthy(out:match("^HTTP/1.1 200 OK\r\n"), out)
    assert.truthy(out:match("hello 1.1$"), out)
  end)

  it("answers nghttp, whose frames say SETTINGS first and END_STREAM on the data", function()
    local code, out = helper.execute(helper.quote_all("nghttp", "-nv", ("http://127.0.0.1:%d/"):format(port)))
    assert.are.same(0, code, out)
    assert.truthy(out:match("recv SETTINGS frame"), out)
    assert.truthy(out:match("SETTINGS_MAX_CONCURRENT_STREAMS%(0x03%):100"), out)
    assert.truthy(out:match("recv %(stream_id=13%) :status: 200"), out)
    assert.truthy(out:match("recv DATA frame <length=7, flags=0x01, stream_id=13>"), out)
  end)

  it("runs concurrent streams' handlers concurrently", function()
    local r = peer(port, "concurrent", 10)
    assert.are.same(10, r.finished)
    assert.are.same({ 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 }, r.order)   -- the later asked, the sooner done
    for i = 0, 9 do assert.are.same("slow " .. i, r.bodies[i + 1]) end
  end)

  it("serves 100 concurrent streams, SETTINGS_MAX_CONCURRENT_STREAMS's default, on one connection", function()
    local r = peer(port, "concurrent", 100)
    assert.are.same(100, r.finished)
    for i = 0, 99 do assert.are.same("slow " .. i, r.bodies[i + 1]) end
  end)

  it("takes a body past the initial window: req.body is whole", function()
    assert.are.same({ status = 200, body = "POST 200000 2" }, peer(port, "post", 200000))
  end)

  it("answers 413 to a body past maxBody, declared or not", function()
    assert.are.same({ status = 413, body = "413 Content Too Large\n" }, peer(port, "post", 3000000))
    assert.are.same({ status = 413, body = "413 Content Too Large\n" }, peer(port, "post-unsized", 3000000))
    assert.are.same({ status = 200, body = "POST 500000 2" }, peer(port, "post-unsized", 500000))
  end)

  it("holds a slow reader's stream and serves its other streams", function()
    local r = peer(port, "slow-reader")
    assert.is_true(r.b_ended)
    assert.are.same("hello 2", r.b_body)
    assert.are.same(200, r.a_status)
    assert.is_false(r.a_ended)
    assert.are.same(1, r.a_bytes)   -- its window: one byte
  end)

  it("goes on after a stream is reset in the middle of its body", function()
    assert.are.same({ status = 200, body = "hello 2", closed = false }, peer(port, "reset-mid-body"))
  end)

  it("answers 431 to a header list past maxHeader, and keeps the connection", function()
    local r = peer(port, "big-headers", 200)
    assert.are.same(431, r.status)
    assert.is_false(r.closed)
  end)

  it("closes a connection whose preface is wrong", function()
    assert.is_true(peer(port, "bad-preface").closed)
  end)

  it("cuts off a client that opens and resets streams without end (rapid reset)", function()
    local r = peer(port, "rapid-reset", 3000)
    assert.is_true(r.closed)
    assert.is_not_nil(r.goaway)
  end)

  it("cuts off a CONTINUATION flood", function()
    assert.is_true(peer(port, "continuation", 2000).closed)
  end)

  it("cuts off a PING flood that reads no answer", function()
    assert.is_true(peer(port, "ping-flood", 200000).closed)
  end)

  -- ENHANCE_YOUR_CALM (11): the glitch budget, 1000 at once, 100 a second
  it("cuts off a client whose frames make the server reset stream after stream (MadeYouReset)", function()
    local r = peer(port, "made-you-reset", 3000)
    assert.is_true(r.closed)
    assert.are.same(11, r.goaway and r.goaway.error_code)
    assert.are.same(0, r.headers_answered)
  end)

  it("cuts off a flood of empty DATA frames, and one of PRIORITY frames", function()
    local r = peer(port, "empty-data", 5000)
    assert.are.same({ true, 11 }, { r.closed, r.goaway and r.goaway.error_code })
    r = peer(port, "priority-flood", 5000)
    assert.are.same({ true, 11 }, { r.closed, r.goaway and r.goaway.error_code })
  end)

  it("lets a few hundred such frames pass (a client's PINGs and PRIORITY are not an attack)", function()
    local r = peer(port, "priority-flood", 300)
    assert.are.same({ false, net.json.null }, { r.closed, r.goaway })
  end)

  it("holds at most 4 x maxBody of unfinished bodies per connection, and serves the connection's GET", function()
    -- 99 POSTs of 1 MiB each, every byte but the last sent as fast as the
    -- windows open: 4 MiB, plus each stream's first window of 64 KiB
    local r = peer(port, "bodies-held", 99)
    assert.is_true(r.sent >= 4 * 2^20 and r.sent <= 4 * 2^20 + 99 * 65535, r.sent)
    assert.are.same({ "hello 2", false }, { r.get, r.closed })
  end)

  it("sends GOAWAY on closeIdle: the open stream finishes, the connection ends", function()
    local code, out = helper.execute(helper.quote_all("nghttp", "-nv", ("http://127.0.0.1:%d/stop"):format(port)))
    assert.are.same(0, code, out)
    assert.truthy(out:match("recv GOAWAY frame"), out)
    assert.truthy(out:match("recv DATA frame <length=8, flags=0x01"), out)
  end)
end)

describe("HTTP/2 time-outs, per stream", function()
  local proc, port, stop
  setup(function() proc, port, stop = start("--headerTimeout", "1000", "--sendTimeout", "1500") end)
  teardown(function() stop() end)

  it("closes a connection whose header block stays open past headerTimeout", function()
    local r = peer(port, "open-headers")
    assert.is_true(r.closed)
    assert.is_true(r.after_ms >= 900 and r.after_ms < 4000, r.after_ms .. " ms")
    assert.are.same(1, r.goaway.error_code)   -- PROTOCOL_ERROR
  end)

  it("answers 408 to a body that stops coming for headerTimeout, and keeps the connection", function()
    local r = peer(port, "stalled-body")
    assert.are.same(408, r.status)
    assert.is_true(r.after_ms >= 900 and r.after_ms < 4000, r.after_ms .. " ms")
    assert.is_false(r.closed)
  end)

  it("resets a stream whose window stays shut past sendTimeout, and serves the connection's next", function()
    local r = peer(port, "zero-window")
    assert.is_true(r.reset)
    assert.is_true(r.reset_ms >= 1400 and r.reset_ms < 5000, r.reset_ms .. " ms")
    assert.is_false(r.closed)
    assert.are.same(200, r.b_status)
    assert.truthy(proc.stderr():match("HTTP/2 stream 1 waited 1.5 s on the client's window %(sendTimeout%): reset"))
  end)
end)

describe("HTTP/2 bodies", function()
  it("streams a request body to req:read()", function()
    local _, port, stop = start("--stream", "1")
    finally(stop)
    assert.are.same({ status = 200, body = "POST 300000 2" }, peer(port, "post", 300000))
  end)

  it("sends httpd.lua's files as DATA frames, whole", function()
    local dir = helper.copy_of("www"):match("^(.*)/www$") .. "/h2files"
    assert(os.execute("mkdir -p " .. helper.quote(dir)))
    assert(os.execute(("head -c 3000000 /dev/urandom > %s/big.bin"):format(helper.quote(dir))))
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("httpd.lua"), "--port", "0",
      "--root", dir))
    finally(function() proc.cleanup() os.execute("rm -rf " .. helper.quote(dir)) end)
    local code, _, err = helper.execute(("curl -sS --http2-prior-knowledge http://127.0.0.1:%d/big.bin | cmp - %s/big.bin")
      :format(port, helper.quote(dir)))
    assert.are.same(0, code, err)
    local c2, head = curl("--http2-prior-knowledge", "-I", ("http://127.0.0.1:%d/big.bin"):format(port))
    assert.are.same(0, c2)
    assert.truthy(head:match("^HTTP/2 200 ?\r\n"), head)
    assert.truthy(head:match("content%-length: 3000000\r\n"), head)
  end)

  it("serves h2load's 2000 requests over 10 connections, 10 streams each, all 200", function()
    local _, port, stop = start()
    finally(stop)
    local code, out = helper.execute(helper.quote_all("h2load", "-n", "2000", "-c", "10", "-m", "10",
      ("http://127.0.0.1:%d/"):format(port)), 30000)
    assert.are.same(0, code, out)
    assert.truthy(out:match("requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed"), out)
    assert.truthy(out:match("status codes: 2000 2xx"), out)
  end)
end)

describe("HTTP/2 over TLS (h2 by ALPN)", function()
  local pki, proc, port
  setup(function()
    pki = require("support.pki").make()
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("hello_http.lua"), "--port", "0",
      "--cert", pki.localhost.cert, "--key", pki.localhost.key))
  end)
  teardown(function()
    proc.cleanup()
    pki.cleanup()
  end)

  it("hello_http.lua offers h2 with nothing set, and http/1.1 to a client that offers only it", function()
    local url = ("https://localhost:%d/"):format(port)
    local code, out, err = curl("-v", "--http2", "--cacert", pki.ca, url)
    assert.are.same({ 0, "Hello, World!" }, { code, out }, err)
    assert.matches("ALPN: server accepted h2", err, nil, true)
    assert.matches("< HTTP/2 200", err, nil, true)
    code, out, err = curl("-v", "--http1.1", "--cacert", pki.ca, url)
    assert.are.same({ 0, "Hello, World!" }, { code, out }, err)
    assert.matches("ALPN: server accepted http/1.1", err, nil, true)
  end)

  it("serves h2load over TLS, all 200", function()
    local code, out = helper.execute(helper.quote_all("h2load", "-n", "1000", "-c", "10", "-m", "10",
      ("https://127.0.0.1:%d/"):format(port)), 30000)
    assert.are.same(0, code, out)
    assert.truthy(out:match("Application protocol: h2"), out)
    assert.truthy(out:match("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed"), out)
  end)
end)

describe("HTTP/2 in a daemon's service: a reload and SIGTERM", function()
  -- /slow answers after 1 s; the script's `stopping` calls closeIdle, as
  -- hello_http.lua's does
  local SLOW = [[
local net = require "luanet"
local service = ...
local server = net.HttpServer()
server.request:connect(function(req, res)
  if req.path == "/slow" then net.sleep(1000) end
  res:finish("done " .. req.httpVersion)
end)
server:serve(service.listeners[1])
service.stopping:connect(function() server:closeIdle() end)
]]
  local CONF = [[
service "slow" { script = "slow.lua", listen = "tcp://127.0.0.1:0" }
]]

  -- Starts the peer's goaway-wait, runs act() once its request is out,
  -- and returns what the peer saw.
  local function goaway_wait(d, act)
    local proc = helper.spawn(("%s spec/support/h2_peer.py %d goaway-wait"):format(PYTHON, d.port("slow")))
    finally(function()   -- one finally per test: it ends the daemon too
      proc.cleanup()
      d.cleanup()
    end)
    assert(proc.wait_line("sent\n", 5000), proc.stderr())
    net.sleep(200)   -- the stream is open and its handler asleep
    act()
    assert(proc.wait(10000), "the peer did not end")
    return net.json.decode(proc.output():match("\n(%b{})"))
  end

  for _, case in ipairs {
    { "a reload's stopping", function(d) assert.are.same(0, (d.ctl("reload", "slow"))) end },
    { "SIGTERM", function(d) d.kill("TERM") end },
  } do
    it("sends GOAWAY on " .. case[1] .. ", lets the open stream finish, then closes", function()
      local d = dh.start(CONF, { ["slow.lua"] = SLOW })
      local r = goaway_wait(d, function() case[2](d) end)
      assert.are.same({ 200, "done 2", "goaway", "ended", true },
                      { r.status, r.body, r.order[1], r.order[2], r.closed })
      assert.are.same({ 0, 1 }, { r.goaway.error_code, r.goaway.last_stream_id })   -- NO_ERROR, the stream served
    end)
  end
end)

describe("HTTP/2 in a daemon's TLS service", function()
  it("is offered by ALPN when the service's tls table names no alpn", function()
    local dh = require "support.daemon_helper"
    local pki = require("support.pki").make()
    local d = dh.start(([[
service "hello" {
  script = %q,
  listen = "tls://127.0.0.1:0",
  tls = { cert = %q, key = %q },
}
]]):format(helper.script("hello_http.lua"), pki.localhost.cert, pki.localhost.key))
    finally(function() d.cleanup() pki.cleanup() end)
    local code, out, err = curl("-v", "--http2", "--cacert", pki.ca, ("https://localhost:%d/"):format(d.port("hello")))
    assert.are.same({ 0, "Hello, World!" }, { code, out }, err)
    assert.matches("ALPN: server accepted h2", err, nil, true)
  end)
end)
