-- An HTTP/1.1 conformance and smuggling suite of raw requests
-- (spec/support/http_conformance_cases.lua) against net.HttpServer with
-- its defaults, with nginx and Node (also llhttp) run side by side. Every
-- case is sent on a new connection by spec/support/raw_http.py, bounded in
-- time (2 s without a byte, 0.5 s quiet after the last one); the replies
-- are parsed here and graded PASS, WARN or FAIL by the case's level.
--
-- The table, the luanetd FAILs and WARNs and the three scores go to stderr
-- and to build/http-conformance.txt. The specs: luanetd fails no "must"
-- case, and it passes every scored case that nginx or Node passes.
-- A peer that cannot be started (no nginx, no node) is skipped and said so;
-- HTTP_CONFORMANCE_SKIP=nginx,node skips peers on purpose.
local helper = require "helper"
local dh = require "support.daemon_helper"
local C = require "support.http_conformance_cases"

local PYTHON = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS /usr/bin/python3 -u"
local RUNNER = "spec/support/raw_http.py"
local REPORT = "build/http-conformance.txt"
local BOUND, QUIET = 2.0, 0.5

-- ------------------------------------------------------------ the servers

-- luanetd: net.HttpServer with no options at all; the handler answers
-- what it saw (see the cases file for the format).
local LUANETD_ECHO = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("conformance_echo.lua [--host H] [--port P]", { host = "127.0.0.1", port = 0 }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer()
local function esc(s)
  return (s:gsub("[^\33-\36\38-\126]", function(c) return ("%%%02X"):format(c:byte()) end))
end
server.request:connect(function(req, res)
  local h = req.headers
  local lines = { "ECHO", "has=method,target,path,query,host,version,body,cl,te,probe" }
  local function add(k, v)
    if v ~= nil then lines[#lines + 1] = k .. "=" .. esc(tostring(v)) end
  end
  add("method", req.method)
  add("target", req.target)
  add("path", req.path)
  add("query", req.query)
  add("host", h.host)
  local ok, rhost = pcall(function() return req.host end)
  if ok and type(rhost) == "string" then add("rhost", rhost) end
  add("version", req.version)
  add("cl", h["content-length"])
  add("te", h["transfer-encoding"])
  add("probe", h["x-probe"])
  add("body", req.body)
  res:setHeader("Content-Type", "text/plain")
  res:finish(table.concat(lines, "\n") .. "\n")
end)
server:serve(tcp)
]]

-- Node: http.createServer with its defaults; req.url is the raw target
-- (no path or query of its own).
local NODE_ECHO = [[
const http = require('http');
function esc(buf) {
  let s = '';
  for (const b of buf) {
    s += (b > 0x20 && b < 0x7f && b !== 0x25) ? String.fromCharCode(b)
       : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const lines = ['ECHO', 'has=method,target,host,version,body,cl,te,probe'];
    const add = (k, v) => { if (v !== undefined && v !== null) lines.push(k + '=' + esc(Buffer.from(String(v), 'latin1'))); };
    add('method', req.method);
    add('target', req.url);
    add('host', req.headers['host']);
    add('version', req.httpVersion);
    add('cl', req.headers['content-length']);
    add('te', req.headers['transfer-encoding']);
    add('probe', req.headers['x-probe']);
    lines.push('body=' + esc(Buffer.concat(chunks)));
    const out = Buffer.from(lines.join('\n') + '\n', 'latin1');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': out.length });
    res.end(out);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log('The server is running on IP: 127.0.0.1 port: ' + server.address().port);
});
]]

-- nginx: `return` cannot give the body, the parsed path or query ($uri is
-- decoded and normalised); $host is the name alone, lower case.
local NGINX_SERVER = [[
    default_type text/plain;
    location / {
      return 200 "ECHO\nhas=method,target,host,version,cl,te,probe\nraw=1\nhostmode=name\nmethod=$request_method\ntarget=$request_uri\nhost=$host\nversion=$server_protocol\ncl=$http_content_length\nte=$http_transfer_encoding\nprobe=$http_x_probe\n";
    }
]]

local SKIP = {}
for name in (os.getenv("HTTP_CONFORMANCE_SKIP") or ""):gmatch("[^,%s]+") do SKIP[name] = true end

local function command_exists(name)
  return os.execute("command -v " .. name .. " >/dev/null 2>&1") == true
end

