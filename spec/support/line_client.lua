-- spec/support/line_client.lua: a TcpSocket that speaks lines, for specs
-- of line services: connect(port) -> c with c.lines (every line
-- received), c.ask(line) (send a line, get the next one back, nil on
-- time-out), c.wait_connected(), c.wait_line(text), c.closed, c.error.
local helper = require "helper"
local net = helper.net

local line_client = {}

-- A line client: c.lines collects every line received; c.ask(line) sends a
-- line and returns the next line that comes back (nil on time-out).
function line_client.connect(port)
  local sock = net.TcpSocket()
  local c = { sock = sock, buf = "", lines = {}, closed = false, connected = false }
  sock.connected:connect(function() c.connected = true end)
  sock.readyRead:connect(function()
    c.buf = c.buf .. sock:readAll()
    for line in c.buf:gmatch("([^\n]*)\n") do c.lines[#c.lines + 1] = line end
    c.buf = c.buf:match("[^\n]*$")
  end)
  sock.disconnected:connect(function() c.closed = true end)
  sock.errorOccurred:connect(function()
    c.error = tostring(sock:error())
    c.error_string = sock:errorString()
  end)
  sock:connectToHost("127.0.0.1", port)
  function c.wait_connected(ms)
    helper.run(ms or helper.TIMEOUT, function() return c.connected or c.error ~= nil end)
    return c.connected
  end
  function c.ask(line, ms)
    local n = #c.lines
    sock:write(line .. "\n")
    helper.run(ms or helper.TIMEOUT, function() return #c.lines > n or c.closed end)
    return c.lines[n + 1]
  end
  function c.wait_line(text, ms)
    helper.run(ms or helper.TIMEOUT, function()
      for _, l in ipairs(c.lines) do if l == text then return true end end
      return false
    end)
    for _, l in ipairs(c.lines) do if l == text then return true end end
    return false
  end
  return c
end

return line_client
