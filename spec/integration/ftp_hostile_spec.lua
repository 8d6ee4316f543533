-- scripts/ftpd.lua (net.FtpServer) against a hostile client on a raw
-- control connection (project issue 16): EPRT with any delimiter, or
-- malformed, and PORT out of range get a reply each and the session goes
-- on; an argument with a NUL byte (which made the path functions raise)
-- is refused; PORT and EPRT to a privileged port of the client's own
-- address are refused with 501 and nothing is connected; a wrong password
-- is answered only after a delay (3 s by default) during which nothing
-- more is read from that session, while other sessions are served, and
-- the third failure closes the session with 421; and an error raised
-- inside a command handler is answered with 451, the session going on.
local helper = require "helper"
local dh = require "support.daemon_helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

-- The Python side: Ctl(), a control connection read by hand (a reply is
-- its first line; "TIMEOUT" when none comes within `timeout` s, "EOF" when
-- the server closed), and ask(c, raw) that sends one command line (bytes,
-- as they are) and returns the reply's first line.
local PY_PRELUDE = [[
import socket, sys, time
class Ctl:
    def __init__(self, timeout=3.0):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.settimeout(timeout)
        self.buf = b""
        self.dead = None
    def line(self):
        while b"\n" not in self.buf:
            if self.dead:
                return self.dead
            try:
                d = self.s.recv(4096)
            except socket.timeout:
                self.dead = "TIMEOUT"
                continue
            except OSError:
                d = b""
            if not d:
                self.dead = "EOF"
                continue
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode("latin-1")
    def reply(self):
        first = self.line()
        if first[3:4] == "-":
            while True:
                l = self.line()
                if l in ("TIMEOUT", "EOF") or (l[:3] == first[:3] and l[3:4] == " "):
                    break
        return first
    def send(self, raw):
        self.s.sendall(raw + b"\r\n")
    def ask(self, raw):
        self.send(raw)
        return self.reply()
def login(user=b"anonymous", password=b"x"):
    c = Ctl()
    assert c.reply()[:3] == "220"
    c.ask(b"USER " + user)
    r = c.ask(b"PASS " + password)
    assert r[:3] == "230", r
    return c
]]

-- Runs a Python snippet with `port` set; its stdout.
local function py(port, code, ms)
  local prog = PY_PRELUDE .. ("port = %d\n"):format(port) .. code
  local rc, out, err = helper.execute(PYTHON .. " -c " .. helper.quote(prog), ms or 30000)
  assert(rc == 0, ("python failed (%s):\n%s%s"):format(tostring(rc), out, err))
  return out
end

-- Lines as a Python list of bytes (hex, so that any byte goes through).
local function py_lines(lines)
  local out = {}
  for i, l in ipairs(lines) do out[i] = ("bytes.fromhex(%q)"):format(helper.hex(l)) end
  return "[" .. table.concat(out, ", ") .. "]"
end

