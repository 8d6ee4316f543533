-- spec/integration/ws_client_spec.lua: scripts/ws_client.lua as a user
-- runs it: stdin piped in, against the real scripts/ws_echo.lua (ws:// and,
-- with spec/support/pki, wss://), an HTTP server that is no WebSocket,
-- a port where nothing listens, and an in-process WebSocketServer that
-- closes first. What is checked is stdout, stderr and the exit status.
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net

local function start_script(name, ...)
  return helper.start_server(helper.quote_all(helper.LUANETD, helper.script(name), ...))
end

-- Runs ws_client.lua with `input` on its stdin (a pipe, through printf's
-- %s, so that bytes go as they are), or with the shell redirection
-- `redirect`; returns exit code, stdout, stderr.
local function client(url, input, redirect, ...)
  local cmd = helper.quote_all(helper.LUANETD, helper.script("ws_client.lua"), url, ...)
  if input then cmd = ("printf %%s %s | %s"):format(helper.quote(input), cmd) end
  return helper.execute(cmd .. " " .. (redirect or ""))
end

describe("scripts/ws_client.lua", function()
  local echo, url
  setup(function()
    local port
    echo, port = start_script("ws_echo.lua", "--port", "0")
    url = ("ws://127.0.0.1:%d/"):format(port)
  end)
  teardown(function() echo.cleanup() end)

  it("sends each stdin line as a message and prints each one that comes back, then exits 0", function()
    local code, out, err = client(url, "hello\nworld\n\nlast of three\n")
    assert.are.same({ 0, "" }, { code, err })
    assert.are.same("hello\nworld\n\nlast of three\n", out)
  end)

  it("sends a last line that has no newline", function()
    local code, out, err = client(url, "one\nno newline")
    assert.are.same({ 0, "" }, { code, err })
    assert.are.same("one\nno newline\n", out)
  end)

  it("prints nothing and exits 0 for an empty stdin (</dev/null)", function()
    local code, out, err = client(url, nil, "</dev/null")
    assert.are.same({ 0, "", "" }, { code, out, err })
  end)

  it("echoes 20000 lines in order, none lost, none out of place", function()
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    local want = {}
    for i = 1, 20000 do want[i] = ("line %d of 20000"):format(i) end
    want = table.concat(want, "\n") .. "\n"
    local f = assert(io.open(path, "wb"))
    f:write(want)
    f:close()
    local cmd = ("cat %s | %s"):format(helper.quote(path),
      helper.quote_all(helper.LUANETD, helper.script("ws_client.lua"), url))
    local code, out, err = helper.execute(cmd)
    assert.are.same({ 0, "" }, { code, err })
    assert.are.same(#want, #out)
    assert.is_true(want == out, "the lines came back changed")
  end)

  it("exits 1 with Qt's \"Connection refused\" on stderr when nothing listens", function()
    local code, out, err = client(("ws://127.0.0.1:%d/"):format(core.free_port()), nil, "</dev/null")
    assert.are.same({ 1, "", "Connection refused\n" }, { code, out, err })
  end)

  it("exits 1 with the reason when the server does not take the handshake (plain HTTP)", function()
    local http, port = start_script("hello_http.lua", "--port", "0")
    finally(http.cleanup)
    local code, out, err = client(("ws://127.0.0.1:%d/"):format(port), "never sent\n")
    assert.are.same({ 1, "" }, { code, out })
    assert.truthy(err:find("^Handshake: .*200"), err)
  end)

  it("exits 1 with a usage message for a URL that is not ws:// or wss://, 2 without a URL", function()
    local code, out, err = client("http://127.0.0.1/", nil, "</dev/null")
    assert.are.same({ 1, "", "not a ws:// or wss:// URL: http://127.0.0.1/\n" }, { code, out, err })
    code, out, err = helper.execute(helper.quote_all(helper.LUANETD, helper.script("ws_client.lua")))
    assert.are.same({ 2, "" }, { code, out })
    assert.truthy(err:find("missing URL\nusage: ws_client.lua URL", 1, true), err)
  end)

  it("speaks wss:// verified against --cacert, and exits 1 without it (certificate not trusted)", function()
    local pki = require("support.pki").make()
    local tls, port = start_script("ws_echo.lua", "--port", "0", "--cert", pki.localhost.cert, "--key", pki.localhost.key)
    finally(function() tls.cleanup() pki.cleanup() end)
    local wss = ("wss://localhost:%d/"):format(port)
    local code, out, err = client(wss, "over TLS\n", nil, "--cacert", pki.ca)
    assert.are.same({ 0, "over TLS\n", "" }, { code, out, err })
    code, out, err = client(wss, "over TLS\n")
    assert.are.same({ 1, "" }, { code, out })
    assert.truthy(err:lower():find("certificate"), err)
  end)
end)

describe("scripts/ws_client.lua against a server that closes first", function()
  it("prints what came (a binary message as [binary N bytes]) and exits 0, stdin still open", function()
    local server = net.WebSocketServer("closes-first")
    assert.is_true(server:listen("127.0.0.1", 0))
    finally(function() server:close() end)
    server.newConnection:connect(function()
      local ws = server:nextPendingConnection()
      ws.textMessageReceived:connect(function(msg)
        ws:sendBinaryMessage("\0\1\2")
        ws:sendTextMessage("bye after " .. msg)
        ws:close()
      end)
    end)
    -- stdin is a FIFO that this spec holds open for writing, so that the
    -- client's input does not end: only the server's close can end it.
    local dir = io.popen("mktemp -d"):read("l")
    local fifo = dir .. "/stdin"
    assert(os.execute("mkfifo " .. helper.quote(fifo)))
    local proc = helper.spawn(("%s <%s"):format(helper.quote_all(helper.LUANETD, helper.script("ws_client.lua"),
      ("ws://127.0.0.1:%d/"):format(server:serverPort())), helper.quote(fifo)))
    local writer = assert(io.open(fifo, "w"))   -- returns once the client's shell opened it
    finally(function() writer:close() proc.cleanup() os.execute("rm -rf " .. helper.quote(dir)) end)
    writer:write("hello\n")
    writer:flush()
    local code = proc.wait(helper.TIMEOUT)
    assert.are.same({ 0, "[binary 3 bytes]\nbye after hello\n", "" }, { code, proc.output(), proc.stderr() })
  end)
end)
