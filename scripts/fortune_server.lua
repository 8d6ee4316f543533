-- scripts/fortune_server.lua: Qt's Fortune Server example. Every client gets
-- one block, a quint16 size and then a fortune as a Qt 4 QString (what
-- QDataStream with Qt_4_0 writes), and is disconnected once the block has
-- left, so Qt's Fortune Client and ours read it alike. Each connection is
-- answered from its newConnection slot and never waits, so one process
-- serves many clients at once.
--
--   luanetd scripts/fortune_server.lua [--host H] [--port P] [--fortune TEXT]
--
-- --port 0 (the default) takes any free port; the first line on stdout
-- names the real one. --fortune makes every client get TEXT (for tests).
local net = require "luanet"

local FORTUNES = {
  "A journey of a thousand miles begins with a single packet.",
  "The early bird gets the worm; the second mouse gets the cheese.",
  "Every socket you open is a socket you must close.",
  "Patience is a timeout you set yourself.",
  "Do not count your bytes before they are acknowledged.",
  "Le cœur a ses raisons que la raison ne connaît point.",
  "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
  "七転び八起き: fall seven times, stand up eight.",
  "Fortune favours the bold 🍀",
  "Ship it 🚀 and then fix it 🐛.",
}

local function usage(msg)
  io.stderr:write(("fortune_server: %s\n"
    .. "usage: fortune_server.lua [--host H] [--port P] [--fortune TEXT]\n"):format(msg))
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
    elseif name == "--fortune" then
      opts.fortune = value
    else
      usage("unknown option " .. tostring(name))
    end
  end
  return opts
end

-- The block as Qt's example builds it: a zero size, the string, then the
-- real size written over the zero.
local function make_block(fortune)
  local out = net.DataStream()
  out:writeUInt16(0)
  out:writeQString(fortune)
  out:seek(0)
  out:writeUInt16(#out:data() - 2)
  return out:data()
end

local function pick_fortune(opts)
  return opts.fortune or FORTUNES[math.random(#FORTUNES)]
end

-- disconnectFromHost closes once the write queue has drained.
local function send_fortune(server, opts)
  local client = server:nextPendingConnection()
  if not client then return end
  client:write(make_block(pick_fortune(opts)))
  client:disconnectFromHost()
end

local function main(...)
  io.stdout:setvbuf("line")
  local opts = parse_args(...)
  local server = net.TcpServer()
  if not server:listen(opts.host, opts.port) then
    io.stderr:write(("Unable to start the server: %s.\n"):format(server:errorString()))
    return 1
  end
  server.newConnection:connect(function() send_fortune(server, opts) end)
  print(("The server is running on IP: %s port: %d"):format(
    server:serverAddress():toString(), server:serverPort()))
end

local code = main(...)
if code then net.quit(code) end
-- A stock lua5.4 runs the main chunk outside the loop: run it here.
if not coroutine.isyieldable() then os.exit(code or net.exec()) end
