-- luanet.redis.resp: RESP2, the Redis protocol, as pure functions (so
-- fuzz/fuzz_resp.c can drive them): a command encoded as an array of bulk
-- strings, and a reply decoded from a buffer at a position.
--
--   local wire = assert(resp.encode({ "SET", "k", 42 }))   -- "*3\r\n$3\r\nSET\r\n..."
--   local value, nxt = resp.decode(buf, pos)
--   -- value, the position after it; or nil, "need more", the least length
--   -- #buf must reach before a retry can succeed; or nil and why it is
--   -- malformed (the stream cannot be read on: close the connection).
--
-- Replies as values: a status ("+OK") and a bulk string are strings, an
-- integer an integer, an array a sequence, a nil bulk or nil array false
-- (a sequence cannot hold nil; RESP2 has no boolean, so false is nobody
-- else's), an error reply the table { err = "ERR ...", kind = "redis" }:
-- as Redis's own Lua scripting converts them. The client turns a nil and
-- an error at the top of call()'s reply into its nil and its failure.
--
-- Decoding is a loop over an explicit stack of open arrays, not
-- recursion, so a deep reply costs a table per level and no C stack.
-- Lengths are bounded before anything is waited for or allocated.
local resp = {}

resp.MORE = "need more"
resp.MAX_BULK = 512 * 1024 * 1024   -- Redis's own proto-max-bulk-len default
resp.MAX_ARRAY = 1 << 24            -- elements in one array
resp.MAX_DEPTH = 64                 -- arrays inside arrays
resp.MAX_LINE = 64 * 1024           -- a status or error line (Redis's inline limit)
local MAX_HEADER = 32               -- "$", "*" and ":" lines: a 64-bit integer and its sign

local byte, find, sub, format, concat = string.byte, string.find, string.sub, string.format, table.concat
local mtype = math.type

-- ---------------------------------------------------------------- encode

-- An argument as Redis reads it: strings as they are (binary-safe);
-- integers in decimal; floats in the shortest of %.14g and %.17g that
-- reads back the same (2.0 is "2", 0.1 is "0.1", inf is "inf").
local function arg_text(v)
  local t = mtype(v)
  if t == "integer" then return format("%d", v) end
  if t == "float" then
    local s = format("%.14g", v)
    if tonumber(s) ~= v and v == v then s = format("%.17g", v) end
    return s
  end
  return v
end

-- encode(args [, n]) -> the command as RESP (an array of n bulk strings,
-- n defaulting to #args), or nil, why and the culprit's index when an
-- argument is neither a string nor a number (or n is 0: index 1).
function resp.encode(args, n)
  n = n or #args
  if n < 1 then return nil, "an empty command", 1 end
  local parts = { "*", format("%d", n), "\r\n" }
  local k = 3
  for i = 1, n do
    local v = args[i]
    local tv = type(v)
    if tv == "number" then
      v = arg_text(v)
    elseif tv ~= "string" then
      return nil, format("string or number expected, got %s", tv), i
    end
    parts[k + 1], parts[k + 2], parts[k + 3], parts[k + 4], parts[k + 5] = "$", format("%d", #v), "\r\n", v, "\r\n"
    k = k + 5
  end
  return concat(parts, "", 1, k)
end

-- ---------------------------------------------------------------- decode

-- The integer of a header line, or nil.
local function header_integer(line)
  if not find(line, "^%-?%d+$") then return nil end
  local v = tonumber(line)
  return mtype(v) == "integer" and v or nil   -- past 64 bits tonumber gives a float
end

-- The length of a bulk string's or an array's header: -1 (nil) up to
-- max, or nil and why.
local function header_length(line, pos, what, max)
  local n = header_integer(line)
  if not n or n < -1 then return nil, format("a bad %s length at %d", what, pos) end
  if n > max then return nil, format("a%s %s length of %d at %d is over the limit (%d)",
                                     what == "array" and "n" or "", what, n, pos, max) end
  return n
end

local function describe(b)
  if b >= 32 and b < 127 then return format("'%s'", string.char(b)) end
  return format("byte 0x%02x", b)
end

-- What the arrays open around the element being read still owe after it,
-- at 3 bytes ("+\r\n", the shortest reply) an element.
local function owed(stack, depth)
  local n = 0
  for d = 1, depth do
    local frame = stack[d]
    n = n + frame[3] - frame[2] - 1
  end
  return 3 * n
end

local TYPES = { [43] = true, [45] = true, [58] = true, [36] = true, [42] = true }   -- + - : $ *

-- decode(buf [, pos]): see the header. A "need more" gives as its third
-- value a lower bound of the total length: the rest of the element being
-- read plus what the open arrays still owe (owed). The client waits for
-- that much before decoding again, so a large reply is not re-parsed on
-- every read.
function resp.decode(buf, pos)
  pos = pos or 1
  local len = #buf
  local stack, depth = nil, 0   -- open arrays: stack[d] = { list, count, wanted }
  while true do
    if pos > len then return nil, resp.MORE, pos + 2 + owed(stack, depth) end
    local t = byte(buf, pos)
    if not TYPES[t] then return nil, format("unexpected %s at %d (not a RESP2 reply)", describe(t), pos) end
    local limit = (t == 43 or t == 45) and resp.MAX_LINE or MAX_HEADER
    local e = find(buf, "\r\n", pos + 1, true)
    if not e then
      -- The line so far is buf[pos+1..len], maybe ending in the CR.
      if len - pos > limit + 1 then return nil, format("a line longer than %d bytes at %d", limit, pos) end
      local least = byte(buf, len) == 13 and len + 1 or len + 2
      return nil, resp.MORE, (least > pos + 2 and least or pos + 2) + owed(stack, depth)
    end
    if e - pos - 1 > limit then return nil, format("a line longer than %d bytes at %d", limit, pos) end
    local line = sub(buf, pos + 1, e - 1)
    local value, nxt = nil, e + 2
    if t == 43 or t == 45 then        -- '+' status, '-' error
      if find(line, "[\r\n]") then return nil, format("a bare CR or LF in the line at %d", pos) end
      if t == 43 then value = line else value = { err = line, kind = "redis" } end
    elseif t == 58 then               -- ':' integer
      value = header_integer(line)
      if not value then return nil, format("a bad integer at %d", pos) end
    elseif t == 36 then               -- '$' bulk string
      local n, why = header_length(line, pos, "bulk", resp.MAX_BULK)
      if not n then return nil, why end
      if n == -1 then
        value = false
      else
        local stop = nxt + n + 1          -- the LF after the data
        if stop > len then return nil, resp.MORE, stop + owed(stack, depth) end
        if byte(buf, stop - 1) ~= 13 or byte(buf, stop) ~= 10 then
          return nil, format("no CRLF after the bulk string at %d", pos)
        end
        value = sub(buf, nxt, nxt + n - 1)
        nxt = stop + 1
      end
    else                              -- '*' array
      local n, why = header_length(line, pos, "array", resp.MAX_ARRAY)
      if not n then return nil, why end
      if n == -1 then
        value = false
      elseif n == 0 then
        value = {}
      else
        if depth == resp.MAX_DEPTH then
          return nil, format("arrays nested deeper than %d at %d", resp.MAX_DEPTH, pos)
        end
        depth = depth + 1
        stack = stack or {}
        stack[depth] = { {}, 0, n }
      end
    end
    pos = nxt
    if value ~= nil then
      -- Append the finished value to the innermost open array; a full
      -- array is itself a finished value for the one around it.
      while depth > 0 do
        local frame = stack[depth]
        local count = frame[2] + 1
        frame[1][count] = value
        frame[2] = count
        if count < frame[3] then break end
        value = frame[1]
        stack[depth] = nil
        depth = depth - 1
      end
      if depth == 0 then return value, pos end
    end
  end
end

-- Whether a decoded value is an error reply.
function resp.is_error(v)
  return type(v) == "table" and v.kind == "redis" and type(v.err) == "string"
end

return resp
