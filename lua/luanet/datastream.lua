--- luanet.datastream: the part of QDataStream (version Qt_4_0, big-endian)
-- that Qt's fortune protocol uses: quint16, quint32 and QString.
--
-- A writer appends to an internal buffer (QDataStream over a QByteArray);
-- seek() moves the write position back so that a size written first as 0
-- can be patched, as the fortune server does with out.device()->seek(0).
-- A reader decodes a Lua string or a device (anything with bytesAvailable,
-- peek and read, such as a TcpSocket). Reads are transactions: a value
-- that has not fully arrived consumes nothing and returns
-- nil, "not enough data yet", so a readyRead slot can simply try again on
-- the next signal. Qt 4 would return garbage and set ReadPastEnd instead.
--
-- A QString on the wire is a quint32 byte count then UTF-16BE code units;
-- a count of 0xFFFFFFFF is the null QString. Lua strings are UTF-8.
--
-- A writer's methods raise on a reader and the reverse; a value out of
-- range raises.
-- @classmod DataStream
-- @qt QDataStream
-- @usage local out = net.DataStream()             -- a writer
-- out:writeUInt16(0); out:writeQString("hello")
-- out:seek(0); out:writeUInt16(out:size() - 2)
-- sock:write(out:data())
-- local input = net.DataStream(sock)             -- a reader over a TcpSocket
-- local size = input:readUInt16()                -- nil, "not enough data yet": try again later
local byte, pack, unpack = string.byte, string.pack, string.unpack
local concat, tunpack = table.concat, table.unpack
local utf8char, utf8codes, utf8len = utf8.char, utf8.codes, utf8.len
local math_type, tointeger = math.type, math.tointeger
local type, error, setmetatable, getmetatable, pcall, select =
  type, error, setmetatable, getmetatable, pcall, select

local NOT_YET = "not enough data yet"
local CORRUPT = "corrupt data"
local NULL_LENGTH = 0xFFFFFFFF
-- string.byte and utf8.char return or take their values on the C stack:
-- convert in slices of this many values.
local SLICE = 4096

local methods = {}
local mt = { __name = "luanet.DataStream", __index = methods }

-- A reader's source is either _buf (a string, consumed up to _pos) or
-- _dev (a device, consumed by read()). _pos counts bytes consumed either way.
local function available(self)
  if self._dev then return self._dev:bytesAvailable() end
  return #self._buf - self._pos
end

function mt:__tostring()
  if self._mode == "write" then
    return ("luanet.DataStream (writer, pos %d, size %d)"):format(self._pos, self._size)
  end
  return ("luanet.DataStream (reader, pos %d, %d bytes available)")
    :format(self._pos, available(self))
end

-- Checks self and that the stream is of the mode the method needs.
local function check(self, name, mode)
  if getmetatable(self) ~= mt then
    error(("bad self to '%s' (luanet.DataStream expected, got %s)")
      :format(name, type(self)), 3)
  end
  if mode and self._mode ~= mode then
    error(("'%s' needs a %s DataStream, this one is a %s")
      :format(name, mode == "write" and "writer" or "reader",
              self._mode == "write" and "writer" or "reader"), 3)
  end
end

---------------------------------------------------------------- encoding

-- UTF-8 -> UTF-16BE, or nil when s is not valid UTF-8 (utf8.len is strict:
-- it rejects overlong forms, encoded surrogates and code points past
-- U+10FFFF).
local function utf16be(s)
  if not utf8len(s) then return nil end
  if not s:find("[\128-\255]") then
    return (s:gsub(".", "\0%0"))              -- ASCII: one unit per byte
  end
  local out, n = {}, 0
  for _, c in utf8codes(s) do
    n = n + 1
    if c < 0x10000 then
      out[n] = pack(">I2", c)
    else
      c = c - 0x10000
      out[n] = pack(">I2I2", 0xD800 | (c >> 10), 0xDC00 | (c & 0x3FF))
    end
  end
  return concat(out)
end

