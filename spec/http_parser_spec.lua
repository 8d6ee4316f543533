-- net.HttpParser: HTTP/1.x on llhttp, one message at a time, with the
-- checks llhttp leaves to us.
local helper = require "helper"
local net = helper.net

-- Runs a parser over data to its end: the list of what execute reported.
local function run_all(p, data)
  local events, from = {}, 1
  repeat
    local what, nxt, status, reason = p:execute(data, from)
    if what == "headers" then
      events[#events + 1] = ("headers %s %s"):format(p:method(), p:target())
    elseif what == "message" then
      events[#events + 1] = "message " .. p:takeBody()
    elseif what == "error" then
      events[#events + 1] = ("error %d %s"):format(status, reason)
    end
    from = nxt
  until what == "more" or what == "error"
  return events
end

describe("HttpParser for requests", function()
  it("hands out pipelined requests one at a time, with their bodies", function()
    local p = net.HttpParser("request")
    assert.are.same({ "headers GET /a?x=1", "message ", "headers POST /b", "message hi" },
      run_all(p, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"))
  end)

  it("joins repeated headers, lower-cases names and trims values", function()
    local p = net.HttpParser("request")
    assert.are.same("headers", (p:execute("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1 \r\nx-a: 2\r\n\r\n")))
    local h, n = p:headers()
    assert.are.same({ { host = "h", ["x-a"] = "1, 2" }, 3 }, { h, n })
    assert.are.same({ 1, 1 }, { p:version() })
    assert.is_true(p:keepAlive())
  end)

  it("takes a request fed one byte at a time", function()
    local p = net.HttpParser("request")
    local data = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    local seen = {}
    for i = 1, #data do
      local what = p:execute(data:sub(i, i))
      if what == "headers" then
        seen[#seen + 1] = "headers"
        what = p:execute("")
      end
      if what == "message" then seen[#seen + 1] = "message " .. p:takeBody() end
    end
    assert.are.same({ "headers", "message abc" }, seen)
  end)

  it("refuses what llhttp lets through, with 400", function()
    for bad, why in pairs({
      ["GET / HTTP/1.1\r\nHost : a\r\n\r\n"] = "whitespace in a header name",
      ["GET / HTTP/1.1\r\n\r\n"] = "no Host header",
    }) do
      assert.are.same({ "error 400 " .. why }, run_all(net.HttpParser("request"), bad))
    end
    local events = run_all(net.HttpParser("request"),
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")
    assert.matches("^error 400 ", events[1])
    events = run_all(net.HttpParser("request"),
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert.matches("^error 400 ", events[1])
  end)

  it("answers 431 to a head past its limit", function()
    local p = net.HttpParser("request", 1024)
    assert.are.same({ "error 431 Request Header Fields Too Large" },
      run_all(p, "GET / HTTP/1.1\r\nHost: a\r\nX: " .. ("y"):rep(2000) .. "\r\n\r\n"))
  end)

  it("accepts HTTP/1.0 without Host", function()
    local p = net.HttpParser("request")
    assert.are.same({ "headers GET /", "message " }, run_all(p, "GET / HTTP/1.0\r\n\r\n"))
    assert.is_false(p:keepAlive())
  end)
end)

describe("HttpParser for responses", function()
  it("reads status, reason, a chunked body and a Content-Length", function()
    local p = net.HttpParser("response")
    local what, nxt = p:execute("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert.are.same("headers", what)
    assert.are.same({ 404, "Not Found", true }, { p:status(), p:reason(), p:chunked() })
    assert.are.same("message", (p:execute("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", nxt)))
    assert.are.same("hello", p:takeBody())
    assert.are.same("headers", (p:execute("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")))
    assert.are.same(3, p:contentLength())
  end)

  it("takes the head alone for a response to HEAD", function()
    local p = net.HttpParser("response")
    p:skipBody(true)
    assert.are.same("message", (p:execute("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")))
    assert.are.same({ 200, "" }, { p:status(), p:takeBody() })
  end)

  it("ends a body that runs to the close at finish()", function()
    local p = net.HttpParser("response")
    local data = "HTTP/1.0 200 OK\r\n\r\nsome"
    local what, nxt = p:execute(data)
    assert.are.same("headers", what)
    assert.are.same("more", (p:execute(data, nxt)))
    assert.is_true(p:finish())
    assert.are.same("some", p:takeBody())
  end)
end)
