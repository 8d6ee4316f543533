-- luanet.http: HTTP/1.1 for scripts and services, on net.HttpParser
-- (llhttp in C). net.http.Server (also net.HttpServer) is the server
-- (luanet.http.server); net.http.request and net.http.get are the client's
-- direct form for tasks (luanet.http.client).
local server = require "luanet.http.server"
local client = require "luanet.http.client"

return {
  Server = server.Server,
  REASONS = server.REASONS,
  date = server.date,
  request = client.request,
  get = client.get,
  parse_url = client.parse_url,
}
