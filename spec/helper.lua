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

-- Starts a command in the background with stdout and stderr going to
-- files; returns a process handle: pid, wait_line(pattern, ms), output(),
-- stderr(), kill(sig), wait(ms) -> exit code or nil.
function helper.spawn(cmd)
  local out = os.tmpname()
  local err = os.tmpname()
  local status = os.tmpname()
  local inner = ("sh -c %s >%s 2>%s; echo $? >%s"):format(helper.quote("exec " .. cmd), out, err, status)
  local p = io.popen(("sh -c %s >/dev/null 2>&1 & echo $!"):format(helper.quote(inner)))
  local shell_pid = tonumber(p:read("l"))
  p:close()
  local proc = { shell_pid = shell_pid }
  local function slurp(path) return helper.slurp(path) or "" end
  function proc.output() return slurp(out) end
  function proc.stderr() return slurp(err) end
  -- The command's own pid: the shell's only child.
  function proc.pid()
    local f = io.open(("/proc/%d/task/%d/children"):format(shell_pid, shell_pid))
    local s = f and f:read("a") or ""
    if f then f:close() end
    return tonumber(s:match("%d+"))
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
  -- Signals the command: the shell's children, found by the kernel rather
  -- than by proc.pid(), so a command that has not shown up in /proc yet,
  -- or that a wrapper (prlimit, env) started, is not missed.
  function proc.kill(sig)
    os.execute(("pkill -%s -P %d 2>/dev/null"):format(sig or "TERM", shell_pid))
  end
  function proc.cleanup()
    if proc.exit_code() == nil then
      proc.kill("KILL")
      proc.wait(2000)
    end
    os.remove(out); os.remove(err); os.remove(status)
  end
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
