-- spec/integration/echo_spec.lua: scripts/echo_server.lua as a real luanetd
-- process, driven by in-process TcpSockets over 127.0.0.1: what goes in
-- comes back, byte for byte, for one large stream and for many clients at
-- once.
local helper = require "helper"
local net = helper.net

local function start_echo(...)
  return helper.start_server(("%s %s"):format(helper.quote_all(helper.LUANETD, helper.script("echo_server.lua")),
    helper.quote_all(...)))
end

-- n pseudo-random bytes (n a multiple of 8): no period for a reordering
-- or a repeated chunk to hide in.
local function random_bytes(n)
  local parts = {}
  for i = 1, n // 8 do parts[i] = string.pack("<i8", math.random(math.mininteger, math.maxinteger)) end
  return table.concat(parts)
end

-- A client that sends payload once connected and collects what comes back.
local function echo_client(port, payload)
  local sock = net.TcpSocket()
  local c = { sock = sock, parts = {}, received = 0 }
  sock.connected:connect(function() sock:write(payload) end)
  sock.readyRead:connect(function()
    local data = sock:readAll()
    c.parts[#c.parts + 1] = data
    c.received = c.received + #data
  end)
  sock.errorOccurred:connect(function() c.error = sock:errorString() end)
  sock:connectToHost("127.0.0.1", port)
  return c
end

describe("echo_server.lua", function()
  it("prints its address and real port on its first line", function()
    local proc, port, addr = start_echo()
    finally(proc.cleanup)
    assert.are.same("127.0.0.1", addr)
    assert.is_true(port > 0 and port < 65536)
  end)

  it("echoes 1 MiB back intact", function()
    local proc, port = start_echo()
    local payload = random_bytes(1 << 20)
    local c = echo_client(port, payload)
    finally(function() c.sock:abort(); proc.cleanup() end)
    helper.run(20000, function() return c.received >= #payload or c.error end)
    assert.is_nil(c.error)
    assert.are.same(#payload, c.received)
    assert.is_true(table.concat(c.parts) == payload, "the echo differs from what was sent")
  end)

  it("serves 200 clients at once, each getting its own bytes back", function()
    local proc, port = start_echo()
    local N, SIZE = 200, 16384
    local clients, payloads = {}, {}
    finally(function()
      for _, c in ipairs(clients) do c.sock:abort() end
      proc.cleanup()
    end)
    for i = 1, N do
      payloads[i] = random_bytes(SIZE)
      clients[i] = echo_client(port, payloads[i])
    end
    helper.run(20000, function()
      for _, c in ipairs(clients) do
        if c.received < SIZE and not c.error then return false end
      end
      return true
    end)
    local wrong = {}
    for i, c in ipairs(clients) do
      if c.error or table.concat(c.parts) ~= payloads[i] then
        wrong[#wrong + 1] = ("client %d: %s, %d of %d bytes"):format(i, c.error or "no error",
          c.received, SIZE)
      end
    end
    assert.are.same({}, { table.unpack(wrong, 1, 10) })
  end)

  it("listens on ::1 with --host ::1", function()
    local proc, port, addr = start_echo("--host", "::1")
    local sock = net.TcpSocket()
    -- busted keeps one finally per it: the last one set.
    finally(function() sock:abort(); proc.cleanup() end)
    assert.are.same("::1", addr)
    sock:connectToHost("::1", port)
    assert.is_true(sock:waitForConnected(helper.TIMEOUT))
    sock:write("ping\n")
    helper.run(helper.TIMEOUT, function() return sock:bytesAvailable() >= 5 end)
    assert.are.same("ping\n", sock:readAll())
  end)

  it("ends on SIGTERM", function()
    local proc = start_echo()
    finally(proc.cleanup)
    proc.kill("TERM")
    assert.is_not_nil(proc.wait(5000))
  end)
end)
