-- TLS with real peers, everything on 127.0.0.1, with a PKI made for the
-- run (spec/support/pki.lua): our client (TcpSocket's QSslSocket API)
-- against `openssl s_server`; net.http, net.Http and scripts/http_get.lua
-- against an nginx with TLS; our server (a TcpServer with
-- setSslConfiguration under net.HttpServer, in a luanetd subprocess)
-- against curl, `openssl s_client` and Python's ssl module.
local helper = require "helper"
local dh = require "support.daemon_helper"
local core = require "support.core_helper"
local net = helper.net

local free_port = core.free_port

-- Waits until something accepts on 127.0.0.1:port (a plain TCP probe).
local wait_listening = helper.wait_listening

local in_task = helper.in_task

-- The QSslError names of a list of errors (sslErrors' argument).
local function error_names(errors)
  local out = {}
  for i, e in ipairs(errors or {}) do out[i] = e.error end
  return out
end

local function contains(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

-- ------------------------------------------------------------ our client

-- `openssl s_server -rev` (each line echoed back reversed) with a
-- certificate pair and more arguments; returns its port and a stop function.
local function start_s_server(pair, ...)
  local port = free_port()
  local proc = helper.spawn(helper.quote_all("openssl", "s_server", "-accept", "127.0.0.1:" .. port,
    "-cert", pair.cert, "-key", pair.key, "-rev", ...))
  local ok, err = pcall(wait_listening, port, proc, "openssl s_server")
  if not ok then
    proc.cleanup()
    error(err, 2)
  end
  return port, proc.cleanup
end

-- connectToHostEncrypted(host, port, verifyName) on a new socket, after
-- setSslConfiguration(cfg) when cfg is given; on_errors(sock, errors) is
-- connected to sslErrors. Runs the loop until the socket is encrypted or
-- has failed: the socket and a record { events, errors, error, errorString }.
local function connect_encrypted(port, host, verify_name, cfg, on_errors)
  local sock = net.TcpSocket()
  local rec = { events = {} }
  if cfg then assert(sock:setSslConfiguration(cfg)) end
  sock.encrypted:connect(function() rec.events[#rec.events + 1] = "encrypted" end)
  sock.sslErrors:connect(function(errors)
    rec.events[#rec.events + 1] = "sslErrors"
    rec.errors = errors
    if on_errors then on_errors(sock, errors) end
  end)
  sock.errorOccurred:connect(function(e)
    rec.events[#rec.events + 1] = e
    rec.error, rec.errorString = e, sock:errorString()
  end)
  sock:connectToHostEncrypted(host, port, verify_name)
  helper.run(5000, function() return sock:isEncrypted() or rec.error ~= nil end)
  return sock, rec
end

-- Sends a line and reads the answer (s_server -rev: the line reversed).
local function echo(sock, line)
  sock:write(line .. "\n")
  helper.run(3000, function() return sock:canReadLine() end)
  return sock:readLine()
end

describe("TcpSocket's TLS client against openssl s_server", function()
  local pki
  local kit = dh.kit()   -- what a test starts, ended after it (one finally per it only)
  setup(function() pki = require("support.pki").make() end)
  teardown(function() pki.cleanup() end)
  after_each(kit.cleanup)

  local function s_server(...)
    local port, stop = start_s_server(...)
    kit.on_cleanup(stop)
    return port
  end

  local function connect(...)
    local sock, rec = connect_encrypted(...)
    kit.on_cleanup(function() sock:abort() end)
    return sock, rec
  end

  it("verifies a certificate of a CA it is given and talks through the session", function()
    local port = s_server(pki.localhost)
    local sock, rec = connect(port, "localhost", nil, { caCertificates = pki.ca })
    assert.are.same({ "encrypted" }, rec.events)
    assert.are.same({ true, "SslClientMode", "TlsV1_3", {} },
      { sock:isEncrypted(), sock:mode(), sock:sessionProtocol(), sock:sslHandshakeErrors() })
    local cert = sock:peerCertificate()
    assert.are.same({ "CN=localhost", "CN=luanetd test CA", "localhost", { "localhost" } },
      { cert.subject, cert.issuer, cert.commonName, cert.names })
    assert.matches("^%x+$", cert.serialNumber)
    local now = os.time()
    assert.is_true(cert.notBefore <= now + 60 and cert.notAfter > now + 300 * 86400,
      ("%s .. %s"):format(cert.notBefore, cert.notAfter))
    local cipher = sock:sessionCipher()
    assert.are.same("TlsV1_3", cipher.protocol)
    assert.is_true(cipher.bits >= 128 and #cipher.name > 0)
    assert.are.same("olleh\n", echo(sock, "hello"))
    assert.are.same("dlrow\n", echo(sock, "world"))
  end)

  it("reports HostNameMismatch for the wrong name and fails with SslHandshakeFailedError", function()
    local port = s_server(pki.localhost)
    local sock, rec = connect(port, "127.0.0.1", "wrong.test", { caCertificates = pki.ca })
    assert.is_true(contains(error_names(rec.errors), "HostNameMismatch"), table.concat(rec.events, ","))
    assert.are.same({ "sslErrors", "SslHandshakeFailedError" }, rec.events)
    assert.are.same("Error during SSL handshake: The host name did not match any of the valid hosts for this certificate",
      rec.errorString)
    assert.are.same({ false, "UnconnectedState", "SslHandshakeFailedError" },
      { sock:isEncrypted(), sock:state(), sock:error() })
  end)

  it("reports CertificateExpired for an expired certificate", function()
    local port = s_server(pki.expired)
    local sock, rec = connect(port, "localhost", nil, { caCertificates = pki.ca })
    assert.are.same({ "CertificateExpired" }, error_names(rec.errors))
    assert.are.same({ 0, "The certificate has expired" }, { rec.errors[1].depth, rec.errors[1].errorString })
    assert.are.same("SslHandshakeFailedError", rec.error)
    assert.are.same("Error during SSL handshake: The certificate has expired", rec.errorString)
  end)

  it("reports UnableToGetLocalIssuerCertificate for a CA the system store does not have", function()
    local port = s_server(pki.localhost)
    local sock, rec = connect(port, "localhost")
    assert.are.same("UnableToGetLocalIssuerCertificate", error_names(rec.errors)[1])
    assert.are.same("SslHandshakeFailedError", rec.error)
    assert.is_false(sock:isEncrypted())
  end)

  it("connects and talks when a slot of sslErrors calls ignoreSslErrors()", function()
    local port = s_server(pki.localhost)
    local sock, rec = connect(port, "localhost", nil, nil, function(s) s:ignoreSslErrors() end)
    assert.are.same({ "sslErrors", "encrypted" }, rec.events)
    assert.is_true(sock:isEncrypted())
    assert.are.same("UnableToGetLocalIssuerCertificate", error_names(sock:sslHandshakeErrors())[1])
    assert.are.same("CN=localhost", sock:peerCertificate().subject)
    assert.are.same("dengi\n", echo(sock, "igned"))
  end)

  it("keeps errorString after a failed handshake, read later in a task", function()
    -- The text is read after waitForEncrypted returned, not in the
    -- errorOccurred slot: it must not point into a stack frame since gone.
    local port = s_server(pki.localhost)
    local in_slot, later
    in_task(function()
      local sock = net.TcpSocket()
      kit.on_cleanup(function() sock:abort() end)
      sock.errorOccurred:connect(function() in_slot = sock:errorString() end)
      sock:connectToHostEncrypted("localhost", port)
      assert.is_false(sock:waitForEncrypted(3000))
      later = sock:errorString()
    end)
    assert.are.same("Error during SSL handshake: The issuer certificate of a locally looked up certificate could not be found",
      in_slot)
    assert.are.same(("%q"):format(in_slot), ("%q"):format(later))   -- %q: garbage shows escaped
  end)

  it("keeps errorString after a record that does not decrypt (SslInternalError), read later", function()
    -- A Python TLS server: the handshake, then 32 bytes of garbage as an
    -- application data record. The reason must outlive the session.
    local peer = core.python(([[
import os, socket, ssl, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(%q, %q)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen()
print("PORT", ls.getsockname()[1], flush=True)
c, _ = ls.accept()
s = ctx.wrap_socket(c, server_side=True)
os.write(s.fileno(), b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
time.sleep(2)
]]):format(pki.localhost.cert, pki.localhost.key))
    kit.on_cleanup(function() core.stop(peer) end)
    local sock, rec = connect(core.peer_port(peer), "localhost", nil, { caCertificates = pki.ca })
    assert.is_true(helper.run(3000, function() return rec.error ~= nil end), table.concat(rec.events, ","))
    assert.are.same("SslInternalError", rec.error)
    assert.matches("decryption failed or bad record mac", rec.errorString, nil, true)
    local junk = {}   -- fresh allocations, so that text in freed memory shows
    for i = 1, 200 do junk[i] = ("y"):rep(i * 3) end
    assert.are.same(rec.errorString, sock:errorString())
  end)

  it("negotiates TLS 1.2 with a server restricted to it", function()
    local port = s_server(pki.localhost, "-tls1_2")
    local sock, rec = connect(port, "localhost", nil, { caCertificates = pki.ca })
    assert.are.same({ "encrypted" }, rec.events)
    assert.are.same({ "TlsV1_2", "TlsV1_2" }, { sock:sessionProtocol(), sock:sessionCipher().protocol })
    assert.are.same("21slt\n", echo(sock, "tls12"))
  end)
end)

-- ------------------------------------------------------------ against nginx

-- nginx with TLS (the localhost certificate): its port and a stop function.
local function start_nginx(pki)
  return require("support.nginx").start(([[
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /hello { return 200 "nginx says hi\n"; }
    location = /proto { return 200 "$ssl_protocol\n"; }]]):format(pki.localhost.cert, pki.localhost.key), "ssl")
end

describe("net.http and scripts/http_get.lua against nginx with TLS", function()
  local pki, port, stop, url
  setup(function()
    pki = require("support.pki").make()
    port, stop = start_nginx(pki)
    url = ("https://localhost:%d/hello"):format(port)
  end)
  teardown(function()
    stop()
    pki.cleanup()
  end)

  it("fails with kind tls when the CA is not trusted", function()
    in_task(function()
      local res, msg, kind = net.http.get(url)
      assert.are.same({ nil, "tls" }, { res, kind })
      assert.matches("^localhost:%d+: Error during SSL handshake: The issuer certificate of a locally looked up", msg)
    end)
  end)

  it("gets the body with tls = { caCertificates = ca }", function()
    in_task(function()
      local res = assert(net.http.get(url, { tls = { caCertificates = pki.ca } }))
      assert.are.same({ 200, "nginx says hi\n" }, { res.status, res.body })
      res = assert(net.http.request{ url = ("https://localhost:%d/proto"):format(port),
                                     tls = { caCertificates = pki.ca } })
      assert.are.same("TLSv1.3\n", res.body)
    end)
  end)

  it("scripts/http_get.lua exits 4 without --cacert and 0 with it", function()
    local dir = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(dir)) end)
    local out = dir .. "/hello.txt"
    local code, _, err = helper.execute(helper.quote_all(helper.LUANETD, helper.script("http_get.lua"), url, "-o", out))
    assert.are.same(4, code, err)
    assert.matches("Error during SSL handshake", err)
    assert.is_nil(helper.slurp(out))
    assert.is_nil(helper.slurp(out .. ".part"))
    code, _, err = helper.execute(helper.quote_all(helper.LUANETD, helper.script("http_get.lua"), url, "-o", out,
                                                   "--cacert", pki.ca))
    assert.are.same(0, code, err)
    assert.are.same("nginx says hi\n", helper.slurp(out))
  end)
end)

describe("net.Http with ConnectionModeHttps against nginx", function()
  local pki, port, stop
  setup(function()
    pki = require("support.pki").make()
    port, stop = start_nginx(pki)
  end)
  teardown(function()
    stop()
    pki.cleanup()
  end)

  -- Runs GET /hello on a new net.Http; on_errors is its sslErrors slot.
  local function qget(on_errors)
    local http = net.Http()
    local got, finished, errors
    http.sslErrors:connect(function(e)
      errors = e
      if on_errors then on_errors(http, e) end
    end)
    http.requestFinished:connect(function(id, err) if id == 2 and not err then got = http:readAll() end end)
    http.done:connect(function(err) finished = err end)
    http:setHost("localhost", "ConnectionModeHttps", port)
    http:get("/hello")
    helper.run(5000, function() return finished ~= nil end)
    return { finished = finished, body = got, errors = error_names(errors), error = http:error(),
             errorString = http:errorString() }
  end

  it("emits sslErrors without a CA and fails unless a slot ignores them", function()
    local r = qget()
    assert.are.same({ true, nil, "UnknownError" }, { r.finished, r.body, r.error })
    assert.are.same("UnableToGetLocalIssuerCertificate", r.errors[1])
    assert.matches("Error during SSL handshake", r.errorString)
    r = qget(function(http) http:ignoreSslErrors() end)
    assert.are.same({ false, "nginx says hi\n", "NoError" }, { r.finished, r.body, r.error })
    assert.are.same("UnableToGetLocalIssuerCertificate", r.errors[1])
  end)
end)

-- Keep-alive connections are pooled per scheme, host and port only: one
-- verified under other TLS options (a private CA, VerifyNone, errors
-- ignored from net.Http's sslErrors) is handed to the next request of the
-- same host that has none, which then skips verification.
describe("net.http's keep-alive pool and TLS options", function()
  local pki, port, stop
  setup(function() pki = require("support.pki").make() end)
  teardown(function() pki.cleanup() end)
  before_each(function() port, stop = start_nginx(pki) end)   -- a new port each time: an empty pool
  after_each(function() stop() end)

  it("does not reuse a connection verified with another CA for a request verified against the system store", function()
    local url = ("https://localhost:%d/hello"):format(port)
    in_task(function()
      assert(net.http.get(url, { tls = { caCertificates = pki.ca } }))
      local res, _, kind = net.http.get(url)
      assert.are.same({ nil, "tls" }, { res, kind })
    end)
  end)

  it("does not reuse a connection made with VerifyNone for a verified request", function()
    local url = ("https://localhost:%d/hello"):format(port)
    in_task(function()
      assert(net.http.get(url, { tls = { peerVerifyMode = "VerifyNone" } }))
      local res, _, kind = net.http.get(url)
      assert.are.same({ nil, "tls" }, { res, kind })
    end)
  end)

  it("does not reuse for net.http a connection whose errors net.Http ignored", function()
    local http = net.Http()
    local finished
    http.sslErrors:connect(function() http:ignoreSslErrors() end)
    http.done:connect(function(err) finished = err end)
    http:setHost("localhost", "ConnectionModeHttps", port)
    http:get("/hello")
    helper.run(5000, function() return finished ~= nil end)
    assert.are.same(false, finished)
    in_task(function()
      local res, _, kind = net.http.get(("https://localhost:%d/hello"):format(port))
      assert.are.same({ nil, "tls" }, { res, kind })
    end)
  end)
end)

-- ------------------------------------------------------------ our server

-- An HTTPS server: a TcpServer with two certificates (localhost, the
-- default, and other.test by SNI), ALPN http/1.1 and a 300 ms handshake
-- time-out, under net.HttpServer. / answers "hello PROTOCOL"; /info what
-- the sockets say; /reload makes other.test the default certificate.
local SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0, localhost = "", other = "" }, ...)
local function pair(base) return { cert = base .. ".pem", key = base .. ".key" } end
local function config(first, second)
  return { pair(first), pair(second), alpn = "http/1.1", handshakeTimeout = 300 }
end
local tcp = assert(cli.listen(opts))
assert(tcp:setSslConfiguration(config(opts.localhost, opts.other)))
local server = net.HttpServer()
server.request:connect(function(req, res)
  local sock = req.socket
  if req.path == "/reload" then
    local ok, err = tcp:setSslConfiguration(config(opts.other, opts.localhost))
    res:finish(ok and "reloaded" or ("reload failed: " .. tostring(err)))
  elseif req.path == "/info" then
    res:finish(("%s %s %s %s"):format(sock:mode(), tostring(sock:isEncrypted()),
      tostring(sock:negotiatedProtocol()), tostring(tcp:isEncrypted())))
  else
    res:finish("hello " .. sock:sessionProtocol())
  end
end)
server:serve(tcp)
]]

-- Starts SERVER under luanetd with the PKI's certificates: the process,
-- its port and a stop function.
local function start_server(pki)
  local dir = dh.tmpdir()
  dh.write(dir .. "/server.lua", SERVER)
  local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, dir .. "/server.lua",
    "--localhost", pki.dir .. "/localhost", "--other", pki.dir .. "/other"))
  return proc, port, function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end
end

-- curl to https://localhost:PORT (localhost resolved to 127.0.0.1).
local function curl(pki, port, ...)
  return helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--cacert", pki.ca,
    "--resolve", ("localhost:%d:127.0.0.1"):format(port), ...))
