--- luanet.redis: a Redis client (RESP2) in the direct form, for tasks
-- (net.Redis). The waits suspend only the calling task (or run the loop
-- nested outside one, as Qt's blocking calls do).
--
--   local r, err, kind = net.Redis.connect("redis://:secret@127.0.0.1:6379/2")
--   local r = net.Redis.connect{ host = "127.0.0.1", port = 6379, password = "secret",
--                                db = 2, timeout = 2000, tls = { caCertificates = ca } }
--   r:call("SET", "k", 42)               --> "OK"
--   r:call("GET", "missing")             --> nil (a nil reply: no second value)
--   r:call("LPUSH", "k", "x")            --> nil, "WRONGTYPE Operation against ...", "redis"
--   r:pipeline{ { "INCR", "n" }, { "GET", "missing" }, { "LPUSH", "k", 1 } }
--                                        --> { 1, false, { err = "WRONGTYPE ...", kind = "redis" } }
--   r:close()
--   local pool = net.Redis.pool("redis://127.0.0.1", { size = 4, idleTimeout = 60000 })
--   pool:call("INCR", "hits")            -- the same call and pipeline, on an idle connection
--   r.message:connect(function(channel, payload) ... end)
--   r:subscribe("chat")                  -- pub/sub, reconnecting by itself: luanet.redis.pubsub
--
-- Replies: a status and a bulk string are strings, an integer an
-- integer, an array a sequence; inside an array or a pipeline's list a nil
-- reply is false and an error reply { err = text, kind = "redis" }
-- (luanet.redis.resp). A failure is nil, a message and its kind: "url",
-- "dns", "tls", "network" (refused, reset, closed, or a connection that an
-- earlier failure closed), "timeout" (connect, a reply, or a pool with no
-- free connection), "protocol" (a malformed reply) and "redis" (an error
-- reply: the message is the server's text). A failure other than "redis"
-- closes the connection: the stream can no longer be trusted to pair
-- replies with commands.
--
-- net.Redis is this class's table: connect and pool make its objects, a
-- connection (Redis) and a pool (RedisPool, below), which share call and
-- pipeline. docs/LUA-LIBRARY.md ("Redis: net.Redis") says more.
-- @classmod Redis
-- @qt none (Qt has no Redis client)
local net = require "luanet.core"
local resp = require "luanet.redis.resp"

local DEFAULT_PORT = 6379
local DEFAULT_TIMEOUT = 10000          -- ms, per call: connect, then each call's replies
local DEFAULT_POOL_SIZE = 10
local DEFAULT_IDLE_TIMEOUT = 60000     -- ms an idle pooled connection is kept

local concat, remove, format = table.concat, table.remove, string.format

local redis = {}

-- ---------------------------------------------------------------- settings

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Reads a Redis URL: parse_url("redis[s]://[[user]:password@]host[:port][/db]") -> { host,
-- port, username, password, db, tls }, or nil and why. The user and the
-- password are percent-decoded; rediss:// is TLS, verified by default.
-- @function parse_url
-- @static
-- @tparam string url
-- @treturn table { host, port, username, password, db, tls }, or nil and why
function redis.parse_url(url)
  if type(url) ~= "string" then return nil, "not a URL" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, format("not a redis:// URL: %s", url) end
  scheme = scheme:lower()
  if scheme ~= "redis" and scheme ~= "rediss" then
    return nil, format("unsupported scheme %s (redis and rediss only)", scheme)
  end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  local s = { tls = scheme == "rediss" or nil }
  local userinfo, hostport = authority:match("^(.*)@(.*)$")   -- the last '@': a password may hold one
  if userinfo then
    local user, password = userinfo:match("^([^:]*):(.*)$")
    if not user then return nil, format("a user without a password in %s (redis://[user]:password@host)", url) end
    s.username = user ~= "" and unescape(user) or nil
    s.password = unescape(password)
  else
    hostport = authority
  end
  local host, port = hostport:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]+):?(%d*)$") end
  if not host then return nil, format("no host in %s", url) end
  s.host = host
  s.port = port ~= "" and tonumber(port) or DEFAULT_PORT
  if s.port < 1 or s.port > 65535 then return nil, format("bad port in %s", url) end
  local db = path:match("^/(%d*)$")
  if not db and path ~= "" then return nil, format("bad database in %s (/N expected)", url) end
  s.db = db and db ~= "" and tonumber(db) or 0
  return s
