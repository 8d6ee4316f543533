-- scripts/httpd.lua under curl, and scripts/http_get.lua against it and
-- against Python's http.server: files, listings, validators, ranges,
-- HEAD, a large file through sendFile, and every way out of the root.
local helper = require "helper"
local dh = require "support.daemon_helper"

local function curl(...)
  return helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--path-as-is", ...))
end

local function sh(cmd) assert(os.execute(cmd), cmd) end

-- curl's exit code and body.
local function fetch(...)
  local code, out = curl(...)
  return { code, out }
end

describe("httpd.lua", function()
  local dir, root, outside, proc, base
  setup(function()
    dir = dh.tmpdir()
    root, outside = dir .. "/root", dir .. "/outside"
    sh(("mkdir -p %s/sub/deeper %s/plain %s"):format(root, root, outside))
    dh.write(root .. "/a.txt", "hello\n")
    dh.write(root .. "/index.html", "<p>index</p>\n")
    dh.write(root .. "/plain/b.css", "body{}\n")
    dh.write(root .. "/plain/x y&<z>.txt", "odd name\n")
    dh.write(outside .. "/secret.txt", "secret\n")
    sh(("ln -s %s %s/escape"):format(outside, root))
    sh(("ln -s %s/a.txt %s/inside-link"):format(root, root))
    sh(("head -c 3000000 /dev/urandom > %s/big.bin"):format(root))
    local port
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("httpd.lua"), "--root", root))
    base = "http://127.0.0.1:" .. port
  end)
  teardown(function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  local function status_of(path, ...)
    local _, out = curl("-o", "/dev/null", "-w", "%{http_code} %{content_type}", base .. path, ...)
    return out
  end

  it("serves files with their MIME type and a directory's index.html", function()
    assert.are.same({ 0, "hello\n" }, fetch(base .. "/a.txt"))
    assert.are.same("200 text/plain; charset=utf-8", status_of("/a.txt"))
    assert.are.same("200 text/css", status_of("/plain/b.css"))
    assert.are.same({ 0, "<p>index</p>\n" }, fetch(base .. "/"))
  end)

  it("lists a directory without an index, escaping names, and redirects a directory without its slash", function()
    local _, out = curl(base .. "/plain/")
    assert.matches('<a href="b.css">b.css</a>', out, nil, true)
    assert.matches('<a href="x%20y%26%3Cz%3E.txt">x y&amp;&lt;z&gt;.txt</a>', out, nil, true)
    local _, head = curl("-i", base .. "/plain")
    assert.matches("^HTTP/1.1 301 ", head)
    assert.matches("\r\nLocation: /plain/\r\n", head)
  end)

  it("answers 304 to a matching ETag or an If-Modified-Since not older than the file", function()
    local _, head = curl("-I", base .. "/a.txt")
    local etag = head:match("\r\nETag: (%b\"\")\r\n")
    local modified = head:match("\r\nLast%-Modified: ([^\r]+)\r\n")
    assert.is_not_nil(etag, head)
    assert.are.same("304 ", status_of("/a.txt", "-H", "If-None-Match: " .. etag))
    assert.are.same("304 ", status_of("/a.txt", "-H", "If-Modified-Since: " .. modified))
    assert.are.same("200 text/plain; charset=utf-8", status_of("/a.txt", "-H", 'If-None-Match: "other"'))
  end)

  it("serves one byte range with 206, and 416 for one past the end", function()
    local _, out = curl("-r", "1-3", base .. "/a.txt")
    assert.are.same("ell", out)
    local _, head = curl("-i", "-r", "-2", base .. "/a.txt")
    assert.matches("^HTTP/1.1 206 ", head)
    assert.matches("\r\nContent%-Range: bytes 4%-5/6\r\n", head)
    local _, bad = curl("-i", "-r", "10-20", base .. "/a.txt")
    assert.matches("^HTTP/1.1 416 ", bad)
    assert.matches("\r\nContent%-Range: bytes %*/6\r\n", bad)
  end)

  it("answers HEAD with the length and no body, and 405 to other methods", function()
    local _, head = curl("-I", base .. "/big.bin")
    assert.matches("\r\nContent%-Length: 3000000\r\n", head)
    assert.are.same("405 text/plain; charset=utf-8", status_of("/a.txt", "-X", "DELETE"))
  end)

  it("sends a large file whole and intact", function()
    local code = helper.execute(("curl -sS --max-time 10 %s | cmp - %s"):format(helper.quote(base .. "/big.bin"),
      helper.quote(root .. "/big.bin")))
    assert.are.same(0, code)
  end)

  it("sends a large file whole to a client that half-closes after its request", function()
    -- The client's FIN comes while the file is still queued: it must not
    -- cut the response off.
    local _, out = helper.execute("env -u LD_PRELOAD /usr/bin/python3 -c " .. helper.quote(([[
import socket
s = socket.create_connection(("127.0.0.1", %s))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(1 << 20)
    if not d: break
    data += d
head, _, body = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), len(body))
]]):format(base:match(":(%d+)$"))), 20000)
    assert.are.same("HTTP/1.1 200 OK 3000000\n", out)
  end)

  it("never serves what is outside the root", function()
    for _, path in ipairs({ "/../outside/secret.txt", "/%2e%2e/outside/secret.txt", "/sub/%2E%2E/../outside/secret.txt",
                            "/escape/secret.txt", "/plain%2fb.css", "/a.txt%00", "/a%5c..%5coutside" }) do
      local got = status_of(path)
      assert.is_truthy(got:match("^40[34] "), path .. " -> " .. got)
    end
    assert.are.same("404 text/plain; charset=utf-8", status_of("/missing"))
    -- a symlink that stays inside is served
    assert.are.same({ 0, "hello\n" }, fetch(base .. "/inside-link"))
  end)

  describe("and http_get.lua", function()
    local function get(...)
      return helper.execute(helper.quote_all(helper.LUANETD, helper.script("http_get.lua"), ...), 20000)
    end

    it("downloads to the URL's file name or to -o FILE", function()
      local code, _, err = get(base .. "/big.bin", "-o", dir .. "/copy.bin")
      assert.are.same(0, code, err)
      assert.are.same(0, (helper.execute(helper.quote_all("cmp", dir .. "/copy.bin", root .. "/big.bin"))))
      local here = os.getenv("PWD")
      code = helper.execute("sh -c " .. helper.quote(("cd %s && %s"):format(helper.quote(dir),
        helper.quote_all(here .. "/" .. helper.LUANETD, helper.script("http_get.lua"), base .. "/a.txt"))))
      assert.are.same(0, code)
      assert.are.same("hello\n", helper.slurp(dir .. "/a.txt"))
    end)

    it("follows a redirect", function()
      local code, _, err = get(base .. "/plain", "-o", dir .. "/listing.html")
      assert.are.same(0, code, err)
      assert.matches("b.css", helper.slurp(dir .. "/listing.html"), nil, true)
    end)

    it("exits 1 on an HTTP error, 2 on a bad URL, 3 when nobody answers, with a message", function()
      local code, _, err = get(base .. "/missing", "-o", dir .. "/m")
      assert.are.same(1, code)
      assert.matches("HTTP 404 Not Found", err, nil, true)
      assert.is_nil(io.open(dir .. "/m"))
      code, _, err = get("nota://url")
      assert.are.same(2, code)
      assert.matches("bad URL", err, nil, true)
      local server, port = helper.listen()
      server:close()
      code, _, err = get(("http://127.0.0.1:%d/x"):format(port), "-o", dir .. "/x")
      assert.are.same(3, code)
      assert.matches("Connection refused", err, nil, true)
    end)

    it("downloads from Python's http.server", function()
      local py = helper.spawn("sh -c " .. helper.quote(("cd %s && exec env -u LD_PRELOAD /usr/bin/python3 -u -m http.server --bind 127.0.0.1 0")
        :format(helper.quote(root))))
      finally(py.cleanup)
      local port = py.wait_line("port (%d+)")
      assert.is_not_nil(port, py.stderr())
      local code, _, err = get(("http://127.0.0.1:%s/a.txt"):format(port), "-o", dir .. "/py.txt")
      assert.are.same(0, code, err)
      assert.are.same("hello\n", helper.slurp(dir .. "/py.txt"))
    end)
  end)
end)