end

-- `openssl s_client` sending one request (Connection: close) and reading
-- to the end: exit code and everything it printed.
local function s_client(pki, port, path, ...)
  local request = ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"):format(path)
  local cmd = ("printf %%s %s | %s 2>&1"):format(helper.quote(request), helper.quote_all("openssl", "s_client",
    "-connect", "127.0.0.1:" .. port, "-CAfile", pki.ca, "-verify_return_error", "-ign_eof", ...))
  local code, out = helper.execute("sh -c " .. helper.quote(cmd), 10000)
  return code, out
end

-- Python's ssl module: get(sock, path) sends a keep-alive request and
-- reads a Content-Length response; connect(sni) trusts the CA only.
local PY_CLIENT = [[
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]

def connect(sni):
    ctx = ssl.create_default_context(cafile=ca)
    if sni is None:
        ctx.check_hostname = False
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname=sni)

def get(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d: return "EOF"
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    n = int([l.split(":")[1] for l in lines if l.lower().startswith("content-length:")][0])
    while len(body) < n:
        d = s.recv(4096)
        if not d: return "EOF"
        body += d
    return lines[0] + " | " + body.decode()

def cn(s):
    return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
]]

local function python(pki, port, body)
  local code, out, err = helper.execute(core.PYTHON .. " -c " .. helper.quote(PY_CLIENT .. body) .. " " ..
    helper.quote_all(tostring(port), pki.ca), 10000)
  assert.are.same(0, code, err)
  return out
