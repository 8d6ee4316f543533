-- spec/integration/daemon_workers_spec.lua: `workers = N` in luanetd's
-- config as an operator meets it: N worker threads, each with its own loop
-- and its own Lua state of every service, TCP listeners shared with
-- SO_REUSEPORT. Connections are spread over the workers (ctl status counts
-- them per worker), service.worker tells a state which worker runs it,
-- reloads switch every worker or none, shutdown drains every worker, and a
-- udp:// listener lives in worker 1 only. Every peer is an in-process
-- TcpSocket or UdpSocket on 127.0.0.1.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local start, on_cleanup = kit.start, kit.on_cleanup
local client, connect, stop = kit.client, kit.connect, kit.stop
local status, line_of, pattern_escape = dh.status, dh.line_of, dh.pattern_escape
local net = helper.net

local line_client = require("support.line_client").connect

-- A line service: answers each line with "VERSION:WORKER:line". On
-- `stopping` it says "bye" to every client it holds and logs how many.
local WHO = [[
local service = ...
local VERSION = "v1"
local server = service.listeners[1]
local clients = {}
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  clients[client] = true
  client.disconnected:connect(function() clients[client] = nil end)
  client.readyRead:connect(function()
    while client:canReadLine() do
      local line = client:readLine():gsub("\r?\n$", "")
      client:write(("%s:%d:%s\n"):format(VERSION, service.worker, line))
    end
  end)
end)
service.stopping:connect(function()
  local n = 0
  for client in pairs(clients) do
    client:write("bye\n")
    n = n + 1
  end
  service.log.info(("worker %d said bye to %d clients"):format(service.worker, n))
end)
]]

-- WHO with another VERSION.
local function who_version(v)
  return (WHO:gsub('local VERSION = "v1"', ('local VERSION = %q'):format(v), 1))
end




-- One service "who" running `script` (default WHO) in 2 workers.
local function start_who(script, extra)
  return start(([[
workers = 2
shutdown_timeout = 8000
service "who" { script = "who.lua", listen = "tcp://127.0.0.1:0" }
%s]]):format(extra or ""), { ["who.lua"] = script or WHO })
end





-- Opens n connections at once, sends each "<line><i>" once all are
-- connected and waits for every first reply. Returns the clients.
local function open_many(port, n, line, ms)
  local cs = {}
  for i = 1, n do cs[i] = client(port) end
  helper.run(ms or 10000, function()
    for _, c in ipairs(cs) do
      if not c.connected and not c.error then return false end
    end
    return true
  end)
  for i, c in ipairs(cs) do
    assert.is_true(c.connected, ("connection %d of %d: %s"):format(i, n, tostring(c.error_string)))
    c.sock:write(("%s%d\n"):format(line or "hi", i))
  end
  helper.run(ms or 10000, function()
    for _, c in ipairs(cs) do
      if #c.lines == 0 and not c.closed then return false end
    end
    return true
  end)
  return cs
end

-- "VERSION:WORKER:line" -> VERSION, WORKER, line.
local function parse_reply(reply)
  local v, w, rest = tostring(reply):match("^([^:]+):(%d+):(.*)$")
  return v, tonumber(w), rest
end

-- Which workers answered the first lines of `cs` and with which versions:
-- { [worker] = count }, { [version] = count }; raises on a missing or
-- malformed reply.
local function tally(cs)
  local workers, versions = {}, {}
  for i, c in ipairs(cs) do
    local v, w = parse_reply(c.lines[1])
    assert.is_not_nil(w, ("connection %d got %s"):format(i, tostring(c.lines[1])))
    workers[w] = (workers[w] or 0) + 1
    versions[v] = (versions[v] or 0) + 1
  end
  return workers, versions
end

