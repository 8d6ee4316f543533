-- scripts/echo_server.lua: sends every byte it receives back to its sender.
-- It is the benchmark's server, so the hot path is one slot: readyRead
-- takes all that is buffered and writes it back (write sends at once and
-- queues only what the kernel will not take). A closed connection needs
-- nothing from us: the core releases the socket.
--
--   luanetd scripts/echo_server.lua [--host H] [--port P]
local net = require "luanet"

local function usage(msg)
  io.stderr:write(("echo_server: %s\nusage: echo_server.lua [--host H] [--port P]\n"):format(msg))
  os.exit(2)
end

local function parse_args(...)
  local args = table.pack(...)
  local opts = { host = "127.0.0.1", port = 0 }
  for i = 1, args.n, 2 do
    local name, value = args[i], args[i + 1]
    if value == nil then usage("missing value for " .. tostring(name)) end
    if name == "--host" then
      if net.HostAddress(value):isNull() then usage("not an IP address: " .. value) end
      opts.host = value
    elseif name == "--port" then
      opts.port = math.tointeger(tonumber(value))
      if not opts.port or opts.port < 0 or opts.port > 65535 then usage("bad port " .. value) end
    else
      usage("unknown option " .. tostring(name))
    end
  end
  return opts
end

local function serve(client)
  client.readyRead:connect(function() client:write(client:readAll()) end)
end

local function main(...)
  io.stdout:setvbuf("line")
  local opts = parse_args(...)
  local server = net.TcpServer()
  if not server:listen(opts.host, opts.port) then
    io.stderr:write(("Unable to start the server: %s.\n"):format(server:errorString()))
    return 1
  end
  server.newConnection:connect(function() serve(server:nextPendingConnection()) end)
  print(("The server is running on IP: %s port: %d"):format(
    server:serverAddress():toString(), server:serverPort()))
end

local code = main(...)
if code then net.quit(code) end
-- A stock lua5.4 runs the main chunk outside the loop: run it here.
if not coroutine.isyieldable() then os.exit(code or net.exec()) end