-- UTF-16BE (an even number of bytes) -> UTF-8, or nil when a surrogate is
-- unpaired.
local function utf8_of(b)
  local n = #b
  -- Only ASCII when every unit is \0 followed by a byte below 0x80: the
  -- matches then cover the whole string, so they are aligned on units.
  local ascii, count = b:gsub("\0([\0-\127])", "%1")
  if count * 2 == n then return ascii end
  local cps, m = {}, 0
  local high                                   -- a pending high surrogate
  for i = 1, n, SLICE do
    local bytes = { byte(b, i, i + SLICE - 1) }  -- SLICE is even
    for k = 1, #bytes, 2 do
      local u = bytes[k] << 8 | bytes[k + 1]
      if high then
        if u < 0xDC00 or u > 0xDFFF then return nil end
        m = m + 1
        cps[m] = 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00)
        high = nil
      elseif u >= 0xD800 and u <= 0xDBFF then
        high = u
      elseif u >= 0xDC00 and u <= 0xDFFF then
        return nil
      else
        m = m + 1
        cps[m] = u
      end
    end
  end
  if high then return nil end
  local out = {}
  for i = 1, m, SLICE do
    out[#out + 1] = utf8char(tunpack(cps, i, i + SLICE - 1 < m and i + SLICE - 1 or m))
  end
  return concat(out)
end

---------------------------------------------------------------- writer

-- The buffer is a list of parts while writes append (no copying per
-- write); an overwrite after seek() joins it into one string first.
local function flatten(self)
  local parts = self._parts
  if #parts > 1 then
    self._parts = { concat(parts) }
  end
  return self._parts[1] or ""
end

local function put(self, bytes)
  local pos, size = self._pos, self._size
  if pos == size then
    self._parts[#self._parts + 1] = bytes
    size = size + #bytes
  else
    local buf = flatten(self)
    buf = buf:sub(1, pos) .. bytes .. buf:sub(pos + #bytes + 1)
    self._parts = { buf }
    size = #buf
  end
  self._pos = pos + #bytes
  self._size = size
end

-- An integer, or a float with an integral value (as luaL_checkinteger takes).
local function integer(n)
  local t = math_type(n)
  if t == "integer" then return n end
  if t == "float" then return tointeger(n) end
  return nil
end

local function checkuint(name, n, max)
  local i = integer(n)
  if not i then
    error(("bad argument #1 to '%s' (integer expected, got %s)")
      :format(name, math_type(n) or type(n)), 3)
  end
  if i < 0 or i > max then
    error(("bad argument #1 to '%s' (value out of range 0..%d)"):format(name, max), 3)
  end
  return i
end

--- Writes a quint16.
-- @function writeUInt16
-- @tparam integer n 0 to 0xFFFF
-- @qt QDataStream::operator<<(quint16)
function methods:writeUInt16(n)
  check(self, "writeUInt16", "write")
  put(self, pack(">I2", checkuint("writeUInt16", n, 0xFFFF)))
end

--- Writes a quint32.
-- @function writeUInt32
-- @tparam integer n 0 to 0xFFFFFFFF
-- @qt QDataStream::operator<<(quint32)
function methods:writeUInt32(n)
  check(self, "writeUInt32", "write")
  put(self, pack(">I4", checkuint("writeUInt32", n, 0xFFFFFFFF)))
end

--- Writes a QString: s is UTF-8; nil writes the null QString.
-- @function writeQString
-- @tparam string|nil s
-- @qt QDataStream::operator<<(const QString &)
function methods:writeQString(s)
  check(self, "writeQString", "write")
  if s == nil then
    put(self, pack(">I4", NULL_LENGTH))
    return
  end
  if type(s) ~= "string" then
    error(("bad argument #1 to 'writeQString' (string or nil expected, got %s)")
      :format(type(s)), 2)
  end
  local units = utf16be(s)
  if not units then
    error("bad argument #1 to 'writeQString' (invalid UTF-8)", 2)
  end
  if #units >= NULL_LENGTH then
    error("bad argument #1 to 'writeQString' (string too long)", 2)
  end
  put(self, pack(">s4", units))
end

--- Moves a writer's position: a 0-based byte position. Past the end the gap is filled with
-- zero bytes, as QBuffer does.
-- @function seek
-- @tparam integer pos
-- @treturn boolean true
-- @qt QIODevice::seek
function methods:seek(pos)
  check(self, "seek", "write")
  local p = integer(pos)
  if not p or p < 0 then
    error("bad argument #1 to 'seek' (non-negative integer expected)", 2)
  end
  if p > self._size then
    self._pos = self._size
    put(self, ("\0"):rep(p - self._size))
  end
  self._pos = p
  return true
end

--- A writer's size in bytes.
-- @function size
-- @treturn integer
-- @qt QBuffer::size
function methods:size()
  check(self, "size", "write")
  return self._size
end

--- What a writer has written.
-- @function data
-- @treturn string
-- @qt QBuffer::data
function methods:data()
  check(self, "data", "write")
  return flatten(self)
end

---------------------------------------------------------------- reader

-- The next n bytes without consuming them; the caller knows they are there.
local function peek(self, n)
  if self._dev then return self._dev:peek(n) end
  return self._buf:sub(self._pos + 1, self._pos + n)
end

local function consume(self, n)
  local bytes
  if self._dev then
    bytes = self._dev:read(n)
  else
    bytes = self._buf:sub(self._pos + 1, self._pos + n)
  end
  self._pos = self._pos + n
  return bytes
end

--- Reads a quint16; nothing is consumed until all of it has come.
-- @function readUInt16
-- @treturn integer|nil the value, or nil and "not enough data yet"
-- @qt QDataStream::operator>>(quint16 &)
function methods:readUInt16()
  check(self, "readUInt16", "read")
  if available(self) < 2 then return nil, NOT_YET end
  return (unpack(">I2", consume(self, 2)))
end

--- Reads a quint32.
-- @function readUInt32
-- @treturn integer|nil the value, or nil and "not enough data yet"
-- @qt QDataStream::operator>>(quint32 &)
function methods:readUInt32()
  check(self, "readUInt32", "read")
  if available(self) < 4 then return nil, NOT_YET end
  return (unpack(">I4", consume(self, 4)))
end

--- Reads a QString: s, isNull | nil, "not enough data yet" | nil, "corrupt data"
-- @function readQString
-- @treturn string|nil s (UTF-8; "" for the null QString), or nil
-- @treturn boolean|string isNull, or why: "not enough data yet" (nothing consumed) or "corrupt data"
-- @qt QDataStream::operator>>(QString &)
function methods:readQString()
  check(self, "readQString", "read")
  local avail = available(self)
  if avail < 4 then return nil, NOT_YET end
  local len = unpack(">I4", peek(self, 4))
  if len == NULL_LENGTH then
    consume(self, 4)
    return "", true
  end
  if len & 1 == 1 then
    -- A count no UTF-16 string can have: the count cannot be trusted, so
    -- do not wait for that many bytes (Qt 4 stops after the count too).
    consume(self, 4)
    return nil, CORRUPT
  end
  if avail - 4 < len then return nil, NOT_YET end
  local s = utf8_of(consume(self, 4 + len):sub(5))
  if not s then return nil, CORRUPT end
  return s, false
end

--- Whether a reader has consumed everything there is.
-- @function atEnd
-- @treturn boolean
-- @qt QDataStream::atEnd
function methods:atEnd()
  check(self, "atEnd", "read")
  return available(self) == 0
end

--- How many bytes a reader has left.
-- @function bytesAvailable
-- @treturn integer
-- @qt QIODevice::bytesAvailable
function methods:bytesAvailable()
  check(self, "bytesAvailable", "read")
  return available(self)
end

---------------------------------------------------------------- both

--- A writer's write position, or the number of bytes a reader has
-- consumed.
-- @function pos
-- @treturn integer
-- @qt QIODevice::pos
function methods:pos()
  check(self, "pos")
  return self._pos
end

local function is_device(v)
  local t = type(v)
  if t ~= "table" and t ~= "userdata" then return false end
  local ok, yes = pcall(function()
    return v.bytesAvailable ~= nil and v.peek ~= nil and v.read ~= nil
  end)
  return ok and yes
end

--- A new stream: net.DataStream() is a writer; net.DataStream(string) a
-- reader over it; net.DataStream(device) a reader of a TcpSocket (or
-- anything with bytesAvailable, peek and read).
-- new() -> writer; new(string) -> reader over it; new(device) -> reader.
-- Called from new and __call, never as a tail call, so that level 3 of a
-- bad argument's error is their caller.
-- @function net.DataStream
-- @tparam[opt] string|TcpSocket source
-- @treturn DataStream
-- @qt QDataStream::QDataStream
local function construct(...)
  if select("#", ...) == 0 or (...) == nil then
    return setmetatable({ _mode = "write", _parts = {}, _pos = 0, _size = 0 }, mt)
  end
  local src = ...
  if type(src) == "string" then
    return setmetatable({ _mode = "read", _buf = src, _pos = 0 }, mt)
  end
  if is_device(src) then
    return setmetatable({ _mode = "read", _dev = src, _pos = 0 }, mt)
  end
  error(("bad argument #1 to 'DataStream' (string or device expected, got %s)")
    :format(type(src)), 3)
end

local function new(...)
  local ds = construct(...)
  return ds
end

return setmetatable({ new = new, methods = methods, mt = mt }, {
  __call = function(_, ...)
    local ds = construct(...)
    return ds
  end,
})
