-- spec/integration/ws_chat_spec.lua: scripts/ws_chat.lua, pages and a
-- WebSocket on one port (HttpServer's req:upgradeToWebSocket), with real
-- clients: curl for the page, Python's websockets for the chat, and
-- headless Chromium loading the page and talking to a Python client.
local helper = require "helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"
local PEER = PYTHON .. " spec/support/ws_peer.py"

describe("ws_chat.lua", function()
  local proc, port
  setup(function()
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ws_chat.lua"),
      "--root", "www"))
  end)
  teardown(function() proc.cleanup() end)

  it("serves the chat page at / and 404 for what is not a file of its root", function()
    local code, out = helper.execute(("curl -s -w ' %%{http_code} %%{content_type}' http://127.0.0.1:%d/"):format(port))
    assert.are.same(0, code)
    assert.truthy(out:find("new WebSocket(url)", 1, true))
    assert.are.same(" 200 text/html; charset=utf-8", out:sub(-29))
    code, out = helper.execute(("curl -s -o /dev/null -w '%%{http_code}' --path-as-is http://127.0.0.1:%d/../etc/passwd"):format(port))
    assert.are.same("404", out)
  end)

  it("sends every text message to every client, the sender too", function()
    local listener = helper.spawn(("%s chat ws://127.0.0.1:%d/chat 1"):format(PEER, port))
    finally(listener.cleanup)
    assert(listener.wait_line("connected\n", helper.TIMEOUT), listener.stderr())
    local code, out, err = helper.execute(("%s chat ws://127.0.0.1:%d/chat 1 'hi all'"):format(PEER, port))
    assert.are.same(0, code, err)
    assert.are.same("connected\nhi all\n", out)
    assert.are.same(0, listener.wait(helper.TIMEOUT))
    assert.are.same("connected\nhi all\n", listener.output())
  end)

  it("answers 400 to a plain GET of /chat and 426 with Sec-WebSocket-Version: 13 to another version", function()
    local _, out = helper.execute(("curl -s -i http://127.0.0.1:%d/chat"):format(port))
    assert.truthy(out:match("^HTTP/1%.1 400 "), out)
    _, out = helper.execute(("curl -s -i -H 'Upgrade: websocket' -H 'Connection: Upgrade' "
      .. "-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 8' http://127.0.0.1:%d/chat"):format(port))
    assert.truthy(out:match("^HTTP/1%.1 426 "), out)
    assert.truthy(out:find("\r\nSec%-WebSocket%-Version: 13\r\n"), out)
  end)

  it("lets headless Chromium and a Python client talk through the page", function()
    local python = helper.spawn(("%s reply ws://127.0.0.1:%d/chat 'hello from python'"):format(PEER, port))
    finally(python.cleanup)
    assert(python.wait_line("connected\n", helper.TIMEOUT), python.stderr())
    local code, out, err = helper.execute(("%s spec/support/chromium_chat.py "
      .. "'http://127.0.0.1:%d/?say=hello%%20from%%20chromium' 2"):format(PYTHON, port), 30000)
    assert.are.same(0, code, err)
    assert.are.same("hello from chromium\nhello from python\n", out)
    assert.are.same(0, python.wait(helper.TIMEOUT))
    assert.are.same("connected\nhello from chromium\nhello from python\n", python.output())
  end)
end)
