-- scripts/freespace.lua: the discovery protocol of QtNetwork's overview.
-- An asker broadcasts one query; every responder answers with its host name
-- and the free bytes of its directory; the asker lists the answers and
-- picks the host with the most free space. The wire format is
-- luanet.discovery's (lua/luanet/discovery.lua).
--
--   luanetd scripts/freespace.lua serve [--path DIR] [--port P] [--host ADDR]
--   luanetd scripts/freespace.lua ask [--address A] [--port P] [--wait MS]
--
-- serve binds --host (default 0.0.0.0: a socket bound to one address does
-- not hear broadcasts) and --port (default 45455), shared, so that several
-- responders can run on one host; it prints the example servers' first
-- line with the real port, then answers each query with statvfs(--path,
-- default ".").free, to the address and port the query came from.
-- Malformed datagrams get no answer. --free-bytes N answers N instead of
-- the real figure: it is for tests, which cannot give two responders on one
-- file system different free space.
--
-- ask binds an ephemeral port, broadcasts one query with a random id to
-- --address (default 127.255.255.255, loopback's broadcast address; never
-- 255.255.255.255 unless asked for) port --port, and collects answers for
-- --wait ms (default 1000). It drops malformed answers, answers to another
-- query id, and repeated datagrams (the same bytes from the same sender;
-- responders on one host share its address and port, so the sender alone
-- does not tell them apart). Then it prints one line per answer, in
-- arrival order, "HOST ADDR FREE_BYTES", and "Best: HOST ADDR FREE_BYTES"
-- (the first of equals wins), and exits 0. With no answer it says so on
-- stderr and exits 1.
local net = require "luanet"
local cli = require "luanet.cli"
local discovery = require "luanet.discovery"

local USAGE = "freespace.lua serve [--path DIR] [--port P] [--host ADDR]\n"
  .. "       freespace.lua ask [--address A] [--port P] [--wait MS]"

local SHARED = { "ShareAddress", "ReuseAddressHint" }

-- A non-negative integer option, or a usage error.
local function count_option(name, text)
  local n = math.tointeger(tonumber(text))
  if not n or n < 0 then cli.usage_error(USAGE, ("bad %s %s"):format(name, tostring(text))) end
  return n
end

-- This host's name: QHostInfo::localHostName where the core has it; the
-- kernel's (per UTS namespace) otherwise.
local function local_host_name()
  if net.HostInfo and net.HostInfo.localHostName then return net.HostInfo.localHostName() end
  local f, err = io.open("/proc/sys/kernel/hostname")
  if not f then return nil, err end
  local name = f:read("l")
  f:close()
  return name
end

-- A 32-bit query id nobody can guess from the time or the pid.
local function random_id()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(4)
  if f then f:close() end
  if bytes and #bytes == 4 then return (string.unpack(">I4", bytes)) end
  return math.random(0, discovery.MAX_ID)
end

local function serve(...)
  local opts = cli.options(USAGE, { path = ".", port = discovery.DEFAULT_PORT, host = "0.0.0.0",
    ["free-bytes"] = false }, ...)
  local fixed = opts["free-bytes"] and count_option("--free-bytes", opts["free-bytes"])

  local host, err = local_host_name()
  if not host then cli.fail("Unable to read the host name: " .. tostring(err)) end
  local ok, problem = discovery.valid_host(host)
  if not ok then cli.fail(("The host name %q cannot go in an answer: %s."):format(host, problem)) end

  -- The free bytes to answer with, or nil and why there are none.
  local function free_bytes()
    if fixed then return fixed end
    local st, msg = net.statvfs(opts.path)
    if not st then return nil, msg end
    return st.free
  end
  local _, statvfs_err = free_bytes()
  if statvfs_err then cli.fail("Unable to read the free space: " .. statvfs_err) end

  local sock = net.UdpSocket()
  if not sock:bind(opts.host, opts.port, SHARED) then
    cli.fail(("Unable to start the server: %s."):format(sock:errorString()))
  end
  print(("The server is running on IP: %s port: %d"):format(opts.host, sock:localPort()))

  sock.readyRead:connect(function()
    while sock:hasPendingDatagrams() do
      local data, addr, port = sock:readDatagram()
      if not data then break end
      local id = discovery.decode_query(data)
      if id then
        local free, why = free_bytes()
        if free then
          sock:writeDatagram(discovery.encode_answer(id, host, free), addr, port)
        else
          io.stderr:write("Unable to read the free space: ", why, "\n")
        end
      end
    end
  end)
end

local function ask(...)
  local opts = cli.options(USAGE, { address = "127.255.255.255", port = discovery.DEFAULT_PORT,
    wait = 1000 }, ...)
  local address = net.HostAddress(opts.address)
  if address:isNull() then cli.usage_error(USAGE, "not an IP address: " .. opts.address) end
  local wait = count_option("--wait", opts.wait)

  local sock = net.UdpSocket()
  if not sock:bind("0.0.0.0", 0) then cli.fail(("Unable to bind: %s."):format(sock:errorString())) end
  local id = random_id()
  local answers, seen = {}, {}

  local function collect()
    while sock:hasPendingDatagrams() do
      local data, addr, port = sock:readDatagram()
      if not data then break end
      local ans = discovery.decode_answer(data)
      local key = ans and ("%s %d %s"):format(addr:toString(), port, data)
      if ans and ans.id == id and not seen[key] then
        seen[key] = true
        ans.addr = addr:toString()
        answers[#answers + 1] = ans
      end
    end
  end

  local function report()
    collect()
    sock:close()
    if #answers == 0 then
      cli.fail(("No answer to the query on %s port %d within %d ms."):format(opts.address, opts.port, wait))
    end
    local best = answers[1]
    for _, ans in ipairs(answers) do
      print(("%s %s %d"):format(ans.host, ans.addr, ans.free))
      if ans.free > best.free then best = ans end
    end
    print(("Best: %s %s %d"):format(best.host, best.addr, best.free))
    return 0
  end

  sock.readyRead:connect(collect)
  if not sock:writeDatagram(discovery.encode_query(id), address, opts.port) then
    local msg = ("Unable to send the query to %s port %d: %s."):format(opts.address, opts.port,
      sock:errorString())
    sock:close()
    cli.fail(msg)
  end
  net.Timer.singleShot(wait, function() net.quit(report()) end)
end

local function main(command, ...)
  if command == "serve" then return serve(...) end
  if command == "ask" then return ask(...) end
  if cli.is_help(command) then cli.help(USAGE) end
  cli.usage_error(USAGE, command and ("unknown command " .. tostring(command)) or "missing command")
end

cli.run(main, ...)
