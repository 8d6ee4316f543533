-- spec/integration/limits_spec.lua: the process basics of DESIGN.md under a
-- real luanetd: when accept() meets EMFILE the listener pauses instead of
-- spinning, and the connections that waited in the backlog are served once
-- descriptors are free again.
local helper = require "helper"
local net = helper.net

-- utime + stime of a process, in seconds.
local function cpu_seconds(pid)
  local f = assert(io.open(("/proc/%d/stat"):format(pid)))
  local stat = f:read("a")
  f:close()
  local fields = {}
  for field in stat:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = field end
  -- fields[1] is the state (field 3 of stat): utime is field 14, stime 15
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

describe("luanetd out of file descriptors", function()
  it("pauses accepting without spinning and serves the backlog later", function()
    local proc, port = helper.start_server("prlimit --nofile=48:48 "
      .. helper.quote_all(helper.LUANETD, helper.script("echo_server.lua")))
    local clients = {}
    finally(function()
      for _, c in ipairs(clients) do c.sock:abort() end
      proc.cleanup()
    end)

    local N = 80   -- more than the server has descriptors for
    for i = 1, N do
      local c = { sock = net.TcpSocket(), got = "" }
      c.sock.connected:connect(function() c.sock:write(("ping %d\n"):format(i)) end)
      c.sock.readyRead:connect(function() c.got = c.got .. c.sock:readAll() end)
      c.sock:connectToHost("127.0.0.1", port)
      clients[i] = c
    end
    local function echoed()
      local n = 0
      for i, c in ipairs(clients) do
        if c.got == ("ping %d\n"):format(i) then n = n + 1 end
      end
      return n
    end
    helper.run(5000, function() return echoed() >= 30 end)
    local served = echoed()
    assert.is_true(served >= 30 and served < N, ("served %d of %d"):format(served, N))

    -- Saturated: the listener is readable but accept() fails. A spinning
    -- server would burn a whole second of CPU here.
    local pid = proc.pid()
    local before = cpu_seconds(pid)
    helper.drive(1000)
    local used = cpu_seconds(pid) - before
    assert.is_true(used < 0.3, ("server used %.2f s of CPU in 1 s while out of fds"):format(used))

    -- Free descriptors: each client that has its echo closes, and the
    -- ones still waiting in the backlog get served in turn. (How many the
    -- server held at once depends on the descriptors it inherited.)
    local done = {}
    helper.run(10000, function()
      local all = true
      for i, c in ipairs(clients) do
        if not done[i] then
          if c.got == ("ping %d\n"):format(i) then
            c.sock:abort()
            done[i] = true
          else
            all = false
          end
        end
      end
      return all
    end)
    for i, c in ipairs(clients) do
      assert.is_true(done[i], ("client %d was never served (got %q)"):format(i, c.got))
    end
  end)
end)
