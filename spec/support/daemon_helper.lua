-- spec/support/daemon_helper.lua: runs the real `luanetd -c FILE` with a
-- config and scripts written into a fresh directory, and reads what it
-- logs. Every daemon it starts is ended by its PID in cleanup().
--
--   local dh = require "support.daemon_helper"
--   local d = dh.start([[service "echo" { script = "echo.lua", listen = "tcp://127.0.0.1:0" }]],
--                      { ["echo.lua"] = "..." })
--   finally(d.cleanup)
--   local port = d.port("echo")          -- the port the daemon bound
--   local code, out, err = d.ctl("status")
local helper = require "helper"

local dh = {}

-- dh.SCRIPTS: the spec file's copy of the repository's scripts (see
-- helper.copy_of), for configs that run them. Made on first use.
setmetatable(dh, { __index = function(_, key)
  if key == "SCRIPTS" then return helper.copy_of("scripts") end
end })

-- "TIME LEVEL SERVICE message": the daemon's log lines.
dh.LOG_LINE = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ (%a+) (%S+) (.*)$"

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end
dh.write = write

-- A fresh directory; removed by cleanup().
function dh.tmpdir()
  local p = io.popen("mktemp -d /tmp/luanetd-spec.XXXXXX")
  local dir = p:read("l")
  p:close()
  return dir
end

-- Writes `files` (name -> text) and the config into a new directory. The
-- config gets `control = DIR/ctl.sock` unless it sets one. Returns the
-- directory and the config's path.
function dh.prepare(config_text, files)
  local dir = dh.tmpdir()
  for name, text in pairs(files or {}) do write(dir .. "/" .. name, text) end
  if not config_text:find("control%s*=") then
    config_text = ("control = %q\n"):format(dir .. "/ctl.sock") .. config_text
  end
  write(dir .. "/luanetd.conf", config_text)
  return dir, dir .. "/luanetd.conf"
end

-- luanetd ctl against the socket at `control`: exit code, stdout, stderr.
function dh.ctl(control, ...)
  return helper.execute(helper.quote_all(helper.LUANETD, "ctl", "-s", control, ...))
end

