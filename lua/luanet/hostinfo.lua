--- luanet.hostinfo: QHostInfo over the core's c-ares resolver (net._dns).
-- Lookups never block the loop: lookupHost calls its slot, in a task, when
-- the answer is in; fromName suspends only the calling task (or runs the
-- loop nested under a stock lua5.4). A literal address is looked up in
-- reverse (PTR), as Qt does. Answers are cached until their TTL ends; a
-- name that does not exist is cached for 5 s; PTR answers are not cached
-- (see daemon/io/dns.c). Beyond Qt: an optional family ("A", "AAAA" or
-- "any", the default), the name servers, and the cache switch.
--
-- net.HostInfo is the class table (lookupHost, fromName...); a lookup's
-- result is a HostInfo object with the methods below.
-- @classmod HostInfo
-- @qt QHostInfo
-- @usage net.HostInfo.lookupHost("example.org", function(info)
--   if info:error() ~= "NoError" then return print(info:errorString()) end
--   for _, a in ipairs(info:addresses()) do print(a:toString()) end
-- end)
-- local info = net.HostInfo.fromName("localhost")   -- in a task: only it waits
local core = require "luanet.core"
local dns = core._dns

--- A lookup's result, as error() gives it (constants of net.HostInfo).
-- @enum HostInfoError
-- @field NoError Qt: 0
-- @field HostNotFound Qt: 1, "Host not found": the name does not exist
-- @field UnknownError Qt: 2, any other failure (no server answered, a bad name)
-- @qt QHostInfo::HostInfoError
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

--- The addresses as HostAddress objects, in the resolver's order.
-- @function addresses
-- @treturn {HostAddress,...} empty when the lookup failed
-- @qt QHostInfo::addresses
function methods:addresses()
  local list = {}
  for i, text in ipairs(self._addresses) do list[i] = core.HostAddress(text) end
  return list
end

--- The name looked up (for a reverse lookup, the name found).
-- @function hostName
-- @treturn string
-- @qt QHostInfo::hostName
function methods:hostName() return self._name end
--- The lookup's error.
-- @function error
-- @treturn string a HostInfoError name
-- @qt QHostInfo::error
function methods:error() return self._error end
--- The lookup's error as text ("Host not found").
-- @function errorString
-- @treturn string
-- @qt QHostInfo::errorString
function methods:errorString() return self._errorString end
--- The id lookupHost returned for this lookup.
-- @function lookupId
-- @treturn integer
-- @qt QHostInfo::lookupId
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

--- Looks a name up (an address: in reverse) and calls slot(info), in a
-- task, with the result; never blocks the loop.
-- @function lookupHost
-- @static
-- @tparam string name
-- @tparam function slot
-- @tparam[opt="any"] string family "A", "AAAA" or "any"
-- @treturn integer the lookup's id, for abortHostLookup
-- @qt QHostInfo::lookupHost
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

--- Abandons a lookup: its slot is never called.
-- @function abortHostLookup
-- @static
-- @tparam integer id lookupHost's
-- @qt QHostInfo::abortHostLookup
function HostInfo.abortHostLookup(id)
  local query = pending[id]
  if query then
    pending[id] = nil
    query:abort()
  end
end

--- Looks a name up and returns the result, suspending only this task (a
-- stock lua5.4's main chunk runs the loop nested meanwhile).
-- @function fromName
-- @static
-- @tparam string name
-- @tparam[opt="any"] string family "A", "AAAA" or "any"
-- @treturn HostInfo
-- @qt QHostInfo::fromName
function HostInfo.fromName(name, family)
  check_name(name, "fromName")
  check_family(family, 2, "fromName")
  local query = dns.lookup(name, family)
  query:wait()
  return new_info(query:id(), query:result())
end

--- This machine's host name (gethostname).
-- @function localHostName
-- @static
-- @treturn string
-- @qt QHostInfo::localHostName
HostInfo.localHostName = dns.localHostName

--- The local DNS domain: always "" (Qt reads it from resolv.conf).
-- @function localDomainName
-- @static
-- @treturn string
-- @qt QHostInfo::localDomainName
function HostInfo.localDomainName() return "" end

--- Sets the name servers: HostInfo.setNameServers{"127.0.0.1:5354", ...} [, { timeout = ms, tries = n }]:
-- nil goes back to /etc/resolv.conf. Lookups in flight end with an error.
-- @function setNameServers
-- @static
-- @tparam {string,...}|nil servers "address" or "address:port" each
-- @tparam[opt] table options { timeout = ms, tries = n }
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

--- Turns the answer cache on (the default) or off.
-- @function setCacheEnabled
-- @static
-- @tparam boolean enabled
HostInfo.setCacheEnabled = dns.setCacheEnabled
--- Empties the answer cache.
-- @function flushCache
-- @static
HostInfo.flushCache = dns.flushCache

return HostInfo
