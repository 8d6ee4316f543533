-- luanet.http_server: the HTTP/1.1 server of luanet.http, on net.HttpParser
-- (llhttp in C), shaped for a user who knows Node's http module:
--
--   local server = net.HttpServer{ maxBody = 1 << 20 }
--   server.request:connect(function(req, res)
--     res:setHeader("Content-Type", "text/plain")
--     res:finish("Hello, World!\n")
--   end)
--   server:listen("127.0.0.1", 8080)      -- or server:serve(tcpServer)
--
-- req: method, target, path, query, version ("1.1"), headers (lower-case
-- names), body (buffered, up to maxBody), socket. res: statusCode,
-- setHeader, getHeader, removeHeader, writeHead, write (chunked when no
-- Content-Length was set), finish. Requests of one connection are
-- answered in order (pipelining): the next is parsed once the current
-- response has finished. Keep-alive, HEAD, Expect: 100-continue and
-- HTTP/1.0 are handled here; limits answer 400 (malformed), 408 (head
-- not complete in time), 413 (body too large), 431 (head too large).
local net = require "luanet.core"

local http = {}   -- this module: Server, REASONS, date

local REASONS = {
  [100] = "Continue", [101] = "Switching Protocols", [200] = "OK", [201] = "Created",
  [202] = "Accepted", [204] = "No Content", [206] = "Partial Content", [301] = "Moved Permanently",
  [302] = "Found", [303] = "See Other", [304] = "Not Modified", [307] = "Temporary Redirect",
  [308] = "Permanent Redirect", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [412] = "Precondition Failed", [413] = "Content Too Large",
  [414] = "URI Too Long", [415] = "Unsupported Media Type", [416] = "Range Not Satisfiable",
  [417] = "Expectation Failed", [429] = "Too Many Requests", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout", [505] = "HTTP Version Not Supported",
}
http.REASONS = REASONS

local DEFAULTS = {
  maxHeader = 16 * 1024,        -- bytes of request line and headers (431 past it)
  maxBody = 1024 * 1024,        -- bytes of a buffered body (413 past it)
  headerTimeout = 10000,        -- ms from a request's first byte to its last header (408)
  keepAliveTimeout = 5000,      -- ms an idle keep-alive connection stays open
  accessLog = nil,              -- function(line) for a common-log-format line per request
}

-- The HTTP-date (RFC 9110) of a time, seconds since the epoch.
function http.date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

-- The Date header, made once a second.
local date_second, date_text
local function http_date()
  local now = os.time()
  if now ~= date_second then
    date_second, date_text = now, http.date(now)
  end
  return date_text
end

local function split_target(target)
  local path, query = target:match("^([^?]*)%??(.*)$")
  return path, query ~= "" and query or nil
end

-- ---------------------------------------------------------------- response

local Response = {}
Response.__index = Response
Response.__name = "luanet.HttpResponse"

local function new_response(conn, req)
  return setmetatable({ conn = conn, req = req, statusCode = 200, headers = {}, names = {},
                        headersSent = false, finished = false, bytes = 0 }, Response)
end

