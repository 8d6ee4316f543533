-- spec/support/http_conformance_cases.lua: the raw-request cases of
-- spec/integration/http_conformance_spec.lua, an HTTP/1.1 conformance and
-- smuggling suite after the public ones (http-garden, smuggler, h1spec):
-- Host, request target, absolute-form, framing (Content-Length,
-- Transfer-Encoding), smuggling, chunked syntax, malformed input (request
-- line, field syntax, line ends, control bytes, versions, methods, limits),
-- normalisation, and connection handling (keep-alive, pipelining, leading
-- CRLF, Expect, Upgrade).
--
-- A case: { name, cat, level, req, expect, rfc [, heads] }.
--   level   "must": failing it is a FAIL; "should": failing it is a WARN;
--           "info": shown, not scored.
--   req     the bytes sent on a new connection, or a list of strings and
--           waits ({ wait = ms }: read until the first bytes come or ms
--           pass; { sleep = ms }: read for ms) sent in turn.
--   expect  function(r) -> true | false, why | "warn", why, where r is the
--           observed exchange (see the spec): r.finals (final responses in
--           order: status, headers, body, echo), r.interim (1xx), r.echoes
--           (what the handler saw, one per request it ran for), r.closed,
--           r.state ("closed", "reset", "idle", "timeout"), r.garbage
--           (bytes that are no HTTP response).
--   heads   indexes of the final responses that answer HEAD (no body).
-- An expectation that returns "warn" gives WARN whatever the level (an
-- allowed but lenient reading, e.g. a bare LF accepted, or a cautious
-- refusal of a valid request); false gives FAIL at "must" and WARN at
-- "should". A server that sends nothing within the time bound (it waits
-- for more) fails a refuse() case (malformed input is refused at once)
-- and passes a waits() one (the request is incomplete).
--
-- The echo servers answer 200 with "ECHO\n" and key=value lines: method,
-- target, path, query, host (the Host the handler sees), rhost (luanetd's
-- req.host when it has one), version, body, cl, te (the Content-Length and
-- Transfer-Encoding fields the handler sees), probe (the X-Probe field).
-- "has=" lists the keys a peer can give: a check of a key a peer cannot
-- give (nginx: path, query, body; node: path, query) is skipped for it,
-- and the case is scored on status, count and close alone.
local M = {}

local CRLF = "\r\n"
local HOST = "example.com"
local H = "Host: " .. HOST .. CRLF

-- ------------------------------------------------------------ observing

local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function show(s, max)
  s = tostring(s)
  s = s:gsub("[^\32-\126]", function(c) return ("\\x%02x"):format(c:byte()) end)
  max = max or 40
  if #s > max then s = s:sub(1, max) .. "..." end
  return s
end
M.show = show

