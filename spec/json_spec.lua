-- spec/json_spec.lua: net.json (daemon/shared/json*.c) as scripts use it:
-- documents decoded to plain data and encoded back, integers and floats
-- kept apart, strings checked as UTF-8, every refusal with the byte it
-- names, the depth limit both ways, null and [] as values of their own;
-- and a document that crosses a real socket from a luanetd child, and a
-- reload's state handoff inside the daemon.
local helper = require "helper"
local core = require "support.core_helper"
local dh = require "support.daemon_helper"
local net = helper.net
local json = net.json

local null, emptyArray = json.null, json.emptyArray

-- encode, sorted: one text for one value, whatever pairs() does.
local function sorted(v) return assert(json.encode(v, { sortKeys = true })) end

-- The values of a decode: a value, or nil and the message.
local function decode(text) return { json.decode(text) } end

describe("net.json", function()
  it("is the library's json table, under luanetd and under a stock lua5.4 alike", function()
    assert.are.equal(json, require("luanet").json)
    assert.are.equal(json, require("luanet.core").json)
    assert.are.same("function", type(json.decode))
    assert.are.same("function", type(json.encode))
    assert.are.same("userdata", type(null))
    assert.are.same("userdata", type(emptyArray))
    assert.are_not.equal(null, emptyArray)
  end)

  describe("decode and encode", function()
    it("round-trip a nested document", function()
      local text = '{"users":[{"id":1,"name":"Ana","roles":["admin","dev"],"score":9.5},' ..
                   '{"id":2,"name":"B\\u00e9a","roles":[],"score":null,"settings":{}}],' ..
                   '"count":2,"ok":true,"next":false}'
      local v = assert(json.decode(text))
      assert.are.same({
        users = {
          { id = 1, name = "Ana", roles = { "admin", "dev" }, score = 9.5 },
          { id = 2, name = "Béa", roles = emptyArray, score = null, settings = {} },
        },
        count = 2, ok = true, next = false,
      }, v)
      assert.are.same('{"count":2,"next":false,"ok":true,"users":[{"id":1,"name":"Ana","roles":["admin","dev"],' ..
                      '"score":9.5},{"id":2,"name":"Béa","roles":[],"score":null,"settings":{}}]}', sorted(v))
      assert.are.same(v, json.decode(sorted(v)))
      assert.are.same(v, json.decode(json.encode(v)))   -- in pairs() order too
    end)

    it("give plain tables, without metatables", function()
      local v = json.decode('{"a":[1,{"b":{}}]}')
      assert.is_nil(getmetatable(v))
      assert.is_nil(getmetatable(v.a))
      assert.is_nil(getmetatable(v.a[2]))
      assert.is_nil(getmetatable(v.a[2].b))
      assert.are.same(2, #v.a)
    end)

    it("keep integers integers: 0, -1, 2^53+1, maxinteger, mininteger", function()
      for _, i in ipairs({ 0, -1, (1 << 53) + 1, math.maxinteger, math.mininteger }) do
        local text = json.encode(i)
        assert.are.same(tostring(i), text)
        local back = json.decode(text)
        assert.are.same("integer", math.type(back), text)
        assert.are.equal(i, back)
        assert.are.equal(i, json.decode("[" .. text .. "]")[1])
      end
      assert.are.same("integer", math.type(json.decode("-0")))
      assert.are.same({ 9007199254740993, -9007199254740993 }, json.decode("[9007199254740993,-9007199254740993]"))
    end)

    it("decode an integer past lua_Integer as a float", function()
      local v = json.decode("9223372036854775808")
      assert.are.same("float", math.type(v))
      assert.are.equal(2.0 ^ 63, v)
      assert.are.same("float", math.type(json.decode("-9223372036854775809")))
      assert.are.same("float", math.type(json.decode("1" .. ("0"):rep(30))))
    end)

    it("keep floats floats, written so that they read back as floats", function()
      assert.are.same("1.0", json.encode(1.0))
      assert.are.same("100.0", json.encode(100.0))
      assert.are.same("-0.0", json.encode(-0.0))
      assert.are.same("0.1", json.encode(0.1))
      assert.are.same("0.3333333333333333", json.encode(1 / 3))
      assert.are.same("1e+300", json.encode(1e300))
      assert.are.same("9007199254740992.0", json.encode(2.0 ^ 53))   -- %.16g, the first that reads back
      for _, x in ipairs({ 1.0, 0.1, 1 / 3, -0.0, 1e300, 5e-324, 2.0 ^ 53, math.pi, 1e21, 123.456, -2.5e-8 }) do
        local back = json.decode(json.encode(x))
        assert.are.same("float", math.type(back), json.encode(x))
        assert.are.equal(x, back)
      end
      assert.are.equal(-math.huge, 1 / json.decode(json.encode(-0.0)))
      for _, text in ipairs({ "1.0", "1e2", "1E2", "-2.5e-3", "0.0", "1e-400" }) do
        assert.are.same("float", math.type(json.decode(text)), text)
      end
    end)

    it("read \\u escapes, surrogate pairs included, and write only what must be escaped", function()
      assert.are.same("é€😀", json.decode('"\\u00e9\\u20AC\\ud83d\\ude00"'))
      assert.are.same("\0\31", json.decode('"\\u0000\\u001f"'))
      assert.are.same("\"\\/\b\f\n\r\t", json.decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'))
      assert.are.same("é€😀", json.decode('"é€😀"'))
      assert.are.same('"\\u0000\\u001f\\"\\\\/\\b\\f\\n\\r\\té€😀\127"', json.encode("\0\31\"\\/\b\f\n\r\té€😀\127"))
      local s = "\0\1 all bytes below 0x20: " .. string.char(table.unpack((function()
        local t = {} for i = 0, 31 do t[#t + 1] = i end return t end)()))
      assert.are.same(s, json.decode(json.encode(s)))
    end)

    it("decode null to net.json.null, which encodes to null", function()
      assert.are.equal(null, json.decode("null"))
      assert.are.same({ 1, null, 3 }, json.decode("[1,null,3]"))
      assert.are.same(3, #json.decode("[1,null,3]"))
      assert.are.equal(null, json.decode('{"a":null}').a)
      assert.are.same("null", json.encode(null))
      assert.are.same('[null,{"a":null}]', sorted({ null, { a = null } }))
      assert.are.same("null", json.encode(nil))
    end)

    it("keep [] and {} apart: [] is net.json.emptyArray, {} an empty table", function()
      assert.are.equal(emptyArray, json.decode("[]"))
      assert.are.equal(emptyArray, json.decode(" [ \n ] "))
      local obj = json.decode("{}")
      assert.are.same("table", type(obj))
      assert.is_nil(next(obj))
      assert.are.same("[]", json.encode(emptyArray))
      assert.are.same("{}", json.encode({}))
      assert.are.same('{"a":[],"b":{},"c":[[],{}]}', sorted(json.decode('{"a":[],"b":{},"c":[[],{}]}')))
    end)

    it("take whitespace around and between values", function()
      assert.are.same({ a = { 1, 2 } }, json.decode(' \t\r\n{ "a" :\n[ 1 ,\t2 ] }\n '))
    end)

    it("let the last of duplicate keys win", function()
      assert.are.same({ a = 3, b = 2 }, json.decode('{"a":1,"b":2,"a":3}'))
    end)

    it("decode a 10 MB document", function()
      local parts = {}
      for i = 1, 100000 do
        parts[i] = ('{"id":%d,"name":"user %d \\u00e9","score":%d.25,"tags":["a","b"],"ok":true,"x":null,"pad":"%s"}')
          :format(i, i, i, ("p"):rep(i % 20))
      end
      local text = "[" .. table.concat(parts, ",") .. "]"
      assert.is_true(#text > 10e6, #text)
      local v = assert(json.decode(text))
      assert.are.same(100000, #v)
      assert.are.same({ id = 77777, name = "user 77777 é", score = 77777.25, tags = { "a", "b" }, ok = true, x = null,
                        pad = ("p"):rep(77777 % 20) }, v[77777])
      local big = ("x"):rep(10 * 1024 * 1024)
      assert.are.equal(big, json.decode('"' .. big .. '"'))
      assert.are.same(#text - 4 * 100000, #json.encode(v))   -- each \\u00e9 written as é
    end)
  end)

  describe("decode refuses", function()
    -- { text, message }: each names the byte that is wrong, counted from 1.
    local cases = {
      { "", "expected a value, found the end at byte 1" },
      { "   ", "expected a value, found the end at byte 4" },
      { "[1,2", "expected ',' or ']', found the end at byte 5" },
      { '{"a" 1}', "expected ':', found '1' at byte 6" },
      { '{"a":1,}', "expected a string key, found '}' at byte 8" },
      { "{1:2}", "expected a string key, found '1' at byte 2" },
      { '{"a":1 "b":2}', "expected ',' or '}', found '\"' at byte 8" },
      { "[1,]", "expected a value, found ']' at byte 4" },
      { "[1] x", "expected the end, found 'x' at byte 5" },
      { "[1][2]", "expected the end, found '[' at byte 4" },
      { "[1]\0", "expected the end, found 0x00 at byte 4" },
      { "\xef\xbb\xbf[]", "expected a value, found 0xef at byte 1" },
      { "01", "invalid number at byte 2" },
      { "-01", "invalid number at byte 3" },
      { "+1", "invalid number at byte 1" },
      { ".5", "invalid number at byte 1" },
      { "1.", "invalid number at byte 3" },
      { "1.e5", "invalid number at byte 3" },
      { "1e", "invalid number at byte 3" },
      { "1e+", "invalid number at byte 4" },
      { "0x1f", "invalid number at byte 2" },
      { "-", "invalid number at byte 2" },
      { "[1-2]", "invalid number at byte 3" },
      { "NaN", "expected a value, found 'N' at byte 1" },
      { "Infinity", "expected a value, found 'I' at byte 1" },
      { "-Infinity", "invalid number at byte 2" },
      { "1e400", "number out of range at byte 1" },
      { "[1, -1e999]", "number out of range at byte 5" },
      { "tru", "invalid literal, found the end at byte 4" },
      { "nulL", "invalid literal, found 'L' at byte 4" },
      { '"abc', "unterminated string at byte 5" },
      { '"a\nb"', "control character in string at byte 3" },
      { '"a\tb"', "control character in string at byte 3" },
      { '"\\x"', "invalid escape at byte 3" },
      { '"\\', "unterminated string at byte 3" },
      { '"\\u12g4"', "invalid \\u escape at byte 6" },
      { '"\\u12', "invalid \\u escape at byte 6" },
      { '"\\ud800"', "lone surrogate in \\u escape at byte 2" },
      { '"\\udc00"', "lone surrogate in \\u escape at byte 2" },
      { '"a\\ud83d\\u0041"', "lone surrogate in \\u escape at byte 3" },
      { '"\\ud83d\\ud83d"', "lone surrogate in \\u escape at byte 2" },
      { '"\\ud83d\\uzzzz"', "invalid \\u escape at byte 10" },
      { '"\xc0\x80"', "invalid UTF-8 at byte 2" },          -- overlong NUL
      { '"\xe0\x80\xaf"', "invalid UTF-8 at byte 3" },      -- overlong '/'
      { '"\xed\xa0\x80"', "invalid UTF-8 at byte 3" },      -- U+D800 encoded
      { '"\xf4\x90\x80\x80"', "invalid UTF-8 at byte 3" },  -- past U+10FFFF
      { '"\xe2\x82"', "invalid UTF-8 at byte 4" },          -- cut short by the quote
      { '"ok\xff"', "invalid UTF-8 at byte 4" },
      { '{"\x80":1}', "invalid UTF-8 at byte 3" },          -- in a key too
    }
    for _, case in ipairs(cases) do
      it(("%q with %q"):format(case[1], case[2]), function()
        assert.are.same({ nil, "json: " .. case[2] }, decode(case[1]))
      end)
    end

    it("a document nested deeper than 200, and takes 200", function()
      local ok = ("["):rep(200) .. ("]"):rep(200)
      local v = assert(json.decode(ok))
      for _ = 1, 199 do v = v[1] end
      assert.are.equal(emptyArray, v)
      assert.are.same({ nil, "json: nesting deeper than 200 at byte 201" }, decode(("["):rep(201) .. ("]"):rep(201)))
      assert.are.same({ nil, "json: nesting deeper than 200 at byte 1001" },
                      decode(('{"a":'):rep(201) .. "1" .. ("}"):rep(201)))
      -- Hostile depth is refused at 201, not read on the C stack.
      assert.are.same({ nil, "json: nesting deeper than 200 at byte 201" }, decode(("["):rep(1000000)))
    end)

    it("raises only for an argument that is no string", function()
      assert.has_error(function() json.decode() end)
      assert.has_error(function() json.decode({}) end)
    end)
  end)

  describe("encode", function()
    it("writes compact text by default", function()
      assert.are.same('[1,"two",3.5,true,false,null,[],{}]', json.encode({ 1, "two", 3.5, true, false, null, emptyArray, {} }))
      assert.are.same('{"a":{"b":[1,2]}}', json.encode({ a = { b = { 1, 2 } } }))
    end)

    it("sorts keys in byte order with sortKeys", function()
      local v = { b = 1, a = 2, A = 3, ["é"] = 4, ["a\0"] = 5, aa = 6, [""] = 7 }
      assert.are.same('{"":7,"A":3,"a":2,"a\\u0000":5,"aa":6,"b":1,"é":4}', sorted(v))
    end)

    it("indents by two spaces with indent", function()
      local v = { name = "x", list = { 1, { a = emptyArray, b = {} } }, none = null }
      assert.are.same([[
{
  "list": [
    1,
    {
      "a": [],
      "b": {}
    }
  ],
  "name": "x",
  "none": null
}]], json.encode(v, { indent = true, sortKeys = true }))
      assert.are.same("[\n  1,\n  2\n]", json.encode({ 1, 2 }, { indent = true }))
      assert.are.same("1", json.encode(1, { indent = true }))
      assert.are.same("[]", json.encode(emptyArray, { indent = true }))
      assert.are.same(v, json.decode(json.encode(v, { indent = true })))
    end)

    it("writes a table met twice, not in a cycle, twice", function()
      local shared = { 1 }
      assert.are.same('{"a":[1],"b":[1]}', sorted({ a = shared, b = shared }))
    end)

    -- { value, message }: what is no JSON, with the path to it.
    local t = { name = "loop" }
    t.self = t
    local cases = {
      { { users = { { name = "a" }, { name = "b" }, { name = "c\xff" } } }, "value.users[3].name: invalid UTF-8" },
      { "\xed\xa0\x80", "value: invalid UTF-8" },
      { { ["\xff"] = 1 }, 'value["\\xff"]: invalid UTF-8 in the key' },
      { { x = 0 / 0 }, "value.x: cannot encode NaN or infinity" },
      { { 1, math.huge }, "value[2]: cannot encode NaN or infinity" },
      { -math.huge, "value: cannot encode NaN or infinity" },
      { { 1, 2, nil, 4 }, "value: cannot encode a table whose keys are not 1..n" },
      { { [0] = 1 }, "value: cannot encode a table whose keys are not 1..n" },
      { { [1.5] = 1 }, "value: cannot encode a table whose keys are not 1..n" },
      { { 1, x = 2 }, "value: cannot encode a table with both string and number keys" },
      { { a = { [true] = 1 } }, "value.a: cannot encode a table with a key that is a boolean" },
      { { [{}] = 1 }, "value: cannot encode a table with a key that is a table" },
      { t, "value.self: cannot encode a table that contains itself" },
      { { a = setmetatable({}, {}) }, "value.a: cannot encode a table with a metatable" },
      { { f = print }, "value.f: cannot encode a function" },
      { { co = coroutine.create(print) }, "value.co: cannot encode a thread" },
      { { list = { {}, { ["a b"] = { print } } } }, 'value.list[2]["a b"][1]: cannot encode a function' },
    }
    for _, case in ipairs(cases) do
      it(("refuses %s"):format(case[2]), function()
        assert.are.same({ nil, "json: " .. case[2] }, { json.encode(case[1]) })
      end)
    end

    it("refuses a userdata other than null and emptyArray", function()
      local sock = net.TcpSocket()
      finally(function() sock:close() end)
      assert.are.same({ nil, "json: value.s: cannot encode a userdata" }, { json.encode({ s = sock }) })
    end)

    it("takes 200 levels of nesting and refuses 201, [] and {} counted", function()
      local function nest(n, inner)
        local v = inner
        for _ = 1, n do v = { v } end
        return v
      end
      assert.are.same(("["):rep(200) .. ("]"):rep(200), json.encode(nest(199, emptyArray)))
      assert.are.same(("["):rep(199) .. "{}" .. ("]"):rep(199), json.encode(nest(199, {})))
      local text, err = json.encode(nest(200, emptyArray))
      assert.is_nil(text)
      assert.are.same("json: value" .. ("[1]"):rep(200) .. ": nested deeper than 200", err)
      text, err = json.encode(nest(201, 1))
      assert.is_nil(text)
      assert.are.same("json: value" .. ("[1]"):rep(200) .. ": nested deeper than 200", err)
    end)

    it("raises on options that are not { indent = bool, sortKeys = bool }", function()
      assert.has_error(function() json.encode(1, { indnet = true }) end, "bad argument #2 to 'encode' (unknown option 'indnet')")
      assert.has_error(function() json.encode(1, { indent = 1 }) end, "bad argument #2 to 'encode' (option 'indent' must be a boolean)")
      assert.has_error(function() json.encode(1, "indent") end)
      assert.has_error(function() json.encode() end)
    end)
  end)

  describe("across processes", function()
    local DOC = '{"empty":[],"floats":[1.0,0.5,-0.0],"ints":[0,-1,9007199254740993,9223372036854775807,' ..
                '-9223372036854775808],"nothing":null,"object":{},"text":"é😀\\n\\"\\u0000"}'

    it("a document encoded by a luanetd child arrives over TCP and decodes to the same value", function()
      local script = core.tempfile([[
local net = require "luanet"
local json = net.json
local port = tonumber(arg[1])
local doc = { empty = json.emptyArray, floats = { 1.0, 0.5, -0.0 },
              ints = { 0, -1, 9007199254740993, math.maxinteger, math.mininteger },
              nothing = json.null, object = {}, text = "é😀\n\"\0" }
local sock = net.TcpSocket()
sock:connectToHost("127.0.0.1", port)
assert(sock:waitForConnected(5000), sock:errorString())
sock:write(assert(json.encode(doc, { indent = true })) .. "\0")
-- The spec's document comes back to be decoded here and encoded again.
while not sock:canReadLine() do assert(sock:waitForReadyRead(5000), "no document from the spec") end
local v = assert(json.decode(sock:readLine()))
sock:write(assert(json.encode(v, { sortKeys = true })) .. "\n")
assert(sock:waitForBytesWritten(5000))
sock:disconnectFromHost()
]], ".lua")
      local server, port = helper.listen()
      local proc = helper.spawn(helper.quote_all(helper.LUANETD, script, tostring(port)))
      local sock
      finally(function()
        if sock then sock:abort() end
        server:close()
        proc.cleanup()
        os.remove(script)
      end)
      assert.is_true(helper.run(helper.TIMEOUT, function() return server:hasPendingConnections() end), proc.stderr())
      sock = server:nextPendingConnection()
      -- Read by polling: the child's bytes may have come before any slot.
      local got = ""
      local function until_found(mark)
        return helper.run(helper.TIMEOUT, function()
          got = got .. sock:readAll()
          return got:find(mark, 1, true) ~= nil
        end)
      end
      assert.is_true(until_found("\0"), proc.stderr())
      local v = assert(json.decode(got:sub(1, -2)))
      assert.are.same(DOC, sorted(v))
      assert.are.same("integer", math.type(v.ints[3]))
      assert.are.same("float", math.type(v.floats[1]))
      assert.are.equal(emptyArray, v.empty)
      assert.are.equal(null, v.nothing)

      got = ""
      sock:write(DOC .. "\n")
      assert.is_true(until_found("\n"), proc.stderr())
      assert.are.same(DOC .. "\n", got)
      assert.are.same(0, proc.wait(), proc.stderr())
    end)

    it("a decoded document survives a reload's state handoff, null and [] included", function()
      local d = dh.start([[
shutdown_timeout = 1000
service "js" { script = "js.lua", listen = "tcp://127.0.0.1:0" }
]], { ["js.lua"] = [[
local service = ...
local json = require("luanet").json
local server = service.listeners[1]
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client.readyRead:connect(function()
    while client:canReadLine() do
      local line = client:readLine():gsub("\n$", "")
      if line == "show" then
        client:write(json.encode(service.state.doc, { sortKeys = true }) .. "\n")
      else
        service.state.doc = assert(json.decode(line))
        client:write("ok\n")
      end
    end
  end)
end)
]] })
      finally(d.cleanup)
      local client = require("support.line_client").connect
      local c = client(d.port("js"))
      assert.are.same("ok", c.ask(DOC))
      assert.are.same(DOC, c.ask("show"))
      local code, out, err = d.ctl("reload", "js")
      assert.are.same(0, code, out .. err)
      local fresh = client(d.port("js"))
      assert.are.same(DOC, fresh.ask("show"))
      c.sock:abort()
      fresh.sock:abort()
    end)
  end)
end)
