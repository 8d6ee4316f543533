-- scripts/ftpd.lua (net.FtpServer) under real FTP clients: Python's ftplib
-- (passive and active, binary and ASCII, REST, MLSD, the write commands),
-- curl (list, get, -T put, active with --ftp-port -, --disable-epsv) and
-- lftp (a mirror of a tree); then bad input: unknown commands, commands
-- before login, path escapes, a data connection that never comes, a peer
-- that closes mid-transfer, and 500 control connections at once. Who may
-- write is checked upload by upload, on disk: nobody by default, a --user
-- only with --write yes, anonymous users only with --anonymous-write yes;
-- and the default config's ftpd service, as shipped, stays read-only.
local helper = require "helper"
local dh = require "support.daemon_helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

local function sh(cmd) assert(os.execute(cmd), cmd) end

-- Runs a Python snippet with `port` and `root` set, and session(host,
-- user, password), a logged-in ftplib.FTP (anonymous on 127.0.0.1 by
-- default); its stdout.
local PY_PRELUDE = [[
import ftplib, io, os, socket, sys, time
def session(host="127.0.0.1", user="anonymous", password=""):
    f = ftplib.FTP()
    f.connect(host, port)
    f.login(user, password)
    return f
def upload(name, data, user="anonymous", password=""):
    f = session(user=user, password=password)
    try:
        print(f.storbinary("STOR " + name, io.BytesIO(data)))
    except ftplib.error_perm as e:
        print(e)
    f.quit()
]]
local function py(port, root, code, ms)
  local prog = PY_PRELUDE .. ("port, root = %d, %q\n"):format(port, root) .. code
  local rc, out, err = helper.execute(PYTHON .. " -c " .. helper.quote(prog), ms or 20000)
  assert(rc == 0, ("python failed (%s):\n%s%s"):format(tostring(rc), out, err))
  return out
end

local function curl(...)
  return helper.execute(helper.quote_all("curl", "-sS", "--max-time", "10", ...), 15000)
end

-- A tree to serve: files, a subdirectory, a CRLF-free text file, a large
-- binary, a symlink out of the root, and a file outside it.
local function make_tree(dir)
  local root, outside = dir .. "/root", dir .. "/outside"
  sh(("mkdir -p %s/sub/deeper %s"):format(root, outside))
  dh.write(root .. "/hello.txt", "hello\nworld\n")
  dh.write(root .. "/sub/a.txt", "in sub\n")
  dh.write(root .. "/sub/deeper/b.txt", "deeper\n")
  dh.write(outside .. "/secret.txt", "secret\n")
  sh(("head -c 2000000 /dev/urandom > %s/big.bin"):format(root))
  sh(("ln -s %s %s/escape"):format(outside, root))
  return root
end

