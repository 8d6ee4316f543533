-- spec/support/dns_helper.lua: a real DNS server for specs: dnsmasq on a
-- loopback port picked at run time, answering only for the test domain
-- (--local=/test/) and forwarding nowhere.
local helper = require "helper"

local dns = {}

local DNSMASQ = "/usr/sbin/dnsmasq"

-- Starts dnsmasq with the given --host-record values ("name,addr,...,ttl")
-- on a free port (or `port`); returns the process and "127.0.0.1:PORT".
function dns.start(records, port)
  for _ = 1, 20 do
    local p = port or math.random(20000, 30000)
    local args = { DNSMASQ, "-k", "--no-resolv", "--no-hosts", "--bind-interfaces",
      "--listen-address=127.0.0.1", "--port=" .. p, "--local=/test/", "--log-facility=-" }
    for _, r in ipairs(records) do args[#args + 1] = helper.quote("--host-record=" .. r) end
    local proc = helper.spawn(table.concat(args, " "))
    helper.run(3000, function() return proc.stderr():find("started", 1, true) or proc.exit_code() end)
    if proc.exit_code() == nil and proc.stderr():find("started", 1, true) then
      return proc, "127.0.0.1:" .. p
    end
    proc.cleanup()
    if port then break end
  end
  error("dnsmasq did not start")
end

-- A name server that never answers: a bound UDP port that nobody reads.
-- Returns the process (cleanup() ends it) and "127.0.0.1:PORT".
function dns.silent()
  local proc = helper.spawn([[env -u LD_PRELOAD /usr/bin/python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(60)"]])
  local port = proc.wait_line("(%d+)\n")
  if not port then
    proc.cleanup()
    error("the silent name server did not start")
  end
  return proc, "127.0.0.1:" .. port
end

return dns