-- A handle on `luanetd -c conf` started now (cmd: the command line, by
-- default the plain one): log(), wait_log(pattern, ms) -> captures,
-- addresses(name), port(name, i), ctl(...), pid(), kill(sig), stop(ms)
-- -> exit code, cleanup() (which also removes dir).
function dh.handle(dir, conf, control, cmd)
  local d = { dir = dir, conf = conf, control = control }
  d.proc = helper.spawn(cmd or helper.quote_all(helper.LUANETD, "-c", conf))
  function d.log() return d.proc.stderr() end
  function d.wait_log(pattern, ms)
    local found
    helper.run(ms or helper.TIMEOUT, function()
      found = table.pack(d.log():match(pattern))
      return found[1] ~= nil
    end)
    return table.unpack(found, 1, found.n)
  end
  -- The addresses service `name` listens on, from its "started" line.
  function d.addresses(name)
    local list = d.log():match("info " .. name:gsub("%p", "%%%0") .. " started [^\n]*, listening on (%S+)")
    local out = {}
    for a in (list or ""):gmatch("[^,]+") do out[#out + 1] = a end
    return out
  end
  function d.port(name, i)
    local a = d.addresses(name)[i or 1]
    return a and math.tointeger(tonumber(a:match(":(%d+)$")))
  end
  function d.ctl(...) return dh.ctl(d.control, ...) end
  function d.pid() return d.proc.pid() end
  function d.kill(sig) d.proc.kill(sig) end
  -- SIGTERM, then the exit code (nil if it did not exit within ms).
  function d.stop(ms)
    d.proc.kill("TERM")
    return d.proc.wait(ms or helper.TIMEOUT * 3)
  end
  function d.cleanup()
    d.proc.cleanup()
    os.execute("rm -rf " .. helper.quote(dir))
  end
  return d
end

-- Starts luanetd on the config and waits until each service in
-- opts.wait (default: every `service "NAME"` of the config) has logged
-- "started". opts.env: a prefix for the command ("VAR=x"); opts.wrap: a
-- command to run luanetd under. Raises with the log when it does not start.
function dh.start(config_text, files, opts)
  opts = opts or {}
  local dir, conf = dh.prepare(config_text, files)
  local control = config_text:match('control%s*=%s*"([^"]+)"')
  local cmd = helper.quote_all(helper.LUANETD, "-c", conf)
  if opts.wrap then cmd = opts.wrap .. " " .. cmd end
  if opts.env then cmd = "env " .. opts.env .. " " .. cmd end
  local d = dh.handle(dir, conf, control or dir .. "/ctl.sock", cmd)
  local names = opts.wait
  if not names then
    names = {}
    for n in config_text:gmatch('service%s*"([^"]+)"') do names[#names + 1] = n end
  end
  for _, n in ipairs(names) do
    if not d.wait_log("info " .. n:gsub("%p", "%%%0") .. " started", opts.timeout) then
      local log = d.log()
      d.cleanup()
      error(("luanetd did not start %s:\n%s"):format(n, log), 2)
    end
  end
  return d
end

-- Runs luanetd to its end on a config: exit code, stdout, stderr (for
-- configs that must be refused, and --check).
function dh.run(config_text, files, ...)
  local dir, conf = dh.prepare(config_text, files)
  local code, out, err = helper.execute(helper.quote_all(helper.LUANETD, "-c", conf, ...))
  os.execute("rm -rf " .. helper.quote(dir))
  return code, out, err, conf
end

-- The default config as shipped (etc/luanetd.conf), run from a copy with
-- its scripts and the roots it serves (www/, ftp/: relative to the
-- daemon's working directory, which is the copy's), every port made 0 so
-- a spec needs none of the fixed ones; nothing else changes. The live
-- files may be edited meanwhile. A handle as dh.handle's, once `wait_for`
-- (a service's name) has started.
function dh.start_shipped(wait_for)
  local dir = dh.tmpdir()
  assert(os.execute(("mkdir -p %s/etc && cp -R scripts www ftp %s/"):format(helper.quote(dir), helper.quote(dir))))
  local conf = assert(helper.slurp("etc/luanetd.conf"))
  conf = ("control = %q\n"):format(dir .. "/ctl.sock") .. conf:gsub("(tcp://127%.0%.0%.1:)%d+", "%10")
  write(dir .. "/etc/luanetd.conf", conf)
  local luanetd = helper.LUANETD:sub(1, 1) == "/" and helper.LUANETD or os.getenv("PWD") .. "/" .. helper.LUANETD
  local d = dh.handle(dir, dir .. "/etc/luanetd.conf", dir .. "/ctl.sock", "sh -c " .. helper.quote(("cd %s && exec %s")
    :format(helper.quote(dir), helper.quote_all(luanetd, "-c", dir .. "/etc/luanetd.conf"))))
  if not d.wait_log("info " .. wait_for .. " started") then
    local log = d.log()
    d.cleanup()
    error("the shipped config did not start " .. wait_for .. ":\n" .. log, 2)
  end
  return d
end

-- ctl status as { [name] = fields, raw = text, draining = { name -> { lines } } }.
function dh.status(d)
  local code, out, err = d.ctl("status")
  assert(code == 0, "ctl status failed: " .. tostring(err))
  local s = { raw = out, draining = {} }
  for line in out:gmatch("[^\n]+") do
    local f = {}
    for field in line:gmatch("[^\t]+") do f[#f + 1] = field end
    if f[2] == "draining" then
      s.draining[f[1]] = s.draining[f[1]] or {}
      table.insert(s.draining[f[1]], line)
    else
      s[f[1]] = f
    end
  end
  return s
end

-- The log lines that match `pattern` (plain: a plain find).
function dh.count_lines(log, pattern, plain)
  local n = 0
  for line in log:gmatch("[^\n]+") do
    if line:find(pattern, 1, plain) then n = n + 1 end
  end
  return n
end

-- The line of `text` on which `needle` first appears.
function dh.line_of(text, needle)
  local at = assert(text:find(needle, 1, true), needle)
  local _, n = text:sub(1, at):gsub("\n", "")
  return n + 1
end

function dh.pattern_escape(s) return (s:gsub("%p", "%%%0")) end

-- What a spec file starts, ended after each test whether it passed or not
-- (busted keeps only one finally per it): kit.on_cleanup(fn), kit.start(...)
-- (dh.start, cleaned up), and kit.cleanup() for after_each.
function dh.kit()
  local kit, cleanups = {}, {}
  function kit.on_cleanup(fn) cleanups[#cleanups + 1] = fn end
  function kit.start(config, files, opts)
    local d = dh.start(config, files, opts)
    kit.on_cleanup(d.cleanup)
    return d
  end
  -- Line clients (spec/support/line_client.lua), aborted by kit.stop and
  -- after the test; kit.connect also waits until it is connected.
  local clients = {}
  function kit.client(port)
    local c = require("support.line_client").connect(port)
    clients[#clients + 1] = c
    kit.on_cleanup(function() c.sock:abort() end)
    return c
  end
  function kit.connect(port)
    local c = kit.client(port)
    assert(c.wait_connected(), ("cannot connect to port %s: %s"):format(tostring(port), tostring(c.error_string)))
    return c
  end
  -- Closes every client of the test, then SIGTERM: the exit code.
  function kit.stop(d)
    for _, c in ipairs(clients) do c.sock:abort() end
    clients = {}
    return d.stop()
  end
  function kit.cleanup()
    for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
    cleanups, clients = {}, {}
  end
  return kit
end

return dh
