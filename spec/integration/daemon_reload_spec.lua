-- spec/integration/daemon_reload_spec.lua: hot reload of `luanetd -c FILE`
-- (issue 6). service.state handed to the new code (and refused when it is
-- not plain data), reload = "watch" (editor saves, required modules, two
-- saves in one second, a bad save, a service in back-off), SIGHUP
-- re-reading the config (services added, removed, renamed, changed, left
-- alone; listeners kept, opened, closed, or busy; a config that does not
-- load) and bench/reload_check.py's load test. Every peer is on 127.0.0.1:
-- in-process TcpSockets, and the checker's.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local start, on_cleanup = kit.start, kit.on_cleanup
local connect, stop = kit.connect, kit.stop
local status, line_of, pattern_escape = dh.status, dh.line_of, dh.pattern_escape
local count_lines = dh.count_lines
local net = helper.net

-- A line service: answers each line with "TAG:line" on every listener it
-- has. TAG is the option `tag`, else VERSION.
local TAGGED = [[
local service = ...
local VERSION = "v1"
local tag = service.options.tag or VERSION
for _, server in ipairs(service.listeners) do
  server.newConnection:connect(function()
    local client = server:nextPendingConnection()
    client.readyRead:connect(function()
      while client:canReadLine() do
        local line = client:readLine():gsub("\r?\n$", "")
        client:write(tag .. ":" .. line .. "\n")
      end
    end)
  end)
end
]]

-- TAGGED with another VERSION (same length for a same-length VERSION).
local function tagged(version)
  return (TAGGED:gsub('local VERSION = "v1"', ('local VERSION = %q'):format(version), 1))
end

-- A counter whose state a client can spoil: "fn", "meta", "cycle" put
-- what cannot be copied into service.state, "clear" takes it out, "put"
-- stores plain data of every kind, "show" prints it; any other line is
-- answered with the next count.
local STATEFUL = [[
local service = ...
local state = service.state
state.count = state.count or 0

local function show(v)
  if type(v) ~= "table" then return math.type(v) or type(v) == "string" and ("%q"):format(v) or tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for i, k in ipairs(keys) do out[i] = tostring(k) .. "=" .. show(v[k]) .. (type(v[k]) == "number" and "(" .. tostring(v[k]) .. ")" or "") end
  return "{" .. table.concat(out, ",") .. "}"
end

local function answer(line)
  if line == "fn" then
    state.handler = function() end
  elseif line == "meta" then
    state.obj = setmetatable({}, { __index = {} })
  elseif line == "cycle" then
    local t = { name = "loop" }
    t.self = t
    state.loop = t
  elseif line == "clear" then
    state.handler, state.obj, state.loop = nil, nil, nil
  elseif line == "put" then
    state.data = { name = "x\0y", list = { 1, 2.5, true, false }, [7] = "seven", nested = { deeper = { n = -3 } } }
  elseif line == "show" then
    return show(state.data)
  else
    state.count = state.count + 1
    return tostring(state.count)
  end
  return "ok"
end

local server = service.listeners[1]
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client.readyRead:connect(function()
    while client:canReadLine() do
      client:write(answer((client:readLine():gsub("\r?\n$", ""))) .. "\n")
    end
  end)
end)
]]


-- An editor's save: a new file renamed over the old one.
local function save(path, text)
  dh.write(path .. ".tmp", text)
  assert(os.rename(path .. ".tmp", path))
end

local client = require("support.line_client").connect






-- A connect that must be refused.
local function assert_refused(port, what)
  local c = client(port)
  on_cleanup(function() c.sock:abort() end)
  helper.run(2000, function() return c.error ~= nil or c.connected end)
  assert.are.same("ConnectionRefusedError", c.error,
    ("%s: connected=%s, error=%s"):format(what, tostring(c.connected), tostring(c.error_string)))
  c.sock:abort()
end


