-- net.HttpServer under real clients: curl (keep-alive, HTTP/1.0, HEAD,
-- chunked upload), raw requests from Python (pipelining, malformed input,
-- limits, a slow client), wrk for a short keep-alive burst, and the server
-- as a config-file service of the real luanetd.
local helper = require "helper"
local dh = require "support.daemon_helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

-- An HTTP server script for the specs: echoes the request back as text
-- ("METHOD PATH QUERY BODY"), /chunked answers in three writes without a
-- length, /slow answers after 200 ms. Options come from the command line.
local SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0, maxBody = "1048576",
                                     maxHeader = "16384", headerTimeout = "10000", keepAliveTimeout = "5000" }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer{ maxBody = tonumber(opts.maxBody), maxHeader = tonumber(opts.maxHeader),
  headerTimeout = tonumber(opts.headerTimeout), keepAliveTimeout = tonumber(opts.keepAliveTimeout),
  accessLog = function(line) io.stderr:write("ACCESS ", line, "\n") end }
server.request:connect(function(req, res)
  if req.path == "/chunked" then
    res:setHeader("Content-Type", "text/plain")
    res:write("one ")
    res:write("two ")
    res:finish("three")
  elseif req.path == "/slow" then
    net.sleep(200)
    res:finish("slow")
  else
    res:setHeader("Content-Type", "text/plain")
    res:finish(("%s %s %s %s"):format(req.method, req.path, req.query or "-", req.body))
  end
end)
server:serve(tcp)
]]

local function start(...)
  local dir = dh.tmpdir()
  dh.write(dir .. "/server.lua", SERVER)
  local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, dir .. "/server.lua", ...))
  return proc, port, function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end
end

local function curl(...)
  return helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", ...))
end

-- Sends raw bytes, reads until the server closes (or ms pass, which adds
-- "<TIMEOUT>"): the reply.
local RAW = [[
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes.fromhex(sys.argv[2]))
s.settimeout(float(sys.argv[3]))
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except socket.timeout:
    out += b"<TIMEOUT>"
sys.stdout.buffer.write(out)
]]

local function raw(port, bytes, ms)
  local _, out = helper.execute(PYTHON .. " -c " .. helper.quote(RAW) .. " " ..
    helper.quote_all(tostring(port), helper.hex(bytes), tostring((ms or 3000) / 1000)), 10000)
  return _, out
end

