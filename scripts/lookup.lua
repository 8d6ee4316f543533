-- scripts/lookup.lua: looks names up, as Qt's QHostInfo does, through the
-- daemon's resolver (c-ares on the loop: /etc/hosts, then DNS).
--
--   luanetd scripts/lookup.lua NAME... [--server ADDR:PORT] [--type A|AAAA|any]
--
-- For a name, one line "NAME ADDR ADDR ..."; for an address, a reverse
-- lookup: "ADDR NAME". A name that does not exist prints "NAME: Host not
-- found" on stderr. Exits 0 when every lookup succeeded, else 1. The
-- lookups run at once, and the lines come in the order of the arguments.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "lookup.lua NAME... [--server ADDR:PORT] [--type A|AAAA|any]"

local function parse(...)
  local names, opts = cli.parse(USAGE, { server = true, type = true }, ...)
  opts.type = opts.type or "any"
  if #names == 0 then cli.usage_error(USAGE, "no name to look up") end
  if opts.type ~= "any" and opts.type ~= "A" and opts.type ~= "AAAA" then
    cli.usage_error(USAGE, "--type is A, AAAA or any")
  end
  return names, opts
end

local function line_for(name, info)
  if info:error() ~= "NoError" then return nil, ("%s: %s"):format(name, info:errorString()) end
  if not net.HostAddress(name):isNull() then   -- a reverse lookup
    return ("%s %s"):format(name, info:hostName())
  end
  local addrs = {}
  for i, a in ipairs(info:addresses()) do addrs[i] = a:toString() end
  return ("%s %s"):format(name, table.concat(addrs, " "))
end

local function main(...)
  local names, opts = parse(...)
  if opts.server then net.HostInfo.setNameServers({ opts.server }) end
  local results, pending = {}, #names
  local done = net.Signal()
  for i, name in ipairs(names) do
    net.HostInfo.lookupHost(name, function(info)
      results[i] = info
      pending = pending - 1
      if pending == 0 then done:emit() end
    end, opts.type)
  end
  done:connect(function()
    local failed = false
    for i, name in ipairs(names) do
      local line, err = line_for(name, results[i])
      if line then print(line) else io.stderr:write(err, "\n"); failed = true end
    end
    net.quit(failed and 1 or 0)
  end)
end

cli.run(main, ...)
