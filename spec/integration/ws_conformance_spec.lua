-- spec/integration/ws_conformance_spec.lua: scripts/ws_echo.lua against raw
-- frames, after the sections of the Autobahn|Testsuite case list (whose
-- runner needs Python 2): framing (1), pings and pongs (2), reserved bits
-- (3), opcodes (4), fragmentation (5), UTF-8 (6), closing (7) and sizes
-- (9). Deflate (12, 13) is in ws_deflate_conformance_spec.lua, with raw
-- compressed frames too. Each case sends its frames and then a close with
-- 1000, and checks what the server sent back: the messages (reassembled
-- from their frames), the pongs, and the code of its close frame.
local helper = require "helper"
local raw = require "support.ws_raw"
local frame = raw.frame

local TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10

local function close(code, reason)
  return frame(CLOSE, code and string.pack(">I2", code) .. (reason or "") or "")
end

local function bytes(n, c) return (c or "*"):rep(n) end

-- { name, frames (a string of raw frames), back = { {opcode, payload}... }, code }
local cases = {}
local function case(name, frames, back, code)
  cases[#cases + 1] = { name = name, frames = frames, back = back or {}, code = code or 1000 }
end

-- 1: framing
for _, n in ipairs({ 0, 125, 126, 127, 128, 65535, 65536 }) do
  case(("1.1 text of %d bytes"):format(n), frame(TEXT, bytes(n)), { { TEXT, bytes(n) } })
  case(("1.2 binary of %d bytes"):format(n), frame(BINARY, bytes(n, "\xfe")), { { BINARY, bytes(n, "\xfe") } })
end

-- 2: pings and pongs
case("2.1 ping without payload", frame(PING, ""), { { PONG, "" } })
case("2.2 ping with 125 bytes", frame(PING, bytes(125, "\x01")), { { PONG, bytes(125, "\x01") } })
case("2.3 ping with 126 bytes", frame(PING, bytes(126)), {}, 1002)
case("2.4 unsolicited pong", frame(PONG, "x"), {})
case("2.5 unsolicited pong then ping", frame(PONG, "x") .. frame(PING, "y"), { { PONG, "y" } })
do
  local pings, pongs = {}, {}
  for i = 1, 10 do pings[i] = frame(PING, "p" .. i) pongs[i] = { PONG, "p" .. i } end
  case("2.6 ten pings", table.concat(pings), pongs)
end

-- 3: reserved bits (no extension agreed)
for rsv = 1, 7 do
  case(("3.%d text with RSV %d"):format(rsv, rsv), frame(TEXT, "hi", true, rsv), {}, 1002)
end
case("3.8 ping with RSV 1", frame(PING, "", true, 1), {}, 1002)
case("3.9 a good message, then one with RSV 2", frame(TEXT, "ok") .. frame(TEXT, "no", true, 2), { { TEXT, "ok" } }, 1002)

-- 4: opcodes
for _, op in ipairs({ 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 }) do
  case(("4.x reserved opcode %d"):format(op), frame(op, ""), {}, 1002)
end
case("4.y a good message, then opcode 5", frame(TEXT, "ok") .. frame(5, "x"), { { TEXT, "ok" } }, 1002)

-- 5: fragmentation
case("5.1 fragmented ping", frame(PING, "a", false) .. frame(CONT, "b"), {}, 1002)
case("5.2 fragmented pong", frame(PONG, "a", false) .. frame(CONT, "b"), {}, 1002)
case("5.3 text in two fragments", frame(TEXT, "frag", false) .. frame(CONT, "ment"), { { TEXT, "fragment" } })
case("5.4 text in one-byte fragments",
  frame(TEXT, "a", false) .. frame(CONT, "b", false) .. frame(CONT, "c", false) .. frame(CONT, "d"),
  { { TEXT, "abcd" } })
case("5.6 a ping between fragments", frame(TEXT, "fr", false) .. frame(PING, "x") .. frame(CONT, "ag"),
  { { PONG, "x" }, { TEXT, "frag" } })
case("5.7 empty fragments", frame(TEXT, "", false) .. frame(CONT, "", false) .. frame(CONT, ""), { { TEXT, "" } })
case("5.9 continuation without a message", frame(CONT, "x"), {}, 1002)
case("5.10 unfinished continuation without a message", frame(CONT, "x", false), {}, 1002)
case("5.15 a new message inside a fragmented one", frame(TEXT, "a", false) .. frame(TEXT, "b"), {}, 1002)
case("5.17 binary in fragments", frame(BINARY, "\0", false) .. frame(CONT, "\1"), { { BINARY, "\0\1" } })

-- 6: UTF-8
local valid = {
  "κόσμε", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
  "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
}
for i, text in ipairs(valid) do
  case(("6.a valid UTF-8 #%d"):format(i), frame(TEXT, text), { { TEXT, text } })
  case(("6.b valid UTF-8 #%d split between fragments"):format(i),
    frame(TEXT, text:sub(1, 1), false) .. frame(CONT, text:sub(2)), { { TEXT, text } })
end
local invalid = {
  "\xff", "\xfe", "\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
  "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xce", "κόσμ\xce", "\xe0\xa0", "\xf0\x90\x80",
}
for i, text in ipairs(invalid) do
  case(("6.c invalid UTF-8 #%d"):format(i), frame(TEXT, text), {}, 1007)
end
case("6.d invalid UTF-8 in a later fragment", frame(TEXT, "ok", false) .. frame(CONT, "\xff"), {}, 1007)
case("6.e invalid UTF-8 fails at once, before the message ends", frame(TEXT, "ab\xc0\xaf", false), {}, 1007)

-- 7: closing
case("7.1.1 a message, then close", frame(TEXT, "bye"), { { TEXT, "bye" } })
case("7.1.3 nothing after a close: a ping after it is not answered", close(1000) .. frame(PING, "late"), {})
case("7.1.5 a close between fragments ends the connection", frame(TEXT, "fr", false) .. close(1000) .. frame(CONT, "ag"), {})
for _, code in ipairs({ 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999 }) do
  cases[#cases + 1] = { name = ("7.7 close with %d is echoed"):format(code), frames = close(code), back = {}, code = code }
end
for _, code in ipairs({ 0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999 }) do
  cases[#cases + 1] = { name = ("7.9 close with %d is a protocol error"):format(code), frames = close(code), back = {},
                        code = 1002 }
end
cases[#cases + 1] = { name = "7.3.1 close without payload", frames = frame(CLOSE, ""), back = {}, code = 1005 }
cases[#cases + 1] = { name = "7.3.2 close with one byte", frames = frame(CLOSE, "\3"), back = {}, code = 1002 }
cases[#cases + 1] = { name = "7.3.5 close with a 123-byte reason", frames = close(1000, bytes(123)), back = {}, code = 1000 }
cases[#cases + 1] = { name = "7.3.6 close with a 124-byte reason (a 126-byte control frame)",
                      frames = close(1000, bytes(124)), back = {}, code = 1002 }
cases[#cases + 1] = { name = "7.5.1 close with a reason that is not UTF-8", frames = close(1000, "\xff"), back = {},
                      code = 1007 }

-- 9: sizes
for _, n in ipairs({ 256 << 10, 1 << 20, 4 << 20 }) do
  case(("9.1 text of %d bytes"):format(n), frame(TEXT, bytes(n)), { { TEXT, bytes(n) } })
end
do
  local parts, chunk = {}, bytes(64 << 10, "\x07")
  for i = 1, 16 do parts[i] = frame(i == 1 and BINARY or CONT, chunk, i == 16) end
  case("9.2 binary of 1 MiB in 16 frames", table.concat(parts), { { BINARY, chunk:rep(16) } })
end

describe("WebSocket conformance (Autobahn's sections, raw frames against ws_echo.lua)", function()
  local proc, port
  setup(function()
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ws_echo.lua")))
  end)
  teardown(function() proc.cleanup() end)

  it("echoes frames sent in the same write as the handshake's head", function()
    -- No client may send frames before the 101 (RFC 6455 4.1), yet one
    -- that does must not lose them: they wait for newConnection's slots.
    local sock, head, rest = raw.handshake(port, raw.request() .. frame(TEXT, "early") .. frame(BINARY, "\1\2") .. close(1000))
    finally(function() sock:abort() end)
    assert.truthy(head:match("^HTTP/1%.1 101 "), head)
    local frames, closed = raw.read_until_close(sock, rest)
    assert.is_true(closed)
    local got = {}
    for _, m in ipairs(raw.messages(frames)) do got[#got + 1] = { m.opcode, m.payload } end
    assert.are.same({ { TEXT, "early" }, { BINARY, "\1\2" }, { CLOSE, "\3\232" } }, got)
  end)

  for _, c in ipairs(cases) do
    it(c.name, function()
      local sock, head, rest = raw.handshake(port, raw.request())
      finally(function() sock:abort() end)
      assert.truthy(head:match("^HTTP/1%.1 101 "), head)
      sock:write(c.frames .. close(1000))
      local frames, closed = raw.read_until_close(sock, rest)
      assert.is_true(closed, "the server did not close the connection")
      local got = {}
      for _, m in ipairs(raw.messages(frames)) do
        if m.opcode ~= CLOSE then got[#got + 1] = { m.opcode, #m.payload > 200 and #m.payload or m.payload } end
      end
      local want = {}
      for i, m in ipairs(c.back) do want[i] = { m[1], #m[2] > 200 and #m[2] or m[2] } end
      assert.are.same(want, got)
      if #c.back > 0 and #c.back[1][2] > 200 then   -- big ones: the bytes too, not only the length
        for i, m in ipairs(c.back) do assert.is_true(raw.messages(frames)[i].payload == m[2]) end
      end
      assert.are.same(c.code, raw.close_code(frames))
    end)
  end
end)