describe("ftpd.lua, anonymous and read-only", function()
  local dir, root, proc, port
  setup(function()
    dir = dh.tmpdir()
    root = make_tree(dir)
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", root))
  end)
  teardown(function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("greets, logs in anonymously and answers SYST, FEAT, PWD, CWD and SIZE", function()
    local out = py(port, root, [[
f = ftplib.FTP()
print(f.connect("127.0.0.1", port)[:3])
print(f.login())
print(f.sendcmd("SYST"))
print("EPSV" in f.sendcmd("FEAT") and "MLST" in f.sendcmd("FEAT"))
print(f.pwd())
print(f.cwd("sub"))
print(f.pwd())
f.cwd("/")
print(f.size("big.bin"))
f.quit()
]])
    assert.are.same("220\n230 Login successful.\n215 UNIX Type: L8\nTrue\n/\n250 Directory successfully changed.\n/sub\n2000000\n", out)
  end)

  it("downloads in binary, passive and active, and resumes with REST", function()
    local out = py(port, root, [[
want = open(os.path.join(root, "big.bin"), "rb").read()
for passive in (True, False):
    f = session()
    f.set_pasv(passive)
    buf = io.BytesIO()
    print(f.retrbinary("RETR big.bin", buf.write))
    print(buf.getvalue() == want)
    buf = io.BytesIO()
    f.retrbinary("RETR big.bin", buf.write, rest=1500000)
    print(buf.getvalue() == want[1500000:])
    f.quit()
]])
    assert.are.same("226 Transfer complete.\nTrue\nTrue\n226 Transfer complete.\nTrue\nTrue\n", out)
  end)

  it("sends text in ASCII type with CRLF line ends, and lists with LIST, NLST and MLSD", function()
    local out = py(port, root, [[
f = session()
raw = []
f.sendcmd("TYPE A")
s = f.transfercmd("RETR hello.txt")
data = b""
while True:
    d = s.recv(4096)
    if not d: break
    data += d
s.close()
f.voidresp()
print(repr(data))
lines = []
f.retrlines("LIST", lines.append)
print(sorted(l.split()[-1] for l in lines))
print(lines[0][:1] in "-dl" and len(lines[0].split()) >= 9)
print(sorted(f.nlst()))
facts = dict(f.mlsd())
print(facts["big.bin"]["type"], facts["big.bin"]["size"], facts["sub"]["type"])
f.quit()
]])
    assert.are.same("b'hello\\r\\nworld\\r\\n'\n['big.bin', 'escape', 'hello.txt', 'sub']\nTrue\n['big.bin', 'escape', 'hello.txt', 'sub']\nfile 2000000 dir\n", out)
  end)

  it("refuses writes to anonymous users of a read-only server", function()
    local out = py(port, root, [[
f = session()
for cmd in ("MKD x", "DELE hello.txt", "RNFR hello.txt"):
    try:
        f.sendcmd(cmd)
    except ftplib.error_perm as e:
        print(e)
try:
    f.storbinary("STOR new.txt", io.BytesIO(b"x"))
except ftplib.error_perm as e:
    print(e)
f.quit()
]])
    assert.are.same(("550 Permission denied.\n"):rep(4), out)
    assert.is_nil(io.open(root .. "/new.txt"))
  end)

  it("serves curl: a listing, a download, active mode and no EPSV", function()
    local code, out = curl("ftp://127.0.0.1:" .. port .. "/sub/")
    assert.are.same(0, code)
    assert.matches("a%.txt", out)
    assert.matches("deeper", out)
    code, out = curl("ftp://127.0.0.1:" .. port .. "/sub/deeper/b.txt")
    assert.are.same({ 0, "deeper\n" }, { code, out })
    code, out = curl("--ftp-port", "-", "ftp://127.0.0.1:" .. port .. "/hello.txt")
    assert.are.same({ 0, "hello\nworld\n" }, { code, out })
    code, out = curl("--disable-epsv", "ftp://127.0.0.1:" .. port .. "/hello.txt")
    assert.are.same({ 0, "hello\nworld\n" }, { code, out })
  end)

  it("never serves what is outside the root: .., absolute paths and symlinks", function()
    local out = py(port, root, [[
f = session()
print(f.cwd("../../.."), f.pwd())
for path in ("escape/secret.txt", "/../outside/secret.txt", "../outside/secret.txt"):
    try:
        f.retrbinary("RETR " + path, lambda b: print("GOT", b))
    except ftplib.error_perm as e:
        print(str(e)[:3])
try:
    f.cwd("escape")
except ftplib.error_perm as e:
    print(str(e)[:3])
f.quit()
]])
    assert.are.same("250 Directory successfully changed. /\n550\n550\n550\n550\n", out)
  end)

  it("answers unknown commands and commands before login, and refuses PORT to another host", function()
    local out = py(port, root, [[
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rwb")
def ask(line):
    if line is not None:
        f.write(line.encode() + b"\r\n"); f.flush()
    return f.readline().decode().rstrip()
print(ask(None)[:3])
print(ask("LIST"))
print(ask("RETR x"))
print(ask("FROB"))
print(ask("USER anonymous"))
print(ask("PASS x@y"))
print(ask("FROB"))
print(ask("PORT 10,1,2,3,4,5"))
print(ask("EPRT |1|10.1.2.3|1234|"))
print(ask("CWD"))
print(ask("QUIT"))
]])
    assert.are.same(table.concat({
      "220", "530 Please login with USER and PASS.", "530 Please login with USER and PASS.",
      "500 Unknown command.", "331 Please specify the password.", "230 Login successful.",
      "500 Unknown command.", "500 Illegal PORT command: only the client's own address.",
      "500 Illegal PORT command: only the client's own address.", "501 Missing argument.", "221 Goodbye.", "" }, "\n"), out)
  end)

  it("gives up on a data connection that never comes, with 425, and goes on", function()
    local p2, port2 = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", root,
      "--data-timeout", "300"))
    finally(p2.cleanup)
    local out = py(port2, root, [[
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rwb")
def ask(line):
    f.write(line.encode() + b"\r\n"); f.flush()
    return f.readline().decode().rstrip()
f.readline()
ask("USER anonymous"); ask("PASS x")
print(ask("EPSV")[:3])
t0 = time.time()
print(ask("RETR hello.txt"))     # and no data connection is made
print(0.2 < time.time() - t0 < 5)
print(ask("NOOP"))
]])
    assert.are.same("229\n425 Can't open data connection: none came in time.\nTrue\n200 NOOP ok.\n", out)
  end)

  it("survives a client that closes the data connection mid-transfer, and serves the next", function()
    -- Larger than loopback's socket buffers, so the server is still sending.
    sh(("head -c 64000000 /dev/zero > %s/huge.bin"):format(root))
    finally(function() os.remove(root .. "/huge.bin") end)
    local out = py(port, root, [[
f = session()
f.voidcmd("TYPE I")
s = f.transfercmd("RETR huge.bin")
s.recv(1000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
s.close()
try:
    print(f.getresp()[:3])
except ftplib.error_temp as e:
    print(str(e)[:3])
buf = io.BytesIO()
print(f.retrbinary("RETR hello.txt", buf.write), buf.getvalue())
f.quit()
]])
    assert.matches("^426\n226 Transfer complete%. b'hello\\nworld\\n'\n$", out)
  end)

  it("holds 500 control connections at once and answers each", function()
    local out = py(port, root, [[
socks = []
for i in range(500):
    socks.append(socket.create_connection(("127.0.0.1", port)))
ok = 0
for s in socks:
    s.settimeout(10)
    if s.recv(100).startswith(b"220"):
        ok += 1
for s in socks:
    s.sendall(b"QUIT\r\n")
bye = sum(1 for s in socks if s.recv(100).startswith(b"221"))
print(ok, bye)
]], 60000)
    assert.are.same("500 500\n", out)
  end)
end)

