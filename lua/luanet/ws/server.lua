-- luanet.ws.server: net.WebSocketServer, Qt's QWebSocketServer, on a
-- TcpServer of its own (listen) or on sockets a caller hands it
-- (handleConnection: the daemon's listeners, an HttpServer's upgrade).
--
--   local server = net.WebSocketServer("echo", "NonSecureMode")
--   server.newConnection:connect(function()
--     local ws = server:nextPendingConnection()
--     ws.textMessageReceived:connect(function(m) ws:sendTextMessage(m) end)
--   end)
--   server:listen("127.0.0.1", 8080)
local net = require "luanet.core"

local methods = {}
local mt = { __name = "luanet.WebSocketServer", __index = methods }

function mt:__tostring()
  return ("luanet.WebSocketServer (%s, %s)"):format(self._name, self._tcp and "listening" or "not listening")
end

-- new(name, mode [, { deflate = true }]): deflate takes the client's
-- permessage-deflate offers (RFC 7692).
local function new(name, mode, opts)
  mode = mode or "NonSecureMode"
  assert(mode == "NonSecureMode" or mode == "SecureMode",
    "bad argument #2 to 'WebSocketServer' (\"NonSecureMode\" or \"SecureMode\" expected)")
  local self = setmetatable({
    _name = name or "", _mode = mode, _pending = {}, _max_pending = 30, _timeout = 10000,
    _subprotocols = nil, _tls = nil, _deflate = opts and opts.deflate or false,
  }, mt)
  self.newConnection = net.Signal()
  self.acceptError = net.Signal()
  self.serverError = net.Signal()
  self.closed = net.Signal()
  self.originAuthenticationRequired = net.Signal()
  return self
end

-- originAuthenticationRequired's argument, Qt's QWebSocketCorsAuthenticator.
local authenticator_mt = { __name = "luanet.WebSocketCorsAuthenticator", __index = {
  origin = function(self) return self._origin end,
  allowed = function(self) return self._allowed end,
  setAllowed = function(self, v) self._allowed = v and true or false end,
} }

-- The handshake of one connection, in C (daemon/ws/ws_handshake.c: a
-- server holds thousands of idle WebSockets, and a handshake in Lua left
-- each of them its garbage); it reads _timeout, _subprotocols, _deflate
-- and _check_origin, and ends in _handshakeDone.
function methods:handleConnection(sock)
  net.WebSocket._serverHandshake(sock, self)
end

-- The handshake's end: the WebSocket joins the pending list and
-- newConnection is emitted; or it failed (why), and serverError is.
function methods:_handshakeDone(ws, why)
  if not ws then
    self.serverError:emit(net.WebSocket.CloseCodeProtocolError, why)
    return
  end
  if #self._pending >= self._max_pending then
    ws:abort()
    return
  end
  self._pending[#self._pending + 1] = ws
  self.newConnection:emit()
end

-- Asked by the handshake when origins are checked: whether a slot of
-- originAuthenticationRequired refused this one.
function methods:_originAllowed(origin)
  local auth = setmetatable({ _origin = origin, _allowed = true }, authenticator_mt)
  self.originAuthenticationRequired:emit(auth)
  return auth._allowed
end

-- setOriginCheck(true): originAuthenticationRequired is emitted for every
-- handshake, and a slot that calls auth:setAllowed(false) refuses it (403).
function methods:setOriginCheck(on) self._check_origin = on and true or false end

function methods:listen(address, port)
  local tcp = net.TcpServer()
  if self._tls then tcp:setSslConfiguration(self._tls) end
  if not tcp:listen(address or "127.0.0.1", port or 0) then
    self._error = tcp:errorString()
    return false
  end
  self._tcp = tcp
  tcp.newConnection:connect(function()
    while tcp:hasPendingConnections() do self:handleConnection(tcp:nextPendingConnection()) end
  end)
  return true
end

function methods:close()
  if self._tcp then
    self._tcp:close()
    self._tcp = nil
    self.closed:emit()
  end
end

function methods:isListening() return self._tcp ~= nil end
function methods:serverPort() return self._tcp and self._tcp:serverPort() or 0 end
function methods:serverAddress() return self._tcp and self._tcp:serverAddress() end
function methods:serverUrl()
  if not self._tcp then return "" end
  local addr = tostring(self._tcp:serverAddress())
  if addr:find(":", 1, true) then addr = "[" .. addr .. "]" end
  return ("%s://%s:%d"):format(self._mode == "SecureMode" and "wss" or "ws", addr, self._tcp:serverPort())
end
function methods:errorString() return self._error or "" end
function methods:serverName() return self._name end
function methods:secureMode() return self._mode end
function methods:hasPendingConnections() return #self._pending > 0 end
function methods:nextPendingConnection() return table.remove(self._pending, 1) end
function methods:setMaxPendingConnections(n) self._max_pending = n end
function methods:maxPendingConnections() return self._max_pending end
function methods:setHandshakeTimeout(ms) self._timeout = ms end
function methods:handshakeTimeoutMS() return self._timeout end
function methods:setSupportedSubprotocols(list) self._subprotocols = list end
function methods:supportedSubprotocols() return self._subprotocols or {} end
function methods:setSslConfiguration(cfg) self._tls = cfg end
function methods:setPerMessageDeflate(on) self._deflate = on and true or false end
function methods:perMessageDeflate() return self._deflate end

return { new = new }