-- One open connection on each of workers 1 and 2, from batches of 16
-- (the others are closed): { [1] = c, [2] = c }.
local function one_per_worker(port)
  local held = {}
  for _ = 1, 4 do
    for _, c in ipairs(open_many(port, 16, "x")) do
      local _, w = parse_reply(c.lines[1])
      if w and not held[w] then held[w] = c else c.sock:abort() end
    end
    if held[1] and held[2] then break end
  end
  assert.is_not_nil(held[1], "no connection of 64 went to worker 1")
  assert.is_not_nil(held[2], "no connection of 64 went to worker 2")
  return held
end


-- The `per_worker=a,b` field of a status line, as numbers (nil if none).
local function per_worker(fields)
  local last = fields[#fields]
  local list = last and last:match("^per_worker=([%d,]+)$")
  if not list then return nil end
  local out = {}
  for n in list:gmatch("%d+") do out[#out + 1] = tonumber(n) end
  return out
end

local decode_block = require("support.fortune_block").decode

describe("luanetd with workers = 2", function()
  after_each(function()
    kit.cleanup()
  end)

  it("serves every one of 250 concurrent fortune clients a valid block, then closes", function()
    local d = start(([[
workers = 2
service "fortune" { script = %q, listen = "tcp://127.0.0.1:0" }
]]):format(dh.SCRIPTS .. "/fortune_server.lua"), {})
    assert.is_not_nil(d.log():find("info luanetd " .. d.conf .. ": 1 service, 2 workers, control socket "
      .. d.control, 1, true), d.log())
    local started = ("info fortune started %s in 2 workers, listening on tcp://127%%.0%%.0%%.1:%%d+\n")
      :format(pattern_escape(dh.SCRIPTS .. "/fortune_server.lua"))
    assert.is_truthy(d.log():find(started), d.log())

    local port = d.port("fortune")
    local N = 250
    local results = {}
    local socks = {}
    on_cleanup(function() for _, s in ipairs(socks) do s:abort() end end)
    for i = 1, N do
      local sock = net.TcpSocket()
      local r = { data = "", closed = false }
      sock.readyRead:connect(function() r.data = r.data .. sock:readAll() end)
      sock.disconnected:connect(function() r.closed = true end)
      sock.errorOccurred:connect(function(e)
        if e ~= "RemoteHostClosedError" then r.error = sock:errorString() end
      end)
      sock:connectToHost("127.0.0.1", port)
      socks[i], results[i] = sock, r
    end
    local function done()
      for _, r in ipairs(results) do
        if not r.closed and not r.error then return false end
      end
      return true
    end
    helper.run(15000, done)
    local bad = {}
    for i, r in ipairs(results) do
      local text, why = decode_block(r.data)
      if r.error then
        bad[#bad + 1] = ("client %d: %s"):format(i, r.error)
      elseif not r.closed then
        bad[#bad + 1] = ("client %d: still open with %d bytes"):format(i, #r.data)
      elseif not text then
        bad[#bad + 1] = ("client %d: %s"):format(i, why)
      end
    end
    assert.are.same({}, bad)
    assert.are.same(0, stop(d), d.log())
  end)

  it("spreads 400 held connections over both workers, counted per worker by ctl status", function()
    local d = start(([[
workers = 2
service "echo" { script = %q, listen = "tcp://127.0.0.1:0" }
]]):format(dh.SCRIPTS .. "/echo_server.lua"), {})
    local N = 400
    local cs = open_many(d.port("echo"), N, "ping ")
    for i, c in ipairs(cs) do
      assert.are.same(("ping %d"):format(i), c.lines[1])
    end

    local s = status(d)
    assert.is_not_nil(s.echo, s.raw)
    assert.are.same("connections=" .. N, s.echo[4], s.raw)
    local pw = per_worker(s.echo)
    assert.is_not_nil(pw, s.raw)
    assert.are.same(2, #pw, s.raw)
    assert.are.same(N, pw[1] + pw[2], s.raw)
    for w = 1, 2 do
      assert.is_true(pw[w] >= N / 4 and pw[w] <= N * 3 / 4,
        ("worker %d holds %d of %d connections: %s"):format(w, pw[w], N, s.raw))
    end

    -- Half of them close: the counts follow.
    for i = 1, N, 2 do cs[i].sock:abort() end
    local ok = helper.run(5000, function()
      local p = per_worker(status(d).echo)
      return p and p[1] + p[2] == N // 2
    end)
    assert.is_true(ok, status(d).raw)
    assert.are.same("connections=" .. N // 2, status(d).echo[4])
    for i = 2, N, 2 do cs[i].sock:abort() end
    assert.is_true(helper.run(5000, function() return status(d).echo[4] == "connections=0" end), status(d).raw)
    assert.are.same({ 0, 0 }, per_worker(status(d).echo))
    assert.are.same(0, stop(d), d.log())
  end)

  it("tells each state its worker: service.worker is 1 in one worker and 2 in the other", function()
    local d = start_who()
    local workers, versions = tally(open_many(d.port("who"), 64, "w"))
    assert.are.same({ v1 = 64 }, versions)
    assert.are.same({ 1, 2 }, (function()
      local seen = {}
      for w in pairs(workers) do seen[#seen + 1] = w end
      table.sort(seen)
      return seen
    end)())
    assert.are.same(0, stop(d), d.log())
  end)

  it('runs "auto" workers: one per core', function()
    local p = io.popen("getconf _NPROCESSORS_ONLN")   -- online cores, as the daemon counts them
    local cores = tonumber(p:read("l"))
    p:close()
    local d = start(([[
workers = "auto"
service "echo" { script = %q, listen = "tcp://127.0.0.1:0" }
]]):format(dh.SCRIPTS .. "/echo_server.lua"), {})
    local unit = cores == 1 and "worker" or "workers"
    assert.is_not_nil(d.log():find((": 1 service, %d %s, control socket "):format(cores, unit), 1, true), d.log())
    local c = connect(d.port("echo"))
    assert.are.same("hello", c.ask("hello"))
    assert.are.same(0, stop(d), d.log())
  end)

  describe("reload", function()
    it("keeps held connections on both workers on the old code; new ones get the new code in both", function()
      local d = start_who()
      local port = d.port("who")
      local held = one_per_worker(port)

      dh.write(d.dir .. "/who.lua", who_version("v2"))
      local code, out, err = d.ctl("reload", "who")
      assert.are.same(0, code, err)
      assert.are.same("who: reloaded\n", out)
      assert.is_not_nil(d.wait_log("info who reloaded [^\n]*who%.lua %(generation 2%)"), d.log())

      -- Both old states got `stopping`.
      for w = 1, 2 do
        assert.is_true(held[w].wait_line("bye"), table.concat(held[w].lines, "\\n"))
        assert.is_not_nil(d.wait_log(("info who worker %d said bye to 1 clients"):format(w)), d.log())
      end
      assert.are.same("v1:1:old", held[1].ask("old"))
      assert.are.same("v1:2:old", held[2].ask("old"))

      local workers, versions = tally(open_many(port, 40, "new"))
      assert.are.same({ v2 = 40 }, versions)
      assert.is_true((workers[1] or 0) > 0 and (workers[2] or 0) > 0,
        ("new connections by worker: 1=%d 2=%d"):format(workers[1] or 0, workers[2] or 0))

      local s = status(d)
      assert.are.same("reloads=1", s.who[6], s.raw)
      assert.is_not_nil(s.draining.who, s.raw)
      local draining_workers = {}
      for _, line in ipairs(s.draining.who) do
        local w = line:match("^who\tdraining\tgeneration=1\tconnections=1\ttasks=%d+\tlua=%d+KiB\tworker=(%d)$")
        assert.is_not_nil(w, line)
        draining_workers[#draining_workers + 1] = tonumber(w)
      end
      table.sort(draining_workers)
      assert.are.same({ 1, 2 }, draining_workers, s.raw)

      -- The old code still answers; then its clients leave and it goes.
      assert.are.same("v1:1:still", held[1].ask("still"))
      assert.are.same("v1:2:still", held[2].ask("still"))
      held[1].sock:disconnectFromHost()
      assert.is_true(helper.run(3000, function()
        local dr = status(d).draining.who
        return dr ~= nil and #dr == 1 and dr[1]:find("\tworker=2$") ~= nil
      end), status(d).raw)
      held[2].sock:disconnectFromHost()
      assert.is_true(helper.run(3000, function() return status(d).draining.who == nil end), status(d).raw)
      assert.are.same(0, stop(d), d.log())
    end)

    it("that fails, a syntax error or a start error in one worker only, leaves both workers on the old code", function()
      local d = start_who()
      local port = d.port("who")
      local held = one_per_worker(port)
      local file = d.dir .. "/who.lua"

      dh.write(file, "local service = ...\nlocal x = = 1\n")
      local code, out, err = d.ctl("reload", "who")
      assert.are.same(1, code, err)
      assert.are.same("", out)
      assert.is_truthy(err:find("^luanetd ctl: who: " .. pattern_escape(file) .. ":2: "), err)
      assert.is_not_nil(d.wait_log("error who reload failed[^\n]*who%.lua:2:"), d.log())

      local workers, versions = tally(open_many(port, 32, "a"))
      assert.are.same({ v1 = 32 }, versions)
      assert.is_true((workers[1] or 0) > 0 and (workers[2] or 0) > 0)

      -- The new code starts in worker 1 but raises in worker 2: neither switches.
      dh.write(file, who_version("v2"):gsub("local server =", 'if service.worker == 2 then error("worker 2 says no") end\n%0', 1))
      code, out, err = d.ctl("reload", "who")
      assert.are.same(1, code, err)
      assert.are.same("", out)
      assert.is_truthy(err:find("^luanetd ctl: who: " .. pattern_escape(file) .. ":3: worker 2 says no"), err)

      workers, versions = tally(open_many(port, 32, "b"))
      assert.are.same({ v1 = 32 }, versions)
      assert.is_true((workers[1] or 0) > 0 and (workers[2] or 0) > 0)
      assert.are.same("v1:1:held", held[1].ask("held"))
      assert.are.same("v1:2:held", held[2].ask("held"))
      -- Nobody was told to stop: no "bye" in between.
      for w = 1, 2 do
        assert.are.same(2, #held[w].lines, table.concat(held[w].lines, "\\n"))
      end
      local s = status(d)
      assert.are.same("running", s.who[2])
      assert.are.same("reloads=0", s.who[6])
      assert.is_nil(s.draining.who, s.raw)

      -- Fixed: the next reload switches both.
      dh.write(file, who_version("v3"))
      code, out, err = d.ctl("reload", "who")
      assert.are.same(0, code, err)
      workers, versions = tally(open_many(port, 32, "c"))
      assert.are.same({ v3 = 32 }, versions)
      assert.is_true((workers[1] or 0) > 0 and (workers[2] or 0) > 0)
      assert.are.same("v1:1:last", held[1].ask("last"))
      assert.are.same("v1:2:last", held[2].ask("last"))
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("shutdown", function()
    it("on SIGTERM drains both workers: their connections finish, and it exits 0 once the last closes", function()
      local d = start_who()
      local port = d.port("who")
      local held = one_per_worker(port)

      d.kill("TERM")
      assert.is_not_nil(d.wait_log("info luanetd SIGTERM: stopping; 2 connections open, waiting up to 8000 ms"), d.log())
      for w = 1, 2 do
        assert.is_true(held[w].wait_line("bye"), table.concat(held[w].lines, "\\n"))
        assert.is_not_nil(d.wait_log(("info who worker %d said bye to 1 clients"):format(w)), d.log())
      end
      assert.are.same("v1:1:last", held[1].ask("last"))
      assert.are.same("v1:2:last", held[2].ask("last"))

      -- No worker takes a new connection.
      for _ = 1, 4 do
        local late = client(port)
        helper.run(2000, function() return late.error ~= nil or #late.lines > 0 end)
        assert.are.same("ConnectionRefusedError", late.error,
          ("a connect after SIGTERM: connected=%s, error=%s"):format(tostring(late.connected), tostring(late.error_string)))
        late.sock:abort()
      end

      -- One worker's client leaves: the other still holds the daemon.
      held[1].sock:disconnectFromHost()
      helper.drive(500)
      assert.is_nil(d.proc.exit_code(), d.log())
      assert.are.same("v1:2:still", held[2].ask("still"))

      local t0 = helper.now_ms()
      held[2].sock:disconnectFromHost()
      local code = d.proc.wait(5000)
      local took = helper.now_ms() - t0
      assert.are.same(0, code, d.log())
      assert.is_true(took < 3000, ("exited %d ms after the last client closed"):format(took))
      assert.is_truthy(d.log():find("\n[^\n]* info luanetd stopped\n$"), d.log())
      assert.is_nil(d.log():find("shutdown_timeout", 1, true), d.log())
    end)
  end)

  describe("a udp:// listener", function()
    it("is a UdpSocket in worker 1, which answers every datagram, and false in worker 2", function()
      local d = start([[
workers = 2
service "dgram" { script = "dgram.lua", listen = { "tcp://127.0.0.1:0", "udp://127.0.0.1:0" } }
]], { ["dgram.lua"] = [[
local service = ...
local tcp, udp = service.listeners[1], service.listeners[2]
local seen = udp == false and "false" or tostring(udp):match("^luanet%.UdpSocket") or tostring(udp)
service.log.info(("worker %d sees %s"):format(service.worker, seen))
tcp.newConnection:connect(function()
  local client = tcp:nextPendingConnection()
  client:write(("%d:%s\n"):format(service.worker, seen))
  client:disconnectFromHost()
end)
if udp then
  udp.readyRead:connect(function()
    while udp:hasPendingDatagrams() do
      local data, host, port = udp:readDatagram()
      udp:writeDatagram(("%d:%s"):format(service.worker, data), host, port)
    end
  end)
end
]] })
      assert.is_not_nil(d.wait_log("info dgram worker 1 sees luanet%.UdpSocket\n"), d.log())
      assert.is_not_nil(d.wait_log("info dgram worker 2 sees false\n"), d.log())
      local addrs = d.addresses("dgram")
      assert.are.same(2, #addrs, d.log())
      local udp_port = math.tointeger(tonumber(addrs[2]:match("^udp://127%.0%.0%.1:(%d+)$")))
      assert.is_not_nil(udp_port, addrs[2])

      -- Over TCP both workers answer, each with what it sees.
      local cs = open_many(d.port("dgram"), 32, "")
      local seen = {}
      for _, c in ipairs(cs) do seen[c.lines[1] or "nothing"] = true end
      assert.are.same({ ["1:luanet.UdpSocket"] = true, ["2:false"] = true }, seen)

      -- Datagrams from 8 sockets (8 source ports), 5 each: all answered by worker 1.
      local socks, got = {}, {}
      on_cleanup(function() for _, s in ipairs(socks) do s:abort() end end)
      for i = 1, 8 do
        local sock = net.UdpSocket()
        assert(sock:bind("127.0.0.1", 0), sock:errorString())
        sock.readyRead:connect(function()
          while sock:hasPendingDatagrams() do got[#got + 1] = (sock:readDatagram()) end
        end)
        socks[i] = sock
        for j = 1, 5 do sock:writeDatagram(("d%d.%d"):format(i, j), "127.0.0.1", udp_port) end
      end
      helper.run(5000, function() return #got >= 40 end)
      table.sort(got)
      local want = {}
      for i = 1, 8 do for j = 1, 5 do want[#want + 1] = ("1:d%d.%d"):format(i, j) end end
      table.sort(want)
      assert.are.same(want, got)
      assert.are.same(0, stop(d), d.log())
    end)
  end)
end)
