-- scripts/ftpd.lua: an FTP server on a directory (net.FtpServer):
-- anonymous and read-only unless told otherwise.
--
--   luanetd scripts/ftpd.lua --root DIR [--host H] [--port P]
--                            [--user NAME:PASS [--write yes]] [--anonymous no]
--                            [--anonymous-write yes] [--data-timeout MS]
--                            [--login-failure-delay MS] [--max-login-attempts N]
--   service "ftpd" { script = "scripts/ftpd.lua", listen = "tcp://127.0.0.1:2121",
--                    options = { root = "ftp" } }
--
-- Writing (upload, append, delete, rename, make and remove directories)
-- is off for everyone by default, and given to the two kinds of login
-- apart:
--   --user NAME:PASS       adds a user who logs in with that password;
--   --write yes            lets that user write (it needs --user, and it
--                          never lets anonymous users write);
--   --anonymous no         refuses anonymous logins (USER anonymous or ftp);
--   --anonymous-write yes  lets anyone who logs in anonymously write.
-- As a service the same names are the options' keys: options = { root =
-- "ftp", user = "alice:secret", write = "yes", ["anonymous-write"] = "no" }.
-- Passive data connections take any free port. A wrong password is
-- answered after --login-failure-delay ms (3000), and the
-- --max-login-attempts-th (3) closes the connection.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ftpd.lua --root DIR [--host H] [--port P] [--user NAME:PASS [--write yes]] [--anonymous no]"
  .. " [--anonymous-write yes] [--data-timeout MS] [--login-failure-delay MS] [--max-login-attempts N]"

local DEFAULTS = { host = "127.0.0.1", port = 0, root = false, user = false, write = "no", anonymous = "yes",
                   ["anonymous-write"] = "no", ["data-timeout"] = 30000, ["login-failure-delay"] = 3000,
                   ["max-login-attempts"] = 3 }

-- A yes/no option as a boolean (a service may give true or false); any
-- other word is a usage error, so that a typo never grants writing.
local function yes_no(opts, name)
  local value = opts[name]
  if value == "yes" or value == true then return true end
  if value == "no" or value == false then return false end
  cli.usage_error(USAGE, ("--%s is yes or no, not %s"):format(name, tostring(value)))
end

-- A whole number option (a service may give a number) as an integer; any
-- other text is a usage error, not a default taken in silence.
local function count(opts, name)
  local n = math.tointeger(tonumber(opts[name]))
  if not n or n < 0 then
    cli.usage_error(USAGE, ("--%s is a whole number, not %s"):format(name, tostring(opts[name])))
  end
  return n
end

-- The users net.FtpServer takes: the one --user names, if any. --write
-- yes alone once let anonymous users write; it is refused, not left to
-- mean nothing, so that whoever still relies on that learns the new name.
local function users_from(opts, user_may_write)
  if not opts.user then
    if user_may_write then
      cli.usage_error(USAGE, "--write yes needs --user NAME:PASS (for anonymous uploads: --anonymous-write yes)")
    end
    return {}
  end
  local name, pass = tostring(opts.user):match("^([^:]+):(.*)$")
  if not name then cli.usage_error(USAGE, "--user wants NAME:PASS") end
  return { [name] = { password = pass, write = user_may_write } }
end

local function main(...)
  local opts = cli.options(USAGE, DEFAULTS, ...)
  if not opts.root then cli.usage_error(USAGE, "no --root DIR") end
  local ok, server = pcall(net.FtpServer, {
    root = opts.root,
    users = users_from(opts, yes_no(opts, "write")),
    anonymous = yes_no(opts, "anonymous"),
    anonymousWrite = yes_no(opts, "anonymous-write"),
    dataTimeout = tonumber(opts["data-timeout"]),
    loginFailureDelay = count(opts, "login-failure-delay"),
    maxLoginAttempts = count(opts, "max-login-attempts"),
  })
  if not ok then cli.fail(tostring(server), 2) end
  local tcp, err = cli.listen(opts)
  if not tcp then cli.fail(err) end
  server:serve(tcp)
  local service = type((...)) == "table" and (...) or nil
  if service then service.stopping:connect(function() server:closeIdle() end) end
end

cli.run(main, ...)
