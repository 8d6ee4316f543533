-- make install: the files land where a user (and a stock lua5.4) finds
-- them, and the installed daemon runs its installed config. Installs into
-- a temporary PREFIX, so nothing of the system changes. It builds a
-- release build (build-install/), so it runs in the first pass only: the
-- sanitizer pass tests the same sources.
local helper = require "helper"

local ASAN_PASS = helper.LUANETD:find("asan", 1, true) ~= nil

describe("make install", function()
  local it_first_pass = ASAN_PASS and pending or it

  it_first_pass("installs the binary, library, scripts, config and unit under PREFIX", function()
    local p = io.popen("mktemp -d /tmp/luanetd-install.XXXXXX")
    local prefix = p:read("l")
    p:close()
    finally(function() os.execute("rm -rf " .. helper.quote(prefix)) end)
    local conf = prefix .. "/etc/luanetd/luanetd.conf"
    local code, out, err = helper.execute(helper.quote_all("make", "-s", "install", "PREFIX=" .. prefix,
                                                           "SYSCONFDIR=" .. prefix .. "/etc"), 240000)
    assert.are.same(0, code, out .. err)

    for _, f in ipairs({ "bin/luanetd", "share/lua/5.4/luanet/init.lua", "share/lua/5.4/luanet/cli.lua",
                         "share/luanetd/scripts/fortune_server.lua", "etc/luanetd/luanetd.conf",
                         "lib/systemd/system/luanetd.service" }) do
      assert.is_truthy(io.open(prefix .. "/" .. f), f)
    end
    local unit = assert(io.open(prefix .. "/lib/systemd/system/luanetd.service")):read("a")
    assert.matches("ExecStart=" .. prefix:gsub("%p", "%%%0") .. "/bin/luanetd %-c " ..
                   prefix:gsub("%p", "%%%0") .. "/etc/luanetd/luanetd.conf", unit)
    assert.matches("Type=notify", unit)

    -- The installed config names the installed scripts, and checks.
    code, out = helper.execute(helper.quote_all(prefix .. "/bin/luanetd", "-c", conf, "--check"))
    assert.are.same({ 0, conf .. ": 6 services, config and scripts OK\n" }, { code, out })

    -- The installed binary carries its library (built in, named after
    -- where it is installed), not the tree's files: a script that asks
    -- where luanet.cli came from says so.
    local where = prefix .. "/where.lua"
    local f = assert(io.open(where, "w"))
    f:write('print(debug.getinfo(require("luanet.cli").options, "S").source)')
    f:close()
    code, out = helper.execute(helper.quote_all(prefix .. "/bin/luanetd", where))
    assert.are.same({ 0, "@" .. prefix .. "/share/lua/5.4/luanet/cli.lua\n" }, { code, out })
    -- The installed files are there for a stock lua5.4.
    assert.is_not_nil(helper.slurp(prefix .. "/share/lua/5.4/luanet/cli.lua"))

    -- And its installed TLS module: a TLS context can be made.
    f = assert(io.open(where, "w"))
    f:write('local net = require "luanet"; print(net.TcpSocket():setSslConfiguration{})')
    f:close()
    code, out = helper.execute(helper.quote_all(prefix .. "/bin/luanetd", where))
    assert.are.same({ 0, "true\n" }, { code, out })
  end)
end)
