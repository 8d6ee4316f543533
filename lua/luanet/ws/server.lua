--- luanet.ws.server: net.WebSocketServer, Qt's QWebSocketServer, on a
-- TcpServer of its own (listen) or on sockets a caller hands it
-- (handleConnection: the daemon's listeners, an HttpServer's upgrade).
--
--   local server = net.WebSocketServer("echo", "NonSecureMode")
--   server.newConnection:connect(function()
--     local ws = server:nextPendingConnection()
--     ws.textMessageReceived:connect(function(m) ws:sendTextMessage(m) end)
--   end)
--   server:listen("127.0.0.1", 8080)
--
-- A handshake that fails (a request that is no WebSocket handshake, a
-- time-out, a refused origin) is answered and reported with serverError.
-- @classmod WebSocketServer
-- @qt QWebSocketServer
local net = require "luanet.core"

local methods = {}
local mt = { __name = "luanet.WebSocketServer", __index = methods }

function mt:__tostring()
  return ("luanet.WebSocketServer (%s, %s)"):format(self._name, self._tcp and "listening" or "not listening")
end

--- A new server: net.WebSocketServer(name, mode [, { deflate = true }]); deflate takes the client's
-- permessage-deflate offers (RFC 7692).
-- @function net.WebSocketServer
-- @tparam[opt=""] string name sent as the Server header
-- @tparam[opt="NonSecureMode"] string mode a SslMode name
-- @tparam[opt] table options deflate
-- @treturn WebSocketServer
-- @qt QWebSocketServer::QWebSocketServer
local function new(name, mode, opts)
  mode = mode or "NonSecureMode"
  assert(mode == "NonSecureMode" or mode == "SecureMode",
    "bad argument #2 to 'WebSocketServer' (\"NonSecureMode\" or \"SecureMode\" expected)")
  local self = setmetatable({
    _name = name or "", _mode = mode, _pending = {}, _max_pending = 30, _timeout = 10000,
    _subprotocols = nil, _tls = nil, _deflate = opts and opts.deflate or false,
  }, mt)
--- Emitted when a handshake has succeeded and its WebSocket is pending.
-- @signal newConnection
-- @qt QWebSocketServer::newConnection
  self.newConnection = net.Signal()
--- Qt's; not emitted (a TcpServer's acceptError is).
-- @signal acceptError
-- @qt QWebSocketServer::acceptError
  self.acceptError = net.Signal()
--- Emitted when a handshake failed.
-- @signal serverError
-- @tparam integer closeCode CloseCodeProtocolError
-- @tparam string why
-- @qt QWebSocketServer::serverError
  self.serverError = net.Signal()
--- Emitted when close stops the listening.
-- @signal closed
-- @qt QWebSocketServer::closed
  self.closed = net.Signal()
--- Emitted for each handshake while setOriginCheck(true); a slot that
-- calls auth:setAllowed(false) refuses it (403).
-- @signal originAuthenticationRequired
-- @tparam WebSocketCorsAuthenticator auth
-- @qt QWebSocketServer::originAuthenticationRequired
  self.originAuthenticationRequired = net.Signal()
  return self
end

-- originAuthenticationRequired's argument, Qt's QWebSocketCorsAuthenticator.
local authenticator_mt = { __name = "luanet.WebSocketCorsAuthenticator", __index = {
--- The Origin of the handshake.
-- @function WebSocketCorsAuthenticator:origin
-- @within WebSocketCorsAuthenticator
-- @treturn string
-- @qt QWebSocketCorsAuthenticator::origin
  origin = function(self) return self._origin end,
--- Whether the handshake is allowed (true until a slot says otherwise).
-- @function WebSocketCorsAuthenticator:allowed
-- @within WebSocketCorsAuthenticator
-- @treturn boolean
-- @qt QWebSocketCorsAuthenticator::allowed
  allowed = function(self) return self._allowed end,
--- Allows or refuses the handshake.
-- @function WebSocketCorsAuthenticator:setAllowed
-- @within WebSocketCorsAuthenticator
-- @tparam boolean allowed
-- @qt QWebSocketCorsAuthenticator::setAllowed
  setAllowed = function(self, v) self._allowed = v and true or false end,
} }

