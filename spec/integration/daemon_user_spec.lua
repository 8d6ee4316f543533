-- `user = "nobody"` with the daemon's own files where nobody cannot read
-- them, as on a fresh machine with the clone in /root (mode 0700): the
-- Lua library the binary was built from and its TLS module are hidden
-- from nobody in a mount namespace of this spec's own (a tmpfs of mode
-- 0700 over each directory, holding a copy that root can still read).
-- The services must start and serve, TLS included, after the drop; a
-- script that nobody cannot read fails with a message that says so.
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

-- The directories the binary under test reads its library and its TLS
-- module from: lua/ of this checkout, and luanet/ beside the binary.
local ROOT = os.getenv("PWD")
local BIN_DIR = (helper.LUANETD:match("^(.*)/[^/]+$") or ".")
if BIN_DIR:sub(1, 1) ~= "/" then BIN_DIR = ROOT .. "/" .. BIN_DIR end

-- A service that needs the library after the drop (luanet.http is
-- required when it starts) and answers each line with "http:" and it.
local SERVICE = [[
local service = ...
local net = require "luanet"
local http = require "luanet.http"
local server = service.listeners[1]
server.newConnection:connect(function()
  local c = server:nextPendingConnection()
  c.readyRead:connect(function()
    while c:canReadLine() do c:write(type(http.get) .. ":" .. c:readLine()) end
  end)
end)
]]

-- sh that hides `dirs` behind tmpfs copies of mode 0700, then runs the rest.
local function hiding(dirs)
  local steps = {}
  for i, dir in ipairs(dirs) do
    local copy = ("/tmp/luanetd-hide-$$-%d"):format(i)
    local q = helper.quote(dir)
    steps[#steps + 1] = ("cp -a %s %s && mount -t tmpfs tmpfs %s && cp -a %s/. %s && rm -rf %s && chmod 0700 %s")
      :format(q, copy, q, copy, q, copy, q)
  end
  return "unshare --mount --propagation private sh -c " ..
    helper.quote(table.concat(steps, " && ") .. ' && exec "$@"') .. " sh"
end

local function ask(port, line, tls_ca)
  local sock = net.TcpSocket()
  if tls_ca then
    sock:setCaCertificates(tls_ca)
    sock:connectToHostEncrypted("localhost", port)
    assert(sock:waitForEncrypted(3000), sock:errorString())
  else
    sock:connectToHost("127.0.0.1", port)
    assert(sock:waitForConnected(3000), sock:errorString())
  end
  sock:write(line .. "\n")
  local got = ""
  helper.run(3000, function()
    got = got .. sock:readAll()
    return got:find("\n") ~= nil
  end)
  sock:abort()
  return got
end

describe('user = "nobody" when nobody cannot read the daemon\'s own files', function()
  it("serves from the built-in library, TLS too, and names a script it cannot read", function()
    local pki = require("support.pki").make()
    finally(pki.cleanup)
    -- The config, the service script and the certificate in a directory
    -- nobody may read; the unreadable script in one it may not.
    local dir = dh.tmpdir()
    finally(function() os.execute("rm -rf " .. helper.quote(dir)) end)
    os.execute(("cp %s %s %s/ && mkdir %s/private"):format(helper.quote(pki.localhost.cert),
      helper.quote(pki.localhost.key), helper.quote(dir), helper.quote(dir)))
    local cert = dir .. "/" .. pki.localhost.cert:match("[^/]+$")
    local key = dir .. "/" .. pki.localhost.key:match("[^/]+$")
    dh.write(dir .. "/svc.lua", SERVICE)
    dh.write(dir .. "/private/secret.lua", SERVICE)
    dh.write(dir .. "/luanetd.conf", ([[
control = %q
user = "nobody"
shutdown_timeout = 1000
service "plain" { script = "svc.lua", listen = "tcp://127.0.0.1:0" }
service "tls" { script = "svc.lua", listen = "tls://127.0.0.1:0", tls = { cert = %q, key = %q } }
service "secret" { script = "private/secret.lua", listen = "tcp://127.0.0.1:0" }
]]):format(dir .. "/ctl.sock", cert, key))
    os.execute(("chmod 0755 %s && chmod 0644 %s/*.lua %s/luanetd.conf %s %s && chmod 0700 %s/private")
      :format(helper.quote(dir), helper.quote(dir), helper.quote(dir), helper.quote(cert), helper.quote(key),
              helper.quote(dir)))

    local cmd = hiding{ ROOT .. "/lua", BIN_DIR .. "/luanet" } .. " " .. helper.quote_all(helper.LUANETD, "-c",
      dir .. "/luanetd.conf")
    local d = dh.handle(dir, dir .. "/luanetd.conf", dir .. "/ctl.sock", cmd)
    finally(d.cleanup)
    assert.is_not_nil(d.wait_log("info plain started"), d.log())
    assert.is_not_nil(d.wait_log("info tls started"), d.log())

    -- It runs as nobody, and both services serve.
    local status = helper.slurp(("/proc/%d/status"):format(assert(d.pid())))
    local code, nobody = helper.execute("id -u nobody")
    assert.are.same(0, code)
    assert.are.same(nobody:match("%d+"), status:match("\nUid:%s+(%d+)"))
    assert.are.same("function:hello\n", ask(d.port("plain"), "hello"))
    assert.are.same("function:secure\n", ask(d.port("tls"), "secure", pki.ca))

    -- The script nobody cannot read: a clear error naming it and the user.
    local msg = d.wait_log("error secret failed to start: ([^\n]*); trying again in %d+ s\n")
    assert.are.same(('cannot open %s/private/secret.lua: Permission denied (the daemon runs as user "nobody", '
      .. 'set by user =)'):format(dir), msg)
    assert.are.same(0, d.stop())
  end)
end)
