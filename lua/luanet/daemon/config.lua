-- luanet.daemon.config: reads a luanetd config file into a checked, plain table
-- for the daemon (daemon/service/config.c). The file is Lua, run in an empty
-- sandbox that knows only the settings below and `service`; any mistake is
-- one "FILE:LINE: message", with the line of the setting at fault.
--
--   local config = require "luanet.daemon.config"
--   local cfg, err = config.load("etc/luanetd.conf")   -- or load(path, text)
--
-- What load returns:
--   { path, dir, workers (number or "auto"), log = { level, format }, control,
--     metrics (a tcp listener table, or nil),
--     user, resolver = { servers, timeout, tries }, shutdown_timeout (ms),
--     services = { { name, line, script (a path the daemon can open),
--                    listen = { { name?, url, kind, host?, port?, path? } },
--                    options (the script's own settings, plain data) } } }
local config = {}

local LOG_LEVELS = { debug = true, info = true, warn = true, error = true }
local SERVICE_KEYS = {
  script = "string", listen = "table or string", options = "table", reload = "string",
  memory_limit = "string or number", cpu_limit = "number or boolean", max_connections = "number",
  tls = "table",
}
-- The keys of a service's tls = { ... } (setSslConfiguration's options);
-- the values that name files are resolved against the config's directory.
local TLS_KEYS = { cert = "file", key = "file", ca = "file", localCertificate = "file", privateKey = "file",
                   caCertificates = "file", alpn = "string or table", protocol = "string",
                   peerVerifyMode = "string", handshakeTimeout = "number" }
-- The top-level settings, in the order error messages list them; each has
-- a check in sandbox()'s `settings`.
local SETTING_NAMES = { "workers", "log", "control", "metrics", "user", "resolver", "shared", "shutdown_timeout" }
local LOG_KEYS = { "level", "format" }
local RESOLVER_KEYS = { "servers", "timeout", "tries" }
local function set_of(list)
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  return set
end
local LOG_KEY_SET, RESOLVER_KEY_SET = set_of(LOG_KEYS), set_of(RESOLVER_KEYS)
local SIZE_UNITS = { [""] = 1, K = 1024, M = 1024 * 1024, G = 1024 * 1024 * 1024 }
local DEFAULT_CPU_LIMIT = 1000   -- ms of Lua per callback
-- A config is a few declarations: one that runs this long is a mistake.
local INSTRUCTION_LIMIT = 10000000

local function is_integer(v) return math.type(v) == "integer" end

-- A size setting ("64M", "512K", "1G", bytes as a number or a string) in
-- bytes, if it is at least `min`; nil otherwise.
local function size_of(v, min)
  local n, unit = tostring(v):match("^(%d+)%s*([KMG]?)i?B?$")
  if type(v) == "number" then n, unit = math.tointeger(v), "" end
  if not n or not SIZE_UNITS[unit] or tonumber(n) * SIZE_UNITS[unit] < min then return nil end
  return math.tointeger(tonumber(n) * SIZE_UNITS[unit])
end

-- "ddd.ddd.ddd.ddd" with each part 0-255, without leading zeros (which
-- some parsers read as octal).
local function is_ipv4(text)
  local parts = { text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if #p > 3 or tonumber(p) > 255 or (#p > 1 and p:sub(1, 1) == "0") then return false end
  end
  return true
end

-- Eight 16-bit hex groups, or fewer with one "::", the last two of which
-- may be an IPv4 address; an optional %scope.
local function is_ipv6(text)
  text = text:gsub("%%[%w_.-]+$", "", 1)
  if text:find("[^%x:.]") then return false end
  local head, tail = text, nil
  local gap = text:find("::", 1, true)
  if gap then
    head, tail = text:sub(1, gap - 1), text:sub(gap + 2)
    if tail:find("::", 1, true) then return false end
  end
  local groups = 0
  local function count(part, last)
    if part == "" then return true end
    local fields = {}
    for f in (part .. ":"):gmatch("([^:]*):") do fields[#fields + 1] = f end
    for i, f in ipairs(fields) do
      if last and i == #fields and f:find(".", 1, true) then
        if not is_ipv4(f) then return false end
        groups = groups + 2
      elseif not f:match("^%x%x?%x?%x?$") then
        return false
      else
        groups = groups + 1
      end
    end
    return true
  end
  if not count(head, not gap) or (gap and not count(tail, true)) then return false end
  if gap then return groups <= 7 end
  return groups == 8
end

config.is_ip_address = function(text) return is_ipv4(text) or is_ipv6(text) end

-- path against dir, with "x/../" and "./" folded away.
local function join(dir, path)
  if path:sub(1, 1) ~= "/" then path = dir .. "/" .. path end
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." and #parts > 0 and parts[#parts] ~= ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  local joined = table.concat(parts, "/")
  if path:sub(1, 1) == "/" then return "/" .. joined end
  return joined ~= "" and joined or "."
end

-- Parses one listener address; nil and why on a bad one.
local function parse_listener(url, dir)
  local kind, rest = url:match("^(%a+)://(.*)$")
  if not kind then
    local path = url:match("^unix:(.+)$")
    if path then return { kind = "unix", url = url, path = join(dir, path) } end
    return nil, ("bad listener %q (tcp://HOST:PORT, tls://HOST:PORT, udp://HOST:PORT or unix:/path)"):format(url)
  end
  if kind ~= "tcp" and kind ~= "udp" and kind ~= "tls" then
    return nil, ("bad listener %q: unknown scheme %q (tcp, tls, udp or unix)"):format(url, kind)
  end
  local host, port = rest:match("^%[(.+)%]:(%d+)$")
  if not host then
    host, port = rest:match("^([^:]+):(%d+)$")
  end
  if not host then
    return nil, ("bad listener %q: expected %s://HOST:PORT, with [ ] around an IPv6 address"):format(url, kind)
  end
  if not config.is_ip_address(host) then
    return nil, ("bad listener %q: %q is not an IP address"):format(url, host)
  end
  port = tonumber(port)
  if port > 65535 then return nil, ("bad listener %q: port out of range"):format(url) end
  if kind == "tls" then return { kind = "tcp", tls = true, url = url, host = host, port = port } end
  return { kind = kind, url = url, host = host, port = port }
end

-- A service's tls table, checked, its files resolved and readable: the
-- copy the daemon hands to setSslConfiguration. nil and why on a mistake.
local function check_tls(tls, dir)
  local out = {}
  local function entry(t, where, into)
    for k, v in pairs(t) do
      if type(k) == "string" then
        local want = TLS_KEYS[k]
        if not want then return ("%s: unknown key '%s'"):format(where, k) end
        if want == "file" then
          if type(v) ~= "string" then return ("%s: %s must be a file name"):format(where, k) end
          local path = join(dir, v)
          local f, err = io.open(path, "rb")
          if not f then return ("%s: %s: %s"):format(where, k, err) end
          f:close()
          into[k] = path
        elseif not want:find(type(v), 1, true) then
          return ("%s: %s must be a %s"):format(where, k, want)
        else
          into[k] = v
        end
      end
    end
  end
  local err = entry(tls, "tls", out)
  if err then return nil, err end
  for i, t in ipairs(tls) do   -- more certificates, chosen by SNI
    if type(t) ~= "table" or not (t.cert or t.localCertificate) then
      return nil, ("tls[%d]: expected { cert = FILE, key = FILE }"):format(i)
    end
    out[i] = {}
    err = entry(t, ("tls[%d]"):format(i), out[i])
    if err then return nil, err end
  end
  if not (out.cert or out.localCertificate or out[1]) then
    return nil, "tls: no certificate (cert = FILE, key = FILE)"
  end
  return out
end

-- The contents of the files a tls table names: a renewed certificate
-- changes the service's signature, so a SIGHUP reloads it.
local function tls_files(tls)
  local texts = {}
  local function add(t)
    for _, k in ipairs({ "cert", "key", "ca", "localCertificate", "privateKey", "caCertificates" }) do
      if t[k] then
        local f = io.open(t[k], "rb")
        texts[#texts + 1] = f and f:read("a") or ""
        if f then f:close() end
      end
    end
  end
  add(tls)
  for _, t in ipairs(tls) do add(t) end
  return texts
end

-- Plain data only: what the daemon can copy into a service's own state.
local function check_plain(v, where, seen)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return nil end
  if t ~= "table" then return ("%s: a %s cannot be handed to a script (plain data only)"):format(where, t) end
  if seen[v] then return ("%s: a table that contains itself"):format(where) end
  seen[v] = true
  for k, x in pairs(v) do
    local kt = type(k)
    if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then
      return ("%s: a %s key (plain data only)"):format(where, kt)
    end
    local err = check_plain(x, ("%s.%s"):format(where, tostring(k)), seen)
    if err then return err end
  end
  seen[v] = nil
  return nil
end

-- Plain data as canonical text (keys sorted): equal text, equal data.
local function canonical(v)
  if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == "boolean" then return not a and b end
    return a < b
  end)
  local out = {}
  for i, k in ipairs(keys) do out[i] = ("[%s]=%s"):format(canonical(k), canonical(v[k])) end
  return "{" .. table.concat(out, ",") .. "}"
end

-- What a service's generation depends on, as one string: a SIGHUP reloads
-- the services whose signature changed (their code changing is the
-- daemon's to see).
local function signature(sv, cfg)
  local listen = {}
  for i, l in ipairs(sv.listen) do listen[i] = { name = l.name or false, url = l.url } end
  return canonical({ script = sv.script, listen = listen, options = sv.options or false,
                     tls = sv.tls and { sv.tls, tls_files(sv.tls) } or false,
                     reload = sv.reload, resolver = cfg.resolver or false,
                     limits = { sv.memory_limit or false, sv.cpu_limit or false, sv.max_connections or false } })
end

-- Builds the sandbox and the result it fills in.
local function sandbox(path, lines)
  local dir = path:match("^(.*)/[^/]*$") or "."
  if dir == "" then dir = "/" end
  local cfg = {
    path = path, dir = dir, workers = 1, log = { level = "info", format = "text" },
    shutdown_timeout = 10000, services = {},
  }
  local by_name = {}

  -- The lines of the keys of the { ... } block that opens at or after line
  -- `from`: a table constructor has one line for the whole call, but the
  -- mistake is on the key's own line. A small scanner: strings, comments
  -- and nested tables are skipped, so only the block's own keys count.
  local function block_key_lines(from)
    local found, depth = {}, 0
    local long_close   -- the "]==]" that ends a long string or comment
    for i = from, #lines do
      local text, pos = lines[i], 1
      while pos <= #text do
        if long_close then
          local e = text:find(long_close, pos, true)
          if not e then break end
          pos, long_close = e + #long_close, nil
        else
          local c = text:sub(pos, pos)
          local level = text:match("^%-%-%[(=*)%[", pos) or text:match("^%[(=*)%[", pos)
          if level then
            long_close = "]" .. level .. "]"
            pos = text:find("[", pos + (text:sub(pos, pos) == "-" and 3 or 1), true) + 1
          elseif text:sub(pos, pos + 1) == "--" then
            break
          elseif c == '"' or c == "'" then
            local e = pos + 1
            while e <= #text and text:sub(e, e) ~= c do
              e = e + (text:sub(e, e) == "\\" and 2 or 1)
            end
            pos = e + 1
          elseif c == "{" then
            depth, pos = depth + 1, pos + 1
          elseif c == "}" then
            depth, pos = depth - 1, pos + 1
            if depth == 0 then return found end
          else
            local name, after = text:match("^([%a_][%w_]*)%s*()", pos)
            if name then
              if depth == 1 and text:sub(after, after) == "=" and text:sub(after + 1, after + 1) ~= "="
                 and not found[name] then
                found[name] = i
              end
              pos = pos + #name
            else
              pos = pos + 1
            end
          end
        end
      end
    end
    return found
  end

  local function line_of(key, from)
    return block_key_lines(from)[key] or from
  end

  -- The line that assigns a setting: the chunk reports the line where the
  -- assignment ends, which for a table spread over lines is its "}".
  local function assignment_line(key, at)
    local pattern = "^%s*" .. tostring(key):gsub("%p", "%%%0") .. "%s*=[^=]"
    for i = math.min(at, #lines), math.max(1, at - 500), -1 do
      if (lines[i] .. " "):find(pattern) then return i end
    end
    return at
  end

  local function fail_at(line, msg) error(("%s:%d: %s"):format(path, line, msg), 0) end

  local function caller_line()
    local info = debug.getinfo(3, "l")
    return info and info.currentline or 0
  end

  local function check_service(name, block, line)
    local sv = { name = name, line = line, listen = {} }
    for k, v in pairs(block) do
      local want = SERVICE_KEYS[k]
      if type(k) ~= "string" or not want then
        fail_at(type(k) == "string" and line_of(k, line) or line,
                ("service %q: unknown key %s"):format(name, type(k) == "string" and ("'" .. k .. "'") or tostring(k)))
      end
      if not want:find(type(v), 1, true) then
        fail_at(line_of(k, line), ("service %q: %s must be a %s, not a %s"):format(name, k, want, type(v)))
      end
    end
    if not block.script then fail_at(line, ("service %q: no script"):format(name)) end
    sv.script = join(dir, block.script)
    local listen = block.listen or {}
    if type(listen) == "string" then listen = { listen } end
    local kline = block.listen and line_of("listen", line) or line
    local names = {}
    for k in pairs(listen) do
      if not (is_integer(k) and k >= 1 and k <= #listen) and type(k) ~= "string" then
        fail_at(kline, ("service %q: listen keys are names or list positions, not %s"):format(name, tostring(k)))
      end
      if type(k) == "string" then names[#names + 1] = k end
    end
    table.sort(names)
    local function add(lname, url)
      if type(url) ~= "string" then
        fail_at(kline, ("service %q: a listener must be a string like \"tcp://127.0.0.1:7000\", not a %s"):format(name, type(url)))
      end
      local l, err = parse_listener(url, dir)
      if not l then fail_at(kline, ("service %q: %s"):format(name, err)) end
      l.name = lname
      sv.listen[#sv.listen + 1] = l
    end
    if #listen + #names > 64 then fail_at(kline, ("service %q: more than 64 listeners"):format(name)) end
    for i = 1, #listen do add(nil, listen[i]) end
    for _, n in ipairs(names) do add(n, listen[n]) end
    local has_tls = false
    for _, l in ipairs(sv.listen) do has_tls = has_tls or l.tls == true end
    if has_tls and not block.tls then
      fail_at(kline, ("service %q: a tls:// listener needs tls = { cert = FILE, key = FILE }"):format(name))
    end
    if block.tls then
      if not has_tls then fail_at(line_of("tls", line), ("service %q: tls is set but no listener is tls://"):format(name)) end
      local t, err = check_tls(block.tls, dir)
      if not t then fail_at(line_of("tls", line), ("service %q: %s"):format(name, err)) end
      sv.tls = t
    end
    if block.options then
      local err = check_plain(block.options, ("service %q: options"):format(name), {})
      if err then fail_at(line_of("options", line), err) end
      sv.options = block.options
    end
    if block.reload ~= nil and block.reload ~= "watch" and block.reload ~= "signal" then
      fail_at(line_of("reload", line), ("service %q: reload must be \"watch\" (when its files change) or \"signal\" (SIGHUP and ctl only)"):format(name))
    end
    sv.reload = block.reload or "signal"
    if block.memory_limit ~= nil then
      sv.memory_limit = size_of(block.memory_limit, 65536)
      if not sv.memory_limit then
        fail_at(line_of("memory_limit", line), ("service %q: memory_limit must be a size of at least 64K, like \"64M\", \"512K\" or a number of bytes"):format(name))
      end
    end
    local cpu = block.cpu_limit
    if cpu == nil or cpu == true then cpu = DEFAULT_CPU_LIMIT end
    if cpu ~= false and not (is_integer(cpu) and cpu >= 1) then
      fail_at(line_of("cpu_limit", line), ("service %q: cpu_limit must be milliseconds (a whole number >= 1) or false"):format(name))
    end
    sv.cpu_limit = cpu or nil
    if block.max_connections ~= nil then
      if not (is_integer(block.max_connections) and block.max_connections >= 1) then
        fail_at(line_of("max_connections", line), ("service %q: max_connections must be a whole number >= 1"):format(name))
      end
      sv.max_connections = block.max_connections
    end
    return sv
  end

  local env = {}
  function env.service(name)
    local line = caller_line()
    if type(name) ~= "string" or not name:match("^[%w_.-]+$") or #name > 63 then
      fail_at(line, ("service name must be a word of at most 63 letters, digits, _ . or -, not %s"):format(
        type(name) == "string" and ("%q"):format(name) or type(name)))
    end
    if by_name[name] then
      fail_at(line, ("service %q is already declared on line %d"):format(name, by_name[name].line))
    end
    return function(block)
      if type(block) ~= "table" then
        fail_at(line, ("service %q: expected a { ... } block, not a %s"):format(name, type(block)))
      end
      -- Checked again here: a service "x" { ... } nested in another's block
      -- of the same name registers while the outer block is being built.
      if by_name[name] then
        fail_at(line, ("service %q is already declared on line %d"):format(name, by_name[name].line))
      end
      local sv = check_service(name, block, line)
      by_name[name] = sv
      cfg.services[#cfg.services + 1] = sv
    end
  end

  local settings = {}
  function settings.workers(v)
    if v == "auto" or (is_integer(v) and v >= 1 and v <= 1024) then return v end
    return nil, "workers must be a whole number from 1 to 1024, or \"auto\""
  end
  function settings.log(v)
    if type(v) ~= "table" then return nil, "log must be a table like { level = \"info\" }" end
    for k in pairs(v) do
      if not LOG_KEY_SET[k] then return nil, ("log: unknown key %s"):format(tostring(k)) end
    end
    local level = v.level or "info"
    if not LOG_LEVELS[level] then return nil, "log.level must be \"debug\", \"info\", \"warn\" or \"error\"" end
    local format = v.format or "text"
    if format ~= "text" and format ~= "json" then return nil, "log.format must be \"text\" or \"json\"" end
    return { level = level, format = format }
  end
  -- metrics = "tcp://HOST:PORT": where Prometheus scrapes GET /metrics.
  function settings.metrics(v)
    if type(v) ~= "string" then return nil, "metrics must be an address like \"tcp://127.0.0.1:9145\"" end
    local l, err = parse_listener(v, dir)
    if not l then return nil, "metrics: " .. err end
    if l.kind ~= "tcp" or l.tls then return nil, ("metrics: %q must be a tcp:// address"):format(v) end
    return l
  end
  function settings.control(v)
    if type(v) ~= "string" or v == "" then return nil, "control must be the path of a Unix socket" end
    return join(dir, v)
  end
  function settings.user(v)
    if type(v) ~= "string" or not v:match("^[%w_.-]+%$?$") then return nil, "user must be a user name" end
    return v
  end
  function settings.resolver(v)
    if type(v) ~= "table" then return nil, "resolver must be a table like { servers = { \"127.0.0.1:53\" } }" end
    for k in pairs(v) do
      if not RESOLVER_KEY_SET[k] then
        return nil, ("resolver: unknown key %s"):format(tostring(k))
      end
    end
    if v.servers ~= nil then
      if type(v.servers) ~= "table" or #v.servers == 0 then return nil, "resolver.servers must be a list of \"HOST[:PORT]\"" end
      for _, s in ipairs(v.servers) do
        local host = type(s) == "string" and (s:match("^%[(.+)%]:%d+$") or s:match("^([^:]+):%d+$") or s)
        if not host or not config.is_ip_address(host) then
          return nil, ("resolver.servers: %s is not an IP address with an optional port"):format(tostring(s))
        end
      end
    end
    if v.timeout ~= nil and not (is_integer(v.timeout) and v.timeout > 0) then return nil, "resolver.timeout must be milliseconds (a whole number > 0)" end
    if v.tries ~= nil and not (is_integer(v.tries) and v.tries > 0) then return nil, "resolver.tries must be a whole number > 0" end
    local servers = v.servers and table.move(v.servers, 1, #v.servers, 1, {})
    return { servers = servers, timeout = v.timeout, tries = v.tries }
  end
  -- shared = { name = size, ... }: the SharedDicts every service may open
  -- (net.SharedDict(name)), each holding at most its size.
  function settings.shared(v)
    if type(v) ~= "table" then return nil, "shared must be a table like { sessions = \"16M\" }" end
    local dicts = {}
    for name, size in pairs(v) do
      if type(name) ~= "string" or not name:match("^[%a_][%w_.-]*$") then
        return nil, ("shared: %s is not a dict name (letters, digits, _ . -)"):format(tostring(name))
      end
      dicts[name] = size_of(size, 8192)
      if not dicts[name] then
        return nil, ("shared: %s must be a size of at least 8K, like \"16M\", \"512K\" or a number of bytes"):format(name)
      end
    end
    return dicts
  end
  function settings.shutdown_timeout(v)
    if is_integer(v) and v >= 0 then return v end
    return nil, "shutdown_timeout must be milliseconds (a whole number >= 0)"
  end

  -- Plain locals and helper globals are the user's; only the names above
  -- are settings, and a setting must have its type.
  local user_globals = {}
  setmetatable(env, {
    __newindex = function(_, k, v)
      local check = settings[k]
      if not check then
        if type(k) == "string" and k:match("^_") then user_globals[k] = v return end
        fail_at(assignment_line(k, caller_line()), ("unknown setting '%s' (settings: %s)"):format(tostring(k), table.concat(SETTING_NAMES, ", ")))
      end
      local value, err = check(v)
      if err then fail_at(assignment_line(k, caller_line()), err) end
      cfg[k] = value
    end,
    __index = function(_, k)
      if user_globals[k] ~= nil then return user_globals[k] end
      if settings[k] then return cfg[k] end
      fail_at(caller_line(), ("unknown name '%s'"):format(tostring(k)))
    end,
  })
  return env, cfg
end

local function split_lines(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

-- load(path [, text [, on_line]]) -> cfg, or nil and "PATH:LINE: message".
-- on_line(line), when given, sees every line the evaluation runs (the fuzz
-- target's coverage: the sandbox's own hook replaces any other).
function config.load(path, text, on_line)
  if not text then
    local f, err = io.open(path, "rb")
    if not f then return nil, ("%s: cannot read: %s"):format(path, err) end
    text = f:read("a")
    f:close()
  end
  local env, cfg = sandbox(path, split_lines(text))
  local chunk, err = load(text, "@" .. path, "t", env)
  if not chunk then
    -- "attempt to load a binary chunk" names no file: every refusal does.
    if err:sub(1, #path + 1) ~= path .. ":" then err = ("%s: %s"):format(path, err) end
    return nil, err
  end
  local co = coroutine.create(chunk)
  debug.sethook(co, function(event, line)
    if event == "line" then return on_line(line) end
    local info = debug.getinfo(2, "l")
    error(("%s:%d: runs too long for a config (a loop?)"):format(path, info and info.currentline or 0), 0)
  end, on_line and "l" or "", INSTRUCTION_LIMIT)
  local ok, why = coroutine.resume(co)
  if not ok then
    if type(why) ~= "string" then why = ("%s: error object is a %s"):format(path, type(why)) end
    return nil, why
  end
  if coroutine.status(co) ~= "dead" then return nil, ("%s: the config must not yield"):format(path) end
  for _, sv in ipairs(cfg.services) do sv.signature = signature(sv, cfg) end
  return cfg
end

-- What a config may say, for its documentation and the spec that holds
-- luanetd.conf(5) to it: { settings, log, resolver, service, tls }, each a
-- sorted list of names (settings in their order).
local function names_of(keys)
  local list = {}
  for k in pairs(keys) do list[#list + 1] = k end
  table.sort(list)
  return list
end
config.keys = {
  settings = table.move(SETTING_NAMES, 1, #SETTING_NAMES, 1, {}),
  log = table.move(LOG_KEYS, 1, #LOG_KEYS, 1, {}),
  resolver = table.move(RESOLVER_KEYS, 1, #RESOLVER_KEYS, 1, {}),
  service = names_of(SERVICE_KEYS),
  tls = names_of(TLS_KEYS),
}

return config