end

local function check_field(o, name, want, fn)
  local v = o[name]
  if v == nil or type(v) == want or (want == "tls" and (type(v) == "table" or type(v) == "boolean")) then return end
  error(format("bad option '%s' to '%s' (%s expected, got %s)", name, fn,
               want == "tls" and "table or boolean" or want, type(v)), 4)
end

-- Settings from a URL or an options table (whose url, when it has one, is
-- the base its other fields override). nil, why for a bad URL; a wrong
-- option type raises (fn names the caller).
local function settings(what, fn)
  local s, o
  if type(what) == "string" then
    o = {}
    s = { url = what }
  elseif type(what) == "table" then
    o = what
    s = { url = what.url }
  else
    error(format("bad argument #1 to '%s' (URL or table expected, got %s)", fn, type(what)), 3)
  end
  if s.url then
    local err
    s, err = redis.parse_url(s.url)
    if not s then return nil, err end
  end
  for _, f in ipairs({ { "host", "string" }, { "port", "number" }, { "username", "string" },
                       { "password", "string" }, { "db", "number" }, { "timeout", "number" },
                       { "tls", "tls" } }) do
    check_field(o, f[1], f[2], fn)
    if o[f[1]] ~= nil then s[f[1]] = o[f[1]] end
  end
  s.host = s.host or "127.0.0.1"
  s.port = s.port or DEFAULT_PORT
  s.db = s.db or 0
  s.timeout = s.timeout or DEFAULT_TIMEOUT
  if s.tls == false then s.tls = nil end
  if math.type(s.port) ~= "integer" or s.port < 1 or s.port > 65535 then
    error(format("bad option 'port' to '%s' (1-65535 expected)", fn), 3)
  end
  if math.type(s.db) ~= "integer" or s.db < 0 then error(format("bad option 'db' to '%s' (an integer >= 0 expected)", fn), 3) end
  if s.timeout <= 0 then error(format("bad option 'timeout' to '%s' (ms > 0 expected)", fn), 3) end
  return s
end

-- ---------------------------------------------------------------- waiting

-- A FIFO of tasks waiting for what another task hands over (a turn on a
-- connection, a pooled connection). Each waiter sleeps on a Signal of its
-- own (sig:wait), which the hand-over emits; it goes to the first waiter,
-- so a late comer cannot overtake. Returns what was handed, or nil at the
-- deadline.
local function wait_hand(queue, deadline)
  local me = { woken = net.Signal() }
  queue[#queue + 1] = me
  while me.given == nil do
    local left = deadline - net.clock()
    if left <= 0 then
      for i, w in ipairs(queue) do
        if w == me then remove(queue, i) break end
      end
      return nil
    end
    me.woken:wait(left)
  end
  return me.given
end

-- Hands value to the first waiter; false when nobody waits.
local function hand(queue, value)
  local w = remove(queue, 1)
  if not w then return false end
  w.given = value
  w.woken:emit()
  return true
end

-- ---------------------------------------------------------------- one connection

local methods = {}
local mt = { __name = "luanet.Redis", __index = methods }

function mt:__tostring()
  if self._dead then return "luanet.Redis (closed)" end
  return format("luanet.Redis (%s:%d db %d)", self._s.host, self._s.port, self._s.db)
end

local function where(self) return format("%s:%d", self._s.host, self._s.port) end

-- Closes the connection for good after a failure; returns the failure.
local function fail(self, msg, kind)
  self._dead = msg
  self._sock:abort()
  self._buf, self._pos = "", 1
  return nil, format("%s: %s", where(self), msg), kind
end

-- Reads n replies, or fails. A reply is decoded again when more bytes
-- come, except when the decoder's lower bound (resp.decode's third value)
-- is more than FAR bytes off: then bytes are left in the socket's buffer
-- until the bound is there, so a large reply is copied and parsed a few
-- times, not once per read. (Garbage inside such a reply is seen when the
-- bound is reached, or the call times out.)
local FAR = 64 * 1024

