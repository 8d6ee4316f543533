-- spec/helper.lua: what every spec shares. Loops are bounded: run() drives
-- the luanet loop until a condition holds or a time-out passes, so a spec
-- that waits for a signal that never comes fails instead of hanging.
local net = require "luanet"

local helper = { net = net }

helper.TIMEOUT = 5000   -- ms

-- The luanetd binary under test: the sanitizer pass points LUANETD at its own.
helper.LUANETD = os.getenv("LUANETD") or "build/luanetd"

local function now_ms()
  local f = io.open("/proc/uptime")
  if f then
    local up = f:read("n")
    f:close()
    -- An integer: callers format elapsed times with %d, and 12.34 * 1000
    -- is not always an integral float.
    if up then return math.floor(up * 1000 + 0.5) end
  end
  return math.floor(os.clock() * 1000)
end
helper.now_ms = now_ms

-- Runs the loop until cond() is true or timeout ms pass; returns cond().
function helper.run(timeout, cond)
  timeout = timeout or helper.TIMEOUT
  local deadline = now_ms() + timeout
  while not (cond and cond()) do
    if now_ms() >= deadline then break end
    net.sleep(10)   -- runs the loop nested for 10 ms
  end
  return cond and cond() or false
end

-- Runs the loop for ms milliseconds, whatever happens.
function helper.drive(ms)
  local deadline = now_ms() + ms
  while now_ms() < deadline do net.processEvents(deadline - now_ms()) end
end

-- A slot wrapper that counts its calls and keeps its last arguments:
-- local seen = helper.expect(); sig:connect(seen); ... assert(seen.count > 0)
function helper.expect(fn)
  local rec = { count = 0, args = nil }
  setmetatable(rec, { __call = function(self, ...)
    self.count = self.count + 1
    self.args = table.pack(...)
    if fn then return fn(...) end
  end })
  return rec
end

-- A TcpServer on 127.0.0.1 (or addr), any free port; returns server, port.
function helper.listen(addr)
  local server = net.TcpServer()
  assert(server:listen(addr or "127.0.0.1", 0), server:errorString())
  return server, server:serverPort()
end