-- The ports of a status line's listeners ("tcp://127.0.0.1:P,...").
local function status_ports(fields)
  local ports = {}
  for p in (fields[3] or ""):gmatch("tcp://127%.0%.0%.1:(%d+)") do ports[#ports + 1] = math.tointeger(tonumber(p)) end
  return ports
end


local free_port = require("support.core_helper").free_port

-- The config of dh.start's daemon, rewritten; then SIGHUP, and the log
-- line that says it was read.
local function sighup(d, config)
  -- The control socket stays; set last, so that line numbers are the text's.
  if not config:find("control%s*=") then config = config .. ("control = %q\n"):format(d.control) end
  local reads = count_lines(d.log(), "info luanetd SIGHUP: reading ")
  dh.write(d.conf, config)
  d.kill("HUP")
  assert.is_true(helper.run(3000, function()
    return count_lines(d.log(), "info luanetd SIGHUP: reading ") > reads
  end), d.log())
end

-- luanetd on DIR/luanetd.conf, written beforehand by the caller (for
-- configs that name their own directory); the same handle as dh.start's.
local function start_in(dir, name)
  local d = dh.handle(dir, dir .. "/luanetd.conf", dir .. "/ctl.sock")
  on_cleanup(d.cleanup)
  local port = d.wait_log("info " .. name .. " started [^\n]*, listening on tcp://127%.0%.0%.1:(%d+)")
  assert(port, "luanetd did not start " .. name .. ":\n" .. d.log())
  d.listen_port = math.tointeger(tonumber(port))
  return d
end

-- A JSON document as "path\tvalue" lines (lists get "path#\tlength"),
-- through python3: { [path] = value as text, null as "null" }.
local FLATTEN = [[
import json, sys
def walk(p, v):
    if isinstance(v, dict):
        for k in v: walk(p + [k], v[k])
    elif isinstance(v, list):
        print(".".join(p) + "#\t" + str(len(v)))
        for i, x in enumerate(v): walk(p + [str(i + 1)], x)
    else:
        s = "null" if v is None else json.dumps(v) if isinstance(v, (bool, int, float)) else str(v)
        print(".".join(p) + "\t" + s.replace("\n", "\\n"))
walk([], json.load(open(sys.argv[1])))
]]

local function flatten_json(path)
  local code, out, err = helper.execute(helper.quote_all("env", "-u", "LD_PRELOAD", "/usr/bin/python3", "-c", FLATTEN, path))
  assert(code == 0, "cannot read the checker's JSON: " .. err)
  local r = {}
  for k, v in out:gmatch("([^\t\n]*)\t([^\n]*)") do r[k] = v end
  return r
end

describe("luanetd hot reload", function()
  after_each(function()
    kit.cleanup()
  end)

  describe("service.state", function()
    it("is handed to the new code: new connections continue the count, an old one keeps its own", function()
      local COUNTER = assert(helper.slurp(dh.SCRIPTS .. "/counter_server.lua"))
      local d = start([[
shutdown_timeout = 3000
service "counter" { script = "counter_server.lua", listen = "tcp://127.0.0.1:0", reload = "watch" }
]], { ["counter_server.lua"] = COUNTER })
      local old = connect(d.port("counter"))
      assert.are.same("1", old.ask("a"))
      assert.are.same("2", old.ask("b"))
      assert.are.same("3", old.ask("c"))

      local code, out, err = d.ctl("reload", "counter")
      assert.are.same(0, code, err)
      assert.are.same("counter: reloaded\n", out)
      assert.is_not_nil(d.wait_log("info counter reloaded [^\n]*counter_server%.lua %(generation 2%)"), d.log())

      -- The new code starts from the snapshot taken at the switch.
      local new = connect(d.port("counter"))
      assert.are.same("4", new.ask("d"))
      assert.are.same("5", new.ask("e"))
      -- The old connection is served by the old code, with the old state.
      assert.are.same("4", old.ask("f"))
      assert.are.same("6", new.ask("g"))

      local s = status(d)
      assert.are.same("reloads=1", s.counter[6])
      assert.are.same("connections=1", s.counter[4])
      assert.is_not_nil(s.draining.counter, s.raw)
      assert.is_truthy(s.draining.counter[1]:find("^counter\tdraining\tgeneration=1\tconnections=1\t"), s.raw)

      -- Again: the second new code continues from the second snapshot.
      code, out, err = d.ctl("reload", "counter")
      assert.are.same(0, code, err)
      local third = connect(d.port("counter"))
      assert.are.same("7", third.ask("h"))
      assert.are.same("7", new.ask("i"))
      assert.are.same("5", old.ask("j"))

      old.sock:disconnectFromHost()
      assert.is_true(helper.run(3000, function()
        local dr = status(d).draining.counter
        return dr ~= nil and #dr == 1 and dr[1]:find("generation=2", 1, true) ~= nil
      end), status(d).raw)

      -- The same through a watched save and a SIGHUP (its options changed).
      save(d.dir .. "/counter_server.lua", COUNTER .. "-- saved\n")
      assert.is_not_nil(d.wait_log("info counter reloaded [^\n]*counter_server%.lua %(generation 4%)"), d.log())
      local fourth = connect(d.port("counter"))
      assert.are.same("8", fourth.ask("k"))
      assert.are.same("8", third.ask("l"))
      sighup(d, [[
shutdown_timeout = 3000
service "counter" { script = "counter_server.lua", listen = "tcp://127.0.0.1:0", reload = "watch",
                    options = { host = "127.0.0.1" } }
]])
      assert.is_not_nil(d.wait_log("info counter reloaded [^\n]*counter_server%.lua %(generation 5%)"), d.log())
      assert.are.same("9", connect(d.port("counter")).ask("m"))
      assert.are.same("9", fourth.ask("n"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("copies plain data faithfully; a function, a metatable or a cycle aborts the reload naming the key", function()
      local d = start([[
shutdown_timeout = 3000
service "st" { script = "st.lua", listen = "tcp://127.0.0.1:0" }
]], { ["st.lua"] = STATEFUL })
      local c = connect(d.port("st"))
      assert.are.same("1", c.ask("count"))
      assert.are.same("ok", c.ask("put"))
      local shown = c.ask("show")
      assert.is_truthy(shown:find("list={1=integer(1),2=float(2.5),3=true,4=false}", 1, true), shown)

      local cases = {
        { "fn", "service.state.handler: a function (plain data only)" },
        { "meta", "service.state.obj: a table with a metatable (plain data only)" },
        { "cycle", "service.state.loop.self: a table that contains itself (plain data only)" },
      }
      local n = 1
      for _, case in ipairs(cases) do
        assert.are.same("ok", c.ask("clear"))
        assert.are.same("ok", c.ask(case[1]))
        local code, out, err = d.ctl("reload", "st")
        assert.are.same(1, code, case[1] .. ": " .. out .. err)
        assert.are.same("", out)
        assert.are.same("luanetd ctl: st: " .. case[2] .. "\n", err)
        assert.is_not_nil(d.wait_log("error st reload failed, the running code goes on: " .. pattern_escape(case[2])), d.log())
        -- The old code goes on, on this connection and on new ones.
        n = n + 1
        assert.are.same(tostring(n), c.ask("count"))
        local other = connect(d.port("st"))
        n = n + 1
        assert.are.same(tostring(n), other.ask("count"))
        other.sock:abort()
        local s = status(d)
        assert.are.same("reloads=0", s.st[6])
        assert.is_nil(s.draining.st, s.raw)
      end
      assert.are.same(0, count_lines(d.log(), "info st reloaded"))

      -- Taken out again: the reload goes through with the count and the data.
      assert.are.same("ok", c.ask("clear"))
      local code, out, err = d.ctl("reload", "st")
      assert.are.same(0, code, err)
      assert.are.same("st: reloaded\n", out)
      local new = connect(d.port("st"))
      assert.are.same(tostring(n + 1), new.ask("count"))
      assert.are.same(shown, new.ask("show"))
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe('reload = "watch"', function()
    local WATCHED = [[
shutdown_timeout = 3000
service "w" { script = "w.lua", listen = "tcp://127.0.0.1:0", reload = "watch" }
]]

    it("reloads on an editor's rename-and-replace save, each time, and only then", function()
      local d = start(WATCHED, { ["w.lua"] = TAGGED })
      local script = d.dir .. "/w.lua"
      local old = connect(d.port("w"))
      assert.are.same("v1:a", old.ask("a"))

      save(script, tagged("v2"))
      local changed = "info w " .. pattern_escape(script) .. " changed: reloading\n[^\n]* info w reloaded " ..
        pattern_escape(script)
      assert.is_not_nil(d.wait_log(changed .. " %(generation 2%)"), d.log())
      local new = connect(d.port("w"))
      assert.are.same("v2:b", new.ask("b"))
      assert.are.same("v1:c", old.ask("c"))

      -- The new file (a new inode) is watched too.
      save(script, tagged("v3-longer"))
      assert.is_not_nil(d.wait_log(changed .. " %(generation 3%)"), d.log())
      assert.are.same("v3-longer:d", connect(d.port("w")).ask("d"))
      assert.are.same("v2:e", new.ask("e"))
      assert.are.same("v1:f", old.ask("f"))

      -- Nothing more changes: the re-check a second later finds nothing.
      helper.drive(1500)
      assert.are.same(2, count_lines(d.log(), "info w reloaded "), d.log())
      assert.are.same(2, count_lines(d.log(), "changed: reloading"), d.log())
      assert.are.same("reloads=2", status(d).w[6])
      assert.are.same(0, stop(d), d.log())
    end)

    it("reloads when a module the script required changes", function()
      local dir = dh.tmpdir()
      dh.write(dir .. "/greeting.lua", 'return { tag = "g1" }\n')
      dh.write(dir .. "/main.lua", [[
local service = ...
package.path = service.options.dir .. "/?.lua;" .. package.path
local greeting = require "greeting"
service.options.tag = greeting.tag
]] .. TAGGED:gsub("^local service = %.%.%.\n", ""))
      dh.write(dir .. "/luanetd.conf", ([[
control = %q
shutdown_timeout = 3000
service "m" { script = "main.lua", listen = "tcp://127.0.0.1:0", reload = "watch", options = { dir = %q } }
]]):format(dir .. "/ctl.sock", dir))
      local d = start_in(dir, "m")
      local old = connect(d.listen_port)
      assert.are.same("g1:a", old.ask("a"))

      save(dir .. "/greeting.lua", 'return { tag = "g2" }\n')
      assert.is_not_nil(d.wait_log("info m " .. pattern_escape(dir .. "/greeting.lua") ..
        " changed: reloading\n[^\n]* info m reloaded " .. pattern_escape(dir .. "/main.lua") .. " %(generation 2%)"), d.log())
      assert.are.same("g2:b", connect(d.listen_port).ask("b"))
      assert.are.same("g1:c", old.ask("c"))

      -- Written in place this time (same inode): seen as well.
      dh.write(dir .. "/greeting.lua", 'return { tag = "g3-in-place" }\n')
      assert.is_not_nil(d.wait_log("info m reloaded [^\n]*main%.lua %(generation 3%)"), d.log())
      assert.are.same("g3-in-place:d", connect(d.listen_port).ask("d"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("catches a second save within the same second", function()
      local d = start(WATCHED, { ["w.lua"] = TAGGED })
      local script = d.dir .. "/w.lua"
      -- Just after a second begins, so that both saves fall within it.
      local s0 = os.time()
      helper.run(1500, function() return os.time() ~= s0 end)
      local second = os.time()
      dh.write(script, tagged("v2"))
      assert.is_not_nil(d.wait_log("info w reloaded [^\n]*w%.lua %(generation 2%)"), d.log())
      -- Same size, same inode, same second: only the re-check tells.
      dh.write(script, tagged("v3"))
      local same_second = os.time() == second
      assert.is_not_nil(d.wait_log("info w reloaded [^\n]*w%.lua %(generation 3%)", 3000),
        ("same second: %s\n%s"):format(tostring(same_second), d.log()))
      assert.are.same("v3:x", connect(d.port("w")).ask("x"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("logs a save that does not compile, keeps the old code, and does not retry until the files change", function()
      local d = start(WATCHED, { ["w.lua"] = TAGGED })
      local script = d.dir .. "/w.lua"
      local old = connect(d.port("w"))
      assert.are.same("v1:a", old.ask("a"))

      save(script, "local service = ...\nlocal x = = 1\n" .. TAGGED)
      local failed = "error w reload failed, the running code goes on: " .. pattern_escape(script) .. ":2: "
      assert.is_not_nil(d.wait_log(failed), d.log())
      assert.are.same("v1:b", old.ask("b"))
      assert.are.same("v1:c", connect(d.port("w")).ask("c"))

      -- Past the re-check: no second try of the same files.
      helper.drive(1600)
      assert.are.same(1, count_lines(d.log(), failed), d.log())
      assert.are.same(1, count_lines(d.log(), "changed: reloading"), d.log())
      local s = status(d)
      assert.are.same("running", s.w[2])
      assert.are.same("reloads=0", s.w[6])

      -- Another bad save is another try; then a good one loads.
      save(script, "local service = ...\n\nerror(\"not yet\")\n")
      assert.is_not_nil(d.wait_log("error w reload failed, the running code goes on: " .. pattern_escape(script) ..
        ":3: not yet"), d.log())
      save(script, tagged("v2"))
      assert.is_not_nil(d.wait_log("info w reloaded [^\n]*w%.lua %(generation %d+%)"), d.log())
      assert.are.same("v2:d", connect(d.port("w")).ask("d"))
      assert.are.same("v1:e", old.ask("e"))
      assert.are.same("reloads=1", status(d).w[6])
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe('reload = "watch" of a service that failed to start', function()
    it("starts it as soon as its script is fixed, before the back-off's next try", function()
      local d = start([[
shutdown_timeout = 3000
service "late" { script = "late.lua", listen = "tcp://127.0.0.1:0", reload = "watch" }
]], { ["late.lua"] = "local service = ...\nerror(\"not ready\")\n" }, { wait = {} })
      assert.is_not_nil(d.wait_log("error late failed to start: [^\n]*late%.lua:2: not ready; trying again in 2 s\n", 3000), d.log())
      local t0 = helper.now_ms()
      save(d.dir .. "/late.lua", tagged("fixed"))
      assert.is_not_nil(d.wait_log("info late started [^\n]*late%.lua, listening on tcp://127%.0%.0%.1:%d+", 3000), d.log())
      local took = helper.now_ms() - t0
      assert.is_true(took < 1000, ("started %d ms after the fix; the back-off's try was 2 s away"):format(took))
      assert.are.same("fixed:a", connect(d.port("late")).ask("a"))
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("SIGHUP", function()
    local function four(opts)
      local out = {
        "shutdown_timeout = 3000",
        opts.resolver or "",
        'service "keep" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "keep" } }',
        ('service "change" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = %q } }'):format(opts.tag),
        'service "code" { script = "code.lua", listen = "tcp://127.0.0.1:0" }',
      }
      if opts.gone then out[#out + 1] = 'service "gone" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "gone" } }' end
      if opts.new then out[#out + 1] = 'service "new" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "new" } }' end
      return table.concat(out, "\n") .. "\n"
    end

    it("adds, removes and reloads what changed, and leaves the rest alone", function()
      local d = start(four({ tag = "a", gone = true }), { ["lines.lua"] = TAGGED, ["code.lua"] = TAGGED })
      local keep_port, change_port, code_port, gone_port = d.port("keep"), d.port("change"), d.port("code"), d.port("gone")
      local keep = connect(keep_port)
      assert.are.same("keep:1", keep.ask("1"))
      local change = connect(change_port)
      assert.are.same("a:1", change.ask("1"))
      local gone = connect(gone_port)
      assert.are.same("gone:1", gone.ask("1"))

      dh.write(d.dir .. "/code.lua", tagged("v2"))
      sighup(d, four({ tag = "b", new = true }))
      assert.is_not_nil(d.wait_log("info new added\n[^\n]* info new started [^\n]*lines%.lua, listening on tcp://127%.0%.0%.1:%d+"), d.log())
      assert.is_not_nil(d.wait_log("info change its config block changed: reloaded"), d.log())
      assert.is_not_nil(d.wait_log("info code " .. pattern_escape(d.dir .. "/code.lua") ..
        " changed: reloading\n[^\n]* info code reloaded [^\n]*code%.lua %(generation 2%)"), d.log())
      assert.is_not_nil(d.wait_log("info gone no longer in the config: stopping"), d.log())
      local log = d.log()
      assert.are.same(0, count_lines(log, "info keep [^\n]*reload"), log)
      assert.are.same(0, count_lines(log, "info new [^\n]*reload"), log)

      local s = status(d)
      assert.are.same("reloads=0", s.keep[6])
      assert.are.same("reloads=1", s.change[6])
      assert.are.same("reloads=1", s.code[6])
      assert.are.same("reloads=0", s.new[6])
      -- Listed while it drains, if at all, as stopped.
      assert.is_true(s.gone == nil or s.gone[2] == "stopped", s.raw)
      assert.are.same({ keep_port }, status_ports(s.keep))
      assert.are.same({ change_port }, status_ports(s.change))
      assert.are.same({ code_port }, status_ports(s.code))
      assert.is_nil(s.draining.keep, s.raw)

      -- What each port serves now.
      assert.are.same("keep:2", keep.ask("2"))
      assert.are.same("keep:3", connect(keep_port).ask("3"))
      assert.are.same("a:2", change.ask("2"))
      assert.are.same("b:3", connect(change_port).ask("3"))
      assert.are.same("v2:1", connect(code_port).ask("1"))
      assert.are.same("new:1", connect(d.port("new")).ask("1"))

      -- The removed service: closed to newcomers, serves its connection
      -- until it ends, then goes.
      assert_refused(gone_port, "a connect to the removed service")
      assert.are.same("gone:2", gone.ask("2"))
      helper.drive(300)
      assert.are.same(0, count_lines(d.log(), "info gone removed"), d.log())
      gone.sock:disconnectFromHost()
      assert.is_not_nil(d.wait_log("info gone no longer in the config: stopping\n.*info gone removed\n", 3000), d.log())
      s = status(d)
      assert.is_nil(s.gone, s.raw)
      assert.is_nil(s.draining.gone, s.raw)

      -- The resolver is every service's: all of them reload.
      sighup(d, four({ tag = "b", new = true, resolver = 'resolver = { servers = { "127.0.0.1:53" } }' }))
      for _, name in ipairs({ "keep", "change", "code", "new" }) do
        assert.is_not_nil(d.wait_log("info " .. name .. " its config block changed: reloaded"), d.log())
      end
      s = status(d)
      assert.are.same("reloads=1", s.keep[6])
      assert.are.same("reloads=2", s.change[6])
      assert.are.same("reloads=2", s.code[6])
      assert.are.same("reloads=1", s.new[6])
      assert.are.same("keep:4", keep.ask("4"))
      assert.are.same("keep:5", connect(keep_port).ask("5"))

      -- Read again unchanged: nothing is touched.
      local before = d.log()
      sighup(d, four({ tag = "b", new = true, resolver = 'resolver = { servers = { "127.0.0.1:53" } }' }))
      helper.drive(300)
      local after = d.log():sub(#before + 1)
      assert.are.same(0, count_lines(after, "reload"), after)
      assert.are.same(2, count_lines(after, " info "), after)   -- "SIGHUP: reading", the summary
      assert.are.same(1, count_lines(after, "info luanetd SIGHUP: 4 services unchanged", true), after)
      assert.are.same(0, stop(d), d.log())
    end)

    it("keeps a listener (and the connection on it), opens a new one, closes a removed one", function()
      local extra = free_port()
      local function config(tag, listen)
        return ([[
shutdown_timeout = 3000
service "lst" { script = "lines.lua", listen = %s, options = { tag = %q } }
]]):format(listen, tag)
      end
      local d = start(config("one", '"tcp://127.0.0.1:0"'), { ["lines.lua"] = TAGGED })
      local kept = d.port("lst")
      local c1 = connect(kept)
      assert.are.same("one:a", c1.ask("a"))

      sighup(d, config("two", ('{ "tcp://127.0.0.1:0", "tcp://127.0.0.1:%d" }'):format(extra)))
      assert.is_not_nil(d.wait_log("info lst its config block changed: reloaded"), d.log())
      local s = status(d)
      assert.are.same({ kept, extra }, status_ports(s.lst))
      assert.are.same("one:b", c1.ask("b"))          -- the old code, on the kept socket
      assert.are.same("two:c", connect(kept).ask("c"))
      local c2 = connect(extra)
      assert.are.same("two:d", c2.ask("d"))

      sighup(d, config("three", '{ "tcp://127.0.0.1:0" }'))
      assert.is_not_nil(d.wait_log("info lst reloaded [^\n]*%(generation 3%)"), d.log())
      assert.are.same({ kept }, status_ports(status(d).lst))
      assert_refused(extra, "a connect to the removed listener")
      assert.are.same("two:e", c2.ask("e"))          -- its connection drains on the old code
      assert.are.same("one:f", c1.ask("f"))
      assert.are.same("three:g", connect(kept).ask("g"))

      -- A listener that cannot open (the port is taken): the block is not
      -- taken up, the running code and its listener go on; once the port
      -- is free the same config goes through.
      local squatter, taken = helper.listen()
      sighup(d, config("four", ('{ "tcp://127.0.0.1:0", "tcp://127.0.0.1:%d" }'):format(taken)))
      assert.is_not_nil(d.wait_log("error lst its config block changed, but the reload failed: " ..
        pattern_escape(d.conf) .. ":2: service \"lst\": [^\n]*" .. taken), d.log())
      local s4 = status(d)
      assert.are.same({ kept }, status_ports(s4.lst))
      assert.are.same("reloads=2", s4.lst[6])
      assert.are.same("three:h", connect(kept).ask("h"))
      squatter:close()
      sighup(d, config("four", ('{ "tcp://127.0.0.1:0", "tcp://127.0.0.1:%d" }'):format(taken)))
      assert.is_not_nil(d.wait_log("info lst reloaded [^\n]*%(generation %d+%)\n[^\n]* info lst its config block changed: reloaded\n[^\n]* info luanetd SIGHUP: 1 service reloaded\n$"), d.log())
      assert.are.same({ kept, taken }, status_ports(status(d).lst))
      assert.are.same("four:i", connect(taken).ask("i"))
      assert.are.same("four:j", connect(kept).ask("j"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("takes a changed script or reload setting as a changed block", function()
      local d = start([[
shutdown_timeout = 3000
service "s" { script = "one.lua", listen = "tcp://127.0.0.1:0" }
]], { ["one.lua"] = tagged("one"), ["two.lua"] = tagged("two") })
      local port = d.port("s")
      -- reload = "signal" (the default): a save is not acted on.
      save(d.dir .. "/one.lua", tagged("one-saved"))
      helper.drive(300)
      assert.are.same("one:a", connect(port).ask("a"))

      sighup(d, [[
shutdown_timeout = 3000
service "s" { script = "two.lua", listen = "tcp://127.0.0.1:0" }
]])
      assert.is_not_nil(d.wait_log("info s reloaded [^\n]*two%.lua %(generation 2%)\n[^\n]* info s its config block changed: reloaded"), d.log())
      assert.are.same("two:b", connect(port).ask("b"))

      sighup(d, [[
shutdown_timeout = 3000
service "s" { script = "two.lua", listen = "tcp://127.0.0.1:0", reload = "watch" }
]])
      assert.is_not_nil(d.wait_log("info s reloaded [^\n]*two%.lua %(generation 3%)\n[^\n]* info s its config block changed: reloaded"), d.log())
      -- Now watched: a save reloads.
      save(d.dir .. "/two.lua", tagged("two-saved"))
      assert.is_not_nil(d.wait_log("info s reloaded [^\n]*two%.lua %(generation 4%)"), d.log())
      assert.are.same("two-saved:c", connect(port).ask("c"))

      -- And back to "signal": saves are no longer acted on.
      sighup(d, [[
shutdown_timeout = 3000
service "s" { script = "two.lua", listen = "tcp://127.0.0.1:0", reload = "signal" }
]])
      assert.is_not_nil(d.wait_log("info s reloaded [^\n]*two%.lua %(generation 5%)"), d.log())
      local before = #d.log()
      save(d.dir .. "/two.lua", tagged("two-unseen"))
      helper.drive(400)
      assert.are.same("", d.log():sub(before + 1))
      assert.are.same("two-saved:d", connect(port).ask("d"))
      assert.are.same(0, stop(d), d.log())
    end)

    it("hands a fixed port from a removed service to one added in its place", function()
      local port = free_port()
      local function config(name)
        return ([[
shutdown_timeout = 3000
service %q { script = "lines.lua", listen = "tcp://127.0.0.1:%d", options = { tag = %q } }
]]):format(name, port, name)
      end
      local d = start(config("old"), { ["lines.lua"] = TAGGED })
      assert.are.same("old:a", connect(port).ask("a"))
      -- The service renamed: same block, same port.
      sighup(d, config("renamed"))
      assert.is_not_nil(d.wait_log("info old no longer in the config: stopping"), d.log())
      assert.is_not_nil(d.wait_log("info renamed added\n[^\n]* info renamed started [^\n]*listening on tcp://127%.0%.0%.1:" .. port, 1000), d.log())
      assert.are.same("renamed:b", connect(port).ask("b"))
      local s = status(d)
      assert.are.same("running", s.renamed and s.renamed[2], s.raw)
      assert.are.same(0, stop(d), d.log())
    end)

    it("with a config that does not load changes nothing", function()
      local config = [[
shutdown_timeout = 3000
service "a" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "a" } }
service "b" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "b" } }
]]
      local d = start(config, { ["lines.lua"] = TAGGED })
      local ca = connect(d.port("a"))
      assert.are.same("a:1", ca.ask("1"))

      -- A syntax error; then a setting that does not exist. Both would
      -- have removed b, changed a and added c.
      local broken = {
        { 3, 'shutdown_timeout = 3000\nservice "a" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "A" } }\nservice "c" { script = = "lines.lua" }\n' },
        { 2, 'shutdown_timeout = 3000\nworkerz = 2\nservice "a" { script = "lines.lua", listen = "tcp://127.0.0.1:0", options = { tag = "A" } }\n' },
      }
      for _, case in ipairs(broken) do
        sighup(d, case[2])
        assert.is_not_nil(d.wait_log("error luanetd the config did not load, nothing changes: " ..
          pattern_escape(d.conf) .. ":" .. case[1] .. ": [^\n]+"), d.log())
      end
      assert.is_truthy(d.log():find("unknown setting 'workerz'", 1, true), d.log())
      local log = d.log()
      assert.are.same(0, count_lines(log, "reload"), log)
      assert.are.same(0, count_lines(log, "no longer in the config"), log)
      assert.are.same(0, count_lines(log, "added"), log)
      local s = status(d)
      assert.are.same("reloads=0", s.a[6])
      assert.are.same("running", s.b[2])
      assert.is_nil(s.c, s.raw)
      assert.are.same("a:2", ca.ask("2"))
      assert.are.same("a:3", connect(d.port("a")).ask("3"))
      assert.are.same("b:1", connect(d.port("b")).ask("1"))

      -- Fixed: the next SIGHUP acts on it.
      sighup(d, config:gsub('tag = "a"', 'tag = "A"'))
      assert.is_not_nil(d.wait_log("info a its config block changed: reloaded"), d.log())
      assert.are.same("A:4", connect(d.port("a")).ask("4"))
      assert.are.same(0, stop(d), d.log())
    end)
  end)

  describe("under load (bench/reload_check.py)", function()
    it("loses no connection and switches every reload, good or bad", function()
      local dir = dh.tmpdir()
      dh.write(dir .. "/reload_service.lua", assert(helper.slurp("bench/reload_service.lua")))
      dh.write(dir .. "/tag.txt", "t0")
      dh.write(dir .. "/luanetd.conf", ([[
control = %q
shutdown_timeout = 30000
service "reload" { script = "reload_service.lua", listen = "tcp://127.0.0.1:0", reload = "watch", options = { dir = %q, generation = 0 } }
]]):format(dir .. "/ctl.sock", dir))
      local d = start_in(dir, "reload")
      local report = dir .. "/report.json"
      local code, _, err = helper.execute(helper.quote_all("env", "-u", "LD_PRELOAD", "/usr/bin/python3",
        "bench/reload_check.py", "--port", d.listen_port, "--pid", d.pid(), "--luanetd", helper.LUANETD,
        "--control", d.control, "--dir", dir, "--config", d.conf, "--duration", 20, "--reloads", 20, "--bad")
        .. " >" .. helper.quote(report), 60000)
      assert.are.same(0, code, err)
      local json = helper.slurp(report)
      local r = flatten_json(report)
      local why = json .. "\n" .. d.log():sub(-3000)

      assert.is_true(tonumber(r.short_connections) >= 15000, why)
      assert.are.same("0", r.short_failures, why)
      assert.are.same("0", r["long_failures#"], why)
      assert.are.same("0", r["long_switched_code#"], why)
      assert.is_true(tonumber(r.long_exchanges) > 1000, why)
      assert.are.same("0", r.late_count, why)
      assert.are.same("20", r["reloads#"], why)
      for i = 1, 20 do
        assert.are.same("null", r[("reloads.%d.error"):format(i)], why)
        assert.are_not.same("null", r[("switch_ms.%d"):format(i)], why)
      end
      assert.are.same("2", r["bad_reloads#"], why)
      local kinds = {}
      for i = 1, 2 do
        local kind = r[("bad_reloads.%d.kind"):format(i)]
        kinds[#kinds + 1] = kind
        assert.are.same("1", r[("bad_reloads.%d.ctl_exit"):format(i)], why)
        local stderr = r[("bad_reloads.%d.ctl_stderr"):format(i)]
        assert.is_truthy(stderr:find("luanetd ctl: reload: " .. dir .. "/reload_service.lua:1: ", 1, true), why)
        if kind == "raises" then
          assert.is_truthy(stderr:find("the new code fails to start", 1, true), why)
        end
      end
      assert.are.same({ "syntax", "raises" }, kinds)
      -- Each kind of trigger took: SIGHUP (options), ctl and watch.
      local log = d.log()
      assert.is_true(count_lines(log, "info reload its config block changed: reloaded") >= 6, log)
      assert.is_true(count_lines(log, "info reload [^\n]*reload_service%.lua changed: reloading") >= 6, log)
      assert.are.same(0, stop(d), log)
    end)
  end)
end)