-- A command line as a failure message shows it: quoted, a long one cut.
local function label(line)
  if #line <= 60 then return ("%q"):format(line) end
  return ("%q... (%d bytes)"):format(line:sub(1, 40), #line)
end

-- Sends each case's line on one anonymous session, then NOOP: asserts
-- each reply's code, and that NOOP still gets 200 after them all.
local function each_answered(port, cases)
  local lines, want = {}, {}
  for i, c in ipairs(cases) do
    lines[i] = c[1]
    want[i] = ("%s -> %d"):format(label(c[1]), c[2])
  end
  local out = py(port, ([[
c = login()
for line in %s:
    print(c.ask(line)[:3])
print(c.ask(b"NOOP"))
]]):format(py_lines(lines)))
  local got, i = {}, 0
  for code in out:gmatch("([^\n]*)\n") do
    i = i + 1
    got[i] = cases[i] and ("%s -> %s"):format(label(cases[i][1]), code) or code
  end
  want[#want + 1] = "200 NOOP ok."
  assert.are.same(want, got)
end

local function ftpd(root, ...)
  return helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", root, ...))
end

describe("ftpd.lua under hostile commands", function()
  local dir, proc, port
  setup(function()
    dir = dh.tmpdir()
    assert(os.execute(("mkdir -p %s/sub"):format(helper.quote(dir))))
    dh.write(dir .. "/hello.txt", "hello\n")
    proc, port = ftpd(dir)
  end)
  teardown(function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("answers every malformed EPRT (no pattern is built from the delimiter) and the session goes on", function()
    each_answered(port, {
      { "EPRT %1%127.0.0.1%2000%", 200 },        -- '%' is a delimiter like any other (RFC 2428)
      { "EPRT ^1^127.0.0.1^2000^", 200 },
      { "EPRT [1[127.0.0.1[2000[", 200 },
      { "EPRT (1(127.0.0.1(2000(", 200 },
      { "EPRT ]1]127.0.0.1]2000]", 200 },
      { "EPRT 0", 501 },
      { "EPRT 01012700.0.0.1020000", 501 },      -- a digit cannot delimit numbers
      { "EPRT %1%", 501 },
      { "EPRT |1|", 501 },
      { "EPRT |3|x|1|", 522 },
      { "EPRT |12|127.0.0.1|2000|", 522 },
      { "EPRT ||||", 501 },
      { "EPRT |||||", 501 },
      { "EPRT |1|127.0.0.1|99999|", 501 },
      { "EPRT |1|127.0.0.1|0|", 501 },
      { "EPRT |1|127.0.0.1|2000", 501 },
      { "EPRT |1|127.0.0.1|2000||", 501 },
      { "EPRT |1|127.0.0.1||", 501 },
      { "EPRT |1||2000|", 501 },
      { "EPRT |1|127.0.0.1|+2000|", 501 },
      { "EPRT |1|127.0.0.1|1e3|", 501 },
      { "EPRT |1|127.0.0.1|0x7d0|", 501 },
      { "EPRT |1|127.0.0.1|99999999999999999999999|", 501 },
      { "EPRT |1|999.0.0.1|2000|", 501 },
      { "EPRT |1|127.0.0|2000|", 501 },
      { "EPRT |1|127.0.0.1.1|2000|", 501 },
      { "EPRT |1|::1|2000|", 501 },              -- not an IPv4 address
      { "EPRT |2|127.0.0.1|2000|", 501 },        -- not an IPv6 address
      { "EPRT .1.127.0.0.1.2000.", 501 },        -- the delimiter is in the address
      { "EPRT  |1|127.0.0.1|2000|", 501 },       -- a space is no delimiter
      { "EPRT \1271\127127.0.0.1\1272000\127", 501 },
      { "EPRT \2541\254127.0.0.1\2542000\254", 501 },
      { "EPRT |1|" .. ("1"):rep(3000) .. "|2000|", 501 },
      { "EPRT " .. ("|"):rep(3000), 501 },
      { "EPRT |1|10.1.2.3|2000|", 500 },         -- another host: no bounce
      { "EPRT", 501 },
      { "PORT 127,0,0,1,7,208", 200 },
      { "PORT 256,0,0,1,7,208", 501 },
      { "PORT 127,0,0,1,256,1", 501 },
      { "PORT 127,0,0,1,7", 501 },
      { "PORT 127,0,0,1,7,208,1", 501 },
      { "PORT 99999999999999999999,0,0,1,7,208", 501 },
      { "PORT 127,0,0,1,7,-1", 501 },
      { "REST 99999999999999999999999", 501 },
    })
  end)

  it("refuses an argument with a NUL byte, which the path functions raise for, and goes on", function()
    each_answered(port, {
      { "RETR hello\0.txt", 501 },
      { "CWD \0", 501 },
      { "CWD sub\0/..", 501 },
      { "SIZE hello.txt\0", 501 },
      { "MDTM \0", 501 },
      { "LIST \0", 501 },
      { "NLST sub\0", 501 },
      { "MLSD \0", 501 },
      { "MLST \0", 501 },
      { "OPTS UTF8 ON\0", 501 },
      { "SIZE hello.txt", 213 },
    })
  end)

  it("refuses PORT and EPRT to a privileged port of the client's own address, and connects nowhere", function()
    local out = py(port, [[
# A listener on a privileged port, when this user may make one (root):
# nothing must come to it.
trap = None
for p in range(1000, 1024):
    try:
        trap = socket.socket()
        trap.bind(("127.0.0.1", p))
        trap.listen(1)
        trap.settimeout(0.5)
        break
    except OSError:
        trap.close()
        trap = None
c = login()
tp = trap.getsockname()[1] if trap else 1000
print(c.ask(b"PORT 127,0,0,1,0,21"))
print(c.ask(("PORT 127,0,0,1,%d,%d" % (tp >> 8, tp & 255)).encode()))
print(c.ask(b"PORT 127,0,0,1,3,255"))
print(c.ask(("EPRT |1|127.0.0.1|%d|" % tp).encode()))
print(c.ask(b"EPRT |1|127.0.0.1|1|"))
print(c.ask(b"NLST"))                 # no target was kept
if trap:
    try:
        trap.accept()
        print("CONNECTED")
    except socket.timeout:
        pass
print(c.ask(b"PORT 127,0,0,1,4,0")[:3])   # 1024: not privileged
print(c.ask(b"NOOP"))
]])
    assert.are.same(table.concat({
      "501 Can't connect over a privileged port.", "501 Can't connect over a privileged port.",
      "501 Can't connect over a privileged port.", "501 Can't connect over a privileged port.",
      "501 Can't connect over a privileged port.", "425 Use PORT or PASV first.", "200", "200 NOOP ok.", "" }, "\n"),
      out)
  end)

  it("makes the data connection an EPRT with a pattern character as delimiter names", function()
    local out = py(port, [[
c = login()
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
l.settimeout(5)
p = l.getsockname()[1]
for d in "^%[":
    print(c.ask(("EPRT {d}1{d}127.0.0.1{d}{p}{d}".format(d=d, p=p)).encode())[:3])
    print(c.ask(b"NLST")[:3])
    s, _ = l.accept()
    data = b""
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
    s.close()
    print(sorted(data.decode().split()))
    print(c.reply()[:3])
]])
    assert.are.same(("200\n150\n['hello.txt', 'sub']\n226\n"):rep(3), out)
  end)
end)

describe("ftpd.lua's failed logins", function()
  local dir
  setup(function() dir = dh.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. helper.quote(dir)) end)

  it("answers a wrong password after 3 s by default, reads nothing more of that session, serves others", function()
    local proc, port = ftpd(dir, "--user", "alice:secret", "--anonymous", "no")
    finally(proc.cleanup)
    local out = py(port, [[
a = Ctl(timeout=8)
a.reply()
print(a.ask(b"USER alice"))
t0 = time.time()
a.send(b"PASS wrong\r\nNOOP")     # NOOP waits behind the delay
b = Ctl()
t1 = time.time()
print(b.reply()[:3], b.ask(b"NOOP"), time.time() - t1 < 1.5)
first = a.reply()
t = time.time() - t0
print(first, 2.8 <= t < 6)
print(a.reply())
print(a.ask(b"USER alice"), a.ask(b"PASS secret"))
]])
    assert.are.same(table.concat({ "331 Please specify the password.", "220 200 NOOP ok. True",
      "530 Login incorrect. True", "200 NOOP ok.", "331 Please specify the password. 230 Login successful.", "" },
      "\n"), out)
  end)

  it("closes the session with 421 at the third failure, each answered after --login-failure-delay", function()
    local proc, port = ftpd(dir, "--user", "alice:secret", "--anonymous", "no", "--login-failure-delay", "300")
    finally(proc.cleanup)
    local out = py(port, [[
c = Ctl()
c.reply()
for user, pw in ((b"alice", b"nope"), (b"anonymous", b"x"), (b"alice", b"guess")):
    c.ask(b"USER " + user)
    t0 = time.time()
    r = c.ask(b"PASS " + pw)
    print(r, 0.28 <= time.time() - t0 < 3)
print(c.line())
]])
    assert.are.same(table.concat({ "530 Login incorrect. True", "530 Login incorrect. True",
      "421 Login incorrect; too many failed attempts, closing control connection. True", "EOF", "" }, "\n"), out)
  end)

  it("takes --max-login-attempts: 1 closes the session at the first failure", function()
    local proc, port = ftpd(dir, "--user", "alice:secret", "--login-failure-delay", "0", "--max-login-attempts", "1")
    finally(proc.cleanup)
    local out = py(port, [[
c = Ctl()
c.reply()
c.ask(b"USER alice")
print(c.ask(b"PASS wrong")[:3], c.line())
]])
    assert.are.same("421 EOF\n", out)
  end)
end)

describe("net.FtpServer, in-process, when a command handler raises", function()
  local dir, server, port
  setup(function()
    dir = dh.tmpdir()
    -- A users table that raises for a name it does not hold: PASS looks
    -- the user up, so `USER bob` then `PASS x` raises inside the handler.
    local users = setmetatable({ alice = { password = "secret" } }, {
      __index = function(_, name) error("no such user: " .. tostring(name)) end,
    })
    server = helper.net.FtpServer{ root = dir, users = users, loginFailureDelay = 0 }
    assert(server:listen("127.0.0.1", 0))
    port = server:serverPort()
  end)
  teardown(function()
    if server then server:close() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("answers 451, reports the error without the argument, and reads the next command", function()
    local stderr, reported = io.stderr, {}
    io.stderr = { write = function(self, ...)
      for _, s in ipairs({ ... }) do reported[#reported + 1] = s end
      return self
    end }
    finally(function() io.stderr = stderr end)
    local out = py(port, [[
c = Ctl()
c.reply()
print(c.ask(b"USER bob"))
print(c.ask(b"PASS hunter2"))
print(c.ask(b"NOOP"))
print(c.ask(b"USER alice"), c.ask(b"PASS secret"))
]])
    io.stderr = stderr
    assert.are.same(table.concat({ "331 Please specify the password.",
      "451 Requested action aborted: local error in processing.", "200 NOOP ok.",
      "331 Please specify the password. 230 Login successful.", "" }, "\n"), out)
    reported = table.concat(reported)
    assert.matches("^luanet%.FtpServer: PASS failed: .-no such user: bob", reported)
    assert.is_nil(reported:find("hunter2", 1, true))
  end)

  it("refuses a loginFailureDelay or maxLoginAttempts that is not a count", function()
    for _, opts in ipairs({ { loginFailureDelay = -1 }, { loginFailureDelay = "3000" }, { maxLoginAttempts = 0 },
                            { maxLoginAttempts = 1.5 } }) do
      opts.root = dir
      local ok, err = pcall(helper.net.FtpServer, opts)
      assert.is_false(ok)
      assert.matches("FtpServer: %a+ must be an integer", err)
    end
  end)
end)
