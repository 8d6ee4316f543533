-- luanet.hostinfo: QHostInfo over the core's c-ares resolver (net._dns).
-- Lookups never block the loop: lookupHost calls its slot, in a task, when
-- the answer is in; fromName suspends only the calling task (or runs the
-- loop nested under a stock lua5.4). A literal address is looked up in
-- reverse (PTR), as Qt does. Answers are cached until their TTL ends; a
-- name that does not exist is cached for 5 s; PTR answers are not cached
-- (see daemon/io/dns.c). Beyond Qt: an optional family ("A", "AAAA" or
-- "any", the default), the name servers, and the cache switch.
local core = require "luanet.core"
local dns = core._dns

local HostInfo = {
  NoError = "NoError", HostNotFound = "HostNotFound", UnknownError = "UnknownError",
}

local methods = {}
local mt = { __name = "luanet.HostInfo", __index = methods }

function mt:__tostring()
  return ("luanet.HostInfo (%s: %s)"):format(self._name, self._error)
end

local function new_info(id, result)
  return setmetatable({
    _id = id, _name = result.name, _error = result.error,
    _errorString = result.errorString, _addresses = result.addresses,
  }, mt)
end

-- The addresses as HostAddress objects, in the resolver's order.
function methods:addresses()
  local list = {}
  for i, text in ipairs(self._addresses) do list[i] = core.HostAddress(text) end
  return list
end

function methods:hostName() return self._name end
function methods:error() return self._error end
function methods:errorString() return self._errorString end
function methods:lookupId() return self._id end

local FAMILIES = { any = true, A = true, AAAA = true }

local function check_name(name, fname)
  if type(name) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(name)), 3)
  end
end

local function check_family(family, n, fname)
  if family ~= nil and not FAMILIES[family] then
    error(("bad argument #%d to '%s' (invalid family '%s')"):format(n, fname, tostring(family)), 3)
  end
end

local pending = {}   -- lookup id -> query, for abortHostLookup

-- HostInfo.lookupHost(name, slot [, family]) -> id; slot(info) later.
function HostInfo.lookupHost(name, slot, family)
  check_name(name, "lookupHost")
  if type(slot) ~= "function" and not (getmetatable(slot) or {}).__call then
    error(("bad argument #2 to 'lookupHost' (function expected, got %s)"):format(type(slot)), 2)
  end
  check_family(family, 3, "lookupHost")
  local query = dns.lookup(name, family, function(query)
    local id = query:id()
    pending[id] = nil
    slot(new_info(id, query:result()))
  end)
  pending[query:id()] = query
  return query:id()
end

-- After this the lookup's slot is never called.
function HostInfo.abortHostLookup(id)
  local query = pending[id]
  if query then
    pending[id] = nil
    query:abort()
  end
end

-- HostInfo.fromName(name [, family]) -> info, suspending only this task.
function HostInfo.fromName(name, family)
  check_name(name, "fromName")
  check_family(family, 2, "fromName")
  local query = dns.lookup(name, family)
  query:wait()
  return new_info(query:id(), query:result())
end

HostInfo.localHostName = dns.localHostName

function HostInfo.localDomainName() return "" end

-- HostInfo.setNameServers{"127.0.0.1:5354", ...} [, { timeout = ms, tries = n }]:
-- nil goes back to /etc/resolv.conf. Lookups in flight end with an error.
function HostInfo.setNameServers(servers, opts)
  opts = opts or {}
  local csv
  if servers ~= nil then
    if type(servers) ~= "table" then
      error(("bad argument #1 to 'setNameServers' (table expected, got %s)"):format(type(servers)), 2)
    end
    csv = table.concat(servers, ",")
  end
  dns.setServers(csv, opts.timeout, opts.tries)
end

HostInfo.setCacheEnabled = dns.setCacheEnabled
HostInfo.flushCache = dns.flushCache

return HostInfo
