-- scripts/ws_chat.lua: a chat room on one port. HTTP serves the page
-- (www/chat.html at /) and the other files of --root; a WebSocket at
-- /chat, upgraded from the same HttpServer, carries the chat: every text
-- message goes to every connected client, the sender too.
--
--   luanetd scripts/ws_chat.lua [--host H] [--port P] [--root DIR]
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ws_chat.lua [--host H] [--port P] [--root DIR]"
local MIME = { html = "text/html; charset=utf-8", css = "text/css", js = "text/javascript",
               png = "image/png", svg = "image/svg+xml", ico = "image/x-icon", txt = "text/plain; charset=utf-8" }

-- A file of the root by its name alone (no directories, no dot files).
local function serve_file(root, req, res)
  local name = req.path == "/" and "chat.html" or req.path:match("^/([%w_-][%w_.-]*)$")
  local st = name and net.stat(root .. "/" .. name)
  if not (st and st.type == "file") then
    res.statusCode = 404
    return res:finish("not found\n")
  end
  res:setHeader("Content-Type", MIME[name:match("%.(%w+)$") or ""] or "application/octet-stream")
  res:sendFile(root .. "/" .. name, 0, st.size)
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, root = "www" }, ...)
  local tcp, err = cli.listen(opts)
  if not tcp then cli.fail(err) end
  local clients = {}
  local function broadcast(msg)
    for ws in pairs(clients) do ws:sendTextMessage(msg) end
  end
  local http = net.HttpServer()
  http.request:connect(function(req, res)
    if req.path ~= "/chat" then return serve_file(opts.root, req, res) end
    local ws = req:upgradeToWebSocket(res)
    if not ws then return end
    clients[ws] = true
    ws.textMessageReceived:connect(broadcast)
    ws.disconnected:connect(function() clients[ws] = nil end)
  end)
  http:serve(tcp)
  local service = ...
  if type(service) == "table" then service.stopping:connect(function() http:closeIdle() end) end
  cli.before_drain_ends(service, function()
    for ws in pairs(clients) do ws:close(net.WebSocket.CloseCodeGoingAway, "server going away") end
  end)
end

cli.run(main, ...)
