-- net.Ftp (QFtp), net.ftp and scripts/ftp_client.lua against vsftpd (the
-- Debian package), started standalone in the foreground on a loopback port
-- with a config written here: anonymous login, a read-only tree, and an
-- "incoming" directory owned by the ftp user where anonymous may upload
-- and make directories. vsftpd lists with LIST in Unix format (it has no
-- MLSD), so this also checks that parser against a real server.
local helper = require "helper"
local dh = require "support.daemon_helper"
local core = require "support.core_helper"
local net = helper.net

local VSFTPD = "/usr/sbin/vsftpd"

-- Writes the config and starts vsftpd on a free port; returns the port and
-- a stop function (TERM by PID, then cleanup).
local function start_vsftpd(dir, root)
  local port = core.free_port()
  local pasv = 40000 + (port % 200) * 100   -- a range of its own per run
  local empty = dir .. "/empty"
  assert(os.execute("mkdir -p " .. helper.quote(empty)))
  local conf = dir .. "/vsftpd.conf"
  dh.write(conf, table.concat({
    "listen=YES",
    "listen_ipv6=NO",
    "listen_address=127.0.0.1",
    "listen_port=" .. port,
    "background=NO",
    "anonymous_enable=YES",
    "local_enable=NO",
    "anon_root=" .. root,
    "write_enable=YES",
    "anon_upload_enable=YES",
    "anon_mkdir_write_enable=YES",
    "anon_umask=022",
    "pasv_enable=YES",
    "pasv_min_port=" .. pasv,
    "pasv_max_port=" .. pasv + 99,
    "port_enable=YES",
    "connect_from_port_20=NO",
    "secure_chroot_dir=" .. empty,
    "seccomp_sandbox=NO",
    "xferlog_enable=NO",
    "syslog_enable=NO",
    "vsftpd_log_file=" .. dir .. "/vsftpd.log",
    "",
  }, "\n"))
  return port, helper.start_peer({ VSFTPD, conf }, port, "vsftpd")
end

-- A tree vsftpd will serve: root and pub owned by root and not writable by
-- the ftp user (vsftpd refuses a writable chroot), incoming owned by ftp.
local function make_tree(dir)
  local root = dir .. "/root"
  assert(os.execute(("mkdir -p %s/pub/deep %s/incoming"):format(helper.quote(root), helper.quote(root))))
  dh.write(root .. "/pub/hello.txt", "hello\nworld\n")
  dh.write(root .. "/pub/deep/x.txt", "x\n")
  assert(os.execute(("head -c 1500000 /dev/urandom > %s/pub/big.bin"):format(helper.quote(root))))
  -- mktemp -d makes 0700 directories; the ftp user must be able to read.
  assert(os.execute(("chmod 755 %s && chmod -R a+rX,go-w %s"):format(helper.quote(dir), helper.quote(root))))
  assert(os.execute(("chown ftp %s/incoming"):format(helper.quote(root))))
  return root
end

local ftp_kit = require "support.ftp_session"
local function session(port, fn) return ftp_kit.session(port, fn, 10000) end

local maybe_describe = helper.installed(VSFTPD) and describe or pending

