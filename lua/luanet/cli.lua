-- luanet.cli: what the runnable scripts in scripts/ share: option parsing,
-- the "server is running" line, and running a main function both under
-- luanetd (the main chunk is a task and the loop runs after it) and under
-- a stock lua5.4 (the script must run the loop itself).
--
-- The same scripts run as services of the daemon (luanetd -c FILE): then
-- `...` is the service table, the options come from its config block's
-- `options`, and the server is the listener the daemon opened.
local net = require "luanet"

local cli = {}

local function usage_error(usage, msg)
  io.stderr:write(("%s\nusage: %s\n"):format(msg, usage))
  os.exit(2)
end

local function check_port(usage, text)
  local port = math.tointeger(tonumber(text))
  if not port or port < 0 or port > 65535 then usage_error(usage, "bad port " .. tostring(text)) end
  return port
end

local SERVICE = {}   -- the key under which opts keeps a service table

-- A service's options over the defaults; a name not in defaults raises.
local function service_options(usage, defaults, service)
  local opts = {}
  for k, v in pairs(defaults) do opts[k] = v end
  for k, v in pairs(service.options) do
    if defaults[k] == nil then
      error(("service %s: unknown option %s (usage: %s)"):format(service.name, tostring(k), usage), 0)
    end
    opts[k] = v
  end
  opts[SERVICE] = service
  return opts
end

-- Parses "--name value" pairs into a copy of `defaults`. --host must be an
-- IP address and --port a port number; other names must be in defaults.
-- Under the daemon (a service table instead of strings) the options come
-- from the config.
function cli.options(usage, defaults, ...)
  if type((...)) == "table" then return service_options(usage, defaults, (...)) end
  local opts = {}
  for k, v in pairs(defaults) do opts[k] = v end
  local args = table.pack(...)
  for i = 1, args.n, 2 do
    local flag, value = args[i], args[i + 1]
    local name = type(flag) == "string" and flag:match("^%-%-(.+)$")
    if not name or defaults[name] == nil then usage_error(usage, "unknown option " .. tostring(flag)) end
    if value == nil then usage_error(usage, "missing value for " .. flag) end
    if name == "host" and net.HostAddress(value):isNull() then
      usage_error(usage, "not an IP address: " .. value)
    end
    opts[name] = name == "port" and check_port(usage, value) or value
  end
  return opts
end

-- HOST PORT, and nothing more; with `flags` (name -> true for a bare
-- flag, false for one that takes a value), those may follow, and come
-- back as a table: --tls --cacert FILE -> { tls = true, cacert = FILE }.
function cli.host_port(usage, host, port, ...)
  return cli.host_port_flags(usage, {}, host, port, ...)
end

function cli.host_port_flags(usage, flags, host, port, ...)
  if not host or not port then usage_error(usage, "expected HOST PORT") end
  local got, args = {}, table.pack(...)
  local i = 1
  while i <= args.n do
    local name = type(args[i]) == "string" and args[i]:match("^%-%-(.+)$")
    if flags[name] == nil then usage_error(usage, "unexpected " .. tostring(args[i])) end
    if flags[name] then
      got[name], i = true, i + 1
    else
      if args[i + 1] == nil then usage_error(usage, "missing value for " .. args[i]) end
      got[name], i = args[i + 1], i + 2
    end
  end
  return host, check_port(usage, port), got
end

-- Connects sock to host:port, encrypted when opts.tls (trusting
-- opts.cacert when given, else the system store).
function cli.connect(sock, host, port, opts)
  if opts.tls then
    if opts.cacert then sock:setCaCertificates(opts.cacert) end
    sock:connectToHostEncrypted(host, port)
  else
    sock:connectToHost(host, port)
  end
end

-- Listens as opts say and prints Qt's example line with the real port;
-- nil and a message when the address cannot be had or a certificate not
-- read. With opts.cert (and opts.key: --cert FILE --key FILE) every
-- connection is encrypted (TLS; ALPN opts.alpn when given). A service
-- takes its first listener, which the daemon opened and announced (and
-- encrypted, for a tls:// one).
function cli.listen(opts)
  local service = opts[SERVICE]
  if service then
    local server = service.listeners[1]
    if not server or not server.nextPendingConnection then
      return nil, ("service %s needs a tcp:// or unix: listener"):format(service.name)
    end
    return server
  end
  local server = net.TcpServer()
  if opts.cert then
    local ok, err = server:setSslConfiguration{ cert = opts.cert, key = opts.key or opts.cert, alpn = opts.alpn }
    if not ok then return nil, ("Unable to start the server: %s."):format(err) end
  elseif opts.key then
    return nil, "--key without --cert"
  end
  if not server:listen(opts.host, opts.port) then
    return nil, ("Unable to start the server: %s."):format(server:errorString())
  end
  print(("The server is running on IP: %s port: %d"):format(
    server:serverAddress():toString(), server:serverPort()))
  return server
end

-- Runs main(...) as a script's body. A number it returns is the exit code;
-- nil leaves the process to the loop (it ends when nothing is left).
function cli.run(main, ...)
  io.stdout:setvbuf("line")
  local code = main(...)
  if type((...)) == "table" then     -- a service: a failure is an error the daemon logs
    if code and code ~= 0 then error(("%s: main returned %d"):format((...).name, code), 0) end
  elseif coroutine.isyieldable() then   -- under luanetd: the loop runs after us
    if code then net.quit(code) end
  else                               -- a stock lua5.4: run the loop here
    os.exit(code or net.exec())
  end
end

return cli