local function read_replies(self, n, deadline)
  local sock = self._sock
  local buf, pos = self._buf, self._pos
  local out = {}
  for i = 1, n do
    while true do
      local v, why, least = resp.decode(buf, pos)
      if v ~= nil then
        out[i], pos = v, why
        break
      end
      if why ~= resp.MORE then return fail(self, "malformed reply: " .. why, "protocol") end
      local have = #buf - pos + 1
      local want = least - pos + 1
      if want - have <= FAR then want = have + 1 end
      while have + sock:bytesAvailable() < want do
        if sock:state() ~= "ConnectedState" then
          return fail(self, "the connection closed before the reply ended", "network")
        end
        local left = deadline - net.clock()
        if left <= 0 then return fail(self, "timed out waiting for a reply", "timeout") end
        sock:waitForReadyRead(left)
      end
      buf = (pos > #buf and "" or buf:sub(pos)) .. sock:readAll()
      pos = 1
    end
  end
  if pos > #buf then buf, pos = "", 1 end
  self._buf, self._pos = buf, pos
  return out
end

-- Sends wire (n commands) and reads their n replies, one task at a time
-- on a connection: another waits its turn until the deadline.
local function exchange(self, wire, n, deadline)
  if self._sub then
    return nil, format("%s: the connection is subscribed: (p)(un)subscribe only (Redis's subscribed mode)", where(self)), "network"
  end
  if self._dead then return nil, format("%s: the connection is closed (%s)", where(self), self._dead), "network" end
  if self._busy and not wait_hand(self._turns, deadline) then
    return nil, format("%s: timed out waiting for the connection's previous call", where(self)), "timeout"
  end
  self._busy = true
  local replies, err, kind
  if self._dead then   -- closed while we waited
    replies, err, kind = nil, format("%s: the connection is closed (%s)", where(self), self._dead), "network"
  elseif self._sock:write(wire) == false then
    replies, err, kind = fail(self, self._sock:errorString(), "network")
  else
    replies, err, kind = read_replies(self, n, deadline)
  end
  if not hand(self._turns, true) then self._busy = false end
  return replies, err, kind
end

local function connect_failed(self, deadline)
  local e = self._sock:error()
  local kind = e == "HostNotFoundError" and "dns" or e:match("^Ssl") and "tls"
    or (e == "SocketTimeoutError" or net.clock() >= deadline) and "timeout" or "network"
  return fail(self, self._sock:errorString(), kind)
end

-- A new connection with s's settings, authenticated and on its database.
local function open(s, deadline)
  local sock = net.TcpSocket()
  local self = setmetatable({ _s = s, _sock = sock, _buf = "", _pos = 1, _dead = false,
                              _busy = false, _turns = {} }, mt)
  local ok
  if s.tls then
    if type(s.tls) == "table" then
      local set, err = sock:setSslConfiguration(s.tls)
      if not set then return fail(self, err, "tls") end
    end
    sock:connectToHostEncrypted(s.host, s.port)
    ok = sock:waitForEncrypted(math.max(1, deadline - net.clock()))
  else
    sock:connectToHost(s.host, s.port)
    ok = sock:waitForConnected(math.max(1, deadline - net.clock()))
  end
  if not ok then return connect_failed(self, deadline) end
  -- AUTH and SELECT go in one write; a refusal is the server's text.
  local cmds = {}
  if s.password then
    cmds[1] = s.username and resp.encode({ "AUTH", s.username, s.password }) or resp.encode({ "AUTH", s.password })
  end
  if s.db ~= 0 then cmds[#cmds + 1] = resp.encode({ "SELECT", s.db }) end
  if #cmds > 0 then
    local replies, err, kind = exchange(self, concat(cmds), #cmds, deadline)
    if not replies then return nil, err, kind end
    for _, v in ipairs(replies) do
      if resp.is_error(v) then
        self._dead = "refused: " .. v.err
        sock:abort()
        return nil, v.err, "redis"
      end
    end
  end
  return self
end

--- Closes the connection (and a subscriber's reconnecting); every later
-- call fails with "network".
-- @function close
function methods:close()
  if not self._dead then
    self._dead = "closed by close()"
    self._sock:disconnectFromHost()
  end
end

function methods:_exchange(wire, n)
  return exchange(self, wire, n, net.clock() + self._s.timeout)
end

-- Whether an idle connection can serve: open, and nothing unasked for
-- has come from the server (that would be read as the next reply).
local function usable(self)
  return not self._dead and self._sock:state() == "ConnectedState" and self._sock:bytesAvailable() == 0
end

-- ---------------------------------------------------------------- call and pipeline

--- Sends one command and returns its reply.
-- Shared by a connection and a pool: both answer _exchange(wire, n).
-- @function call
-- @tparam string cmd "GET", "SET"...
-- @param ... its arguments: strings, or numbers (integers in decimal, floats in their shortest form); anything else raises
-- @return the reply (a nil reply: nil alone), or nil, message, kind (an error reply: nil, the server's text, "redis")
local function call(self, ...)
  local n = select("#", ...)
  local wire, err, at = resp.encode({ ... }, n)
  if not wire then error(format("bad argument #%d to 'call' (%s)", at, err), 2) end
  local replies, msg, kind = self:_exchange(wire, 1)
  if not replies then return nil, msg, kind end
  local v = replies[1]
  if v == false then return nil end
  if resp.is_error(v) then return nil, v.err, "redis" end
  return v
end

--- Sends every command in one write and returns the replies in order,
-- one per command: a failing command takes its slot (false for a nil
-- reply, { err = text, kind = "redis" } for an error reply) and the
-- others count. A failure of the connection fails the whole pipeline.
-- @function pipeline
-- @tparam {table,...} cmds { { "INCR", "n" }, { "GET", "k" } }
-- @treturn table the replies, or nil, message, kind
local function pipeline(self, cmds)
  if type(cmds) ~= "table" then error(format("bad argument #1 to 'pipeline' (table expected, got %s)", type(cmds)), 2) end
  local n = #cmds
  if n == 0 then return {} end
  local parts = {}
  for i = 1, n do
    local c = cmds[i]
    if type(c) ~= "table" then
      error(format("bad argument #1 to 'pipeline' (command %d: table expected, got %s)", i, type(c)), 2)
    end
    local wire, err, at = resp.encode(c)
    if not wire then error(format("bad argument #1 to 'pipeline' (command %d, argument %d: %s)", i, at, err), 2) end
    parts[i] = wire
  end
  return self:_exchange(concat(parts), n)
end

methods.call, methods.pipeline = call, pipeline

--- Connects (with AUTH and SELECT when the settings ask), suspending only this task.
-- net.Redis.connect(url or options) -> a connection, or nil, message, kind.
-- @function connect
-- @static
-- @tparam string|table what a URL, or options: url (a base), host (127.0.0.1), port (6379), username, password, db, timeout (ms, 10000, per call), tls (true, or setSslConfiguration's options)
-- @treturn Redis a connection, or nil, message, kind
function redis.connect(what)
  local s, err = settings(what, "connect")
  if not s then return nil, err, "url" end
  return open(s, net.clock() + s.timeout)
end

-- ---------------------------------------------------------------- the pool

local pool_methods = {}
local pool_mt = { __name = "luanet.RedisPool", __index = pool_methods }

function pool_mt:__tostring()
  if self._closed then return "luanet.RedisPool (closed)" end
  return format("luanet.RedisPool (%s:%d db %d, %d idle, %d busy of %d)", self._s.host, self._s.port, self._s.db,
                #self._idle, self._count - #self._idle, self._size)
end

-- Closes the idle connections that waited longer than idleTimeout (the
-- oldest are first in the list).
local function sweep(self)
  local idle, now = self._idle, net.clock()
  while idle[1] and now - idle[1].since >= self._idle_timeout do
    remove(idle, 1).conn:close()
    self._count = self._count - 1
  end
end

-- A connection for one call: the most recently used idle one, a new one
-- while fewer than size are open, else the first one handed back before
-- the deadline.
local function acquire(self, deadline)
  if self._closed then return nil, "the pool is closed", "network" end
  sweep(self)
  local idle = self._idle
  while #idle > 0 do
    local conn = remove(idle).conn
    if usable(conn) then
      conn._sock:ref()
      return conn
    end
    conn:close()
    self._count = self._count - 1
  end
  if self._count >= self._size then
    local given = wait_hand(self._waiters, deadline)
    if given == nil then
      return nil, format("%s:%d: timed out waiting for a free connection (%d busy)", self._s.host, self._s.port,
                         self._count), "timeout"
    end
    if given == false then return nil, "the pool is closed", "network" end
    if given ~= true then return given end
  else
    self._count = self._count + 1
  end
  -- A slot of our own (given true: one whose connection was dropped).
  local conn, err, kind = open(self._s, deadline)
  if not conn then self:_drop() end
  return conn, err, kind
end

-- A slot freed: to the first waiter (to open its own), else counted off.
function pool_methods:_drop()
  if self._closed or not hand(self._waiters, true) then self._count = self._count - 1 end
end

-- After a call: a connection whose replies were all read goes to a
-- waiter or the idle list; one that failed is already closed and dropped.
local function release(self, conn)
  if conn._dead or self._closed then
    conn:close()
    self:_drop()
  elseif not hand(self._waiters, conn) then
    conn._sock:unref()   -- as net.http's: an idle connection keeps no script running
    self._idle[#self._idle + 1] = { conn = conn, since = net.clock() }
  end
end

function pool_methods:_exchange(wire, n)
  local deadline = net.clock() + self._s.timeout
  local conn, err, kind = acquire(self, deadline)
  if not conn then return nil, err, kind end
  local replies
  replies, err, kind = exchange(conn, wire, n, deadline)
  release(self, conn)
  return replies, err, kind
end

--- A pooled call: takes an idle connection (or opens one, or waits for
-- one), then as Redis:call.
-- @function RedisPool:call
-- @within RedisPool
-- @tparam string cmd
-- @param ...
-- @return as Redis:call

--- A pooled pipeline, as Redis:pipeline.
-- @function RedisPool:pipeline
-- @within RedisPool
-- @tparam {table,...} cmds
-- @treturn table as Redis:pipeline
pool_methods.call, pool_methods.pipeline = call, pipeline

--- Closes the pool: the idle connections now; busy ones close when their call ends, and
-- tasks waiting for one fail.
-- @function RedisPool:close
-- @within RedisPool
function pool_methods:close()
  if self._closed then return end
  self._closed = true
  for _, entry in ipairs(self._idle) do entry.conn:close() end
  self._count = self._count - #self._idle
  self._idle = {}
  while hand(self._waiters, false) do end
end

--- A pool of connections: net.Redis.pool(url or options [, { size = N, idleTimeout = ms }]) -> a
-- pool, or nil, why and "url"; connections are opened when calls need them.
-- @function pool
-- @static
-- @tparam string|table what as connect's
-- @tparam[opt] table options size (10), idleTimeout (ms, 60000)
-- @treturn RedisPool the pool, or nil, why, "url"
function redis.pool(what, opts)
  local s, err = settings(what, "pool")
  if not s then return nil, err, "url" end
  if opts ~= nil and type(opts) ~= "table" then
    error(format("bad argument #2 to 'pool' (table expected, got %s)", type(opts)), 2)
  end
  opts = opts or {}
  local size, idle_timeout = opts.size or DEFAULT_POOL_SIZE, opts.idleTimeout or DEFAULT_IDLE_TIMEOUT
  if math.type(size) ~= "integer" or size < 1 then error("bad option 'size' to 'pool' (an integer >= 1 expected)", 2) end
  if type(idle_timeout) ~= "number" or idle_timeout < 0 then
    error("bad option 'idleTimeout' to 'pool' (ms >= 0 expected)", 2)
  end
  return setmetatable({ _s = s, _size = size, _idle_timeout = idle_timeout, _idle = {}, _count = 0,
                        _waiters = {}, _closed = false }, pool_mt)
end

-- Pub/sub (subscribe, psubscribe, the message and pmessage signals, the
-- reconnects): luanet.redis.pubsub.
mt.__index = require("luanet.redis.pubsub")(redis, methods, { open = open, where = where })

redis.methods, redis.mt = methods, mt
redis.pool_methods, redis.pool_mt = pool_methods, pool_mt

return redis
