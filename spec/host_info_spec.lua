-- spec/host_info_spec.lua: net.HostInfo and TcpSocket name resolution
-- against a real DNS server: dnsmasq on a loopback port picked at run time,
-- answering only for the test domain (--local) and forwarding nowhere.
local helper = require "helper"
local net = helper.net

local start_dns = require("support.dns_helper").start

local function addresses(info)
  local list = {}
  for i, a in ipairs(info:addresses()) do list[i] = a:toString() end
  table.sort(list)
  return list
end

describe("HostInfo with a real DNS server", function()
  local dns, server
  setup(function()
    dns, server = start_dns({
      "a.test,127.0.0.5,::5,60", "multi.test,127.0.0.7,60", "multi.test,127.0.0.8,60", "v4.test,127.0.0.9,60",
    })
  end)
  teardown(function()
    if dns then dns.cleanup() end
    net.HostInfo.setNameServers(nil)
  end)
  before_each(function()
    net.HostInfo.setNameServers({ server }, { timeout = 1000, tries = 2 })
    net.HostInfo.flushCache()
    net.HostInfo.setCacheEnabled(true)
  end)

  it("finds the IPv4 and IPv6 addresses of a name", function()
    local info = net.HostInfo.fromName("a.test")
    assert.are.same("NoError", info:error())
    assert.are.same({ "127.0.0.5", "::5" }, addresses(info))
  end)

  it("asks for one family when told", function()
    assert.are.same({ "127.0.0.5" }, addresses(net.HostInfo.fromName("a.test", "A")))
    assert.are.same({ "::5" }, addresses(net.HostInfo.fromName("a.test", "AAAA")))
  end)

  it("returns every address of a name with several", function()
    assert.are.same({ "127.0.0.7", "127.0.0.8" }, addresses(net.HostInfo.fromName("multi.test")))
  end)

  it("reports HostNotFound with Qt's text for a name that does not exist", function()
    local info = net.HostInfo.fromName("nonexistent.test")
    assert.are.same("HostNotFound", info:error())
    assert.are.same("Host not found", info:errorString())
    assert.are.same({}, info:addresses())
  end)

  it("looks an address up in reverse (PTR), as Qt does", function()
    local info = net.HostInfo.fromName("127.0.0.5")
    assert.are.same("NoError", info:error())
    assert.are.same("a.test", info:hostName())
    assert.are.same({ "127.0.0.5" }, addresses(info))
  end)

  it("calls lookupHost's slot later with the lookup's id", function()
    local got
    local id = net.HostInfo.lookupHost("v4.test", function(info) got = info end)
    assert.is_nil(got)
    assert.is_true(helper.run(3000, function() return got ~= nil end))
    assert.are.same(id, got:lookupId())
    assert.are.same({ "127.0.0.9" }, addresses(got))
  end)

  it("never calls the slot of an aborted lookup", function()
    local called, other = false, nil
    local id = net.HostInfo.lookupHost("a.test", function() called = true end)
    net.HostInfo.abortHostLookup(id)
    net.HostInfo.lookupHost("v4.test", function(info) other = info end)
    helper.run(3000, function() return other ~= nil end)
    helper.drive(100)
    assert.is_false(called)
    assert.is_not_nil(other)
  end)

  it("answers 300 lookups in flight at once", function()
    local answered, good = 0, 0
    for i = 1, 300 do
      local name = ({ "a.test", "multi.test", "v4.test" })[i % 3 + 1]
      net.HostInfo.lookupHost(name, function(info)
        answered = answered + 1
        if info:error() == "NoError" and #info:addresses() > 0 then good = good + 1 end
      end)
    end
    helper.run(10000, function() return answered == 300 end)
    assert.are.same(300, answered, ("errors: %d"):format(answered - good))
    assert.are.same(300, good)
  end)

  it("suspends only the calling task in fromName", function()
    local order = {}
    net.spawn(function()
      local info = net.HostInfo.fromName("v4.test")
      order[#order + 1] = "resolved " .. info:addresses()[1]:toString()
    end)
    order[#order + 1] = "spawn returned"
    helper.run(3000, function() return #order == 2 end)
    assert.are.same({ "spawn returned", "resolved 127.0.0.9" }, order)
  end)

  it("connects a TcpSocket by name: lookup, ConnectingState, hostFound, connected", function()
    local listener = net.TcpServer()
    assert.is_true(listener:listen("127.0.0.9", 0))
    local sock = net.TcpSocket()
    finally(function() sock:abort(); listener:close() end)
    local events = {}
    sock.stateChanged:connect(function(st) events[#events + 1] = st end)
    sock.hostFound:connect(function() events[#events + 1] = "hostFound" end)
    sock:connectToHost("v4.test", listener:serverPort())
    assert.is_true(sock:waitForConnected(3000))
    assert.are.same({ "HostLookupState", "ConnectingState", "hostFound", "ConnectedState" }, events)
    assert.are.same("127.0.0.9", sock:peerAddress():toString())
    assert.are.same("v4.test", sock:peerName())
  end)

  it("tries each address of a name in turn until one connects", function()
    -- a.test is 127.0.0.5 and ::5: only the IPv4 one listens here.
    local listener = net.TcpServer()
    assert.is_true(listener:listen("127.0.0.5", 0))
    local sock = net.TcpSocket()
    finally(function() sock:abort(); listener:close() end)
    sock:connectToHost("a.test", listener:serverPort())
    assert.is_true(sock:waitForConnected(3000))
    assert.are.same("127.0.0.5", sock:peerAddress():toString())
  end)

  it("reports HostNotFoundError from connectToHost for a name that does not exist", function()
    local sock = net.TcpSocket()
    local errors = {}
    sock.errorOccurred:connect(function(e) errors[#errors + 1] = e end)
    sock:connectToHost("nonexistent.test", 80)
    assert.is_false(sock:waitForConnected(3000))
    assert.are.same({ "HostNotFoundError" }, errors)
    assert.are.same("Host not found", sock:errorString())
    assert.are.same("UnconnectedState", sock:state())
  end)
end)

describe("HostInfo's cache", function()
  it("keeps an answer until its TTL ends, and can be switched off and flushed", function()
    local port = math.random(30001, 32000)
    local dns1, server = start_dns({ "ttl.test,127.0.0.21,2" }, nil)
    port = tonumber(server:match(":(%d+)$"))
    finally(function()
      if dns1 then dns1.cleanup() end
      net.HostInfo.setCacheEnabled(true)
      net.HostInfo.setNameServers(nil)
    end)
    net.HostInfo.setNameServers({ server }, { timeout = 500, tries = 2 })
    net.HostInfo.flushCache()
    assert.are.same({ "127.0.0.21" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
    -- The server changes its answer; the cached one stands until the TTL ends.
    dns1.cleanup()
    dns1 = start_dns({ "ttl.test,127.0.0.22,2" }, port)
    net.HostInfo.setNameServers({ server }, { timeout = 500, tries = 2 })
    assert.are.same({ "127.0.0.21" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
    helper.drive(2200)
    assert.are.same({ "127.0.0.22" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
    -- Flushed or switched off, the server is asked again at once.
    dns1.cleanup()
    dns1 = start_dns({ "ttl.test,127.0.0.23,60" }, port)
    assert.are.same({ "127.0.0.22" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
    net.HostInfo.flushCache()
    assert.are.same({ "127.0.0.23" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
    dns1.cleanup()
    dns1 = start_dns({ "ttl.test,127.0.0.24,60" }, port)
    net.HostInfo.setCacheEnabled(false)
    assert.are.same({ "127.0.0.24" }, addresses(net.HostInfo.fromName("ttl.test", "A")))
  end)
end)

describe("HostInfo without an answer", function()
  it("reports an error after the time-out when the server does not answer", function()
    local silent, server = require("support.dns_helper").silent()
    finally(function() silent.cleanup(); net.HostInfo.setNameServers(nil) end)
    net.HostInfo.setNameServers({ server }, { timeout = 300, tries = 1 })
    local t0 = helper.now_ms()
    local info = net.HostInfo.fromName("silent.test")
    local elapsed = helper.now_ms() - t0
    assert.are.same("UnknownError", info:error())
    assert.are.same("Host lookup timed out", info:errorString())
    assert.is_true(elapsed >= 250 and elapsed < 3000, ("took %d ms"):format(elapsed))
  end)

  it("raises for a bad name server list", function()
    assert.has_error(function() net.HostInfo.setNameServers({ "not an address" }) end)
    assert.has_error(function() net.HostInfo.setNameServers("127.0.0.1") end)
    net.HostInfo.setNameServers(nil)
  end)
end)

describe("lookup.lua", function()
  it("prints names, reverse names and failures, and uses CARES_HOSTS's file", function()
    local dns, server = start_dns({ "a.test,127.0.0.5,::5,60" })
    local hosts = os.tmpname()
    local f = assert(io.open(hosts, "w"))
    f:write("# a comment\n127.0.0.42 myhost.example alias.example\n")
    f:close()
    finally(function() dns.cleanup(); os.remove(hosts) end)
    local lookup = helper.quote(helper.script("lookup.lua"))
    local code, out, err = helper.execute(("env CARES_HOSTS=%s %s %s a.test alias.example 127.0.0.42 nonexistent.test --server %s"):format(
      hosts, helper.LUANETD, lookup, server))
    assert.are.same(1, code)
    assert.are.same("a.test 127.0.0.5 ::5\nalias.example 127.0.0.42\n127.0.0.42 myhost.example\n", out)
    assert.are.same("nonexistent.test: Host not found\n", err)
    local code2, out2 = helper.execute(("%s %s a.test --type A --server %s"):format(helper.LUANETD, lookup, server))
    assert.are.same(0, code2)
    assert.are.same("a.test 127.0.0.5\n", out2)
  end)
end)
