-- spec/discovery_spec.lua: the free-space discovery wire format
-- (lua/luanet/discovery.lua). Round trips, the exact bytes of version 1,
-- and every way a datagram can be malformed: each gives nil and a reason,
-- never a raise. Also net.statvfs (daemon/io/fs.c), the figure a responder
-- answers with, checked against stat(1)'s.
local helper = require "helper"
local discovery = require "luanet.discovery"
local net = require "luanet"

local encode_query, decode_query = discovery.encode_query, discovery.decode_query
local encode_answer, decode_answer = discovery.encode_answer, discovery.decode_answer

local hex = helper.hex

-- Hex with spaces allowed between bytes, for readable expectations.
local function unhex(h)
  return helper.unhex((h:gsub("%s", "")))
end

-- An answer whose header and figures are right but whose host name bytes
-- are `host` as given (encode_answer would refuse the bad ones).
local function raw_answer(id, host, free)
  return string.pack(">c4BBI4i8s1", "LNDS", 1, 2, id, free or 0, host)
end

-- Asserts decode(bytes) gives nil and a reason matching pattern.
local function rejects(decode, bytes, pattern)
  local value, reason = decode(bytes)
  assert.is_nil(value, ("accepted %s"):format(hex(bytes)))
  assert.are.same("string", type(reason))
  assert.truthy(reason:find(pattern), ("reason %q for %s does not match %q"):format(reason, hex(bytes), pattern))
end