-- Quotes a string for sh.
function helper.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Quotes each argument for sh and joins them with spaces.
function helper.quote_all(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = helper.quote(tostring((select(i, ...)))) end
  return table.concat(out, " ")
end

-- Bytes as lower-case hex, and back.
function helper.hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

function helper.unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- The first line every server script prints (lua/luanet/cli.lua).
helper.SERVER_LINE = "The server is running on IP: (%S+) port: (%d+)\n"

-- A file's contents, or nil when it cannot be read.
function helper.slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Starts a server command and waits for its first line; returns the
-- process, the port and the address. A server that does not start is
-- cleaned up and raises with what it printed.
function helper.start_server(cmd, ms)
  local proc = helper.spawn(cmd)
  if not proc.wait_line(helper.SERVER_LINE, ms) then
    local out, err = proc.output(), proc.stderr()
    proc.cleanup()
    error(("server did not start: %s\nstdout: %s\nstderr: %s"):format(cmd, out, err), 2)
  end
  local addr, port = proc.output():match(helper.SERVER_LINE)
  return proc, math.tointeger(tonumber(port)), addr
end

-- ------------------------------------------------------------ processes
--
-- helper.spawn runs each command in a session of its own: a shell (the
-- "root", shell_pid) started through setsid is its session and process
-- group leader; it runs `sh -c 'exec CMD'` (the command, its only child)
-- and then writes the exit code. Whatever the command starts stays in that
-- group unless it moves itself out (setsid, setpgid), so cleanup() ends the
-- whole tree: every live process of the group, plus every descendant of
-- the root or of a group member found by parent pid (which also catches a
-- child that left the group before its parent died), plus every orphan
-- (parent pid 1) that carries the spawn's LUANETD_SPEC_PROC mark in its
-- environment (a daemon that forked twice and called setsid, unless it
-- cleared its environment), each by its PID, with SIGKILL, until none is
-- left. Wrappers that fork (timeout, a pipeline, a shell without exec,
-- nginx's or vsftpd's workers) are covered the same way as those that
-- exec (env, prlimit, setpriv, nice, ip netns exec).
--
-- Every process is also recorded until its cleanup() ran; a busted hook
-- (installed once per runner, below) ends what a test, a describe block or
-- a spec file left running and fails that block with an error that names
-- the process and where it was started.

-- The live processes of the system: { [pid] = { ppid, pgid } } (zombies,
-- which hold no port or file, are left out).
local function process_table()
  local p = io.popen("ps -e -o pid=,ppid=,pgid=,stat= 2>/dev/null")
  local t = {}
  for line in p:lines() do
    local pid, ppid, pgid, stat = line:match("^%s*(%d+)%s+(%d+)%s+(%d+)%s+(%S+)")
    if pid and stat:sub(1, 1) ~= "Z" then
      t[tonumber(pid)] = { ppid = tonumber(ppid), pgid = tonumber(pgid) }
    end
  end
  p:close()
  return t
end

local function self_pid()
  local s = helper.slurp("/proc/self/stat")
  return s and tonumber(s:match("^(%d+)"))
end

-- A process's start time (clock ticks since boot), or nil when it is gone.
local function start_time(pid)
  local s = helper.slurp(("/proc/%d/stat"):format(pid))
  -- Field 22; the fields after the command name (field 2, in parentheses,
  -- which may hold spaces) are space-separated.
  local rest = s and s:match("^%d+ %b() (.*)$")
  if not rest then return nil end
  local fields = {}
  for f in rest:gmatch("%S+") do fields[#fields + 1] = f end
  return tonumber(fields[20])
end

-- The pids still running in the tree of a spawn: see above. root_start is
-- the root's start time taken at spawn: a live process with the root's pid
-- and another start time is not ours (pids are recycled, pid_max may be
-- 32768), and then neither is its group.
local function tree_pids(root, root_start, mark)
  local procs = process_table()
  local me = self_pid()
  local seeds = {}
  local root_alive = procs[root] ~= nil
  if root_alive and root_start and start_time(root) ~= root_start then return {} end
  if root_alive then seeds[#seeds + 1] = root end
  local marked = "LUANETD_SPEC_PROC=" .. mark .. "\0"
  for pid, p in pairs(procs) do
    if p.pgid == root and pid ~= root then
      seeds[#seeds + 1] = pid
    elseif p.ppid == 1 then
      local env = helper.slurp(("/proc/%d/environ"):format(pid))
      if env and env:find(marked, 1, true) then seeds[#seeds + 1] = pid end
    end
  end
  local children = {}
  for pid, p in pairs(procs) do
    children[p.ppid] = children[p.ppid] or {}
    table.insert(children[p.ppid], pid)
  end
  local found, list = {}, {}
  local function add(pid)
    if found[pid] or pid == me or pid <= 1 then return end
    found[pid] = true
    list[#list + 1] = pid
    for _, c in ipairs(children[pid] or {}) do add(c) end
  end
  for _, pid in ipairs(seeds) do add(pid) end
  return list
end

local function sleep_ms(ms)
  os.execute(("sleep %.3f"):format(ms / 1000))
end

-- SIGKILL to every process of the tree, by PID, until none is left (or
-- `ms` passed): true when none is left.
local function end_tree(root, root_start, mark, ms)
  local deadline = now_ms() + (ms or 5000)
  while true do
    local pids = tree_pids(root, root_start, mark)
    if #pids == 0 then return true end
    if now_ms() >= deadline then return false end
    local args = {}
    for i, pid in ipairs(pids) do args[i] = tostring(math.tointeger(pid)) end
    os.execute("kill -KILL " .. table.concat(args, " ") .. " 2>/dev/null")
    sleep_ms(10)
  end
end

-- The registry of spawned processes and the busted hook. It lives in the
-- Lua registry: busted reloads spec/helper.lua for every spec file (it
-- restores package.loaded after each), and the hook must be installed once.
local TRACKER_KEY = "luanetd spec/helper.lua process tracker"
local tracker = debug.getregistry()[TRACKER_KEY]
if not tracker then
  tracker = {
    live = {},          -- [id] = { proc, owner = frame, where = text }
    next_id = 0,
    frames = {},        -- the blocks running now: { kind, name, element }
    done_tests = {},    -- test frames that ended, checked at the next event
    leaks = {},         -- messages, raised by the end of the enclosing block
    at_file_end = {},   -- functions run when the spec file ends
  }
  debug.getregistry()[TRACKER_KEY] = tracker

  local function where()
    local names = {}
    for _, f in ipairs(tracker.frames) do
      if f.name and f.name ~= "" then names[#names + 1] = f.name end
    end
    if #names > 0 then return table.concat(names, " / ") end
    -- Before the first block of the run: the spec file calling, if any.
    for level = 2, 50 do
      local info = debug.getinfo(level, "S")
      if not info then break end
      if info.source:match("_spec%.lua$") then return info.source:gsub("^@", "") .. " (top level)" end
    end
    return "no block"
  end
  tracker.where = where

  -- Ends (and reports) the processes that the frames in `set` own.
  local function check(set)
    for id, e in pairs(tracker.live) do
      if set[e.owner] then
        local ok, left = pcall(e.proc.cleanup)   -- it unregisters itself
        tracker.live[id] = nil
        if not ok then
          left = { "cleanup failed: " .. tostring(left) }
        end
        if left and #left > 0 then
          local msg = ("spec/helper.lua: a spec left a process running (%s), started in %s: %s; ended now"):format(
            table.concat(left, " "), e.where, e.cmd)
          io.stderr:write(msg, "\n")
          table.insert(tracker.leaks, msg)
        end
      end
    end
  end

  local function check_done_tests()
    if #tracker.done_tests == 0 then return end
    local set = {}
    for _, f in ipairs(tracker.done_tests) do set[f] = true end
    tracker.done_tests = {}
    check(set)
  end

  -- Pops the frames down to (and with) the first one `match` accepts, or
  -- all of them; checks what they own.
  local function pop_until(match)
    local set = {}
    local any = false
    for i = #tracker.frames, 1, -1 do
      if match(tracker.frames[i]) then any = true break end
    end
    while #tracker.frames > 0 do
      local f = table.remove(tracker.frames)
      set[f] = true
      if any and match(f) then break end
    end
    set[tracker.root] = not any or nil
    check(set)
  end

  local function raise_leaks()
    if #tracker.leaks == 0 then return end
    local msg = table.concat(tracker.leaks, "\n")
    tracker.leaks = {}
    error(msg, 0)
  end

  local function run_file_end()
    local list = tracker.at_file_end
    tracker.at_file_end = {}
    for i = #list, 1, -1 do pcall(list[i]) end
  end

  tracker.root = { kind = "root", name = nil }

  local ok, busted = pcall(require, "busted")
  if ok and type(busted) == "table" and type(busted.subscribe) == "function" then
    tracker.hooked = true
    -- Each handler returns nil, true: the next subscriber runs too.
    busted.subscribe({ "file", "start" }, function(file)
      check_done_tests()
      tracker.frames = { { kind = "file", name = file and file.name, element = file } }
      return nil, true
    end)
    busted.subscribe({ "describe", "start" }, function(element)
      check_done_tests()
      table.insert(tracker.frames, { kind = "describe", name = element.name, element = element })
      return nil, true
    end)
    busted.subscribe({ "test", "start" }, function(element)
      -- The previous test's after_each has run: what it left is a leak.
      check_done_tests()
      table.insert(tracker.frames, { kind = "test", name = element.name, element = element })
      return nil, true
    end)
    busted.subscribe({ "test", "end" }, function(element)
      local top = tracker.frames[#tracker.frames]
      if top and top.element == element then
        -- after_each runs after this event: the check waits for the next one.
        table.insert(tracker.done_tests, table.remove(tracker.frames))
      end
      return nil, true
    end)
    busted.subscribe({ "describe", "end" }, function(element)
      check_done_tests()
      pop_until(function(f) return f.element == element end)
      raise_leaks()
      return nil, true
    end)
    busted.subscribe({ "file", "end" }, function()
      check_done_tests()
      pop_until(function(f) return f.kind == "file" end)
      run_file_end()
      raise_leaks()
      return nil, true
    end)
    busted.subscribe({ "exit" }, function()
      tracker.done_tests = {}
      local set = { [tracker.root] = true }
      for _, e in pairs(tracker.live) do set[e.owner] = true end
      check(set)
      run_file_end()
      if #tracker.leaks > 0 then
        io.stderr:write("spec/helper.lua: processes were left running at the end of the run (see above)\n")
      end
      return nil, true
    end)
  end
end

-- Runs fn when the spec file ends (when busted's hook is there; never
-- otherwise), e.g. to remove a directory that the file's specs share.
function helper.at_file_end(fn)
  table.insert(tracker.at_file_end, fn)
end

-- ------------------------------------------------------------ live files
--
-- scripts/, etc/, www/ and ftp/ are what a user edits while `make test`
-- runs (the README invites editing scripts/counter_server.lua under `make
-- run`, and etc/luanetd.conf watches it). Specs run and read a copy: made
-- (cp -R from the working directory, the repository) the first time a spec
-- file asks, shared by that file's specs, removed when the file ends.
--   helper.copy_of("scripts")          -- the copy's absolute path
--   helper.script("echo_server.lua")   -- a script in the copy of scripts/
-- A copy of etc/ sits beside the copy of scripts/, so that the config's
-- ../scripts/ paths name the copies.
local copies = { dir = nil, made = {} }

function helper.copy_of(what)
  assert(what:match("^[%w_.-]+$") and what ~= "." and what ~= "..", "copy_of: a top-level name: " .. what)
  if not copies.dir then
    local p = io.popen("mktemp -d /tmp/luanetd-spec-files.XXXXXX")
    copies.dir = assert(p:read("l"), "mktemp -d failed")
    p:close()
    local dir = copies.dir
    helper.at_file_end(function()
      os.execute("rm -rf " .. helper.quote(dir))
      if copies.dir == dir then copies.dir, copies.made = nil, {} end
    end)
  end
  local path = copies.dir .. "/" .. what
  if not copies.made[what] then
    assert(os.execute(("cp -R -- %s %s"):format(helper.quote(what), helper.quote(path))),
      "cannot copy " .. what)
    copies.made[what] = true
  end
  return path
end

function helper.script(name)
  return helper.copy_of("scripts") .. "/" .. name
end

-- Starts a command in the background with stdout and stderr going to
-- files; returns a process handle: pid, wait_line(pattern, ms), output(),
-- stderr(), kill(sig), wait(ms) -> exit code or nil, cleanup().
function helper.spawn(cmd)
  local out = os.tmpname()
  local err = os.tmpname()
  local status = os.tmpname()
  tracker.next_id = tracker.next_id + 1
  local id = tracker.next_id
  local mark = ("%d.%d.%d"):format(self_pid(), id, math.random(1 << 30))
  local inner = ("LUANETD_SPEC_PROC=%s; export LUANETD_SPEC_PROC; sh -c %s >%s 2>%s; echo $? >%s")
    :format(mark, helper.quote("exec " .. cmd), out, err, status)
  -- The `&` child of a non-interactive sh stays in that shell's process
  -- group, so it is no group leader and setsid(1) does not fork: $! is the
  -- pid of the new session's leader.
  local p = io.popen(("setsid sh -c %s </dev/null >/dev/null 2>&1 & echo $!"):format(helper.quote(inner)))
  local shell_pid = tonumber(p:read("l"))
  p:close()
  local shell_start = start_time(shell_pid)
  local proc = { shell_pid = shell_pid }
  local function slurp(path) return helper.slurp(path) or "" end
  function proc.output() return slurp(out) end
  function proc.stderr() return slurp(err) end
  local function children()
    local s = slurp(("/proc/%d/task/%d/children"):format(shell_pid, shell_pid))
    local list = {}
    for pid in s:gmatch("%d+") do list[#list + 1] = pid end
    return list
  end
  -- The command's own pid: the shell's only child.
  function proc.pid()
    return tonumber(children()[1])
  end
  function proc.wait_line(pattern, ms)
    local found
    helper.run(ms or helper.TIMEOUT, function()
      found = proc.output():match(pattern)
      return found ~= nil
    end)
    return found
  end
  function proc.exit_code()
    local s = slurp(status)
    return tonumber(s:match("%d+"))
  end
  function proc.wait(ms)
    helper.run(ms or helper.TIMEOUT, function() return proc.exit_code() ~= nil end)
    return proc.exit_code()
  end
  -- Signals the command: the shell's child, by its PID. A command that the
  -- shell has not started yet is waited for (2 s at most), so that a kill
  -- right after spawn is not lost.
  function proc.kill(sig)
    local pids = children()
    local deadline = now_ms() + 2000
    while #pids == 0 and proc.exit_code() == nil and now_ms() < deadline
          and start_time(shell_pid) == shell_start do
      sleep_ms(5)
      pids = children()
    end
    if #pids > 0 then
      os.execute(("kill -%s %s 2>/dev/null"):format(sig or "TERM", table.concat(pids, " ")))
    end
  end
  -- Ends everything the command started (see above) and removes the
  -- files; returns the pids that were still running ({} for none).
  local cleaned = false
  function proc.cleanup()
    if cleaned then return {} end
    cleaned = true
    local finished = proc.exit_code() ~= nil
    local pids = tree_pids(shell_pid, shell_start, mark)
    if #pids > 0 and not end_tree(shell_pid, shell_start, mark) then
      io.stderr:write(("spec/helper.lua: could not end %s (%s)\n"):format(cmd,
        table.concat(tree_pids(shell_pid, shell_start, mark), " ")))
    end
    os.remove(out); os.remove(err); os.remove(status)
    tracker.live[id] = nil
    -- Once the exit code is written the root shell is only exiting: not
    -- something left running.
    local left = {}
    for _, pid in ipairs(pids) do
      if not (finished and pid == shell_pid) then left[#left + 1] = tostring(math.tointeger(pid)) end
    end
    return left
  end
  tracker.live[id] = { proc = proc, cmd = cmd, where = tracker.where and tracker.where() or "?",
                       owner = tracker.frames[#tracker.frames] or tracker.root }
  return proc
end

-- Runs a command to its end (bounded by `timeout`), returns exit code,
-- stdout, stderr.
function helper.execute(cmd, ms)
  local proc = helper.spawn(cmd)
  local code = proc.wait(ms or helper.TIMEOUT * 2)
  local o, e = proc.output(), proc.stderr()
  proc.cleanup()
  return code, o, e
end

-- Waits until something accepts on 127.0.0.1:port; raises naming `what`
-- with proc's stderr when nothing does within 5 s.
function helper.wait_listening(port, proc, what)
  assert(helper.run(5000, function()
    local s = net.TcpSocket()
    s:connectToHost("127.0.0.1", port)
    local ok = s:waitForConnected(200)
    s:abort()
    return ok
  end), what .. " did not start: " .. proc.stderr())
end

-- Whether a program (a real peer: vsftpd, redis-server) is installed.
function helper.installed(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- Starts a real peer's command line (a list of words) in the foreground,
-- without the sanitizer's variables (an ASan luanetd passes them on), and
-- waits until it accepts on 127.0.0.1:port. Returns a stop function: TERM
-- by PID, then cleanup. One that does not start is cleaned up and raises
-- with what it printed.
function helper.start_peer(argv, port, what)
  local proc = helper.spawn(helper.quote_all("env", "-u", "LD_PRELOAD", "-u", "ASAN_OPTIONS",
    "-u", "UBSAN_OPTIONS", "-u", "LSAN_OPTIONS", table.unpack(argv)))
  local ok, err = pcall(helper.wait_listening, port, proc, what)
  if not ok then
    proc.cleanup()
    error(err .. "\nstdout: " .. proc.output(), 0)
  end
  return function()
    proc.kill("TERM")
    proc.wait(3000)
    proc.cleanup()
  end
end

-- Runs fn as a task (the waits of the code it calls suspend it) until it
-- returns; its error is raised here.
function helper.in_task(fn)
  local done, err = false, nil
  net.spawn(function()
    local ok, e = pcall(fn)
    done, err = true, not ok and e or nil
  end)
  helper.run(15000, function() return done end)
  assert(done, "the task did not finish")
  if err then error(err, 0) end
end

return helper
