-- The HTTP/2 client: net.http.request/get and net.Http over h2 when the
-- server's ALPN chooses it, against real servers: luanetd's HttpServer in
-- a process of its own, nginx (`listen ... ssl http2`), and Python's h2
-- (spec/support/h2_server.py) for what those two never do (resets,
-- GOAWAY, a connection cut mid-body, 1xx heads, trailers, a head too
-- large). The requests run in this process, in tasks.
local helper = require "helper"
local net = helper.net
local dh = require "support.daemon_helper"

local in_task = helper.in_task
local PYTHON = "/usr/bin/python3"

-- /port answers with the client's port (one per connection); /echo with
-- the method, the version, the body's length and the fields asked for in
-- ?h=NAME; /big with 3 MiB; /slow after 300 ms; anything else "hello".
local SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0, cert = false, key = false,
                                     alpn = "h2,http/1.1" }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer()
server.request:connect(function(req, res)
  if req.path == "/port" then
    res:finish(tostring(req.socket:peerPort()))
  elseif req.path == "/echo" then
    local name = (req.query or ""):match("h=([%w-]+)")
    res:setHeader("X-Two", "a")
    res:finish(("%s %s %d %s"):format(req.method, req.httpVersion, #req.body, name and req.headers[name] or "-"))
  elseif req.path == "/big" then
    res:finish(("0123456789abcdef"):rep(3 * 65536))
  elseif req.path == "/slow" then
    net.sleep(300)
    res:finish("slow")
  elseif req.path == "/redirect" then
    res:setHeader("Location", "/echo")
    res:writeHead(302)
    res:finish()
  else
    res:finish("hello " .. req.httpVersion)
  end
end)
server:serve(tcp)
]]

local pki

local function start_luanetd(alpn)
  local path = os.tmpname()
  dh.write(path, SERVER)
  local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, path, "--cert", pki.localhost.cert,
                                                          "--key", pki.localhost.key, "--alpn", alpn))
  return port, function()
    proc.cleanup()
    os.remove(path)
  end
end

local function url(port, path)
  return ("https://localhost:%d%s"):format(port, path)
end

local TLS

setup(function()
  pki = require("support.pki").make()
  TLS = { caCertificates = pki.ca }
end)
teardown(function() pki.cleanup() end)

