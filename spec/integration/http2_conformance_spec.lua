-- HTTP/2 conformance of net.HttpServer (h2c, prior knowledge), after
-- h2spec's test groups: generic, http2 (RFC 7540, as RFC 9113 keeps it)
-- and hpack (RFC 7541). h2spec itself is not packaged: the cases are
-- spec/support/h2_frames.py's, one per h2spec test case with h2spec's
-- number and wording (its --strict case too), plus cases of the same
-- sections that h2spec has none for (numbered "x"). Each case is a raw
-- HTTP/2 client on a connection of its own, to one luanetd server for all.
--
-- The verdicts follow h2spec's verifiers (spec/verifier.go):
--   connection error   a GOAWAY with one of the codes, or the connection
--                      closed (RFC 9113 5.4.1: GOAWAY SHOULD come first)
--   stream error       a RST_STREAM or a GOAWAY with one of the codes, or
--                      the connection closed (5.4.2 allows the harsher one)
--   (closed: at a frame boundary; bytes that are no HTTP/2 frame before the
--   close, an HTTP/1.1 answer say, fail h2spec's framer, and so the case)
--   a response         HEADERS on the stream (here also: its status and the
--                      body's end, and for the POST cases the body length
--                      the handler read)
--   PING ACK / SETTINGS ACK / DATA of a length: the first such frame.
local helper = require "helper"
local net = helper.net

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"
local FRAMES = "spec/support/h2_frames.py"

-- Answers every path; a POST's body is read whole (req.body) and its
-- length said in the answer, which is always longer than 5 bytes
-- (h2spec's flow-control cases need that much DATA). /exit closes the
-- server, and the process ends as a script does when nothing is left: an
-- orderly exit, after which the sanitizer build looks for leaks.
local SERVER = [[
local net = require "luanet"
local cli = require "luanet.cli"
local opts = cli.options("server", { host = "127.0.0.1", port = 0 }, ...)
local tcp = assert(cli.listen(opts))
local server = net.HttpServer{ headerTimeout = 5000 }
server.request:connect(function(req, res)
  res:setHeader("Content-Type", "text/plain")
  res:finish(("%s %s: %d bytes of body\n"):format(req.method, req.path, #(req.body or "")))
  if req.path == "/exit" then
    server:close()
    tcp:close()
  end
end)
server:serve(tcp)
]]

-- ---------------------------------------------------------------- verdicts

local ZERO = ("00"):rep(8)                          -- PING payload, hex
local H2SPEC = helper.hex("h2spec\0\0")

local function list(v) return type(v) == "table" and v or {} end   -- JSON [] and null

-- h2spec's "Connection closed": EOF (or a reset) at a frame's boundary.
-- Bytes that are no whole frame before it (an HTTP/1.1 answer, say) make
-- its framer fail (ErrUnexpectedEOF): an error event, which no verifier
-- takes for the close.
local function closed_cleanly(r)
  return r.closed == true and type(r.unframed) ~= "table"
end

local function has(codes, code)
  for _, c in ipairs(codes) do if c == code then return true end end
  return false
end

local function first(frames, ftype)
  for _, f in ipairs(list(frames)) do if f.type == ftype then return f end end
end

local function conn_error(...)
  local codes = { ... }
  return { what = "connection error " .. table.concat(codes, " or ") .. ": GOAWAY with it, or the connection closed",
    check = function(r)
      for _, f in ipairs(list(r.frames)) do
        if f.type == "GOAWAY" and has(codes, f.error) then return true end
      end
      return closed_cleanly(r)
    end }
end

local function stream_error(...)
  local codes = { ... }
  return { what = "stream error " .. table.concat(codes, " or ") ..
                  ": RST_STREAM or GOAWAY with it, or the connection closed",
    check = function(r)
      for _, f in ipairs(list(r.frames)) do
        if (f.type == "RST_STREAM" or f.type == "GOAWAY") and has(codes, f.error) then return true end
      end
      return closed_cleanly(r)
    end }
end

local function closed()
  return { what = "the connection closed", check = closed_cleanly }
end

-- h2spec's WaitEventByType(GOAWAY), and the code (RFC 9113 5.4.1 says which).
local function goaway(code, last_stream)
  return { what = ("GOAWAY %s%s"):format(code, last_stream and (" with last stream " .. last_stream) or ""),
    check = function(r)
      local f = first(r.frames, "GOAWAY")
      return f ~= nil and f.error == code and (last_stream == nil or f.last_stream == last_stream)
    end }
end

local function rst(code, stream)
  return { what = ("RST_STREAM %s on stream %d"):format(code, stream),
    check = function(r)
      local f = first(r.frames, "RST_STREAM")
      return f ~= nil and f.error == code and f.stream == stream
    end }
end

local function ping_ack(data)
  return { what = "PING ACK with the payload " .. data,
    check = function(r)
      local f = first(r.frames, "PING")
      return f ~= nil and f.ack and f.data == data
    end }
end

local function ping_any()
  return { what = "a PING frame", check = function(r) return first(r.frames, "PING") ~= nil end }
end

local function ping_or_close(data)
  return { what = "PING ACK with the payload " .. data .. ", or the connection closed",
    check = function(r)
      for _, f in ipairs(list(r.frames)) do
        if f.type == "PING" and f.ack and f.data == data then return true end
      end
      return closed_cleanly(r)
    end }
end

local function settings_ack()
  return { what = "SETTINGS with ACK (the first SETTINGS frame)",
    check = function(r)
      local f = first(r.frames, "SETTINGS")
      return f ~= nil and f.ack
    end }
end

local function settings_first()
  return { what = "SETTINGS without ACK as the server's first frame",
    check = function(r)
      local f = list(r.frames)[1]
      return f ~= nil and f.type == "SETTINGS" and not f.ack
    end }
end

local function data_len(n)
  return { what = ("DATA of %d octet(s) on stream 1 (the first DATA frame)"):format(n),
    check = function(r)
      local f = first(r.frames, "DATA")
      return f ~= nil and f.stream == 1 and f.length == n
    end }
end

local function data_any()
  return { what = "a DATA frame", check = function(r) return first(r.frames, "DATA") ~= nil end }
end

-- A whole response on `stream` (1): h2spec's VerifyHeadersFrame (the first
-- HEADERS frame after the case's frames is that stream's), its :status,
-- the stream's END_STREAM, and for a POST the body length the handler saw.
local function response(status, opts)
  opts = opts or {}
  local stream = opts.stream or 1
  return { what = ("a %s response on stream %d%s"):format(status or "(any status)", stream,
                   opts.body and (" saying %q"):format(opts.body) or ""),
    check = function(r)
      local h = first(r.frames, "HEADERS")
      if h and h.stream ~= stream then return false end
      local all = {}
      for _, f in ipairs(list(r.before)) do all[#all + 1] = f end
      for _, f in ipairs(list(r.frames)) do all[#all + 1] = f end
      local got, ended, body = nil, false, nil
      for _, f in ipairs(all) do
        if f.stream == stream and f.type == "HEADERS" and got == nil then got = f.status end
        if f.stream == stream and f.end_stream then ended = true end
      end
      if stream == 1 then body = r.body end
      return (got == status or (status == nil and type(got) == "number")) and ended and
             (opts.body == nil or body == opts.body)
    end }
end

-- n requests on streams 1, 3, ...: every one answered 200, whole, the odd
-- ones POSTs of i bytes (h2_frames.py's 8.1/x2).
local function all_answered(n)
  return { what = ("%d whole 200 responses, each with its own request's answer"):format(n),
    check = function(r)
      local responses = type(r.responses) == "table" and r.responses or {}
      for i = 0, n - 1 do
        local s = responses[tostring(1 + 2 * i)]
        local want = i % 2 == 1 and ("POST /: %d bytes of body\n"):format(i) or "GET /: 0 bytes of body\n"
        if not (s and s.status == 200 and s.ended == true and s.body == want) then return false end
      end
      return true
    end }
end

local function post_body(n) return { body = ("POST /: %d bytes of body\n"):format(n) } end

-- What an earlier step of the case waited for (h2spec fails the case when
-- it does not come), then the verdict on what came after the last step:
-- steps are "settings-ack", "data", "headers" or "end" (stream 1's
-- END_STREAM), in order, in the frames before.
local function after(steps, v)
  return { what = ("(%s, then) %s"):format(table.concat(steps, ", "), v.what),
    check = function(r)
      local i = 1
      for _, f in ipairs(list(r.before)) do
        local s = steps[i]
        if (s == "settings-ack" and f.type == "SETTINGS" and f.ack) or (s == "data" and f.type == "DATA") or
           (s == "headers" and f.type == "HEADERS") or (s == "end" and f.stream == 1 and f.end_stream) then
          i = i + 1
        end
      end
      return i > #steps and v.check(r)
    end }
end

-- -------------------------------------------------------------- the cases

local PE, FSE, CE = "PROTOCOL_ERROR", "FRAME_SIZE_ERROR", "COMPRESSION_ERROR"
local SC, FCE = "STREAM_CLOSED", "FLOW_CONTROL_ERROR"
local OK = response(200)

local EXPECT = {
  -- generic
  ["generic/1/1"] = settings_first(),
  ["generic/2/1"] = ping_ack(ZERO),
  ["generic/2/2"] = data_any(),
  ["generic/2/3"] = data_any(),
  ["generic/2/4"] = ping_or_close(ZERO),
  ["generic/2/5"] = after({ "end" }, ping_ack(ZERO)),
  ["generic/3.1/1"] = response(200, post_body(4)),
  ["generic/3.1/2"] = response(200, post_body(8)),
  ["generic/3.1/3"] = response(200, post_body(4)),
  ["generic/3.2/1"] = OK, ["generic/3.2/2"] = OK, ["generic/3.2/3"] = OK,
  ["generic/3.3/1"] = OK, ["generic/3.3/2"] = OK, ["generic/3.3/3"] = OK, ["generic/3.3/4"] = OK,
  ["generic/3.3/5"] = OK,
  ["generic/3.4/1"] = ping_or_close(ZERO),
  ["generic/3.5/1"] = settings_ack(),
  ["generic/3.7/1"] = ping_ack(H2SPEC),
  ["generic/3.8/1"] = ping_or_close(H2SPEC),
  ["generic/3.9/1"] = ping_ack(ZERO),
  ["generic/3.9/2"] = OK,
  ["generic/3.10/1"] = OK, ["generic/3.10/2"] = OK,
  ["generic/4/1"] = OK,
  ["generic/4/2"] = response(200, { body = "" }),   -- HEAD: no body
  ["generic/4/3"] = response(200, post_body(4)),
  ["generic/4/4"] = response(200, post_body(4)),
  ["generic/5/14"] = OK, ["generic/5/15"] = OK,
  -- 3.5
  ["3.5/1"] = settings_first(),
  ["3.5/2"] = conn_error(PE),
  ["3.5/x1"] = conn_error(PE),
  ["3.5/x2"] = OK,
  -- 4.1
  ["4.1/1"] = ping_ack(ZERO),
  ["4.1/2"] = ping_any(),
  ["4.1/3"] = ping_any(),
  ["4.1/x1"] = OK, ["4.1/x2"] = OK,
  -- 4.2
  ["4.2/1"] = response(200, post_body(16384)),
  ["4.2/2"] = stream_error(FSE),
  ["4.2/3"] = conn_error(FSE),
  ["4.2/x1"] = conn_error(FSE),
  ["4.2/x2"] = conn_error(FSE),
  ["4.2/x3"] = conn_error(FSE),
  ["4.2/x4"] = stream_error(FSE),
  ["4.2/x5"] = conn_error(FSE),
  -- 4.3
  ["4.3/1"] = conn_error(CE),
  ["4.3/2"] = conn_error(PE),
  ["4.3/3"] = conn_error(PE),
  ["4.3/x1"] = conn_error(CE),
  ["4.3/x2"] = OK,
  ["4.3/x3"] = after({ "end" }, response(200, { stream = 3 })),
  -- 5.1
  ["5.1/1"] = stream_error(PE, SC),
  ["5.1/2"] = conn_error(PE),
  ["5.1/3"] = conn_error(PE),
  ["5.1/4"] = conn_error(PE),
  ["5.1/5"] = stream_error(SC),
  ["5.1/6"] = stream_error(SC),
  ["5.1/7"] = stream_error(SC, PE),
  ["5.1/8"] = stream_error(SC),
  ["5.1/9"] = stream_error(SC),
  ["5.1/10"] = stream_error(SC, PE),
  ["5.1/11"] = after({ "end" }, stream_error(SC)),
  ["5.1/12"] = after({ "end" }, conn_error(SC)),
  ["5.1/13"] = after({ "end" }, conn_error(SC, PE)),
  ["5.1/x1"] = after({ "end" }, ping_ack(ZERO)),
  ["5.1/x2"] = after({ "end" }, ping_ack(ZERO)),
  ["5.1/x3"] = conn_error(PE),
  -- 5.1.1, 5.1.2, 5.3.1
  ["5.1.1/1"] = conn_error(PE),
  ["5.1.1/2"] = conn_error(PE),
  ["5.1.1/x1"] = response(200, { stream = 0x7fffffff }),
  ["5.1.2/1"] = stream_error(PE, "REFUSED_STREAM"),
  ["5.3.1/1"] = stream_error(PE),
  ["5.3.1/2"] = stream_error(PE),
  ["5.3.1/x1"] = stream_error(PE),
  -- 5.4.1, 5.5
  ["5.4.1/1"] = closed(),
  ["5.4.1/2"] = goaway(PE),
  ["5.4.1/x1"] = after({ "end" }, goaway(PE, 1)),
  ["5.5/1"] = ping_ack(ZERO),
  ["5.5/2"] = conn_error(PE),
  ["5.5/x1"] = OK,
  -- 6.1 - 6.4
  ["6.1/1"] = conn_error(PE),
  ["6.1/2"] = stream_error(SC),
  ["6.1/3"] = conn_error(PE),
  ["6.1/x1"] = conn_error(PE),
  ["6.1/x2"] = response(200, post_body(4)),
  ["6.1/x3"] = response(200, post_body(0)),
  ["6.2/1"] = conn_error(PE),
  ["6.2/2"] = conn_error(PE),
  ["6.2/3"] = conn_error(PE),
  ["6.2/4"] = stream_error(PE),
  ["6.2/x1"] = OK,
  ["6.3/1"] = conn_error(PE),
  ["6.3/2"] = stream_error(FSE),
  ["6.3/x1"] = stream_error(FSE),
  ["6.4/1"] = conn_error(PE),
  ["6.4/2"] = conn_error(PE),
  ["6.4/3"] = stream_error(FSE),
  ["6.4/x1"] = conn_error(FSE),
  ["6.4/x2"] = response(200, { stream = 3 }),
  ["6.4/x3"] = after({ "settings-ack", "headers" }, response(200, { stream = 3 })),
  -- 6.5
  ["6.5/1"] = conn_error(FSE),
  ["6.5/2"] = conn_error(PE),
  ["6.5/3"] = stream_error(PE, FSE),
  ["6.5/x1"] = settings_ack(),
  ["6.5.2/1"] = conn_error(PE),
  ["6.5.2/2"] = conn_error(FCE),
  ["6.5.2/3"] = conn_error(PE),
  ["6.5.2/4"] = conn_error(PE),
  ["6.5.2/5"] = ping_ack(ZERO),
  ["6.5.2/x1"] = settings_ack(),
  ["6.5.2/x2"] = OK,
  ["6.5.2/x3"] = OK,
  ["6.5.3/1"] = after({ "settings-ack" }, data_len(1)),
  ["6.5.3/2"] = settings_ack(),
  -- 6.7, 6.8
  ["6.7/1"] = ping_ack(H2SPEC),
  ["6.7/2"] = ping_ack(H2SPEC),
  ["6.7/3"] = conn_error(PE),
  ["6.7/4"] = conn_error(FSE),
  ["6.7/x1"] = conn_error(FSE),
  ["6.8/1"] = conn_error(PE),
  ["6.8/x1"] = conn_error(FSE),
  ["6.8/x2"] = OK,
  -- 6.9
  ["6.9/1"] = conn_error(PE),
  ["6.9/2"] = stream_error(PE),
  ["6.9/3"] = conn_error(FSE),
  ["6.9/x1"] = conn_error(FSE),
  ["6.9.1/1"] = after({ "settings-ack" }, data_len(1)),
  ["6.9.1/2"] = goaway(FCE),
  ["6.9.1/3"] = rst(FCE, 1),
  ["6.9.1/x1"] = ping_ack(ZERO),
  ["6.9.2/1"] = after({ "settings-ack" }, data_len(1)),
  ["6.9.2/2"] = after({ "settings-ack", "data", "settings-ack" }, data_len(1)),
  ["6.9.2/3"] = conn_error(FCE),
  ["6.9.2/x1"] = conn_error(FCE),
  ["6.9.2/x2"] = after({ "settings-ack", "headers" }, OK),
  -- 6.10
  ["6.10/1"] = OK,
  ["6.10/2"] = conn_error(PE),
  ["6.10/3"] = conn_error(PE),
  ["6.10/4"] = conn_error(PE),
  ["6.10/5"] = conn_error(PE),
  ["6.10/6"] = conn_error(PE),
  ["6.10/x1"] = conn_error(PE),
  ["6.10/x2"] = conn_error(PE),
  ["6.10/x3"] = OK,
  -- 7
  ["7/1"] = ping_or_close(H2SPEC),
  ["7/2"] = ping_or_close(ZERO),
  -- 8.1
  ["8.1/1"] = stream_error(PE),
  ["8.1/x1"] = response(200, post_body(0)),
  ["8.1/x2"] = all_answered(10),
  ["8.1.2/x9"] = OK, ["8.1.2/x10"] = OK,
  ["8.1.2.2/x5"] = OK,
  ["8.1.2.3/x8"] = OK, ["8.1.2.3/x9"] = OK, ["8.1.2.3/x10"] = OK,
  ["8.1.2.3/x11"] = response(nil),   -- a CONNECT this server does not serve: 501, not a stream error
  ["8.1.2.6/x5"] = response(200, post_body(8)),
  -- 8.2
  ["8.2/1"] = conn_error(PE),
  ["8.2/x1"] = conn_error(PE),
  ["hpack/4.2/x2"] = after({ "end" }, conn_error(CE)),
}
-- The rest of whole groups: generic/5 answers; 8.1.2.x malformed requests
-- are stream errors PROTOCOL_ERROR; hpack's decoding errors are
-- connection errors COMPRESSION_ERROR (RFC 9113 4.3).
local function default(id)
  if id:match("^generic/5/") then return OK end
  if id:match("^8%.1%.2") then return stream_error(PE) end
  if id:match("^hpack/") then return conn_error(CE) end
end

-- The groups, as h2spec names them.
local TITLES = {
  ["generic/1"] = "Starting HTTP/2", ["generic/2"] = "Streams and Multiplexing", ["generic/3.1"] = "DATA",
  ["generic/3.2"] = "HEADERS", ["generic/3.3"] = "PRIORITY", ["generic/3.4"] = "RST_STREAM",
  ["generic/3.5"] = "SETTINGS", ["generic/3.7"] = "PING", ["generic/3.8"] = "GOAWAY",
  ["generic/3.9"] = "WINDOW_UPDATE", ["generic/3.10"] = "CONTINUATION", ["generic/4"] = "HTTP Message Exchanges",
  ["generic/5"] = "HPACK",
  ["3.5"] = "HTTP/2 Connection Preface", ["4.1"] = "Frame Format", ["4.2"] = "Frame Size",
  ["4.3"] = "Header Compression and Decompression", ["5.1"] = "Stream States", ["5.1.1"] = "Stream Identifiers",
  ["5.1.2"] = "Stream Concurrency", ["5.3.1"] = "Stream Dependencies", ["5.4.1"] = "Connection Error Handling",
  ["5.5"] = "Extending HTTP/2", ["6.1"] = "DATA", ["6.2"] = "HEADERS", ["6.3"] = "PRIORITY", ["6.4"] = "RST_STREAM",
  ["6.5"] = "SETTINGS", ["6.5.2"] = "Defined SETTINGS Parameters", ["6.5.3"] = "Settings Synchronization",
  ["6.7"] = "PING", ["6.8"] = "GOAWAY", ["6.9"] = "WINDOW_UPDATE", ["6.9.1"] = "The Flow-Control Window",
  ["6.9.2"] = "Initial Flow-Control Window Size", ["6.10"] = "CONTINUATION", ["7"] = "Error Codes",
  ["8.1"] = "HTTP Request/Response Exchange", ["8.1.2"] = "HTTP Header Fields",
  ["8.1.2.1"] = "Pseudo-Header Fields", ["8.1.2.2"] = "Connection-Specific Header Fields",
  ["8.1.2.3"] = "Request Pseudo-Header Fields", ["8.1.2.6"] = "Malformed Requests and Responses",
  ["8.2"] = "Server Push",
  ["hpack/2.3.3"] = "Index Address Space", ["hpack/4.2"] = "Maximum Table Size",
  ["hpack/5.1"] = "Integer Representation", ["hpack/5.2"] = "String Literal Representation",
  ["hpack/6.1"] = "Indexed Header Field Representation", ["hpack/6.3"] = "Dynamic Table Size Update",
}

-- The table of cases, from h2_frames.py (in its order): {id, desc}.
local CASES = (function()
  local p = assert(io.popen(PYTHON .. " " .. FRAMES .. " list"))
  local out = p:read("a")
  p:close()
  return net.json.decode(out)
end)()

-- What the server did, in a line: "HEADERS 1 :200, DATA 1 23 END_STREAM, GOAWAY PROTOCOL_ERROR ... closed".
local function summary(r)
  local function frames(l)
    local out = {}
    for _, f in ipairs(list(l)) do
      local s = f.type .. " " .. math.tointeger(f.stream)
      if f.error then s = s .. " " .. f.error end
      if f.last_stream then s = s .. " last " .. math.tointeger(f.last_stream) end
      if f.type == "HEADERS" and type(f.status) == "number" then s = s .. " :" .. math.tointeger(f.status) end
      if f.type == "DATA" then s = s .. " " .. math.tointeger(f.length) end
      if f.ack then s = s .. " ACK" end
      if f.end_stream then s = s .. " END_STREAM" end
      out[#out + 1] = s
    end
    return #out > 0 and table.concat(out, ", ") or "nothing"
  end
  local s = ("after its earlier steps: %s; after its last: %s; connection %s"):format(frames(r.before),
    frames(r.frames), r.closed and "closed" or "open")
  if type(r.unframed) == "table" then
    local start = r.unframed.start:gsub("\r", "\\r"):gsub("\n", "\\n")
    s = s .. (", after %d bytes that are no HTTP/2 frame: \"%s...\""):format(
      math.tointeger(r.unframed.bytes), start)
  end
  if type(r.error) == "string" then s = s .. "; " .. r.error end
  return s
end

describe("HTTP/2 conformance after h2spec (h2c, prior knowledge)", function()
  local proc, port, script

  setup(function()
    script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(SERVER)
    f:close()
    proc, port = helper.start_server(helper.quote_all(helper.LUANETD, script))
  end)

  teardown(function()
    proc.cleanup()
    os.remove(script)
  end)

  -- Every case's client runs once, up to PARALLEL at a time, each on its
  -- own connection, the first time a case asks: a case's time is mostly
  -- waiting for the server's silence to last (1 s), not work, so one at a
  -- time took 22 s where this takes a few.
  local PARALLEL = 24
  local results
  local function run_all()
    results = {}
    local queue, running, nrunning, next_case = {}, {}, 0, 1
    for _, c in ipairs(CASES) do queue[#queue + 1] = c.id end
    while next_case <= #queue or nrunning > 0 do
      while next_case <= #queue and nrunning < PARALLEL do
        local id = queue[next_case]
        next_case = next_case + 1
        running[id] = { proc = helper.spawn(("%s %s %d %s"):format(PYTHON, FRAMES, port, helper.quote(id))),
                        deadline = helper.now_ms() + 15000 }
        nrunning = nrunning + 1
      end
      net.processEvents(10)
      for id, r in pairs(running) do
        local code = r.proc.exit_code()
        if code or helper.now_ms() > r.deadline then
          local out, err = r.proc.output(), r.proc.stderr()
          r.proc.cleanup()
          results[id] = code == 0 and net.json.decode(out) or
                        { failed = ("h2_frames.py %s: exit %s\n%s%s"):format(id, tostring(code), out, err) }
          running[id] = nil
          nrunning = nrunning - 1
        end
      end
    end
  end

  local function run(id)
    if not results then run_all() end
    local r = assert(results[id], "no result for " .. id)
    assert(not r.failed, r.failed)
    return r
  end

  it("has a verdict for every case of h2_frames.py", function()
    local missing = {}
    for _, c in ipairs(CASES) do
      if not (EXPECT[c.id] or default(c.id)) then missing[#missing + 1] = c.id end
    end
    assert.are.same({}, missing)
  end)

  -- One describe per group, in the order of the cases.
  local groups, by_group = {}, {}
  for _, c in ipairs(CASES) do
    local g = c.id:match("^(.*)/[^/]+$")
    if not by_group[g] then
      by_group[g] = {}
      groups[#groups + 1] = g
    end
    table.insert(by_group[g], c)
  end

  for _, g in ipairs(groups) do
    describe(("%s. %s"):format(g, TITLES[g] or "?"), function()
      for _, c in ipairs(by_group[g]) do
        local expect = EXPECT[c.id] or default(c.id)
        it(("%s %s => %s"):format(c.id, c.desc, expect and expect.what or "?"), function()
          assert(expect, "no verdict for " .. c.id)
          local r = run(c.id)
          assert(expect.check(r), ("%s: expected %s; the server sent %s"):format(c.id, expect.what, summary(r)))
        end)
      end
    end)
  end

  it("still answers a normal request after all the cases (curl --http2-prior-knowledge)", function()
    local code, out, err = helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--http2-prior-knowledge",
      "-i", ("http://127.0.0.1:%d/after"):format(port)))
    assert.are.same(0, code, err)
    assert.truthy(out:match("^HTTP/2 200"), out)
    assert.truthy(out:match("GET /after: 0 bytes of body\n$"), out)
    assert.is_nil(proc.exit_code(), "the server exited: " .. proc.stderr())
  end)

  it("exits with 0 once closed (/exit), after which the sanitizer build looks for leaks", function()
    local code = helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--http2-prior-knowledge",
      ("http://127.0.0.1:%d/exit"):format(port)))
    assert.are.same(0, code)
    assert.are.same(0, proc.wait(5000), proc.stderr())
  end)
end)
