--- luanet.ftp: FTP for scripts and services (net.ftp). net.Ftp (Qt 4's
-- QFtp) and the direct form for tasks, net.ftp.get, put and list, are the
-- client (luanet.ftp.client); net.FtpServer is the server
-- (luanet.ftp.server), loaded only when a script names it.
--
-- The direct form runs on a connection of its own in the calling task
-- (outside one the loop runs nested). A failure is nil, the error and
-- its kind: "url", "dns", "network" or "ftp" (anything after the
-- connection was made: a refused login or command, a failed transfer).
-- @module ftp
-- @qt QFtp (Qt 4)
-- @usage local data, err, kind = net.ftp.get("ftp://127.0.0.1:2121/pub/file.txt")
-- local ok, err = net.ftp.put("ftp://user:pass@127.0.0.1:2121/in/x.txt", data)
local client = require "luanet.ftp.client"

return {
  --- net.Ftp: a new Ftp (lua/luanet/ftp/client.lua).
  -- @function new
  -- @treturn Ftp
  new = client.new,
  --- Reads an ftp:// URL: ftp://[user[:pass]@]host[:port]/path (lua/luanet/ftp/client.lua).
  -- @function parse_url
  -- @tparam string url
  -- @treturn table { user, password, host, port, path }, or nil and why
  parse_url = client.parse_url,
  --- Downloads a file (lua/luanet/ftp/client.lua).
  -- @function get
  -- @tparam string url
  -- @tparam[opt] string|function to a file path or function(chunk)
  -- @return the file's bytes (or true when `to` took them), or nil, the error and its kind
  get = client.get,
  --- Uploads a file (lua/luanet/ftp/client.lua).
  -- @function put
  -- @tparam string url
  -- @tparam string data
  -- @treturn boolean true, or nil, the error and its kind
  put = client.put,
  --- Lists a directory (lua/luanet/ftp/client.lua).
  -- @function list
  -- @tparam string url
  -- @treturn {table,...} listInfo's tables, or nil, the error and its kind
  list = client.list,
}
