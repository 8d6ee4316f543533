-- luanet.discovery: the wire format of the free-space discovery protocol
-- (scripts/freespace.lua). A host broadcasts a query; every responder
-- answers it with its host name and its free disk space; the asker picks
-- the largest (the discovery protocol of QtNetwork's overview).
--
-- Version 1. Every datagram is one message; integers are big-endian.
--
--   offset size  query (10 bytes)        answer (19 + n bytes)
--   0      4     magic "LNDS"            magic "LNDS"
--   4      1     version 1               version 1
--   5      1     kind 1 (query)          kind 2 (answer)
--   6      4     query id (uint32)       the query id it answers
--   10     8                             free bytes (uint64, < 2^63)
--   18     1                             n, host name length (1..255)
--   19     n                             host name, UTF-8
--
-- The asker picks a random query id for each query and drops answers that
-- carry another (stale answers, or another asker's). An answer goes to the
-- address and port the query came from. Free bytes are what an
-- unprivileged user may still write (statvfs f_bavail * f_frsize); a value
-- of 2^63 or more fits no lua_Integer and no off_t, so no real file system
-- reports it. Host names are strict UTF-8 (no overlong forms, surrogates or
-- code points past U+10FFFF) without spaces or control characters (C0, DEL,
-- C1), so that a line of "HOST ADDR FREE" always splits into three words.
--
-- Every message has exactly one encoding, so a decoded message re-encodes
-- to the bytes it came from (fuzz/fuzz_discovery.c checks that). The
-- decoders take any string and never raise: malformed input gives nil and
-- a reason (wrong magic, unsupported version, the other kind, truncated,
-- oversize, a bad host name, free bytes out of range). A version other
-- than 1 is rejected: a later layout bumps the byte and version-1 peers
-- ignore it. Arguments of the wrong type (a non-string to decode, a bad id,
-- host or figure to encode) raise: those are programming errors.
local pack, unpack, byte = string.pack, string.unpack, string.byte
local utf8len = utf8.len
local math_type, tostring, type, error = math.type, tostring, type, error

local MAGIC = "LNDS"
local VERSION = 1
local QUERY, ANSWER = 1, 2

local HEADER_SIZE = 10                   -- magic, version, kind, id
local QUERY_SIZE = HEADER_SIZE
local ANSWER_FIXED = HEADER_SIZE + 8 + 1 -- up to the host name
local MAX_HOST = 255
local MAX_SIZE = ANSWER_FIXED + MAX_HOST
local MAX_ID = 0xFFFFFFFF
local MAX_FREE = math.maxinteger         -- 2^63 - 1

local discovery = {
  MAGIC = MAGIC, VERSION = VERSION,
  QUERY_SIZE = QUERY_SIZE, MAX_SIZE = MAX_SIZE,
  MAX_HOST = MAX_HOST, MAX_ID = MAX_ID, MAX_FREE = MAX_FREE,
  DEFAULT_PORT = 45455,
}

-- nil when host may go on the wire, else what is wrong with it.
local function host_problem(host)
  if #host == 0 then return "empty host name" end
  if #host > MAX_HOST then return "host name longer than 255 bytes" end
  -- utf8.len is strict in 5.4: it rejects surrogates, overlong forms and
  -- code points past U+10FFFF.
  if not utf8len(host) then return "host name is not UTF-8" end
  if host:find("[%z\1-\32\127]") then return "host name has a space or control character" end
  -- C1 controls are U+0080..U+009F, encoded as C2 80..C2 9F.
  if host:find("\194[\128-\159]") then return "host name has a control character" end
  return nil
end

-- true, or nil and why the bytes are not a version-1 message of want_kind
-- at least want_size long. A non-string raises, naming fname's argument.
local function check_header(bytes, want_kind, want_size, fname)
  if type(bytes) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(bytes)), 3)
  end
  local n = #bytes
  if n > MAX_SIZE then return nil, ("oversize: %d bytes"):format(n) end
  if n < 4 or bytes:sub(1, 4) ~= MAGIC then
    -- A short prefix of the magic is a cut message; anything else is not ours.
    if n < 4 and MAGIC:sub(1, n) == bytes then return nil, "truncated" end
    return nil, "wrong magic"
  end
  if n < 5 then return nil, "truncated" end
  local version = byte(bytes, 5)
  if version ~= VERSION then return nil, ("unsupported version %d"):format(version) end
  if n < 6 then return nil, "truncated" end
  local kind = byte(bytes, 6)
  if kind ~= want_kind then
    return nil, ("not %s (kind %d)"):format(want_kind == QUERY and "a query" or "an answer", kind)
  end
  if n < want_size then return nil, "truncated" end
  return true
end

local function check_id(id, fname)
  if math_type(id) ~= "integer" or id < 0 or id > MAX_ID then
    error(("bad argument #1 to '%s' (query id must be an integer in 0..%d, got %s)")
      :format(fname, MAX_ID, tostring(id)), 3)
  end
end

-- The bytes of a query with this id (an integer 0..2^32-1).
function discovery.encode_query(id)
  check_id(id, "encode_query")
  return pack(">c4BBI4", MAGIC, VERSION, QUERY, id)
end

-- The query id, or nil and a reason.
function discovery.decode_query(bytes)
  local ok, err = check_header(bytes, QUERY, QUERY_SIZE, "decode_query")
  if not ok then return nil, err end
  if #bytes > QUERY_SIZE then
    return nil, ("oversize: %d extra bytes after the query"):format(#bytes - QUERY_SIZE)
  end
  return (unpack(">I4", bytes, 7))
end

-- The bytes of an answer to query `id` from `host` with `free` bytes free.
function discovery.encode_answer(id, host, free)
  check_id(id, "encode_answer")
  if type(host) ~= "string" then
    error(("bad argument #2 to 'encode_answer' (string expected, got %s)"):format(type(host)), 2)
  end
  local problem = host_problem(host)
  if problem then error(("bad argument #2 to 'encode_answer' (%s)"):format(problem), 2) end
  if math_type(free) ~= "integer" or free < 0 then
    error(("bad argument #3 to 'encode_answer' (free bytes must be a non-negative integer, got %s)")
      :format(tostring(free)), 2)
  end
  return pack(">c4BBI4i8s1", MAGIC, VERSION, ANSWER, id, free, host)
end

-- { id =, host =, free = }, or nil and a reason.
function discovery.decode_answer(bytes)
  local ok, err = check_header(bytes, ANSWER, ANSWER_FIXED, "decode_answer")
  if not ok then return nil, err end
  local id, free, len = unpack(">I4i8B", bytes, 7)
  -- i8 reads the top bit as the sign: 2^63 and above come out negative.
  if free < 0 then return nil, "free bytes out of range" end
  local size = ANSWER_FIXED + len
  if #bytes < size then return nil, "truncated" end
  if #bytes > size then
    return nil, ("oversize: %d extra bytes after the answer"):format(#bytes - size)
  end
  local host = bytes:sub(ANSWER_FIXED + 1)
  local problem = host_problem(host)
  if problem then return nil, problem end
  return { id = id, host = host, free = free }
end

-- Whether host may go in an answer (nil, reason when not).
function discovery.valid_host(host)
  if type(host) ~= "string" then return nil, "not a string" end
  local problem = host_problem(host)
  if problem then return nil, problem end
  return true
end

return discovery
