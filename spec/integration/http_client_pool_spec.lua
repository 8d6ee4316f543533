-- net.http's keep-alive pool as a script sees it: a script that made
-- requests exits by itself while nginx still holds the kept-alive
-- connection open (nginx's keepalive_timeout is 75 s), and the second
-- request reuses the first one's connection, over http and over https.
local helper = require "helper"
local dh = require "support.daemon_helper"

-- nginx answers /conn with its connection's serial number: the same number
-- twice means one connection served both requests.
local function start_nginx(pki)
  local lines = [[
    location = /conn { return 200 "$connection\n"; }]]
  if not pki then return require("support.nginx").start(lines) end
  return require("support.nginx").start(([[
    ssl_certificate %s;
    ssl_certificate_key %s;
%s]]):format(pki.localhost.cert, pki.localhost.key, lines), "ssl")
end

-- A script that gets url twice (with opts) and prints each body; it calls
-- neither net.quit nor os.exit, so it ends only when nothing keeps it.
local SCRIPT = [[
local net = require "luanet"
local url, ca = ...
local opts = ca and { tls = { caCertificates = ca } } or nil
for _ = 1, 2 do
  local res, err = net.http.get(url, opts)
  io.write(res and res.body or ("failed: " .. tostring(err) .. "\n"))
end
]]

-- Runs the script with `runner` (a quoted command) with a 10 s bound: exit code, stdout, stderr, elapsed ms.
local function run_script(dir, runner, ...)
  local path = dir .. "/get_twice.lua"
  dh.write(path, SCRIPT)
  local t0 = helper.now_ms()
  local code, out, err = helper.execute(runner .. " " .. helper.quote_all(path, ...), 10000)
  return code, out, err, helper.now_ms() - t0
end

local function assert_one_connection(code, out, err, ms)
  assert.are.same(0, code, err)
  local a, b = out:match("^(%d+)\n(%d+)\n$")
  assert(a, "unexpected output: " .. out .. err)
  assert.are.same(a, b)   -- the second request went over the first one's connection
  assert(ms < 3000, ("the script took %d ms to exit"):format(ms))
end

describe("net.http's idle keep-alive connections", function()
  local dir
  before_each(function() dir = dh.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. helper.quote(dir)) end)

  it("do not keep `luanetd script.lua` running, and serve the next request (http)", function()
    local port, stop = start_nginx()
    finally(stop)
    assert_one_connection(run_script(dir, helper.quote(helper.LUANETD), ("http://127.0.0.1:%d/conn"):format(port)))
  end)

  it("do not keep `luanetd script.lua` running, and serve the next request (https, a private CA)", function()
    local pki = require("support.pki").make()
    local port, stop = start_nginx(pki)
    finally(function() stop(); pki.cleanup() end)
    assert_one_connection(run_script(dir, helper.quote(helper.LUANETD), ("https://localhost:%d/conn"):format(port),
                                     pki.ca))
  end)

  it("do not keep net.exec() running under a stock lua5.4", function()
    local port, stop = start_nginx()
    finally(stop)
    dh.write(dir .. "/main.lua", [[
local net = require "luanet"
local script, url = ...
net.spawn(function() assert(loadfile(script))(url) end)
os.exit(net.exec())
]])
    dh.write(dir .. "/get_twice.lua", SCRIPT)
    local t0 = helper.now_ms()
    local code, out, err = helper.execute("env LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 "
      .. helper.quote_all(dir .. "/main.lua", dir .. "/get_twice.lua", ("http://127.0.0.1:%d/conn"):format(port)), 10000)
    assert_one_connection(code, out, err, helper.now_ms() - t0)
  end)
end)
