-- luanet.ftp: FTP for scripts and services (net.ftp). net.Ftp (Qt 4's
-- QFtp) and the direct form for tasks, net.ftp.get, put and list, are the
-- client (luanet.ftp.client); net.FtpServer is the server
-- (luanet.ftp.server), loaded only when a script names it.
local client = require "luanet.ftp.client"

return {
  new = client.new,
  parse_url = client.parse_url,
  get = client.get,
  put = client.put,
  list = client.list,
}
