-- luanet.http.client: HTTP/1.1 requests in the direct form, for tasks:
--
--   local res, err, kind = net.http.get("http://127.0.0.1:8080/x")
--   local res, err, kind = net.http.request{ method = "POST", url = ..., headers = {...},
--                                            body = "...", timeout = 10000,
--                                            sink = function(chunk) ... end,  -- or a file path
--                                            progress = function(done, total) end,
--                                            maxRedirects = 5 }
--
-- res: status, reason, headers (lower-case names), body (unless a sink
-- took it), url (after redirects). https:// URLs are verified against the
-- system CA store (or opts.tls = { caCertificates = file, peerVerifyMode =
-- "VerifyNone", ... }, the options of setSslConfiguration). A failure is
-- nil, a message and its kind: "url" (not an http(s):// URL), "network"
-- (refused, reset, timed out, a malformed response), "dns" (the name does
-- not resolve), "tls" (the handshake failed: a certificate not trusted,
-- the wrong host name, no common protocol). An HTTP error
-- status is a response, not a failure. The waits suspend only the calling
-- task (or run the loop nested outside one, as Qt's blocking calls do).
-- Idle keep-alive connections (http and https with the default
-- verification) are kept per scheme, host and port for the next request
-- of the same state; they do not keep a script running.
--
-- HTTP/2: an https:// request offers "h2" by ALPN (opts.http2 = false:
-- not), and when the server chooses it, the state's requests to that
-- origin (and TLS options) share the one connection as streams, those made
-- while it connects included; res.httpVersion says "2" (else "1.1" or
-- "1.0"). A server that chooses HTTP/1.1 gets HTTP/1.1, and its idle
-- keep-alive connections are used first from then on. http:// stays
-- HTTP/1.1, as in curl and browsers.
local net = require "luanet.core"
local REASONS = require("luanet.http.server").REASONS

local client = {}

local DEFAULT_TIMEOUT = 30000
local DEFAULT_REDIRECTS = 5
local READ_CHUNK_WAIT = 1   -- waitForReadyRead: the time-out is checked between reads

-- "host:port" as a Host header and an absolute URI write it: an IPv6
-- address in brackets, the default port left out.
local DEFAULT_PORTS = { http = 80, https = 443 }

function client.authority(host, port, scheme)
  local default = DEFAULT_PORTS[scheme or "http"]
  return (host:find(":", 1, true) and "[" .. host .. "]" or host) .. (port ~= default and ":" .. port or "")
end

-- parse_url("http://host:port/path?q") -> { scheme, host, port, target }
function client.parse_url(url)
  if type(url) ~= "string" then return nil, "not a URL" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, ("not an absolute URL: %s"):format(url) end
  scheme = scheme:lower()
  if not DEFAULT_PORTS[scheme] then return nil, ("unsupported scheme %s (http and https only)"):format(scheme) end
  local authority, target = rest:match("^([^/?#]*)([^#]*)")
  if authority == "" then return nil, ("no host in %s"):format(url) end
  if authority:find("@", 1, true) then return nil, "user information in URLs is not supported" end
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host then return nil, ("bad host in %s"):format(url) end
  port = port ~= "" and tonumber(port) or DEFAULT_PORTS[scheme]
  if port < 1 or port > 65535 then return nil, ("bad port in %s"):format(url) end
  if target == "" then target = "/" elseif target:sub(1, 1) == "?" then target = "/" .. target end
  return { scheme = scheme, host = host, port = port, target = target,
           authority = client.authority(host, port, scheme) }
end

-- A Location against the URL it came from.
local function resolve(base, location)
  if location:match("^%a[%w+.-]*://") then return location end
  local u = assert(client.parse_url(base))
  local origin = ("%s://%s"):format(u.scheme, u.authority)
  if location:sub(1, 2) == "//" then return u.scheme .. ":" .. location end
  if location:sub(1, 1) == "/" then return origin .. location end
  local dir = u.target:match("^([^?]*/)") or "/"
  return origin .. dir .. location
end

-- ---------------------------------------------------------------- connections

local idle = {}   -- pool_key -> { socket, ... }: keep-alive connections

local function take_idle(key)
  local list = idle[key]
  while list and #list > 0 do
    local sock = table.remove(list)
    if sock:state() == "ConnectedState" and sock:bytesAvailable() == 0 then
      sock:ref()
      return sock
    end
    sock:abort()
  end
end

-- The pool's key: the origin, and for TLS the options the connection was
-- verified under (as Node's agent keys on ca, cert and the rest), so a
-- request never gets a connection checked less strictly than it asks.
-- nil (not pooled) when an option cannot be written down.
local function options_text(v)
  local t = type(v)
  if t == "string" then return ("%q"):format(v) end
  if t == "number" or t == "boolean" then return tostring(v) end
  if t ~= "table" then return nil end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, k in ipairs(keys) do
    local text = options_text(v[k])
    if not text then return nil end
    parts[i] = tostring(k) .. "=" .. text
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function pool_key(u, tls)
  local key = u.scheme .. "://" .. u.host .. ":" .. u.port
  if not tls then return key end
  local text = options_text(tls)
  return text and key .. " " .. text
end

-- key is nil for a connection that must not be shared: one whose
-- certificate errors were ignored, or whose options pool_key cannot write.
local function give_back(key, sock)
  if not key then
    sock:disconnectFromHost()
    return
  end
  idle[key] = idle[key] or {}
  table.insert(idle[key], sock)
  -- As Node's agent does: an idle connection does not keep the script
  -- running; it still notices when the server closes it.
  sock:unref()
end

local function failed(sock, u)
  local e = sock:error()
  local kind = e == "HostNotFoundError" and "dns" or e == "SslHandshakeFailedError" and "tls" or "network"
  local msg = ("%s:%d: %s"):format(u.host, u.port, sock:errorString())
  sock:abort()
  return nil, msg, kind
end

-- HTTP/2 connections, per pool key: one Http2Client (net._Http2Client,
-- daemon/http/h2_client.c) for every request of the state to the origin,
-- from the moment its socket starts connecting.
local h2conns = {}

local H2_OFFER = "h2,http/1.1"

-- Origins whose server chose HTTP/1.1 lately (pool key -> until when, ms):
-- their new connections still offer h2, but requests do not queue on one
-- while it connects, since it will most likely not carry them.
local h1_origins = {}
local H1_MEMORY = 60000

-- A connection to u's origin: { h2 = Http2Client } or { sock = TcpSocket,
-- key = pool key or nil, reused = whether it served a request before }.
-- A usable HTTP/2 connection comes first, then an idle HTTP/1.1 one (the
-- origin chose HTTP/1.1 before), then a new connection, which offers h2
-- when http2 is true. tls: setSslConfiguration's options, or nil;
-- on_errors(sock, errors): called from sslErrors (it may call
-- sock:ignoreSslErrors()).
local function connect(u, deadline, tls, on_errors, http2)
  local key = pool_key(u, tls)
  http2 = http2 and u.scheme == "https"
  local h2 = http2 and key and h2conns[key]
  if h2 then
    if h2:usable() then return { h2 = h2, key = key, reused = h2:attached() } end
    h2conns[key] = nil   -- closed, or going away: its streams end on their own
  end
  local sock = key and take_idle(key)
  if sock then return { sock = sock, key = key, reused = true } end
  sock = net.TcpSocket()
  if u.scheme == "https" then
    if tls then
      local ok, err = sock:setSslConfiguration(tls)
      if not ok then return nil, err, "tls" end
    end
    if on_errors then sock.sslErrors:connect(function(errors) on_errors(sock, errors) end) end
    if http2 then
      sock:_offerAlpn(H2_OFFER)
      h2 = net._Http2Client()
      if key and (h1_origins[key] or 0) < net.clock() then
        h2conns[key] = h2   -- requests made meanwhile queue on it
      end
    end
    sock:connectToHostEncrypted(u.host, u.port)
    local ok = sock:waitForEncrypted(math.max(1, deadline - net.clock()))
    if h2 and key and h2conns[key] == h2 and not (ok and sock:negotiatedProtocol() == "h2" and
                                                  #sock:sslHandshakeErrors() == 0) then
      -- not to be shared: it failed, chose HTTP/1.1, or its certificate's
      -- errors were ignored (the requests queued on it retry elsewhere)
      h2conns[key] = nil
      h2:abandon(ok and "the server chose HTTP/1.1" or "the connection failed")
      if ok and sock:negotiatedProtocol() == "h2" then h2 = net._Http2Client() end
    end
    if not ok then return failed(sock, u) end
    if #sock:sslHandshakeErrors() > 0 then key = nil end   -- ignored errors: not for the pool
    if h2 and sock:negotiatedProtocol() == "h2" then
      h2:attach(sock)
      if key then h2conns[key], h1_origins[key] = h2, nil end
      return { h2 = h2, key = key, reused = false }
    end
    if h2 and key then h1_origins[key] = net.clock() + H1_MEMORY end
  else
    sock:connectToHost(u.host, u.port)
    if not sock:waitForConnected(math.max(1, deadline - net.clock())) then return failed(sock, u) end
  end
  return { sock = sock, key = key, reused = false }
end

-- After an exchange: an HTTP/1.1 connection that may be kept goes back
-- to the idle ones; an HTTP/2 one stays for the origin's next request.
local function finish(conn, res)
  if conn.h2 then return end
  if res and res.keepAlive then give_back(conn.key, conn.sock) else conn.sock:disconnectFromHost() end
end

-- Ends what the connection is doing now (net.Http's abort, a failure):
-- the socket of HTTP/1.1, the stream of HTTP/2 (the others go on).
local function abort(conn)
  if conn.h2 then
    if conn.stream then conn.stream:cancel() end
  else
    conn.sock:abort()
  end
end

-- ---------------------------------------------------------------- one exchange

local function request_head(opts, u, body)
  local headers, seen = {}, {}
  for k, v in pairs(opts.headers or {}) do
    headers[#headers + 1] = ("%s: %s\r\n"):format(k, v)
    seen[k:lower()] = true
  end
  if not seen["host"] then headers[#headers + 1] = "Host: " .. u.authority .. "\r\n" end
  if not seen["user-agent"] then headers[#headers + 1] = "User-Agent: luanetd\r\n" end
  if body and not seen["content-length"] then headers[#headers + 1] = ("Content-Length: %d\r\n"):format(#body) end
  table.sort(headers)
  return ("%s %s HTTP/1.1\r\n%s\r\n"):format(opts.method, u.target, table.concat(headers))
end

-- Sends one request and reads its response on sock (HTTP/1.1).
local function exchange_h1(sock, opts, u, deadline)
  local body = opts.body
  local head = request_head(opts, u, body)
  if sock:write(body and head .. body or head) == false then return nil, sock:errorString(), "network" end
  local p = net.HttpParser("response", 64 * 1024)
  p:skipBody(opts.method == "HEAD")
  local res, chunks, got = nil, {}, 0
  local sink = opts.sink
  local function take_body()
    local b = p:takeBody()
    if #b == 0 then return end
    got = got + #b
    if sink then sink(b) else chunks[#chunks + 1] = b end
    if opts.progress then opts.progress(got, res and res.length) end
  end
  while true do
    local data = sock:readAll()
    if data == "" then
      if sock:state() ~= "ConnectedState" then
        if res and p:finish() then   -- a body that ran to the close
          take_body()
          break
        end
        return nil, ("%s:%d: the connection closed before the response ended"):format(u.host, u.port), "network"
      end
      if net.clock() >= deadline then return nil, ("%s:%d: timed out"):format(u.host, u.port), "network" end
      sock:waitForReadyRead(math.max(READ_CHUNK_WAIT, math.min(1000, deadline - net.clock())))
    else
      local from, done = 1, false
      repeat
        local what, nxt = p:execute(data, from)
        from = nxt
        if what == "error" then
          return nil, ("%s:%d: malformed response"):format(u.host, u.port), "network"
        elseif what == "headers" or (what == "message" and not res) then
          local major, minor = p:version()
          res = { status = p:status(), reason = p:reason(), headers = p:headers(), length = p:contentLength(),
                  keepAlive = p:keepAlive(), httpVersion = major .. "." .. minor }
          if opts.on_head then opts.on_head(res) end
          if what == "message" then done = true end
        elseif what == "message" then
          done = true
        end
        take_body()
      until done or what == "more"
      if done then break end
    end
  end
  res.body = not sink and table.concat(chunks) or nil
  res.length = nil
  return res
end

-- The fields of an HTTP/2 request: the caller's (Host becomes :authority,
-- HTTP/2 drops the connection's own, names go lower-case in C), with
-- the defaults HTTP/1.1's request_head adds.
local function h2_headers(opts, body)
  local headers, seen = {}, {}
  for k, v in pairs(opts.headers or {}) do
    headers[k] = tostring(v)
    seen[k:lower()] = k
  end
  if not seen["user-agent"] then headers["user-agent"] = "luanetd" end
  if body and not seen["content-length"] then headers["content-length"] = tostring(#body) end
  return headers, seen.host and headers[seen.host]
end

-- One request as a stream of an HTTP/2 connection: the same res as
-- exchange_h1's. The last result says whether another connection may
-- take the request again (the server refused the stream or never got it).
local function exchange_h2(conn, opts, u, deadline)
  local body = opts.body or nil
  local headers, host = h2_headers(opts, body)
  local st, err = conn.h2:request(opts.method, u.scheme, host or u.authority, u.target, headers, body)
  if not st then return nil, ("%s:%d: %s"):format(u.host, u.port, err), "network", true end
  conn.stream = st
  local function failure(why, retry)
    return nil, ("%s:%d: %s"):format(u.host, u.port, why), "network", retry
  end
  -- Waits for the stream to change, until the deadline.
  local function wait()
    local left = deadline - net.clock()
    if left <= 0 then
      st:cancel()
      return false
    end
    st:wait(left)
    return true
  end
  local status, headers_in, retry
  repeat
    status, headers_in, retry = st:head()
    -- a stream refused, or a kept connection that failed before any
    -- answer (as HTTP/1.1's kept-alive retry): another connection may
    if not status and headers_in then return failure(headers_in, retry or conn.reused) end
  until status or not wait()
  if not status then return failure("timed out") end
  local res = { status = status, reason = REASONS[status] or "", headers = headers_in,
                length = tonumber(headers_in["content-length"]), httpVersion = "2" }
  if opts.on_head then opts.on_head(res) end
  local chunks, got, sink = {}, 0, opts.sink
  while true do
    local chunk, why = st:read()
    if chunk == nil then
      if why then return failure(why) end
      break
    end
    if chunk ~= "" then
      got = got + #chunk
      if sink then sink(chunk) else chunks[#chunks + 1] = chunk end
      if opts.progress then opts.progress(got, res.length) end
    elseif not wait() then
      return failure("timed out")
    end
  end
  conn.stream = nil
  res.body = not sink and table.concat(chunks) or nil
  res.length = nil
  return res
end

-- Sends one request and reads its response on conn (connect's). opts:
-- method, headers, body, sink(chunk), progress(done, total),
-- on_head(res). nil, message, kind and whether a retry may help, on
-- failure.
local function exchange(conn, opts, u, deadline)
  if conn.h2 then return exchange_h2(conn, opts, u, deadline) end
  return exchange_h1(conn.sock, opts, u, deadline)
end

-- ---------------------------------------------------------------- requests

function client.request(opts)
  if type(opts) ~= "table" then error("http.request: a table of options expected", 2) end
  local method = (opts.method or "GET"):upper()
  local url = opts.url
  local timeout = opts.timeout or DEFAULT_TIMEOUT
  local redirects = opts.maxRedirects or DEFAULT_REDIRECTS
  local sink = opts.sink
  local file
  if type(sink) == "string" then
    local f, err = io.open(sink, "wb")
    if not f then return nil, err, "file" end
    file = f
    sink = function(chunk) file:write(chunk) end
  end
  local deadline = net.clock() + timeout
  local res, err, kind
  for _ = 0, redirects do
    local u
    u, err = client.parse_url(url)
    if not u then kind = "url" break end
    local conn
    conn, err, kind = connect(u, deadline, opts.tls, nil, opts.http2 ~= false)
    if not conn then break end
    local o = { method = method, headers = opts.headers, body = opts.body, sink = sink, progress = opts.progress }
    local retry
    res, err, kind, retry = exchange(conn, o, u, deadline)
    if not res and (retry or (conn.reused and not conn.h2)) then
      -- a kept-alive connection the server had closed, a stream it
      -- refused, or an HTTP/2 connection that chose HTTP/1.1: once more
      abort(conn)
      if conn.key and not conn.h2 then idle[conn.key] = nil end
      conn = connect(u, deadline, opts.tls, nil, opts.http2 ~= false)
      if conn then res, err, kind = exchange(conn, o, u, deadline) end
    end
    if not res then
      if conn then abort(conn) end
      break
    end
    finish(conn, res)
    res.keepAlive = nil
    res.url = url
    local location = res.headers.location
    if not (location and (res.status == 301 or res.status == 302 or res.status == 303 or
                          res.status == 307 or res.status == 308)) then
      break
    end
    url = resolve(url, location)
    if res.status == 303 or ((res.status == 301 or res.status == 302) and method == "POST") then
      method, opts = "GET", setmetatable({ body = false }, { __index = opts })
    end
  end
  if file then file:close() end
  if not res then return nil, err, kind end
  return res
end

function client.get(url, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.url, o.method = url, "GET"
  return client.request(o)
end

-- For net.Http (luanet.http.qhttp), which runs its own queue of requests on
-- the same connections and exchanges.
client.connect = connect
client.exchange = exchange
client.finish = finish
client.abort = abort

return client
