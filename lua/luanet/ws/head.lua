-- luanet.ws.head: the heads of RFC 6455's opening handshake as pure
-- functions over strings (no socket, no require), so that fuzz_ws_handshake
-- can run them on any bytes: a head parsed into its first line and fields,
-- and a client's request judged as a server must judge it (4.2.1).
local head = {}

-- The first line and the fields ("Name: value", lower-case names, repeats
-- joined with ", ") of a head that ends with an empty line; nil when a
-- line is malformed.
function head.parse(text)
  local first, rest = text:match("^([^\r\n]*)\r\n(.*)$")
  if not first then return nil end
  local fields = {}
  for line in rest:gmatch("([^\r\n]*)\r\n") do
    if line ~= "" then
      local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
      if not name then return nil end
      name = name:lower()
      fields[name] = fields[name] and (fields[name] .. ", " .. value) or value
    end
  end
  return first, fields
end

-- Whether a comma-separated field holds `token`, in any case.
function head.has_token(value, token)
  if not value then return false end
  for item in value:gmatch("[^,]+") do
    if item:match("^%s*(.-)%s*$"):lower() == token then return true end
  end
  return false
end

-- A client's request, judged as a server must judge it: { target, fields,
-- key } for a valid WebSocket handshake; else nil, the status to answer
-- (400, or 426 for another version) and the header lines to add to it.
function head.check_fields(method, version, target, fields)
  if method ~= "GET" or version ~= "1.1" or not fields.host or not target then
    return nil, 400, ""
  end
  local key = fields["sec-websocket-key"]
  if not (head.has_token(fields.upgrade, "websocket") and head.has_token(fields.connection, "upgrade"))
    or not (key and #key == 24 and key:match("^[%w+/]+==$")) then
    return nil, 400, ""   -- not a WebSocket handshake at all
  end
  if fields["sec-websocket-version"] ~= "13" then
    return nil, 426, "Sec-WebSocket-Version: 13\r\n"   -- one, of a version we do not speak
  end
  return { target = target, fields = fields, key = key }
end

-- The same for a whole head (up to its empty line).
function head.check_request(text)
  local first, fields = head.parse(text)
  local method, target, version = (first or ""):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not (method and fields) then return nil, 400, "" end
  return head.check_fields(method, version, target, fields)
end

-- The first of the client's offered subprotocols (a comma-separated
-- field) that the server supports, or nil.
function head.pick_protocol(offered, supported)
  if not (offered and supported) then return nil end
  for name in offered:gmatch("[^,%s]+") do
    for _, ours in ipairs(supported) do
      if name == ours then return ours end
    end
  end
  return nil
end

return head
