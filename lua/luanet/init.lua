--- luanet: the library scripts require. The C core (luanet.core: the loop,
-- tasks, signals, sockets, timers) plus the classes written in Lua, each
-- loaded when a script first names it: an echo server pays nothing for
-- HTTP or FTP.
--
-- `local net = require "luanet"` gives this table: the functions below,
-- the classes (net.TcpSocket, net.Timer, ...: each has a page of its
-- own) and the modules net.json, net.http and net.ftp. Under luanetd a
-- service's code gets the same table.
-- @module net
-- @usage local net = require "luanet"
-- local t = net.Timer()
-- t.timeout:connect(function() print("tick"); net.quit(0) end)
-- t:start(100)
-- os.exit(net.exec())
local net = require "luanet.core"
require "luanet.http.server"   -- small: the Lua half of the C class net.HttpServer
require "luanet.ws"            -- small too: net.WebSocket's handshake and its Lua methods

local lazy = {
  DataStream = function() return require "luanet.datastream" end,
  HostInfo = function() return require "luanet.hostinfo" end,
  http = function() return require "luanet.http" end,
  Http = function() return require("luanet.http.qhttp").new end,
  ftp = function() return require "luanet.ftp" end,
  Ftp = function() return require("luanet.ftp").new end,
  FtpServer = function() return require("luanet.ftp.server").new end,
  Redis = function() return require "luanet.redis" end,
  WebSocketServer = function() return require("luanet.ws.server").new end,
}

return setmetatable(net, {
  __index = function(t, name)
    local load = lazy[name]
    if not load then return nil end
    local value = load()
    rawset(t, name, value)
    return value
  end,
})
