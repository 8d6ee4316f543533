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
local cli = require "luanet.cli"
local fortune = require "luanet.fortune"

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

local USAGE = "fortune_server.lua [--host H] [--port P] [--fortune TEXT] [--cert FILE --key FILE]"

local function pick_fortune(opts)
  return opts.fortune or FORTUNES[math.random(#FORTUNES)]
end

-- disconnectFromHost closes once the write queue has drained.
local function send_fortune(server, opts)
  local client = server:nextPendingConnection()
  if not client then return end
  client:write(fortune.block(pick_fortune(opts)))
  client:disconnectFromHost()
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, fortune = false, cert = false, key = false }, ...)
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  server.newConnection:connect(function() send_fortune(server, opts) end)
end

cli.run(main, ...)
