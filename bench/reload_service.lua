-- bench/reload_service.lua: the service bench/reload_check.py reloads under
-- load. Each line is answered with "TAG line", TAG read from tag.txt (in
-- options.dir) when this code starts, so the answer tells which load of
-- the code served it.
local service = ...
local f = assert(io.open(service.options.dir .. "/tag.txt"))
local tag = f:read("l")
f:close()

local server = service.listeners[1]
server.newConnection:connect(function()
  local client = server:nextPendingConnection()
  client.readyRead:connect(function()
    while client:canReadLine() do
      client:write(tag .. " " .. client:readLine())
    end
  end)
end)