describe("ftpd.lua on IPv6", function()
  it("serves [::1] with EPSV and EPRT data connections (ftplib, curl)", function()
    local dir = dh.tmpdir()
    local root = make_tree(dir)
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", root,
      "--host", "::1"))
    finally(function()   -- one finally per test: busted keeps the last one only
      proc.cleanup()
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    local out = py(port, root, [[
want = open(os.path.join(root, "big.bin"), "rb").read()
for passive in (True, False):
    f = session("::1")
    f.set_pasv(passive)
    buf = io.BytesIO()
    f.retrbinary("RETR big.bin", buf.write)
    print(buf.getvalue() == want)
    f.quit()
]])
    assert.are.same("True\nTrue\n", out)
    local code, body = curl("--ftp-port", "-", ("ftp://[::1]:%d/hello.txt"):format(port))
    assert.are.same({ 0, "hello\nworld\n" }, { code, body })
  end)
end)

describe("ftpd.lua with a user who may write", function()
  local dir, root, proc, port
  setup(function()
    dir = dh.tmpdir()
    root = make_tree(dir)
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", root,
      "--user", "alice:secret", "--write", "yes", "--anonymous", "no"))
  end)
  teardown(function()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("refuses anonymous logins and wrong passwords", function()
    local out = py(port, root, [[
for user, pw in (("anonymous", "x"), ("alice", "wrong")):
    f = ftplib.FTP()
    f.connect("127.0.0.1", port)
    try:
        f.login(user, pw)
    except ftplib.error_perm as e:
        print(e)
    f.close()
]])
    assert.are.same("530 Login incorrect.\n530 Login incorrect.\n", out)
  end)

  it("stores, appends, resumes, renames, makes and removes, in binary and ASCII", function()
    local out = py(port, root, [[
f = session(user="alice", password="secret")
payload = os.urandom(300000)
print(f.storbinary("STOR up.bin", io.BytesIO(payload)))
print(open(os.path.join(root, "up.bin"), "rb").read() == payload)
f.storbinary("APPE up.bin", io.BytesIO(b"tail"))
print(open(os.path.join(root, "up.bin"), "rb").read() == payload + b"tail")
f.storbinary("STOR up.bin", io.BytesIO(b"XY"), rest=10)
print(open(os.path.join(root, "up.bin"), "rb").read()[8:14] == payload[8:10] + b"XY" + payload[12:14])
f.storlines("STOR text.txt", io.BytesIO(b"one\ntwo\n"))
print(repr(open(os.path.join(root, "text.txt"), "rb").read()))
print(f.mkd("newdir"))
print(f.rename("text.txt", "newdir/moved.txt"))
print(os.path.exists(os.path.join(root, "newdir", "moved.txt")))
print(f.delete("newdir/moved.txt"))
print(f.rmd("newdir"))
print(os.path.exists(os.path.join(root, "newdir")))
try:
    f.storbinary("STOR ../outside.bin", io.BytesIO(b"x"))
except ftplib.error_perm as e:
    print(str(e)[:3])
f.quit()
]])
    assert.are.same(table.concat({ "226 Transfer complete.", "True", "True", "True", "b'one\\ntwo\\n'",
      "/newdir", "250 Rename successful.", "True", "250 Delete operation successful.",
      "250 Remove directory operation successful.", "False", "" }, "\n"), out:gsub("\n550\n$", "\n"))
    assert.is_nil(io.open(dir .. "/outside.bin"))
  end)

  it("takes an upload from curl -T", function()
    local src = dir .. "/src.txt"
    dh.write(src, ("line\n"):rep(1000))
    local code = curl("-T", src, "-u", "alice:secret", "ftp://127.0.0.1:" .. port .. "/sub/")
    assert.are.same(0, code)
    assert.are.same(("line\n"):rep(1000), helper.slurp(root .. "/sub/src.txt"))
  end)

  it("is mirrored whole by lftp", function()
    local target = dir .. "/mirror"
    local code, out, err = helper.execute(helper.quote_all("lftp", "-u", "alice,secret", "-e",
      "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 5; mirror /sub " .. target .. "; quit",
      "ftp://127.0.0.1:" .. port), 30000)
    assert.are.same(0, code, out .. err)
    assert.are.same("in sub\n", helper.slurp(target .. "/a.txt"))
    assert.are.same("deeper\n", helper.slurp(target .. "/deeper/b.txt"))
  end)
end)

