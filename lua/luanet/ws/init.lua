--- luanet.ws: Qt's QWebSocket and QWebSocketServer. net.WebSocket is C
-- (daemon/ws/websocket.c: frames, masking, UTF-8, the close handshake);
-- this module adds the opening handshake and what delegates to the
-- TcpSocket under it, and net.WebSocketServer (luanet.ws.server).
--
--   local ws = net.WebSocket()
--   ws.connected:connect(function() ws:sendTextMessage("hello") end)
--   ws.textMessageReceived:connect(function(msg) print(msg) ws:close() end)
--   ws:open("ws://127.0.0.1:8080/chat")
--
-- Failures are Qt's: open() returns at once, and a connection or a
-- handshake that fails emits errorOccurred (error(), errorString()) and
-- disconnected.
-- @classmod WebSocket
local net = require "luanet.core"
local handshake = require "luanet.ws.handshake"

local methods = net.WebSocket._methods
local HANDSHAKE_TIMEOUT = 10000   -- ms, as QWebSocketServer's default

-- ws://host[:port]/path or wss://...; nil and why.
local function parse_url(url)
  local scheme, authority, path = url:match("^(wss?)://([^/?#]+)([^#]*)")
  if not scheme then return nil, "not a ws:// or wss:// URL: " .. url end
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil, "bad host in " .. url end
  port = tonumber(port) or (scheme == "wss" and 443 or 80)
  if path == "" then path = "/" elseif path:sub(1, 1) == "?" then path = "/" .. path end
  return { scheme = scheme, host = host, port = port, authority = authority, path = path, url = url }
end

local sockets = setmetatable({}, { __mode = "k" })   -- a client's ws -> { sock, ignore_ssl }

--- Connects and makes the opening handshake in
-- a task of its own; `connected` or `errorOccurred` + `disconnected`
-- follow. options: deflate = true offers permessage-deflate (RFC 7692);
-- for wss://, caCertificates = file (else the system's store) and
-- peerVerifyName. A wss:// server is verified as TcpSocket verifies:
-- sslErrors is emitted, and ignoreSslErrors() in its slot goes on.
-- @function open
-- @tparam string url ws://host[:port]/path or wss://...
-- @tparam[opt] table headers more request headers ({ Origin = "https://example.org" })
-- @tparam[opt] table options deflate, caCertificates, peerVerifyName
-- @treturn boolean true, or false for a URL that is not ws:// or wss:// (errorOccurred too)
-- @qt QWebSocket::open
function methods:open(url, headers, opts)
  local u, why = parse_url(url)
  local origin = headers and (headers.Origin or headers.origin) or ""
  self:_setInfo(url, origin)
  local info = {}
  sockets[self] = info
  if not u then
    self:_setError("UnknownSocketError", why)
    return false
  end
  net.spawn(function()
    local sock = net.TcpSocket()
    info.sock = sock
    sock:setSocketOption("LowDelayOption", 1)
    local function give_up(name, text)
      self:_setError(name, text)
      self.disconnected:emit()
      sock:abort()
    end
    local up
    if u.scheme == "wss" then
      if opts and opts.caCertificates then sock:setCaCertificates(opts.caCertificates) end
      sock.sslErrors:connect(function(errors)
        self.sslErrors:emit(errors)
        if info.ignore_ssl then sock:ignoreSslErrors() end
      end)
      sock:connectToHostEncrypted(u.host, u.port, opts and opts.peerVerifyName)
      up = sock:waitForEncrypted(HANDSHAKE_TIMEOUT)
    else
      sock:connectToHost(u.host, u.port)
      up = sock:waitForConnected(HANDSHAKE_TIMEOUT)
    end
    if not up then return give_up(sock:error(), sock:errorString()) end
    local ok, protocol, deflate = handshake.open(sock, u, headers, HANDSHAKE_TIMEOUT, opts)
    if not ok then return give_up("ConnectionRefusedError", protocol) end
    self:_attach(sock, "client", deflate, url, origin, protocol)
  end)
  return true
