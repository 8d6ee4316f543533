-- spec/integration/daemon_systemd_spec.lua: luanetd -c FILE under systemd's
-- protocols, without systemd as PID 1: the sd_notify datagrams (READY,
-- RELOADING, STOPPING, WATCHDOG) read by a python3 AF_UNIX listener; socket
-- activation through /usr/bin/systemd-socket-activate (fds by name and by
-- address, unused ones closed); and `user = "nobody"` dropping root after
-- the listeners are open.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local ECHO = dh.SCRIPTS .. "/echo_server.lua"

-- Binds an AF_UNIX datagram socket at argv[1] ("@name": the abstract
-- namespace), says "bound", then prints each datagram as "USEC HEX": when
-- it arrived on CLOCK_MONOTONIC (the clock of MONOTONIC_USEC), and its
-- bytes in hex, so a newline inside a message cannot split it.
local NOTIFY_PY = [[
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
print("bound", flush=True)
while True:
    data = s.recv(65536)
    print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, data.hex(), flush=True)
]]

local notify_py
setup(function()
  local base = os.tmpname()
  os.remove(base)
  notify_py = base .. ".py"
  dh.write(notify_py, NOTIFY_PY)
end)
teardown(function() os.remove(notify_py) end)

-- A notify socket listener at `addr` (a path, or "@name"). l.messages():
-- { { us = arrival, text = bytes }, ... } in arrival order; l.texts(): the
-- texts alone; l.wait(n): waits until n messages came.
local function notify_listener(addr)
  local proc = helper.spawn(helper.quote_all("env", "-u", "LD_PRELOAD", "/usr/bin/python3", notify_py, addr))
  if not proc.wait_line("^bound\n") then
    local err = proc.stderr()
    proc.cleanup()
    error("the notify listener did not start: " .. err, 2)
  end
  local l = { addr = addr }
  function l.messages()
    local out = {}
    for us, hex in proc.output():gmatch("(%d+) (%x*)\n") do
      out[#out + 1] = { us = math.tointeger(tonumber(us)), text = helper.unhex(hex) }
    end
    return out
  end
  function l.texts()
    local out = {}
    for i, m in ipairs(l.messages()) do out[i] = m.text end
    return out
  end
  function l.wait(n, ms)
    return helper.run(ms or helper.TIMEOUT, function() return #l.messages() >= n end)
  end
  function l.count(text)
    local n = 0
    for _, t in ipairs(l.texts()) do if t == text then n = n + 1 end end
    return n
  end
  function l.cleanup()
    proc.cleanup()
    if not addr:match("^@") then os.remove(addr) end
  end
  return l
end

-- A socket path that does not exist yet.
local function fresh_path()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".notify"
end

local function echo_config(listen)
  return ('service "echo" { script = %q, listen = %s }\n'):format(ECHO, listen or '"tcp://127.0.0.1:0"')
end

-- n distinct ports that were free a moment ago.
local function free_ports(n)
  local servers, ports = {}, {}
  for i = 1, n do servers[i], ports[i] = helper.listen() end
  for _, server in ipairs(servers) do server:close() end
  return table.unpack(ports)
end
local function free_port() return (free_ports(1)) end

-- Connects to 127.0.0.1:port, sends a line, returns what came back (nil and
-- the error when the connection fails).
local function echo_roundtrip(port, text)
  local sock = net.TcpSocket()
  sock:connectToHost("127.0.0.1", port)
  if not sock:waitForConnected(helper.TIMEOUT) then
    local err = sock:errorString()
    sock:abort()
    return nil, err
  end
  sock:write(text)
  helper.run(helper.TIMEOUT, function() return sock:bytesAvailable() >= #text end)
  local got = sock:readAll()
  sock:abort()
  return got
end

-- Whether something accepts connections at 127.0.0.1:port.
local function accepts(port)
  local sock = net.TcpSocket()
  sock:connectToHost("127.0.0.1", port)
  local ok = sock:waitForConnected(2000)
  sock:abort()
  return ok
end

local slurp = helper.slurp

describe("luanetd sd_notify", function()
  it("sends READY=1, RELOADING=1 with MONOTONIC_USEC then READY=1 on ctl reload, STOPPING=1 on SIGTERM", function()
    local l = notify_listener(fresh_path())
    local d
    finally(function()
      if d then d.cleanup() end
      l.cleanup()
    end)
    d = dh.start(echo_config(), nil, { env = "NOTIFY_SOCKET=" .. helper.quote(l.addr) })
    assert.is_true(l.wait(1), "no READY=1: " .. d.log())
    assert.are.same({ "READY=1" }, l.texts())
    -- READY=1 comes once the listeners are open and the services started.
    assert.are.same("ping\n", echo_roundtrip(d.port("echo"), "ping\n"))

    local code, out, err = d.ctl("reload", "echo")
    assert.are.same(0, code, out .. err)
    assert.is_true(l.wait(3), "messages: " .. table.concat(l.texts(), " | "))
    local m = l.messages()
    local usec = m[2].text:match("^RELOADING=1\nMONOTONIC_USEC=(%d+)$")
    assert.is_not_nil(usec, ("not RELOADING=1 with MONOTONIC_USEC: %q"):format(m[2].text))
    usec = math.tointeger(tonumber(usec))
    -- CLOCK_MONOTONIC, read after the first READY=1 arrived and before the
    -- RELOADING=1 datagram did.
    assert.is_true(usec > m[1].us and usec <= m[2].us,
      ("MONOTONIC_USEC=%d is not between %d and %d"):format(usec, m[1].us, m[2].us))
    assert.are.same("READY=1", m[3].text)

    assert.are.same(0, d.stop())
    assert.is_true(l.wait(4), "no STOPPING=1: " .. table.concat(l.texts(), " | "))
    helper.drive(100)
    local texts = l.texts()
    assert.are.same("STOPPING=1", texts[4])
    assert.are.same(4, #texts, "messages: " .. table.concat(texts, " | "))
  end)

  it("sends to an abstract \"@name\" socket, and RELOADING=1 / READY=1 on SIGHUP", function()
    local l = notify_listener(("@luanetd-spec-%d-%d"):format(helper.now_ms(), math.random(1 << 30)))
    local d
    finally(function()
      if d then d.cleanup() end
      l.cleanup()
    end)
    d = dh.start(echo_config(), nil, { env = "NOTIFY_SOCKET=" .. helper.quote(l.addr) })
    assert.is_true(l.wait(1), "no READY=1: " .. d.log())
    assert.are.same({ "READY=1" }, l.texts())
    d.kill("HUP")
    assert.is_true(l.wait(3), "messages: " .. table.concat(l.texts(), " | "))
    local texts = l.texts()
    assert.is_truthy(texts[2]:match("^RELOADING=1\nMONOTONIC_USEC=%d+$"), texts[2])
    assert.are.same("READY=1", texts[3])
    assert.are.same(0, d.stop())
    assert.is_true(l.wait(4))
    assert.are.same("STOPPING=1", l.texts()[4])
  end)

  it("sends nothing, and still runs, when NOTIFY_SOCKET names no socket", function()
    local path = fresh_path()
    local d = dh.start(echo_config(), nil, { env = "NOTIFY_SOCKET=" .. helper.quote(path) })
    finally(d.cleanup)
    assert.are.same("ping\n", echo_roundtrip(d.port("echo"), "ping\n"))
    assert.are.same(0, d.stop())
  end)
end)

describe("luanetd watchdog", function()
  -- Starts the echo daemon with NOTIFY_SOCKET and `env`; returns the
  -- listener and the daemon once READY=1 came.
  local function start(env, wrap)
    local l = notify_listener(fresh_path())
    local ok, d = pcall(dh.start, echo_config(), nil,
      { env = "NOTIFY_SOCKET=" .. helper.quote(l.addr) .. " " .. env, wrap = wrap })
    if not ok then
      l.cleanup()
      error(d, 2)
    end
    if not l.wait(1) then
      local log = d.log()
      d.cleanup(); l.cleanup()
      error("no READY=1: " .. log, 2)
    end
    return l, d
  end

  -- WATCHDOG=1 messages that arrived within ms of READY=1.
  local function watchdogs_within(l, ms)
    local m = l.messages()
    local n = 0
    for i = 2, #m do
      if m[i].text == "WATCHDOG=1" and m[i].us - m[1].us <= ms * 1000 then n = n + 1 end
    end
    return n
  end

  it("sends WATCHDOG=1 every WATCHDOG_USEC/2", function()
    local l, d = start("WATCHDOG_USEC=200000")
    finally(function() d.cleanup(); l.cleanup() end)
    helper.drive(1100)
    local n = watchdogs_within(l, 1000)
    -- Every 100 ms: 10 in a second; not fewer than 3, nor a flood.
    assert.is_true(n >= 3 and n <= 15, ("%d WATCHDOG=1 in 1 s: %s"):format(n, table.concat(l.texts(), " | ")))
    assert.are.same("READY=1", l.texts()[1])
    assert.are.same(0, d.stop())
  end)

  it("sends WATCHDOG=1 when WATCHDOG_PID is its own pid", function()
    -- sh sets WATCHDOG_PID to its own pid, then becomes luanetd.
    local l, d = start("WATCHDOG_USEC=200000", [[sh -c 'WATCHDOG_PID=$$ exec "$@"' sh]])
    finally(function() d.cleanup(); l.cleanup() end)
    helper.drive(1100)
    local n = watchdogs_within(l, 1000)
    assert.is_true(n >= 3, ("%d WATCHDOG=1 in 1 s: %s"):format(n, table.concat(l.texts(), " | ")))
    assert.are.same(0, d.stop())
  end)

  it("sends no WATCHDOG=1 when WATCHDOG_PID is another process", function()
    local l, d = start("WATCHDOG_USEC=200000 WATCHDOG_PID=1")
    finally(function() d.cleanup(); l.cleanup() end)
    helper.drive(700)
    assert.are.same(0, l.count("WATCHDOG=1"), table.concat(l.texts(), " | "))
    assert.are.same(0, d.stop())
    assert.is_true(l.wait(2))
    assert.are.same({ "READY=1", "STOPPING=1" }, l.texts())
  end)
end)

describe("luanetd socket activation", function()
  -- Starts luanetd under `systemd-socket-activate ARGS...`, which listens,
  -- waits for the first connection and then execs luanetd with LISTEN_PID,
  -- LISTEN_FDS and LISTEN_FDNAMES set. It passes on only the environment
  -- it is told to (-E): the sanitizer pass's settings go through that way.
  -- Returns the daemon once systemd-socket-activate listens on nfds sockets.
  local function activate(config, args, nfds)
    local wrap = { "systemd-socket-activate" }
    for _, name in ipairs({ "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_PRELOAD" }) do
      local v = os.getenv(name)
      if v then wrap[#wrap + 1] = "-E"; wrap[#wrap + 1] = name .. "=" .. v end
    end
    for _, a in ipairs(args) do wrap[#wrap + 1] = a end
    local d = dh.start(config, nil, { wrap = helper.quote_all(table.unpack(wrap)), wait = {} })
    if not d.wait_log(("Listening on [^\n]* as %d%%."):format(3 + nfds - 1)) then
      local log = d.log()
      d.cleanup()
      error("systemd-socket-activate did not listen: " .. log, 2)
    end
    return d
  end

  -- The first connection starts luanetd: once it echoes, the daemon runs.
  local function assert_started(d, port)
    assert.are.same("hello\n", echo_roundtrip(port, "hello\n"), d.log())
    assert.is_truthy(d.wait_log("info echo started"), d.log())
    local pid = d.pid()
    -- systemd-socket-activate became luanetd: LISTEN_PID was its pid.
    assert.are.same("luanetd\n", slurp(("/proc/%d/comm"):format(pid)))
    assert.is_falsy(d.log():find("already in use", 1, true), d.log())
    assert.is_falsy(d.log():find(" error ", 1, true), d.log())
  end

  it("takes the fd named like the listener (--fdname=web) and serves on it", function()
    local port = free_port()
    local d = activate(echo_config(('{ web = "tcp://127.0.0.1:%d" }'):format(port)),
      { "-l", "127.0.0.1:" .. port, "--fdname=web" }, 1)
    finally(d.cleanup)
    assert_started(d, port)
    assert.are.same({ "tcp://127.0.0.1:" .. port }, d.addresses("echo"))
    assert.is_falsy(d.log():find(" warn ", 1, true), d.log())
    assert.are.same("again\n", echo_roundtrip(port, "again\n"))
    assert.are.same(0, d.stop())
  end)

  it("serves a named listener on the passed socket's address, not the config's, without binding that", function()
    local port = free_port()
    local d = activate(echo_config('{ web = "tcp://127.0.0.1:1" }'),
      { "-l", "127.0.0.1:" .. port, "--fdname=web" }, 1)
    finally(d.cleanup)
    assert_started(d, port)
    assert.are.same({ "tcp://127.0.0.1:" .. port }, d.addresses("echo"))
    assert.is_false(accepts(1), "something listens on 127.0.0.1:1")
    assert.are.same(0, d.stop())
  end)

  it("maps several fds by name, whatever their order", function()
    local p1, p2 = free_ports(2)
    -- fd 3 is "b" (p1), fd 4 is "a" (p2); the config's addresses are
    -- placeholders. Named listeners come in name order: a, then b.
    local d = activate(echo_config('{ a = "tcp://127.0.0.1:1", b = "tcp://127.0.0.1:2" }'),
      { "-l", "127.0.0.1:" .. p1, "-l", "127.0.0.1:" .. p2, "--fdname=b:a" }, 2)
    finally(d.cleanup)
    -- echo_server.lua serves its first listener, "a".
    assert_started(d, p2)
    assert.are.same({ "tcp://127.0.0.1:" .. p2, "tcp://127.0.0.1:" .. p1 }, d.addresses("echo"))
    assert.is_true(accepts(p1))
    assert.are.same(0, d.stop())
  end)

  it("takes an unnamed fd whose address equals the listener's", function()
    local port = free_port()
    local d = activate(echo_config(('"tcp://127.0.0.1:%d"'):format(port)),
      { "-l", "127.0.0.1:" .. port }, 1)
    finally(d.cleanup)
    -- Binding 127.0.0.1:port itself would fail: the passed socket holds it.
    assert_started(d, port)
    assert.are.same({ "tcp://127.0.0.1:" .. port }, d.addresses("echo"))
    assert.is_falsy(d.log():find(" warn ", 1, true), d.log())
    assert.are.same(0, d.stop())
  end)

  it("closes a passed fd that no listener takes, with a warning", function()
    local p1, p2 = free_ports(2)
    local d = activate(echo_config(('{ web = "tcp://127.0.0.1:%d" }'):format(p1)),
      { "-l", "127.0.0.1:" .. p1, "-l", "127.0.0.1:" .. p2, "--fdname=web:spare" }, 2)
    finally(d.cleanup)
    assert_started(d, p1)
    assert.is_truthy(d.log():find("warn luanetd 1 socket-activated descriptors match no listener: closed", 1, true),
      d.log())
    assert.is_false(accepts(p2), "the unused socket still accepts")
    assert.are.same(0, d.stop())
  end)
end)

describe("luanetd user =", function()
  -- A port below 1024 that nothing holds: only root can bind it.
  local function free_low_port()
    for port = 1023, 900, -1 do
      local server = net.TcpServer()
      if server:listen("127.0.0.1", port) then
        server:close()
        return port
      end
    end
    error("no free port below 1024")
  end

  local function id(flag)
    local code, out = helper.execute(helper.quote_all("id", flag, "nobody"))
    assert.are.same(0, code)
    return math.tointeger(tonumber(out))
  end

  it("\"nobody\": listens on a low port as root, then runs as nobody", function()
    local uid, gid = id("-u"), id("-g")
    local port = free_low_port()
    local config = ('user = "nobody"\nservice "echo" { script = "echo.lua", listen = "tcp://127.0.0.1:%d" }\n')
      :format(port)
    -- mktemp -d makes the directory 0700: open it and its files to nobody
    -- before luanetd starts (the config's path is the wrapper's $3).
    local wrap = [[sh -c 'dir=${3%/*}; chmod 0755 "$dir" && chmod 0644 "$dir"/* && exec "$@"' sh]]
    local d = dh.start(config, { ["echo.lua"] = slurp(ECHO) }, { wrap = wrap })
    finally(d.cleanup)
    local status = slurp(("/proc/%d/status"):format(d.pid()))
    local ruid, euid, suid, fsuid = status:match("\nUid:%s+(%d+)%s+(%d+)%s+(%d+)%s+(%d+)")
    local rgid, egid, sgid, fsgid = status:match("\nGid:%s+(%d+)%s+(%d+)%s+(%d+)%s+(%d+)")
    local s = tostring
    assert.are.same({ s(uid), s(uid), s(uid), s(uid) }, { ruid, euid, suid, fsuid })
    assert.are.same({ s(gid), s(gid), s(gid), s(gid) }, { rgid, egid, sgid, fsgid })
    -- initgroups: nobody's groups, not root's.
    local groups = status:match("\nGroups:([^\n]*)")
    for g in groups:gmatch("%d+") do assert.are_not.same("0", g, "still in group 0: " .. groups) end
    assert.are.same({ "tcp://127.0.0.1:" .. port }, d.addresses("echo"))
    assert.are.same("ping\n", echo_roundtrip(port, "ping\n"))
    -- The control socket, opened as root, still answers.
    local code, out, err = d.ctl("status")
    assert.are.same(0, code, out .. err)
    assert.are.same(0, d.stop())
  end)

  it("with no such user: exits 2 before serving", function()
    local port = free_port()
    local code, _, err = dh.run(('user = "nosuchuser"\n' .. echo_config(('"tcp://127.0.0.1:%d"'):format(port))))
    assert.are.same(2, code, err)
    assert.is_truthy(err:find('user "nosuchuser": no such user', 1, true), err)
    assert.is_falsy(err:find("started", 1, true), err)
    assert.is_false(accepts(port))
  end)
end)