-- { name, port, stop } for each peer that starts, and notes on those that do not.
local function start_peers()
  local peers, notes = {}, {}
  local dir = dh.tmpdir()
  dh.write(dir .. "/conformance_echo.lua", LUANETD_ECHO)
  dh.write(dir .. "/echo.js", NODE_ECHO)
  local ok, err = pcall(function()
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, dir .. "/conformance_echo.lua"))
    peers[#peers + 1] = { name = "luanetd", port = port, stop = proc.cleanup, proc = proc }
  end)
  if not ok then
    os.execute("rm -rf " .. helper.quote(dir))
    error(err, 0)
  end
  if SKIP.nginx then
    notes[#notes + 1] = "nginx skipped: HTTP_CONFORMANCE_SKIP"
  elseif command_exists("/usr/sbin/nginx") then
    local ok2, port, stop = pcall(require("support.nginx").start, NGINX_SERVER)
    if ok2 then
      peers[#peers + 1] = { name = "nginx", port = port, stop = stop }
    else
      notes[#notes + 1] = "nginx skipped: it did not start: " .. tostring(port)
    end
  else
    notes[#notes + 1] = "nginx skipped: /usr/sbin/nginx is not installed"
  end
  local node = command_exists("node") and "node" or command_exists("nodejs") and "nodejs"
  if SKIP.node then
    notes[#notes + 1] = "node skipped: HTTP_CONFORMANCE_SKIP"
  elseif node then
    local ok3, proc, port = pcall(helper.start_server,
      "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS " .. helper.quote_all(node, dir .. "/echo.js"))
    if ok3 then
      peers[#peers + 1] = { name = "node", port = port, stop = proc.cleanup }
    else
      notes[#notes + 1] = "node skipped: it did not start: " .. tostring(proc)
    end
  else
    notes[#notes + 1] = "node skipped: node is not installed (the nodejs package: add it to TEST_DEPS)"
  end
  local function stop_all()
    for _, p in ipairs(peers) do pcall(p.stop) end
    os.execute("rm -rf " .. helper.quote(dir))
  end
  return peers, notes, stop_all
end

-- ------------------------------------------------------------ replies

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_echo(body)
  if body:sub(1, 5) ~= "ECHO\n" then return nil end
  local e, raw = { caps = {} }, body:find("\nraw=1\n", 1, true) ~= nil
  for line in body:sub(6):gmatch("([^\n]*)\n") do
    local k, v = line:match("^(%w+)=(.*)$")
    if k == "has" then
      for c in v:gmatch("[^,]+") do e.caps[c] = true end
    elseif k then
      e[k] = raw and v or unescape(v)
    end
  end
  if e.version then e.version = e.version:gsub("^HTTP/", "") end
  -- nginx gives "" for a field that is not there
  if raw then
    for _, k in ipairs({ "cl", "te", "probe", "host" }) do if e[k] == "" then e[k] = nil end end
  end
  return e
end

-- The responses in `raw`: interim (1xx) and final ones, in order; a final
-- response listed in `heads` answers HEAD and has no body. What does not
-- parse as a response is left in `garbage`.
local function parse_responses(raw, heads)
  local set = {}
  for _, i in ipairs(heads or {}) do set[i] = true end
  local pos, finals, interim, garbage = 1, {}, {}, nil
  while pos <= #raw do
    local head_end = raw:find("\r\n\r\n", pos, true)
    local status_line = raw:match("^([^\r\n]*)\r\n", pos)
    local code = status_line and status_line:match("^HTTP/%d%.%d (%d%d%d)")
    if not code or not head_end then
      garbage = raw:sub(pos)
      break
    end
    local headers = {}
    local block = raw:sub(pos + #status_line + 2, head_end + 1)
    for name, value in block:gmatch("([^:\r\n]+):[ \t]*([^\r\n]-)[ \t]*\r\n") do
      local k = name:lower()
      headers[k] = headers[k] and headers[k] .. ", " .. value or value
    end
    pos = head_end + 4
    local status = tonumber(code)
    local resp = { status = status, headers = headers }
    if status >= 100 and status < 200 and status ~= 101 then
      interim[#interim + 1] = resp
    else
      local n = #finals + 1
      local body = ""
      resp.head = set[n] or false
      if resp.head or status == 101 or status == 204 or status == 304 then
        body = ""
      elseif (headers["transfer-encoding"] or ""):lower():find("chunked") then
        local parts = {}
        while true do
          local size_line = raw:match("^([^\r\n]*)\r\n", pos)
          local size = size_line and tonumber(size_line:match("^%x+"), 16)
          if not size then resp.truncated = true break end
          pos = pos + #size_line + 2
          if size == 0 then
            local trailer_end = raw:find("\r\n\r\n", pos - 2, true)
            pos = trailer_end and trailer_end + 4 or #raw + 1
            break
          end
          parts[#parts + 1] = raw:sub(pos, pos + size - 1)
          pos = pos + size + 2
        end
        body = table.concat(parts)
      elseif headers["content-length"] then
        local len = tonumber(headers["content-length"]:match("^%d+")) or 0
        body = raw:sub(pos, pos + len - 1)
        resp.truncated = #body < len
        pos = pos + len
      else
        body = raw:sub(pos)
        pos = #raw + 1
      end
      resp.body = body
      resp.echo = parse_echo(body)
      finals[n] = resp
      if status == 101 then
        if pos <= #raw then garbage = raw:sub(pos) end
        break
      end
    end
  end
  local echoes = {}
  for _, f in ipairs(finals) do
    if f.echo then echoes[#echoes + 1] = f.echo end
  end
  return { finals = finals, interim = interim, echoes = echoes, garbage = garbage }
end

-- ------------------------------------------------------------ running

-- Runs every case against every peer in one run of the raw client;
-- returns results[peer name][case index] = r.
local function run_all(peers, cases)
  local input = os.tmpname()
  local f = assert(io.open(input, "wb"))
  -- case by case, the peers side by side: the connections open at a time
  -- are shared out among them
  for ci, c in ipairs(cases) do
    for pi, p in ipairs(peers) do
      local tokens = {}
      local req = type(c.req) == "table" and c.req or { c.req }
      for _, piece in ipairs(req) do
        if type(piece) == "string" then
          if #piece > 0 then tokens[#tokens + 1] = helper.hex(piece) end
        elseif piece.wait then
          tokens[#tokens + 1] = "~w" .. math.tointeger(piece.wait)
        else
          tokens[#tokens + 1] = "~s" .. math.tointeger(piece.sleep)
        end
      end
      f:write(("%d %d:%d %s\n"):format(p.port, pi, ci, table.concat(tokens, " ")))
    end
  end
  f:close()
  local code, out, err = helper.execute(("%s %s --bound %s --quiet %s --jobs 64 %s"):format(
    PYTHON, RUNNER, BOUND, QUIET, helper.quote(input)), 240000)
  os.remove(input)
  assert(code == 0, "raw_http.py failed (" .. tostring(code) .. "): " .. err)
  local results = {}
  for _, p in ipairs(peers) do results[p.name] = {} end
  for line in out:gmatch("[^\n]+") do
    local pi, ci, state, ms, hex = line:match("^(%d+):(%d+) (%S+) (%d+) (%S+)$")
    assert(pi, "raw_http.py: " .. line)
    pi, ci = tonumber(pi), tonumber(ci)
    local raw = hex == "-" and "" or helper.unhex(hex)
    local r = parse_responses(raw, cases[ci].heads)
    r.raw, r.state, r.ms = raw, state, tonumber(ms)
    r.closed = state == "closed" or state == "reset"
    r.peer = peers[pi].name
    results[peers[pi].name][ci] = r
  end
  return results
end

-- One request on a new connection to port: the parsed exchange.
local function exchange(port, req, heads)
  local input = os.tmpname()
  local f = assert(io.open(input, "wb"))
  f:write(("%d 1 %s\n"):format(port, helper.hex(req)))
  f:close()
  local code, out, err = helper.execute(("%s %s --bound %s --quiet %s %s"):format(
    PYTHON, RUNNER, BOUND, QUIET, helper.quote(input)), 20000)
  os.remove(input)
  assert(code == 0, "raw_http.py failed: " .. err)
  local state, hex = out:match("^1 (%S+) %d+ (%S+)")
  local r = parse_responses(hex == "-" and "" or helper.unhex(hex), heads)
  r.state = state
  r.closed = state == "closed" or state == "reset"
  return r
end

-- "pass", "warn", "fail" (or "info" with the outcome in the second value)
-- and the reason.
local function grade(c, r)
  if not r then return c.level == "info" and "info" or "fail", "fail", "no result" end
  local ok, v, why = pcall(c.expect, r)
  if not ok then v, why = false, "expectation raised: " .. tostring(v) end
  local outcome
  if v == true then
    outcome = "pass"
  elseif v == "warn" then
    outcome = "warn"
  else
    outcome = c.level == "should" and "warn" or "fail"
  end
  if c.level == "info" then
    return "info", v == true and "pass" or v == "warn" and "warn" or "fail", why
  end
  return outcome, outcome, why
end

local function pad(s, n)
  s = tostring(s)
  if #s > n then return s:sub(1, n - 1) .. "~" end
  return s .. (" "):rep(n - #s)
end

-- ------------------------------------------------------------ the spec

describe("HTTP/1.1 conformance (raw requests) of net.HttpServer, with nginx and Node side by side", function()
  local cases = C.cases
  local peers, notes, stop_all
  local results, grades = {}, {}   -- grades[peer][i] = { verdict, outcome, why }
  local report = {}
  local elapsed_ms

  local function say(s)
    report[#report + 1] = s
  end

  setup(function()
    local t0 = helper.now_ms()
    peers, notes, stop_all = start_peers()
    results = run_all(peers, cases)
    for _, p in ipairs(peers) do
      grades[p.name] = {}
      for i, c in ipairs(cases) do
        local verdict, outcome, why = grade(c, results[p.name][i])
        grades[p.name][i] = { verdict = verdict, outcome = outcome, why = why }
      end
    end
    elapsed_ms = helper.now_ms() - t0

    -- The report.
    local names = {}
    for _, p in ipairs(peers) do names[#names + 1] = p.name end
    say(("HTTP/1.1 conformance of %s: %d cases (%s), peers: %s; %d ms"):format(helper.LUANETD, #cases,
      (function()
        local n = { must = 0, should = 0, info = 0 }
        for _, c in ipairs(cases) do n[c.level] = n[c.level] + 1 end
        return ("%d scored: %d must, %d should; %d info"):format(n.must + n.should, n.must, n.should, n.info)
      end)(), table.concat(names, ", "), elapsed_ms))
    for _, n in ipairs(notes) do say("NOTE: " .. n) end
    say("")
    local header = pad("case", 40) .. pad("level", 7) .. pad("luanetd", 30) .. pad("nginx", 30) .. "node"
    say(header)
    say(("-"):rep(#header + 26))
    local last_cat
    for i, c in ipairs(cases) do
      if c.cat ~= last_cat then
        say("[" .. c.cat .. "]")
        last_cat = c.cat
      end
      local row = pad(c.name, 40) .. pad(c.level, 7)
      for _, pn in ipairs({ "luanetd", "nginx", "node" }) do
        local cell
        if grades[pn] then
          local g = grades[pn][i]
          local label = g.verdict == "info" and g.outcome:lower() or g.verdict:upper()
          cell = label .. " " .. C.summary(results[pn][i])
        else
          cell = "(skipped)"
        end
        row = row .. (pn == "node" and cell or pad(cell, 30))
      end
      say(row)
    end
    say("")
    say("Scores over the scored cases (must and should):")
    for _, p in ipairs(peers) do
      local n = { pass = 0, warn = 0, fail = 0 }
      for i in ipairs(cases) do
        local v = grades[p.name][i].verdict
        if n[v] then n[v] = n[v] + 1 end
      end
      say(("  %-8s %3d pass, %3d warn, %3d fail"):format(p.name, n.pass, n.warn, n.fail))
    end
    say("")
    say("By category (cases; pass/warn/fail over the scored ones):")
    local cats, order = {}, {}
    for i, c in ipairs(cases) do
      if not cats[c.cat] then
        cats[c.cat] = { n = 0 }
        order[#order + 1] = c.cat
      end
      local k = cats[c.cat]
      k.n = k.n + 1
      for _, p in ipairs(peers) do
        k[p.name] = k[p.name] or { pass = 0, warn = 0, fail = 0 }
        local v = grades[p.name][i].verdict
        if k[p.name][v] then k[p.name][v] = k[p.name][v] + 1 end
      end
    end
    for _, cat in ipairs(order) do
      local k = cats[cat]
      local line = ("  %-15s %3d"):format(cat, k.n)
      for _, p in ipairs(peers) do
        local t = k[p.name]
        line = line .. ("   %s %d/%d/%d"):format(p.name, t.pass, t.warn, t.fail)
      end
      say(line)
    end
    say("")
    for _, kind in ipairs({ "fail", "warn" }) do
      local list = {}
      for i, c in ipairs(cases) do
        local g = grades.luanetd[i]
        if g.verdict == kind then
          list[#list + 1] = ("  %-40s [%s, RFC %s] %s -- %s"):format(c.name, c.cat, c.rfc or "?",
            C.summary(results.luanetd[i]), g.why or "")
        end
      end
      say(("luanetd %s (%d):"):format(kind == "fail" and "FAILs" or "WARNs", #list))
      for _, l in ipairs(list) do say(l) end
      say("")
    end
    for _, p in ipairs(peers) do
      if p.name ~= "luanetd" then
        local list = {}
        for i, c in ipairs(cases) do
          local g = grades[p.name][i]
          if g.verdict == "fail" then
            list[#list + 1] = ("  %-40s %s -- %s"):format(c.name, C.summary(results[p.name][i]), g.why or "")
          end
        end
        say(("%s FAILs, for comparison (%d):"):format(p.name, #list))
        for _, l in ipairs(list) do say(l) end
        say("")
      end
    end
    local text = table.concat(report, "\n") .. "\n"
    io.stderr:write("\n", text)
    local out = io.open(REPORT, "wb")
    if out then
      out:write(text)
      out:close()
    end
  end)

  teardown(function()
    if stop_all then stop_all() end
  end)

  it("runs every case against every peer within the time bound", function()
    for _, p in ipairs(peers) do
      for i, c in ipairs(cases) do
        assert(results[p.name][i], ("no result for %s against %s"):format(c.name, p.name))
      end
    end
    assert.is_true(elapsed_ms < 90000, ("the suite took %d ms"):format(elapsed_ms))
  end)

  it("leaves the luanetd server up and answering, with no sanitizer or runtime error logged", function()
    local p = peers[1]
    assert.is_nil(p.proc.exit_code(), "the luanetd server exited: " .. p.proc.stderr())
    local r = exchange(p.port, "GET /still-there HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
    local e = r.finals[1] and r.finals[1].echo
    assert.are.same("/still-there", e and e.target)
    local err = p.proc.stderr()
    for _, bad in ipairs({ "Sanitizer", "runtime error", "stack traceback", "PANIC" }) do
      assert(not err:find(bad, 1, true), "the luanetd server logged: " .. err)
    end
  end)

  it("has no luanetd failure of a MUST case", function()
    local list = {}
    for i, c in ipairs(cases) do
      local g = grades.luanetd[i]
      if g.verdict == "fail" then
        list[#list + 1] = ("%s: %s (%s)"):format(c.name, g.why or "?", C.summary(results.luanetd[i]))
      end
    end
    assert(#list == 0, ("%d MUST cases fail against luanetd:\n  %s"):format(#list, table.concat(list, "\n  ")))
  end)

  it("lists every luanetd WARN (a SHOULD case it fails, or a lenient reading) in the report", function()
    local text = table.concat(report, "\n")
    for i, c in ipairs(cases) do
      if grades.luanetd[i].verdict == "warn" then
        assert(text:find("\n  " .. c.name .. " ", 1, true), c.name .. " is not listed")
      end
    end
  end)

  it("is at least as strict as nginx and Node: passes every scored case either passes", function()
    local list = {}
    for i, c in ipairs(cases) do
      if c.level ~= "info" and grades.luanetd[i].verdict ~= "pass" then
        local by = {}
        for _, pn in ipairs({ "nginx", "node" }) do
          if grades[pn] and grades[pn][i].verdict == "pass" then by[#by + 1] = pn end
        end
        if #by > 0 then
          list[#list + 1] = ("%s: luanetd %s (%s), passed by %s"):format(c.name, grades.luanetd[i].verdict:upper(),
            C.summary(results.luanetd[i]), table.concat(by, " and "))
        end
      end
    end
    assert(#list == 0, ("%d cases where a peer does better than luanetd:\n  %s"):format(#list, table.concat(list, "\n  ")))
  end)
end)

-- The real static file server takes absolute-form too (RFC 9112 §3.2.2).
describe("scripts/httpd.lua and absolute-form", function()
  local proc, port, index

  setup(function()
    local www = helper.copy_of("www")
    index = assert(helper.slurp(www .. "/index.html"))
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("httpd.lua"), "--root", www))
  end)

  teardown(function()
    if proc then proc.cleanup() end
  end)

  it("serves a file named by an absolute-form target", function()
    local r = exchange(port, "GET http://example.com/index.html HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
    assert.are.same({ 200, index }, { r.finals[1] and r.finals[1].status, r.finals[1] and r.finals[1].body })
  end)

  it("serves the index for an absolute-form target of the root, whatever the Host field says", function()
    local r = exchange(port, "GET http://example.com/ HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n")
    assert.are.same({ 200, index }, { r.finals[1] and r.finals[1].status, r.finals[1] and r.finals[1].body })
  end)
end)