end

--- Called in an sslErrors slot, the handshake goes on.
-- @function ignoreSslErrors
-- @qt QWebSocket::ignoreSslErrors
function methods:ignoreSslErrors() if sockets[self] then sockets[self].ignore_ssl = true end end

local function delegate(name, default)
  methods[name] = function(self, ...)
    local sock = self:socket()
    if not sock then return default end
    return sock[name](sock, ...)
  end
end
--- The peer's address (the TcpSocket's).
-- @function peerAddress
-- @treturn HostAddress|nil nil when there is no connection
-- @qt QWebSocket::peerAddress
delegate("peerAddress", nil)
--- The peer's port; 0 when there is no connection.
-- @function peerPort
-- @treturn integer
-- @qt QWebSocket::peerPort
delegate("peerPort", 0)
--- The local address of the connection.
-- @function localAddress
-- @treturn HostAddress|nil nil when there is no connection
-- @qt QWebSocket::localAddress
delegate("localAddress", nil)
--- The local port of the connection; 0 when there is none.
-- @function localPort
-- @treturn integer
-- @qt QWebSocket::localPort
delegate("localPort", 0)
--- How many bytes wait to be sent.
-- @function bytesToWrite
-- @treturn integer
-- @qt QWebSocket::bytesToWrite
delegate("bytesToWrite", 0)

-- Waits (a task suspends; elsewhere the loop runs) until `done()` or ms,
-- looking again at each state change (an error ends in one too).
local function wait_until(ws, done, ms)
  local deadline = net.clock() + (ms or 30000)
  while not done() do
    local left = deadline - net.clock()
    if left <= 0 then return false end
    ws.stateChanged:wait(left)
  end
  return true
end

--- Waits until the handshake has succeeded, or failed (a task suspends;
-- elsewhere the loop runs).
-- @function waitForConnected
-- @tparam[opt=30000] number ms
-- @treturn boolean whether it is connected
function methods:waitForConnected(ms)
  return wait_until(self, function() return self:state() == "ConnectedState" or self:error() ~= "UnknownSocketError" end, ms)
    and self:state() == "ConnectedState"
end

--- Waits until the WebSocket is unconnected.
-- @function waitForDisconnected
-- @tparam[opt=30000] number ms
-- @treturn boolean false on the time-out
function methods:waitForDisconnected(ms)
  return wait_until(self, function() return self:state() == "UnconnectedState" end, ms)
end

--- req:upgradeToWebSocket(res [, { subprotocols = {...}, deflate = true }]), in an
-- HttpServer handler: a valid WebSocket handshake is answered 101 and the
-- connection becomes the WebSocket returned, so one port serves pages and
-- WebSockets; anything else is answered 400 (426 for another version) and
-- nil and why are returned. The judging is C's (daemon/ws/ws_request.c),
-- as for a WebSocketServer's connections.
-- @function HttpRequest:upgradeToWebSocket
-- @within HttpRequest methods
-- @tparam HttpResponse res
-- @tparam[opt] table options subprotocols (those the server speaks, in its order of preference), deflate
-- @treturn WebSocket|nil the server side's WebSocket, connected; or nil and why
function net.HttpServer.Request.upgradeToWebSocket(req, res, opts)
  local h = req.headers
  local answer, terms, protocol = net.WebSocket._answerUpgrade(req.method, req.version, req.target, h,
    opts and opts.subprotocols, opts and opts.deflate)
  if not answer then
    local status = terms
    res:writeHead(status, status == 426 and { ["Sec-WebSocket-Version"] = "13" } or nil)
    res:finish()
    return nil, status == 426 and "unsupported WebSocket version" or "not a WebSocket handshake"
  end
  local sock = res:_upgrade()
  sock:write(answer)
  local ws = net.WebSocket()
  ws:_attach(sock, "server", terms or nil, req.target, h.origin, protocol)
  return ws
end

return {
  parse_url = parse_url,
  handshake = handshake,
}
