-- TcpServer over real sockets on 127.0.0.1 and ::1, port 0.
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net

-- Starts n clients connecting to port; returns them.
local function clients(n, port, addr)
  local list = {}
  for i = 1, n do
    list[i] = net.TcpSocket()
    list[i]:connectToHost(addr or "127.0.0.1", port)
  end
  return list
end

local function all_connected(list)
  for _, c in ipairs(list) do
    if c:state() ~= "ConnectedState" then return false end
  end
  return true
end

describe("TcpServer", function()

  describe("listening", function()
    it("listens on 127.0.0.1 with a port picked by the system", function()
      local server = net.TcpServer()
      finally(function() core.close(server) end)
      assert.are.same(false, server:isListening())
      assert.are.same(true, server:listen("127.0.0.1", 0))
      assert.are.same(true, server:isListening())
      assert.are.same(true, server:serverPort() > 0)
      assert.are.same("127.0.0.1", server:serverAddress():toString())
    end)

    it("listens on ::1", function()
      local server = net.TcpServer()
      finally(function() core.close(server) end)
      assert.are.same(true, server:listen("::1", 0))
      assert.are.same("::1", server:serverAddress():toString())
      assert.are.same("IPv6Protocol", server:serverAddress():protocol())
    end)

    it("listens on a HostAddress", function()
      local server = net.TcpServer()
      finally(function() core.close(server) end)
      assert.are.same(true, server:listen(net.HostAddress("LocalHostIPv6"), 0))
      assert.are.same("::1", server:serverAddress():toString())
    end)

    it("accepts IPv4 and IPv6 clients when listening on Any", function()
      local server = net.TcpServer()
      local c4, c6 = net.TcpSocket(), net.TcpSocket()
      finally(function() core.close(c4, c6, server) end)
      assert.are.same(true, server:listen("Any", 0))
      local port = server:serverPort()
      c4:connectToHost("127.0.0.1", port)
      c6:connectToHost("::1", port)
      assert.are.same(true, c4:waitForConnected(helper.TIMEOUT))
      assert.are.same(true, c6:waitForConnected(helper.TIMEOUT))
    end)

    it("accepts IPv4 and IPv6 clients when listen is given no address", function()
      local server = net.TcpServer()
      local c4, c6 = net.TcpSocket(), net.TcpSocket()
      finally(function() core.close(c4, c6, server) end)
      assert.are.same(true, server:listen())
      c4:connectToHost("127.0.0.1", server:serverPort())
      c6:connectToHost("::1", server:serverPort())
      assert.are.same(true, c4:waitForConnected(helper.TIMEOUT))
      assert.are.same(true, c6:waitForConnected(helper.TIMEOUT))
    end)

    it("accepts only IPv6 clients when listening on AnyIPv6", function()
      local server = net.TcpServer()
      local c4, c6 = net.TcpSocket(), net.TcpSocket()
      finally(function() core.close(c4, c6, server) end)
      assert.are.same(true, server:listen("AnyIPv6", 0))
      c6:connectToHost("::1", server:serverPort())
      assert.are.same(true, c6:waitForConnected(helper.TIMEOUT))
      c4:connectToHost("127.0.0.1", server:serverPort())
      assert.are.same(false, c4:waitForConnected(helper.TIMEOUT))
      assert.are.same("ConnectionRefusedError", c4:error())
    end)

    it("lets 127.0.0.1 and ::1 listen on the same port", function()
      local v4, port = helper.listen("127.0.0.1")
      local v6 = net.TcpServer()
      finally(function() core.close(v4, v6) end)
      assert.are.same(true, v6:listen("::1", port))
      assert.are.same(port, v6:serverPort())
    end)

    it("fails to listen on a port in use with AddressInUseError", function()
      local first, port = helper.listen()
      local second = net.TcpServer()
      finally(function() core.close(first, second) end)
      assert.are.same(false, second:listen("127.0.0.1", port))
      assert.are.same(false, second:isListening())
      assert.are.same("AddressInUseError", second:serverError())
      assert.are.same("The bound address is already in use", second:errorString())
    end)

    it("stops listening on close, so connects are refused", function()
      local server, port = helper.listen()
      local sock = net.TcpSocket()
      finally(function() core.close(sock, server) end)
      server:close()
      assert.are.same(false, server:isListening())
      assert.are.same(0, server:serverPort())
      sock:connectToHost("127.0.0.1", port)
      assert.are.same(false, sock:waitForConnected(helper.TIMEOUT))
      assert.are.same("ConnectionRefusedError", sock:error())
    end)

    it("can listen again after close", function()
      local server = helper.listen()
      finally(function() core.close(server) end)
      server:close()
      assert.are.same(true, server:listen("127.0.0.1", 0))
      assert.are.same(true, server:isListening())
    end)

    it("raises a clear error for an address that is not one", function()
      local server = net.TcpServer()
      local ok, err = pcall(function() server:listen("not an address", 0) end)
      assert.are.same(false, ok)
      assert.are.same(true, err:find("bad argument #1 to 'listen'", 1, true) ~= nil)
      ok, err = pcall(function() server:listen("127.0.0.1", 65536) end)
      assert.are.same(false, ok)
      assert.are.same(true, err:find("bad argument #2 to 'listen' (port out of range)", 1, true) ~= nil)
    end)
  end)

  describe("accepting", function()
    it("emits newConnection once per connection", function()
      local server, port = helper.listen()
      local list = clients(3, port)
      finally(function() core.close(list, server) end)
      local seen = helper.expect()
      server.newConnection:connect(seen)
      helper.run(helper.TIMEOUT, function() return seen.count >= 3 end)
      helper.drive(20)
      assert.are.same(3, seen.count)
    end)

    it("hands out pending connections in order, then nil", function()
      local server, port = helper.listen()
      local list = {}
      finally(function() core.close(list, server) end)
      for i = 1, 3 do
        list[i] = net.TcpSocket()
        list[i]:connectToHost("127.0.0.1", port)
        assert.are.same(true, list[i]:waitForConnected(helper.TIMEOUT))
        assert.are.same(true, server:waitForNewConnection(helper.TIMEOUT))
      end
      local accepted = {}
      for i = 1, 3 do
        assert.are.same(true, server:hasPendingConnections())
        accepted[i] = server:nextPendingConnection()
        list[#list + 1] = accepted[i]
        assert.are.same(list[i]:localPort(), accepted[i]:peerPort())
        assert.are.same("ConnectedState", accepted[i]:state())
      end
      assert.are.same(false, server:hasPendingConnections())
      assert.are.same(nil, server:nextPendingConnection())
    end)

    it("does not accept while paused and accepts the waiting clients on resume", function()
      local server, port = helper.listen()
      local list = {}
      finally(function() core.close(list, server) end)
      local seen = helper.expect()
      server.newConnection:connect(seen)
      server:pauseAccepting()
      list = clients(3, port)
      helper.drive(150)
      assert.are.same(0, seen.count)
      assert.are.same(false, server:hasPendingConnections())
      server:resumeAccepting()
      helper.run(helper.TIMEOUT, function() return seen.count == 3 end)
      assert.are.same(3, seen.count)
    end)

    it("stops accepting while the pending queue is full and drops none", function()
      local server, port = helper.listen()
      local list, accepted = {}, {}
      finally(function() core.close(list, accepted, server) end)
      server:setMaxPendingConnections(2)
      assert.are.same(2, server:maxPendingConnections())
      local seen = helper.expect()
      server.newConnection:connect(seen)
      list = clients(6, port)
      helper.run(helper.TIMEOUT, function() return seen.count >= 2 end)
      helper.drive(150)
      assert.are.same(2, seen.count)
      -- Taking them one at a time lets the rest in, in turn.
      helper.run(helper.TIMEOUT, function()
        while server:hasPendingConnections() do
          accepted[#accepted + 1] = server:nextPendingConnection()
        end
        return #accepted == 6
      end)
      assert.are.same(6, #accepted)
      assert.are.same(6, seen.count)
      -- Every client reaches its own accepted socket.
      local by_port = {}
      for _, a in ipairs(accepted) do by_port[a:peerPort()] = a end
      local echoed = 0
      for i, c in ipairs(list) do
        assert.are.same("ConnectedState", c:state())
        c:write("client " .. i)
        local a = by_port[c:localPort()]
        if a and core.read_exactly(a, #("client " .. i)) == "client " .. i then
          echoed = echoed + 1
        end
      end
      assert.are.same(6, echoed)
    end)

    it("returns true from waitForNewConnection when a client connects", function()
      local server, port = helper.listen()
      local sock = net.TcpSocket()
      finally(function() core.close(sock, server) end)
      net.Timer.singleShot(20, function() sock:connectToHost("127.0.0.1", port) end)
      assert.are.same(true, server:waitForNewConnection(helper.TIMEOUT))
      assert.are.same(true, server:hasPendingConnections())
      core.close(server:nextPendingConnection())
    end)

    it("returns false from waitForNewConnection after its time-out", function()
      local server = helper.listen()
      finally(function() core.close(server) end)
      local t0 = helper.now_ms()
      assert.are.same(false, server:waitForNewConnection(100))
      assert.are.same(true, helper.now_ms() - t0 >= 80)
    end)

    it("sets SocketTimeoutError when waitForNewConnection times out, as Qt does", function()
      local server = helper.listen()
      finally(function() core.close(server) end)
      assert.are.same(false, server:waitForNewConnection(50))
      assert.are.same("SocketTimeoutError", server:serverError())
      assert.are.same("Network operation timed out", server:errorString())
    end)

    it("returns true from waitForNewConnection at once when one is pending", function()
      local server, port = helper.listen()
      local sock = net.TcpSocket()
      finally(function() core.close(sock, server) end)
      sock:connectToHost("127.0.0.1", port)
      helper.run(helper.TIMEOUT, function() return server:hasPendingConnections() end)
      assert.are.same(true, server:waitForNewConnection(0))
      core.close(server:nextPendingConnection())
    end)

    it("waits for a new connection in a task while the loop goes on", function()
      local server, port = helper.listen()
      local sock = net.TcpSocket()
      local result, accepted
      finally(function() core.close(sock, accepted, server) end)
      net.spawn(function()
        local ok = server:waitForNewConnection(helper.TIMEOUT)
        accepted = server:nextPendingConnection()
        result = { ok, accepted:peerPort() }
      end)
      assert.are.same(nil, result)
      sock:connectToHost("127.0.0.1", port)
      helper.run(helper.TIMEOUT, function() return result ~= nil end)
      assert.are.same({ true, sock:localPort() }, result)
    end)

    it("releases a task waiting for a connection when the server closes", function()
      local server = helper.listen()
      finally(function() core.close(server) end)
      local result
      net.spawn(function() result = { server:waitForNewConnection(3000) } end)
      server:close()
      helper.run(1000, function() return result ~= nil end)
      assert.are.same({ false }, result)
    end)

    it("serves 1,000 concurrent connections with 2,000+ descriptors open", function()
      local N = 1000
      local server, port, accepted = core.echo_server(N)
      local list = {}
      finally(function() core.close(list, accepted, server) end)
      local fds_before = core.fd_count()
      list = clients(N, port)
      helper.run(20000, function() return #accepted == N and all_connected(list) end)
      assert.are.same(N, #accepted)
      assert.are.same(true, all_connected(list))
      local peak = core.fd_count()
      -- Both ends of every connection are ours: at least 2N descriptors are
      -- open at once (counting from fds_before can under-count when an
      -- earlier spec's garbage is collected meanwhile).
      assert.are.same(true, peak >= 2 * N, ("%d fds open, %d before"):format(peak, fds_before))
      local replies = 0
      for i, c in ipairs(list) do
        local msg = ("hello %d\n"):format(i)
        c.readyRead:connect(function()
          if c:canReadLine() then
            if c:readLine() == msg then replies = replies + 1 end
          end
        end)
        c:write(msg)
      end
      helper.run(20000, function() return replies == N end)
      assert.are.same(N, replies)
      for _, c in ipairs(list) do c:close() end
      helper.run(helper.TIMEOUT, function()
        for _, a in ipairs(accepted) do
          if a:state() ~= "UnconnectedState" then return false end
        end
        return true
      end)
      for _, a in ipairs(accepted) do
        assert.are.same("UnconnectedState", a:state())
      end
    end)
  end)
end)
