-- spec/support/ws_raw.lua: a WebSocket client by hand over a TcpSocket, for
-- the specs that send what no polite peer sends (unmasked frames, bad
-- UTF-8, reserved bits) and read the server's frames as they are.
local helper = require "helper"
local net = helper.net

local raw = {}

raw.KEY = "dGhlIHNhbXBsZSBub25jZQ=="

function raw.request(extra)
  return "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    .. "Sec-WebSocket-Key: " .. raw.KEY .. "\r\n" .. (extra or "Sec-WebSocket-Version: 13\r\n") .. "\r\n"
end

-- Connects, sends `head` (in pieces if it is a table), returns the socket
-- and the response head.
function raw.handshake(port, head)
  local sock = net.TcpSocket()
  sock:connectToHost("127.0.0.1", port)
  assert(sock:waitForConnected(helper.TIMEOUT))
  for _, piece in ipairs(type(head) == "table" and head or { head }) do
    sock:write(piece)
    sock:flush()
    net.processEvents(20)
  end
  local got = ""
  helper.run(helper.TIMEOUT, function()
    got = got .. sock:readAll()
    return got:find("\r\n\r\n", 1, true) ~= nil or sock:state() ~= "ConnectedState"
  end)
  local e = got:find("\r\n\r\n", 1, true)
  return sock, e and got:sub(1, e + 3) or got, e and got:sub(e + 4) or ""
end

-- A client frame: masked with a fixed key (all zero for a payload past
-- 64 KiB, which leaves it as it is: a valid key that spares Lua the XOR).
function raw.frame(opcode, payload, fin, rsv)
  local mask = #payload > 65536 and "\0\0\0\0" or "\x01\x02\x03\x04"
  local b1 = (fin == false and 0 or 0x80) | (rsv or 0) << 4 | opcode
  local n = #payload
  local head
  if n < 126 then head = string.char(b1, 0x80 | n)
  elseif n < 65536 then head = string.char(b1, 0x80 | 126) .. string.pack(">I2", n)
  else head = string.char(b1, 0x80 | 127) .. string.pack(">I8", n) end
  if mask == "\0\0\0\0" then return head .. mask .. payload end
  local out = {}
  for i = 1, n do
    out[i] = string.char(payload:byte(i) ~ mask:byte((i - 1) % 4 + 1))
  end
  return head .. mask .. table.concat(out)
end

-- Reads frames from the server until a close frame or the end: returns
-- the list of { opcode, payload } and whether the TCP connection ended.
function raw.read_until_close(sock, pending)
  local buf, frames = pending or "", {}
  local closed = false
  helper.run(helper.TIMEOUT, function()
    buf = buf .. sock:readAll()
    while #buf >= 2 do
      local b1, b2 = buf:byte(1, 2)
      local n, at = b2 & 0x7f, 3
      if n == 126 then n, at = string.unpack(">I2", buf, 3), 5 elseif n == 127 then n, at = string.unpack(">I8", buf, 3), 11 end
      if #buf < at - 1 + n then break end
      frames[#frames + 1] = { opcode = b1 & 0x0f, fin = b1 & 0x80 ~= 0, payload = buf:sub(at, at + n - 1) }
      buf = buf:sub(at + n)
    end
    closed = sock:state() == "UnconnectedState"
    return closed
  end)
  return frames, closed
end

-- The frames as the peer meant them: data messages joined from their
-- fragments ({ opcode = 1 or 2, payload }), control frames as they came.
function raw.messages(frames)
  local out, current = {}, nil
  for _, f in ipairs(frames) do
    if f.opcode >= 8 then
      out[#out + 1] = { opcode = f.opcode, payload = f.payload }
    else
      if f.opcode ~= 0 then current = { opcode = f.opcode, parts = {} } end
      current.parts[#current.parts + 1] = f.payload
      if f.fin then
        out[#out + 1] = { opcode = current.opcode, payload = table.concat(current.parts) }
        current = nil
      end
    end
  end
  return out
end

function raw.close_code(frames)
  for _, f in ipairs(frames) do
    if f.opcode == 8 then return #f.payload >= 2 and string.unpack(">I2", f.payload) or 1005 end
  end
end

return raw
