--- luanet.http.qhttp: net.Http, Qt 4's QHttp. Commands are queued and return
-- ids; each is framed by requestStarted(id) and requestFinished(id,
-- error), and done(error) comes when the queue is empty. After an error
-- the pending commands are cleared and get no signals, as in Qt.
--
--   local http = net.Http()
--   http:setHost("127.0.0.1", 8080)
--   local id = http:get("/file")          -- to readyRead/readAll
--   http:get("/big", "big.bin")           -- or to a file (or a function)
--   http.requestFinished:connect(function(id, err) ... end)
--   http.done:connect(function(err) net.quit() end)
--
-- Beyond Qt the requests run in a task of their own, so slots see the
-- signals as Qt's event loop would deliver them; connections are kept
-- alive between requests to one host.
--
-- A failure is requestFinished(id, true) then done(true), with error()
-- and errorString(); there is no errorOccurred, as QHttp has none.
-- http.timeout (ms, 30000) bounds each request.
-- @classmod Http
-- @qt QHttp (Qt 4)
-- @usage local http = net.Http()
-- http:setHost("127.0.0.1", 8080)
-- http:get("/file")
-- http.done:connect(function(err) print(err or http:readAll()); net.quit() end)
local net = require "luanet.core"
local client = require "luanet.http.client"

--- The state, as state() and stateChanged give it.
-- @enum State
-- @field Unconnected Qt: 0
-- @field HostLookup Qt: 1
-- @field Connecting Qt: 2
-- @field Sending Qt: 3
-- @field Reading Qt: 4
-- @field Connected Qt: 5
-- @field Closing Qt: 6
-- @qt QHttp::State
local STATES = { "Unconnected", "HostLookup", "Connecting", "Sending", "Reading", "Connected", "Closing" }
--- The last error, as error() gives it.
-- @enum Error
-- @field NoError Qt: 0
-- @field UnknownError Qt: 1, anything else (a TLS failure, a file that cannot be opened, HTTPS through a proxy)
-- @field HostNotFound Qt: 2
-- @field ConnectionRefused Qt: 3
-- @field UnexpectedClose Qt: 4
-- @field InvalidResponseHeader Qt: 5
-- @field WrongContentLength Qt: 6
-- @field Aborted Qt: 7
-- @field AuthenticationRequiredError Qt: 8, a 401
-- @field ProxyAuthenticationRequiredError Qt: 9, a 407
-- @qt QHttp::Error
local ERRORS = { "NoError", "UnknownError", "HostNotFound", "ConnectionRefused", "UnexpectedClose",
                 "InvalidResponseHeader", "WrongContentLength", "Aborted", "AuthenticationRequiredError",
                 "ProxyAuthenticationRequiredError" }
--- Emitted when the state changes.
-- @signal stateChanged
-- @tparam string state a State name
-- @qt QHttp::stateChanged

--- Emitted when a command starts.
-- @signal requestStarted
-- @tparam integer id
-- @qt QHttp::requestStarted

--- Emitted when a command ends.
-- @signal requestFinished
-- @tparam integer id
-- @tparam boolean error
-- @qt QHttp::requestFinished

--- Emitted when a response's head has come.
-- @signal responseHeaderReceived
-- @tparam table response { statusCode, reasonPhrase, headers (lower-case names), contentLength }
-- @qt QHttp::responseHeaderReceived

--- Emitted when body bytes have come for readAll (a request without a destination).
-- @signal readyRead
-- @tparam table response as responseHeaderReceived's
-- @qt QHttp::readyRead

--- Emitted as the body comes.
-- @signal dataReadProgress
-- @tparam integer done bytes
-- @tparam integer total bytes, 0 when not known
-- @qt QHttp::dataReadProgress

--- Emitted when a request's body has been sent.
-- @signal dataSendProgress
-- @tparam integer done
-- @tparam integer total
-- @qt QHttp::dataSendProgress

--- Emitted when the queue is empty (or cleared by an error).
-- @signal done
-- @tparam boolean error
-- @qt QHttp::done

