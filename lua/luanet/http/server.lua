-- luanet.http.server: the HTTP/1.1 server of luanet.http. The server is
-- net.HttpServer, in C (daemon/http/http_server.c and its neighbours: llhttp
-- parsing and response framing); this module adds what is best said in
-- Lua, and is shaped for a user who knows Node's http module:
--
--   local server = net.HttpServer{ maxBody = 1 << 20 }
--   server.request:connect(function(req, res)
--     res:setHeader("Content-Type", "text/plain")
--     res:finish("Hello, World!\n")
--   end)
--   server:listen("127.0.0.1", 8080)      -- or server:serve(tcpServer)
--
-- req: method, target, path, query, version ("1.1"), http11, keepAlive,
-- headers (lower-case names), body (buffered, up to maxBody), socket,
-- peer; with streamBody, req:read() instead of body. res: statusCode,
-- headersSent, finished, socket, setHeader, getHeader, removeHeader,
-- writeHead, write (chunked when no Content-Length was set; waits while
-- more than 1 MiB is queued), finish, sendFile.
-- Requests of one connection are answered in order (pipelining).
-- Keep-alive, HEAD, Expect: 100-continue and HTTP/1.0 are handled; limits
-- answer 400 (malformed), 408 (head not complete in time), 413 (body too
-- large), 431 (head too large); a handler that raises before its response
-- is finished gets a 500 sent for it.
local net = require "luanet.core"

local http = {}   -- this module: Server, REASONS, date

http.Server = net.HttpServer
http.REASONS = net.HttpServer.REASONS

-- The HTTP-date (RFC 9110) of a time, seconds since the epoch.
function http.date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

--- HttpRequest's read (the Lua half, here).
-- @classmod HttpRequest

--- req:read([ms]) (streamBody): the next piece of the body, nil at its end;
-- nil and an error when the connection went or ms passed first.
-- @function read
-- @tparam[opt] number ms no limit by default
-- @treturn string|nil the bytes, or nil at the end
-- @return or nil and "timed out" or "connection closed"
function net.HttpServer.Request.read(req, ms)
  while true do
    local data, err = req:readSome()
    if data ~= false then return data, err end
    if not req:waitBody(ms) then
      data, err = req:readSome()
      if data ~= false then return data, err end
      return nil, "timed out"
    end
  end
end

-- res:write(data): back-pressure. Past WRITE_HIGH queued bytes, a handler
-- (a task) waits until the peer has taken the queue below WRITE_LOW, so a
-- response streamed to a slow client holds a bounded amount of memory.
-- false when the connection is gone.
local WRITE_HIGH, WRITE_LOW = 1 << 20, 256 << 10
local write = net.HttpServer.Response.write
function net.HttpServer.Response.write(res, data)
  if not write(res, data) then return false end
  local sock = res.socket
  if sock:bytesToWrite() <= WRITE_HIGH or not coroutine.isyieldable() then return true end
  while sock:bytesToWrite() > WRITE_LOW do
    if sock:state() ~= "ConnectedState" then return false end
    sock:waitForBytesWritten(30000)
  end
  return true
end

return http