maybe_describe("net.Ftp, net.ftp and ftp_client.lua against vsftpd", function()
  local dir, root, port, stop
  setup(function()
    dir = dh.tmpdir()
    root = make_tree(dir)
    port, stop = start_vsftpd(dir, root)
  end)
  teardown(function()
    if stop then stop() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("logs in anonymously, changes directory and lists LIST's Unix format with listInfo", function()
    local f, rec, err = session(port, function(f)
      f:login()
      f:cd("pub")
      f:list()
      f:close()
    end)
    assert.are.same(false, err, f:errorString())
    assert.are.same({ 1, 2, 3, 4, 5 }, rec.started)
    assert.are.same({ { 1, false }, { 2, false }, { 3, false }, { 4, false }, { 5, false } }, rec.finished)
    assert.are.same({ "HostLookup", "Connecting", "Connected", "LoggedIn", "Closing", "Unconnected" }, rec.states)
    local names = {}
    for name in pairs(rec.infos) do names[#names + 1] = name end
    table.sort(names)
    assert.are.same({ "big.bin", "deep", "hello.txt" }, names)
    local big, hello, deep = rec.infos["big.bin"], rec.infos["hello.txt"], rec.infos["deep"]
    assert.are.same({ 1500000, true, false }, { big.size, big.isFile, big.isDir })
    assert.are.same({ 12, true, false }, { hello.size, hello.isFile, hello.isDir })
    assert.are.same({ true, false }, { deep.isDir, deep.isFile })
    -- vsftpd gives times in GMT, "Mon DD HH:MM" for recent files.
    assert.is_true(math.abs(big.lastModified - os.time()) < 2 * 86400)
    assert.are.same("Unconnected", f:state())
  end)

  it("downloads to readAll and to a file, passive and active, with progress", function()
    local want = helper.slurp(root .. "/pub/big.bin")
    local out, out2 = dir .. "/got.bin", dir .. "/got-active.bin"
    local ready = 0
    local f, rec, err = session(port, function(f)
      f.readyRead:connect(function() ready = ready + 1 end)
      f:login()
      f:get("pub/hello.txt")
      f:get("pub/big.bin", out)
      f:setTransferMode("Active")
      f:get("pub/big.bin", out2)
      f:get("pub/deep/x.txt")
      f:close()
    end)
    assert.are.same(false, err, f:errorString())
    assert.are.same("hello\nworld\nx\n", f:readAll())
    assert.is_true(ready >= 2)
    assert.is_true(helper.slurp(out) == want, "passive download differs")
    assert.is_true(helper.slurp(out2) == want, "active download differs")
    local saw_total = false
    for _, p in ipairs(rec.progress) do
      if p[1] == 1500000 and p[2] == 1500000 then saw_total = true end
    end
    assert.is_true(saw_total, "no progress with SIZE's total")
  end)

  it("abort() stops a download mid-way, drops the queued commands, and the login stays usable", function()
    ftp_kit.abort_midway(port, "pub", "big.bin", 1500000)
  end)

  it("rawCommand gives SYST's reply through rawCommandReply", function()
    local f, rec, err = session(port, function(f)
      f:login()
      f:rawCommand("SYST")
      f:rawCommand("SIZE pub/hello.txt")
      f:close()
    end)
    assert.are.same(false, err, f:errorString())
    assert.are.same({ { 215, "UNIX Type: L8" }, { 213, "12" } }, rec.raw)
  end)

  it("reports a refused cd with commandFinished(id, true), clears the queue, and says why", function()
    local f, rec, err = session(port, function(f)
      f:login()
      f:cd("no-such-dir")
      f:list()
    end)
    assert.are.same(true, err)
    assert.are.same({ { 1, false }, { 2, false }, { 3, true } }, rec.finished)
    assert.are.same("UnknownError", f:error())
    assert.matches("^Changing directory failed:\n", f:errorString())
    assert.matches("Failed to change directory", f:errorString())
  end)

  it("uploads and makes a directory as anonymous in incoming; a refused put fails", function()
    local src = dir .. "/src.bin"
    assert(os.execute(("head -c 300000 /dev/urandom > %s"):format(helper.quote(src))))
    local fh = assert(io.open(src, "rb"))
    local f, rec, err = session(port, function(f)
      f:login()
      f:mkdir("incoming/sub")
      f:put(fh, "incoming/sub/a.bin")
      f:setTransferMode("Active")
      f:put("small data", "incoming/b.txt")
      f:setTransferMode("Passive")
      f:put("nope", "pub/refused.txt")   -- pub is root's: 553
    end)
    fh:close()
    assert.are.same(true, err)
    assert.are.same({ { 1, false }, { 2, false }, { 3, false }, { 4, false }, { 5, false }, { 6, false }, { 7, false },
      { 8, true } }, rec.finished)
    assert.is_true(helper.slurp(root .. "/incoming/sub/a.bin") == helper.slurp(src), "upload differs")
    assert.are.same("small data", helper.slurp(root .. "/incoming/b.txt"))
    assert.is_nil(io.open(root .. "/pub/refused.txt"))
    assert.matches("553", f:errorString())
  end)

  -- A refused RETR in active mode: no data connection will come, and the
  -- client does not wait its 30 s time-out for one.
  it("reports a refused get in active mode at once, not after the 30 s time-out", function()
    local t0 = helper.now_ms()
    local f, rec, err = session(port, function(f)
      f:login()
      f:setTransferMode("Active")
      f:get("pub/missing.txt")
    end)
    assert.are.same(true, err)
    assert.are.same({ 4, true }, rec.finished[4])
    assert.matches("550", f:errorString())
    assert.is_true(helper.now_ms() - t0 < 3000)
  end)

  it("net.ftp.get, list and put in a task", function()
    helper.in_task(function()
      local base = ("ftp://127.0.0.1:%d"):format(port)
      assert.are.same("hello\nworld\n", net.ftp.get(base .. "/pub/hello.txt"))
      local to = dir .. "/task.bin"
      assert.is_truthy(net.ftp.get(base .. "/pub/big.bin", to))
      assert.is_true(helper.slurp(to) == helper.slurp(root .. "/pub/big.bin"))
      local names, sizes = {}, {}
      for _, info in ipairs(assert(net.ftp.list(base .. "/pub"))) do
        names[#names + 1] = info.name
        sizes[info.name] = info.size
      end
      table.sort(names)
      assert.are.same({ "big.bin", "deep", "hello.txt" }, names)
      assert.are.same(12, sizes["hello.txt"])
      assert.is_true(net.ftp.put(base .. "/incoming/task.txt", "from a task"))
      assert.are.same("from a task", helper.slurp(root .. "/incoming/task.txt"))
      local data, err = net.ftp.get(base .. "/pub/missing.txt")
      assert.is_nil(data)
      assert.matches("550", err)
    end)
  end)

  it("ftp_client.lua lists like ls -l and gets, passive and active", function()
    local work = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(work)) end)
    local function run(...) return ftp_kit.client(work, ...) end
    local url = ("ftp://127.0.0.1:%d/pub/"):format(port)
    local code, out, err = run(url, "ls")
    assert.are.same(0, code, err)
    assert.matches("\n?%-[rwx%-]+ +%S+ +%S+ +12 %a%a%a +%d+ +[%d:]+ hello%.txt\n", out)
    assert.matches("\n?d[rwx%-]+ +%S+ +%S+ +%d+ %a%a%a +%d+ +[%d:]+ deep\n", out)
    code, _, err = run(url, "get", "hello.txt")
    assert.are.same(0, code, err)
    assert.are.same("hello\nworld\n", helper.slurp(work .. "/hello.txt"))
    code, _, err = run(url, "get", "big.bin", "--active")
    assert.are.same(0, code, err)
    assert.is_true(helper.slurp(work .. "/big.bin") == helper.slurp(root .. "/pub/big.bin"))
    code, _, err = run(url, "get", "missing.txt")
    assert.are.same(1, code)
    assert.matches("550", err)
  end)
end)
