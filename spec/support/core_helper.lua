-- spec/support/core_helper.lua: what the core's unit specs share on top of
-- spec/helper.lua: connected pairs, closing in `finally`, fd and memory
-- figures of this process, Python peers, patterned data and a free port.
-- Every wait is bounded by helper.TIMEOUT.
local helper = require "helper"
local net = helper.net

local core = {}

-- The Debian Python (the first python3 on PATH may be another one), run
-- without the sanitizer's environment.
core.PYTHON = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS /usr/bin/python3 -u"

-- Closes every object given (sockets with abort, servers and timers with
-- their own close/stop, tables element by element); nils are skipped. For
-- `finally`, so the next spec starts with no descriptor left open. A
-- server's untaken connections are aborted too: closing a server leaves
-- them open (see lifetime_spec).
function core.close(...)
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    local mt = getmetatable(o)
    local name = type(mt) == "table" and mt.__name
    if name == "luanet.TcpSocket" then
      o:abort()
    elseif name == "luanet.TcpServer" then
      o:close()
      for _ = 1, 100000 do
        local pending = o:nextPendingConnection()
        if not pending then break end
        pending:abort()
      end
    elseif name == "luanet.Timer" then
      o:stop()
    elseif type(o) == "table" then
      for _, v in pairs(o) do core.close(v) end
    end
  end
end

-- A connected pair over a server on addr (127.0.0.1 by default), port 0:
-- returns client, accepted, server. Fails the spec if it cannot connect.
function core.pair(addr)
  local server, port = helper.listen(addr)
  local client = net.TcpSocket()
  client:connectToHost(addr or "127.0.0.1", port)
  assert(client:waitForConnected(helper.TIMEOUT), "connect: " .. client:errorString())
  assert(server:waitForNewConnection(helper.TIMEOUT), "no connection accepted")
  local accepted = server:nextPendingConnection()
  assert(accepted, "nextPendingConnection gave nil")
  return client, accepted, server
end

-- A port on 127.0.0.1 where nothing listens (it was free a moment ago).
function core.free_port(addr)
  local server = net.TcpServer()
  assert(server:listen(addr or "127.0.0.1", 0))
  local port = server:serverPort()
  server:close()
  return port
end

-- An in-process echo server on 127.0.0.1 that takes up to max_pending
-- connections at once: server, port, and the list of accepted sockets.
function core.echo_server(max_pending)
  local server, port = helper.listen()
  local accepted = {}
  server:setMaxPendingConnections(max_pending)
  server.newConnection:connect(function()
    local a = server:nextPendingConnection()
    accepted[#accepted + 1] = a
    a.readyRead:connect(function() a:write(a:readAll()) end)
  end)
  return server, port, accepted
end

-- Runs the loop until `sock` has at least n bytes buffered.
function core.wait_bytes(sock, n, ms)
  return helper.run(ms or helper.TIMEOUT, function() return sock:bytesAvailable() >= n end)
end

-- Reads until n bytes came (or the time-out): returns what was read.
function core.read_exactly(sock, n, ms)
  local parts, got = {}, 0
  helper.run(ms or helper.TIMEOUT, function()
    local s = sock:read(n - got)
    if #s > 0 then
      parts[#parts + 1] = s
      got = got + #s
    end
    return got >= n
  end)
  return table.concat(parts)
end

-- This process's pid, open descriptors and resident memory (KiB).
function core.pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = tonumber(f:read("a"):match("^(%d+)"))
  f:close()
  return pid
end

function core.fd_count()
  -- ls runs in a child: count our descriptors, minus the pipe popen adds.
  local p = assert(io.popen("ls /proc/" .. core.pid() .. "/fd"))
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n - 1
end

-- Socket descriptors only: the leak checks are about connections, and
-- other descriptors (a runtime's log file, a pipe) may come and go.
function core.socket_fd_count()
  local p = assert(io.popen("ls -l /proc/" .. core.pid() .. "/fd"))
  local n = 0
  for line in p:lines() do
    if line:find("socket:", 1, true) then n = n + 1 end
  end
  p:close()
  return n
end

function core.rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- Lua heap in KiB after full collections.
function core.lua_kib()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

-- Writes `text` to a new temporary file; returns its path.
function core.tempfile(text, suffix)
  local base = os.tmpname()   -- made by mkstemp: keep it only without a suffix
  local path = base .. (suffix or "")
  if suffix then os.remove(base) end
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- Starts a Python peer (source text); returns the helper.spawn process and
-- the path of its script (both for cleanup through core.stop).
function core.python(source)
  local path = core.tempfile(source, ".py")
  local proc = helper.spawn(core.PYTHON .. " " .. path)
  proc.script = path
  return proc
end

function core.stop(proc)
  if not proc then return end
  proc.cleanup()
  if proc.script then os.remove(proc.script) end
end

-- Waits for a "PORT n" line from a peer; returns n.
function core.peer_port(proc)
  local port = proc.wait_line("PORT (%d+)", helper.TIMEOUT)
  assert(port, "the peer gave no port: " .. proc.stderr())
  return tonumber(port)
end

-- Patterned data: block i of `size` bytes starts with its number, so a
-- reordered, repeated or dropped block shows, not just a short count.
local function base_block(size)
  local t, x = {}, 12345
  for i = 1, size do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = string.char(x >> 16 & 255)
  end
  return table.concat(t)
end

function core.pattern(block_size)
  local base = base_block(block_size)
  local p = { block_size = block_size }
  function p.block(i)
    return ("%010d"):format(i) .. base:sub(11)
  end
  -- The bytes at [off, off + len) of the infinite stream.
  function p.expected(off, len)
    local parts = {}
    while len > 0 do
      local i, within = off // block_size, off % block_size
      local take = math.min(len, block_size - within)
      parts[#parts + 1] = p.block(i):sub(within + 1, within + take)
      off, len = off + take, len - take
    end
    return table.concat(parts)
  end
  -- A checker fed with received pieces in order: returns true while the
  -- stream matches; p.bad holds the offset of the first mismatch.
  p.offset = 0
  function p.check(piece)
    if p.bad then return false end
    if p.expected(p.offset, #piece) ~= piece then
      p.bad = p.offset
      return false
    end
    p.offset = p.offset + #piece
    return true
  end
  return p
end

-- Records events as strings in order: rec("readyRead"), rec.list.
function core.recorder()
  local rec = { list = {} }
  function rec.add(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    rec.list[#rec.list + 1] = table.concat(parts, ":")
  end
  function rec.slot(name)
    return function(...) rec.add(name, ...) end
  end
  return rec
end

-- Runs a Lua script in a child lua5.4 with the build tree's paths (stderr
-- of a child is where a spec can read what the core logs); returns exit
-- code, stdout, stderr.
function core.run_script(source, ms)
  local path = core.tempfile(source, ".lua")
  local prelude = "package.path = 'lua/?.lua;lua/?/init.lua;spec/?.lua;' .. package.path; " ..
                  "package.cpath = 'build/?.so;' .. package.cpath"
  local code, out, err = helper.execute(("env -u LD_PRELOAD lua5.4 -e %s %s")
    :format(helper.quote(prelude), path), ms)
  os.remove(path)
  return code, out, err
end

return core
