-- scripts/broadcast_sender.lua: Qt's Broadcast Sender example. Every
-- interval (a second by default) it sends "Broadcast message N", N from 1,
-- to the broadcast address on port 45454 and prints "Now broadcasting
-- datagram N". The socket binds itself on its first writeDatagram, as Qt's
-- does, and broadcasts without further setup.
--
--   luanetd scripts/broadcast_sender.lua [--address A] [--port P]
--                                        [--interval MS] [--count N]
--
-- --address defaults to 127.255.255.255, loopback's broadcast address, so
-- that a run on a desk never floods a real network; give a subnet's
-- broadcast address to reach other hosts. --count N stops after N
-- datagrams (0, the default, never stops).
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "broadcast_sender.lua [--address A] [--port P] [--interval MS] [--count N]"

-- A whole number of at least `min` from an option's text, or nil.
local function whole(text, min)
  local n = math.tointeger(tonumber(text))
  return n and n >= min and n or nil
end

local function main(...)
  local opts = cli.options(USAGE, { address = "127.255.255.255", port = 45454,
                                    interval = "1000", count = "0" }, ...)
  local address = net.HostAddress(opts.address)
  if address:isNull() then cli.usage_error(USAGE, "not an IP address: " .. opts.address) end
  local interval, count = whole(opts.interval, 1), whole(opts.count, 0)
  if not interval then cli.usage_error(USAGE, "bad interval " .. tostring(opts.interval)) end
  if not count then cli.usage_error(USAGE, "bad count " .. tostring(opts.count)) end

  local socket = net.UdpSocket()
  local timer = net.Timer()
  local message_no = 1

  local function broadcast_datagram()
    print(("Now broadcasting datagram %d"):format(message_no))
    local datagram = "Broadcast message " .. message_no
    if not socket:writeDatagram(datagram, address, opts.port) then
      io.stderr:write(("Unable to send datagram %d: %s\n"):format(message_no, socket:errorString()))
    end
    message_no = message_no + 1
    if count > 0 and message_no > count then   -- done: nothing is left, the process ends
      timer:stop()
      socket:close()
    end
  end

  timer.timeout:connect(broadcast_datagram)
  timer:start(interval)
  broadcast_datagram()   -- the first at once, as the example's Start button does
end

cli.run(main, ...)
