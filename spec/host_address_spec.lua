-- HostAddress: parsing and formatting v4 and v6, Qt's special addresses,
-- equality and classification. Expected texts are QHostAddress's (PyQt5
-- 5.15 on Debian 12).
local helper = require "helper"
local core = require "support.core_helper"
local net = helper.net
local HostAddress = net.HostAddress

describe("HostAddress", function()
  it("parses and formats an IPv4 address", function()
    local a = HostAddress("192.168.1.10")
    assert.are.same("192.168.1.10", a:toString())
    assert.are.same("IPv4Protocol", a:protocol())
    assert.are.same(false, a:isNull())
    assert.are.same("192.168.1.10", tostring(a))
  end)

  it("parses an IPv6 address and formats it compressed, in lower case", function()
    local a = HostAddress("2001:0DB8:0000:0000:0000:0000:0000:0001")
    assert.are.same("2001:db8::1", a:toString())
    assert.are.same("IPv6Protocol", a:protocol())
    assert.are.same("::1", HostAddress("0:0:0:0:0:0:0:1"):toString())
    assert.are.same("fe80::1:2", HostAddress("fe80:0:0:0:0:0:1:2"):toString())
  end)

  it("formats a v4-mapped IPv6 address as Qt does", function()
    local a = HostAddress("::ffff:10.1.2.3")
    assert.are.same("::ffff:10.1.2.3", a:toString())
    assert.are.same("IPv6Protocol", a:protocol())
  end)

  it("keeps the scope of a link-local IPv6 address", function()
    local a = HostAddress("fe80::1%lo")
    assert.are.same("fe80::1%lo", a:toString())
    assert.are.same("lo", a:scopeId())
    assert.are.same("", HostAddress("::1"):scopeId())
  end)

  it("gives the null address for text that is no address", function()
    for _, text in ipairs({ "", "256.1.1.1", "1.2.3.4.5", "example.com", "::1::2", "12345::" }) do
      local a = HostAddress(text)
      assert.are.same({ text, true, "", "UnknownNetworkLayerProtocol" },
                      { text, a:isNull(), a:toString(), a:protocol() })
    end
  end)

  it("gives the null address when made with no argument", function()
    local a = HostAddress()
    assert.are.same(true, a:isNull())
    assert.are.same("", a:toString())
  end)

  it("reports whether setAddress parsed its text", function()
    local a = HostAddress("")
    assert.are.same(true, a:setAddress("10.0.0.1"))
    assert.are.same("10.0.0.1", a:toString())
    assert.are.same(true, a:setAddress("::2"))
    assert.are.same("::2", a:toString())
    assert.are.same(false, a:setAddress("nonsense"))
    assert.are.same(true, a:isNull())
  end)

  it("makes the special addresses LocalHost and LocalHostIPv6", function()
    assert.are.same("127.0.0.1", HostAddress("LocalHost"):toString())
    assert.are.same("IPv4Protocol", HostAddress(HostAddress.LocalHost):protocol())
    assert.are.same("::1", HostAddress("LocalHostIPv6"):toString())
    assert.are.same("IPv6Protocol", HostAddress(HostAddress.LocalHostIPv6):protocol())
  end)

  it("makes AnyIPv6 and AnyIPv4", function()
    assert.are.same("::", HostAddress("AnyIPv6"):toString())
    assert.are.same("IPv6Protocol", HostAddress("AnyIPv6"):protocol())
    assert.are.same("0.0.0.0", HostAddress("AnyIPv4"):toString())
    assert.are.same("IPv4Protocol", HostAddress("AnyIPv4"):protocol())
  end)

  it("makes Any as the dual-stack any address", function()
    local a = HostAddress(HostAddress.Any)
    assert.are.same("AnyIPProtocol", a:protocol())
    assert.are.same(false, a:isNull())
  end)

  it("formats Any as Qt does: 0.0.0.0", function()
    assert.are.same("0.0.0.0", HostAddress("Any"):toString())
  end)

  it("makes Broadcast and Null", function()
    local b = HostAddress("Broadcast")
    assert.are.same("255.255.255.255", b:toString())
    assert.are.same(true, b:isBroadcast())
    assert.are.same(true, HostAddress("Null"):isNull())
  end)

  it("exposes the special names as constants on the class", function()
    assert.are.same({ "Null", "Broadcast", "LocalHost", "LocalHostIPv6", "Any", "AnyIPv6", "AnyIPv4" },
                    { HostAddress.Null, HostAddress.Broadcast, HostAddress.LocalHost,
                      HostAddress.LocalHostIPv6, HostAddress.Any, HostAddress.AnyIPv6,
                      HostAddress.AnyIPv4 })
  end)

  it("compares equal addresses with == and isEqual", function()
    assert.are.same(true, HostAddress("127.0.0.1") == HostAddress("LocalHost"))
    assert.are.same(true, HostAddress("::1") == HostAddress("0:0::1"))
    assert.are.same(true, HostAddress("::1"):isEqual("LocalHostIPv6"))
    assert.are.same(true, HostAddress("10.1.1.1"):isEqual("10.1.1.1"))
    assert.are.same(true, HostAddress("Null") == HostAddress(""))
  end)

  it("compares different addresses as unequal", function()
    assert.are.same(false, HostAddress("127.0.0.1") == HostAddress("127.0.0.2"))
    assert.are.same(false, HostAddress("127.0.0.1") == HostAddress("::1"))
    assert.are.same(false, HostAddress("::") == HostAddress("0.0.0.0"))
    assert.are.same(false, HostAddress("10.1.1.1"):isEqual("10.1.1.2"))
    assert.are.same(false, HostAddress("10.1.1.1"):isEqual(42))
    assert.are.same(false, HostAddress("10.1.1.1") == HostAddress(""))
  end)

  it("compares the addresses sockets report with what was asked", function()
    local server = helper.listen("::1")
    finally(function() core.close(server) end)
    assert.are.same(true, server:serverAddress() == HostAddress("LocalHostIPv6"))
    assert.are.same(true, server:serverAddress():isEqual("::1"))
  end)

  it("tells loopback addresses from others", function()
    local cases = {
      ["127.0.0.1"] = true, ["127.255.0.9"] = true, ["::1"] = true,
      ["10.0.0.1"] = false, ["128.0.0.1"] = false, ["::"] = false, ["::2"] = false,
      ["0.0.0.0"] = false, [""] = false,
    }
    local got = {}
    for text in pairs(cases) do got[text] = HostAddress(text):isLoopback() end
    assert.are.same(cases, got)
  end)

  it("counts a v4-mapped 127.x address as loopback, as Qt does", function()
    assert.are.same(true, HostAddress("::ffff:127.0.0.1"):isLoopback())
  end)

  it("tells multicast addresses from others", function()
    assert.are.same(true, HostAddress("224.0.0.1"):isMulticast())
    assert.are.same(true, HostAddress("239.255.255.250"):isMulticast())
    assert.are.same(true, HostAddress("ff02::1"):isMulticast())
    assert.are.same(false, HostAddress("192.168.0.1"):isMulticast())
    assert.are.same(false, HostAddress("fe80::1"):isMulticast())
  end)

  it("gives an IPv4 address as a number", function()
    assert.are.same(0x01020304, HostAddress("1.2.3.4"):toIPv4Address())
    assert.are.same(0xFFFFFFFF, HostAddress("255.255.255.255"):toIPv4Address())
  end)

  it("raises a clear error for an argument that is no string", function()
    local ok, err = pcall(function() HostAddress("1.2.3.4"):setAddress({}) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1 to 'setAddress'", 1, true) ~= nil)
    ok, err = pcall(function() HostAddress({}) end)
    assert.are.same(false, ok)
    assert.are.same(true, err:find("bad argument #1", 1, true) ~= nil)
  end)

  it("tells whether an address is in a subnet, for IPv4 and IPv6", function()
    local a = HostAddress("10.77.0.5")
    assert.are.same(true, a:isInSubnet(HostAddress("10.77.0.0"), 24))
    assert.are.same(true, a:isInSubnet("10.0.0.0/8"))
    assert.are.same(false, a:isInSubnet("10.78.0.0/16"))
    assert.are.same(true, a:isInSubnet("0.0.0.0/0"))
    assert.are.same(false, a:isInSubnet("fd00::/8"))
    local b = HostAddress("fd00:77::9")
    assert.are.same(true, b:isInSubnet("fd00:77::/32"))
    assert.are.same(false, b:isInSubnet("fd00:78::/32"))
    assert.are.same(true, b:isInSubnet(HostAddress("fd00:77::8"), 126))
    assert.are.same(false, b:isInSubnet(HostAddress("fd00:77::8"), 128))
  end)

  it("parses a subnet into an address and a prefix length, as Qt does", function()
    local addr, bits = HostAddress.parseSubnet("192.168.1.0/24")
    assert.are.same("192.168.1.0", addr:toString())
    assert.are.same(24, bits)
    addr, bits = HostAddress.parseSubnet("fe80::/10")
    assert.are.same("fe80::", addr:toString())
    assert.are.same(10, bits)
    addr, bits = HostAddress.parseSubnet("10.0.0.1")
    assert.are.same(32, bits)
    addr, bits = HostAddress.parseSubnet("10.0.0.0/33")
    assert.are.same(true, addr:isNull())
    assert.are.same(-1, bits)
    addr, bits = HostAddress.parseSubnet("nonsense/8")
    assert.are.same(-1, bits)
  end)

  it("gives the 16 bytes of toIPv6Address, v4-mapped for IPv4", function()
    assert.are.same(("\0"):rep(15) .. "\1", HostAddress("::1"):toIPv6Address())
    assert.are.same(("\0"):rep(10) .. "\255\255\127\0\0\1", HostAddress("127.0.0.1"):toIPv6Address())
  end)
end)