end

describe("an HTTPS server (TcpServer:setSslConfiguration, HttpServer) under luanetd", function()
  local pki, proc, port, stop
  setup(function()
    pki = require("support.pki").make()
    proc, port, stop = start_server(pki)
  end)
  teardown(function()
    stop()
    pki.cleanup()
  end)

  it("answers curl, keeping the connection alive for the next URL", function()
    local base = ("https://localhost:%d"):format(port)
    local code, out, err = curl(pki, port, "-w", " [%{num_connects}]\n", base .. "/a", base .. "/b")
    assert.are.same({ 0, "hello TlsV1_3 [1]\nhello TlsV1_3 [0]\n" }, { code, out }, err)
    code, out, err = curl(pki, port, base .. "/info")
    assert.are.same({ 0, "SslServerMode true http/1.1 true" }, { code, out }, err)
  end)

  it("picks the certificate by SNI for openssl s_client", function()
    local code, out = s_client(pki, port, "/", "-servername", "other.test")
    assert.are.same(0, code, out)
    assert.matches("subject=CN = other.test\n", out, nil, true)
    assert.matches("Verify return code: 0 (ok)", out, nil, true)
    assert.matches("hello TlsV1_3", out, nil, true)
    code, out = s_client(pki, port, "/", "-noservername")
    assert.are.same(0, code, out)
    assert.matches("subject=CN = localhost\n", out, nil, true)
  end)

  it("speaks TLS 1.2 and TLS 1.3 to openssl s_client, and ALPN http/1.1", function()
    local code, out = s_client(pki, port, "/", "-tls1_2")
    assert.are.same(0, code, out)
    assert.matches("Protocol  : TLSv1.2\n", out, nil, true)
    assert.matches("hello TlsV1_2", out, nil, true)
    code, out = s_client(pki, port, "/", "-tls1_3")
    assert.are.same(0, code, out)
    assert.matches("Protocol  : TLSv1.3\n", out, nil, true)
    assert.matches("hello TlsV1_3", out, nil, true)
    code, out = s_client(pki, port, "/info", "-alpn", "http/1.1")
    assert.are.same(0, code, out)
    assert.matches("ALPN protocol: http/1.1\n", out, nil, true)
    assert.matches("SslServerMode true http/1.1 true", out, nil, true)
  end)

  it("answers Python's ssl module, verifying the CA and localhost", function()
    local out = python(pki, port, [[
s = connect("localhost")
print(s.version(), cn(s), get(s, "/py"), s.selected_alpn_protocol())
]])
    assert.are.same("TLSv1.3 localhost HTTP/1.1 200 OK | hello TlsV1_3 None\n", out)
  end)

  it("drops a peer stalled in the handshake after handshakeTimeout, serving others meanwhile", function()
    -- One sends nothing, one half a ClientHello; each says how long until
    -- the server closed (from before its connect).
    local STALL = [[
import socket, ssl, sys, time
port, half = int(sys.argv[1]), sys.argv[2] == "half"
hello = b""
if half:
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(hello[:len(hello) // 2])
print("STALLING", flush=True)
s.settimeout(5)
try:
    what = "eof" if s.recv(100) == b"" else "data"
except ConnectionResetError:
    what = "reset"
except socket.timeout:
    what = "timeout"
print("%s %d" % (what, (time.monotonic() - t0) * 1000), flush=True)
]]
    local path = core.tempfile(STALL, ".py")
    local nothing = helper.spawn(core.PYTHON .. " " .. helper.quote_all(path, tostring(port), "nothing"))
    local half = helper.spawn(core.PYTHON .. " " .. helper.quote_all(path, tostring(port), "half"))
    finally(function()   -- busted keeps one finally per it
      nothing.cleanup()
      half.cleanup()
      os.remove(path)
    end)
    assert.truthy(nothing.wait_line("STALLING"), nothing.stderr())
    assert.truthy(half.wait_line("STALLING"), half.stderr())
    local code, out = curl(pki, port, ("https://localhost:%d/meanwhile"):format(port))
    assert.are.same({ 0, "hello TlsV1_3" }, { code, out })
    for _, p in ipairs({ nothing, half }) do
      local what, ms = p.wait_line("(%a+) (%d+)\n", 3000), tonumber(p.output():match("%a+ (%d+)\n"))
      assert.are.same("eof", what, p.output() .. p.stderr())
      assert.is_true(ms >= 250 and ms < 1500, ("dropped after %d ms"):format(ms))
    end
  end)
end)

describe("an HTTPS server that changes its certificates", function()
  it("keeps a connection made before setSslConfiguration, and new handshakes get the new default", function()
    local pki = require("support.pki").make()
    local _, port, stop = start_server(pki)
    finally(function()
      stop()
      pki.cleanup()
    end)
    local out = python(pki, port, [[
old = connect("localhost")
print(cn(old), get(old, "/first"))
print(get(old, "/reload"))
print(get(old, "/second"))
new = connect(None)
print(cn(new), get(new, "/x"))
new = connect("localhost")
print(cn(new), get(new, "/y"))
]])
    assert.are.same(table.concat({
      "localhost HTTP/1.1 200 OK | hello TlsV1_3",
      "HTTP/1.1 200 OK | reloaded",
      "HTTP/1.1 200 OK | hello TlsV1_3",
      "other.test HTTP/1.1 200 OK | hello TlsV1_3",    -- no SNI: the new default
      "localhost HTTP/1.1 200 OK | hello TlsV1_3",     -- SNI still finds localhost
    }, "\n") .. "\n", out)
    -- curl (SNI localhost) still verifies.
    local code, body = curl(pki, port, ("https://localhost:%d/after"):format(port))
    assert.are.same({ 0, "hello TlsV1_3" }, { code, body })
  end)
end)

describe("Qt's pattern: a plain TcpServer, startServerEncryption on the accepted socket", function()
  it("encrypts with setLocalCertificate/setPrivateKey, and both sides see the session", function()
    local pki = require("support.pki").make()
    local server = net.TcpServer()
    local accepted, server_events, client = nil, {}, nil
    -- busted keeps one finally per it (the last one given): one for all.
    finally(function()
      if client then client:abort() end
      if accepted then accepted:abort() end
      server:close()
      pki.cleanup()
    end)
    assert(server:listen("127.0.0.1", 0))
    server.newConnection:connect(function()
      accepted = server:nextPendingConnection()
      accepted:setLocalCertificate(pki.localhost.cert)
      accepted:setPrivateKey(pki.localhost.key)
      accepted.encrypted:connect(function() server_events[#server_events + 1] = "encrypted" end)
      accepted.readyRead:connect(function() accepted:write(accepted:readAll():upper()) end)
      accepted:startServerEncryption()
    end)
    local rec
    client, rec = connect_encrypted(server:serverPort(), "localhost", nil, { caCertificates = pki.ca })
    assert.are.same({ "encrypted" }, rec.events)
    helper.run(2000, function() return #server_events > 0 end)
    assert.are.same({ "encrypted" }, server_events)
    assert.are.same({ "SslServerMode", true, "TlsV1_3" }, { accepted:mode(), accepted:isEncrypted(), accepted:sessionProtocol() })
    assert.is_nil(accepted:peerCertificate())   -- a server asks for none unless configured
    client:write("quiet words\n")
    helper.run(2000, function() return client:canReadLine() end)
    assert.are.same("QUIET WORDS\n", client:readLine())
  end)
end)

describe("the TLS examples", function()
  local pki
  setup(function() pki = require("support.pki").make() end)
  teardown(function() pki.cleanup() end)

  it("fortune_server.lua --cert/--key and the fortune clients with --tls --cacert", function()
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("fortune_server.lua"),
      "--fortune", "Secrets keep best encrypted.", "--cert", pki.localhost.cert, "--key", pki.localhost.key))
    finally(proc.cleanup)
    for _, name in ipairs({ "fortune_client.lua", "blocking_fortune_client.lua" }) do
      local client = helper.script(name)
      local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, client, "localhost", tostring(port),
        "--tls", "--cacert", pki.ca))
      assert.are.same({ 0, "Secrets keep best encrypted.\n" }, { code, out }, err)
      -- Without the CA the system store does not know the server: Qt's words, exit 1.
      code, out, err = helper.execute(helper.quote_all(helper.LUANETD, client, "localhost", tostring(port), "--tls"))
      assert.are.same(1, code)
      assert.matches("The following error occurred: Error during SSL handshake: The issuer certificate of a locally looked up certificate could not be found", err)
    end
  end)

  it("httpd.lua --cert/--key serves files over HTTPS: ALPN h2, http/1.1 when the client offers only it", function()
    local dir = dh.tmpdir()
    local proc
    -- busted keeps one finally per it (the last one given): one for both.
    finally(function()
      if proc then proc.cleanup() end
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    dh.write(dir .. "/a.txt", "over tls\n")
    local port
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("httpd.lua"), "--root", dir,
      "--cert", pki.localhost.cert, "--key", pki.localhost.key))
    local code, out, err = helper.execute(helper.quote_all("curl", "-sS", "-v", "--max-time", "5", "--cacert", pki.ca,
      ("https://localhost:%d/a.txt"):format(port)))
    assert.are.same({ 0, "over tls\n" }, { code, out })
    assert.matches("ALPN: server accepted h2", err)
    code, out, err = helper.execute(helper.quote_all("curl", "-sS", "-v", "--http1.1", "--max-time", "5", "--cacert",
      pki.ca, ("https://localhost:%d/a.txt"):format(port)))
    assert.are.same({ 0, "over tls\n" }, { code, out })
    assert.matches("ALPN: server accepted http/1.1", err)
  end)

  it("a config's tls = { ... } with a second certificate picks it by SNI", function()
    local d = dh.start(([[
service "secure" {
  script = %q,
  listen = "tls://127.0.0.1:0",
  tls = { cert = %q, key = %q, { cert = %q, key = %q } },
}
]]):format(dh.SCRIPTS .. "/hello_http.lua", pki.localhost.cert, pki.localhost.key, pki.other.cert, pki.other.key))
    finally(d.cleanup)
    local port = d.port("secure")
    local function subject(name)
      local _, out = helper.execute("sh -c " .. helper.quote(("openssl s_client -connect 127.0.0.1:%d -servername %s </dev/null 2>/dev/null | openssl x509 -noout -subject"):format(port, name)))
      return out
    end
    assert.matches("CN ?= ?other%.test", subject("other.test"))
    assert.matches("CN ?= ?localhost", subject("localhost"))
    local code, out = helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--cacert", pki.ca,
      "--resolve", ("other.test:%d:127.0.0.1"):format(port), ("https://other.test:%d/"):format(port)))
    assert.are.same({ 0, "Hello, World!" }, { code, out })
    assert.are.same(0, d.stop())
  end)
end)
