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
local last_res
server.request:connect(function(req, res)
  if req.path == "/fail" then
    error("handler failed on purpose")
  elseif req.path == "/fail-later" then
    net.sleep(50)
    error("handler failed on purpose, later")
  elseif req.path == "/inject" then
    res:setHeader("X-Evil", "a\r\nSet-Cookie: stolen=1")
    res:finish("should not get here")
  elseif req.path == "/stale" then
    local ok, err = pcall(last_res.write, last_res, "late")
    res:finish(tostring(ok) .. " " .. tostring(err):gsub("^.-: ", ""))
  elseif req.path == "/made" then
    res:writeHead(201, { ["X-Made"] = "yes", ["Content-Type"] = "text/plain" })
    res:finish("made")
  elseif req.path == "/stream" then   -- 64 MiB in 64 KiB writes, to a slow reader
    local piece = ("s"):rep(65536)
    for _ = 1, 1024 do
      if not res:write(piece) then return end
    end
    res:finish()
  elseif req.path == "/chunked" then
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
  last_res = res
end)
server:serve(tcp)
]]

-- A server with streamBody: the handler reads the body as it comes and
-- answers with its length and a checksum; /slow-reader takes its time
-- between reads. The last read's error goes to stderr.
local STREAM_SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0 }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer{ streamBody = true, maxBody = 1000 }
server.request:connect(function(req, res)
  local n, sum, chunks = 0, 0, 0
  while true do
    local data, err = req:read()
    if not data then
      if err then io.stderr:write("READ ERROR ", err, "\n") return end
      break
    end
    chunks = chunks + 1
    for i = (997 - n % 997) % 997 + 1, #data, 997 do sum = (sum + data:byte(i)) % 65521 end
    n = n + #data
    if req.path == "/slow-reader" then net.sleep(5) end
  end
  res:finish(("%d bytes %d sum %s"):format(n, sum, chunks > 1 and "in pieces" or "whole"))
end)
server:serve(tcp)
]]

local start_script

local function start(...)
  return start_script(SERVER, ...)
end

start_script = function(script, ...)
  local dir = dh.tmpdir()
  dh.write(dir .. "/server.lua", script)
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

  it("takes a status and headers from writeHead", function()
    local code, out = curl("-i", "http://127.0.0.1:" .. port .. "/made")
    assert.are.same(0, code)
    assert.matches("^HTTP/1.1 201 Created\r\n", out)
    assert.matches("\r\nX%-Made: yes\r\n", out)
    assert.matches("\r\n\r\nmade$", out)
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

  it("answers 500 for a handler that raises, at once or after a wait, and goes on serving", function()
    for _, path in ipairs({ "/fail", "/fail-later" }) do
      local _, out = raw(port, "GET " .. path .. " HTTP/1.1\r\nHost: a\r\n\r\n")
      assert.matches("^HTTP/1.1 500 Internal Server Error\r\n", out)
      assert.matches("\r\nConnection: close\r\n", out)
    end
    assert.matches("handler failed on purpose, later", proc.stderr())
    local code, out = curl("http://127.0.0.1:" .. port .. "/after")
    assert.are.same({ 0, "GET /after - " }, { code, out })
  end)

  it("refuses a header value with CR or LF (no header injection)", function()
    local _, out = raw(port, "GET /inject HTTP/1.1\r\nHost: a\r\n\r\n")
    assert.matches("^HTTP/1.1 500 ", out)
    assert.is_nil(out:find("stolen", 1, true))
    assert.matches("control character in a header value", proc.stderr())
  end)

  it("refuses to write through a response that has finished", function()
    local _, out = raw(port, "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /stale HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert.matches("\r\n\r\nfalse HttpResponse:write%(%) after finish%(%)$", out)
  end)

  it("streams a large response to a slow reader holding a bounded amount of memory", function()
    local _, out = helper.execute(PYTHON .. " -c " .. helper.quote(([[
import socket, time
s = socket.create_connection(("127.0.0.1", %d))
s.sendall(b"GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
got = s.recv(1 << 20)
time.sleep(1.0)   # the handler has written far more than the socket holds
rss = int([l for l in open("/proc/%d/status") if l.startswith("VmRSS")][0].split()[1])
total = len(got)
while True:
    d = s.recv(1 << 20)
    if not d: break
    total += len(d)
print(rss, total)
]]):format(port, proc.pid())), 30000)
    local rss, total = out:match("^(%d+) (%d+)")
    assert.is_not_nil(rss, out)
    assert.is_true(tonumber(rss) < 40 * 1024, "server RSS " .. rss .. " kB")   -- not 64 MiB
    assert.is_true(tonumber(total) > 64 * 1024 * 1024, total)   -- all of it, chunk-framed
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

describe("HttpServer with streamBody", function()
  local proc, port, stop
  setup(function() proc, port, stop = start_script(STREAM_SERVER) end)
  teardown(function() stop() end)

  local function upload(path, file)
    return curl("-T", file, "http://127.0.0.1:" .. port .. path)
  end

  it("hands a large body to req:read() in pieces, past maxBody, with Content-Length and chunked", function()
    local dir = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(dir)) end)
    local parts = {}
    for i = 1, 64 do parts[i] = string.char(i % 251) .. ("%08d"):format(i):rep(8191) end
    local content = table.concat(parts)
    dh.write(dir .. "/big", content)
    local sum = 0   -- every 997th byte, as the server sums them
    for k = 1, #content, 997 do sum = (sum + content:byte(k)) % 65521 end
    local code, out = upload("/up", dir .. "/big")
    assert.are.same({ 0, ("%d bytes %d sum in pieces"):format(#content, sum) }, { code, out })
    local code2, out2 = helper.execute(("curl -sS --max-time 10 -T - %s < %s")
      :format(helper.quote("http://127.0.0.1:" .. port .. "/up"), helper.quote(dir .. "/big")))
    assert.are.same(0, code2)
    assert.are.same(out, out2)   -- the same bytes, chunked
    local code3, out3 = upload("/slow-reader", dir .. "/big")
    assert.are.same({ 0, out }, { code3, out3 })   -- back-pressure loses nothing
  end)

  it("tells the handler when the peer resets mid-body, and goes on serving", function()
    local _, out = helper.execute(PYTHON .. " -c " .. helper.quote(([[
import socket, struct, time
s = socket.create_connection(("127.0.0.1", %d))
s.sendall(b"POST /r HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
]]):format(port)))
    assert.truthy(helper.run(2000, function() return proc.stderr():find("READ ERROR", 1, true) end), proc.stderr())
    assert.matches("READ ERROR connection closed", proc.stderr())
    local code, body = helper.execute("printf abc | curl -sS --max-time 5 -T - " .. helper.quote("http://127.0.0.1:" .. port .. "/ok"))
    assert.are.same({ 0, "3 bytes 97 sum whole" }, { code, body })
    assert.are.same("", out)
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