describe("HttpServer", function()
  local proc, port, stop
  setup(function() proc, port, stop = start("--maxBody", "1000", "--maxHeader", "2048") end)
  teardown(function() stop() end)

  it("answers curl, with the request's method, path, query and body", function()
    local code, out = curl("http://127.0.0.1:" .. port .. "/a/b?x=1")
    assert.are.same({ 0, "GET /a/b x=1 " }, { code, out })
    code, out = curl("-d", "hello", "http://127.0.0.1:" .. port .. "/post")
    assert.are.same({ 0, "POST /post - hello" }, { code, out })
  end)

  it("keeps a connection alive for the next request", function()
    local code, out = curl("-w", " [%{num_connects}]\n", "http://127.0.0.1:" .. port .. "/1", "http://127.0.0.1:" .. port .. "/2")
    assert.are.same({ 0, "GET /1 -  [1]\nGET /2 -  [0]\n" }, { code, out })
  end)

  it("answers HTTP/1.0 and closes unless asked to keep alive", function()
    local code, out = curl("--http1.0", "-i", "http://127.0.0.1:" .. port .. "/old")
    assert.are.same(0, code)
    assert.matches("^HTTP/1.1 200 OK\r\n", out)
    assert.matches("\r\nConnection: close\r\n", out)
    assert.matches("\r\nContent%-Length: 11\r\n", out)   -- "GET /old - "
  end)

  it("answers HEAD with the headers a GET has and no body", function()
    local code, out = curl("-I", "http://127.0.0.1:" .. port .. "/h")
    assert.are.same(0, code)
    assert.matches("^HTTP/1.1 200 OK\r\n", out)
    assert.matches("\r\nContent%-Length: 10\r\n", out)   -- "HEAD /h - "
    assert.is_nil(out:find("HEAD /h", 1, true))
  end)

  it("reads a chunked upload and writes a chunked response", function()
    local code, out = helper.execute("printf 'abc' | curl -sS --max-time 5 -T - " .. helper.quote("http://127.0.0.1:" .. port .. "/up"))
    assert.are.same({ 0, "PUT /up - abc" }, { code, out })
    local c2, o2 = curl("-i", "http://127.0.0.1:" .. port .. "/chunked")
    assert.are.same(0, c2)
    assert.matches("\r\nTransfer%-Encoding: chunked\r\n", o2)
    assert.matches("\r\n\r\none two three$", o2)
  end)

  it("sends a small response whole in one segment, so keep-alive exchanges do not wait on Nagle", function()
    -- Two writes (head, then body) would leave the body behind a delayed
    -- ACK: 40 ms per request on a keep-alive connection.
    local _, out = helper.execute(PYTHON .. " -c " .. helper.quote(([[
import socket
s = socket.create_connection(("127.0.0.1", %d))
for i in range(3):
    s.sendall(b"GET /seg HTTP/1.1\r\nHost: a\r\n\r\n")
    first = s.recv(65536)
    print(first.endswith(b"GET /seg - "))
]]):format(port)))
    assert.are.same("True\nTrue\nTrue\n", out)
  end)

  it("answers pipelined requests in order on one connection", function()
    local _, out = raw(port, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    local bodies = {}
    for b in out:gmatch("\r\n\r\n([^H]*)") do bodies[#bodies + 1] = b end
    assert.are.same({ "GET /p1 - ", "POST /p2 - hi", "GET /p3 - " }, bodies)
  end)

  it("answers 400 and closes for malformed requests", function()
    for _, bad in ipairs({
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "NONSENSE\r\n\r\n",
    }) do
      local _, out = raw(port, bad)
      assert.matches("^HTTP/1.1 400 Bad Request\r\n", out, nil, bad)
      assert.matches("\r\nConnection: close\r\n", out)
      assert.is_nil(out:find("<TIMEOUT>", 1, true), bad)
    end
  end)

  it("answers 431 to a head past maxHeader and 413 to a body past maxBody", function()
    local _, out = raw(port, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " .. ("x"):rep(3000) .. "\r\n\r\n")
    assert.matches("^HTTP/1.1 431 ", out)
    _, out = raw(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" .. ("y"):rep(100))
    assert.matches("^HTTP/1.1 413 ", out)
    _, out = raw(port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" .. ("z"):rep(2000) .. "\r\n0\r\n\r\n")
    assert.matches("^HTTP/1.1 413 ", out)
  end)

  it("sends 100 Continue before reading a body the client holds back", function()
    local code, out = curl("-H", "Expect: 100-continue", "-d", ("q"):rep(600), "http://127.0.0.1:" .. port .. "/e")
    assert.are.same({ 0, "POST /e - " .. ("q"):rep(600) }, { code, out })
  end)

  it("writes an access log line per request in the common log format", function()
    curl("http://127.0.0.1:" .. port .. "/logged?z=9")
    helper.run(1000, function() return proc.stderr():find("/logged", 1, true) end)
    assert.matches('ACCESS 127%.0%.0%.1 %- %- %[%d%d/%a%a%a/%d%d%d%d:%d%d:%d%d:%d%d [+-]%d%d%d%d%] "GET /logged%?z=9 HTTP/1%.1" 200 %d+',
      proc.stderr())
  end)

  it("serves a short wrk keep-alive burst without errors", function()
    local code, out = helper.execute(helper.quote_all("wrk", "-t1", "-c20", "-d1s", "http://127.0.0.1:" .. port .. "/w"), 10000)
    assert.are.same(0, code, out)
    local requests = tonumber(out:match("(%d+) requests in"))
    assert.is_true(requests and requests > 100, out)
    assert.is_nil(out:find("Non%-2xx"), out)
    assert.is_nil(out:find("Socket errors"), out)
  end)
end)

describe("HttpServer time-outs", function()
  local _, port, stop
  setup(function() _, port, stop = start("--headerTimeout", "300", "--keepAliveTimeout", "300") end)
  teardown(function() stop() end)

  it("answers 408 to a request whose head does not complete in time (slowloris)", function()
    local t0 = helper.now_ms()
    local _, out = raw(port, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1", 3000)
    assert.matches("^HTTP/1.1 408 Request Timeout\r\n", out)
    local took = helper.now_ms() - t0
    assert.is_true(took >= 250 and took < 2500, ("took %d ms"):format(took))
  end)

  it("closes an idle keep-alive connection after keepAliveTimeout", function()
    local t0 = helper.now_ms()
    local _, out = raw(port, "GET /k HTTP/1.1\r\nHost: a\r\n\r\n", 3000)
    assert.matches("\r\n\r\nGET /k %- $", out)   -- answered, then closed: no TIMEOUT marker
    local took = helper.now_ms() - t0
    assert.is_true(took >= 250 and took < 2500, ("took %d ms"):format(took))
  end)
end)

describe("scripts/hello_http.lua as a config-file service", function()
  it("answers Hello, World! and lets a reload drain its idle keep-alive connections", function()
    local d = dh.start(('service "hello" { script = %q, listen = "tcp://127.0.0.1:0" }')
      :format(dh.SCRIPTS .. "/hello_http.lua"))
    finally(d.cleanup)
    local code, out = curl("http://127.0.0.1:" .. d.port("hello") .. "/")
    assert.are.same({ 0, "Hello, World!" }, { code, out })
    code = d.ctl("reload", "hello")
    assert.are.same(0, code)
    -- curl's connection was closed by curl; the old generation goes at once.
    assert.is_true(helper.run(3000, function() return not dh.status(d).draining.hello end), d.log())
    code, out = curl("http://127.0.0.1:" .. d.port("hello") .. "/")
    assert.are.same({ 0, "Hello, World!" }, { code, out })
    assert.are.same(0, d.stop())
  end)
end)
