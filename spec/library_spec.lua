-- spec/library_spec.lua: the layout of lua/luanet (docs/LUA-LIBRARY.md):
-- the require names users have keep working next to the names that follow
-- the folders, luanetd finds them all (built in, and from LUANET_LUA_DIR),
-- the Lua classes are shaped as the C ones (__name, __tostring), and the
-- direct forms fail with nil, message, kind.
local helper = require "helper"
local net = require "luanet"

-- Old name -> the module it now is.
local ALIASES = {
  ["luanet.http_client"] = "luanet.http.client",
  ["luanet.http_server"] = "luanet.http.server",
  ["luanet.qhttp"] = "luanet.http.qhttp",
  ["luanet.ftp_parse"] = "luanet.ftp.parse",
  ["luanet.ftp_server"] = "luanet.ftp.server",
  ["luanet.config"] = "luanet.daemon.config",
}

local PUBLIC = { "luanet", "luanet.http", "luanet.ftp", "luanet.redis", "luanet.datastream", "luanet.hostinfo",
                 "luanet.discovery", "luanet.fortune", "luanet.cli" }

describe("lua/luanet", function()
  it("keeps every old require name, as the module it now is", function()
    for old, new in pairs(ALIASES) do
      assert.are.equal(require(new), require(old), old)
    end
  end)

  it("loads every public module", function()
    for _, name in ipairs(PUBLIC) do assert.is_table(require(name), name) end
    assert.are.equal(require("luanet.ftp").new, net.Ftp)
    assert.are.equal(require("luanet.ftp_server").Server, net.FtpServer)
    assert.are.equal(require("luanet.http.qhttp").new, net.Http)
    assert.are.equal(require("luanet.http.client").get, net.http.get)
  end)

  it("names its Lua classes as the C ones are named", function()
    local http, ftp = net.Http(), net.Ftp()
    assert.are.same("luanet.Http", getmetatable(http).__name)
    assert.are.same("luanet.Http (Unconnected)", tostring(http))
    assert.are.same("luanet.Ftp", getmetatable(ftp).__name)
    assert.are.same("luanet.Ftp (Unconnected)", tostring(ftp))
    local server = net.FtpServer{ root = "spec" }
    assert.are.same("luanet.FtpServer", getmetatable(server).__name)
    assert.are.same("luanet.FtpServer (not listening)", tostring(server))
    assert.is_true(server:listen("127.0.0.1", 0))
    assert.are.same(("luanet.FtpServer (listening 127.0.0.1:%d)"):format(server:serverPort()), tostring(server))
    server:close()
  end)

  it("fails a direct form with nil, message, kind", function()
    assert.are.same({ nil, "not an absolute URL: nowhere", "url" }, { net.http.get("nowhere") })
    assert.are.same({ nil, "not an ftp:// URL: nowhere", "url" }, { net.ftp.get("nowhere") })
    helper.in_task(function()
      local server, port = helper.listen()
      server:close()   -- a port nothing listens on
      local data, err, kind = net.ftp.list(("ftp://127.0.0.1:%d/"):format(port))
      assert.is_nil(data)
      assert.is_string(err)
      assert.are.same("network", kind)
    end)
  end)

  for _, dir in ipairs({ false, "lua" }) do
    it(("is found by luanetd %s"):format(dir and "from LUANET_LUA_DIR=" .. dir or "built in"), function()
      local script = os.tmpname()
      finally(function() os.remove(script) end)
      local f = assert(io.open(script, "w"))
      f:write("for _, name in ipairs{ ", ("%q, "):rep(#PUBLIC):format(table.unpack(PUBLIC)), "} do\n",
              "  assert(type(require(name)) == 'table', name)\n",
              "end\n")
      for old, new in pairs(ALIASES) do
        f:write(("assert(require(%q) == require(%q), %q)\n"):format(old, new, old))
      end
      f:write("print('ok')\n")
      f:close()
      local env = dir and "env LUANET_LUA_DIR=" .. dir or "env -u LUANET_LUA_DIR"
      local code, out, err = helper.execute(env .. " " .. helper.quote_all(helper.LUANETD, script))
      assert.are.same({ 0, "ok\n" }, { code, out }, err)
    end)
  end
end)