--- Emitted for an https host whose certificate has errors; a slot that
-- calls ignoreSslErrors lets the connection go on.
-- @signal sslErrors
-- @tparam {table,...} errors as TcpSocket's sslErrors
-- @qt QHttp::sslErrors
local SIGNALS = { "stateChanged", "requestStarted", "requestFinished", "responseHeaderReceived", "readyRead",
                  "dataReadProgress", "dataSendProgress", "done", "sslErrors" }

local methods = {}
local mt = { __name = "luanet.Http", __index = methods }

function mt:__tostring()
  if not self._host then return ("luanet.Http (%s)"):format(self._state) end
  return ("luanet.Http (%s %s:%s)"):format(self._state, self._host, tostring(self._port))
end

local function set_state(self, state)
  if self._state == state then return end
  self._state = state
  self.stateChanged:emit(state)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Basic authentication's encoding: three bytes to four characters.
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local quad = {}
    for k = 1, 4 do
      local v = (n >> (6 * (4 - k))) & 63
      quad[k] = B64:sub(v + 1, v + 1)
    end
    if not b then quad[3] = "=" end
    if not c then quad[4] = "=" end
    out[#out + 1] = table.concat(quad)
  end
  return table.concat(out)
end

local function fail(self, code, text)
  self._error, self._errorString = code, text
end

-- Runs one request command in the queue's task.
local function run_request(self, cmd)
  local host, port = self._host, self._port
  if not host then
    fail(self, "UnknownError", "No host set")
    return false
  end
  local target = cmd.header.path or "/"
  local scheme = self._https and "https" or "http"
  local u = { scheme = scheme, host = host, port = port, target = target,
              authority = client.authority(host, port, scheme) }
  local via = u
  if self._proxy then   -- an HTTP proxy takes the absolute URI
    if self._https then
      fail(self, "UnknownError", "HTTPS through a proxy (CONNECT) is not supported")
      return false
    end
    via = { scheme = "http", host = self._proxy.host, port = self._proxy.port, authority = u.authority,
            target = ("http://%s%s"):format(u.authority, target) }
  end
  set_state(self, "Connecting")
  local deadline = net.clock() + self.timeout
  -- sslErrors(errors) as Qt's: a slot may call http:ignoreSslErrors().
  local on_errors = function(sock, errors)
    self._ignore = false
    self.sslErrors:emit(errors)
    if self._ignore then sock:ignoreSslErrors() end
  end
  local conn, err, kind = client.connect(via, deadline, nil, on_errors, not self._proxy)
  if not conn then
    if kind == "dns" then
      fail(self, "HostNotFound", ("Host %s not found"):format(via.host))
    elseif kind == "tls" then
      fail(self, "UnknownError", err)
    else
      fail(self, "ConnectionRefused", "Connection refused")
    end
    return false
  end
  self._conn = conn
  local headers = {}
  for k, v in pairs(cmd.header.headers or {}) do headers[k] = v end
  if self._user and not headers.Authorization then
    headers.Authorization = "Basic " .. base64(self._user .. ":" .. (self._password or ""))
  end
  if self._proxy and self._proxy.user then
    headers["Proxy-Authorization"] = "Basic " .. base64(self._proxy.user .. ":" .. (self._proxy.password or ""))
  end
  headers.Host = headers.Host or u.authority
  local sink = cmd.to
  local file
  if type(sink) == "string" then
    file = io.open(sink, "wb")
    if not file then
      fail(self, "UnknownError", "Cannot open " .. sink)
      client.abort(conn)
      return false
    end
    sink = function(chunk) file:write(chunk) end
  end
  set_state(self, "Sending")
  local body = cmd.data
  local res
  res, err = client.exchange(conn, {
    method = cmd.header.method or "GET", headers = headers, body = body,
    on_head = function(r)
      set_state(self, "Reading")
      self._last = { statusCode = r.status, reasonPhrase = r.reason, headers = r.headers,
                     contentLength = r.length }
      self.responseHeaderReceived:emit(self._last)
    end,
    sink = function(chunk)
      if sink then sink(chunk) else
        self._buffer[#self._buffer + 1] = chunk
        self._available = self._available + #chunk
        self.readyRead:emit(self._last)
      end
    end,
    progress = function(done, total) self.dataReadProgress:emit(done, total or 0) end,
  }, via, deadline)
  if body then self.dataSendProgress:emit(#body, #body) end
  if file then file:close() end
  self._conn = nil
  if self._aborted then
    client.abort(conn)
    fail(self, "Aborted", "Request aborted")
    return false
  end
  if not res then
    client.abort(conn)
    if err:find("closed before", 1, true) then
      fail(self, "UnexpectedClose", "Connection closed unexpectedly")
    elseif err:find("malformed", 1, true) then
      fail(self, "InvalidResponseHeader", "Invalid HTTP response header")
    else
      fail(self, "UnknownError", err)
    end
    return false
  end
  client.finish(conn, res)
  if res.status == 401 then fail(self, "AuthenticationRequiredError", "Authentication required") return false end
  if res.status == 407 then
    fail(self, "ProxyAuthenticationRequiredError", "Proxy authentication required")
    return false
  end
  return true
end

-- The queue: one command after another, in a task.
local function run_queue(self)
  self._running = true
  while #self._queue > 0 do
    local cmd = table.remove(self._queue, 1)
    self._current = cmd
    self._aborted = false
    self.requestStarted:emit(cmd.id)
    local ok = true
    if cmd.kind == "setHost" then
      self._host, self._port, self._https = cmd.host, cmd.port, cmd.https
    elseif cmd.kind == "setUser" then
      self._user, self._password = cmd.user, cmd.password
    elseif cmd.kind == "setProxy" then
      self._proxy = cmd.proxy
    elseif cmd.kind == "close" then
      set_state(self, "Closing")
    elseif cmd.kind == "request" then
      self._buffer, self._available = {}, 0
      ok = run_request(self, cmd)
    end
    self._current = nil
    if not ok then
      set_state(self, "Unconnected")
      self._queue = {}   -- as Qt: after an error the rest is dropped, unheard
      self.requestFinished:emit(cmd.id, true)
      self._running = false
      self.done:emit(true)
      return
    end
    self._error, self._errorString = "NoError", ""
    if cmd.kind == "close" then
      set_state(self, "Unconnected")
    elseif cmd.kind == "request" then
      set_state(self, "Connected")
    end
    self.requestFinished:emit(cmd.id, false)
  end
  self._running = false
  self.done:emit(false)
end

local function enqueue(self, cmd)
  self._lastId = self._lastId + 1
  cmd.id = self._lastId
  self._queue[#self._queue + 1] = cmd
  if not self._running then
    self._running = true
    net.Timer.singleShot(0, function() net.spawn(run_queue, self) end)
  end
  return cmd.id
end

--- Queues the host of the next requests: setHost(host, [mode or port], [port]); mode is "ConnectionModeHttp" or
-- "ConnectionModeHttps" (verified against the system CA store; sslErrors
-- and ignoreSslErrors() as in Qt).
-- @function setHost
-- @tparam string host
-- @tparam[opt="ConnectionModeHttp"] string|integer mode or the port
-- @tparam[opt] integer port 80, or 443 for https
-- @treturn integer the command's id
-- @qt QHttp::setHost
function methods:setHost(host, mode, port)
  if type(mode) == "number" then mode, port = "ConnectionModeHttp", mode end
  mode = mode or "ConnectionModeHttp"
  if mode ~= "ConnectionModeHttp" and mode ~= "ConnectionModeHttps" then
    error("Http:setHost(): unknown connection mode " .. tostring(mode), 2)
  end
  local https = mode == "ConnectionModeHttps"
  return enqueue(self, { kind = "setHost", host = host, port = port or (https and 443 or 80), https = https })
end

--- Queues a request.
-- @function request
-- @tparam table header { method = "GET", path = "/", headers = { name = value } }
-- @tparam[opt] string data the body
-- @tparam[opt] string|function to where the body goes: a file path or function(chunk); readAll by default
-- @treturn integer the command's id
-- @qt QHttp::request
function methods:request(header, data, to)
  if type(header) ~= "table" then error("Http:request(): a header table expected", 2) end
  return enqueue(self, { kind = "request", header = header, data = data, to = to })
end

--- Queues a GET.
-- @function get
-- @tparam string path
-- @tparam[opt] string|function to as request's
-- @treturn integer the command's id
-- @qt QHttp::get
function methods:get(path, to)
  return self:request({ method = "GET", path = path }, nil, to)
end

--- Queues a HEAD.
-- @function head
-- @tparam string path
-- @treturn integer the command's id
-- @qt QHttp::head
function methods:head(path)
  return self:request({ method = "HEAD", path = path })
end

--- Queues a POST of a form (application/x-www-form-urlencoded).
-- @function post
-- @tparam string path
-- @tparam string data
-- @tparam[opt] string|function to as request's
-- @treturn integer the command's id
-- @qt QHttp::post
function methods:post(path, data, to)
  return self:request({ method = "POST", path = path,
                        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } }, data, to)
end

--- Queues the closing of the connection.
-- @function close
-- @treturn integer the command's id
-- @qt QHttp::close
function methods:close()
  return enqueue(self, { kind = "close" })
end

--- Queues the user of the next requests (Basic authentication).
-- @function setUser
-- @tparam string user
-- @tparam[opt] string password
-- @treturn integer the command's id
-- @qt QHttp::setUser
function methods:setUser(user, password)
  return enqueue(self, { kind = "setUser", user = user, password = password })
end

--- Queues a proxy: requests go through an HTTP
-- proxy; host nil switches it off.
-- @function setProxy
-- @tparam string|nil host
-- @tparam[opt=8080] integer port
-- @tparam[opt] string user
-- @tparam[opt] string password
-- @treturn integer the command's id
-- @qt QHttp::setProxy
function methods:setProxy(host, port, user, password)
  return enqueue(self, { kind = "setProxy",
                         proxy = host and { host = host, port = port or 8080, user = user, password = password } })
end

--- Drops the queue and aborts the request in progress (Aborted).
-- @function abort
-- @qt QHttp::abort
function methods:abort()
  self._queue = {}
  if self._current then
    self._aborted = true
    if self._conn then client.abort(self._conn) end
  end
end

--- From a slot of sslErrors, the connection goes on.
-- @function ignoreSslErrors
-- @qt QHttp::ignoreSslErrors
function methods:ignoreSslErrors() self._ignore = true end

--- The body bytes come so far, taken.
-- @function readAll
-- @treturn string
-- @qt QHttp::readAll
function methods:readAll()
  local data = table.concat(self._buffer)
  self._buffer, self._available = {}, 0
  return data
end

--- How many body bytes readAll would give.
-- @function bytesAvailable
-- @treturn integer
-- @qt QHttp::bytesAvailable
function methods:bytesAvailable() return self._available end
--- The last response's head.
-- @function lastResponse
-- @treturn table|nil as responseHeaderReceived's
-- @qt QHttp::lastResponse
function methods:lastResponse() return self._last end
--- The id of the command in progress; 0 when none.
-- @function currentId
-- @treturn integer
-- @qt QHttp::currentId
function methods:currentId() return self._current and self._current.id or 0 end
--- The header table of the request in progress.
-- @function currentRequest
-- @treturn table|nil
-- @qt QHttp::currentRequest
function methods:currentRequest() return self._current and self._current.header end
--- Whether commands wait in the queue.
-- @function hasPendingRequests
-- @treturn boolean
-- @qt QHttp::hasPendingRequests
function methods:hasPendingRequests() return #self._queue > 0 end
--- Drops the commands that wait (not the one in progress).
-- @function clearPendingRequests
-- @qt QHttp::clearPendingRequests
function methods:clearPendingRequests() self._queue = {} end
--- The state.
-- @function state
-- @treturn string a State name
-- @qt QHttp::state
function methods:state() return self._state end
--- The last error.
-- @function error
-- @treturn string an Error name
-- @qt QHttp::error
function methods:error() return self._error end
--- The last error's text; "" when none.
-- @function errorString
-- @treturn string
-- @qt QHttp::errorString
function methods:errorString() return self._errorString end

--- A new Http, Unconnected, with no host.
-- @function net.Http
-- @treturn Http
-- @qt QHttp::QHttp
local function new()
  local self = setmetatable({ _queue = {}, _lastId = 0, _state = "Unconnected", _error = "NoError",
                              _errorString = "", _buffer = {}, _available = 0, timeout = 30000 }, mt)
  for _, name in ipairs(SIGNALS) do self[name] = net.Signal() end
  return self
end

return { new = new, base64 = base64, STATES = STATES, ERRORS = ERRORS }
