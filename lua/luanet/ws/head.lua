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

-- ---- permessage-deflate (RFC 7692) ----

-- The extensions of a Sec-WebSocket-Extensions value: a list of
-- { name, params = { name -> value or true } }; nil for a malformed one
-- or a parameter given twice.
local function extensions(value)
  local list = {}
  for item in (value or ""):gmatch("[^,]+") do
    local parts = {}
    for part in item:gmatch("[^;]+") do parts[#parts + 1] = part:match("^%s*(.-)%s*$") end
    local ext = { name = (parts[1] or ""):lower(), params = {} }
    if ext.name == "" then return nil end
    for i = 2, #parts do
      local k, v = parts[i]:match("^([%w_%-]+)%s*=%s*\"?([%w]*)\"?$")
      if not k then k = parts[i]:match("^([%w_%-]+)$") v = true end
      if not k or ext.params[k:lower()] ~= nil then return nil end
      ext.params[k:lower()] = v
    end
    list[#list + 1] = ext
  end
  return list
end

-- A *_max_window_bits value: 8 to 15 in decimal digits without a leading
-- zero (RFC 7692 7.1.2.1); tonumber alone would take "09" and "0x9".
local function window_bits(v)
  local n = type(v) == "string" and v:match("^[1-9]%d?$") and tonumber(v)
  return n and n >= 8 and n <= 15 and n or nil
end

-- What a client offers.
head.DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"

-- The server's side: the first permessage-deflate offer of the client's
-- field that it can take. Returns the field to answer with and the terms
-- for the C side ({ inflateReset, deflateReset, deflateBits }), or nil.
function head.deflate_accept(value)
  for _, ext in ipairs(extensions(value) or {}) do
    if ext.name == "permessage-deflate" then
      local p, ok = ext.params, true
      for k, v in pairs(p) do
        if k == "server_no_context_takeover" or k == "client_no_context_takeover" then ok = ok and v == true
        elseif k == "server_max_window_bits" then ok = ok and window_bits(v) ~= nil and window_bits(v) > 8
        elseif k == "client_max_window_bits" then ok = ok and (v == true or window_bits(v) ~= nil)
        else ok = false end
      end
      if ok then
        local answer = { "permessage-deflate" }
        if p.server_no_context_takeover then answer[#answer + 1] = "server_no_context_takeover" end
        if p.client_no_context_takeover then answer[#answer + 1] = "client_no_context_takeover" end
        local bits = window_bits(p.server_max_window_bits)
        if bits then answer[#answer + 1] = "server_max_window_bits=" .. bits end
        return table.concat(answer, "; "), {
          inflateReset = p.client_no_context_takeover == true,
          deflateReset = p.server_no_context_takeover == true,
          deflateBits = bits or 15,
        }
      end
    end
  end
  return nil
end

-- The client's side: the terms of the server's answer to our offer; nil
-- when it answered none, false and why when its answer is not one we may
-- accept (the connection must fail).
function head.deflate_response(value)
  if not value then return nil end
  local list = extensions(value)
  if not list or #list ~= 1 or list[1].name ~= "permessage-deflate" then
    return false, "the server answered an extension we did not offer"
  end
  local p = list[1].params
  for k, v in pairs(p) do
    local ok = ((k == "server_no_context_takeover" or k == "client_no_context_takeover") and v == true)
      or (k == "server_max_window_bits" and window_bits(v))
      or (k == "client_max_window_bits" and window_bits(v) and window_bits(v) > 8)
    if not ok then return false, "the server's permessage-deflate terms are not valid: " .. k end
  end
  return {
    inflateReset = p.server_no_context_takeover == true,
    deflateReset = p.client_no_context_takeover == true,
    deflateBits = window_bits(p.client_max_window_bits) or 15,
  }
end

return head
