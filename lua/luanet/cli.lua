-- luanet.cli: what the runnable scripts in scripts/ share: option parsing,
-- the "server is running" line, and running a main function both under
-- luanetd (the main chunk is a task and the loop runs after it) and under
-- a stock lua5.4 (the script must run the loop itself).
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

-- Parses "--name value" pairs into a copy of `defaults`. --host must be an
-- IP address and --port a port number; other names must be in defaults.
function cli.options(usage, defaults, ...)
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

-- HOST PORT, and nothing more.
function cli.host_port(usage, host, port, ...)
  if not host or select("#", ...) > 0 then usage_error(usage, "expected HOST PORT") end
  return host, check_port(usage, port)
end

-- Listens as opts say and prints Qt's example line with the real port;
-- nil and a message when the address cannot be had.
function cli.listen(opts)
  local server = net.TcpServer()
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
  if coroutine.isyieldable() then   -- under luanetd: the loop runs after us
    if code then net.quit(code) end
  else                               -- a stock lua5.4: run the loop here
    os.exit(code or net.exec())
  end
end

return cli
