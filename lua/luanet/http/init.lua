--- luanet.http: HTTP/1.1 and HTTP/2 for scripts and services, on net.HttpParser
-- (llhttp in C) and libnghttp2. net.http.Server (also net.HttpServer) is the server
-- (luanet.http.server); net.http.request and net.http.get are the client's
-- direct form for tasks (luanet.http.client).
--
-- The client's waits suspend only the calling task (outside one they run
-- the loop nested). A failure is nil, a message and its kind: "url",
-- "network" (refused, reset, timed out, a malformed response), "dns",
-- "tls", "file" (a sink path that cannot be opened); an HTTP error
-- status is a response, not a failure. Idle keep-alive connections are
-- kept per scheme, host and port for the next request; they keep no
-- script running. On https:// the client offers HTTP/2 by ALPN; a server
-- that takes it carries all of the state's requests to it on one
-- connection, as streams.
-- @module http
-- @qt QNetworkAccessManager
-- @usage local res, err, kind = net.http.get("http://127.0.0.1:8080/x")
-- if res then print(res.status, res.headers["content-type"], #res.body) end
local server = require "luanet.http.server"
local client = require "luanet.http.client"

return {
  --- net.HttpServer, the server.
  -- @field Server
  Server = server.Server,
  --- Status code to reason phrase: REASONS[404] == "Not Found".
  -- @field REASONS
  REASONS = server.REASONS,
  --- The HTTP-date (RFC 9110) of a time (lua/luanet/http/server.lua).
  -- @function date
  -- @tparam[opt] integer t seconds since the epoch; now by default
  -- @treturn string "Sun, 06 Nov 1994 08:49:37 GMT"
  date = server.date,
  --- Makes a request and returns its response (lua/luanet/http/client.lua):
  -- redirects are followed, https:// is verified against the system's CA
  -- store. A wrong option type raises.
  -- @function request
  -- @tparam table options url; method ("GET"); headers; body (a string);
  -- timeout (ms for all of it, 30000); maxRedirects (5); sink (function(chunk),
  -- or a file path: the body goes there); progress (function(done, total));
  -- tls (setSslConfiguration's options); http2 (true: https:// offers h2 by
  -- ALPN, and the state's requests to an origin that takes it share one
  -- connection as streams; false: HTTP/1.1 only)
  -- @treturn table res: status, reason, headers (lower-case names), body
  -- (unless a sink took it), url (after redirects), httpVersion ("2", "1.1"
  -- or "1.0"); or nil, message, kind
  -- @qt QNetworkAccessManager::sendCustomRequest
  request = client.request,
  --- request with method GET (lua/luanet/http/client.lua).
  -- @function get
  -- @tparam string url
  -- @tparam[opt] table options as request's
  -- @treturn table res, or nil, message, kind
  -- @qt QNetworkAccessManager::get
  get = client.get,
  --- Reads an http:// or https:// URL (lua/luanet/http/client.lua).
  -- @function parse_url
  -- @tparam string url
  -- @treturn table { scheme, host, port, target, authority }, or nil and why
  -- @qt QUrl
  parse_url = client.parse_url,
}
