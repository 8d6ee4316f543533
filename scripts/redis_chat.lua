-- scripts/redis_chat.lua: a line chat across luanetd nodes through Redis.
-- Every line a client sends is published to a Redis channel, and every
-- message on the channel goes to every client of this node, so N nodes
-- behind a load balancer (etc/cluster/: HAProxy in front) are one room.
--
--   luanetd scripts/redis_chat.lua [--host H] [--port P] [--redis URL] [--channel NAME] [--name NODE]
--   service "chat" { script = "redis_chat.lua", listen = "tcp://127.0.0.1:7101",
--                    options = { redis = "redis://127.0.0.1:6379", name = "node1" } }
--
-- Lines: "/who" is answered "node NODE" (the node's name, by default the
-- host name), "/count" with "count N", N from an INCR in Redis (one
-- counter for every node); neither is published. Any other line is
-- published whole, with its "\n", in the order this node read it (one
-- task sends them, pipelined). The subscriber reconnects by itself when
-- Redis restarts (net.Redis pub/sub); a line whose PUBLISH fails is
-- answered "error ..." to its sender, never sent twice.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "redis_chat.lua [--host H] [--port P] [--redis URL] [--channel NAME] [--name NODE]"
local COUNTER = "luanet-chat:count"

local function host_name()
  local f = io.open("/proc/sys/kernel/hostname")
  local name = f and f:read("l")
  if f then f:close() end
  return name or os.getenv("HOSTNAME") or "localhost"
end

-- Publishes queued lines in order: one task at a time drains the queue
-- with a pipeline, so a burst costs one round trip.
local function publisher(pool, channel)
  local queue, running = {}, false
  local function drain()
    running = true
    while #queue > 0 do
      local batch, cmds = queue, {}
      queue = {}
      for i, item in ipairs(batch) do cmds[i] = { "PUBLISH", channel, item.line } end
      local replies, err = pool:pipeline(cmds)
      for i, item in ipairs(batch) do
        local r = replies and replies[i]
        if not replies or type(r) == "table" then
          item.client:write(("error %s\n"):format(replies and r.err or err))
        end
      end
    end
    running = false
  end
  return function(client, line)
    queue[#queue + 1] = { client = client, line = line }
    if not running then net.spawn(drain) end
  end
end

-- The channel's messages to every client of this node. The first connect
-- is retried until Redis answers; after it, pub/sub reconnects by itself.
local function subscribe(url, channel, clients)
  net.spawn(function()
    local delay = 100
    while true do
      local sub, err = net.Redis.connect(url)
      if sub then
        sub.message:connect(function(_, line)
          for client in pairs(clients) do client:write(line) end
        end)
        sub:subscribe(channel)
        return
      end
      net.log("warn", ("redis_chat: %s; trying again in %d ms"):format(err, delay))
      net.sleep(delay)
      delay = math.min(delay * 2, 5000)
    end
  end)
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, redis = "redis://127.0.0.1:6379",
                                    channel = "luanet-chat", name = false }, ...)
  local name = opts.name or host_name()
  local server, err = cli.listen(opts)
  if not server then cli.fail(err) end
  local pool = net.Redis.pool(opts.redis, { size = 4 })
  local publish = publisher(pool, opts.channel)
  local clients = {}
  subscribe(opts.redis, opts.channel, clients)
  server.newConnection:connect(function()
    while server:hasPendingConnections() do
      local client = server:nextPendingConnection()
      clients[client] = true
      client.readyRead:connect(function()
        while client:canReadLine() do
          local line = client:readLine()
          local command = line:match("^(/%a+)\r?\n$")
          if command == "/who" then
            client:write(("node %s\n"):format(name))
          elseif command == "/count" then
            net.spawn(function()
              local n, why = pool:call("INCR", COUNTER)
              client:write(n and ("count %d\n"):format(n) or ("error %s\n"):format(why))
            end)
          else
            publish(client, line)
          end
        end
      end)
      client.disconnected:connect(function() clients[client] = nil end)
    end
  end)
end

cli.run(main, ...)
