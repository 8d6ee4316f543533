-- An nginx for the client specs: foreground, one worker, everything under
-- a temporary prefix, on a free loopback port.
--
--   local port, stop = require("support.nginx").start(server_lines [, listen_flags])
--
-- server_lines go inside its server { } block (locations, ssl_* lines);
-- listen_flags follow the address ("ssl"). It raises when nginx does not
-- come up; stop() ends it and removes its directory.
local helper = require "helper"
local dh = require "support.daemon_helper"
local free_port = require("support.core_helper").free_port

local nginx = {}

local CONF = [[
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %s;
  proxy_temp_path %s;
  fastcgi_temp_path %s;
  uwsgi_temp_path %s;
  scgi_temp_path %s;
  server {
    listen 127.0.0.1:%d %s;
%s
  }
}
]]

function nginx.start(server_lines, listen_flags)
  local dir = dh.tmpdir()
  local port = free_port()
  dh.write(dir .. "/nginx.conf", CONF:format(dir, dir, dir, dir, dir, dir, port, listen_flags or "", server_lines))
  local proc = helper.spawn(helper.quote_all("/usr/sbin/nginx", "-p", dir, "-c", dir .. "/nginx.conf"))
  local function stop()
    -- SIGTERM: the master ends its worker, then itself; cleanup() then
    -- ends whatever is left of the tree (helper.spawn).
    proc.kill("TERM")
    proc.wait(5000)
    proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end
  local ok, err = pcall(helper.wait_listening, port, proc, "nginx")
  if not ok then
    stop()
    error(err, 2)
  end
  return port, stop
end

return nginx
