--- luanet.redis.pubsub: Redis's pub/sub on a connection of its own (RESP2
-- "subscribed" mode), added to net.Redis's connections by luanet.redis.
--
--   local sub = assert(net.Redis.connect("redis://127.0.0.1:6379"))
--   sub.message:connect(function(channel, payload) ... end)
--   sub.pmessage:connect(function(pattern, channel, payload) ... end)
--   sub:subscribe("chat", "news")      -- and psubscribe("user.*")
--
-- Once it has subscribed, a connection reads on its own (readyRead), and
-- serves nothing but (p)(un)subscribe: call and pipeline fail with kind
-- "network" ("subscribed"). When the server goes away (a restart, a
-- failover, a reset) the connection comes back by itself: it reconnects
-- with back-off (100 ms, doubling to 5 s), subscribes again to every
-- channel and pattern it had, and says both in the log (net.log).
-- Messages published while it was away are lost, as Redis's pub/sub
-- loses them for any subscriber that is not connected.
-- @classmod Redis
local net = require "luanet.core"
local resp = require "luanet.redis.resp"

local BACKOFF_FIRST, BACKOFF_MAX = 100, 5000   -- ms
local concat, format = table.concat, string.format

local function names(set)
  local list = {}
  for name in pairs(set) do list[#list + 1] = name end
  table.sort(list)
  return list
end

return function(redis, methods, internals)
  local open, where = internals.open, internals.where

  local function log(self, level, fmt, ...)
    net.log(level, format("Redis subscriber %s: " .. fmt, where(self), ...))
  end

  -- The (P)SUBSCRIBE commands for everything this connection listens to.
  local function subscriptions(sub)
    local out, channels, patterns = {}, names(sub.channels), names(sub.patterns)
    if #channels > 0 then
      table.insert(channels, 1, "SUBSCRIBE")
      out[#out + 1] = resp.encode(channels)
    end
    if #patterns > 0 then
      table.insert(patterns, 1, "PSUBSCRIBE")
      out[#out + 1] = resp.encode(patterns)
    end
    return concat(out)
  end

  local reconnect

  -- What the server pushes: messages, and the confirmations we ignore.
  local function on_data(self)
    local sub = self._sub
    local buf = (self._pos > #self._buf and "" or self._buf:sub(self._pos)) .. self._sock:readAll()
    local pos = 1
    while pos <= #buf do
      local v, nxt = resp.decode(buf, pos)
      if v == nil then
        if nxt ~= resp.MORE then
          log(self, "error", "malformed data from the server (%s): reconnecting", nxt)
          self._buf, self._pos = "", 1
          self._sock:abort()
          return
        end
        break
      end
      pos = nxt
      if type(v) == "table" and v[1] == "message" then
        self.message:emit(v[2], v[3])
      elseif type(v) == "table" and v[1] == "pmessage" then
        self.pmessage:emit(v[2], v[3], v[4])
      elseif resp.is_error(v) then
        log(self, "warn", "the server refused a command: %s", v.err)
      end
    end
    self._buf, self._pos = buf, pos
    if pos > #buf then self._buf, self._pos = "", 1 end
    sub.backoff = BACKOFF_FIRST   -- it works again
  end

  -- Listens on the connection's current socket.
  local function attach(self)
    local sock = self._sock
    sock.readyRead:connect(function() on_data(self) end)
    sock.disconnected:connect(function()
      if self._sub.closing or self._sock ~= sock then return end
      self._dead = "lost: " .. sock:errorString()
      reconnect(self, sock:errorString())
    end)
  end

  -- Back-off, then a new socket with the same settings and subscriptions.
  reconnect = function(self, why)
    local sub = self._sub
    log(self, "warn", "lost the server (%s); reconnecting in %d ms", why, sub.backoff)
    net.Timer.singleShot(sub.backoff, function()
      if sub.closing then return end
      net.spawn(function()
        local fresh, err = open(self._s, net.clock() + self._s.timeout)
        if not fresh or sub.closing then
          if fresh then fresh:close() end
          if sub.closing then return end
          sub.backoff = math.min(sub.backoff * 2, BACKOFF_MAX)
          return reconnect(self, err)
        end
        self._sock, self._buf, self._pos, self._dead = fresh._sock, "", 1, false
        attach(self)
        self._sock:write(subscriptions(sub))
        local channels, patterns = names(sub.channels), names(sub.patterns)
        log(self, "info", "reconnected; subscribed again to %d channel(s) and %d pattern(s)", #channels, #patterns)
      end)
    end)
  end

  -- Turns the connection into a subscriber, once.
  local function subscriber(self)
    if self._sub then return self._sub end
    self._sub = { channels = {}, patterns = {}, backoff = BACKOFF_FIRST }
    attach(self)
    if self._sock:bytesAvailable() > 0 then on_data(self) end
    return self._sub
  end

  -- One of (P)SUBSCRIBE and (P)UNSUBSCRIBE: the names join or leave the
  -- set kept for reconnects, and the command goes out. true, or nil, why
  -- and "network" when the connection is closed for good.
  local function change(cmd, set_name, adding)
    return function(self, ...)
      if self._dead and not self._sub then
        return nil, format("%s: the connection is closed (%s)", where(self), self._dead), "network"
      end
      local sub = subscriber(self)
      local args = { cmd, ... }
      for i = 2, #args do
        if type(args[i]) ~= "string" then
          error(format("bad argument #%d to '%s' (string expected, got %s)", i - 1, cmd:lower(), type(args[i])), 2)
        end
        sub[set_name][args[i]] = adding or nil
      end
      if not adding and #args == 1 then sub[set_name] = {} end   -- all of them
      if #args == 1 and adding then error(format("bad argument #1 to '%s' (a name expected)", cmd:lower()), 2) end
      if not self._dead then self._sock:write(resp.encode(args)) end
      return true
    end
  end

  --- Subscribes to channels; the connection becomes a subscriber.
  -- @function subscribe
  -- @tparam string channel
  -- @param ... more channels
  -- @treturn boolean true, or nil, why, "network" on a connection closed for good
  methods.subscribe = change("SUBSCRIBE", "channels", true)
  --- Subscribes to patterns ("user.*").
  -- @function psubscribe
  -- @tparam string pattern
  -- @param ... more patterns
  -- @treturn boolean as subscribe
  methods.psubscribe = change("PSUBSCRIBE", "patterns", true)
  --- Unsubscribes from channels, or from every channel.
  -- @function unsubscribe
  -- @tparam[opt] string channel
  -- @param ... more channels
  -- @treturn boolean as subscribe
  methods.unsubscribe = change("UNSUBSCRIBE", "channels", false)
  --- Unsubscribes from patterns, or from every pattern.
  -- @function punsubscribe
  -- @tparam[opt] string pattern
  -- @param ... more patterns
  -- @treturn boolean as subscribe
  methods.punsubscribe = change("PUNSUBSCRIBE", "patterns", false)

  -- Closing a subscriber also stops its reconnecting.
  local close = methods.close
  function methods:close()
    if self._sub then self._sub.closing = true end
    return close(self)
  end

  --- Emitted for each message published on a channel subscribed to.
  -- @signal message
  -- @tparam string channel
  -- @tparam string payload

  --- Emitted for each message on a channel that matches a pattern subscribed to.
  -- @signal pmessage
  -- @tparam string pattern
  -- @tparam string channel
  -- @tparam string payload

  -- message and pmessage: Signals made when first touched.
  return function(self, key)
    if key == "message" or key == "pmessage" then
      local sig = net.Signal()
      rawset(self, key, sig)
      return sig
    end
    return methods[key]
  end
end
