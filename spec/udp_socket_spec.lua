-- UdpSocket over real sockets: 127.0.0.1, ::1, 127.255.255.255 and IPv4
-- multicast on lo, and IPv6 multicast over a veth pair between two network
-- namespaces that the spec makes and removes. Nothing leaves the machine:
-- never 255.255.255.255, never a real interface. Every loop run is bounded.
local helper = require "helper"
local net = helper.net

local T = helper.TIMEOUT

-- Aborts every UdpSocket given (tables element by element); for `finally`.
local function close_all(...)
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    local mt = getmetatable(o)
    if type(mt) == "table" and mt.__name == "luanet.UdpSocket" then
      o:abort()
    elseif type(o) == "table" then
      for _, v in pairs(o) do close_all(v) end
    end
  end
end

-- A socket bound to addr (127.0.0.1 by default), any free port.
local function bound(addr, port, mode)
  local sock = net.UdpSocket()
  assert(sock:bind(addr or "127.0.0.1", port or 0, mode), sock:errorString())
  return sock, sock:localPort()
end

-- Reads every datagram in readyRead into a list of { data, host, port }.
local function collector(sock)
  local got = { emits = 0 }
  sock.readyRead:connect(function()
    got.emits = got.emits + 1
    while sock:hasPendingDatagrams() do
      local data, host, port = sock:readDatagram()
      got[#got + 1] = { data = data, host = host:toString(), port = port }
    end
  end)
  return got
end

local function recorder(sock)
  local list = {}
  sock.stateChanged:connect(function(st) list[#list + 1] = "state:" .. st end)
  sock.errorOccurred:connect(function(e) list[#list + 1] = "error:" .. e end)
  return list
end

local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  return ok == true
end

describe("UdpSocket", function()

  describe("binding", function()
    it("binds to 127.0.0.1 port 0 and reports BoundState, address and port", function()
      local sock = net.UdpSocket()
      finally(function() close_all(sock) end)
      local list = recorder(sock)
      assert.are.same("UnconnectedState", sock:state())
      assert.are.same(true, sock:bind("127.0.0.1", 0))
      assert.are.same("BoundState", sock:state())
      assert.are.same("127.0.0.1", sock:localAddress():toString())
      assert.is_true(sock:localPort() > 0)
      assert.are.same({ "state:BoundState" }, list)
      assert.truthy(tostring(sock):match("^luanet%.UdpSocket %(BoundState 127%.0%.0%.1:%d+%)$"))
    end)

    it("binds to Any by default and receives over IPv4 and IPv6 alike", function()
      local recv = net.UdpSocket()
      local s4, s6 = bound("127.0.0.1"), bound("::1")
      finally(function() close_all(recv, s4, s6) end)
      assert.are.same(true, recv:bind())
      local port = recv:localPort()
      local got = collector(recv)
      assert.are.same(7, s4:writeDatagram("over v4", "127.0.0.1", port))
      assert.are.same(7, s6:writeDatagram("over v6", net.HostAddress("::1"), port))
      helper.run(T, function() return #got >= 2 end)
      table.sort(got, function(a, b) return a.data < b.data end)
      assert.are.same({
        { data = "over v4", host = "127.0.0.1", port = s4:localPort() },
        { data = "over v6", host = "::1", port = s6:localPort() },
      }, { got[1], got[2] })
    end)

    it("takes bind(port, mode) as Qt's overload does", function()
      local a = net.UdpSocket()
      finally(function() close_all(a) end)
      assert.are.same(true, a:bind(0, "ShareAddress"))
      assert.are.same("BoundState", a:state())
    end)

    it("fails with AddressInUseError on a taken port without ShareAddress", function()
      local a, port = bound("127.0.0.1")
      local b = net.UdpSocket()
      finally(function() close_all(a, b) end)
      local list = recorder(b)
      assert.are.same(false, b:bind("127.0.0.1", port))
      assert.are.same("AddressInUseError", b:error())
      assert.are.same("The bound address is already in use", b:errorString())
      assert.are.same("UnconnectedState", b:state())
      assert.are.same({ "error:AddressInUseError" }, list)
      assert.are.same(false, b:bind("127.0.0.1", port, "DontShareAddress"))
      assert.are.same(false, b:bind("127.0.0.1", port, "ReuseAddressHint"))
    end)

    it("shares a port between sockets bound with ShareAddress", function()
      local a, port = bound("127.0.0.1", 0, "ShareAddress")
      local b = net.UdpSocket()
      local c = net.UdpSocket()
      finally(function() close_all(a, b, c) end)
      assert.are.same(true, b:bind("127.0.0.1", port, { "ShareAddress", "ReuseAddressHint" }))
      assert.are.same(true, c:bind("127.0.0.1", port, "ShareAddress | ReuseAddressHint"))
    end)

    it("refuses a second bind while bound, without raising", function()
      local a = bound()
      finally(function() close_all(a) end)
      assert.are.same(false, a:bind("127.0.0.1", 0))
      assert.are.same("OperationError", a:error())
      assert.are.same("BoundState", a:state())
    end)

    it("has Qt's names as constants on the class", function()
      local U = net.UdpSocket
      assert.are.same("ShareAddress", U.ShareAddress)
      assert.are.same("DontShareAddress", U.DontShareAddress)
      assert.are.same("ReuseAddressHint", U.ReuseAddressHint)
      assert.are.same("DefaultForPlatform", U.DefaultForPlatform)
      assert.are.same("BoundState", U.BoundState)
      assert.are.same("UnconnectedState", U.UnconnectedState)
      assert.are.same("DatagramTooLargeError", U.DatagramTooLargeError)
      assert.are.same("ConnectionRefusedError", U.ConnectionRefusedError)
      assert.are.same("MulticastTtlOption", U.MulticastTtlOption)
    end)
  end)

  describe("datagrams", function()
    it("goes both ways between two sockets on 127.0.0.1", function()
      local a, pa = bound("127.0.0.1")
      local b, pb = bound("127.0.0.1")
      finally(function() close_all(a, b) end)
      local got_a, got_b = collector(a), collector(b)
      assert.are.same(4, a:writeDatagram("ping", "127.0.0.1", pb))
      helper.run(T, function() return #got_b > 0 end)
      assert.are.same(4, b:writeDatagram("pong", got_b[1].host, got_b[1].port))
      helper.run(T, function() return #got_a > 0 end)
      assert.are.same({ data = "ping", host = "127.0.0.1", port = pa }, got_b[1])
      assert.are.same({ data = "pong", host = "127.0.0.1", port = pb }, got_a[1])
    end)

    it("goes both ways between two sockets on ::1", function()
      local a, pa = bound("::1")
      local b, pb = bound("::1")
      finally(function() close_all(a, b) end)
      local got_a, got_b = collector(a), collector(b)
      assert.are.same(4, a:writeDatagram("ping", "::1", pb))
      helper.run(T, function() return #got_b > 0 end)
      assert.are.same(4, b:writeDatagram("pong", net.HostAddress(got_b[1].host), got_b[1].port))
      helper.run(T, function() return #got_a > 0 end)
      assert.are.same({ data = "ping", host = "::1", port = pa }, got_b[1])
      assert.are.same({ data = "pong", host = "::1", port = pb }, got_a[1])
    end)

    it("emits readyRead for a batch, then every datagram is readable with its sender", function()
      local recv, port = bound("127.0.0.1")
      local s1, s2 = bound("127.0.0.1"), bound("127.0.0.1")
      finally(function() close_all(recv, s1, s2) end)
      local got = collector(recv)
      for i = 1, 5 do
        s1:writeDatagram("one-" .. i, "127.0.0.1", port)
        s2:writeDatagram("two-" .. i, "127.0.0.1", port)
      end
      helper.run(T, function() return #got >= 10 end)
      assert.are.same(10, #got)
      assert.is_true(got.emits >= 1 and got.emits <= 10)
      local from = { [s1:localPort()] = "one", [s2:localPort()] = "two" }
      local seen = { one = 0, two = 0 }
      for _, d in ipairs(got) do
        local who = from[d.port]
        assert.are.same("127.0.0.1", d.host)
        seen[who] = seen[who] + 1
        assert.are.same(who .. "-" .. seen[who], d.data)   -- in order per sender
      end
    end)

    it("reports pendingDatagramSize and hasPendingDatagrams, and cuts to maxSize", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      assert.are.same(-1, recv:pendingDatagramSize())
      assert.are.same(false, recv:hasPendingDatagrams())
      s:writeDatagram("0123456789", "127.0.0.1", port)
      s:writeDatagram("abc", "127.0.0.1", port)
      assert.is_true(recv:waitForReadyRead(T))
      assert.are.same(true, recv:hasPendingDatagrams())
      assert.are.same(10, recv:pendingDatagramSize())
      local data, host, from = recv:readDatagram(4)
      assert.are.same({ "0123", "127.0.0.1", s:localPort() }, { data, host:toString(), from })
      assert.are.same(3, recv:pendingDatagramSize())   -- the rest of the first is gone
      assert.are.same("abc", (recv:readDatagram()))
      assert.are.same(-1, recv:pendingDatagramSize())
    end)

    it("carries an empty datagram", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      assert.are.same(0, s:writeDatagram("", "127.0.0.1", port))
      assert.is_true(recv:waitForReadyRead(T))
      assert.are.same(true, recv:hasPendingDatagrams())
      assert.are.same(0, recv:pendingDatagramSize())
      local data, host, from = recv:readDatagram()
      assert.are.same({ "", "127.0.0.1", s:localPort() }, { data, host:toString(), from })
    end)

    it("carries binary data and a 65,507-byte datagram intact", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      local bin = "\0\1\2\255\0x"
      local big = ("0123456789abcdef"):rep(4094) .. "xyz"   -- 65,507 bytes
      assert.are.same(#bin, s:writeDatagram(bin, "127.0.0.1", port))
      assert.are.same(65507, s:writeDatagram(big, "127.0.0.1", port), s:errorString())
      local got = collector(recv)
      helper.run(T, function() return #got >= 2 end)
      assert.are.same(bin, got[1].data)
      assert.is_true(got[2].data == big, "the large datagram differs")
    end)

    it("returns nil from readDatagram when none is pending, with TemporaryError", function()
      local recv = bound("127.0.0.1")
      finally(function() close_all(recv) end)
      local list = recorder(recv)
      assert.is_nil(recv:readDatagram())
      assert.are.same("TemporaryError", recv:error())
      assert.are.same("No datagram available for reading", recv:errorString())
      assert.are.same({ "error:TemporaryError" }, list)
    end)

    it("binds on its first writeDatagram, as Qt does, and emits bytesWritten", function()
      local recv, port = bound("127.0.0.1")
      local s = net.UdpSocket()
      finally(function() close_all(recv, s) end)
      local list = recorder(s)
      local written = helper.expect()
      s.bytesWritten:connect(written)
      assert.are.same(5, s:writeDatagram("hello", "127.0.0.1", port))
      assert.are.same("BoundState", s:state())
      assert.is_true(s:localPort() > 0)
      assert.are.same({ "state:BoundState" }, list)
      assert.are.same(1, written.count)
      assert.are.same(5, written.args[1])
      assert.is_true(recv:waitForReadyRead(T))
      local _, host, from = recv:readDatagram()
      assert.are.same({ "127.0.0.1", s:localPort() }, { host:toString(), from })
    end)

    it("does not emit readyRead again while its slot is suspended", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      local calls, read = 0, {}
      recv.readyRead:connect(function()
        calls = calls + 1
        read[#read + 1] = recv:readDatagram()
        if calls == 1 then net.sleep(500) end   -- suspends this slot
      end)
      s:writeDatagram("first", "127.0.0.1", port)
      helper.run(T, function() return calls == 1 end)
      s:writeDatagram("second", "127.0.0.1", port)
      helper.drive(100)
      assert.are.same(1, calls)   -- the slot still sleeps
      helper.run(T, function() return calls == 2 end)
      assert.are.same({ "first", "second" }, read)
    end)

    it("emits readyRead to a slot connected after datagrams came unannounced", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      s:writeDatagram("early", "127.0.0.1", port)
      helper.drive(100)   -- readyRead went to nobody
      local got = collector(recv)
      helper.run(T, function() return #got > 0 end)
      assert.are.same("early", got[1] and got[1].data)
    end)

    it("reads a datagram inside a TcpSocket's readyRead slot", function()
      local core = require "support.core_helper"
      local client, accepted, server = core.pair()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() core.close(client, accepted, server); close_all(recv, s) end)
      s:writeDatagram("inside tcp", "127.0.0.1", port)
      s:writeDatagram("cut", "127.0.0.1", port)
      helper.run(T, function() return recv:pendingDatagramSize() == 10 end)
      local got
      accepted.readyRead:connect(function()
        accepted:readAll()
        got = { recv:readDatagram() }
        got[2] = got[2]:toString()
        got[4] = recv:readDatagram(2)
      end)
      client:write("go")
      helper.run(T, function() return got ~= nil end)
      assert.are.same({ "inside tcp", "127.0.0.1", s:localPort(), "cu" }, got)
    end)

    it("neither spins nor emits again when a readyRead slot reads nothing", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      local calls = 0
      recv.readyRead:connect(function() calls = calls + 1 end)
      s:writeDatagram("unread", "127.0.0.1", port)
      helper.run(T, function() return calls == 1 end)
      local cpu = os.clock()
      helper.drive(300)
      cpu = os.clock() - cpu
      assert.are.same(1, calls)
      assert.is_true(cpu < 0.15, ("the loop spun: %.3f s of CPU in 0.3 s"):format(cpu))
      assert.are.same(true, recv:hasPendingDatagrams())   -- still in the kernel's queue
      assert.are.same("unread", (recv:readDatagram()))     -- a read turns readyRead back on
      s:writeDatagram("next", "127.0.0.1", port)
      helper.run(T, function() return calls == 2 end)
      assert.are.same(2, calls)
    end)
  end)

  describe("broadcast", function()
    it("delivers a datagram to 127.255.255.255 to two receivers sharing the port", function()
      local r1, port = bound("Any", 0, "ShareAddress")
      local r2 = bound("Any", port, "ShareAddress")
      local s = net.UdpSocket()
      finally(function() close_all(r1, r2, s) end)
      local g1, g2 = collector(r1), collector(r2)
      assert.are.same(9, s:writeDatagram("broadcast", "127.255.255.255", port))
      helper.run(T, function() return #g1 > 0 and #g2 > 0 end)
      assert.are.same("broadcast", g1[1] and g1[1].data)
      assert.are.same("broadcast", g2[1] and g2[1].data)
      assert.are.same(s:localPort(), g1[1].port)
    end)
  end)

  describe("IPv4 multicast on lo", function()
    local GROUP = "239.255.76.78"

    it("is received after joinMulticastGroup and no longer after leaveMulticastGroup", function()
      local recv = net.UdpSocket()
      local s = net.UdpSocket()
      finally(function() close_all(recv, s) end)
      assert.are.same(true, recv:bind("AnyIPv4", 0, "ShareAddress"))
      local port = recv:localPort()
      assert.are.same(true, recv:joinMulticastGroup(GROUP, "lo"), recv:errorString())
      -- Set before bind: kept, and applied when the socket is made.
      assert.are.same(true, s:setMulticastInterface("lo"))
      assert.are.same(true, s:setSocketOption("MulticastLoopbackOption", 1))
      assert.are.same(true, s:bind("127.0.0.1", 0))
      assert.are.same(true, s:setSocketOption(net.UdpSocket.MulticastTtlOption, 1))
      assert.are.same("lo", s:multicastInterface())
      assert.are.same(1, s:socketOption("MulticastLoopbackOption"))
      assert.are.same(1, s:socketOption("MulticastTtlOption"))
      local got = collector(recv)
      assert.are.same(9, s:writeDatagram("multicast", net.HostAddress(GROUP), port))
      helper.run(T, function() return #got > 0 end)
      assert.are.same({ data = "multicast", host = "127.0.0.1", port = s:localPort() }, got[1])
      assert.are.same(true, recv:leaveMulticastGroup(GROUP, "lo"))
      s:writeDatagram("after leaving", GROUP, port)
      helper.drive(200)
      assert.are.same(1, #got)
    end)

    it("is received by a dual-stack socket too", function()
      local recv = net.UdpSocket()
      local s = net.UdpSocket()
      finally(function() close_all(recv, s) end)
      assert.are.same(true, recv:bind())
      assert.are.same(true, recv:joinMulticastGroup(GROUP, "lo"), recv:errorString())
      s:setMulticastInterface("lo")
      s:writeDatagram("to dual stack", GROUP, recv:localPort())
      assert.is_true(recv:waitForReadyRead(T))
      assert.are.same("to dual stack", (recv:readDatagram()))
    end)

    it("returns false without raising when the socket is unbound or the interface unknown", function()
      local sock = net.UdpSocket()
      finally(function() close_all(sock) end)
      assert.are.same(false, sock:joinMulticastGroup(GROUP))
      assert.are.same(false, sock:leaveMulticastGroup(GROUP))
      assert.are.same(true, sock:bind("AnyIPv4", 0))
      assert.are.same(false, sock:joinMulticastGroup(GROUP, "no-such-if0"))
      assert.are.same(false, sock:setMulticastInterface("no-such-if0"))
      assert.are.same(false, sock:joinMulticastGroup("127.0.0.1", "lo"))   -- not a group
      assert.is_nil(sock:multicastInterface())
    end)
  end)

  describe("errors", function()
    it("refuses a 65,508-byte datagram with DatagramTooLargeError", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      local list = recorder(s)
      assert.are.same(false, s:writeDatagram(("x"):rep(65508), "127.0.0.1", port))
      assert.are.same("DatagramTooLargeError", s:error())
      assert.are.same("Datagram was too large to send", s:errorString())
      assert.are.same({ "error:DatagramTooLargeError" }, list)
      assert.are.same(false, s:writeDatagram(("x"):rep(65508), "::ffff:127.0.0.1", port))
      helper.drive(50)
      assert.are.same(false, recv:hasPendingDatagrams())
    end)

    for _, addr in ipairs({ "127.0.0.1", "::1" }) do
      it("emits ConnectionRefusedError for a datagram to a closed port on " .. addr, function()
        local s = bound(addr)
        local closed, closed_port = bound(addr)
        local peer, peer_port = bound(addr)
        finally(function() close_all(s, closed, peer) end)
        closed:close()
        local errors = helper.expect()
        s.errorOccurred:connect(errors)
        local got = collector(s)
        assert.are.same(5, s:writeDatagram("hello", addr, closed_port))
        helper.run(T, function() return errors.count > 0 end)
        assert.are.same(1, errors.count)
        assert.are.same("ConnectionRefusedError", errors.args[1])
        assert.are.same("ConnectionRefusedError", s:error())
        assert.are.same("Connection refused", s:errorString())
        assert.are.same("BoundState", s:state())
        -- The socket goes on: it sends, and it reads what comes.
        assert.are.same(4, s:writeDatagram("ping", addr, peer_port))
        assert.is_true(peer:waitForReadyRead(T))
        assert.are.same("ping", (peer:readDatagram()))
        peer:writeDatagram("pong", addr, s:localPort())
        helper.run(T, function() return #got > 0 end)
        assert.are.same("pong", got[1] and got[1].data)
        assert.are.same(1, errors.count)
      end)
    end

    it("emits ConnectionRefusedError on a dual-stack socket bound by its first write", function()
      local closed, closed_port = bound("127.0.0.1")
      closed:close()
      local s4, s6 = net.UdpSocket(), net.UdpSocket()
      finally(function() close_all(s4, s6) end)
      local e4, e6 = helper.expect(), helper.expect()
      s4.errorOccurred:connect(e4)
      s6.errorOccurred:connect(e6)
      assert.are.same(1, s4:writeDatagram("x", "127.0.0.1", closed_port))
      assert.are.same(1, s6:writeDatagram("x", "::1", closed_port))
      helper.run(T, function() return e4.count > 0 and e6.count > 0 end)
      assert.are.same({ "ConnectionRefusedError", "ConnectionRefusedError" },
        { e4.args and e4.args[1], e6.args and e6.args[1] })
    end)

    it("reads a datagram that came in before the refusal, then reports the refusal", function()
      local s, port = bound("127.0.0.1")
      local closed, closed_port = bound("127.0.0.1")
      local peer = bound("127.0.0.1")
      finally(function() close_all(s, closed, peer) end)
      closed:close()
      peer:writeDatagram("queued", "127.0.0.1", port)
      s:writeDatagram("refused", "127.0.0.1", closed_port)
      local errors = helper.expect()
      s.errorOccurred:connect(errors)
      local got = collector(s)
      helper.run(T, function() return errors.count > 0 and #got > 0 end)
      assert.are.same({ "queued" }, { got[1] and got[1].data })
      assert.are.same("ConnectionRefusedError", errors.args and errors.args[1])
    end)
  end)

  describe("waitForReadyRead", function()
    it("times out inside a task with SocketTimeoutError", function()
      local recv = bound("127.0.0.1")
      finally(function() close_all(recv) end)
      local result, elapsed
      net.spawn(function()
        local t0 = helper.now_ms()
        result = recv:waitForReadyRead(150)
        elapsed = helper.now_ms() - t0
      end)
      helper.run(T, function() return result ~= nil end)
      assert.are.same(false, result)
      assert.is_true(elapsed >= 100, "returned after " .. tostring(elapsed) .. " ms")
      assert.are.same("SocketTimeoutError", recv:error())
      assert.are.same("Network operation timed out", recv:errorString())
    end)

    it("succeeds inside a task when a datagram arrives, and emits readyRead", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      finally(function() close_all(recv, s) end)
      local ready = helper.expect()
      recv.readyRead:connect(ready)
      local result, data
      net.spawn(function()
        result = recv:waitForReadyRead(T)
        data = recv:readDatagram()
      end)
      assert.is_nil(result)   -- suspended
      s:writeDatagram("wake up", "127.0.0.1", port)
      helper.run(T, function() return result ~= nil end)
      assert.are.same({ true, "wake up" }, { result, data })
      assert.are.same(1, ready.count)
    end)

    it("returns true at once when a datagram is pending, and false when unbound", function()
      local recv, port = bound("127.0.0.1")
      local s = bound("127.0.0.1")
      local unbound = net.UdpSocket()
      finally(function() close_all(recv, s, unbound) end)
      s:writeDatagram("x", "127.0.0.1", port)
      helper.run(T, function() return recv:hasPendingDatagrams() end)
      assert.are.same(true, recv:waitForReadyRead(0))
      assert.are.same(false, unbound:waitForReadyRead(10))
    end)

    it("returns false to a waiting task when the socket is closed", function()
      local recv = bound("127.0.0.1")
      finally(function() close_all(recv) end)
      local result
      net.spawn(function() result = recv:waitForReadyRead(T) end)
      recv:close()
      helper.run(T, function() return result ~= nil end)
      assert.are.same(false, result)
    end)
  end)

  describe("closing and lifetime", function()
    it("goes through ClosingState on close and straight to UnconnectedState on abort", function()
      local a, b = bound(), bound()
      finally(function() close_all(a, b) end)
      local la, lb = recorder(a), recorder(b)
      a:close()
      b:abort()
      assert.are.same({ "state:ClosingState", "state:UnconnectedState" }, la)
      assert.are.same({ "state:UnconnectedState" }, lb)
      assert.are.same("luanet.UdpSocket (closed)", tostring(a))
    end)

    it("never raises when used after close", function()
      local sock, port = bound("127.0.0.1")
      finally(function() close_all(sock) end)
      sock:close()
      sock:close()
      sock:abort()
      assert.are.same("UnconnectedState", sock:state())
      assert.is_nil(sock:readDatagram())
      assert.are.same(false, sock:hasPendingDatagrams())
      assert.are.same(-1, sock:pendingDatagramSize())
      assert.are.same(false, sock:waitForReadyRead(10))
      assert.are.same(false, sock:joinMulticastGroup("239.255.76.78"))
      assert.are.same(false, sock:leaveMulticastGroup("239.255.76.78"))
      assert.are.same(0, sock:localPort())
      assert.are.same(true, sock:localAddress():isNull())
      assert.are.same(true, sock:setSocketOption("MulticastTtlOption", 2))   -- kept for bind
      assert.are.same(2, sock:socketOption("MulticastTtlOption"))
      assert.are.same(false, sock:isValid())
      -- As in Qt, writing binds again.
      assert.are.same(1, sock:writeDatagram("x", "127.0.0.1", port))
      assert.are.same("BoundState", sock:state())
      assert.are.same(2, sock:socketOption("MulticastTtlOption"))
    end)

    it("keeps receiving while bound, with no variable holding it", function()
      local weak = setmetatable({}, { __mode = "v" })
      local got = {}
      local port
      do
        local sock = bound("127.0.0.1")
        port = sock:localPort()
        weak[1] = sock
        sock.readyRead:connect(function()
          local w = weak[1]
          got[#got + 1] = w and w:readDatagram()
        end)
      end
      local s = bound("127.0.0.1")
      finally(function() close_all(s, weak[1]) end)
      collectgarbage()
      collectgarbage()
      assert.is_not_nil(weak[1])
      s:writeDatagram("still here", "127.0.0.1", port)
      helper.run(T, function() return #got > 0 end)
      assert.are.same({ "still here" }, got)
      weak[1]:close()
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak[1])
    end)

    it("closes at the end of a <close> scope", function()
      local port
      local again = net.UdpSocket()
      finally(function() close_all(again) end)
      do
        local sock <close> = bound("127.0.0.1")
        port = sock:localPort()
      end
      -- The port is free again: it binds without ShareAddress.
      assert.are.same(true, again:bind("127.0.0.1", port))
    end)
  end)

  describe("arguments", function()
    it("raises on wrong argument types", function()
      local sock = net.UdpSocket()
      finally(function() close_all(sock) end)
      assert.has_error(function() sock:bind({}) end)
      assert.has_error(function() sock:bind("not an address", 0) end)
      assert.has_error(function() sock:bind("127.0.0.1", "port") end)
      assert.has_error(function() sock:bind("127.0.0.1", 70000) end)
      assert.has_error(function() sock:bind("127.0.0.1", 0, "NoSuchFlag") end)
      assert.has_error(function() sock:bind("127.0.0.1", 0, 42) end)
      assert.has_error(function() sock:writeDatagram(nil, "127.0.0.1", 1) end)
      assert.has_error(function() sock:writeDatagram("x", {}, 1) end)
      assert.has_error(function() sock:writeDatagram("x", "127.0.0.1") end)
      assert.has_error(function() sock:writeDatagram("x", "127.0.0.1", -1) end)
      assert.has_error(function() sock:writeDatagram("x", "no.such.literal", 1) end)
      assert.has_error(function() sock:readDatagram("many") end)
      assert.has_error(function() sock:readDatagram(-1) end)
      assert.has_error(function() sock:joinMulticastGroup({}) end)
      assert.has_error(function() sock:setSocketOption("NoSuchOption", 1) end)
      assert.has_error(function() sock:setSocketOption("MulticastTtlOption", "x") end)
      assert.has_error(function() sock:waitForReadyRead("soon") end)
      assert.has_error(function() net.UdpSocket.bind({}) end)
      assert.has_error(function() sock.readDatagram(net.TcpSocket()) end)
      assert.are.same("UnconnectedState", sock:state())
    end)

    it("names the method and the argument in the message", function()
      local sock = net.UdpSocket()
      local ok, err = pcall(function() return sock:writeDatagram("x", {}, 1) end)
      assert.are.same(false, ok)
      -- self is not counted, as luaL_argerror does for a method call
      assert.truthy(err:match("bad argument #2 to 'writeDatagram' %(string or HostAddress expected"), err)
      ok, err = pcall(function() return sock:bind("127.0.0.1", 0, "Bogus") end)
      assert.are.same(false, ok)
      assert.truthy(err:match("bad argument #3 to 'bind' %(invalid bind flag 'Bogus'%)"), err)
    end)
  end)

  describe("IPv6 multicast between network namespaces", function()
    local GROUP = "ff15::6c75:6e65"
    local PORT = 45455

    local function write_file(path, text)
      local f = assert(io.open(path, "w"))
      f:write(text)
      f:close()
    end

    local RECEIVER = [[
local net = require "luanet"
local port, group, iface = ...
io.stdout:setvbuf("line")
local sock = net.UdpSocket()
assert(sock:bind("AnyIPv6", math.tointeger(tonumber(port))), sock:errorString())
assert(sock:joinMulticastGroup(group, iface), "join: " .. sock:errorString())
sock.readyRead:connect(function()
  local data, host = sock:readDatagram()
  if data then
    print(("received %s from %s"):format(data, host:toString()))
    sock:close()
    net.quit(0)
  end
end)
print("joined")
net.Timer.singleShot(10000, function() print("gave up"); net.quit(3) end)
]]

    local SENDER = [[
local net = require "luanet"
local port, group, iface = ...
io.stdout:setvbuf("line")
local sock = net.UdpSocket()
assert(sock:setMulticastInterface(iface), "interface: " .. sock:errorString())
assert(sock:bind("AnyIPv6", 0), sock:errorString())
for i = 1, 50 do
  print("sent", sock:writeDatagram("hello " .. i, group, math.tointeger(tonumber(port))),
        sock:errorString())
  net.sleep(100)
end
]]

    it("reaches a receiver in another namespace over a veth pair", function()
      local stat = io.open("/proc/self/stat")
      local pid = stat and stat:read("n") or math.random(1, 99999)
      if stat then stat:close() end
      local id = ("%d-%d"):format(pid, math.random(1000, 9999))
      local ns_a, ns_b = "luanet-udp-a-" .. id, "luanet-udp-b-" .. id
      local recv_script, send_script = os.tmpname(), os.tmpname()
      local procs = {}
      finally(function()
        for _, p in ipairs(procs) do p.cleanup() end
        sh("ip netns del " .. ns_a)
        sh("ip netns del " .. ns_b)
        os.remove(recv_script)
        os.remove(send_script)
      end)
      if not sh("ip netns add " .. ns_a) then
        pending("ip netns add is not permitted here: no namespaces for the IPv6 multicast spec")
      end
      assert.is_true(sh("ip netns add " .. ns_b))
      local function ns(name, cmd) return sh(("ip -n %s %s"):format(name, cmd)) end
      assert.is_true(sh(("ip link add lnu0 netns %s type veth peer name lnu1 netns %s"):format(ns_a, ns_b)))
      assert.is_true(ns(ns_a, "link set lo up") and ns(ns_b, "link set lo up"))
      assert.is_true(ns(ns_a, "addr add fd00:6c75:6e65::1/64 dev lnu0 nodad"))
      assert.is_true(ns(ns_b, "addr add fd00:6c75:6e65::2/64 dev lnu1 nodad"))
      assert.is_true(ns(ns_a, "link set lnu0 up") and ns(ns_b, "link set lnu1 up"))
      write_file(recv_script, RECEIVER)
      write_file(send_script, SENDER)
      local function luanetd_in(name, script, iface)
        return ("ip netns exec %s %s %s %d %s %s"):format(name, helper.LUANETD, script, PORT, GROUP, iface)
      end
      local receiver = helper.spawn(luanetd_in(ns_a, recv_script, "lnu0"))
      procs[1] = receiver
      assert(receiver.wait_line("joined\n"), "receiver: " .. receiver.output() .. receiver.stderr())
      local sender = helper.spawn(luanetd_in(ns_b, send_script, "lnu1"))
      procs[2] = sender
      local line = receiver.wait_line("received ([^\n]*)\n", 8000)
      assert(line, ("no datagram\nreceiver: %s%s\nsender: %s%s"):format(receiver.output(),
        receiver.stderr(), sender.output(), sender.stderr()))
      assert.truthy(line:match("^hello %d+ from fd00:6c75:6e65::2$"), line)
      assert.are.same(0, receiver.wait(T))
    end)
  end)
end)