describe("luanet.discovery", function()
  describe("queries", function()
    it("encodes version 1 as magic, version, kind and the id, big-endian", function()
      assert.are.same("4c4e44530101deadbeef", hex(encode_query(0xdeadbeef)))
      assert.are.same(discovery.QUERY_SIZE, #encode_query(0))
    end)

    it("round-trips every id from 0 to 2^32-1", function()
      for _, id in ipairs({ 0, 1, 255, 256, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff }) do
        assert.are.same(id, decode_query(encode_query(id)))
      end
      for _ = 1, 200 do
        local id = math.random(0, 0xffffffff)
        local bytes = encode_query(id)
        assert.are.same(id, decode_query(bytes))
        assert.are.same(bytes, encode_query(decode_query(bytes)))
      end
    end)

    it("raises on an id that is not an integer in 0..2^32-1", function()
      for _, id in ipairs({ -1, 0x100000000, 1.5, math.huge }) do
        assert.has_error(function() encode_query(id) end)
      end
      assert.has_error(function() encode_query("1") end)
      assert.has_error(function() encode_query(nil) end)
      assert.has_error(function() encode_query(1.0 / 0) end)
    end)

    it("names encode_query and the argument when it raises", function()
      local ok, err = pcall(function() local b = encode_query(-1); return b end)
      assert.is_false(ok)
      assert.truthy(err:find("bad argument #1 to 'encode_query'", 1, true))
      assert.truthy(err:find("discovery_spec.lua", 1, true), err)   -- blames the caller
    end)
  end)

  describe("answers", function()
    it("encodes version 1 as header, free bytes, host length and host", function()
      assert.are.same("4c4e44530102" .. "00000007" .. "0000000000000400" .. "05" .. "616c706861",
        hex(encode_answer(7, "alpha", 1024)))
    end)

    it("round-trips ids, host names and free byte counts", function()
      local hosts = { "a", "alpha", "host-1.example.org", "höst", "日本語", "🍀", ("x"):rep(255),
        ("é"):rep(127) .. "x" }
      local frees = { 0, 1, 4096, 1 << 40, (1 << 53) + 1, math.maxinteger }
      for _, host in ipairs(hosts) do
        for _, free in ipairs(frees) do
          local id = math.random(0, 0xffffffff)
          local bytes = encode_answer(id, host, free)
          assert.are.same(#bytes, 19 + #host)
          local ans = decode_answer(bytes)
          assert.are.same({ id = id, host = host, free = free }, ans)
          assert.are.same(bytes, encode_answer(ans.id, ans.host, ans.free))
        end
      end
    end)

    it("raises on a bad id, host or free byte count", function()
      assert.has_error(function() encode_answer(-1, "a", 0) end)
      assert.has_error(function() encode_answer(1, nil, 0) end)
      assert.has_error(function() encode_answer(1, "", 0) end)
      assert.has_error(function() encode_answer(1, ("x"):rep(256), 0) end)
      assert.has_error(function() encode_answer(1, "a b", 0) end)
      assert.has_error(function() encode_answer(1, "a\0", 0) end)
      assert.has_error(function() encode_answer(1, "\xff", 0) end)
      assert.has_error(function() encode_answer(1, "a", -1) end)
      assert.has_error(function() encode_answer(1, "a", 1.5) end)
      assert.has_error(function() encode_answer(1, "a", "10") end)
      local ok, err = pcall(encode_answer, 1, "a b", 0)
      assert.is_false(ok)
      assert.truthy(err:find("bad argument #2 to 'encode_answer'", 1, true), err)
    end)

    it("accepts exactly the host names an answer can carry", function()
      assert.is_true(discovery.valid_host("alpha"))
      assert.is_nil(discovery.valid_host("al pha"))
      assert.is_nil(discovery.valid_host(""))
      assert.is_nil(discovery.valid_host(42))
    end)
  end)

  describe("malformed datagrams", function()
    local query = encode_query(0x01020304)
    local answer = encode_answer(0x01020304, "alpha", 1000)

    it("are truncated when cut anywhere", function()
      for n = 0, #query - 1 do rejects(decode_query, query:sub(1, n), "^truncated$") end
      for n = 0, #answer - 1 do rejects(decode_answer, answer:sub(1, n), "^truncated$") end
    end)

    it("are oversize with bytes after the message", function()
      rejects(decode_query, query .. "\0", "^oversize")
      rejects(decode_answer, answer .. "x", "^oversize")
      -- The host length says 5; 6 bytes follow.
      rejects(decode_answer, raw_answer(1, "alpha") .. "!", "^oversize")
    end)

    it("are oversize past the largest possible answer, whatever they hold", function()
      rejects(decode_query, ("\0"):rep(discovery.MAX_SIZE + 1), "^oversize")
      rejects(decode_answer, answer .. ("x"):rep(discovery.MAX_SIZE), "^oversize")
      rejects(decode_answer, ("x"):rep(65507), "^oversize")
    end)

    it("have the wrong magic", function()
      rejects(decode_query, "LNDX" .. query:sub(5), "^wrong magic$")
      rejects(decode_query, "lnds" .. query:sub(5), "^wrong magic$")
      rejects(decode_answer, "\0\0\0\0" .. answer:sub(5), "^wrong magic$")
      rejects(decode_query, "GET / HTTP/1.0\r\n\r\n", "^wrong magic$")
      rejects(decode_query, "X", "^wrong magic$")
      rejects(decode_answer, "LX", "^wrong magic$")
    end)

    it("have an unsupported version", function()
      for _, v in ipairs({ 0, 2, 255 }) do
        rejects(decode_query, query:sub(1, 4) .. string.char(v) .. query:sub(6), "^unsupported version " .. v .. "$")
        rejects(decode_answer, answer:sub(1, 4) .. string.char(v) .. answer:sub(6), "^unsupported version " .. v .. "$")
      end
      rejects(decode_query, "LNDS\2", "^unsupported version 2$")
    end)

    it("are of the other kind, or of no kind", function()
      rejects(decode_query, answer, "^not a query %(kind 2%)$")
      rejects(decode_answer, query, "^not an answer %(kind 1%)$")
      rejects(decode_query, query:sub(1, 5) .. "\0" .. query:sub(7), "^not a query %(kind 0%)$")
      rejects(decode_answer, answer:sub(1, 5) .. "\3" .. answer:sub(7), "^not an answer %(kind 3%)$")
    end)

    it("have free bytes of 2^63 or more", function()
      rejects(decode_answer, unhex("4c4e44530102 00000001 8000000000000000 01 61"), "^free bytes out of range$")
      rejects(decode_answer, unhex("4c4e44530102 00000001 ffffffffffffffff 01 61"), "^free bytes out of range$")
      assert.are.same(math.maxinteger,
        decode_answer(unhex("4c4e44530102 00000001 7fffffffffffffff 01 61")).free)
    end)

    it("have a host length past the end", function()
      rejects(decode_answer, raw_answer(1, "alpha"):sub(1, -2), "^truncated$")
      rejects(decode_answer, unhex("4c4e44530102 00000001 0000000000000000 ff 61"), "^truncated$")
    end)

    it("have an empty host name", function()
      rejects(decode_answer, raw_answer(1, ""), "^empty host name$")
    end)

    it("have a host name that is not UTF-8", function()
      local bad = {
        "\xff", "a\x80", "\xc3", "\xc3(", "\xe6\x97", "\xf0\x9f\x8d",    -- stray and cut sequences
        "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",                  -- overlong forms
        "\xed\xa0\x80", "\xed\xbf\xbf",                                  -- surrogates
        "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",                      -- past U+10FFFF
      }
      for _, host in ipairs(bad) do rejects(decode_answer, raw_answer(1, host), "not UTF%-8") end
    end)

    it("have spaces or control characters in the host name", function()
      for _, host in ipairs({ "a b", " a", "a\t", "a\n", "a\r", "\0", "a\0b", "a\127", "\27[31m" }) do
        rejects(decode_answer, raw_answer(1, host), "space or control character")
      end
      for _, host in ipairs({ "a\u{80}", "\u{9f}" }) do   -- C1 controls
        rejects(decode_answer, raw_answer(1, host), "control character")
      end
      assert.are.same("a\u{a0}b", decode_answer(raw_answer(1, "a\u{a0}b")).host)   -- U+00A0 is no control
    end)

    it("raise only when what is given is not a string", function()
      assert.has_error(function() decode_query(nil) end)
      assert.has_error(function() decode_answer(42) end)
      local ok, err = pcall(decode_answer, {})
      assert.is_false(ok)
      assert.truthy(err:find("bad argument #1 to 'decode_answer' (string expected, got table)", 1, true), err)
    end)

    it("never raise on random bytes, and anything accepted re-encodes to itself", function()
      local function random_bytes(n)
        local t = {}
        for i = 1, n do t[i] = string.char(math.random(0, 255)) end
        return table.concat(t)
      end
      for _ = 1, 2000 do
        -- Mostly valid headers, so that the later checks get reached.
        local head = math.random() < 0.8 and ("LNDS\1" .. string.char(math.random(1, 2))) or ""
        local bytes = head .. random_bytes(math.random(0, 40))
        local id = decode_query(bytes)
        if id then assert.are.same(bytes, encode_query(id)) end
        local ans = decode_answer(bytes)
        if ans then assert.are.same(bytes, encode_answer(ans.id, ans.host, ans.free)) end
      end
    end)
  end)
end)

describe("net.statvfs", function()
  -- stat -f's figures: available and total blocks, fundamental block size.
  local function stat_f(path)
    local p = assert(io.popen("stat -f -c '%a %b %S' " .. path))
    local avail, blocks, size = p:read("n", "n", "n")
    p:close()
    return avail, blocks, size
  end

  it("gives free, total and block size in bytes, as statvfs counts them", function()
    local st = assert(net.statvfs("/"))
    local avail, blocks, size = stat_f("/")
    assert.are.same(size, st.size)
    assert.are.same(blocks * size, st.total)
    assert.are.same("integer", math.type(st.free))
    -- Other processes write meanwhile: the free figures agree within 256 MiB.
    assert.truthy(math.abs(avail * size - st.free) < 256 * 1024 * 1024)
    assert.truthy(st.free >= 0 and st.free <= st.total)
  end)

  it("returns nil, a message and errno for a path that is not there", function()
    assert.are.same({ nil, "/nonexistent/dir: No such file or directory", 2 },
      { net.statvfs("/nonexistent/dir") })
  end)

  it("raises on a path that is no string or holds a zero byte", function()
    assert.has_error(function() net.statvfs() end)
    assert.has_error(function() net.statvfs({}) end)
    local ok, err = pcall(net.statvfs, "/tmp\0/etc")
    assert.is_false(ok)
    assert.truthy(err:find("path contains a zero byte", 1, true), err)
  end)
end)
