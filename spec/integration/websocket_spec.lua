-- spec/integration/websocket_spec.lua: net.WebSocket and
-- net.WebSocketServer (RFC 6455) against real peers: scripts/ws_echo.lua
-- as a luanetd process with Python's websockets as its client, our client
-- against Python's server, and raw frames over a TcpSocket for what a
-- hostile or broken peer sends.
local helper = require "helper"
local net = helper.net

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"
local PEER = "spec/support/ws_peer.py"
local QT = "env -u LD_PRELOAD QT_QPA_PLATFORM=offscreen /usr/bin/python3 -u spec/support/qt_ws_peer.py"

-- A peer server (Python's or Qt's) that prints "port N" first: the
-- process and N.
local function start_peer(cmd)
  local proc = helper.spawn(cmd)
  if not proc.wait_line("port (%d+)\n", helper.TIMEOUT) then
    local err = proc.stderr()
    proc.cleanup()
    error("peer did not start: " .. cmd .. "\n" .. err, 2)
  end
  return proc, tonumber(proc.output():match("port (%d+)"))
end

local function start_echo(...)
  return helper.start_server(("%s %s"):format(helper.quote_all(helper.LUANETD, helper.script("ws_echo.lua")),
    helper.quote_all(...)))
end

local raw = require "support.ws_raw"
local KEY, request, raw_handshake, frame = raw.KEY, raw.request, raw.handshake, raw.frame
local read_until_close, close_code = raw.read_until_close, raw.close_code

describe("WebSocket", function()
  local proc, port
  setup(function() proc, port = start_echo() end)
  teardown(function() proc.cleanup() end)

  it("ws_echo.lua answers Python's websockets client: text, binary, a big message, ping, fragments, close", function()
    local code, out, err = helper.execute(("%s %s client ws://127.0.0.1:%d/"):format(PYTHON, PEER, port))
    assert.are.same(0, code, err)
    assert.are.same("text hello\nbinary 000162696e\nbig 200000 True\npong\nfragments fragmented\nclosed 1000\n", out)
  end)

  it("ws_echo.lua answers real Qt's QWebSocket (PyQt5): text, binary, close 1000", function()
    local code, out, err = helper.execute(("%s client ws://127.0.0.1:%d/"):format(QT, port))
    assert.are.same(0, code, err)
    assert.are.same("text hello from Qt\nbinary 00ff5174\nclosed 1000\n", out)
  end)

  it("answers the handshake with the accept value of RFC 6455's example, the head split in two", function()
    local full = request()
    local sock, head = raw_handshake(port, { full:sub(1, 40), full:sub(41) })
    finally(function() sock:abort() end)
    assert.truthy(head:match("^HTTP/1%.1 101 "), head)
    assert.truthy(head:find("\r\nSec%-WebSocket%-Accept: s3pPLMBiTxaQ9kYGzzhZRbK%+xOo=\r\n"), head)
    assert.truthy(head:lower():find("\r\nupgrade: websocket\r\n", 1, true), head)
  end)

  it("answers 426 with Sec-WebSocket-Version: 13 to another version, 400 to a bad key", function()
    local sock, head = raw_handshake(port, request("Sec-WebSocket-Version: 8\r\n"))
    sock:abort()
    assert.truthy(head:match("^HTTP/1%.1 426 "), head)
    assert.truthy(head:find("\r\nSec%-WebSocket%-Version: 13\r\n"), head)
    sock, head = raw_handshake(port, (request():gsub(KEY, "short")))
    sock:abort()
    assert.truthy(head:match("^HTTP/1%.1 400 "), head)
  end)

  it("closes with 1002 on an unmasked frame from a client", function()
    local sock, head, rest = raw_handshake(port, request())
    finally(function() sock:abort() end)
    assert.truthy(head:match("^HTTP/1%.1 101 "), head)
    sock:write(string.char(0x81, 0x02) .. "hi")
    local frames, closed = read_until_close(sock, rest)
    assert.are.same(1002, close_code(frames))
    assert.is_true(closed)
  end)

  it("closes with 1007 at the first invalid UTF-8 byte, before the message ends", function()
    local sock, _, rest = raw_handshake(port, request())
    finally(function() sock:abort() end)
    sock:write(frame(1, "ok \xff", false))   -- no fin: the message is not over
    local frames = read_until_close(sock, rest)
    assert.are.same(1007, close_code(frames))
  end)

  it("closes with 1002 on a reserved opcode and on a control frame longer than 125 bytes", function()
    for _, bad in ipairs({ frame(3, "x"), frame(9, ("p"):rep(126)) }) do
      local sock, _, rest = raw_handshake(port, request())
      sock:write(bad)
      local frames = read_until_close(sock, rest)
      sock:abort()
      assert.are.same(1002, close_code(frames))
    end
  end)

  it("closes with 1009 on a frame past the 16 MiB default, from its header alone", function()
    local sock, _, rest = raw_handshake(port, request())
    finally(function() sock:abort() end)
    sock:write(string.char(0x82, 0x80 | 127) .. string.pack(">I8", (16 << 20) + 1) .. "\1\2\3\4")
    local frames = read_until_close(sock, rest)
    assert.are.same(1009, close_code(frames))
  end)

  it("answers a ping between the fragments of a message, then echoes the message", function()
    local sock, _, rest = raw_handshake(port, request())
    finally(function() sock:abort() end)
    sock:write(frame(1, "frag", false) .. frame(9, "ping!") .. frame(0, "ments", true) .. frame(8, "\x03\xe8"))
    local frames = read_until_close(sock, rest)
    assert.are.same(10, frames[1].opcode)
    assert.are.same("ping!", frames[1].payload)
    assert.are.same(1, frames[2].opcode)
    assert.are.same("fragments", frames[2].payload)
    assert.are.same(1000, close_code(frames))
  end)
end)

