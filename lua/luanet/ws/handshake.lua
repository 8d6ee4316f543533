-- luanet.ws.handshake: RFC 6455's opening handshake (section 4), both
-- sides, as plain functions over a TcpSocket in a task. The frames that
-- follow are C's (daemon/ws/websocket.c): a head is read with peek and
-- read, so that what the peer sent after it stays in the socket's buffer
-- for the frame reader.
local net = require "luanet.core"
local wshead = require "luanet.ws.head"

local MAX_HEAD = 16384   -- bytes of a handshake's head; past it: 431 / a failed open

-- The head (up to and with its empty line) from sock, waiting at most ms;
-- nil and why.
local function read_head(sock, ms)
  local deadline = net.clock() + ms
  while true do
    local avail = sock:bytesAvailable()
    if avail > 0 then
      local data = sock:peek(math.min(avail, MAX_HEAD + 4))
      local e = data:find("\r\n\r\n", 1, true)
      if e then return sock:read(e + 3) end
      if avail > MAX_HEAD then return nil, "too large" end
    end
    local left = deadline - net.clock()
    if left <= 0 then return nil, "timed out" end
    if sock:state() ~= "ConnectedState" then return nil, "closed" end
    sock:waitForReadyRead(left)
  end
end

local parse_head, has_token = wshead.parse, wshead.has_token

-- The server's 101 answer to a client's key, with the subprotocol and the
-- extension field it agreed to, if any.
local function switching(key, protocol, extensions)
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    .. "Sec-WebSocket-Accept: " .. net.WebSocket._acceptKey(key) .. "\r\n"
    .. (protocol and ("Sec-WebSocket-Protocol: " .. protocol .. "\r\n") or "")
    .. (extensions and ("Sec-WebSocket-Extensions: " .. extensions .. "\r\n") or "") .. "\r\n"
end

local function respond(sock, status, reason, extra)
  sock:write(("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n%s\r\n")
    :format(status, reason, extra or ""))
  sock:disconnectFromHost()
end

-- The server's answer to a whole request head: 101 with what was agreed,
-- or 400/403/426 and the connection closed. Returns the request (path,
-- headers, origin, protocol, deflate terms) or nil and why.
local function answer(sock, head, opts)
  local req, status, extra = wshead.check_request(head)
  if not req then
    respond(sock, status, status == 426 and "Upgrade Required" or "Bad Request", extra)
    return nil, status == 426 and "unsupported WebSocket version" or "not a WebSocket handshake"
  end
  local h, key, target = req.fields, req.key, req.target
  local origin = h.origin
  if opts.checkOrigin and not opts.checkOrigin(origin, h) then
    respond(sock, 403, "Forbidden")
    return nil, "origin refused"
  end
  local protocol = wshead.pick_protocol(h["sec-websocket-protocol"], opts.subprotocols)
  local extensions, deflate
  if opts.deflate then extensions, deflate = wshead.deflate_accept(h["sec-websocket-extensions"]) end
  sock:write(switching(key, protocol, extensions))
  return { path = target, headers = h, origin = origin, protocol = protocol, deflate = deflate }
end

-- The server's side, driven by the socket's readyRead rather than a task
-- that waits: a server with thousands of handshakes in flight holds a
-- slot and a timer for each, not a coroutine. done(req) or done(nil, why)
-- is called once: when the head has come and been answered, when it grows
-- past MAX_HEAD (431), or when opts.timeout ms pass first (the connection
-- is cut).
local function accept(sock, opts, done)
  local finished, connection = false, nil
  local timer = net.Timer()
  local function finish(req, why)
    if finished then return end
    finished = true
    timer:stop()
    sock.readyRead:disconnect(connection)
    done(req, why)
  end
  local function try()
    local avail = sock:bytesAvailable()
    if avail == 0 or finished then return end
    local data = sock:peek(math.min(avail, MAX_HEAD + 4))
    local e = data:find("\r\n\r\n", 1, true)
    if e then return finish(answer(sock, sock:read(e + 3), opts)) end
    if avail > MAX_HEAD then
      respond(sock, 431, "Request Header Fields Too Large")
      finish(nil, "handshake too large")
    end
  end
  timer:setSingleShot(true)
  timer.timeout:connect(function()
    sock:abort()
    finish(nil, "handshake timed out")
  end)
  timer:start(opts.timeout or 10000)
  connection = sock.readyRead:connect(try)
  try()   -- what came before we looked
end

-- The client's side on a connected sock: sends the request and checks
-- the answer. true, or nil and Qt-style error text.
local function open(sock, url, extra_headers, ms, opts)
  local key = net.WebSocket._newKey()
  local lines = {
    ("GET %s HTTP/1.1"):format(url.path),
    "Host: " .. url.authority,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: " .. key,
    "Sec-WebSocket-Version: 13",
  }
  if opts and opts.deflate then lines[#lines + 1] = "Sec-WebSocket-Extensions: " .. wshead.DEFLATE_OFFER end
  for name, value in pairs(extra_headers or {}) do lines[#lines + 1] = name .. ": " .. value end
  sock:write(table.concat(lines, "\r\n") .. "\r\n\r\n")
  local head, why = read_head(sock, ms)
  if not head then return nil, "The handshake response " .. why end
  local first, h = parse_head(head)
  local status = first and first:match("^HTTP/1%.1 (%d%d%d)")
  if not (status and h) then return nil, "Invalid statusline in response: " .. (first or "") end
  if status ~= "101" then return nil, "Handshake: Server returned error " .. first:sub(10) end
  if not (has_token(h.upgrade, "websocket") and has_token(h.connection, "upgrade")) then
    return nil, "Handshake: Invalid response: no Upgrade: websocket"
  end
  if h["sec-websocket-accept"] ~= net.WebSocket._acceptKey(key) then
    return nil, "Handshake: Invalid Sec-WebSocket-Accept"
  end
  local deflate, why = nil, nil
  if h["sec-websocket-extensions"] then
    if not (opts and opts.deflate) then return nil, "Handshake: the server answered an extension we did not offer" end
    deflate, why = wshead.deflate_response(h["sec-websocket-extensions"])
    if deflate == false then return nil, "Handshake: " .. why end
  end
  return true, h, deflate
end

return { accept = accept, open = open, read_head = read_head, switching = switching, MAX_HEAD = MAX_HEAD }
