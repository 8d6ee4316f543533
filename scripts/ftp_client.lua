-- scripts/ftp_client.lua: Qt's FTP example as a command (net.Ftp).
--
--   luanetd scripts/ftp_client.lua URL [ls | get FILE | put FILE] [--active]
--
-- URL is ftp://[user[:pass]@]host[:port]/dir/, the directory to work in
-- (anonymous without a user). ls (the default) prints its listing like
-- ls -l; get FILE downloads dir/FILE to ./FILE; put FILE uploads ./FILE
-- into dir. A progress bar goes to stderr when it is a terminal. Exit
-- status: 0 done; 1 the server refused (its reply is printed); 2 usage or
-- a bad URL; 3 a network failure.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ftp_client.lua URL [ls | get FILE | put FILE] [--active]"
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

local function ls_line(info)
  local kind = info.isDir and "d" or info.isSymLink and "l" or "-"
  local perms = info.permissions ~= "" and #info.permissions == 9 and info.permissions
    or ((info.isReadable and "r" or "-") .. (info.isWritable and "w" or "-") .. (info.isExecutable and "x" or "-")):rep(3)
  local t = os.date("*t", info.lastModified or 0)
  local when = math.abs(os.time() - (info.lastModified or 0)) < 180 * 86400
    and ("%02d:%02d"):format(t.hour, t.min) or ("%5d"):format(t.year)
  return ("%s%s %-8s %-8s %12d %s %2d %s %s"):format(kind, perms, info.owner ~= "" and info.owner or "-",
    info.group ~= "" and info.group or "-", info.size or 0, MONTHS[t.month], t.day, when, info.name)
end

local function progress_bar(start)
  return function(done, total)
    local secs = math.max((net.clock() - start) / 1000, 0.001)
    local pct = total and total > 0 and ("%3d%%"):format(math.floor(done * 100 / total)) or "   "
    io.stderr:write(("\r%12d bytes %s %10.1f KiB/s"):format(done, pct, done / 1024 / secs))
  end
end

-- URL, the verb and its FILE from the positional arguments; a usage
-- error when they do not make a command.
local function command(args)
  local url, verb, file = args[1], args[2] or "ls", args[3]
  if not url then cli.usage_error(USAGE, "missing URL") end
  if verb ~= "ls" and verb ~= "get" and verb ~= "put" then cli.usage_error(USAGE, "unknown command " .. verb) end
  if verb ~= "ls" and not file then cli.usage_error(USAGE, verb .. " needs a FILE") end
  local extra = args[verb == "ls" and 3 or 4]
  if extra then cli.usage_error(USAGE, "unexpected " .. extra) end
  return url, verb, file
end

local function main(...)
  local args, flags = cli.parse(USAGE, { active = false }, ...)
  local url, verb, file = command(args)
  local u, why = net.ftp.parse_url(url)
  if not u then cli.fail("bad URL: " .. why, 2) end
  local src
  if verb == "put" then
    src = io.open(file, "rb")
    if not src then cli.fail(("cannot read %s"):format(file), 2) end
  end

  local f = net.Ftp()
  local tty = net.isatty(2)
  if tty then f.dataTransferProgress:connect(progress_bar(net.clock())) end
  f.listInfo:connect(function(info) print(ls_line(info)) end)
  local connect_id = f:connectToHost(u.host, u.port)
  local login_id = f:login(u.user, u.password)
  if flags.active then f:setTransferMode("Active") end
  f:cd(u.path)
  local name = file and file:match("[^/]*$")
  if verb == "ls" then
    f:list()
  elseif verb == "get" then
    f:get(file, name)
  else
    f:put(src, name)
  end
  f:close()
  local failed_id
  f.commandFinished:connect(function(id, err) if err and not failed_id then failed_id = id end end)
  f.done:connect(function(err)
    if tty and verb ~= "ls" then io.stderr:write("\n") end
    if src then src:close() end
    if not err then return net.quit(0) end
    local message = ("%s: %s"):format(url, f:errorString())
    if failed_id == connect_id or f:error() == "HostNotFound" or f:error() == "ConnectionRefused" then
      cli.fail(message, 3)
    end
    if verb == "get" and failed_id ~= login_id then os.remove(name) end
    cli.fail(message, 1)
  end)
end

cli.run(main, ...)