-- Header names keep the case they were set with; lookups ignore it.
function Response:setHeader(name, value)
  local key = name:lower()
  if self.headers[key] == nil then self.names[#self.names + 1] = key end
  self.headers[key] = { name, tostring(value) }
end

function Response:getHeader(name)
  local h = self.headers[name:lower()]
  return h and h[2]
end

function Response:removeHeader(name)
  self.headers[name:lower()] = nil
end

function Response:writeHead(status, headers)
  self.statusCode = status
  for k, v in pairs(headers or {}) do self:setHeader(k, v) end
  return self
end

-- The status line and headers, framing decided: Content-Length as set or
-- as known, else chunked (HTTP/1.1) or to the close (HTTP/1.0). Returns
-- the head for the caller to send with the first body bytes: one write
-- per response (two small ones would meet Nagle and a delayed ACK).
local function make_head(self, known_length)
  local conn, req = self.conn, self.req
  local status = self.statusCode
  local bodyless = req.method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200)
  if not self.headers["content-length"] and req.method == "HEAD" and known_length then
    self:setHeader("Content-Length", known_length)   -- what a GET would have had
  elseif not self.headers["content-length"] and not bodyless then
    if known_length then
      self:setHeader("Content-Length", known_length)
    elseif req.http11 then
      self:setHeader("Transfer-Encoding", "chunked")
      self.chunked = true
    else
      conn.close_after = true
    end
  end
  if conn.close_after or not req.keepAlive or conn.server.closing then
    conn.close_after = true
    self:setHeader("Connection", "close")
  elseif not req.http11 then
    self:setHeader("Connection", "keep-alive")
  end
  if not self.headers["date"] then self:setHeader("Date", http_date()) end
  local parts = { ("HTTP/1.1 %d %s\r\n"):format(status, REASONS[status] or "Unknown") }
  for _, key in ipairs(self.names) do
    local h = self.headers[key]
    if h then parts[#parts + 1] = h[1] .. ": " .. h[2] .. "\r\n" end
  end
  parts[#parts + 1] = "\r\n"
  self.headersSent = true
  self.bodyless = bodyless
  return table.concat(parts)
end

-- write(data): sends body bytes (chunked when no length was set); false
-- when the connection is gone. bytesToWrite() on req.socket tells the
-- back-pressure.
function Response:write(data)
  if self.finished then error("HttpResponse:write() after finish()", 2) end
  data = tostring(data)
  local head = not self.headersSent and make_head(self, nil) or ""
  if self.bodyless or #data == 0 then
    return #head == 0 or self.conn.sock:write(head) ~= false
  end
  self.bytes = self.bytes + #data
  if self.chunked then data = ("%x\r\n"):format(#data) .. data .. "\r\n" end
  return self.conn.sock:write(head .. data) ~= false
end

-- finish([data]): the end of the response; the connection goes on to the
-- next request, or closes.
function Response:finish(data)
  if self.finished then return end
  data = data and tostring(data) or ""
  if not self.headersSent then
    local head = make_head(self, #data)
    if not self.bodyless and #data > 0 then
      self.bytes = #data
      head = head .. data
    end
    self.conn.sock:write(head)
  else
    local tail = self.chunked and not self.bodyless and "0\r\n\r\n" or ""
    if #data > 0 and not self.bodyless then
      self.bytes = self.bytes + #data
      data = self.chunked and ("%x\r\n"):format(#data) .. data .. "\r\n" or data
    else
      data = ""
    end
    if #data + #tail > 0 then self.conn.sock:write(data .. tail) end
  end
  self.finished = true
  self.conn:finished(self)
end

-- sendFile(path, offset, length): the body from a file, through
-- sendfile(2) from the socket's write queue: never read into Lua.
function Response:sendFile(path, offset, length)
  if self.finished then error("HttpResponse:sendFile() after finish()", 2) end
  if self.headersSent then error("HttpResponse:sendFile() after write()", 2) end
  self.conn.sock:write(make_head(self, length))
  if not self.bodyless and length > 0 then
    if self.conn.sock:sendFile(path, offset, length) == false then
      self.conn.close_after = true   -- the head promised bytes that cannot come
    end
    self.bytes = length
  end
  self.finished = true
  self.conn:finished(self)
end

-- ---------------------------------------------------------------- connection

local Conn = {}
Conn.__index = Conn

local function common_log(conn, req, res)
  local log = conn.server.opts.accessLog
  if not log then return end
  log(('%s - - [%s] "%s %s HTTP/%s" %d %s'):format(
    conn.peer, os.date("%d/%b/%Y:%H:%M:%S %z"), req.method, req.target, req.version,
    res.statusCode, res.bytes > 0 and res.bytes or "-"))
end

-- A response the server makes itself (a limit, a malformed request), and
-- the close that follows.
function Conn:refuse(status, reason)
  if self.closed then return end
  local body = ("%d %s\n"):format(status, REASONS[status] or reason or "")
  self.sock:write(("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\nDate: %s\r\n\r\n%s")
    :format(status, REASONS[status] or "Error", #body, http_date(), body))
  self:close_soon()
end

function Conn:close_soon()
  self.closed = true
  self.timer:stop()
  self.sock:disconnectFromHost()
end

function Conn:arm(ms)
  self.timer:stop()
  self.timer:start(ms)
end

-- Parses what is pending until a request is complete (and handed out) or
-- the data runs out. After a head, the parser is stepped once more even
-- with no data left: a request without a body completes there.
function Conn:pump()
  while not self.closed and not self.current and (self.pending or self.stepping) do
    local data = self.pending or ""
    local what, nxt, status, reason = self.parser:execute(data, self.pending and self.from or 1)
    self.stepping = what == "headers"
    if self.pending then
      self.from = nxt
      if nxt > #self.pending then self.pending, self.from = nil, 1 end
    end
    if what == "error" then
      return self:refuse(status, reason)
    elseif what == "headers" then
      self.timer:stop()
      if not self:begin() then return end
    elseif what == "message" then
      if not self.req and not self:begin() then return end   -- a head that came with its message
      if self.parser:bodySize() > self.server.opts.maxBody then return self:refuse(413) end
      self:dispatch()
    elseif what == "more" then
      if self.req and self.parser:bodySize() > self.server.opts.maxBody then
        return self:refuse(413)
      end
      if not self.req and not self.timer:isActive() then self:arm(self.server.opts.headerTimeout) end
    end
  end
end

-- The head of a request is in: checks that can answer before the body.
function Conn:begin()
  local p, opts = self.parser, self.server.opts
  local major, minor = p:version()
  local target = p:target()
  local path, query = split_target(target)
  local headers = p:headers()
  local req = {
    method = p:method(), target = target, path = path, query = query,
    version = ("%d.%d"):format(major, minor), http11 = major == 1 and minor >= 1,
    headers = headers, keepAlive = p:keepAlive(), socket = self.sock, peer = self.peer,
  }
  self.req = req
  local length = p:contentLength()
  if length and length > opts.maxBody then
    self:refuse(413)
    return false
  end
  local expect = headers["expect"]
  if expect then
    if expect:lower() ~= "100-continue" then
      self:refuse(417)
      return false
    end
    if req.http11 then self.sock:write("HTTP/1.1 100 Continue\r\n\r\n") end
  end
  return true
end

function Conn:dispatch()
  local req = self.req
  self.req = nil
  self.partial = self.pending ~= nil   -- a pipelined request may have begun
  req.body = self.parser:takeBody()
  local res = new_response(self, req)
  self.current = res
  self.server.request:emit(req, res)
end

function Conn:finished(res)
  common_log(self, res.req, res)
  self.current = nil
  if self.close_after then return self:close_soon() end
  if self.closed then return end
  if self.pending then
    self:pump()
  else
    self:arm(self.server.opts.keepAliveTimeout)
  end
end

local function accept(server, sock)
  local conn = setmetatable({ server = server, sock = sock, parser = net.HttpParser("request", server.opts.maxHeader),
                              from = 1, timer = net.Timer() }, Conn)
  local addr = sock:peerAddress()
  conn.peer = addr and addr:toString() ~= "" and addr:toString() or "-"
  conn.timer:setSingleShot(true)
  conn.timer.timeout:connect(function()
    if conn.closed then return end
    if conn.current then return end             -- a handler is at work: its business
    if conn.partial then return conn:refuse(408) end   -- a request begun, not complete
    conn:close_soon()                           -- idle, or never spoke
  end)
  server.conns[conn] = true
  sock.readyRead:connect(function()
    local data = sock:readAll()
    if conn.closed or data == "" then return end
    conn.partial = true
    if conn.pending then
      conn.pending = conn.pending:sub(conn.from) .. data
      conn.from = 1
    else
      conn.pending, conn.from = data, 1
    end
    conn:pump()
  end)
  sock.disconnected:connect(function()
    conn.closed = true
    conn.timer:stop()
    server.conns[conn] = nil
  end)
  conn:arm(server.opts.headerTimeout)
end

-- ---------------------------------------------------------------- server

local Server = {}
Server.__index = Server
Server.__name = "luanet.HttpServer"

function http.Server(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "accessLog" then error(("HttpServer: unknown option %s"):format(k), 2) end
    o[k] = v
  end
  local server = setmetatable({ opts = o, conns = {}, request = net.Signal() }, Server)
  return server
end

-- serve(tcpServer): answers the connections of a listening TcpServer (a
-- daemon listener, say).
function Server:serve(tcp)
  self.tcp = tcp
  tcp.newConnection:connect(function()
    local sock = tcp:nextPendingConnection()
    while sock do
      accept(self, sock)
      sock = tcp:nextPendingConnection()
    end
  end)
  return true
end

-- listen([host], [port]) -> true, or false and the error string.
function Server:listen(host, port)
  local tcp = net.TcpServer()
  if not tcp:listen(host, port or 0) then return false, tcp:errorString() end
  self:serve(tcp)
  return true
end

function Server:serverPort() return self.tcp and self.tcp:serverPort() end
function Server:serverAddress() return self.tcp and self.tcp:serverAddress() end

-- closeIdle(): for `stopping`: idle keep-alive connections close now, busy
-- ones after their response.
function Server:closeIdle()
  self.closing = true
  for conn in pairs(self.conns) do
    if not conn.current and not conn.partial then conn:close_soon() end
  end
end

function Server:close()
  if self.tcp then self.tcp:close() end
  self:closeIdle()
end

return http
