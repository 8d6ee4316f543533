-- spec/integration/daemon_config_spec.lua: `luanetd -c FILE` as a user meets
-- it: config mistakes refused with "FILE:LINE: message" and exit 2, --check,
-- and services on every kind of listener (named tcp://, udp://, unix:,
-- [::1]) answering over real sockets, with their options, and addresses
-- already in use. Traffic stays on 127.0.0.1, ::1 and Unix sockets in
-- temporary directories; services listen on port 0 unless a spec needs a
-- port that something else holds.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"

-- The configs below that must be refused name their own control socket on
-- line 1 (relative: against the config's directory), so that the line
-- numbers in the expected messages are those of the text as written.
local CONTROL = 'control = "ctl.sock"\n'

-- luanetd -c on a config (and further arguments): exit code, stdout,
-- stderr, and the "FILE:LINE: " prefix of a message about line `line`.
local function refuse(text, line, files, ...)
  local code, out, err, conf = dh.run(text, files, ...)
  return code, out, err, ("%s:%d: "):format(conf, line)
end

-- A line from a TcpSocket: connects to host:port, sends `line`, returns
-- the first line that comes back (nil and why on a time-out or an error).
local function ask(host, port, line)
  local sock = net.TcpSocket()
  local failed
  sock.errorOccurred:connect(function() failed = sock:errorString() end)
  sock:connectToHost(host, port)
  if not sock:waitForConnected(helper.TIMEOUT) then
    sock:abort()
    return nil, failed or "no connection"
  end
  if line then sock:write(line) end
  helper.run(helper.TIMEOUT, function() return sock:canReadLine() or failed end)
  local reply = sock:canReadLine() and sock:readLine() or nil
  sock:abort()
  return reply, failed
end

-- A service body: answers every line on `server` with prefix .. line.
local LINE_SERVER = [[
local function answer(server, prefix)
  server.newConnection:connect(function()
    local client = server:nextPendingConnection()
    client.readyRead:connect(function()
      while client:canReadLine() do client:write(prefix .. client:readLine()) end
    end)
  end)
end
]]

-- The same over a Unix socket, with python3 (a TcpSocket cannot connect to
-- a path): exit code, the reply line, stderr.
local function unix_ask(path, line)
  return helper.execute(PYTHON .. " -c " .. helper.quote([[
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
got = b""
while not got.endswith(b"\n"):
    chunk = s.recv(100)
    if not chunk:
        break
    got += chunk
sys.stdout.write(got.decode())
]]) .. " " .. helper.quote_all(path, line))
end

-- Whether path is a socket file (io.open cannot open one).
local function is_socket(path)
  return os.execute("test -S " .. helper.quote(path)) == true
end

describe("luanetd -c FILE", function()

  describe("refuses a bad config with FILE:LINE: message and exit 2", function()
    it("a syntax error, at its line", function()
      local code, out, err, at = refuse(CONTROL .. 'workers = 1\nworkers = = 3\n', 3)
      assert.are.same(2, code)
      assert.are.same("", out)
      assert.are.same(at .. "unexpected symbol near '='\n", err)
    end)

    it("an unknown top-level setting, at the line of the assignment", function()
      local code, _, err, at = refuse(CONTROL .. 'workers = 2\nwrokers = 3\n', 3)
      assert.are.same(2, code)
      assert.are.same(at .. "unknown setting 'wrokers' (settings: workers, log, control, metrics, "
        .. "user, resolver, shared, shutdown_timeout)\n", err)
    end)

    it("an unknown setting assigned a multi-line table, at the line of the assignment", function()
      local code, _, err, at = refuse(CONTROL .. [[
resolvr = {
  servers = { "127.0.0.1" },
}
]], 2)
      assert.are.same(2, code)
      assert.are.same(at .. "unknown setting 'resolvr' (settings: workers, log, control, metrics, "
        .. "user, resolver, shared, shutdown_timeout)\n", err)
    end)

    it("an unknown key inside a multi-line service block, at the key's own line", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" {
  script = "web.lua",
  listne = "tcp://127.0.0.1:0",
}
]], 4)
      assert.are.same(2, code)
      assert.are.same(at .. "service \"web\": unknown key 'listne'\n", err)
    end)

    it("an unknown key after an option of the same name, at the key's own line", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" {
  options = { port = 8080 },
  script = "web.lua",
  port = 7000,
}
]], 5)
      assert.are.same(2, code)
      assert.are.same(at .. "service \"web\": unknown key 'port'\n", err)
    end)

    it("workers as a string, at its line", function()
      local code, _, err, at = refuse(CONTROL .. 'log = { level = "info" }\nworkers = "3"\n', 3)
      assert.are.same(2, code)
      assert.are.same(at .. 'workers must be a whole number from 1 to 1024, or "auto"\n', err)
    end)

    it("listen as a number, at the line of listen", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" {
  script = "web.lua",
  listen = 5,
}
]], 4)
      assert.are.same(2, code)
      assert.are.same(at .. 'service "web": listen must be a table or string, not a number\n', err)
    end)

    it("a listener host that is a name, not an IP address", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" {
  script = "web.lua",
  listen = { "tcp://127.0.0.1:0", "tcp://localhost:80" },
}
]], 4)
      assert.are.same(2, code)
      assert.are.same(at .. 'service "web": bad listener "tcp://localhost:80": '
        .. '"localhost" is not an IP address\n', err)
    end)

    it("a service name declared twice, at the second declaration", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" { script = "a.lua" }

service "web" { script = "b.lua" }
]], 4)
      assert.are.same(2, code)
      assert.are.same(at .. 'service "web" is already declared on line 2\n', err)
    end)

    it("a service name declared again inside its own block (found by fuzz_config)", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "web" {
  script = "a.lua",
  service "web" { script = "b.lua" },
}
]], 2)
      assert.are.same(2, code)
      assert.are.same(at .. 'service "web" is already declared on line 4\n', err)
    end)

    it("a function among a service's options, at the line of options", function()
      local code, _, err, at = refuse(CONTROL .. [[
service "greeter" {
  script = "greeter.lua",
  options = { greeting = "hi", on_connect = function() end },
}
]], 4)
      assert.are.same(2, code)
      assert.are.same(at .. 'service "greeter": options.on_connect: a function cannot be '
        .. 'handed to a script (plain data only)\n', err)
    end)
  end)

  describe("a missing script", function()
    it("is not a config error: the daemon runs and logs that the service cannot start", function()
      local d = dh.start('service "ghost" { script = "missing.lua", listen = "tcp://127.0.0.1:0" }\n',
                         nil, { wait = {} })
      finally(d.cleanup)
      local msg = d.wait_log("error ghost failed to start: ([^\n]*)")
      assert.are.same(("cannot open %s/missing.lua: No such file or directory; trying again in 1 s")
        :format(d.dir), msg)
      assert.is_nil(d.proc.exit_code())
      assert.are.same(0, d.stop())
    end)

    it("is reported by --check with the service's line, exit 2", function()
      local code, out, err, at = refuse(CONTROL .. '\nservice "ghost" { script = "missing.lua" }\n', 3,
        nil, "--check")
      assert.are.same(2, code)
      assert.are.same("", out)
      local dir = at:match("^(.*)/[^/]*$")
      assert.are.same(at .. ('service "ghost": cannot open %s/missing.lua: No such file or directory\n')
        :format(dir), err)
    end)
  end)

  describe("--check", function()
    it("accepts etc/luanetd.conf: exit 0 and the OK line", function()
      -- The spec file's copies (helper.copy_of) of the config, the scripts it
      -- runs (../scripts/) and the roots it serves, checked from their
      -- directory: a script being edited meanwhile is not what is checked.
      for _, what in ipairs({ "scripts", "www", "ftp" }) do helper.copy_of(what) end
      local root = helper.copy_of("etc"):match("^(.*)/etc$")
      local luanetd = helper.LUANETD:sub(1, 1) == "/" and helper.LUANETD or os.getenv("PWD") .. "/" .. helper.LUANETD
      local code, out, err = helper.execute("sh -c " .. helper.quote(("cd %s && exec %s"):format(helper.quote(root),
        helper.quote_all(luanetd, "-c", "etc/luanetd.conf", "--check"))))
      assert.are.same(0, code)
      assert.are.same("etc/luanetd.conf: 6 services, config and scripts OK\n", out)
      assert.are.same("", err)
    end)

    it("names the script's file and line for a syntax error in it, exit 2", function()
      local code, out, err, conf = dh.run(CONTROL .. [[
service "ok" { script = "ok.lua" }
service "broken" {
  script = "broken.lua",
}
]], { ["ok.lua"] = "local service = ...\n", ["broken.lua"] = "local service = ...\n\nlocal x = = 1\n" },
        "--check")
      assert.are.same(2, code)
      assert.are.same("", out)
      local dir = conf:match("^(.*)/[^/]*$")
      assert.are.same(('%s:3: service "broken": %s/broken.lua:3: unexpected symbol near \'=\'\n')
        :format(conf, dir), err)
    end)
  end)

  describe("services", function()
    it("answer differently on the named listeners main and admin", function()
      local d = dh.start([[
service "split" {
  script = "split.lua",
  listen = { main = "tcp://127.0.0.1:0", admin = "tcp://127.0.0.1:0" },
}
]], { ["split.lua"] = "local service = ...\n" .. LINE_SERVER .. [[
answer(service.listeners.main, "main: ")
answer(service.listeners.admin, "admin: ")
service.log.info(("ports main=%d admin=%d"):format(
  service.listeners.main:serverPort(), service.listeners.admin:serverPort()))
]] })
      finally(d.cleanup)
      local main, admin = d.wait_log("info split ports main=(%d+) admin=(%d+)")
      main, admin = math.tointeger(tonumber(main)), math.tointeger(tonumber(admin))
      assert.are_not.same(main, admin)
      -- The "started" line lists both, and they are the ports the script has.
      local listed = { d.port("split", 1), d.port("split", 2) }
      table.sort(listed)
      local have = { main, admin }
      table.sort(have)
      assert.are.same(have, listed)
      assert.are.same({ "main: hello\n" }, { ask("127.0.0.1", main, "hello\n") })
      assert.are.same({ "admin: status\n" }, { ask("127.0.0.1", admin, "status\n") })
    end)

    it("runs the script relative to the config's directory and names it in the started line", function()
      local d = dh.start('service "rel" { script = "sub/../rel.lua", listen = "tcp://127.0.0.1:0" }\n',
        { ["rel.lua"] = "local service = ...\n" .. LINE_SERVER .. 'answer(service.listeners[1], "")\n' })
      finally(d.cleanup)
      assert.are.same(("%s/rel.lua"):format(d.dir),
        d.log():match("info rel started (%S+), listening on tcp://127%.0%.0%.1:%d+\n"))
    end)

    it("echo datagrams on a udp:// listener", function()
      local d = dh.start('service "udpecho" { script = "udpecho.lua", listen = "udp://127.0.0.1:0" }\n',
        { ["udpecho.lua"] = [[
local service = ...
local sock = service.listeners[1]
sock.readyRead:connect(function()
  while sock:hasPendingDatagrams() do
    local data, host, port = sock:readDatagram()
    sock:writeDatagram(data, host, port)
  end
end)
]] })
      local client = net.UdpSocket()
      finally(function() client:abort(); d.cleanup() end)
      local port = d.port("udpecho")
      assert.is_not_nil(port, d.log())
      assert.are.same(("udp://127.0.0.1:%d"):format(port), d.addresses("udpecho")[1])
      assert.is_true(client:bind("127.0.0.1", 0), client:errorString())
      assert.are.same(4, client:writeDatagram("ping", "127.0.0.1", port))
      helper.run(helper.TIMEOUT, function() return client:hasPendingDatagrams() end)
      local data, host, from = client:readDatagram()
      assert.are.same({ "ping", "127.0.0.1", port }, { data, host and host:toString(), from })
    end)

    it("echo lines on a unix: listener, and the socket file is gone after the daemon stops", function()
      local d = dh.start('service "unixecho" { script = "unixecho.lua", listen = "unix:echo.sock" }\n',
        { ["unixecho.lua"] = "local service = ...\n" .. LINE_SERVER .. 'answer(service.listeners[1], "")\n' })
      finally(d.cleanup)
      local path = d.dir .. "/echo.sock"
      assert.are.same({ "unix:echo.sock" }, d.addresses("unixecho"))
      assert.is_true(is_socket(path))
      assert.are.same({ 0, "over unix\n", "" }, { unix_ask(path, "over unix\n") })
      assert.are.same(0, d.stop())
      assert.is_false(is_socket(path))
    end)

    it("echo on tcp://[::1]:0", function()
      local d = dh.start('service "v6" { script = "v6.lua", listen = "tcp://[::1]:0" }\n',
        { ["v6.lua"] = "local service = ...\n" .. LINE_SERVER .. 'answer(service.listeners[1], "")\n' })
      finally(d.cleanup)
      local port = d.port("v6")
      assert.are.same({ ("tcp://[::1]:%d"):format(port) }, d.addresses("v6"))
      assert.are.same({ "over ipv6\n" }, { ask("::1", port, "over ipv6\n") })
    end)

    it("get their options: service.options.greeting is what the config says", function()
      local d = dh.start([[
service "greeter" {
  script = "greeter.lua",
  listen = "tcp://127.0.0.1:0",
  options = { greeting = "hi", extra = { 1, 2, 3 } },
}
]], { ["greeter.lua"] = [[
local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client:write(("%s (%d extras)\n"):format(service.options.greeting, #service.options.extra))
end)
]] })
      finally(d.cleanup)
      assert.are.same({ "hi (3 extras)\n" }, { ask("127.0.0.1", d.port("greeter")) })
    end)
  end)

  describe("an address in use", function()
    local function config_on(port)
      return CONTROL .. ([[

service "taken" {
  script = "taken.lua",
  listen = { "tcp://127.0.0.1:0", "tcp://127.0.0.1:%d" },
}
]]):format(port)
    end
    local FILES = { ["taken.lua"] = "local service = ...\n" }

    it("is refused at start with the service and address, exit 2", function()
      local holder, port = helper.listen("127.0.0.1")
      finally(function() holder:close() end)
      local code, out, err, at = refuse(config_on(port), 3, FILES)
      assert.are.same(2, code)
      assert.are.same("", out)
      assert.are.same(at .. ('service "taken": tcp://127.0.0.1:%d: Address already in use\n'):format(port), err)
    end)

    it("is refused also when the holder set SO_REUSEPORT", function()
      local holder = helper.spawn(PYTHON .. " -c " .. helper.quote([[
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(30)
]]))
      finally(holder.cleanup)
      local port = math.tointeger(tonumber(holder.wait_line("^(%d+)\n")))
      assert.is_not_nil(port, holder.stderr())
      local code, out, err, at = refuse(config_on(port), 3, FILES)
      assert.are.same(2, code)
      assert.are.same("", out)
      assert.are.same(at .. ('service "taken": tcp://127.0.0.1:%d: Address already in use\n'):format(port), err)
    end)

    it("is refused without leaving the unix: socket files the daemon made", function()
      local holder, port = helper.listen("127.0.0.1")
      local dir, conf = dh.prepare(CONTROL .. ([[
service "first" { script = "taken.lua", listen = "unix:first.sock" }
service "taken" { script = "taken.lua", listen = { "unix:second.sock", "tcp://127.0.0.1:%d" } }
]]):format(port), FILES)
      -- busted keeps one finally per it: the last one set.
      finally(function() holder:close(); os.execute("rm -rf " .. helper.quote(dir)) end)
      local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, "-c", conf))
      assert.are.same({ 2, "" }, { code, out })
      assert.are.same(('%s:3: service "taken": tcp://127.0.0.1:%d: Address already in use\n')
        :format(conf, port), err)
      assert.are.same({ false, false }, { is_socket(dir .. "/first.sock"), is_socket(dir .. "/second.sock") })
    end)

    it("on a unix: path where another daemon accepts is refused, exit 2", function()
      local first = dh.start('service "first" { script = "first.lua", listen = "unix:echo.sock" }\n',
        { ["first.lua"] = "local service = ...\n" .. LINE_SERVER .. 'answer(service.listeners[1], "")\n' })
      finally(first.cleanup)
      local path = first.dir .. "/echo.sock"
      local code, _, err, at = refuse(CONTROL .. ('service "second" { script = "taken.lua", listen = "unix:%s" }\n')
        :format(path), 2, FILES)
      assert.are.same(2, code)
      assert.are.same(at .. ('service "second": unix:%s: address already in use (something accepts '
        .. 'connections there)\n'):format(path), err)
      -- The first daemon still has its socket and answers on it.
      assert.are.same({ 0, "still here\n", "" }, { unix_ask(path, "still here\n") })
    end)

    it("on a unix: path left by a process that is gone is taken over", function()
      local dir = dh.tmpdir()
      local path = dir .. "/stale.sock"
      local made = helper.execute(PYTHON .. " -c " .. helper.quote([[
import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[1])
]]) .. " " .. helper.quote(path))
      assert.are.same({ 0, true }, { made, is_socket(path) })
      local d = dh.start(('service "heir" { script = "heir.lua", listen = "unix:%s" }\n'):format(path),
        { ["heir.lua"] = "local service = ...\n" .. LINE_SERVER .. 'answer(service.listeners[1], "heir: ")\n' })
      finally(function() d.cleanup(); os.execute("rm -rf " .. helper.quote(dir)) end)
      assert.are.same({ 0, "heir: hello\n", "" }, { unix_ask(path, "hello\n") })
      assert.are.same(0, d.stop())
      assert.is_false(is_socket(path))
    end)
  end)
end)
