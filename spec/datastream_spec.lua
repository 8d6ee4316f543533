-- spec/datastream_spec.lua: net.DataStream writes what Qt 4's QDataStream
-- (Qt_4_0) writes and reads it back a value at a time, from strings, from
-- devices and from a real TcpSocket; Qt itself (PyQt5) is the referee.
local helper = require "helper"
local net = require "luanet"
local DataStream = net.DataStream

local NOT_YET = "not enough data yet"
local CORRUPT = "corrupt data"

local hex, unhex = helper.hex, helper.unhex

-- A fortune server's block, as Qt's example builds it: a quint16 of 0, the
-- fortune, then seek(0) and the size of what follows the quint16.
local function fortune_block(text)
  local out = DataStream()
  out:writeUInt16(0)
  out:writeQString(text)
  out:seek(0)
  out:writeUInt16(out:size() - 2)
  return out:data()
end

local function qstring(s)
  local out = DataStream()
  out:writeQString(s)
  return out:data()
end

-- A device as DataStream(device) sees one: bytes are fed in by the test.
local function fake_device()
  local dev = { buf = "" }
  function dev:bytesAvailable() return #self.buf end
  function dev:peek(n) return self.buf:sub(1, n) end
  function dev:read(n)
    local s = self.buf:sub(1, n)
    self.buf = self.buf:sub(n + 1)
    return s
  end
  function dev:feed(s) self.buf = self.buf .. s end
  return dev
end