-- Who may write, as ftpd.lua's options say, with the least options given:
-- each upload is tried over a real control connection and looked for on
-- disk after it was allowed or refused.
describe("ftpd.lua: who may write", function()
  -- No newline in them: %q writes one as a backslash and a newline, which
  -- Python reads as a line continuation.
  local USER_DATA, ANON_DATA = "uploaded by u", "uploaded anonymously"
  local UPLOADS = ([[
upload("user.txt", %q.encode(), "u", "p")
upload("anon.txt", %q.encode())
]]):format(USER_DATA, ANON_DATA)
  local ONLY_ANONYMOUS = ("upload(\"anon.txt\", %q.encode())\n"):format(ANON_DATA)
  local cleanups = {}
  after_each(function()
    for i = #cleanups, 1, -1 do cleanups[i]() end
    cleanups = {}
  end)

  -- ftpd.lua --root (a fresh, empty directory) --port 0 and `...`: the
  -- port and the root.
  local function start_ftpd(...)
    local dir = dh.tmpdir()
    local root = dir .. "/root"
    sh("mkdir " .. helper.quote(root))
    cleanups[#cleanups + 1] = function() os.execute("rm -rf " .. helper.quote(dir)) end
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"),
      "--root", root, "--port", 0, ...))
    cleanups[#cleanups + 1] = proc.cleanup
    return port, root
  end

  it("lets nobody write by default: an anonymous STOR gets 550 and writes nothing", function()
    local port, root = start_ftpd()
    assert.are.same("550 Permission denied.\n", py(port, root, ONLY_ANONYMOUS))
    assert.is_nil(helper.slurp(root .. "/anon.txt"))
  end)

  it("logs a --user in read-only without --write yes: 550 for the user and for anonymous", function()
    local port, root = start_ftpd("--user", "u:p")
    assert.are.same("550 Permission denied.\n550 Permission denied.\n", py(port, root, UPLOADS))
    assert.is_nil(helper.slurp(root .. "/user.txt"))
    assert.is_nil(helper.slurp(root .. "/anon.txt"))
  end)

  it("lets the --user upload with --write yes, and still refuses anonymous users with 550", function()
    local port, root = start_ftpd("--user", "u:p", "--write", "yes")
    assert.are.same("226 Transfer complete.\n550 Permission denied.\n", py(port, root, UPLOADS))
    assert.are.same(USER_DATA, helper.slurp(root .. "/user.txt"))
    assert.is_nil(helper.slurp(root .. "/anon.txt"))
  end)

  it("lets anonymous users upload with --anonymous-write yes", function()
    local port, root = start_ftpd("--anonymous-write", "yes")
    assert.are.same("226 Transfer complete.\n", py(port, root, ONLY_ANONYMOUS))
    assert.are.same(ANON_DATA, helper.slurp(root .. "/anon.txt"))
  end)

  it("refuses to start on --write yes without --user, or a yes/no option that is neither", function()
    local dir = dh.tmpdir()
    cleanups[#cleanups + 1] = function() os.execute("rm -rf " .. helper.quote(dir)) end
    local function ftpd(...)
      return helper.execute(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", dir, "--port", 0, ...))
    end
    local code, out, err = ftpd("--write", "yes")
    assert.are.same({ 2, "" }, { code, out })
    assert.matches("--write yes needs --user NAME:PASS (for anonymous uploads: --anonymous-write yes)\nusage: ftpd.lua ",
      err, 1, true)
    code, out, err = ftpd("--anonymous-write", "true")
    assert.are.same({ 2, "" }, { code, out })
    assert.matches("--anonymous-write is yes or no, not true\nusage: ftpd.lua ", err, 1, true)
  end)
end)

describe("net.FtpServer's options as the server checks them", function()
  local dir
  setup(function() dir = dh.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. helper.quote(dir)) end)

  local function refused(opts)
    opts.root = dir
    local ok, err = pcall(helper.net.FtpServer, opts)
    assert.is_false(ok, "FtpServer took the options")
    return err
  end

  it("raises for the old write option, saying to use anonymousWrite", function()
    assert.matches("FtpServer: the option write is now anonymousWrite (whether anonymous users may write)",
      refused{ write = true }, 1, true)
  end)

  it("raises for an unknown option, a flag that is not a boolean, and a mistaken user", function()
    assert.matches("FtpServer: unknown option anonymous_write", refused{ anonymous_write = true }, 1, true)
    assert.matches("FtpServer: anonymousWrite must be true or false", refused{ anonymousWrite = "no" }, 1, true)
    assert.matches('FtpServer: users["bob"].write must be a boolean',
      refused{ users = { bob = { password = "pw", write = "yes" } } }, 1, true)
    assert.matches('FtpServer: users["bob"]: unknown field writable',
      refused{ users = { bob = { password = "pw", writable = true } } }, 1, true)
    assert.matches('FtpServer: users["bob"] has no password', refused{ users = { bob = { write = true } } }, 1, true)
  end)
end)

-- The ftpd service of etc/luanetd.conf, its block copied as it is (the
-- port made 0), run by the daemon in a directory with an ftp/ tree: the
-- block's root = "ftp" is relative to the daemon's working directory.
describe("the default config's ftpd service", function()
  it("serves anonymous downloads and refuses anonymous uploads with 550", function()
    local block = assert(helper.slurp("etc/luanetd.conf"):match('service "ftpd" (%b{})'),
      "etc/luanetd.conf has no ftpd service")
    local dir = dh.tmpdir()
    sh(("mkdir -p %s/etc %s/ftp/pub && cp -r scripts %s/scripts"):format(helper.quote(dir), helper.quote(dir),
      helper.quote(dir)))
    dh.write(dir .. "/ftp/pub/hello.txt", "hello\n")
    local conf = dir .. "/etc/luanetd.conf"
    dh.write(conf, ("control = %q\nservice \"ftpd\" %s\n"):format(dir .. "/ctl.sock",
      (block:gsub("(tcp://127%.0%.0%.1:)%d+", "%10"))))
    local luanetd = helper.LUANETD:sub(1, 1) == "/" and helper.LUANETD or os.getenv("PWD") .. "/" .. helper.LUANETD
    local d = dh.handle(dir, conf, dir .. "/ctl.sock", helper.quote_all("env", "-C", dir, luanetd, "-c", conf))
    finally(d.cleanup)
    assert.is_not_nil(d.wait_log("info ftpd started"), d.log())
    local out = py(d.port("ftpd"), dir .. "/ftp", [[
f = session()
buf = io.BytesIO()
print(f.retrbinary("RETR pub/hello.txt", buf.write), buf.getvalue())
f.quit()
upload("pub/up.txt", b"x")
]])
    assert.are.same("226 Transfer complete. b'hello\\n'\n550 Permission denied.\n", out)
    assert.is_nil(helper.slurp(dir .. "/ftp/pub/up.txt"))
  end)
end)

describe("net.FtpServer's options, in-process", function()
  local dir, root, server, port
  setup(function()
    dir = dh.tmpdir()
    root = make_tree(dir)
    sh(("head -c 64000000 /dev/zero > %s/huge.bin"):format(root))
    local first = require("support.core_helper").free_port()
    server = helper.net.FtpServer{ root = root, passivePorts = { first, first + 3 }, idleTimeout = 400 }
    assert(server:listen("127.0.0.1", 0))
    port = server:serverPort()
  end)
  teardown(function()
    server:close()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("passive ports from its range, MDTM and MLST", function()
    local range = server.opts.passivePorts
    local out = py(port, root, ([[
f = session()
ports = set()
for i in range(4):
    host, p = ftplib.parse227(f.sendcmd("PASV"))
    ports.add(%d <= p <= %d)
print(ports)
print(f.sendcmd("MDTM hello.txt") == "213 " + time.strftime("%%Y%%m%%d%%H%%M%%S", time.gmtime(os.path.getmtime(os.path.join(root, "hello.txt")))))
print(f.sendcmd("MLST hello.txt").splitlines()[1].strip().startswith("type=file;size=12;"))
f.quit()
]]):format(range[1], range[2]))
    assert.are.same("{True}\nTrue\nTrue\n", out)
  end)

  it("aborts a transfer on ABOR with 426 then 226, and serves the next command", function()
    local out = py(port, root, [[
f = session()
f.voidcmd("TYPE I")
s = f.transfercmd("RETR huge.bin")
s.recv(1000)
f.putcmd("ABOR")
print(f.getline()[:3])
print(f.getline()[:3])
s.close()
print(f.sendcmd("NOOP"))
]])
    assert.are.same("426\n226\n200 NOOP ok.\n", out)
  end)

  it("closes a control connection idle past idleTimeout with 421", function()
    local out = py(port, root, [[
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
t0 = time.time()
data = b""
while True:
    d = s.recv(1000)
    if not d: break
    data += d
print(data.decode().splitlines()[-1][:3], 0.3 < time.time() - t0 < 3)
]])
    assert.are.same("421 True\n", out)
  end)
end)