-- A short account of an exchange: "400 closed", "200[/a] 200[/b] idle".
function M.summary(r)
  local parts = {}
  for _, i in ipairs(r.interim) do parts[#parts + 1] = tostring(i.status) end
  for _, f in ipairs(r.finals) do
    local s = tostring(f.status)
    if f.echo and f.echo.target then s = s .. "[" .. show(f.echo.target, 16) .. "]" end
    parts[#parts + 1] = s
  end
  if r.garbage then parts[#parts + 1] = "<no status line: " .. show(r.garbage, 12) .. ">" end
  if #parts == 0 then parts[1] = "-" end
  return table.concat(parts, " ") .. " " .. r.state
end

local function describe_echo(e)
  return ("%s %s"):format(show(e.method, 10), show(e.target, 30))
end

-- The host a peer reports, against the one expected: nginx reports the
-- name alone ($host: lower case, no port).
local function host_matches(e, want)
  if e.hostmode == "name" then
    if want:match("^%[") then
      want = want:lower():gsub("%]:%d*$", "]")
    else
      want = want:lower():gsub(":%d*$", ""):gsub("%.$", "")
    end
    return e.host == want
  end
  return e.host == want
end

-- Compares the fields of `want` with echo e; keys e cannot give are skipped.
local function fields_match(e, want)
  for k, v in pairs(want) do
    if k == "host" then
      if e.caps.host and not host_matches(e, v) then
        return false, ("the handler saw Host %q, not %q"):format(show(e.host), v)
      end
      if e.rhost and e.rhost ~= v then
        return false, ("the handler saw req.host %q, not %q"):format(show(e.rhost), v)
      end
    elseif type(v) == "function" then
      local ok, why = v(e[k], e)
      if e.caps[k] and not ok then return false, why or ("%s is %q"):format(k, show(e[k])) end
    elseif e.caps[k] then
      if v == M.NONE then
        if e[k] ~= nil and e[k] ~= "" then return false, ("%s is %q, expected none"):format(k, show(e[k])) end
      elseif e[k] ~= v then
        return false, ("%s is %q, expected %q"):format(k, show(e[k] == nil and "(none)" or e[k]), show(v))
      end
    end
  end
  return true
end

M.NONE = setmetatable({}, { __tostring = function() return "(none)" end })

-- ------------------------------------------------------------ expectations

-- The request is refused: the first final response has one of `codes`
-- (default 400), the handler never ran, the connection closes.
-- opts.close = "must": an open connection after the refusal is a FAIL
-- (framing errors, RFC 9112 §6.3), otherwise a WARN.
local function refuse(codes, opts)
  codes = codes or { 400 }
  opts = opts or {}
  return function(r)
    if #r.echoes > 0 then
      return false, "accepted: the handler ran for " .. describe_echo(r.echoes[1])
    end
    local f = r.finals[1]
    if not f then
      if r.garbage then return false, "answered without a status line: " .. show(r.garbage, 20) end
      if r.closed then return "warn", "closed without a response" end
      return false, "no response within the time bound (waits for more)"
    end
    if not contains(codes, f.status) then
      if f.status >= 400 then
        return "warn", ("refused with %d, expected %s"):format(f.status, table.concat(codes, "/"))
      end
      return false, ("answered %d"):format(f.status)
    end
    if not r.closed then
      if opts.close == "must" then return false, ("%d but the connection stays open"):format(f.status) end
      if not opts.open_ok then return "warn", ("%d but the connection stays open"):format(f.status) end
    end
    return true
  end
end
M.refuse = refuse

-- The handler ran for each request listed (one table of expected fields
-- per request, in order; none: one request, any fields), each answered
-- 200, and for no other. opts.close = true: the connection must close
-- after the last; false: it must stay open. opts.interim: the 1xx status
-- that must come first; opts.no_interim: none may come.
local function serve(spec)
  spec = spec or {}
  local wants = {}
  for i, w in ipairs(spec) do wants[i] = w end
  if #wants == 0 then wants[1] = {} end
  return function(r)
    for i, want in ipairs(wants) do
      local f = r.finals[i]
      if not f then
        if i == 1 then
          if r.garbage then return false, "answered without a status line: " .. show(r.garbage, 20) end
          return false, "no response (" .. r.state .. ")"
        end
        return false, ("request %d got no response (%s)"):format(i, r.state)
      end
      local prefix = #wants > 1 and ("request %d: "):format(i) or ""
      if f.status ~= 200 or not (f.echo or f.head) then
        return false, prefix .. ("answered %d%s"):format(f.status, f.echo and "" or " (not from the handler)")
      end
      if f.echo then
        local ok, why = fields_match(f.echo, want)
        if not ok then return false, prefix .. why end
      end
    end
    for i = #wants + 1, #r.finals do
      local e = r.finals[i].echo
      if e then
        return false, ("the handler ran for %d requests, not %d: also for %s"):format(
          #r.echoes, #wants, describe_echo(e))
      end
    end
    if spec.interim and not (r.interim[1] and r.interim[1].status == spec.interim) then
      return false, ("no %d interim response first"):format(spec.interim)
    end
    if spec.no_interim and #r.interim > 0 then
      return false, ("sent an interim %d"):format(r.interim[1].status)
    end
    if spec.close == true and not r.closed then return false, "the connection stays open" end
    if spec.close == false and r.closed then return false, "the connection was closed" end
    if spec.check then return spec.check(r) end
    return true
  end
end
M.serve = serve

-- Passes when any of the expectations passes; else the first WARN, else FAIL
-- with every reason.
local function either(...)
  local list = { ... }
  return function(r)
    local warn, whys = nil, {}
    for _, fn in ipairs(list) do
      local v, why = fn(r)
      if v == true then return true end
      if v == "warn" and not warn then warn = why end
      whys[#whys + 1] = why
    end
    if warn then return "warn", warn end
    return false, table.concat(whys, "; or ")
  end
end
M.either = either

-- What fn accepts is allowed but lenient: WARN with `why`.
local function lenient(fn, why)
  return function(r)
    local v, w = fn(r)
    if v == true then return "warn", why end
    return v, w
  end
end

-- A valid request that a server may refuse out of caution: accepting it as
-- `fn` says passes, a refusal is a WARN (the request is valid), anything
-- else fails.
local function valid(fn, why)
  return function(r)
    local v, w = fn(r)
    if v == true then return true end
    if #r.echoes == 0 and r.finals[1] and r.finals[1].status >= 400 then
      return "warn", ("refused a valid request with %d%s"):format(r.finals[1].status, why and (": " .. why) or "")
    end
    return v, w
  end
end

-- An incomplete request: the server waits (no response within the bound)
-- or refuses; the handler must not run. A peer whose handler does not
-- read the body (nginx's `return`) may answer before the body is in.
local function waits()
  return function(r)
    if #r.echoes > 0 and r.echoes[1].caps.body then return false, "the handler ran for an incomplete request" end
    if #r.echoes > 0 then return true end
    if #r.finals == 0 then return true end
    local s = r.finals[1].status
    if s == 408 or s == 400 or s == 413 then return true end
    return false, ("answered %d"):format(s)
  end
end

-- Refused with one of codes, or the handler saw what `spec` says.
M.valid = valid
local function refuse_or(spec, codes, opts)
  return either(refuse(codes, opts), serve(spec))
end

-- Bodies, by the framing the server must use.
local SMUGGLED = "GET /smuggled HTTP/1.1" .. CRLF .. H .. CRLF

-- ------------------------------------------------------------ builders

local function get(target, fields, version)
  return ("GET %s HTTP/%s\r\n"):format(target, version or "1.1") .. H .. (fields or "") .. CRLF
end

local function post(fields, body)
  return "POST / HTTP/1.1\r\n" .. H .. fields .. CRLF .. (body or "")
end

local function chunked(body)
  return post("Transfer-Encoding: chunked\r\n", body)
end

local cases = {}
local function case(t) cases[#cases + 1] = t end

-- ================================================================ Host
-- RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without
-- Host, with more than one Host field line, or with an invalid Host value.
-- RFC 9110 §7.2: Host = uri-host [ ":" port ]; §4.2.1: a recipient MUST
-- reject an http URI with an empty host.

case { name = "host-missing", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\n\r\n", expect = refuse() }
case { name = "host-missing-with-other-fields", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\nX-Probe: a\r\nAccept: */*\r\n\r\n", expect = refuse() }
case { name = "host-missing-http10-ok", cat = "host", level = "should", rfc = "9112 3.2",
  req = "GET / HTTP/1.0\r\n\r\n", expect = serve { { method = "GET" } } }
case { name = "host-duplicate-equal", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n", expect = refuse() }
case { name = "host-duplicate-different", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\r\nHost: evil.example\r\n\r\n", expect = refuse() }
case { name = "host-duplicate-case", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\r\nhost: evil.example\r\n\r\n", expect = refuse() }
case { name = "host-duplicate-http10", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.0\r\nHost: example.com\r\nHost: evil.example\r\n\r\n", expect = refuse() }
case { name = "host-duplicate-one-empty", cat = "host", level = "must", rfc = "9112 3.2",
  req = "GET / HTTP/1.1\r\nHost:\r\nHost: example.com\r\n\r\n", expect = refuse() }
case { name = "host-list", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", expect = refuse() }
case { name = "host-empty", cat = "host", level = "must", rfc = "9110 4.2.1",
  req = "GET / HTTP/1.1\r\nHost:\r\n\r\n", expect = refuse() }
case { name = "host-empty-ows", cat = "host", level = "must", rfc = "9110 4.2.1",
  req = "GET / HTTP/1.1\r\nHost:   \r\n\r\n", expect = refuse() }
case { name = "host-only-port", cat = "host", level = "must", rfc = "9110 4.2.1",
  req = "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", expect = refuse() }
case { name = "host-userinfo", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", expect = refuse() }
case { name = "host-path", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com/x\r\n\r\n", expect = refuse() }
case { name = "host-query", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com?x\r\n\r\n", expect = refuse() }
case { name = "host-space-inside", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", expect = refuse() }
case { name = "host-tab-inside", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: exa\tmple.com\r\n\r\n", expect = refuse() }
case { name = "host-port-letters", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com:http\r\n\r\n", expect = refuse() }
case { name = "host-two-ports", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com:80:80\r\n\r\n", expect = refuse() }
case { name = "host-ipv6-unbracketed", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", expect = refuse() }
case { name = "host-ipv6-unclosed", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", expect = refuse() }
case { name = "host-nul", cat = "host", level = "must", rfc = "9110 5.5",
  req = "GET / HTTP/1.1\r\nHost: exa\0mple.com\r\n\r\n", expect = refuse() }
case { name = "host-ctl", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: exa\1mple.com\r\n\r\n", expect = refuse() }
case { name = "host-utf8", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n", expect = refuse() }
case { name = "host-backslash", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\\evil\r\n\r\n", expect = refuse() }
case { name = "host-valid-port", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", expect = serve { { host = "example.com:8080" } } }
case { name = "host-valid-ipv4", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", expect = serve { { host = "127.0.0.1:8080" } } }
case { name = "host-valid-ipv6", cat = "host", level = "must", rfc = "9110 7.2",
  req = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", expect = serve { { host = "[::1]:8080" } } }
case { name = "host-valid-ows", cat = "host", level = "must", rfc = "9110 5.5",
  req = "GET / HTTP/1.1\r\nHost: \t example.com \t\r\n\r\n", expect = valid(serve { { host = "example.com" } }, "OWS around a value") }
case { name = "host-valid-no-space", cat = "host", level = "must", rfc = "9112 5",
  req = "GET / HTTP/1.1\r\nHost:example.com\r\n\r\n", expect = serve { { host = "example.com" } } }
case { name = "host-valid-lowercase-name", cat = "host", level = "must", rfc = "9110 5.1",
  req = "GET / HTTP/1.1\r\nhOsT: example.com\r\n\r\n", expect = serve { { host = "example.com" } } }
case { name = "host-valid-underscore", cat = "host", level = "should", rfc = "3986 3.2.2",
  req = "GET / HTTP/1.1\r\nHost: my_host.example\r\n\r\n", expect = serve { { host = "my_host.example" } } }
case { name = "host-valid-trailing-dot", cat = "host", level = "should", rfc = "3986 3.2.2",
  req = "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", expect = serve { { host = "example.com." } } }
case { name = "host-empty-port", cat = "host", level = "info", rfc = "3986 3.2.3",
  req = "GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", expect = refuse_or({ {} }) }
case { name = "host-comma-no-space", cat = "host", level = "info", rfc = "3986 3.2.2 (sub-delims)",
  req = "GET / HTTP/1.1\r\nHost: a.example,b.example\r\n\r\n", expect = refuse() }

-- ================================================================ request target
-- RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT only),
-- asterisk-form (OPTIONS only); RFC 3986's characters; §3: an invalid
-- request-line SHOULD get 400.

case { name = "target-asterisk-options", cat = "target", level = "should", rfc = "9112 3.2.4",
  req = "OPTIONS * HTTP/1.1\r\n" .. H .. CRLF,
  expect = function(r)
    local f = r.finals[1]
    if not f then return false, "no response (" .. r.state .. ")" end
    if f.status == 400 then return false, "refused OPTIONS *" end
    if f.echo and f.echo.caps.target and f.echo.target ~= "*" then
      return false, "the handler saw target " .. show(f.echo.target)
    end
    return true
  end }
case { name = "target-asterisk-get", cat = "target", level = "must", rfc = "9112 3.2.4",
  req = "GET * HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-asterisk-post", cat = "target", level = "must", rfc = "9112 3.2.4",
  req = "POST * HTTP/1.1\r\n" .. H .. "Content-Length: 0\r\n\r\n", expect = refuse() }
case { name = "target-asterisk-suffix", cat = "target", level = "must", rfc = "9112 3.2",
  req = "OPTIONS *x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-no-leading-slash", cat = "target", level = "must", rfc = "9112 3.2.1",
  req = "GET index.html HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-authority-form-get", cat = "target", level = "must", rfc = "9112 3.2.3",
  req = "GET example.com:80 HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "connect-authority", cat = "target", level = "must", rfc = "9110 9.3.6",
  req = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  expect = refuse({ 400, 405, 501 }) }
case { name = "connect-with-tunnel-bytes", cat = "target", level = "must", rfc = "9110 9.3.6",
  req = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" .. SMUGGLED,
  expect = refuse({ 400, 405, 501 }) }
case { name = "connect-origin-form", cat = "target", level = "must", rfc = "9112 3.2.3",
  req = "CONNECT /x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse({ 400, 405, 501 }) }
case { name = "target-empty", cat = "target", level = "must", rfc = "9112 3",
  req = "GET  HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-double-space-before", cat = "target", level = "must", rfc = "9112 3",
  req = "GET  /x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse_or({ { target = "/x", path = "/x" } }) }
case { name = "target-double-space-after", cat = "target", level = "must", rfc = "9112 3",
  req = "GET /x  HTTP/1.1\r\n" .. H .. CRLF, expect = refuse_or({ { target = "/x", path = "/x" } }) }
case { name = "target-tab-separator", cat = "target", level = "should", rfc = "9112 3",
  req = "GET\t/x HTTP/1.1\r\n" .. H .. CRLF,
  expect = either(refuse(), lenient(serve { { target = "/x", method = "GET" } }, "took HTAB as SP (9112 §3 MAY)")) }
case { name = "target-space-inside", cat = "target", level = "must", rfc = "9112 3",
  req = "GET /a b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-raw-utf8", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /caf\xc3\xa9 HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-overlong-utf8", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /\xc0\xaf HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-high-byte", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /\xff HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-nul", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /a\0b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-ctl", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /a\1b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-del", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /a\127b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-backslash", cat = "target", level = "must", rfc = "3986 2",
  req = "GET /a\\b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-bare-cr", cat = "target", level = "must", rfc = "9112 2.2",
  req = "GET /a\rb HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-bare-lf", cat = "target", level = "must", rfc = "9112 2.2",
  req = "GET /a\nb HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
for _, c in ipairs({ { "quote", '"' }, { "less-than", "<" }, { "greater-than", ">" }, { "caret", "^" },
                     { "backtick", "`" }, { "brace", "{" }, { "pipe", "|" } }) do
  case { name = "target-char-" .. c[1], cat = "target", level = "should", rfc = "3986 2, 9112 3",
    req = "GET /a" .. c[2] .. "b HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
end
case { name = "target-fragment", cat = "target", level = "should", rfc = "9112 3.2.1",
  req = "GET /a#frag HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-bad-percent", cat = "target", level = "should", rfc = "3986 2.1",
  req = "GET /a%zz HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-truncated-percent", cat = "target", level = "should", rfc = "3986 2.1",
  req = "GET /a%2 HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "target-query", cat = "target", level = "must", rfc = "9112 3.2.1",
  req = get("/a/b?x=1&y=2"), expect = serve { { target = "/a/b?x=1&y=2", path = "/a/b", query = "x=1&y=2" } } }
case { name = "target-query-with-question", cat = "target", level = "must", rfc = "3986 3.4",
  req = get("/a?b?c/d"), expect = serve { { target = "/a?b?c/d", path = "/a", query = "b?c/d" } } }
case { name = "target-valid-subdelims", cat = "target", level = "must", rfc = "3986 3.3",
  req = get("/a!$&'()*+,;=:@b"), expect = serve { { target = "/a!$&'()*+,;=:@b", path = "/a!$&'()*+,;=:@b" } } }
case { name = "target-valid-percent", cat = "target", level = "must", rfc = "3986 2.1",
  req = get("/a%20b%2Fc"), expect = serve { { target = "/a%20b%2Fc" } } }
case { name = "target-long-valid", cat = "target", level = "should", rfc = "9112 3 (8000 octets)",
  req = get("/" .. ("a"):rep(7900)), expect = serve { { path = "/" .. ("a"):rep(7900) } } }

-- ================================================================ absolute-form
-- RFC 9112 §3.2.2: a server MUST accept absolute-form; the origin server
-- MUST ignore Host and use the target's authority (§3.2.2, §7.2 of 9110).

case { name = "absolute-form", cat = "absolute-form", level = "must", rfc = "9112 3.2.2",
  req = "GET http://example.com/path HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = serve { { path = "/path", host = "example.com" } } }
case { name = "absolute-form-query", cat = "absolute-form", level = "must", rfc = "9112 3.2.2",
  req = "GET http://example.com/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = serve { { path = "/p/q", query = "x=1", host = "example.com" } } }
case { name = "absolute-form-host-mismatch", cat = "absolute-form", level = "must", rfc = "9112 3.2.2",
  req = "GET http://target.example/p HTTP/1.1\r\nHost: other.example\r\n\r\n",
  expect = serve { { path = "/p", host = "target.example" } } }
case { name = "absolute-form-port", cat = "absolute-form", level = "must", rfc = "9112 3.2.2",
  req = "GET http://example.com:8080/x HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
  expect = serve { { path = "/x", host = "example.com:8080" } } }
case { name = "absolute-form-empty-path", cat = "absolute-form", level = "must", rfc = "9110 4.2.3",
  req = "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = either(serve { { path = "/", host = "example.com" } },
                  lenient(serve { { path = "", host = "example.com" } }, "an empty path is \"/\" (9110 §4.2.3)")) }
case { name = "absolute-form-query-no-path", cat = "absolute-form", level = "should", rfc = "9110 4.2.3",
  req = "GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = serve { { path = "/", query = "x=1", host = "example.com" } } }
case { name = "absolute-form-https", cat = "absolute-form", level = "should", rfc = "9112 3.2.2",
  req = "GET https://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = either(serve { { path = "/x", host = "example.com" } }, refuse({ 421 })) }
case { name = "absolute-form-scheme-case", cat = "absolute-form", level = "should", rfc = "3986 3.1",
  req = "GET HTTP://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
  expect = serve { { path = "/x", host = "example.com" } } }
case { name = "absolute-form-no-host-field", cat = "absolute-form", level = "must", rfc = "9112 3.2",
  req = "GET http://example.com/x HTTP/1.1\r\n\r\n", expect = refuse() }
case { name = "absolute-form-empty-host", cat = "absolute-form", level = "must", rfc = "9110 4.2.1",
  req = "GET http:///x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "absolute-form-userinfo", cat = "absolute-form", level = "should", rfc = "9110 4.2.4",
  req = "GET http://user:pw@example.com/x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "absolute-form-other-scheme", cat = "absolute-form", level = "should", rfc = "9110 7.4",
  req = "GET ftp://example.com/x HTTP/1.1\r\n" .. H .. CRLF, expect = refuse({ 400, 421 }) }
case { name = "absolute-form-bad-port", cat = "absolute-form", level = "should", rfc = "3986 3.2.3",
  req = "GET http://example.com:x/ HTTP/1.1\r\n" .. H .. CRLF, expect = refuse() }
case { name = "absolute-form-pipelined", cat = "absolute-form", level = "must", rfc = "9112 3.2.2",
  req = "GET http://example.com/one HTTP/1.1\r\n" .. H .. CRLF .. get("/two"),
  expect = serve { { path = "/one" }, { path = "/two" } } }

-- ================================================================ framing: Content-Length
-- RFC 9112 §6.3, RFC 9110 §8.6: Content-Length = 1*DIGIT; an invalid one
-- is an unrecoverable error: 400 and close. Identical repeats MAY be
-- folded to one; 400 is the stricter answer.

local function cl(value, body)
  return post("Content-Length: " .. value .. CRLF, body)
end

case { name = "cl-valid", cat = "framing", level = "must", rfc = "9112 6.2",
  req = cl("5", "hello"), expect = serve { { body = "hello" } } }
case { name = "cl-zero", cat = "framing", level = "must", rfc = "9112 6.2",
  req = cl("0"), expect = serve { { body = "" } } }
case { name = "cl-leading-zeros", cat = "framing", level = "must", rfc = "9110 8.6",
  req = cl("005", "hello"), expect = valid(serve { { body = "hello" } }) }
case { name = "cl-trailing-space", cat = "framing", level = "must", rfc = "9110 5.5",
  req = cl("5 ", "hello"), expect = valid(serve { { body = "hello" } }, "OWS after a value") }
case { name = "cl-trailing-tab", cat = "framing", level = "must", rfc = "9110 5.5",
  req = cl("5\t", "hello"), expect = valid(serve { { body = "hello" } }, "OWS after a value") }
case { name = "cl-tab-before", cat = "framing", level = "must", rfc = "9112 5",
  req = post("Content-Length:\t5\r\n", "hello"), expect = valid(serve { { body = "hello" } }, "OWS before a value") }
case { name = "cl-duplicate-equal", cat = "framing", level = "must", rfc = "9110 8.6",
  req = post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
  expect = either(refuse(nil, { close = "must" }), lenient(serve { { body = "hello" } }, "folded equal Content-Lengths (9110 §8.6 MAY)")) }
case { name = "cl-list-equal", cat = "framing", level = "must", rfc = "9110 8.6",
  req = cl("5, 5", "hello"),
  expect = either(refuse(nil, { close = "must" }), lenient(serve { { body = "hello" } }, "folded a list of equal Content-Lengths (9110 §8.6 MAY)")) }
case { name = "cl-duplicate-different", cat = "framing", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), expect = refuse(nil, { close = "must" }) }
case { name = "cl-list-different", cat = "framing", level = "must", rfc = "9112 6.3",
  req = cl("5, 6", "hello!"), expect = refuse(nil, { close = "must" }) }
for _, c in ipairs({ { "plus", "+5" }, { "minus", "-5" }, { "minus-zero", "-0" }, { "hex", "0x5" },
                     { "exponent", "1e3" }, { "decimal", "5.0" }, { "inner-space", "1 0" },
                     { "trailing-comma", "5," }, { "leading-comma", ",5" }, { "letters", "five" },
                     { "empty", "" }, { "underscore", "1_0" }, { "quoted", '"5"' },
                     { "unicode-digit", "\xd9\xa5" }, { "fullwidth-digit", "\xef\xbc\x95" },
                     { "nul", "5\0" }, { "vtab", "\v5" } }) do
  case { name = "cl-" .. c[1], cat = "framing", level = "must", rfc = "9112 6.3",
    req = cl(c[2], "hello") .. SMUGGLED, expect = refuse(nil, { close = "must" }) }
end
case { name = "cl-overflow", cat = "framing", level = "must", rfc = "9110 8.6",
  req = cl("99999999999999999999999", "hello"), expect = refuse({ 400, 413 }, { close = "must" }) }
case { name = "cl-2^64", cat = "framing", level = "must", rfc = "9110 8.6",
  req = cl("18446744073709551616", "hello"), expect = refuse({ 400, 413 }, { close = "must" }) }
case { name = "cl-obs-fold", cat = "framing", level = "must", rfc = "9112 5.2",
  req = post("Content-Length:\r\n 5\r\n", "hello"), expect = refuse() }
case { name = "cl-space-before-colon", cat = "framing", level = "must", rfc = "9112 5.1",
  req = post("Content-Length : 5\r\n", "hello"), expect = refuse() }
case { name = "cl-underscore-name-ignored", cat = "framing", level = "must", rfc = "9110 5.1",
  req = post("Content_Length: 5\r\n", "hello"),
  expect = either(refuse(), serve { { body = "" } }) }
case { name = "cl-body-on-get", cat = "framing", level = "must", rfc = "9112 6.3",
  req = get("/first", "Content-Length: 5\r\n") .. "hello" .. get("/second"),
  expect = serve { { path = "/first", body = "hello" }, { path = "/second" } } }
case { name = "cl-body-holds-request", cat = "framing", level = "must", rfc = "9112 6.3",
  req = cl(tostring(#SMUGGLED), SMUGGLED), expect = serve { { body = SMUGGLED } } }
case { name = "cl-short-body-waits", cat = "framing", level = "must", rfc = "9112 6.3",
  req = cl("10", "hello"), expect = waits() }
case { name = "cl-long-body-rest-is-next", cat = "framing", level = "must", rfc = "9112 6.3",
  req = cl("3", "abcdef\r\n\r\n"),
  expect = function(r)
    local v, why = serve { { body = "abc" } } (r)
    if v ~= true then return v, why end
    local f2 = r.finals[2]
    if f2 and f2.status >= 400 then return true end
    return false, "the bytes after the body were not taken for the next request and refused"
  end }
case { name = "cl-too-large", cat = "framing", level = "info", rfc = "9110 15.5.14",
  req = cl("2000000", "x"), expect = either(refuse({ 413 }), waits()) }

-- ================================================================ framing: Transfer-Encoding
-- RFC 9112 §6.1, §6.3, §7: chunked must be the final coding and applied
-- once; a coding the server does not know SHOULD get 501; TE with CL: TE
-- wins and the connection MUST close after, or 400.

case { name = "te-chunked", cat = "framing", level = "must", rfc = "9112 7.1",
  req = chunked("5\r\nhello\r\n0\r\n\r\n"), expect = serve { { body = "hello" } } }
case { name = "te-chunked-name-lowercase", cat = "framing", level = "must", rfc = "9110 5.1",
  req = post("transfer-encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = serve { { body = "hello" } } }
case { name = "te-chunked-value-case", cat = "framing", level = "must", rfc = "9112 7",
  req = post("Transfer-Encoding: ChUnKeD\r\n", "5\r\nhello\r\n0\r\n\r\n") .. SMUGGLED,
  expect = either(serve { { body = "hello" }, { target = "/smuggled" } },
                  lenient(refuse({ 400, 501 }), "refused a coding name in another case (9112 §7: case-insensitive)")) }
case { name = "te-no-space", cat = "framing", level = "must", rfc = "9112 5",
  req = post("Transfer-Encoding:chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = serve { { body = "hello" } } }
case { name = "te-tab-before-value", cat = "framing", level = "must", rfc = "9112 5",
  req = post("Transfer-Encoding:\tchunked\r\n", "5\r\nhello\r\n0\r\n\r\n") .. SMUGGLED,
  expect = refuse_or({ { body = "hello" }, { target = "/smuggled" } }) }
case { name = "te-trailing-ows", cat = "framing", level = "must", rfc = "9110 5.5",
  req = post("Transfer-Encoding: chunked \t\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse_or({ { body = "hello" } }) }
case { name = "te-chunked-on-get", cat = "framing", level = "must", rfc = "9112 6.3",
  req = get("/g", "Transfer-Encoding: chunked\r\n") .. "0\r\n\r\n" .. get("/after"),
  expect = serve { { path = "/g", body = "" }, { path = "/after" } } }
case { name = "te-empty-with-cl", cat = "framing", level = "must", rfc = "9112 6.3",
  req = post("Transfer-Encoding:\r\nContent-Length: 5\r\n", "hello"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-empty", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding:\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-identity-chunked", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding: identity, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-identity", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-chunked-identity", cat = "framing", level = "must", rfc = "9112 6.3",
  req = post("Transfer-Encoding: chunked, identity\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-chunked-twice", cat = "framing", level = "must", rfc = "9112 7",
  req = post("Transfer-Encoding: chunked, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-chunked-two-lines", cat = "framing", level = "must", rfc = "9112 7",
  req = post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-gzip-chunked", cat = "framing", level = "should", rfc = "9112 6.1",
  req = post("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 501, 400 }, { close = "must" }) }
case { name = "te-chunked-gzip", cat = "framing", level = "must", rfc = "9112 6.3",
  req = post("Transfer-Encoding: chunked, gzip\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-unknown", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding: foo\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 501, 400 }, { close = "must" }) }
case { name = "te-xchunked", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 501, 400 }, { close = "must" }) }
case { name = "te-chunked-suffix", cat = "framing", level = "must", rfc = "9112 6.1",
  req = post("Transfer-Encoding: chunkedx\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 501, 400 }, { close = "must" }) }
case { name = "te-quoted", cat = "framing", level = "must", rfc = "9112 7",
  req = post('Transfer-Encoding: "chunked"\r\n', "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-chunked-param", cat = "framing", level = "should", rfc = "9112 7",
  req = post("Transfer-Encoding: chunked; q=1\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-chunked-space-word", cat = "framing", level = "must", rfc = "9112 7",
  req = post("Transfer-Encoding: chunked x\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-leading-empty-element", cat = "framing", level = "must", rfc = "9110 5.6.1",
  req = post("Transfer-Encoding: , chunked\r\n", "5\r\nhello\r\n0\r\n\r\n") .. SMUGGLED,
  expect = refuse_or({ { body = "hello" }, { target = "/smuggled" } }, { 400, 501 }, { close = "must" }) }
case { name = "te-vtab-before-value", cat = "framing", level = "must", rfc = "9112 5",
  req = post("Transfer-Encoding:\vchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-ff-before-value", cat = "framing", level = "must", rfc = "9112 5",
  req = post("Transfer-Encoding:\fchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-nul-after-value", cat = "framing", level = "must", rfc = "9110 5.5",
  req = post("Transfer-Encoding: chunked\0\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "te-space-before-colon", cat = "framing", level = "must", rfc = "9112 5.1",
  req = post("Transfer-Encoding : chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse() }
case { name = "te-obs-fold", cat = "framing", level = "must", rfc = "9112 5.2",
  req = post("Transfer-Encoding:\r\n chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), expect = refuse() }
case { name = "te-http10", cat = "framing", level = "must", rfc = "9112 6.1",
  req = "POST / HTTP/1.0\r\n" .. H .. "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    .. "GET /smuggled HTTP/1.0\r\n" .. H .. "Connection: keep-alive\r\n\r\n",
  expect = refuse_or({ { body = "hello" }, close = true }, { 400, 501 }, { close = "must" }) }
case { name = "te-http10-with-cl", cat = "framing", level = "must", rfc = "9112 6.1",
  req = "POST / HTTP/1.0\r\n" .. H .. "Connection: keep-alive\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    .. "GET /smuggled HTTP/1.0\r\n" .. H .. "Connection: keep-alive\r\n\r\n",
  expect = refuse_or({ { body = "" }, close = true }, { 400, 501 }, { close = "must" }) }

-- ================================================================ smuggling
-- Requests that two parsers could frame differently. Each carries a second
-- request (GET /smuggled) that a wrong framing would run.

local function both(te_first, cl_value, body)
  local f = te_first and ("Transfer-Encoding: chunked\r\nContent-Length: " .. cl_value .. CRLF)
                      or ("Content-Length: " .. cl_value .. "\r\nTransfer-Encoding: chunked\r\n")
  return post(f, body)
end
-- CL.TE: by the length, one request; by chunked, a second one follows.
local CLTE_BODY = "0\r\n\r\n" .. SMUGGLED
-- TE.CL: by chunked, one request; by the length, a second one follows.
local TECL_HEAD = ("%x\r\n"):format(#SMUGGLED)
local TECL_BODY = TECL_HEAD .. SMUGGLED .. "\r\n0\r\n\r\n"
-- TE wins (allowed) only if the connection then closes unused.
local te_wins_clte = serve { { body = "" }, close = true }
local te_wins_tecl = serve { { body = SMUGGLED }, close = true }

case { name = "smuggle-cl-te", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = both(false, tostring(#CLTE_BODY), CLTE_BODY), expect = either(refuse(nil, { close = "must" }), te_wins_clte) }
case { name = "smuggle-te-cl", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = both(true, tostring(#TECL_HEAD), TECL_BODY), expect = either(refuse(nil, { close = "must" }), te_wins_tecl) }
case { name = "smuggle-cl-te-zero-length", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = both(false, "0", "5\r\nhello\r\n0\r\n\r\n"), expect = either(refuse(nil, { close = "must" }), serve { { body = "hello" }, close = true }) }
case { name = "smuggle-te-case-name", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\ntRaNsFeR-eNcOdInG: chunked\r\n", CLTE_BODY),
  expect = either(refuse(nil, { close = "must" }), te_wins_clte) }
case { name = "smuggle-te-space-before-colon", cat = "smuggling", level = "must", rfc = "9112 5.1",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding : chunked\r\n", CLTE_BODY), expect = refuse() }
case { name = "smuggle-te-tab-before-colon", cat = "smuggling", level = "must", rfc = "9112 5.1",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding\t: chunked\r\n", CLTE_BODY), expect = refuse() }
case { name = "smuggle-te-xchunked-with-cl", cat = "smuggling", level = "must", rfc = "9112 6.1",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding: xchunked\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-te-chunked-then-x", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-te-x-then-chunked", cat = "smuggling", level = "must", rfc = "9112 6.1",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-te-cow", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-te-tab-value-with-cl", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding:\tchunked\r\n", CLTE_BODY),
  expect = either(refuse(nil, { close = "must" }), te_wins_clte) }
case { name = "smuggle-te-vtab-value-with-cl", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding:\vchunked\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-te-obs-fold-with-cl", cat = "smuggling", level = "must", rfc = "9112 5.2",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding:\r\n chunked\r\n", CLTE_BODY), expect = refuse() }
case { name = "smuggle-te-in-folded-field", cat = "smuggling", level = "must", rfc = "9112 5.2",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nX-Probe: a\r\n Transfer-Encoding: chunked\r\n", CLTE_BODY),
  expect = either(refuse(), lenient(serve { { body = CLTE_BODY, probe = "a Transfer-Encoding: chunked" } },
    "replaced obs-fold with SP (9112 §5.2 allows it)")) }
case { name = "smuggle-te-after-bare-lf", cat = "smuggling", level = "must", rfc = "9112 2.2",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nX-Probe: a\nTransfer-Encoding: chunked\r\n", CLTE_BODY),
  expect = either(refuse(), lenient(te_wins_clte, "took a bare LF as a line end (9112 §2.2 MAY)")) }
case { name = "smuggle-te-after-bare-cr", cat = "smuggling", level = "must", rfc = "9112 2.2",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nX-Probe: a\rTransfer-Encoding: chunked\r\n", CLTE_BODY),
  expect = refuse() }
case { name = "smuggle-te-nul-in-name", cat = "smuggling", level = "must", rfc = "9110 5.1",
  req = post("Content-Length: " .. #CLTE_BODY .. "\r\nTransfer-Encoding\0: chunked\r\n", CLTE_BODY), expect = refuse() }
case { name = "smuggle-te-ws-line-before-fields", cat = "smuggling", level = "must", rfc = "9112 2.2",
  req = "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n" .. H .. "Content-Length: " .. #CLTE_BODY .. CRLF .. CRLF .. CLTE_BODY,
  expect = either(refuse(), serve { { body = CLTE_BODY } }) }
case { name = "smuggle-cl-ws-line-before-fields", cat = "smuggling", level = "must", rfc = "9112 2.2",
  req = "POST / HTTP/1.1\r\n Content-Length: 5\r\n" .. H .. CRLF .. "hello",
  expect = either(refuse(), function(r)
    local v, why = serve { { body = "" } } (r)
    if v ~= true then return v, why end
    if r.finals[2] and r.finals[2].status >= 400 then return true end
    return false, "the line after the start-line was taken as a field"
  end) }
case { name = "smuggle-cl-comma-te", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: " .. #CLTE_BODY .. ", 0\r\nTransfer-Encoding: chunked\r\n", CLTE_BODY),
  expect = refuse({ 400, 501 }, { close = "must" }) }
case { name = "smuggle-cl-plus-sign", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = post("Content-Length: +" .. #CLTE_BODY .. CRLF, CLTE_BODY), expect = refuse(nil, { close = "must" }) }
case { name = "smuggle-pipelined-control", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = chunked("0\r\n\r\n") .. SMUGGLED, expect = serve { { body = "" }, { target = "/smuggled" } } }
case { name = "smuggle-chunk-data-looks-like-end", cat = "smuggling", level = "must", rfc = "9112 7.1",
  req = chunked("7\r\n0\r\n\r\nab\r\n0\r\n\r\n"), expect = serve { { body = "0\r\n\r\nab" } } }
case { name = "smuggle-get-cl-body-is-request", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = get("/g", "Content-Length: " .. #SMUGGLED .. CRLF) .. SMUGGLED,
  expect = serve { { path = "/g", body = SMUGGLED } } }
case { name = "smuggle-head-with-cl", cat = "smuggling", level = "must", rfc = "9112 6.3",
  req = "HEAD / HTTP/1.1\r\n" .. H .. "Content-Length: " .. #SMUGGLED .. CRLF .. CRLF .. SMUGGLED .. get("/after"),
  heads = { 1 }, expect = serve { { method = "HEAD", body = SMUGGLED }, { target = "/after" } } }
case { name = "smuggle-trailer-cl", cat = "smuggling", level = "must", rfc = "9110 6.5.1",
  req = chunked("5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n") .. get("/after"),
  expect = either(refuse(), serve { { body = "hello", cl = function(v) return v ~= "50" end },
                                    { target = "/after" } }) }
case { name = "smuggle-trailer-te", cat = "smuggling", level = "must", rfc = "9110 6.5.1",
  req = chunked("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n") .. get("/after"),
  expect = either(refuse(), serve { { body = "hello", te = "chunked" }, { target = "/after" } }) }
case { name = "smuggle-trailer-host", cat = "smuggling", level = "must", rfc = "9110 6.5.1",
  req = chunked("5\r\nhello\r\n0\r\nHost: evil.example\r\n\r\n"),
  expect = either(refuse(), serve { { body = "hello", host = HOST } }) }

-- ================================================================ chunked syntax
-- RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF;
-- chunk-size = 1*HEXDIG; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS
-- value ] ); last-chunk, trailer-section, CRLF. §2.2's MAY for a bare LF
-- covers the start-line and fields, not chunk lines.

local function ch(name, level, body, expect, rfc)
  case { name = name, cat = "chunked", level = level, rfc = rfc or "9112 7.1", req = chunked(body), expect = expect }
end
local bad_chunk = refuse({ 400 }, { close = "must" })

ch("chunk-multi", "must", "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", serve { { body = "hello" } })
ch("chunk-uppercase-hex", "must", "A\r\n0123456789\r\n0\r\n\r\n", serve { { body = "0123456789" } })
ch("chunk-lowercase-hex", "must", "a\r\n0123456789\r\n0\r\n\r\n", serve { { body = "0123456789" } })
ch("chunk-leading-zeros", "must", "0005\r\nhello\r\n0000\r\n\r\n", valid(serve { { body = "hello" } }, "chunk syntax of RFC 9112 §7.1"))
ch("chunk-ext", "must", "5;foo=bar\r\nhello\r\n0\r\n\r\n", serve { { body = "hello" } })
ch("chunk-ext-no-value", "must", "5;foo\r\nhello\r\n0\r\n\r\n", valid(serve { { body = "hello" } }, "chunk syntax of RFC 9112 §7.1"))
ch("chunk-ext-quoted", "must", "5;foo=\"b a;r\"\r\nhello\r\n0\r\n\r\n", valid(serve { { body = "hello" } }, "chunk syntax of RFC 9112 §7.1"))
ch("chunk-ext-several", "must", "5;a=1;b;c=\"x\"\r\nhello\r\n0\r\n\r\n", valid(serve { { body = "hello" } }, "chunk syntax of RFC 9112 §7.1"))
ch("chunk-ext-on-last", "must", "5\r\nhello\r\n0;end=1\r\n\r\n", valid(serve { { body = "hello" } }, "chunk syntax of RFC 9112 §7.1"))
ch("chunk-ext-bws", "must", "5 ; foo = bar\r\nhello\r\n0\r\n\r\n",
  valid(serve { { body = "hello" } }, "BWS in a chunk extension (9110 §5.6.3: MUST parse)"))
ch("chunk-ext-bare-cr", "must", "5;a=b\rc\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-bare-lf", "must", "5;a\nb\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-nul", "must", "5;a=\0\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-ctl", "should", "5;a=\1\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-no-name", "should", "5;=x\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-semicolon-only", "should", "5;\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-ext-unclosed-quote", "should", "5;a=\"x\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-0x", "must", "0x5\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-plus", "must", "+5\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-minus", "must", "-5\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-leading-space", "must", " 5\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-trailing-space", "should", "5 \r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-trailing-tab", "should", "5\t\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-empty", "must", "\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-not-hex", "must", "g\r\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-underscore", "must", "1_0\r\n0123456789abcdef\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-overflow", "must", "fffffffffffffffff\r\nhello\r\n0\r\n\r\n", refuse({ 400, 413 }, { close = "must" }))
ch("chunk-size-overflow-wraps", "must", "10000000000000005\r\nhello\r\n0\r\n\r\n", refuse({ 400, 413 }, { close = "must" }))
ch("chunk-size-huge", "must", "fffffffffffffff\r\nhello\r\n0\r\n\r\n", either(refuse({ 400, 413 }, { close = "must" }), waits()))
ch("chunk-data-too-long", "must", "5\r\nhelloXX\r\n0\r\n\r\n", bad_chunk)
ch("chunk-data-too-short", "must", "5\r\nhell\r\n0\r\n\r\n", bad_chunk)
ch("chunk-data-bare-lf-end", "must", "5\r\nhello\n0\r\n\r\n", bad_chunk)
ch("chunk-data-bare-cr-end", "must", "5\r\nhello\r0\r\n\r\n", bad_chunk)
ch("chunk-size-bare-lf", "must", "5\nhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-size-bare-cr", "must", "5\rhello\r\n0\r\n\r\n", bad_chunk)
ch("chunk-last-bare-lf", "must", "5\r\nhello\r\n0\n\r\n" .. SMUGGLED, bad_chunk)
ch("chunk-end-bare-lf", "must", "5\r\nhello\r\n0\r\n\n" .. SMUGGLED,
  either(bad_chunk, lenient(serve { { body = "hello" }, { target = "/smuggled" } },
    "took a bare LF as the end of the trailer section (9112 §2.2 MAY)")))
ch("chunk-missing-last-chunk", "should", "5\r\nhello\r\n", waits())
ch("chunk-missing-final-crlf", "should", "5\r\nhello\r\n0\r\n", waits())
ch("chunk-garbage-after", "must", "5\r\nhello\r\n0\r\n\r\nXYZ\r\n\r\n",
  function(r)
    local v, why = serve { { body = "hello" } } (r)
    if v ~= true then return v, why end
    if r.finals[2] and r.finals[2].status >= 400 then return true end
    return false, "what follows the message was not refused"
  end)
ch("chunk-trailer", "must", "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", serve { { body = "hello" } })
ch("chunk-trailers-several", "must", "5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", serve { { body = "hello" } })
ch("chunk-trailer-obs-fold", "must", "5\r\nhello\r\n0\r\nX-A: 1\r\n 2\r\n\r\n",
  either(bad_chunk, lenient(serve { { body = "hello" } }, "accepted obs-fold in a trailer (9112 §5.2: reject it, or replace it with SP)")))
ch("chunk-trailer-no-colon", "must", "5\r\nhello\r\n0\r\nbad\r\n\r\n", bad_chunk)
ch("chunk-trailer-space-before-colon", "must", "5\r\nhello\r\n0\r\nX-A : 1\r\n\r\n", bad_chunk)
ch("chunk-trailer-nul", "must", "5\r\nhello\r\n0\r\nX-A: a\0b\r\n\r\n", bad_chunk)
ch("chunk-trailer-bare-cr", "must", "5\r\nhello\r\n0\r\nX-A: a\rb\r\n\r\n", bad_chunk)
ch("chunk-trailer-bare-lf", "should", "5\r\nhello\r\n0\r\nX-A: 1\n\r\n",
  either(bad_chunk, lenient(serve { { body = "hello" } }, "took a bare LF in a trailer as a line end (9112 §2.2 MAY)")))
ch("chunk-many-leading-zeros", "info", ("0"):rep(100) .. "5\r\nhello\r\n0\r\n\r\n", refuse_or({ { body = "hello" } }))
ch("chunk-body-too-large", "info", "200000\r\n" .. ("z"):rep(1000), either(refuse({ 413 }), waits()), "9110 15.5.14")

-- ================================================================ malformed: request line, versions, methods
-- RFC 9112 §3: request-line = method SP request-target SP HTTP-version;
-- §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive);
-- RFC 9110 §9.1: methods are case-sensitive, unknown ones get 501;
-- §15.6.6: 505 for a major version the server does not support.

local function rl(name, level, line, expect, rfc)
  case { name = name, cat = "malformed", level = level, rfc = rfc or "9112 3", req = line .. "\r\n" .. H .. CRLF, expect = expect }
end

rl("version-lowercase", "must", "GET / http/1.1", refuse({ 400, 505 }), "9112 2.3")
rl("version-1.10", "must", "GET / HTTP/1.10", refuse({ 400, 505 }), "9112 2.3")
rl("version-11", "must", "GET / HTTP/11", refuse({ 400, 505 }), "9112 2.3")
rl("version-leading-zero", "must", "GET / HTTP/01.1", refuse({ 400, 505 }), "9112 2.3")
rl("version-no-minor", "must", "GET / HTTP/1", refuse({ 400, 505 }), "9112 2.3")
rl("version-space", "must", "GET / HTTP/ 1.1", refuse({ 400, 505 }), "9112 2.3")
rl("version-letters", "must", "GET / HTTP/a.b", refuse({ 400, 505 }), "9112 2.3")
rl("version-missing-name", "must", "GET / 1.1", refuse({ 400, 505 }), "9112 2.3")
rl("version-2.0", "must", "GET / HTTP/2.0", refuse({ 505 }), "9110 15.6.6")
rl("version-3.0", "should", "GET / HTTP/3.0", refuse({ 505 }), "9110 15.6.6")
rl("version-0.9", "should", "GET / HTTP/0.9", refuse({ 400, 505 }), "9112 2.3")
rl("version-1.2", "should", "GET / HTTP/1.2", serve { { method = "GET" } }, "9110 6.2")
rl("version-1.0", "must", "GET / HTTP/1.0", serve { { version = "1.0" }, close = true }, "9112 9.3")
rl("request-line-trailing-space", "should", "GET / HTTP/1.1 ",
  either(refuse(), lenient(serve(), "ignored trailing whitespace in the request line (9112 §3 MAY)")))
rl("request-line-leading-space", "should", " GET / HTTP/1.1",
  either(refuse(), lenient(serve(), "ignored leading whitespace in the request line (9112 §3 MAY)")))
rl("request-line-extra-word", "must", "GET / HTTP/1.1 x", refuse({ 400, 505 }))
rl("request-line-no-target", "must", "GET HTTP/1.1", refuse({ 400, 505 }))
rl("method-lowercase", "must", "get / HTTP/1.1", refuse({ 400, 501, 405 }), "9110 9.1")
rl("method-mixed-case", "must", "Get / HTTP/1.1", refuse({ 400, 501, 405 }), "9110 9.1")
rl("method-unknown", "should", "FOO / HTTP/1.1", refuse({ 501 }), "9110 9.1")
rl("method-unknown-token-chars", "should", "FOO-BAR_1 / HTTP/1.1", refuse({ 501 }), "9110 9.1")
rl("method-invalid-char", "must", "G(T / HTTP/1.1", refuse({ 400, 501 }), "9110 9.1")
rl("method-utf8", "must", "G\xc3\x89T / HTTP/1.1", refuse({ 400, 501 }), "9110 9.1")
rl("method-nul", "must", "GE\0T / HTTP/1.1", refuse({ 400, 501 }), "9110 9.1")
rl("method-long", "should", ("A"):rep(2000) .. " / HTTP/1.1", refuse({ 400, 501, 414 }), "9110 9.1")
rl("method-empty", "must", " / HTTP/1.1", refuse({ 400 }))
rl("method-trace", "info", "TRACE / HTTP/1.1", either(serve(), refuse({ 405, 501 })), "9110 9.3.8")
case { name = "http09-request", cat = "malformed", level = "should", rfc = "9112 2.3, C.1",
  req = "GET /\r\n", expect = either(refuse({ 400, 505 }), function(r)
    if #r.echoes == 0 and #r.finals == 0 and not r.garbage and not r.closed then
      return "warn", "waits for more after a complete request-line without a version"
    end
    return false, "served an HTTP/0.9 request"
  end) }
-- The preface on a server's plain port: refused as HTTP/1.1 (505, 400), or
-- taken as h2c with prior knowledge, which answers with SETTINGS first
-- (RFC 9113 3.4: a frame of type 4 on stream 0).
case { name = "http2-preface", cat = "malformed", level = "must", rfc = "9113 3.4",
  req = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", expect = either(refuse({ 505, 400 }), function(r)
    local g = r.garbage
    if #r.echoes == 0 and g and #g >= 9 and g:byte(4) == 4 and g:sub(6, 9) == "\0\0\0\0" then return true end
    return false, "neither refused nor answered with HTTP/2's SETTINGS"
  end) }
case { name = "tls-client-hello", cat = "malformed", level = "should", rfc = "9112 3",
  req = "\22\3\1\0\165\1\0\0\161\3\3" .. ("\0"):rep(32) .. "\0\0\4\0\47\0\255\1\0", expect = refuse() }
case { name = "nul-before-request", cat = "malformed", level = "must", rfc = "9112 3",
  req = "\0" .. get("/"), expect = refuse() }
case { name = "request-line-only-garbage", cat = "malformed", level = "must", rfc = "9112 3",
  req = "NONSENSE\r\n\r\n", expect = refuse() }

-- ================================================================ malformed: fields
-- RFC 9112 §5: field-line = field-name ":" OWS field-value OWS; §5.1: no
-- whitespace between name and colon (MUST 400); §5.2: obs-fold: 400 or
-- SP; RFC 9110 §5.5: CR, LF, NUL in a value MUST be refused or replaced
-- with SP; §5.1: field-name = token.

local function fl(name, level, fields, expect, rfc)
  case { name = name, cat = "malformed", level = level, rfc = rfc or "9112 5", req = get("/", fields), expect = expect }
end

fl("field-obs-fold", "must", "X-Probe: a\r\n b\r\n",
  either(refuse(), lenient(serve { { probe = "a b" } }, "replaced obs-fold with SP (9112 §5.2 allows it)")), "9112 5.2")
fl("field-obs-fold-tab", "must", "X-Probe: a\r\n\tb\r\n",
  either(refuse(), lenient(serve { { probe = "a b" } }, "replaced obs-fold with SP (9112 §5.2 allows it)")), "9112 5.2")
fl("field-obs-fold-empty-line", "must", "X-Probe: a\r\n \r\n",
  either(refuse(), lenient(serve { { probe = "a" } }, "replaced obs-fold with SP (9112 §5.2 allows it)")), "9112 5.2")
case { name = "field-ws-line-after-request-line", cat = "malformed", level = "must", rfc = "9112 2.2",
  req = "GET / HTTP/1.1\r\n X-Probe: a\r\n" .. H .. CRLF,
  expect = either(refuse(), serve { { probe = function(v) return v ~= "a", "the whitespace-preceded line was taken as a field" end } }) }
fl("field-space-before-colon", "must", "X-Probe : a\r\n", refuse(), "9112 5.1")
fl("field-tab-before-colon", "must", "X-Probe\t: a\r\n", refuse(), "9112 5.1")
case { name = "field-host-space-before-colon", cat = "malformed", level = "must", rfc = "9112 5.1",
  req = "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", expect = refuse() }
fl("field-name-empty", "must", ": a\r\n", refuse(), "9110 5.1")
fl("field-no-colon", "must", "X-Probe a\r\n", refuse(), "9112 5")
fl("field-name-paren", "must", "X(y): a\r\n", refuse(), "9110 5.1")
fl("field-name-utf8", "must", "X-\xc3\xa9: a\r\n", refuse(), "9110 5.1")
fl("field-name-nul", "must", "X-\0: a\r\n", refuse(), "9110 5.1")
fl("field-name-ctl", "must", "X-\1: a\r\n", refuse(), "9110 5.1")
fl("field-name-del", "must", "X-\127: a\r\n", refuse(), "9110 5.1")
fl("field-name-inner-space", "must", "X Probe: a\r\n", refuse(), "9110 5.1")
fl("field-name-bare-cr", "must", "X-\rProbe: a\r\n", refuse(), "9112 2.2")
for _, c in ipairs({ { "at", "@" }, { "slash", "/" }, { "brackets", "[]" }, { "braces", "{}" },
                     { "equals", "=" }, { "comma", "," }, { "quote", '"' }, { "question", "?" },
                     { "backslash", "\\" }, { "semicolon", ";" } }) do
  fl("field-name-" .. c[1], "should", "X" .. c[2] .. "y: a\r\n", refuse(), "9110 5.1")
end
fl("field-name-tchars", "must", "X-!#$%&'*+.^_`|~09: a\r\n", valid(serve()), "9110 5.6.2")
fl("field-value-nul", "must", "X-Probe: a\0b\r\n",
  either(refuse(), lenient(serve { { probe = "a b" } }, "replaced NUL with SP (9110 §5.5 allows it)")), "9110 5.5")
fl("field-value-bare-cr", "must", "X-Probe: a\rb\r\n",
  either(refuse(), lenient(serve { { probe = "a b" } }, "replaced a bare CR with SP (9110 §5.5 allows it)")), "9110 5.5")
fl("field-value-ctl", "should", "X-Probe: a\1b\r\n", refuse(), "9110 5.5")
fl("field-value-esc", "should", "X-Probe: a\27[31mb\r\n", refuse(), "9110 5.5")
fl("field-value-del", "should", "X-Probe: a\127b\r\n", refuse(), "9110 5.5")
fl("field-value-vtab", "should", "X-Probe: a\vb\r\n", refuse(), "9110 5.5")
fl("field-value-obs-text", "must", "X-Probe: caf\xc3\xa9\r\n", valid(serve { { probe = "caf\xc3\xa9" } }, "obs-text"), "9110 5.5")
fl("field-value-inner-tab", "must", "X-Probe: a\tb\r\n", serve { { probe = "a\tb" } }, "9110 5.5")
fl("field-value-ows-trimmed", "must", "X-Probe: \t a b \t\r\n", serve { { probe = "a b" } }, "9110 5.5")
fl("field-value-empty", "must", "X-Probe:\r\n", serve { { probe = function(v) return v == "" or v == nil end } }, "9110 5.5")
fl("field-name-case-folded", "must", "X-PROBE: a\r\n", serve { { probe = "a" } }, "9110 5.1")
fl("field-repeated-list", "info", "X-Probe: a\r\nX-Probe: b\r\n", serve { { probe = "a, b" } }, "9110 5.3")
fl("field-many", "should", (function()
  local t = {}
  for i = 1, 100 do t[i] = ("X-F%d: v\r\n"):format(i) end
  return table.concat(t)
end)(), serve(), "9110 5.4")

-- ================================================================ malformed: line ends
-- RFC 9112 §2.2: a bare LF MAY be taken as a line end (accepting it is a
-- WARN here, not a FAIL); a bare CR MUST be refused or replaced by SP.

case { name = "bare-lf-everywhere", cat = "malformed", level = "should", rfc = "9112 2.2",
  req = "GET /lf HTTP/1.1\nHost: example.com\nX-Probe: a\n\n",
  expect = either(refuse(), lenient(serve { { target = "/lf", probe = "a" } }, "took bare LFs as line ends (9112 §2.2 MAY)")) }
case { name = "bare-lf-request-line", cat = "malformed", level = "should", rfc = "9112 2.2",
  req = "GET /lf HTTP/1.1\nHost: example.com\r\n\r\n",
  expect = either(refuse(), lenient(serve { { target = "/lf" } }, "took a bare LF as a line end (9112 §2.2 MAY)")) }
case { name = "bare-lf-field", cat = "malformed", level = "should", rfc = "9112 2.2",
  req = "GET /lf HTTP/1.1\r\nHost: example.com\nX-Probe: a\r\n\r\n",
  expect = either(refuse(), lenient(serve { { target = "/lf", probe = "a" } }, "took a bare LF as a line end (9112 §2.2 MAY)")) }
case { name = "bare-lf-end-of-head", cat = "malformed", level = "should", rfc = "9112 2.2",
  req = "GET /lf HTTP/1.1\r\nHost: example.com\r\n\n",
  expect = either(refuse(), lenient(serve { { target = "/lf" } }, "took a bare LF as a line end (9112 §2.2 MAY)")) }
case { name = "bare-cr-request-line", cat = "malformed", level = "must", rfc = "9112 2.2",
  req = "GET / HTTP/1.1\rHost: example.com\r\n\r\n", expect = refuse() }
case { name = "bare-cr-field-end", cat = "malformed", level = "must", rfc = "9112 2.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\rX-Probe: a\r\n\r\n", expect = refuse() }
case { name = "bare-cr-end-of-head", cat = "malformed", level = "must", rfc = "9112 2.2",
  req = "GET / HTTP/1.1\r\nHost: example.com\r\n\r" .. get("/after"), expect = refuse() }
case { name = "cr-cr-lf", cat = "malformed", level = "must", rfc = "9112 2.2",
  req = "GET / HTTP/1.1\r\r\nHost: example.com\r\n\r\n", expect = refuse() }

-- ================================================================ malformed: limits
-- RFC 9112 §3: 414 for a target too long; RFC 6585 §5: 431 for fields too
-- large. Never a crash, never a hang.

case { name = "limit-request-line", cat = "malformed", level = "must", rfc = "9110 15.5.15",
  req = get("/" .. ("a"):rep(70000)), expect = refuse({ 414, 431 }) }
case { name = "limit-field-value", cat = "malformed", level = "must", rfc = "6585 5",
  req = get("/", "X-Big: " .. ("b"):rep(70000) .. CRLF), expect = refuse({ 431 }) }
case { name = "limit-field-name", cat = "malformed", level = "must", rfc = "6585 5",
  req = get("/", ("N"):rep(70000) .. ": v\r\n"), expect = refuse({ 431 }) }
case { name = "limit-field-count", cat = "malformed", level = "must", rfc = "6585 5",
  req = get("/", ("X-F: v\r\n"):rep(5000)), expect = refuse({ 431 }) }
case { name = "limit-head-no-end", cat = "malformed", level = "must", rfc = "6585 5",
  req = "GET / HTTP/1.1\r\n" .. H .. ("X-F: " .. ("v"):rep(60) .. "\r\n"):rep(1500),
  expect = refuse({ 431 }) }
case { name = "limit-head-incomplete-waits", cat = "malformed", level = "must", rfc = "9112 2.1",
  req = "GET / HTTP/1.1\r\n" .. H, expect = waits() }
case { name = "limit-request-line-incomplete-waits", cat = "malformed", level = "must", rfc = "9112 2.1",
  req = "GET /inc", expect = waits() }

-- ================================================================ normalisation
-- What the handler sees is the target as sent (or the server refuses):
-- no decoding of %2F, %00, %2e, no dot-segment games, no matrix params,
-- no '+' to space. nginx gives its decoded $uri only: its path is not
-- compared, its raw $request_uri is.

local function nm(name, level, target, expect_path, rfc, allow_normalised)
  local want = { target = target }
  if expect_path then want.path = expect_path end
  local ok = serve { want }
  if allow_normalised then
    ok = either(ok, serve { { path = allow_normalised } })
  end
  case { name = name, cat = "normalisation", level = level, rfc = rfc or "3986 6",
    req = get(target), expect = either(refuse(), ok) }
end

nm("norm-dot-segments", "must", "/a/../b", "/a/../b", "3986 5.2.4", "/b")
nm("norm-dot-segments-above-root", "should", "/../../etc/passwd", "/../../etc/passwd", "3986 5.2.4")
nm("norm-single-dot", "must", "/a/./b", "/a/./b", "3986 5.2.4", "/a/b")
nm("norm-encoded-slash", "must", "/a%2Fb", "/a%2Fb", "3986 2.2")
nm("norm-encoded-dot-dot", "must", "/%2e%2e/x", "/%2e%2e/x", "3986 2.3")
nm("norm-encoded-nul", "must", "/a%00b", "/a%00b", "3986 2.1")
nm("norm-encoded-backslash", "must", "/a%5Cb", "/a%5Cb", "3986 2.1")
nm("norm-encoded-utf8", "must", "/%C3%A9", "/%C3%A9", "3986 2.1")
nm("norm-lowercase-percent", "must", "/%7e", "/%7e", "3986 6.2.2.1")
nm("norm-double-slash", "must", "//a//b", "//a//b", "3986 3.3", "/a/b")
nm("norm-semicolon", "must", "/a;b/c", "/a;b/c", "3986 3.3")
nm("norm-plus", "must", "/a+b?c+d", "/a+b", "3986 3.4")
nm("norm-case-kept", "must", "/A/b/C", "/A/b/C", "3986 6.2.2.1")
nm("norm-empty-query", "should", "/a?", "/a", "3986 3.4")
nm("norm-query-encoded-amp", "must", "/a?x=%26&y", "/a", "3986 3.4")
case { name = "norm-method-kept", cat = "normalisation", level = "must", rfc = "9110 9.1",
  req = "DELETE /x HTTP/1.1\r\n" .. H .. CRLF, expect = serve { { method = "DELETE" } } }

-- ================================================================ connection
-- RFC 9112 §9: persistence, pipelining, close; §2.2: a leading CRLF SHOULD
-- be ignored; RFC 9110 §10.1.1: Expect; §7.8: an Upgrade the server does
-- not take is ignored.

local function cn(t) t.cat = "connection" case(t) end

cn { name = "keep-alive-default", level = "must", rfc = "9112 9.3",
  req = get("/1"), expect = serve { { path = "/1" }, close = false } }
cn { name = "pipelined-two", level = "must", rfc = "9112 9.3.2",
  req = get("/1") .. get("/2"), expect = serve { { target = "/1" }, { target = "/2" } } }
cn { name = "pipelined-mixed-bodies", level = "must", rfc = "9112 9.3.2",
  req = get("/1") .. cl("3", "abc") .. chunked("2\r\nde\r\n0\r\n\r\n") .. get("/4"),
  expect = serve { { target = "/1" }, { body = "abc" }, { body = "de" }, { target = "/4" } } }
cn { name = "pipelined-fifty", level = "should", rfc = "9112 9.3.2",
  req = (function() local t = {} for i = 1, 50 do t[i] = get("/" .. i) end return table.concat(t) end)(),
  expect = function(r)
    local want = {}
    for i = 1, 50 do want[i] = { target = "/" .. i } end
    return serve(want)(r)
  end }
cn { name = "pipelined-then-garbage", level = "must", rfc = "9112 9.3.2",
  req = get("/1") .. "@@@@ ####\r\n\r\n",
  expect = function(r)
    local v, why = serve { { target = "/1" } } (r)
    if v ~= true then return v, why end
    if not (r.finals[2] and r.finals[2].status >= 400) then return false, "the garbage after it was not refused" end
    if r.finals[2].status ~= 400 then return "warn", ("the garbage after it got %d, not 400"):format(r.finals[2].status) end
    if not r.closed then return "warn", "400 but the connection stays open" end
    return true
  end }
cn { name = "connection-close", level = "must", rfc = "9112 9.6",
  req = get("/1", "Connection: close\r\n") .. get("/2"), expect = serve { { target = "/1" }, close = true } }
cn { name = "connection-close-case", level = "must", rfc = "9110 7.6.1",
  req = get("/1", "Connection: CLOSE\r\n") .. get("/2"), expect = serve { { target = "/1" }, close = true } }
cn { name = "connection-close-in-list", level = "must", rfc = "9110 7.6.1",
  req = get("/1", "Connection: keep-alive, close\r\n") .. get("/2"), expect = serve { { target = "/1" }, close = true } }
cn { name = "http10-closes", level = "must", rfc = "9112 9.3",
  req = get("/1", nil, "1.0") .. get("/2", nil, "1.0"), expect = serve { { target = "/1" }, close = true } }
cn { name = "http10-keep-alive", level = "must", rfc = "9112 9.3, C.2.2",
  req = get("/1", "Connection: keep-alive\r\n", "1.0") .. get("/2", "Connection: keep-alive\r\n", "1.0"),
  expect = either(serve { { target = "/1" }, { target = "/2" },
                          check = function(r)
                            local c = (r.finals[1].headers["connection"] or ""):lower()
                            if not c:find("keep%-alive") then return false, "kept an HTTP/1.0 connection without Connection: keep-alive" end
                            return true
                          end },
                  serve { { target = "/1" }, close = true }) }
cn { name = "http10-response-not-chunked", level = "must", rfc = "9112 6.1",
  req = get("/1", nil, "1.0"),
  expect = serve { { target = "/1" }, check = function(r)
    if r.finals[1].headers["transfer-encoding"] then return false, "sent Transfer-Encoding to HTTP/1.0" end
    return true
  end } }
cn { name = "leading-crlf", level = "should", rfc = "9112 2.2",
  req = "\r\n" .. get("/x"), expect = serve { { target = "/x" } } }
cn { name = "leading-crlf-between-pipelined", level = "should", rfc = "9112 2.2",
  req = get("/1") .. "\r\n" .. get("/2"), expect = serve { { target = "/1" }, { target = "/2" } } }
cn { name = "leading-crlf-after-body", level = "should", rfc = "9112 2.2",
  req = cl("5", "hello") .. "\r\n" .. get("/2"), expect = serve { { body = "hello" }, { target = "/2" } } }
cn { name = "leading-lf", level = "info", rfc = "9112 2.2",
  req = "\n" .. get("/x"), expect = either(serve { { target = "/x" } }, refuse()) }
cn { name = "leading-crlf-several", level = "info", rfc = "9112 2.2",
  req = "\r\n\r\n\r\n" .. get("/x"), expect = either(serve { { target = "/x" } }, refuse()) }
cn { name = "upgrade-h2c-ignored", level = "must", rfc = "9110 7.8",
  req = get("/1", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n") .. get("/2"),
  expect = serve { { target = "/1" }, { target = "/2" } } }
cn { name = "upgrade-websocket-ignored", level = "must", rfc = "9110 7.8",
  req = get("/1", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") .. get("/2"),
  expect = serve { { target = "/1" }, { target = "/2" } } }
cn { name = "upgrade-without-connection-option", level = "must", rfc = "9110 7.8",
  req = get("/1", "Upgrade: h2c\r\n") .. get("/2"), expect = serve { { target = "/1" }, { target = "/2" } } }
cn { name = "upgrade-on-post-body-kept", level = "must", rfc = "9110 7.8",
  req = post("Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n", "hello") .. get("/2"),
  expect = serve { { body = "hello" }, { target = "/2" } } }
cn { name = "expect-100-continue", level = "must", rfc = "9110 10.1.1",
  req = { post("Expect: 100-continue\r\nContent-Length: 5\r\n"), { wait = 1000 }, "hello" },
  expect = serve { { body = "hello" }, interim = 100 } }
cn { name = "expect-100-continue-chunked", level = "must", rfc = "9110 10.1.1",
  req = { post("Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n"), { wait = 1000 }, "5\r\nhello\r\n0\r\n\r\n" },
  expect = serve { { body = "hello" }, interim = 100 } }
cn { name = "expect-100-continue-case", level = "should", rfc = "9110 10.1.1",
  req = { post("Expect: 100-Continue\r\nContent-Length: 5\r\n"), { wait = 1000 }, "hello" },
  expect = serve { { body = "hello" }, interim = 100 } }
cn { name = "expect-100-continue-http10", level = "must", rfc = "9110 10.1.1, 15.2",
  req = "POST / HTTP/1.0\r\n" .. H .. "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
  expect = serve { { body = "hello" }, no_interim = true } }
cn { name = "expect-100-no-body", level = "must", rfc = "9110 10.1.1",
  req = post("Expect: 100-continue\r\nContent-Length: 0\r\n"), expect = serve { { body = "" } } }
cn { name = "expect-100-body-sent-at-once", level = "must", rfc = "9110 10.1.1",
  req = post("Expect: 100-continue\r\nContent-Length: 5\r\n", "hello") .. get("/2"),
  expect = serve { { body = "hello" }, { target = "/2" } } }
cn { name = "expect-unknown", level = "info", rfc = "9110 10.1.1",
  req = get("/", "Expect: something\r\n"), expect = either(refuse({ 417 }), serve()) }
cn { name = "head-no-body-then-next", level = "must", rfc = "9110 9.3.2",
  req = "HEAD /h HTTP/1.1\r\n" .. H .. CRLF .. get("/2"), heads = { 1 },
  expect = function(r)
    local f = r.finals[1]
    if not f then return false, "no response" end
    if f.status ~= 200 then return false, ("answered %d"):format(f.status) end
    if r.garbage then return false, "sent a body with the HEAD response" end
    local f2 = r.finals[2]
    if not (f2 and f2.status == 200 and f2.echo and f2.echo.target == "/2") then
      return false, "the request after HEAD was not answered"
    end
    return true
  end }
cn { name = "split-head-slow-client", level = "must", rfc = "9112 2.1",
  req = { "GET /sl", { sleep = 100 }, "ow HTTP/1.1\r\nHo", { sleep = 100 }, "st: example.com\r", { sleep = 100 }, "\n\r\n" },
  expect = serve { { target = "/slow" } } }
cn { name = "split-chunked-body", level = "must", rfc = "9112 7.1",
  req = { post("Transfer-Encoding: chunked\r\n"), { sleep = 50 }, "5\r", { sleep = 50 }, "\nhel", { sleep = 50 },
          "lo\r\n0\r", { sleep = 50 }, "\n\r\n" },
  expect = serve { { body = "hello" } } }

M.cases = cases
M.CRLF, M.HOST = CRLF, HOST
return M
