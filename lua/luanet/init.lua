-- luanet: the library scripts require. The C core (luanet.core: the loop,
-- tasks, signals, sockets, timers) plus the classes written in Lua.
local net = require "luanet.core"

net.DataStream = require "luanet.datastream"
net.HostInfo = require "luanet.hostinfo"
net.http = require "luanet.http"
net.HttpServer = net.http.Server
net.Http = require("luanet.qhttp").new

return net
