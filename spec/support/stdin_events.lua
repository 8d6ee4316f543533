-- spec/support/stdin_events.lua: a TcpSocket that adopts stdin with
-- setSocketDescriptor(0) and prints what it sees, one line an event, for
-- spec/integration/tcp_socket_descriptor_spec.lua:
--
--   adopted true ConnectedState       setSocketDescriptor's result and the state
--   luanet.TcpSocket (ConnectedState fd 0)   tostring
--   nonblocking true                  whether fd 0 is O_NONBLOCK while adopted
--   peer true 0                       peerAddress():isNull(), peerPort()
--   read "a\nb\n"                     each readyRead: what readAll gave (%q)
--   error RemoteHostClosedError       errorOccurred
--   disconnected
--
-- With the argument "reply" it writes "got N\n" back to fd 0 for each
-- read, for a stdin that is a socket.
local net = require "luanet"

local reply = ... == "reply"

-- O_NONBLOCK (04000, octal) in fd 0's flags, as /proc shows them.
local function nonblocking()
  local f = assert(io.open("/proc/self/fdinfo/0"))
  local flags = f:read("a"):match("flags:%s*(%d+)")
  f:close()
  return tonumber(flags, 8) & tonumber("4000", 8) ~= 0
end

local sock = net.TcpSocket()
sock.readyRead:connect(function()
  local data = sock:readAll()
  print("read " .. ("%q"):format(data):gsub("\\\n", "\\n"))
  if reply then sock:write(("got %d\n"):format(#data)) end
end)
sock.errorOccurred:connect(function(e) print("error " .. e) end)
sock.disconnected:connect(function() print("disconnected") end)
local ok = sock:setSocketDescriptor(0)
print(("adopted %s %s"):format(ok, sock:state()))
print(tostring(sock))
print("nonblocking " .. tostring(nonblocking()))
print(("peer %s %d"):format(sock:peerAddress():isNull(), sock:peerPort()))