describe("WebSocket with permessage-deflate (RFC 7692)", function()
  local proc, port
  setup(function() proc, port = start_echo("--deflate", "yes") end)
  teardown(function() proc.cleanup() end)

  it("ws_echo.lua --deflate yes agrees to Python's offer and echoes compressed messages", function()
    local code, out, err = helper.execute(("%s %s client-deflate ws://127.0.0.1:%d/"):format(PYTHON, PEER, port))
    assert.are.same(0, code, err)
    assert.are.same("extensions permessage-deflate\ntext hello\nbinary 000162696e\nbig 200000 True\npong\n"
      .. "fragments fragmented\nclosed 1000\n", out)
  end)

  it("closes with 1009 on a message that inflates past 16 MiB, while it inflates", function()
    local code, out, err = helper.execute(("%s %s bomb ws://127.0.0.1:%d/"):format(PYTHON, PEER, port), 20000)
    assert.are.same(0, code, err)
    assert.are.same("closed 1009\n", out)
  end)

  it("is not agreed by ws_echo.lua without --deflate", function()
    local plain, plain_port = start_echo()
    finally(plain.cleanup)
    local code, out, err = helper.execute(("%s %s client-deflate ws://127.0.0.1:%d/"):format(PYTHON, PEER, plain_port))
    assert.are.same(0, code, err)
    assert.are.same("extensions \n", out:match("^[^\n]*\n"))
  end)

  it("is offered by our client and agreed by Python's server, both ways compressed", function()
    local py, pport = start_peer(("%s %s server-deflate"):format(PYTHON, PEER))
    finally(py.cleanup)
    local ws = net.WebSocket()
    local big = ("luanetd "):rep(5000)
    local got
    ws.connected:connect(function() ws:sendTextMessage(big) end)
    ws.textMessageReceived:connect(function(m) got = m ws:close() end)
    local disconnected = false
    ws.disconnected:connect(function() disconnected = true end)
    ws:open(("ws://127.0.0.1:%d/"):format(pport), nil, { deflate = true })
    assert.is_true(helper.run(helper.TIMEOUT, function() return disconnected end))
    assert.is_true(ws:isCompressed())
    assert.are.same(big, got)
    assert.are.same(1000, ws:closeCode())
  end)
end)

