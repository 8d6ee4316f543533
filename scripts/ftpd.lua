-- scripts/ftpd.lua: an FTP server on a directory (net.FtpServer):
-- anonymous and read-only unless told otherwise.
--
--   luanetd scripts/ftpd.lua --root DIR [--host H] [--port P] [--write yes]
--                            [--user NAME:PASS] [--anonymous no] [--data-timeout MS]
--   service "ftpd" { script = "scripts/ftpd.lua", listen = "tcp://127.0.0.1:2121",
--                    options = { root = "ftp" } }
--
-- --write yes lets anonymous users write; --user NAME:PASS adds a user
-- who may write. Passive data connections take any free port.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "ftpd.lua --root DIR [--host H] [--port P] [--write yes] [--user NAME:PASS] [--anonymous no] [--data-timeout MS]"

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, root = false, write = "no",
                                    user = false, anonymous = "yes", ["data-timeout"] = 30000 }, ...)
  if not opts.root then
    io.stderr:write("no --root DIR\nusage: ", USAGE, "\n")
    return 2
  end
  local users = {}
  if opts.user then
    local name, pass = tostring(opts.user):match("^([^:]+):(.*)$")
    if not name then
      io.stderr:write("--user wants NAME:PASS\nusage: ", USAGE, "\n")
      return 2
    end
    users[name] = { password = pass, write = true }
  end
  local ok, server = pcall(net.FtpServer, {
    root = opts.root, users = users,
    write = opts.write == "yes" or opts.write == true,
    anonymous = not (opts.anonymous == "no" or opts.anonymous == false),
    dataTimeout = tonumber(opts["data-timeout"]),
  })
  if not ok then
    io.stderr:write(tostring(server), "\n")
    return 2
  end
  local tcp, err = cli.listen(opts)
  if not tcp then
    io.stderr:write(err, "\n")
    return 1
  end
  server:serve(tcp)
  local service = type((...)) == "table" and (...) or nil
  if service then service.stopping:connect(function() server:closeIdle() end) end
end

cli.run(main, ...)