describe("net.http over HTTP/2 (luanetd's HttpServer, h2 by ALPN)", function()
  local port, stop
  setup(function() port, stop = start_luanetd("h2,http/1.1") end)
  teardown(function() stop() end)

  it("gets a response over h2: status, fields, body, res.httpVersion \"2\"", function()
    in_task(function()
      local res = assert(net.http.get(url(port, "/echo?h=user-agent"), { tls = TLS }))
      assert.are.same({ 200, "OK", "2", "GET 2 0 luanetd" }, { res.status, res.reason, res.httpVersion, res.body })
      assert.are.same("a", res.headers["x-two"])
    end)
  end)

  it("runs concurrent requests of the state to one origin as streams of one connection", function()
    -- 150: past the server's SETTINGS_MAX_CONCURRENT_STREAMS (100), so
    -- the last wait in the client's queue for streams to end
    local ports, done = {}, 0
    for i = 1, 150 do
      net.spawn(function()
        local res = assert(net.http.get(url(port, i % 2 == 0 and "/slow" or "/port"), { tls = TLS }))
        if res.body ~= "slow" then ports[#ports + 1] = res.body end
        assert.are.same("2", res.httpVersion)
        done = done + 1
      end)
    end
    helper.run(10000, function() return done == 150 end)
    assert.are.same(150, done)
    assert.are.same(75, #ports)
    for i = 2, #ports do assert.are.same(ports[1], ports[i]) end
    -- and the next request of the state takes the same connection again
    in_task(function()
      assert.are.same(ports[1], assert(net.http.get(url(port, "/port"), { tls = TLS })).body)
    end)
  end)

  it("sends a request body, and follows a redirect on the connection", function()
    in_task(function()
      local body = ("p"):rep(200000)   -- past the server's initial window of 64 KiB
      local res = assert(net.http.request{ url = url(port, "/echo?h=content-length"), method = "POST", body = body,
                                           tls = TLS })
      assert.are.same("POST 2 200000 200000", res.body)
      res = assert(net.http.get(url(port, "/redirect"), { tls = TLS }))
      assert.are.same({ 200, "GET 2 0 -" }, { res.status, res.body })
      assert.are.same(url(port, "/echo"), res.url)
    end)
  end)

  it("reads a 3 MiB body past its stream's window, into a sink, with progress", function()
    in_task(function()
      local chunks, last = 0, nil
      local parts = {}
      local res = assert(net.http.get(url(port, "/big"), { tls = TLS, sink = function(c)
        chunks = chunks + 1
        parts[#parts + 1] = c
      end, progress = function(done, total) last = { done, total } end }))
      local body = table.concat(parts)
      assert.are.same({ 3 << 20, ("0123456789abcdef"):rep(3 * 65536) == body }, { #body, true })
      assert.are.same({ 3 << 20, 3 << 20 }, last)
      assert.is_nil(res.body)
      assert.is_true(chunks > 1)
    end)
  end)

  it("speaks HTTP/1.1 with opts.http2 = false", function()
    in_task(function()
      local res = assert(net.http.get(url(port, "/"), { tls = TLS, http2 = false }))
      assert.are.same({ "1.1", "hello 1.1" }, { res.httpVersion, res.body })
    end)
  end)

  it("net.Http (ConnectionModeHttps) gets its response over h2", function()
    local http = net.Http()
    local finished, body, head
    http.sslErrors:connect(function() http:ignoreSslErrors() end)
    http.responseHeaderReceived:connect(function(h) head = h end)
    http.requestFinished:connect(function(id, err) if id == 2 and not err then body = http:readAll() end end)
    http.done:connect(function(err) finished = err end)
    http:setHost("localhost", "ConnectionModeHttps", port)
    http:get("/echo?h=host")
    helper.run(5000, function() return finished ~= nil end)
    assert.are.same({ false, ("GET 2 0 localhost:%d"):format(port) }, { finished, body })
    assert.are.same(200, head.statusCode)
  end)

  it("scripts/http_get.lua -v says which protocol carried the response", function()
    local dir = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(dir)) end)
    local code, _, err = helper.execute(helper.quote_all(helper.LUANETD, helper.script("http_get.lua"),
      url(port, "/"), "-o", dir .. "/a", "--cacert", pki.ca, "-v"))
    assert.are.same(0, code, err)
    assert.matches("protocol: HTTP/2\n< HTTP/2 200 OK\n", err, 1, true)
    assert.are.same("hello 2", helper.slurp(dir .. "/a"))
    code, _, err = helper.execute(helper.quote_all(helper.LUANETD, helper.script("http_get.lua"),
      url(port, "/"), "-o", dir .. "/b", "--cacert", pki.ca, "-v", "--http1.1"))
    assert.are.same(0, code, err)
    assert.matches("protocol: HTTP/1.1\n< HTTP/1.1 200 OK\n", err, 1, true)
    assert.are.same("hello 1.1", helper.slurp(dir .. "/b"))
  end)

  it("leaves no idle HTTP/2 connection keeping a script running", function()
    local script = os.tmpname()
    finally(function() os.remove(script) end)
    dh.write(script, ([[
local net = require "luanet"
local res = assert(net.http.get("%s", { tls = { caCertificates = "%s" } }))
print(res.httpVersion, res.body)
]]):format(url(port, "/"), pki.ca))
    local t0 = net.clock()
    local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, script), 10000)
    assert.are.same({ 0, "2\thello 2\n" }, { code, out }, err)
    assert.is_true(net.clock() - t0 < 5000)
  end)
end)

describe("net.http against a server whose ALPN chooses http/1.1", function()
  local port, stop
  setup(function() port, stop = start_luanetd("http/1.1") end)
  teardown(function() stop() end)

  it("falls back to HTTP/1.1, the requests made while it connected included", function()
    local got, done = {}, 0
    for i = 1, 6 do
      net.spawn(function()
        local res, err = net.http.get(url(port, "/"), { tls = TLS })
        got[#got + 1] = res and res.httpVersion .. " " .. res.body or err
        done = done + 1
      end)
    end
    helper.run(10000, function() return done == 6 end)
    table.sort(got)
    assert.are.same({ "1.1 hello 1.1", "1.1 hello 1.1", "1.1 hello 1.1", "1.1 hello 1.1", "1.1 hello 1.1",
                      "1.1 hello 1.1" }, got)
  end)
end)

describe("net.http over HTTP/2 against nginx (listen ssl http2)", function()
  local port, stop
  setup(function()
    port, stop = require("support.nginx").start(([[
    ssl_certificate %s;
    ssl_certificate_key %s;
    location = /hello { return 200 "nginx says hi over $server_protocol\n"; }]]):format(pki.localhost.cert,
      pki.localhost.key), "ssl http2")
  end)
  teardown(function() stop() end)

  it("gets nginx's answer over HTTP/2.0", function()
    in_task(function()
      local res = assert(net.http.get(url(port, "/hello"), { tls = TLS }))
      assert.are.same({ 200, "2", "nginx says hi over HTTP/2.0\n" }, { res.status, res.httpVersion, res.body })
    end)
  end)
end)

describe("the HTTP/2 client against Python's h2 (edge cases)", function()
  local port, stop
  setup(function()
    local proc = helper.spawn(helper.quote_all("env", "-u", "LD_PRELOAD", "-u", "ASAN_OPTIONS", PYTHON,
                                               "spec/support/h2_server.py", pki.localhost.cert, pki.localhost.key))
    assert(proc.wait_line("^%d+\n", 10000), proc.stderr())
    port = math.tointeger(tonumber(proc.output():match("^(%d+)")))
    stop = function()
      proc.kill("TERM")
      proc.wait(3000)
      proc.cleanup()
    end
  end)
  teardown(function() stop() end)

  local function get(path, opts)
    local res, err, kind
    in_task(function()
      local o = { tls = TLS }
      for k, v in pairs(opts or {}) do o[k] = v end
      res, err, kind = net.http.get(url(port, path), o)
    end)
    return res, err, kind
  end

  it("sends the request's fields lower-case, :authority for Host, no connection-specific ones", function()
    local res = assert(get("/echo", { headers = { ["X-Mixed-Case"] = "v", Connection = "close",
                                                  ["Transfer-Encoding"] = "chunked", Host = "example.test" } }))
    assert.are.same("2", res.httpVersion)
    assert.matches("^GET\n", res.body)
    assert.matches("\nx%-mixed%-case: v\n", res.body)
    assert.matches("\n:authority: example.test\n", res.body)
    assert.matches("\nuser%-agent: luanetd\n", res.body)
    assert.is_nil(res.body:lower():find("connection:", 1, true))
    assert.is_nil(res.body:lower():find("transfer-encoding", 1, true))
    assert.is_nil(res.body:find("\nhost:", 1, true))
  end)

  it("fails a stream the server resets with its error code, and the connection serves the next", function()
    local res, err, kind = get("/reset")
    assert.are.same({ nil, "network" }, { res, kind })
    assert.matches("reset the stream %(INTERNAL_ERROR%)", err)
    assert.are.same("2", assert(get("/hello")).httpVersion)
  end)

  it("takes a request again after REFUSED_STREAM", function()
    assert.are.same({ 200, "taken" }, { assert(get("/refuse")).status, assert(get("/refuse")).body })
  end)

  it("skips a 103 head for the final one, and drops trailers", function()
    local res = assert(get("/interim"))
    assert.are.same({ 200, "final" }, { res.status, res.body })
    res = assert(get("/trailers"))
    assert.are.same({ 200, "body" }, { res.status, res.body })
    assert.is_nil(res.headers["x-checksum"])
  end)

  it("fails a response whose connection is cut mid-body, and the next request connects again", function()
    local before = tonumber(assert(get("/hello")).body:match("%d+"))
    local res, err, kind = get("/cut")
    assert.are.same({ nil, "network" }, { res, kind })
    assert.matches("localhost:%d+: ", err)
    local after = assert(get("/hello"))
    assert.are.same(before + 1, tonumber(after.body:match("%d+")))
  end)

  it("takes a request refused by GOAWAY again on a new connection", function()
    local before = tonumber(assert(get("/hello")).body:match("%d+"))
    local res, err = get("/goaway")
    -- the stream was refused: taken again once, on a new connection, which refuses it again
    assert.is_nil(res)
    assert.matches("GOAWAY", err)
    assert.are.same(before + 2, tonumber(assert(get("/hello")).body:match("%d+")))
  end)

  it("resets a response head past 64 KiB", function()
    local res, err, kind = get("/bighead")
    assert.are.same({ nil, "network" }, { res, kind })
    assert.matches("head", err)
    assert.are.same("2", assert(get("/hello")).httpVersion)
  end)

  it("times out a stalled stream, cancels it, and other streams go on meanwhile", function()
    local stalled, other
    local t0 = net.clock()
    net.spawn(function()
      stalled = { net.http.get(url(port, "/stall"), { tls = TLS, timeout = 600 }) }
    end)
    net.spawn(function()
      net.sleep(100)
      other = { net.http.get(url(port, "/hello"), { tls = TLS }) }
    end)
    helper.run(5000, function() return stalled and other end)
    assert.are.same({ nil, "network" }, { stalled[1], stalled[3] })
    assert.matches("timed out", stalled[2])
    assert.is_true(net.clock() - t0 >= 550)
    assert.are.same("2", other[1].httpVersion)
  end)
end)
