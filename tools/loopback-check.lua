-- tools/loopback-check.lua: what a stock lua5.4 proves with an installed
-- luanet module, run by tools/deb-check.sh (the Debian package in a fresh
-- root) and spec/integration/rockspec_spec.lua (a luarocks tree): a
-- TcpServer on 127.0.0.1 and a TcpSocket exchange a line. It prints where
-- luanet and luanet.core were found, then the line the server sent back,
-- and exits 0; 1 if no line came within 5 s.
--
--   lua5.4 tools/loopback-check.lua
local net = require "luanet"

print("luanet: " .. package.searchpath("luanet", package.path))
print("luanet.core: " .. package.searchpath("luanet.core", package.cpath))

local server = net.TcpServer()
assert(server:listen("127.0.0.1", 0), server:errorString())
server.newConnection:connect(function()
  local peer = server:nextPendingConnection()
  peer.readyRead:connect(function()
    while peer:canReadLine() do peer:write("echo: " .. peer:readLine()) end
  end)
end)

local client = net.TcpSocket()
client.connected:connect(function() client:write("hello over 127.0.0.1\n") end)
client.readyRead:connect(function()
  if client:canReadLine() then
    io.write(client:readLine())
    client:close()
    net.quit(0)
  end
end)
client:connectToHost("127.0.0.1", server:serverPort())

local timer = net.Timer()
timer:setSingleShot(true)
timer.timeout:connect(function()
  io.stderr:write("loopback-check: no line back within 5 s\n")
  net.quit(1)
end)
timer:start(5000)

os.exit(net.exec())
