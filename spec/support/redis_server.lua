-- spec/support/redis_server.lua: redis-server (the Debian package) for the
-- specs, in the foreground on a free loopback port with no persistence,
-- by PID.
local helper = require "helper"
local core = require "support.core_helper"

local M = { PATH = "/usr/bin/redis-server" }

function M.installed() return helper.installed(M.PATH) end

-- Starts redis-server in dir with extra arguments, on port (default: a
-- free one; the only, TLS, one when tls_only); returns the port and a stop
-- function.
function M.start(dir, extra, tls_only, port)
  port = port or core.free_port()
  local args = { M.PATH, "--port", tostring(tls_only and 0 or port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", dir }
  if tls_only then args[#args + 1], args[#args + 2] = "--tls-port", tostring(port) end
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return port, helper.start_peer(args, port, "redis-server")
end

return M