describe("WebSocket keep-alive, bytesWritten and wss://", function()
  it("cuts a peer that answers no ping by the next interval (1006), and keeps one that does", function()
    local server = net.WebSocketServer("keepalive")
    assert.is_true(server:listen("127.0.0.1", 0))
    finally(function() server:close() end)
    local sides = {}
    server.newConnection:connect(function()
      local ws = server:nextPendingConnection()
      ws:setKeepAliveInterval(150)
      local side = { ws = ws }
      sides[#sides + 1] = side
      ws.disconnected:connect(function() side.code, side.at = ws:closeCode(), helper.now_ms() end)
    end)
    -- A raw peer that shakes hands and then reads nothing.
    local mute, head = raw_handshake(server:serverPort(), request())
    assert.truthy(head:match("^HTTP/1%.1 101 "), head)
    -- Our own client, which answers pings by itself.
    local polite = net.WebSocket()
    polite:open(("ws://127.0.0.1:%d/"):format(server:serverPort()))
    local start = helper.now_ms()
    assert.is_true(helper.run(helper.TIMEOUT, function() return sides[1] ~= nil and sides[1].code ~= nil end))
    assert.are.same(1006, sides[1].code)
    local took = sides[1].at - start
    assert.is_true(took >= 250 and took < 1000, ("cut after %d ms"):format(took))
    helper.drive(600)   -- four more intervals: the polite one answers each
    assert.are.same("ConnectedState", polite:state())
    assert.is_nil(sides[2].code)
    mute:abort()
    polite:abort()
  end)

  it("reports bytesWritten to a script that connected to it", function()
    local server = net.WebSocketServer("written")
    assert.is_true(server:listen("127.0.0.1", 0))
    finally(function() server:close() end)
    local ws = net.WebSocket()
    local written = 0
    ws.bytesWritten:connect(function(n) written = written + n end)
    ws.connected:connect(function() ws:sendTextMessage(("x"):rep(1000)) end)
    ws:open(("ws://127.0.0.1:%d/"):format(server:serverPort()))
    assert.is_true(helper.run(helper.TIMEOUT, function() return written > 0 end))
    assert.are.same(1000 + 4 + 4, written)   -- payload, a 4-byte header (126 + length) and the mask
    ws:abort()
  end)

  it("speaks wss:// to ws_echo.lua --cert/--key, verifying it against our CA", function()
    local pki = require("support.pki").make()
    local tls, tport = start_echo("--cert", pki.localhost.cert, "--key", pki.localhost.key)
    finally(function() tls.cleanup() pki.cleanup() end)
    local ws = net.WebSocket()
    local got
    ws.connected:connect(function() ws:sendTextMessage("over TLS") end)
    ws.textMessageReceived:connect(function(m) got = m end)
    ws:open(("wss://localhost:%d/"):format(tport), nil, { caCertificates = pki.ca })
    assert.is_true(helper.run(helper.TIMEOUT, function() return got ~= nil end), ws:errorString())
    assert.are.same("over TLS", got)
    ws:abort()
    local untrusted = net.WebSocket()
    local err
    untrusted.errorOccurred:connect(function(e) err = e end)
    untrusted:open(("wss://localhost:%d/"):format(tport))
    assert.is_true(helper.run(helper.TIMEOUT, function() return err ~= nil end))
    assert.are.same("SslHandshakeFailedError", err)
  end)
end)

describe("net.WebSocket as a client", function()
  it("talks to Python's websockets server and closes with the code and reason it gives", function()
    local py, pport = start_peer(("%s %s server"):format(PYTHON, PEER))
    finally(py.cleanup)
    local ws = net.WebSocket()
    local got, states = {}, {}
    ws.stateChanged:connect(function(s) states[#states + 1] = s end)
    ws.connected:connect(function() ws:sendTextMessage("hello") ws:sendBinaryMessage("\0\1") end)
    ws.textMessageReceived:connect(function(m) got[#got + 1] = "text " .. m end)
    ws.binaryMessageReceived:connect(function(m)
      got[#got + 1] = "binary " .. helper.hex(m)
      ws:close(net.WebSocket.CloseCodeGoingAway, "bye")
    end)
    local disconnected = false
    ws.disconnected:connect(function() disconnected = true end)
    assert.is_true(ws:open(("ws://127.0.0.1:%d/"):format(pport)))
    assert.is_true(helper.run(helper.TIMEOUT, function() return disconnected end))
    assert.are.same({ "text hello", "binary 0001" }, got)
    assert.are.same({ "ConnectedState", "ClosingState", "UnconnectedState" }, states)
    assert.are.same(1001, ws:closeCode())
    assert.are.same(("ws://127.0.0.1:%d/"):format(pport), ws:requestUrl())
  end)

  it("talks to real Qt's QWebSocketServer (PyQt5), which sees our close code and reason", function()
    local qt, qport = start_peer(QT .. " server")
    finally(qt.cleanup)
    local ws = net.WebSocket()
    local got = {}
    ws.connected:connect(function() ws:sendTextMessage("hello Qt") end)
    ws.textMessageReceived:connect(function(m)
      got[#got + 1] = m
      ws:close("CloseCodeGoingAway", "bye")
    end)
    local disconnected = false
    ws.disconnected:connect(function() disconnected = true end)
    ws:open(("ws://127.0.0.1:%d/"):format(qport))
    assert.is_true(helper.run(helper.TIMEOUT, function() return disconnected end))
    assert.are.same({ "hello Qt" }, got)
    assert.is_true(helper.run(helper.TIMEOUT, function() return qt.output():find("closed", 1, true) ~= nil end))
    assert.truthy(qt.output():find("closed 1001 bye\n", 1, true), qt.output())
  end)

  it("reports Qt's connection error when nothing listens", function()
    local ws = net.WebSocket()
    local err, disconnected
    ws.errorOccurred:connect(function(e) err = e end)
    ws.disconnected:connect(function() disconnected = true end)
    local server, closed_port = helper.listen("127.0.0.1")
    server:close()   -- a port nothing listens on
    ws:open(("ws://127.0.0.1:%d/"):format(closed_port))
    assert.is_true(helper.run(helper.TIMEOUT, function() return disconnected end))
    assert.are.same("ConnectionRefusedError", err)
    assert.are.same("Connection refused", ws:errorString())
  end)
end)
