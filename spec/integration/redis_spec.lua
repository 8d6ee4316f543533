-- net.Redis (lua/luanet/redis) against redis-server (the Debian package),
-- started in the foreground on a free loopback port with no persistence,
-- by PID, and stopped at the end: plain, with a password, and with TLS.
-- Servers that never answer or answer garbage are TcpServers in this
-- process.
local helper = require "helper"
local core = require "support.core_helper"
local dh = require "support.daemon_helper"
local net = helper.net

local redis_server = require "support.redis_server"

-- Starts redis-server with extra arguments; returns the port and a stop
-- function.
local function start_redis(dir, extra, tls_only) return redis_server.start(dir, extra, tls_only) end

-- An in-process server: answer(sock, data) is called with what each
-- connection sends (nil: accept and never answer). Returns the port and
-- the server (closed by the caller).
local function fake_server(answer)
  local server, port = helper.listen()
  local socks = {}
  server.newConnection:connect(function()
    while server:hasPendingConnections() do
      local s = server:nextPendingConnection()
      socks[#socks + 1] = s
      if answer then s.readyRead:connect(function() answer(s, s:readAll()) end) end
    end
  end)
  return port, server, socks
end

local function close_all(server, socks)
  server:close()
  for _, s in ipairs(socks) do s:abort() end
end

local maybe_describe = redis_server.installed() and describe or pending

maybe_describe("net.Redis against redis-server", function()
  local dir, port, stop, url
  setup(function()
    dir = dh.tmpdir()
    port, stop = start_redis(dir)
    url = ("redis://127.0.0.1:%d"):format(port)
  end)
  teardown(function()
    if stop then stop() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  -- Runs fn(r) in a task with a fresh connection (url, or the options).
  local function with(fn, what)
    helper.in_task(function()
      local r, err, kind = net.Redis.connect(what or url)
      assert(r, tostring(err) .. " " .. tostring(kind))
      local ok, e = pcall(fn, r)
      r:close()
      if not ok then error(e, 0) end
    end)
  end

  it("gives status, bulk and integer replies to SET, GET, INCR and DEL", function()
    with(function(r)
      assert.are.same("OK", r:call("SET", "t:k", "v"))
      assert.are.same("v", r:call("GET", "t:k"))
      assert.are.same(1, r:call("INCR", "t:n"))
      assert.are.same("integer", math.type(r:call("INCR", "t:n")))
      assert.are.same(2, r:call("DEL", "t:k", "t:n"))
      assert.are.same("PONG", r:call("PING"))
    end)
  end)

  it("gives arrays as sequences: LPUSH/LRANGE, HGETALL, and nested with false for nil", function()
    with(function(r)
      r:call("DEL", "t:l", "t:h")
      assert.are.same(3, r:call("LPUSH", "t:l", "a", "b", "c"))
      assert.are.same({ "c", "b", "a" }, r:call("LRANGE", "t:l", 0, -1))
      assert.are.same(2, r:call("HSET", "t:h", "name", "ana", "age", 42))
      local flat = r:call("HGETALL", "t:h")
      local h = {}
      for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
      assert.are.same({ name = "ana", age = "42" }, h)
      assert.are.same({ "ana", false, "42" }, r:call("HMGET", "t:h", "name", "nope", "age"))
      assert.are.same({}, r:call("LRANGE", "t:none", 0, -1))
    end)
  end)

  it("keeps binary values with NUL, CR LF and every byte intact, small and 3 MB", function()
    with(function(r)
      local bytes = {}
      for b = 0, 255 do bytes[#bytes + 1] = string.char(b) end
      local v = "a\0b\r\nc\r\n$3\r\n*1\r\n" .. table.concat(bytes)
      assert.are.same("OK", r:call("SET", "t:bin\0\r\n", v))
      assert.is_true(r:call("GET", "t:bin\0\r\n") == v)
      local big = ("0123456789abcdef\0\r\n"):rep(3 * 1024 * 1024 // 19)
      assert.are.same("OK", r:call("SET", "t:big", big))
      assert.is_true(r:call("GET", "t:big") == big)
      assert.are.same(#big, r:call("STRLEN", "t:big"))
    end)
  end)

  it("turns numbers into decimal text: integers as they are, floats as the shortest that reads back", function()
    with(function(r)
      r:call("SET", "t:f", 0.1)
      assert.are.same("0.1", r:call("GET", "t:f"))
      r:call("SET", "t:f", 2.0)
      assert.are.same("2", r:call("GET", "t:f"))
      assert.are.same("2.5", r:call("INCRBYFLOAT", "t:f", 0.5))
      assert.are.same(1, r:call("EXPIRE", "t:f", 100.0))
      assert.are.same("OK", r:call("SET", "t:i", math.maxinteger))
      assert.are.same(tostring(math.maxinteger), r:call("GET", "t:i"))
    end)
  end)

  it("returns nil alone for a nil reply", function()
    with(function(r)
      local v, err, kind = r:call("GET", "t:missing")
      assert.are.same({ nil, nil, nil }, { v, err, kind })
      assert.are.same(1, select("#", r:call("GET", "t:missing")))
    end)
  end)

  it("returns nil, the server's text and kind redis for an error reply, and the connection goes on", function()
    with(function(r)
      r:call("SET", "t:s", "x")
      local v, err, kind = r:call("LPUSH", "t:s", "y")
      assert.is_nil(v)
      assert.are.same("redis", kind)
      assert.matches("^WRONGTYPE ", err)
      local _, err2, kind2 = r:call("NOSUCHCOMMAND", 1)
      assert.are.same("redis", kind2)
      assert.matches("^ERR unknown command", err2)
      assert.are.same("x", r:call("GET", "t:s"))
    end)
  end)

  it("runs a pipeline of 100 commands in order, a failing one's slot holding its error", function()
    with(function(r)
      r:call("DEL", "t:p", "t:ps")
      r:call("SET", "t:ps", "s")
      local cmds = {}
      for i = 1, 100 do cmds[i] = { "RPUSH", "t:p", i } end
      cmds[50] = { "LPUSH", "t:ps", "x" }
      cmds[60] = { "GET", "t:nothing" }
      local replies = assert(r:pipeline(cmds))
      assert.are.same(100, #replies)
      assert.are.same(1, replies[1])
      assert.are.same(49, replies[49])
      assert.are.same("redis", replies[50].kind)
      assert.matches("^WRONGTYPE ", replies[50].err)
      assert.are.same(50, replies[51])
      assert.are.same(false, replies[60])
      assert.are.same(98, replies[100])
      assert.are.same(98, r:call("LLEN", "t:p"))
      assert.are.same({}, r:pipeline({}))
    end)
  end)

  it("raises for arguments that are neither strings nor numbers, naming them", function()
    with(function(r)
      assert.has_error(function() r:call("SET", "k", true) end,
                       "bad argument #3 to 'call' (string or number expected, got boolean)")
      assert.has_error(function() r:call() end, "bad argument #1 to 'call' (an empty command)")
      assert.has_error(function() r:pipeline({ { "GET", "a" }, "GET b" }) end,
                       "bad argument #1 to 'pipeline' (command 2: table expected, got string)")
      assert.are.same("PONG", r:call("PING"))
    end)
  end)

  it("selects the database of the options and of the URL's path", function()
    helper.in_task(function()
      local r3 = assert(net.Redis.connect{ host = "127.0.0.1", port = port, db = 3 })
      local r0 = assert(net.Redis.connect(url))
      local u5 = assert(net.Redis.connect(url .. "/5"))
      r3:call("SET", "t:db", "three")
      u5:call("SET", "t:db", "five")
      r0:call("DEL", "t:db")
      assert.are.same("three", r3:call("GET", "t:db"))
      assert.are.same("five", u5:call("GET", "t:db"))
      assert.is_nil(r0:call("GET", "t:db"))
      assert.are.same(("luanet.Redis (127.0.0.1:%d db 5)"):format(port), tostring(u5))
      r3:close(); r0:close(); u5:close()
      local _, err, kind = net.Redis.connect{ port = port, db = 99 }
      assert.are.same({ "ERR DB index is out of range", "redis" }, { err, kind })
    end)
  end)

  it("fails with kind url for what is not a redis URL", function()
    helper.in_task(function()
      assert.are.same({ nil, "not a redis:// URL: 127.0.0.1", "url" }, { net.Redis.connect("127.0.0.1") })
      assert.are.same({ nil, "unsupported scheme http (redis and rediss only)", "url" },
                      { net.Redis.connect("http://127.0.0.1") })
      assert.are.same({ nil, "bad database in redis://h/x (/N expected)", "url" }, { net.Redis.connect("redis://h/x") })
      assert.are.same({ nil, "bad port in redis://h:70000", "url" }, { net.Redis.connect("redis://h:70000") })
      assert.has_error(function() net.Redis.connect{ port = "6379" } end,
                       "bad option 'port' to 'connect' (number expected, got string)")
    end)
  end)

  it("reads user, password, host, port and database from URLs", function()
    assert.are.same({ host = "::1", port = 7000, username = "default", password = "p@ss:w/rd", db = 2, tls = true },
                    net.Redis.parse_url("rediss://default:p%40ss%3aw%2frd@[::1]:7000/2"))
    assert.are.same({ host = "h", port = 6379, password = "x@y", db = 0 }, net.Redis.parse_url("redis://:x@y@h"))
    assert.are.same({ host = "h", port = 6379, db = 0 }, net.Redis.parse_url("redis://h/"))
  end)

  it("fails with kind network when nothing listens", function()
    helper.in_task(function()
      local free = core.free_port()
      local r, err, kind = net.Redis.connect(("redis://127.0.0.1:%d"):format(free))
      assert.is_nil(r)
      assert.are.same({ ("127.0.0.1:%d: Connection refused"):format(free), "network" }, { err, kind })
    end)
  end)

  it("fails with kind timeout when a server accepts and never answers, and the next call fails at once", function()
    local fport, server, socks = fake_server(nil)
    finally(function() close_all(server, socks) end)
    helper.in_task(function()
      local r = assert(net.Redis.connect{ port = fport, timeout = 300 })
      local t0 = net.clock()
      local v, err, kind = r:call("PING")
      local took = net.clock() - t0
      assert.is_nil(v)
      assert.are.same({ ("127.0.0.1:%d: timed out waiting for a reply"):format(fport), "timeout" }, { err, kind })
      assert.is_true(took >= 280 and took < 2000, tostring(took))
      t0 = net.clock()
      local v2, err2, kind2 = r:call("PING")
      assert.is_nil(v2)
      assert.are.same("network", kind2)
      assert.matches("the connection is closed %(timed out waiting for a reply%)", err2)
      assert.is_true(net.clock() - t0 < 50)
      assert.are.same("luanet.Redis (closed)", tostring(r))
      -- AUTH on connect is a reply too.
      local _, err3, kind3 = net.Redis.connect{ port = fport, timeout = 200, password = "x" }
      assert.are.same({ ("127.0.0.1:%d: timed out waiting for a reply"):format(fport), "timeout" }, { err3, kind3 })
    end)
  end)

  for _, case in ipairs({
    { "an unknown type byte", "garbage\r\n", "malformed reply: unexpected 'g' at 1 %(not a RESP2 reply%)" },
    { "an absurd bulk length", "$99999999999\r\n", "malformed reply: a bulk length of 99999999999 at 1 is over the limit" },
    { "an absurd array length", "*999999999\r\n", "malformed reply: an array length of 999999999 at 1 is over the limit" },
    { "a bulk string without its CRLF", "$3\r\nabcXY", "malformed reply: no CRLF after the bulk string at 1" },
  }) do
    it(("closes the connection with kind protocol on %s, and the next call fails cleanly"):format(case[1]), function()
      local fport, server, socks = fake_server(function(s) s:write(case[2]) end)
      finally(function() close_all(server, socks) end)
      helper.in_task(function()
        local r = assert(net.Redis.connect{ port = fport, timeout = 2000 })
        local t0 = net.clock()
        local v, err, kind = r:call("PING")
        assert.is_nil(v)
        assert.are.same("protocol", kind)
        assert.matches("^127%.0%.0%.1:%d+: " .. case[3], err)
        local _, err2, kind2 = r:call("PING")
        assert.are.same("network", kind2)
        assert.matches("the connection is closed %(malformed reply", err2)
        assert.is_true(net.clock() - t0 < 1000)
      end)
    end)
  end

  it("fails with kind network when the server closes before the reply ends", function()
    local fport, server, socks = fake_server(function(s) s:write("$10\r\nabc") s:disconnectFromHost() end)
    finally(function() close_all(server, socks) end)
    helper.in_task(function()
      local r = assert(net.Redis.connect{ port = fport, timeout = 2000 })
      local _, err, kind = r:call("GET", "x")
      assert.are.same({ ("127.0.0.1:%d: the connection closed before the reply ended"):format(fport), "network" },
                      { err, kind })
    end)
  end)

  it("lets tasks share one connection, each waiting its turn", function()
    helper.in_task(function()
      local r = assert(net.Redis.connect(url))
      local got, done = {}, 0
      for i = 1, 5 do
        net.spawn(function()
          got[i] = r:call("ECHO", "n" .. i)
          done = done + 1
        end)
      end
      while done < 5 do net.sleep(5) end
      assert.are.same({ "n1", "n2", "n3", "n4", "n5" }, got)
      r:close()
    end)
  end)

  describe("a pool", function()
    it("serves 10 concurrent tasks with 2 connections, reusing them", function()
      helper.in_task(function()
        local pool = assert(net.Redis.pool(url, { size = 2 }))
        pool:call("DEL", "t:pool")
        local ids, answers, done = {}, {}, 0
        for i = 1, 10 do
          net.spawn(function()
            local id = assert(pool:call("CLIENT", "ID"))
            ids[id] = true
            local rep = assert(pool:pipeline{ { "INCR", "t:pool" }, { "ECHO", "task" .. i } })
            answers[i] = rep[2]
            done = done + 1
          end)
        end
        local deadline = net.clock() + 5000
        while done < 10 and net.clock() < deadline do net.sleep(5) end
        assert.are.same(10, done)
        for i = 1, 10 do assert.are.same("task" .. i, answers[i]) end
        assert.are.same("10", pool:call("GET", "t:pool"))
        local n = 0
        for _ in pairs(ids) do n = n + 1 end
        assert.are.same(2, n)
        assert.are.same(("luanet.RedisPool (127.0.0.1:%d db 0, 2 idle, 0 busy of 2)"):format(port), tostring(pool))
        -- Later calls take the idle ones: no new client id.
        for _ = 1, 5 do assert.is_true(ids[pool:call("CLIENT", "ID")]) end
        pool:close()
      end)
    end)

    it("drops a connection that failed and opens a new one", function()
      helper.in_task(function()
        local pool = assert(net.Redis.pool({ url = url, timeout = 200 }, { size = 1 }))
        local first = pool:call("CLIENT", "ID")
        local _, _, kind = pool:call("BLPOP", "t:never", 2)   -- longer than the time-out
        assert.are.same("timeout", kind)
        assert.are.same(("luanet.RedisPool (127.0.0.1:%d db 0, 0 idle, 0 busy of 1)"):format(port), tostring(pool))
        local second = pool:call("CLIENT", "ID")
        assert.is_true(second > first)
        -- A connection the server closed while idle is not handed out.
        local admin = assert(net.Redis.connect(url))
        assert.are.same(1, admin:call("CLIENT", "KILL", "ID", second))
        admin:close()
        net.sleep(50)
        local third = pool:call("CLIENT", "ID")
        assert.is_true(third > second)
        pool:close()
      end)
    end)

    it("makes a call wait for a busy connection, within the call's time-out", function()
      helper.in_task(function()
        local pool = assert(net.Redis.pool({ url = url, timeout = 3000 }, { size = 1 }))
        local first
        net.spawn(function() first = { pool:call("BLPOP", "t:wait", 1) } end)   -- holds it for 1 s
        net.sleep(20)
        local t0 = net.clock()
        assert.are.same("PONG", pool:call("PING"))
        assert.is_true(net.clock() - t0 >= 500)
        assert.are.same({}, first)   -- BLPOP's nil, before the PING had the connection
        -- The wait and the reply share one time-out: a call that waits
        -- 180 ms for the connection has 20 ms left for its reply.
        local slow = assert(net.Redis.pool({ url = url, timeout = 200 }, { size = 1 }))
        net.spawn(function() slow:call("BLPOP", "t:wait", 1) end)
        net.sleep(20)
        t0 = net.clock()
        local _, err, kind = slow:call("BLPOP", "t:wait", 1)
        assert.are.same({ ("127.0.0.1:%d: timed out waiting for a reply"):format(port), "timeout" }, { err, kind })
        assert.is_true(net.clock() - t0 >= 150 and net.clock() - t0 < 500, tostring(net.clock() - t0))
        pool:close()
        slow:close()
      end)
    end)

    it("fails with kind network when nothing listens, and tries again on the next call", function()
      helper.in_task(function()
        local free = core.free_port()
        local pool = assert(net.Redis.pool(("redis://127.0.0.1:%d"):format(free), { size = 1 }))
        for _ = 1, 2 do
          local _, err, kind = pool:call("PING")
          assert.are.same({ ("127.0.0.1:%d: Connection refused"):format(free), "network" }, { err, kind })
        end
        assert.are.same({ nil, "not a redis:// URL: x", "url" }, { net.Redis.pool("x") })
        pool:close()
      end)
    end)
  end)
end)

maybe_describe("net.Redis with a password", function()
  local dir, port, stop
  setup(function()
    dir = dh.tmpdir()
    port, stop = start_redis(dir, { "--requirepass", "s3cr:t@" })
  end)
  teardown(function()
    if stop then stop() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("authenticates with the password alone, and as the default user, in options and URLs", function()
    helper.in_task(function()
      for _, what in ipairs({
        { port = port, password = "s3cr:t@" },
        { port = port, username = "default", password = "s3cr:t@" },
        ("redis://:s3cr%%3at%%40@127.0.0.1:%d"):format(port),
        ("redis://default:s3cr:t@@127.0.0.1:%d/1"):format(port),
      }) do
        local r, err = net.Redis.connect(what)
        assert(r, err)
        assert.are.same("PONG", r:call("PING"))
        r:close()
      end
    end)
  end)

  it("fails with kind redis on a wrong password, and on a command without one", function()
    helper.in_task(function()
      local r, err, kind = net.Redis.connect{ port = port, password = "wrong" }
      assert.is_nil(r)
      assert.are.same("redis", kind)
      assert.matches("^WRONGPASS", err)
      local _, err2, kind2 = net.Redis.connect{ port = port, username = "nobody", password = "s3cr:t@" }
      assert.are.same("redis", kind2)
      assert.matches("^WRONGPASS", err2)
      local bare = assert(net.Redis.connect{ port = port })
      local _, err3, kind3 = bare:call("GET", "x")
      assert.are.same("redis", kind3)
      assert.matches("^NOAUTH", err3)
      bare:close()
    end)
  end)
end)

maybe_describe("net.Redis over TLS (rediss://)", function()
  local dir, port, stop, pki
  setup(function()
    dir = dh.tmpdir()
    pki = require("support.pki").make()
    port, stop = start_redis(dir, { "--tls-cert-file", pki.localhost.cert, "--tls-key-file", pki.localhost.key,
                                    "--tls-ca-cert-file", pki.ca, "--tls-auth-clients", "no" }, true)
  end)
  teardown(function()
    if stop then stop() end
    if pki then pki.cleanup() end
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("talks to a server whose certificate the given CA signed", function()
    helper.in_task(function()
      local r = assert(net.Redis.connect{ url = ("rediss://localhost:%d/2"):format(port),
                                          tls = { caCertificates = pki.ca } })
      assert.are.same("OK", r:call("SET", "t:tls", "a\0b"))
      assert.are.same("a\0b", r:call("GET", "t:tls"))
      r:close()
      local pool = assert(net.Redis.pool({ url = ("rediss://localhost:%d"):format(port),
                                           tls = { caCertificates = pki.ca } }, { size = 1 }))
      assert.are.same("PONG", pool:call("PING"))
      pool:close()
    end)
  end)

  it("verifies by default: a CA not in the system store fails with kind tls", function()
    helper.in_task(function()
      local r, err, kind = net.Redis.connect(("rediss://localhost:%d"):format(port))
      assert.is_nil(r)
      assert.are.same("tls", kind)
      assert.is_string(err)
    end)
  end)
end)
