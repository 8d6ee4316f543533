-- luanet.ws.handshake: the client's side of RFC 6455's opening handshake
-- (section 4.1) over a TcpSocket in a task. The server's side, and the
-- judging of the answer's head, are C's (daemon/ws/ws_handshake.c and
-- ws_request.c). A head is read with peek and read, so that what the
-- server sent after it stays in the socket's buffer for the frame reader.
local net = require "luanet.core"

local MAX_HEAD = 16384   -- bytes of a handshake's head; past it: a failed open

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

-- The client's side on a connected sock: sends the request and checks
-- the answer. true, the subprotocol (or nil) and the deflate terms (or
-- nil); or nil and Qt-style error text.
local function open(sock, url, extra_headers, ms, opts)
  local key = net.WebSocket._newKey()
  local offer = opts and opts.deflate
  local lines = {
    ("GET %s HTTP/1.1"):format(url.path),
    "Host: " .. url.authority,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: " .. key,
    "Sec-WebSocket-Version: 13",
  }
  if offer then lines[#lines + 1] = "Sec-WebSocket-Extensions: " .. net.WebSocket._deflateOffer end
  for name, value in pairs(extra_headers or {}) do lines[#lines + 1] = name .. ": " .. value end
  sock:write(table.concat(lines, "\r\n") .. "\r\n\r\n")
  local head, why = read_head(sock, ms)
  if not head then return nil, "The handshake response " .. why end
  return net.WebSocket._checkResponse(head, key, offer)
end

return { open = open, read_head = read_head, MAX_HEAD = MAX_HEAD }