describe("net.DataStream", function()
  describe("construction", function()
    it("is callable and also has new", function()
      assert.are.same("luanet.DataStream", getmetatable(DataStream()).__name)
      assert.are.same("luanet.DataStream", getmetatable(DataStream.new("")).__name)
    end)

    it("makes a writer without an argument and a reader with a string", function()
      assert.are.same("luanet.DataStream (writer, pos 0, size 0)", tostring(DataStream()))
      assert.are.same("luanet.DataStream (reader, pos 0, 3 bytes available)",
                      tostring(DataStream("abc")))
    end)

    it("raises on a source that is neither a string nor a device", function()
      assert.has_error(function() DataStream(42) end,
        "bad argument #1 to 'DataStream' (string or device expected, got number)")
      assert.has_error(function() DataStream.new({}) end,
        "bad argument #1 to 'DataStream' (string or device expected, got table)")
    end)
  end)

  describe("writer", function()
    it("writes a fortune block byte for byte as Qt's fortune server does", function()
      -- quint16 8 (the bytes after it), quint32 4, "H", "i" in UTF-16BE
      assert.are.same("\0\8" .. "\0\0\0\4" .. "\0H\0i", fortune_block("Hi"))
    end)

    it("writes quint16 and quint32 big-endian", function()
      local out = DataStream()
      out:writeUInt16(0x1234)
      out:writeUInt16(0xFFFF)
      out:writeUInt32(0xDEADBEEF)
      out:writeUInt32(0)
      assert.are.same("\x12\x34\xFF\xFF\xDE\xAD\xBE\xEF\0\0\0\0", out:data())
    end)

    it("writes a QString as its UTF-16 byte count then UTF-16BE code units", function()
      assert.are.same("\0\0\0\2\0\xE9", qstring("é"))
      assert.are.same("\0\0\0\4\x65\xE5\x67\x2C", qstring("日本"))
    end)

    it("writes characters beyond the BMP as surrogate pairs", function()
      assert.are.same("\0\0\0\4\xD8\x3D\xDE\x00", qstring("😀"))
      assert.are.same("\0\0\0\4\xDB\xFF\xDF\xFF", qstring("\u{10FFFF}"))
    end)

    it("writes nil as the null QString: 0xFFFFFFFF and no data", function()
      assert.are.same("\xFF\xFF\xFF\xFF", qstring(nil))
    end)

    it("writes an empty string as length 0 and no data", function()
      assert.are.same("\0\0\0\0", qstring(""))
    end)

    it("overwrites from the position given to seek and keeps the size", function()
      local out = DataStream()
      out:writeUInt32(0)
      out:writeQString("abc")
      assert.is_true(out:seek(0))
      assert.are.same(0, out:pos())
      out:writeUInt32(0x01020304)
      assert.are.same(4, out:pos())
      assert.are.same(14, out:size())
      assert.are.same("\1\2\3\4" .. "\0\0\0\6\0a\0b\0c", out:data())
    end)

    it("appends again after seeking back to the end", function()
      local out = DataStream()
      out:writeUInt16(0)
      out:writeUInt16(7)
      out:seek(0)
      out:writeUInt16(1)
      out:seek(out:size())
      out:writeUInt16(9)
      assert.are.same("\0\1\0\7\0\9", out:data())
    end)

    it("grows past the end when an overwrite runs over it", function()
      local out = DataStream()
      out:writeUInt16(0xAAAA)
      out:seek(1)
      out:writeUInt32(0x01020304)
      assert.are.same("\xAA\1\2\3\4", out:data())
      assert.are.same(5, out:size())
    end)

    it("fills the gap with zero bytes when seek goes past the end", function()
      local out = DataStream()
      out:seek(3)
      out:writeUInt16(0x0102)
      assert.are.same("\0\0\0\1\2", out:data())
    end)

    it("raises, naming the method, on integers out of range", function()
      local out = DataStream()
      assert.has_error(function() out:writeUInt16(65536) end,
        "bad argument #1 to 'writeUInt16' (value out of range 0..65535)")
      assert.has_error(function() out:writeUInt16(-1) end,
        "bad argument #1 to 'writeUInt16' (value out of range 0..65535)")
      assert.has_error(function() out:writeUInt32(0x100000000) end,
        "bad argument #1 to 'writeUInt32' (value out of range 0..4294967295)")
      assert.are.same("", out:data())
    end)

    it("raises, naming the method, on arguments of the wrong type", function()
      local out = DataStream()
      assert.has_error(function() out:writeUInt16("1") end,
        "bad argument #1 to 'writeUInt16' (integer expected, got string)")
      assert.has_error(function() out:writeUInt32(1.5) end,
        "bad argument #1 to 'writeUInt32' (integer expected, got float)")
      assert.has_error(function() out:writeQString(12) end,
        "bad argument #1 to 'writeQString' (string or nil expected, got number)")
      assert.has_error(function() out:seek(-1) end,
        "bad argument #1 to 'seek' (non-negative integer expected)")
      assert.has_error(function() out.writeUInt16(5) end,
        "bad self to 'writeUInt16' (luanet.DataStream expected, got number)")
    end)

    it("raises on invalid UTF-8 and writes nothing", function()
      local out = DataStream()
      for _, bad in ipairs({ "\xFF", "a\x80", "\xC3", "\xC0\xAF", "\xED\xA0\x80",
                             "\xF4\x90\x80\x80" }) do
        assert.has_error(function() out:writeQString(bad) end,
          "bad argument #1 to 'writeQString' (invalid UTF-8)")
      end
      assert.are.same("", out:data())
    end)

    it("raises when a reader's method is called on a writer", function()
      assert.has_error(function() DataStream():readUInt16() end,
        "'readUInt16' needs a reader DataStream, this one is a writer")
      assert.has_error(function() DataStream(""):writeUInt16(1) end,
        "'writeUInt16' needs a writer DataStream, this one is a reader")
    end)
  end)

  describe("reader", function()
    it("reads quint16 and quint32 big-endian", function()
      local input = DataStream("\x12\x34\xDE\xAD\xBE\xEF")
      assert.are.same(0x1234, input:readUInt16())
      assert.are.same(0xDEADBEEF, input:readUInt32())
      assert.is_true(input:atEnd())
    end)

    for _, case in ipairs({
      { "an ASCII string", "Hello, fortune" },
      { "a non-ASCII string", "café, 日本" },
      { "a non-BMP string", "a😀b\u{10000}\u{10FFFF}" },
      { "a string with an embedded NUL", "a\0b" },
      { "a long mixed string", ("x é 日 😀 "):rep(3000) },
    }) do
      it("reads back " .. case[1] .. " it wrote", function()
        local input = DataStream(qstring(case[2]) .. "\0\1")
        assert.are.same({ case[2], false }, { input:readQString() })
        assert.are.same(1, input:readUInt16())
        assert.is_true(input:atEnd())
      end)
    end

    it("reads the null QString as an empty string and isNull true", function()
      local input = DataStream("\xFF\xFF\xFF\xFF")
      assert.are.same({ "", true }, { input:readQString() })
      assert.is_true(input:atEnd())
    end)

    it("reads an empty QString as an empty string and isNull false", function()
      local input = DataStream("\0\0\0\0")
      assert.are.same({ "", false }, { input:readQString() })
      assert.is_true(input:atEnd())
    end)

    it("reports bytesAvailable and pos as it consumes", function()
      local input = DataStream(fortune_block("Hi"))
      assert.are.same(10, input:bytesAvailable())
      assert.are.same(8, input:readUInt16())
      assert.are.same(8, input:bytesAvailable())
      assert.are.same(2, input:pos())
      assert.is_false(input:atEnd())
      assert.are.same("Hi", (input:readQString()))
      assert.are.same(0, input:bytesAvailable())
      assert.is_true(input:atEnd())
    end)

    it("returns not enough data yet and consumes nothing at every cut of a frame", function()
      local frame = fortune_block("é😀") .. "\1\2\3\4" .. qstring(nil)
      local reads = {                 -- the frame's values: read, value, end offset
        { "readUInt16", 10, 2 },
        { "readQString", "é😀", 12 },
        { "readUInt32", 0x01020304, 16 },
        { "readQString", "", 20 },
      }
      for cut = 0, #frame - 1 do
        local input = DataStream(frame:sub(1, cut))
        for _, r in ipairs(reads) do
          local before = input:pos()
          if r[3] > cut then
            assert.are.same({ nil, NOT_YET }, { input[r[1]](input) })
            assert.are.same(before, input:pos())
            assert.are.same(cut - before, input:bytesAvailable())
            break
          end
          assert.are.same(r[2], (input[r[1]](input)))
        end
      end
    end)

    it("returns not enough data yet from a device until the whole value is there", function()
      local frame = fortune_block("日本 😀")
      local dev = fake_device()
      local input = DataStream(dev)
      local size, fortune
      for i = 1, #frame do
        dev:feed(frame:sub(i, i))
        if not size then
          local err
          size, err = input:readUInt16()
          if i < 2 then assert.are.same(NOT_YET, err) end
        elseif not fortune then
          local err
          fortune, err = input:readQString()
          if i < #frame then
            assert.are.same(NOT_YET, err)
            assert.are.same(i - 2, dev:bytesAvailable())
          end
        end
      end
      assert.are.same(#frame - 2, size)
      assert.are.same("日本 😀", fortune)
      assert.is_true(input:atEnd())
      assert.are.same(#frame, input:pos())
    end)

    it("returns corrupt data for an odd byte count and consumes only the count", function()
      local input = DataStream("\0\0\0\3\0a\0")
      assert.are.same({ nil, CORRUPT }, { input:readQString() })
      assert.are.same(4, input:pos())
      assert.are.same(0x61, input:readUInt16())
    end)

    it("returns corrupt data for an odd byte count before the data arrives", function()
      local input = DataStream("\x7F\xFF\xFF\xFF")
      assert.are.same({ nil, CORRUPT }, { input:readQString() })
      assert.is_true(input:atEnd())
    end)

    for _, case in ipairs({
      { "a lone high surrogate at the end", "\0a\xD8\x3D" },
      { "a high surrogate followed by a non-surrogate", "\xD8\x3D\0a" },
      { "two high surrogates", "\xD8\x3D\xD8\x3D" },
      { "a lone low surrogate", "\xDE\x00\0a" },
    }) do
      it("returns corrupt data for " .. case[1] .. " and consumes the string", function()
        local units = case[2]
        local input = DataStream(string.pack(">s4", units) .. "\0\7")
        assert.are.same({ nil, CORRUPT }, { input:readQString() })
        assert.are.same(4 + #units, input:pos())
        assert.are.same(7, input:readUInt16())
      end)
    end
  end)

  describe("over a TcpSocket", function()
    it("reads a block that arrives one byte per TCP write", function()
      local server, port = helper.listen()
      local peer
      server.newConnection:connect(function() peer = server:nextPendingConnection() end)
      local client = net.TcpSocket()
      finally(function()
        client:close()
        if peer then peer:close() end
        server:close()
      end)
      client:connectToHost("127.0.0.1", port)
      assert.is_true(client:waitForConnected(helper.TIMEOUT))
      assert.is_true(helper.run(helper.TIMEOUT, function() return peer ~= nil end))
      peer:setSocketOption("LowDelayOption", 1)   -- no Nagle: one segment per byte

      local block = fortune_block("Fortune: 日本 😀")
      local input = DataStream(client)
      local size, fortune, isNull, err
      for i = 1, #block do
        assert.are.same(1, peer:write(block:sub(i, i)))
        assert.is_true(client:waitForReadyRead(helper.TIMEOUT))
        assert.are.same(i, input:pos() + client:bytesAvailable())
        if not size then
          size, err = input:readUInt16()
          if i < 2 then
            assert.are.same({ nil, NOT_YET }, { size, err })
            assert.are.same(i, client:bytesAvailable())
          end
        else
          fortune, isNull = input:readQString()
          if i < #block then
            assert.are.same({ nil, NOT_YET }, { fortune, isNull })
            assert.are.same(i - 2, client:bytesAvailable())
          end
        end
      end
      assert.are.same(#block - 2, size)
      assert.are.same({ "Fortune: 日本 😀", false }, { fortune, isNull })
      assert.is_true(input:atEnd())
    end)
  end)

  describe("against Qt's QDataStream (PyQt5)", function()
    -- Debian's python3 with python3-pyqt5; the python3 on PATH may lack it.
    -- A clean environment keeps the sanitizer's LD_PRELOAD out of Qt.
    local PYTHON = "env -i PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen /usr/bin/python3"
    -- write HEX...: one fortune block per UTF-8 string given in hex ("-" is
    -- the null QString); read HEX...: each block's quint16, isNull and the
    -- UTF-8 hex of its QString.
    local SCRIPT = [[
import sys
from PyQt5 import QtCore
def write(arg):
    ba = QtCore.QByteArray()
    out = QtCore.QDataStream(ba, QtCore.QIODevice.WriteOnly)
    out.setVersion(QtCore.QDataStream.Qt_4_0)
    out.writeUInt16(0)
    out.writeQString(None if arg == "-" else bytes.fromhex(arg).decode("utf-8"))
    out.device().seek(0)
    out.writeUInt16(ba.size() - 2)
    return bytes(ba).hex()
def read(arg):
    ba = QtCore.QByteArray(bytes.fromhex(arg))
    inp = QtCore.QDataStream(ba)
    inp.setVersion(QtCore.QDataStream.Qt_4_0)
    size = inp.readUInt16()
    # PyQt5 maps a null QString to "", so read the count to tell null apart.
    null = bytes(ba)[2:6] == b"\xff\xff\xff\xff"
    s = inp.readQString()
    ok = inp.status() == QtCore.QDataStream.Ok and inp.atEnd()
    return "%d %s %s %s" % (size, "null" if null else "notnull", s.encode("utf-8").hex() or "-", "ok" if ok else "bad")
mode = sys.argv[1]
for arg in sys.argv[2:]:
    print(write(arg) if mode == "write" else read(arg))
]]
    local CASES = {
      { "an ASCII string", "Hello, fortune" },
      { "a non-ASCII string", "café, 日本" },
      { "a non-BMP string", "😀 \u{10348}" },
      { "an empty string", "" },
      { "the null string", nil },
    }
    local script

    local function qt(mode, args)
      local cmd = { PYTHON, helper.quote(script), mode }
      for _, a in ipairs(args) do cmd[#cmd + 1] = helper.quote(a) end
      local p = assert(io.popen(table.concat(cmd, " ") .. " 2>&1"))
      local out = p:read("a")
      local ok = p:close()
      assert(ok, "python3/PyQt5 failed: " .. out)
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      return lines
    end

    local function hexarg(s)
      if s == nil then return "-" end
      return hex(s)
    end

    setup(function()
      local f = io.popen("/usr/bin/python3 -c 'import PyQt5.QtCore' 2>&1")
      local msg = f:read("a")
      assert(f:close(), "Debian's /usr/bin/python3 needs python3-pyqt5 (make deps): " .. msg)
      script = os.tmpname()
      f = assert(io.open(script, "w"))
      f:write(SCRIPT)
      f:close()
    end)

    teardown(function()
      if script then os.remove(script) end
    end)

    for _, case in ipairs(CASES) do
      local name, text = case[1], case[2]

      it("writes " .. name .. " byte for byte as Qt does", function()
        local theirs = qt("write", { hexarg(text) })[1]
        assert.are.same(theirs, hex(fortune_block(text)))
      end)

      it("reads " .. name .. " that Qt wrote", function()
        local block = unhex(qt("write", { hexarg(text) })[1])
        local input = DataStream(block)
        assert.are.same(#block - 2, input:readUInt16())
        assert.are.same({ text or "", text == nil }, { input:readQString() })
        assert.is_true(input:atEnd())
      end)

      it("writes " .. name .. " that Qt reads back", function()
        local line = qt("read", { hex(fortune_block(text)) })[1]
        local expected = ("%d %s %s ok"):format(#fortune_block(text) - 2,
          text == nil and "null" or "notnull", text and text ~= "" and hex(text) or "-")
        assert.are.same(expected, line)
      end)
    end
  end)
end)
