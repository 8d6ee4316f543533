-- spec/integration/ws_deflate_conformance_spec.lua: permessage-deflate
-- (RFC 7692) against `ws_echo.lua --deflate yes` with raw frames, after
-- the Autobahn|Testsuite's sections 12 (payloads and sizes) and 13
-- (parameters), plus the protocol errors RFC 7692 and 6455 leave to the
-- receiver. Lua has no zlib, so spec/support/ws_deflate_peer.py does each
-- conversation: it offers the extension, sends the case's steps (messages
-- compressed with its own DEFLATE stream, or raw frames), closes with 1000
-- and prints what came back, inflated as the server's answer says (its
-- window bits, its context takeover); the case then checks the answer,
-- the messages, the RSV bits of the server's frames and its close code.
local helper = require "helper"

local PEER = helper.quote_all("env", "-u", "LD_PRELOAD", "/usr/bin/python3", "spec/support/ws_deflate_peer.py")
local OFFER = "permessage-deflate"
-- The server sends shorter messages uncompressed (WS_DEFLATE_MIN in
-- daemon/ws/websocket.c): RFC 7692 lets a sender choose per message.
local DEFLATE_MIN = 128
local LIMIT = 16 << 20   -- the server's default maxAllowedIncomingMessageSize

-- A message as the peer prints it, for short payloads (their hex).
local function line(kind, payload)
  assert(#payload <= 32)
  return ("%s %d %s"):format(kind, #payload, helper.hex(payload))
end

-- { name, offer, steps, answer, back, rsv, pongs, code }: back nil means
-- every message sent comes back (a case that ends with 1000) or none.
local cases = {}
local function case(name, offer, steps, want)
  want = want or {}
  cases[#cases + 1] = { name = name, offer = offer, steps = steps, answer = want.answer or OFFER,
                        back = want.back, rsv = want.rsv, pongs = want.pongs or {}, code = want.code or 1000 }
end
local function fails(name, steps, code, back) case(name, OFFER, steps, { code = code, back = back or {} }) end

-- 12: payloads and sizes. Each case sends four messages on one connection:
-- the client keeps its DEFLATE window, so the second to fourth refer back
-- to the first (up to 32 KiB back); the third goes in three frames (RSV1
-- on the first only).
local SIZES = { 16, 64, 256, 1024, 4096, 8192, 16384, 65536, 131072 }
for _, kind in ipairs({ "text", "binary" }) do
  for _, data in ipairs({ "words", "random" }) do
    for _, n in ipairs(SIZES) do
      local m = ("%s %s:%d"):format(kind, data, n)
      case(("12 %s, %s, %d bytes: four in a row, the third in three frames")
        :format(kind, data == "words" and "compressible" or "random", n), OFFER, { m, m, m .. " frames=3", m })
    end
  end
end
do
  local steps = {}
  for i = 1, 100 do
    steps[i] = ("%s %s:%d"):format(i % 2 == 0 and "text" or "binary", i % 3 == 0 and "random" or "words", 50 * i)
  end
  case("12 a hundred messages of mixed kinds and sizes on one connection", OFFER, steps)
end
case("12 a message in ten frames", OFFER, { "text words:20000 frames=10" })
case("12 uncompressed messages between compressed ones keep the window going", OFFER,
  { "text words:4096", "binary words:4096 plain", "text words:4096", "text random:300 plain frames=2" })

-- RFC 7692 7.2.3's examples, byte for byte ("Hello").
local HELLO = line("text", "Hello")
local function hello(...)
  local rsv = {}
  for i = 1, select("#", ...) do rsv[i] = "0" end   -- short: echoed uncompressed
  return { back = { ... }, rsv = rsv }
end
case("7.2.3.1 one compressed block", OFFER, { "frame 1 4 f248cdc9c90700" }, hello(HELLO))
case("7.2.3.1 one compressed block in two frames", OFFER, { "frame 1 4 f248cd nofin", "frame 0 0 c9c90700" },
  hello(HELLO))
case("7.2.3.2 the second message refers to the first", OFFER,
  { "frame 1 4 f248cdc9c90700", "frame 1 4 f200110000" }, hello(HELLO, HELLO))
case("7.2.3.3 a stored block", OFFER, { "frame 1 4 000500faff48656c6c6f00" }, hello(HELLO))
case("7.2.3.4 a block with BFINAL set", OFFER, { "frame 1 4 f348cdc9c90700" .. "00" }, hello(HELLO))
case("7.2.3.4 a block with BFINAL set, then a message in a new stream", OFFER,
  { "frame 1 4 f348cdc9c90700" .. "00", "frame 1 4 f248cdc9c90700" }, hello(HELLO, HELLO))
case("7.2.3.4 a long message with BFINAL set, then another", OFFER, { "text words:300 final", "text words:300" })
case("7.2.3.4 a new stream after BFINAL starts with an empty window: a reference back is invalid", OFFER,
  { "frame 1 4 f348cdc9c90700" .. "00", "frame 1 4 f200110000" },
  { back = { HELLO }, rsv = { "0" }, code = 1007 })
case("7.2.3.5 two blocks in one message", OFFER, { "frame 1 4 f24805000000ffffcac9c90700" }, hello(HELLO))
case("7.2.3.6 an empty compressed message", OFFER, { "frame 2 4 00", "frame 1 4 -" },
  { back = { line("binary", ""), line("text", "") }, rsv = { "0", "0" } })
case("a ping between compressed fragments is answered", OFFER,
  { "frame 1 4 f248cd nofin", "frame 9 0 -", "frame 0 0 c9c90700" },
  { back = { HELLO }, rsv = { "0" }, pongs = { "10" } })

-- 13: parameters. The server agrees to the first offer it can take and
-- answers with the terms it will keep. The replies are inflated with the
-- window bits it answered and, for server_no_context_takeover, with a new
-- inflater each: the messages repeat 20000-byte runs, which a server
-- keeping a larger window or its context would refer back to.
local REPEATS = { "text twice:40000", "text twice:40000", "binary words:5000", "binary random:300" }
case("13.1 permessage-deflate without parameters", OFFER, REPEATS)
case("13.1 client_max_window_bits without a value", OFFER .. "; client_max_window_bits", REPEATS)
for bits = 8, 15 do
  case(("13.2 client_max_window_bits=%d"):format(bits), ("%s; client_max_window_bits=%d"):format(OFFER, bits), REPEATS)
end
for bits = 9, 15 do
  local terms = ("%s; server_max_window_bits=%d"):format(OFFER, bits)
  case(("13.3 server_max_window_bits=%d: the replies use that window"):format(bits), terms, REPEATS, { answer = terms })
end
case("13.4 server_no_context_takeover: each reply inflates alone", OFFER .. "; server_no_context_takeover", REPEATS,
  { answer = OFFER .. "; server_no_context_takeover" })
case("13.4 client_no_context_takeover: the client starts each message afresh",
  OFFER .. "; client_no_context_takeover", REPEATS, { answer = OFFER .. "; client_no_context_takeover" })
case("13.5 every parameter at once",
  OFFER .. "; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9"
    .. "; client_max_window_bits=9",
  REPEATS, { answer = OFFER .. "; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9" })
case("13.5 a quoted value", OFFER .. '; server_max_window_bits="10"', REPEATS,
  { answer = OFFER .. "; server_max_window_bits=10" })
case("13.6 names in any case", "PerMessage-Deflate; Server_No_Context_Takeover", REPEATS,
  { answer = OFFER .. "; server_no_context_takeover" })
case("13.7 several offers: the first is taken", OFFER .. "; server_max_window_bits=10, " .. OFFER, REPEATS,
  { answer = OFFER .. "; server_max_window_bits=10" })
case("13.7 several offers: one it cannot take is passed over",
  OFFER .. "; server_max_window_bits=8, " .. OFFER .. "; server_no_context_takeover", REPEATS,
  { answer = OFFER .. "; server_no_context_takeover" })
case("13.7 several offers: an unknown extension first", "x-webkit-deflate-frame, " .. OFFER, REPEATS)
case("13.7 several offers: one with an unknown parameter first", OFFER .. "; foo=1, " .. OFFER, REPEATS)
case("13.7 several offers: one naming a parameter twice is passed over, the next taken",
  OFFER .. "; server_no_context_takeover; server_no_context_takeover, " .. OFFER .. "; client_no_context_takeover",
  REPEATS, { answer = OFFER .. "; client_no_context_takeover" })
case("13.7 several offers: one that cannot be read is passed over, the next taken",
  OFFER .. "; =1, " .. OFFER, REPEATS)

-- Offers the server must decline (RFC 7692 7.1: an unknown parameter, a
-- bad value, a parameter twice): no extension is agreed, so an
-- uncompressed message is echoed and a frame with RSV1 is a protocol error.
local DECLINED = {
  "; foo", "; foo=1", "; client_max_window_bits=7", "; client_max_window_bits=16", "; client_max_window_bits=",
  "; server_max_window_bits", "; server_max_window_bits=8", "; server_max_window_bits=16",
  "; server_max_window_bits=09", "; server_max_window_bits=0x9", "; server_max_window_bits=1e1",
  "; client_no_context_takeover=1",
  "; server_no_context_takeover; server_no_context_takeover",
}
for _, params in ipairs(DECLINED) do
  case(("13.8 an offer with %q is declined"):format(params:sub(3)), OFFER .. params,
    { "text hex:6f6b plain", "text words:300" },
    { answer = "-", back = { line("text", "ok") }, rsv = { "0" }, code = 1002 })
end
case("13.8 without an offer, RSV1 is a protocol error", "-", { "text words:300" },
  { answer = "-", back = {}, code = 1002 })

-- Protocol errors on a connection that agreed to deflate.
fails("RSV1 on a continuation frame", { "text words:300 frames=2 rsv=4,4" }, 1002)
fails("RSV1 on a continuation of an uncompressed message", { "text words:300 plain frames=2 rsv=0,4" }, 1002)
fails("RSV1 on a ping", { "frame 9 4 -" }, 1002)
fails("RSV1 on a close", { "frame 8 4 03e8" }, 1002)
fails("RSV2 on a compressed message", { "text words:300 rsv=6" }, 1002)
fails("RSV3 on a compressed message", { "text words:300 rsv=5" }, 1002)
fails("RSV2 on an uncompressed message", { "text words:300 plain rsv=2" }, 1002)
fails("a reserved block type (BTYPE 11) is invalid data", { "frame 1 4 ffffffff" }, 1007)
fails("a reference before the stream's start is invalid data", { "frame 2 4 a2070b00" }, 1007)
-- (after a whole stored block, so that ff starts a block: BFINAL, BTYPE 11)
fails("invalid data in a later frame", { "frame 2 4 000500faff48656c6c6f nofin", "frame 0 0 ffffffff" }, 1007)
fails("invalid data after a good message", { "text hex:6f6b", "frame 1 4 ffffffff" }, 1007, { line("text", "ok") })
fails("a compressed text that inflates to invalid UTF-8", { "text hex:cebae1bdb9cf83cebcceff" }, 1007)
fails("a compressed text that inflates to a cut UTF-8 character", { "text hex:68c3" }, 1007)
fails("invalid UTF-8 inflated from a later frame", { "text hex:68656c6c6fc0af frames=3" }, 1007)
case("a compressed message of the size limit is echoed", OFFER, { ("binary zeros:%d"):format(LIMIT) })
fails("a compressed message that inflates one byte past the limit", { ("binary zeros:%d"):format(LIMIT + 1) }, 1009)
fails("a bomb in eight frames is stopped as it inflates", { ("binary zeros:%d frames=8"):format(2 * LIMIT) }, 1009)

-- The RSV bits expected of each reply: RSV1 (4) when the server compresses
-- it, that is when deflate was agreed and the message is not short.
local function default_rsv(c, sent)
  local out = {}
  for i, m in ipairs(sent) do
    out[i] = c.answer ~= "-" and tonumber(m:match("^%S+ (%d+)")) >= DEFLATE_MIN and "4" or "0"
  end
  return out
end

-- Runs the peer; its lines as { status, extensions, close, eof, sent = {},
-- got = {}, rsv = {}, control = {} }.
local function converse(port, offer, steps)
  local code, out, err = helper.execute(PEER .. " " .. helper.quote_all(port, offer, table.unpack(steps)), 20000)
  assert(code == 0, ("peer failed (%s): %s%s"):format(code, out, err))
  local r = { sent = {}, got = {}, rsv = {}, control = {} }
  for l in out:gmatch("[^\n]+") do
    local verb, rest = l:match("^(%S+) ?(.*)$")
    if type(r[verb]) == "table" then table.insert(r[verb], rest) else r[verb] = rest end
  end
  return r, out
end

describe("permessage-deflate conformance (Autobahn's 12 and 13, raw frames against ws_echo.lua)", function()
  local proc, port
  setup(function()
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ws_echo.lua"), "--port", "0",
      "--deflate", "yes"))
  end)
  teardown(function() proc.cleanup() end)

  for _, c in ipairs(cases) do
    it(c.name, function()
      local r, out = converse(port, c.offer, c.steps)
      assert.are.same("101", r.status, out)
      assert.are.same(c.answer, r.extensions, out)
      local back = c.back or (c.code == 1000 and r.sent or {})
      assert.are.same(back, r.got, out)
      assert.are.same(c.rsv or default_rsv(c, back), r.rsv, out)
      assert.are.same(c.pongs, r.control, out)
      assert.are.same(tostring(c.code), r.close, out)
      assert.are.same("", r.eof, out)   -- and then the server ended the connection
    end)
  end

  it("refuses a 256 MiB bomb without inflating it into memory", function()
    local function peak_kib()
      return tonumber(helper.slurp(("/proc/%d/status"):format(proc.pid())):match("VmHWM:%s*(%d+)"))
    end
    local before = peak_kib()
    local r, out = converse(port, OFFER, { ("binary zeros:%d"):format(256 << 20) })
    assert.are.same("1009", r.close, out)
    local grown = peak_kib() - before
    assert.is_true(grown < 128 << 10, ("the server's peak memory grew by %d KiB"):format(grown))
  end)
end)