--- Makes the opening handshake on a connected TcpSocket (the daemon's
-- listeners, a TcpServer of the caller's); newConnection or serverError
-- follows. The handshake of one connection, in C (daemon/ws/ws_handshake.c: a
-- server holds thousands of idle WebSockets, and a handshake in Lua left
-- each of them its garbage); it reads _timeout, _subprotocols, _deflate
-- and _check_origin, and ends in _handshakeDone.
-- @function handleConnection
-- @tparam TcpSocket socket
-- @qt QWebSocketServer::handleConnection
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

--- setOriginCheck(true): originAuthenticationRequired is emitted for every
-- handshake, and a slot that calls auth:setAllowed(false) refuses it (403).
-- @function setOriginCheck
-- @tparam boolean on
function methods:setOriginCheck(on) self._check_origin = on and true or false end

--- Listens on a TcpServer of its own (encrypted after setSslConfiguration).
-- @function listen
-- @tparam[opt="127.0.0.1"] string|HostAddress address
-- @tparam[opt=0] integer port
-- @treturn boolean true, or false with errorString()
-- @qt QWebSocketServer::listen
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

--- Stops listening (closed is emitted); the connections made stay.
-- @function close
-- @qt QWebSocketServer::close
function methods:close()
  if self._tcp then
    self._tcp:close()
    self._tcp = nil
    self.closed:emit()
  end
end

--- Whether the server listens.
-- @function isListening
-- @treturn boolean
-- @qt QWebSocketServer::isListening
function methods:isListening() return self._tcp ~= nil end
--- The port it listens on; 0 when it does not.
-- @function serverPort
-- @treturn integer
-- @qt QWebSocketServer::serverPort
function methods:serverPort() return self._tcp and self._tcp:serverPort() or 0 end
--- The address it listens on.
-- @function serverAddress
-- @treturn HostAddress|nil nil when it does not listen
-- @qt QWebSocketServer::serverAddress
function methods:serverAddress() return self._tcp and self._tcp:serverAddress() end
--- The URL it listens on ("ws://127.0.0.1:8080"); "" when it does not.
-- @function serverUrl
-- @treturn string
-- @qt QWebSocketServer::serverUrl
function methods:serverUrl()
  if not self._tcp then return "" end
  local addr = tostring(self._tcp:serverAddress())
  if addr:find(":", 1, true) then addr = "[" .. addr .. "]" end
  return ("%s://%s:%d"):format(self._mode == "SecureMode" and "wss" or "ws", addr, self._tcp:serverPort())
end
--- The last error's text (listen's); "" before any.
-- @function errorString
-- @treturn string
-- @qt QWebSocketServer::errorString
function methods:errorString() return self._error or "" end
--- The name given to net.WebSocketServer.
-- @function serverName
-- @treturn string
-- @qt QWebSocketServer::serverName
function methods:serverName() return self._name end
--- "NonSecureMode" or "SecureMode".
-- @function secureMode
-- @treturn string
-- @qt QWebSocketServer::secureMode
function methods:secureMode() return self._mode end
--- Whether connected WebSockets wait in the queue.
-- @function hasPendingConnections
-- @treturn boolean
-- @qt QWebSocketServer::hasPendingConnections
function methods:hasPendingConnections() return #self._pending > 0 end
--- Takes the oldest connected WebSocket from the queue.
-- @function nextPendingConnection
-- @treturn WebSocket|nil nil when none waits
-- @qt QWebSocketServer::nextPendingConnection
function methods:nextPendingConnection() return table.remove(self._pending, 1) end
--- Bounds the queue (30 by default): a handshake done while it is full is dropped.
-- @function setMaxPendingConnections
-- @tparam integer n
-- @qt QWebSocketServer::setMaxPendingConnections
function methods:setMaxPendingConnections(n) self._max_pending = n end
--- The bound of the queue.
-- @function maxPendingConnections
-- @treturn integer
-- @qt QWebSocketServer::maxPendingConnections
function methods:maxPendingConnections() return self._max_pending end
--- The time a handshake may take (10000 ms by default).
-- @function setHandshakeTimeout
-- @tparam number ms
-- @qt QWebSocketServer::setHandshakeTimeout
function methods:setHandshakeTimeout(ms) self._timeout = ms end
--- The time a handshake may take.
-- @function handshakeTimeoutMS
-- @treturn number ms
-- @qt QWebSocketServer::handshakeTimeoutMS
function methods:handshakeTimeoutMS() return self._timeout end
--- The subprotocols the server speaks, in its order of preference.
-- @function setSupportedSubprotocols
-- @tparam {string,...} list
-- @qt QWebSocketServer::setSupportedSubprotocols
function methods:setSupportedSubprotocols(list) self._subprotocols = list end
--- The subprotocols the server speaks.
-- @function supportedSubprotocols
-- @treturn {string,...}
-- @qt QWebSocketServer::supportedSubprotocols
function methods:supportedSubprotocols() return self._subprotocols or {} end
--- The TLS configuration of the next listen (as TcpServer:setSslConfiguration's).
-- @function setSslConfiguration
-- @tparam table options
-- @qt QWebSocketServer::setSslConfiguration
function methods:setSslConfiguration(cfg) self._tls = cfg end
--- Whether the server takes the clients' permessage-deflate offers.
-- @function setPerMessageDeflate
-- @tparam boolean on
function methods:setPerMessageDeflate(on) self._deflate = on and true or false end
--- Whether the server takes permessage-deflate offers.
-- @function perMessageDeflate
-- @treturn boolean
function methods:perMessageDeflate() return self._deflate end

return { new = new }
