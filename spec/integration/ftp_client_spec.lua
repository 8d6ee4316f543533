-- net.Ftp (QFtp), net.ftp and scripts/ftp_client.lua against a real FTP
-- server: pyftpdlib on a loopback port (Debian's python3-pyftpdlib), with
-- an anonymous read-only login and a user who may write.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local PYFTPD = [[
import sys, logging
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
root = sys.argv[1]
auth = DummyAuthorizer()
auth.add_user("alice", "secret", root, perm="elradfmwMT")
auth.add_anonymous(root)
handler = FTPHandler
handler.authorizer = auth
server = FTPServer(("127.0.0.1", 0), handler)
print("port", server.address[1], flush=True)
server.serve_forever(timeout=0.5)
]]

local function start_pyftpd(root)
  local dir = dh.tmpdir()
  dh.write(dir .. "/pyftpd.py", PYFTPD)
  local proc = helper.spawn(helper.quote_all("env", "-u", "LD_PRELOAD", "/usr/bin/python3", "-u",
    dir .. "/pyftpd.py", root))
  local function stop()
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end
  local port = proc.wait_line("port (%d+)")
  if not port then
    local err = proc.stderr()
    stop()
    error("pyftpdlib did not start: " .. err, 2)
  end
  return tonumber(port), stop
end

local ftp_kit = require "support.ftp_session"
local function session(port, fn) return ftp_kit.session(port, fn) end

local abort_midway = ftp_kit.abort_midway

describe("net.Ftp against pyftpdlib", function()
  local dir, root, port, stop
  setup(function()
    dir = dh.tmpdir()
    root = dir .. "/root"
    assert(os.execute(("mkdir -p %s/pub/deep"):format(root)))
    dh.write(root .. "/pub/hello.txt", "hello\nworld\n")
    dh.write(root .. "/pub/deep/x.txt", "x\n")
    assert(os.execute(("head -c 1500000 /dev/urandom > %s/pub/big.bin"):format(root)))
    port, stop = start_pyftpd(root)
  end)
  teardown(function()
    stop()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("logs in, changes directory and lists with listInfo, framing each command with ids", function()
    local f, rec, err = session(port, function(f)
      f:login()
      f:cd("pub")
      f:list()
      f:close()
    end)
    assert.are.same(false, err)
    assert.are.same({ 1, 2, 3, 4, 5 }, rec.started)
    assert.are.same({ { 1, false }, { 2, false }, { 3, false }, { 4, false }, { 5, false } }, rec.finished)
    assert.are.same({ "HostLookup", "Connecting", "Connected", "LoggedIn", "Closing", "Unconnected" }, rec.states)
    local big, deep = rec.infos["big.bin"], rec.infos["deep"]
    assert.are.same({ 1500000, true, false }, { big.size, big.isFile, big.isDir })
    assert.are.same({ true, false }, { deep.isDir, deep.isFile })
    assert.is_true(math.abs(big.lastModified - os.time()) < 3600)
    assert.are.same("Unconnected", f:state())
  end)

  it("downloads to readAll, to a file and to a function, passive and active, with progress", function()
    local want = helper.slurp(root .. "/pub/big.bin")
    local out = dir .. "/got.bin"
    local chunks, ready = {}, 0
    local f, rec, err = session(port, function(f)
      f.readyRead:connect(function() ready = ready + 1 end)
      f:login()
      f:get("pub/hello.txt")
      f:get("pub/big.bin", out)
      f:setTransferMode("Active")
      f:get("pub/big.bin", function(c) chunks[#chunks + 1] = c end)
      f:close()
    end)
    assert.are.same(false, err, f:errorString())
    assert.are.same("hello\nworld\n", f:readAll())
    assert.is_true(ready >= 1)
    assert.is_true(helper.slurp(out) == want)
    assert.is_true(table.concat(chunks) == want)
    local last = rec.progress[#rec.progress]
    assert.are.same({ 1500000, 1500000 }, last)
  end)

  it("uploads, renames, makes and removes as a user who may write; rawCommand gives the reply", function()
    local src = dir .. "/src.bin"
    assert(os.execute(("head -c 300000 /dev/urandom > %s"):format(src)))
    local fh = assert(io.open(src, "rb"))
    local f, rec, err = session(port, function(f)
      f:login("alice", "secret")
      f:mkdir("incoming")
      f:put(fh, "incoming/a.bin")
      f:put("small data", "incoming/b.txt")
      f:rename("incoming/b.txt", "incoming/c.txt")
      f:rawCommand("SIZE incoming/a.bin")
      f:remove("incoming/c.txt")
      f:close()
    end)
    fh:close()
    assert.are.same(false, err, f:errorString())
    assert.is_true(helper.slurp(root .. "/incoming/a.bin") == helper.slurp(src))
    assert.is_nil(io.open(root .. "/incoming/c.txt"))
    assert.are.same({ { 213, "300000" } }, rec.raw)
  end)

  it("reports a refused command with commandFinished(id, true), clears the queue, and says why", function()
    local f, rec, err = session(port, function(f)
      f:login()
      f:cd("no-such-dir")
      f:list()
    end)
    assert.are.same(true, err)
    assert.are.same({ { 1, false }, { 2, false }, { 3, true } }, rec.finished)
    assert.are.same("UnknownError", f:error())
    assert.matches("^Changing directory failed:\n", f:errorString())   -- then the server's words
  end)

  it("abort() stops a download mid-way, drops the queued commands, and the login stays usable", function()
    abort_midway(port, "pub", "big.bin", 1500000)
  end)

  it("reports ConnectionRefused for a port nobody listens on", function()
    local free = require("support.core_helper").free_port()
    local f, _, err = session(free, function(f) f:login() end)
    assert.are.same({ true, "ConnectionRefused" }, { err, f:error() })
  end)
end)

describe("net.ftp and scripts/ftp_client.lua against pyftpdlib", function()
  local dir, root, port, stop
  setup(function()
    dir = dh.tmpdir()
    root = dir .. "/root"
    assert(os.execute(("mkdir -p %s/pub"):format(root)))
    dh.write(root .. "/pub/hello.txt", "hello\nworld\n")
    port, stop = start_pyftpd(root)
  end)
  teardown(function()
    stop()
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("net.ftp.get, put and list in a task", function()
    helper.in_task(function()
      local base = ("ftp://127.0.0.1:%d"):format(port)
      assert.are.same("hello\nworld\n", net.ftp.get(base .. "/pub/hello.txt"))
      assert.is_true(net.ftp.put(("ftp://alice:secret@127.0.0.1:%d/pub/new.txt"):format(port), "fresh"))
      assert.are.same("fresh", helper.slurp(root .. "/pub/new.txt"))
      local names = {}
      for _, info in ipairs(assert(net.ftp.list(base .. "/pub"))) do names[#names + 1] = info.name end
      table.sort(names)
      assert.are.same({ "hello.txt", "new.txt" }, names)
      local data, err = net.ftp.get(base .. "/pub/missing.txt")
      assert.is_nil(data)
      assert.matches("550", err)
    end)
  end)

  it("ftp_client.lua lists like ls -l, gets, puts, and exits 1, 2, 3 as it says", function()
    local work = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(work)) end)
    local function run(...) return ftp_kit.client(work, ...) end
    local url = ("ftp://127.0.0.1:%d/pub/"):format(port)
    local code, out = run(url, "ls")
    assert.are.same(0, code)
    -- The server lists in its directory's order (newest first on a tmpfs).
    assert.is_truthy(("\n" .. out):find("\n%-[rwx%-]+ +%S+ +%S+ +12 %a%a%a +%d+ +[%d:]+ hello%.txt\n"), out)
    code = run(url, "get", "hello.txt", "--active")
    assert.are.same(0, code)
    assert.are.same("hello\nworld\n", helper.slurp(work .. "/hello.txt"))
    dh.write(work .. "/up.txt", "uploaded\n")
    code = run(("ftp://alice:secret@127.0.0.1:%d/pub/"):format(port), "put", "up.txt")
    assert.are.same(0, code)
    assert.are.same("uploaded\n", helper.slurp(root .. "/pub/up.txt"))
    local err
    code, _, err = run(url, "get", "missing.txt")
    assert.are.same(1, code)
    assert.matches("550", err)
    code = run("http://x/", "ls")
    assert.are.same(2, code)
    code, _, err = run(("ftp://127.0.0.1:%d/"):format(require("support.core_helper").free_port()), "ls")
    assert.are.same(3, code, err)
  end)
end)

describe("net.Ftp against ftpd.lua", function()
  it("gets over IPv6 on [::1], passive (EPSV) and active (EPRT |2|)", function()
    local dir = dh.tmpdir()
    local proc
    -- busted keeps one finally per it (the last one given): one for both.
    finally(function()
      if proc then proc.cleanup() end
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    dh.write(dir .. "/v6.txt", "over IPv6\n")
    local port
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", dir,
      "--host", "::1"))
    helper.in_task(function()
      assert.are.same("over IPv6\n", net.ftp.get(("ftp://[::1]:%d/v6.txt"):format(port)))
    end)
    local f = net.Ftp()
    local finished
    f.done:connect(function(err) finished = err end)
    f:connectToHost("::1", port)
    f:login()
    f:setTransferMode("Active")
    f:get("v6.txt")
    f:close()
    helper.run(10000, function() return finished ~= nil end)
    assert.are.same({ false, "over IPv6\n" }, { finished, f:readAll() })
  end)

  it("abort() cuts a download that ftpd.lua sends with sendFile; the login stays usable", function()
    local dir = dh.tmpdir()
    local proc
    finally(function()
      if proc then proc.cleanup() end
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    assert(os.execute(("mkdir -p %s/pub && head -c 4000000 /dev/urandom > %s/pub/big.bin"):format(dir, dir)))
    local port
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("ftpd.lua"), "--root", dir))
    abort_midway(port, "pub", "big.bin", 4000000)
  end)
end)
