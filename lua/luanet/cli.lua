-- luanet.cli: what the runnable scripts in scripts/ share: command-line
-- parsing (with --help), failing with a message, the "server is running"
-- line, and running a main function both under luanetd (the main chunk is
-- a task and the loop runs after it) and under a stock lua5.4 (the script
-- must run the loop itself).
--
--   local USAGE = "echo_server.lua [--host H] [--port P]"
--   local function main(...)
--     local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0 }, ...)
--     local server, err = cli.listen(opts)
--     if not server then cli.fail(err) end
--     ...
--   end
--   cli.run(main, ...)
--
-- Every script answers --help and -h with "usage: USAGE" on stdout and
-- exits 0, before it opens anything; a bad command line exits 2 with the
-- message and the usage on stderr.
--
-- The same scripts run as services of the daemon (luanetd -c FILE): then
-- `...` is the service table, the options come from its config block's
-- `options`, and the server is the listener the daemon opened. There a
-- failure must not print or exit (stderr is the daemon's log, and the
-- process is the daemon's): cli.fail raises the message instead, and the
-- daemon logs it ("failed to start: MESSAGE").
local net = require "luanet"

local cli = {}

-- Set by cli.run for a script run from a command line. Until then a
-- failure raises: a script that did not come through cli.run may be
-- running inside the daemon, which os.exit would end.
local from_command_line = false

-- What every failure comes to: from a command line, the message (and the
-- usage, for a bad command line) on stderr and the exit code; in a
-- service, an error with the message.
local function give_up(message, code, usage)
  if not from_command_line then
    error(usage and ("%s (usage: %s)"):format(message, usage) or message, 0)
  end
  io.stderr:write(message, "\n")
  if usage then io.stderr:write("usage: ", usage, "\n") end
  os.exit(code)
end

-- The script cannot go on: "message" and exit `code` (default 1) from a
-- command line; a service raises the message. Works in main and in slots.
function cli.fail(message, code)
  give_up(message, code or 1)
end

-- A bad option or argument: as cli.fail with exit code 2, the usage after
-- the message.
function cli.usage_error(usage, message)
  give_up(message, 2, usage)
end

-- "usage: USAGE" on stdout, and exit 0: what --help and -h do.
function cli.help(usage)
  io.stdout:write("usage: ", usage, "\n")
  os.exit(0)
end

-- Whether arg asks for the usage; for a script that reads an argument
-- itself before the parser sees the rest (freespace.lua's command).
function cli.is_help(arg)
  return arg == "--help" or arg == "-h"
end

-- "--name" and "-n" (one letter) -> "name", "n"; nil for a non-option.
local function option_name(arg)
  if type(arg) ~= "string" then return nil end
  return arg:match("^%-%-(.+)$") or arg:match("^%-(%a)$")
end

-- Splits a command line into its positional arguments (in order) and its
-- options. `takes_value`: option name -> true for "--name VALUE" (the
-- value is the next argument, whatever it looks like), false for a bare
-- "--name" (given: true). --help or -h where an option may stand wins
-- over any mistake around it: the usage, exit 0. Otherwise an unknown
-- option or a missing value is a usage error.
function cli.parse(usage, takes_value, ...)
  local positionals, given, mistake, help = {}, {}, nil, false
  local args = table.pack(...)
  local i = 1
  while i <= args.n do
    local arg = args[i]
    local name = option_name(arg)
    if cli.is_help(arg) then
      help = true
    elseif name == nil then
      positionals[#positionals + 1] = arg
    elseif takes_value[name] == nil then
      mistake = mistake or "unknown option " .. arg
    elseif not takes_value[name] then
      given[name] = true
    elseif i == args.n then
      mistake = mistake or "missing value for " .. arg
    else
      given[name], i = args[i + 1], i + 1
    end
    i = i + 1
  end
  if help then cli.help(usage) end
  if mistake then cli.usage_error(usage, mistake) end
  return positionals, given
end

local function check_port(usage, text)
  local port = math.tointeger(tonumber(text))
  if not port or port < 0 or port > 65535 then cli.usage_error(usage, "bad port " .. tostring(text)) end
  return port
end

local SERVICE = {}   -- the key under which opts keeps a service table

-- A service's options over the defaults; a name not in defaults raises.
local function service_options(usage, defaults, service)
  local opts = {}
  for k, v in pairs(defaults) do opts[k] = v end
  for k, v in pairs(service.options) do
    if defaults[k] == nil then
      cli.usage_error(usage, ("service %s: unknown option %s"):format(service.name, tostring(k)))
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
  local takes_value = {}
  for name in pairs(defaults) do takes_value[name] = true end
  local extra, given = cli.parse(usage, takes_value, ...)
  if extra[1] ~= nil then cli.usage_error(usage, "unexpected " .. tostring(extra[1])) end
  local opts = {}
  for k, v in pairs(defaults) do opts[k] = v end
  for name, value in pairs(given) do
    if name == "host" and net.HostAddress(value):isNull() then
      cli.usage_error(usage, "not an IP address: " .. value)
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

function cli.host_port_flags(usage, flags, ...)
  local takes_value = {}
  for name, bare in pairs(flags) do takes_value[name] = not bare end
  local positionals, given = cli.parse(usage, takes_value, ...)
  local host, port, extra = table.unpack(positionals, 1, 3)
  if not host or not port then cli.usage_error(usage, "expected HOST PORT") end
  if extra then cli.usage_error(usage, "unexpected " .. tostring(extra)) end
  return host, check_port(usage, port), given
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

-- For a service's long-lived connections (WebSockets): once `stopping`
-- (a reload or a shutdown) has come, calls fn shortly before the drain
-- time (service.shutdownTimeout) is up, so that they end with a word of
-- their own (a close frame with 1001) rather than be cut by the daemon.
-- Nothing outside the daemon.
function cli.before_drain_ends(service, fn)
  if type(service) ~= "table" or not service.stopping then return end
  service.stopping:connect(function()
    local drain = service.shutdownTimeout or 0
    net.Timer.singleShot(math.max(0, drain - math.min(1000, drain / 10)), fn)
  end)
end

-- Runs main(...) as a script's body. A number it returns is the exit code;
-- nil leaves the process to the loop (it ends when nothing is left).
-- Failures should go through cli.fail; a service whose main returns a
-- non-zero code fails with a message that says only that.
function cli.run(main, ...)
  io.stdout:setvbuf("line")
  local service = type((...)) == "table" and (...) or nil
  from_command_line = not service
  local code = main(...)
  if service then                    -- a failure is an error the daemon logs
    if code and code ~= 0 then error(("%s: main returned %d"):format(service.name, code), 0) end
  elseif coroutine.isyieldable() then   -- under luanetd: the loop runs after us
    if code then net.quit(code) end
  else                               -- a stock lua5.4: run the loop here
    os.exit(code or net.exec())
  end
end

return cli
