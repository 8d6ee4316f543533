-- scripts/httpd.lua against request targets a browser or an attacker may
-- send as they are (project issue 16), over a raw socket: repeated
-- slashes are merged (as nginx's merge_slashes) so that a redirect to a
-- directory's slash is never protocol-relative (`GET //sub` must not say
-- `Location: //sub/`, which a browser reads as the host "sub"); every
-- Location starts with one "/"; a regular file named with a trailing
-- slash is 404 (as nginx); encoded slashes and dot segments never lead out
-- of the root; and a target that is not a path gets 400.
local helper = require "helper"
local dh = require "support.daemon_helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

local function sh(cmd) assert(os.execute(cmd), cmd) end

-- Sends each target (bytes, as they are) in a GET of its own connection;
-- for each: "STATUS LOCATION BODY" (LOCATION "-" when there is none, BODY
-- the body when it is short, else its length).
local function get_all(port, targets)
  local hex = {}
  for i, t in ipairs(targets) do hex[i] = ("bytes.fromhex(%q)"):format(helper.hex(t)) end
  local prog = ([[
import socket
port = %d
for target in [%s]:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d: break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    loc = "-"
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.lower() == "location":
            loc = v.strip()
    b = body.decode("latin-1") if len(body) < 40 else str(len(body))
    print(lines[0].split(" ")[1], loc, b.strip())
]]):format(port, table.concat(hex, ", "))
  local rc, out, err = helper.execute(PYTHON .. " -c " .. helper.quote(prog), 30000)
  assert(rc == 0, ("python failed (%s):\n%s%s"):format(tostring(rc), out, err))
  local got = {}
  for l in out:gmatch("([^\n]*)\n") do got[#got + 1] = l end
  return got
end

-- Asserts each case { target, "STATUS LOCATION BODY" } (the body may be
-- left out: then only status and location are compared), or { target,
-- { answer, ... } } when any of those answers will do.
local function check(port, cases)
  local targets, want = {}, {}
  for i, c in ipairs(cases) do targets[i] = c[1] end
  local got = get_all(port, targets)
  local seen = {}
  for i, c in ipairs(cases) do
    local answers = type(c[2]) == "table" and c[2] or { c[2] }
    local line = got[i] or "(none)"
    if select(2, answers[1]:gsub(" ", "")) < 2 then line = line:match("^(%S+ %S+)") or line end
    want[i] = ("%q -> %s"):format(c[1], table.concat(answers, " or "))
    for _, a in ipairs(answers) do
      if a == line then line = table.concat(answers, " or ") break end
    end
    seen[i] = ("%q -> %s"):format(c[1], line)
  end
  assert.are.same(want, seen)
end

describe("httpd.lua and hostile request targets", function()
  local dir, root, proc, port
  setup(function()
    dir = dh.tmpdir()
    root = dir .. "/root"
    sh(("mkdir -p %s/sub/deeper %s/'a b?c' %s/etc"):format(root, root, dir))
    dh.write(root .. "/file.txt", "top file\n")
    dh.write(root .. "/sub/a.txt", "in sub\n")
    dh.write(dir .. "/etc/passwd", "outside\n")
    dh.write(dir .. "/secret.txt", "secret\n")
    sh(("ln -s %s/file.txt %s/link-to-file"):format(root, root))
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("httpd.lua"), "--root", root))
  end)
  teardown(function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("redirects a directory without its slash to a Location with one leading slash, merging slashes", function()
    check(port, {
      { "/sub", "301 /sub/" },
      { "//sub", "301 /sub/" },
      { "///sub", "301 /sub/" },
      { "//sub?x=1", "301 /sub/?x=1" },
      { "//sub?//evil.test", "301 /sub/?//evil.test" },
      { "/sub//deeper", "301 /sub/deeper/" },
      { "//sub/./deeper", "301 /sub/deeper/" },
      { "/%2e/sub", "301 /sub/" },
      { "/a%20b%3Fc", "301 /a%20b%3Fc/" },    -- the name's '?' stays encoded
      { "//a%20b%3fc", "301 /a%20b%3Fc/" },
    })
  end)

  it("serves a directory named with repeated slashes as the directory", function()
    check(port, {
      { "//sub/", "200 -" },
      { "/sub//", "200 -" },
      { "////", "200 -" },
      { "/sub/.", "200 -" },
      { "/sub//a.txt", "200 - in sub" },
      { "//sub//a.txt", "200 - in sub" },
    })
  end)

  it("answers 404 to a regular file named with a trailing slash", function()
    check(port, {
      { "/file.txt", "200 - top file" },
      { "/file.txt/", "404 -" },
      { "//file.txt/", "404 -" },
      { "/file.txt//", "404 -" },
      { "/file.txt/.", "404 -" },
      { "/sub/a.txt/", "404 -" },
      { "/link-to-file", "200 - top file" },
      { "/link-to-file/", "404 -" },
      { "/file.txt%2f", "403 -" },
    })
  end)

  it("never leads out of the root, whatever the encoding of slashes and dots", function()
    check(port, {
      { "/%2Fsub", "403 -" },
      { "/%2fsub/", "403 -" },
      { "/%2F%2Fsub", "403 -" },
      { "/sub/..%2f..%2fetc/passwd", "403 -" },
      { "/sub/..%2F..%2F..%2Fetc%2Fpasswd", "403 -" },
      { "/sub/%2e%2e/%2e%2e/etc/passwd", "403 -" },
      { "/sub/%2E%2E/%2E%2E/secret.txt", "403 -" },
      { "/../secret.txt", "403 -" },
      { "/sub/../../secret.txt", "403 -" },
      { "/sub/.%2e/.%2e/secret.txt", "403 -" },
      { "/sub/%252e%252e/%252e%252e/secret.txt", "404 -" },   -- a name "%2e%2e", not there
      { "/sub%5c..%5c..%5csecret.txt", "403 -" },
      { "/sub\\..\\..\\secret.txt", { "403 -", "400 -" } },   -- the HTTP server may refuse a raw backslash
      { "/sub/%00", "403 -" },
    })
  end)

  it("answers 400 to a target that is not an absolute path, and takes a path out of an absolute URI", function()
    check(port, {
      { "sub", "400 -" },
      { "*", "400 -" },
      { "http://evil.test/sub", "301 /sub/" },
      { "http://evil.test//sub", "301 /sub/" },
      { "http://evil.test", "200 -" },
      { "http://evil.test/file.txt/", "404 -" },
    })
  end)
end)
