-- What the FTP client specs share:
--
--   local ftp = require "support.ftp_session"
--   local f, rec, err = ftp.session(port, function(f) f:login() ... end)
--   local code, out, err = ftp.client(workdir, URL, "get", "FILE")   -- scripts/ftp_client.lua
--
-- session
-- connects to 127.0.0.1:port, queues what fn adds, runs the loop until
-- done (at most ms, 20 s by default): the Ftp, a record of its signals
-- (started ids, finished { id, err }, infos by name, states, progress
-- { done, total }, raw { code, text }) and done's error flag.
local helper = require "helper"

local M = {}

function M.session(port, fn, ms)
  local f = helper.net.Ftp()
  local rec = { started = {}, finished = {}, infos = {}, states = {}, progress = {}, raw = {} }
  f.commandStarted:connect(function(id) rec.started[#rec.started + 1] = id end)
  f.commandFinished:connect(function(id, err) rec.finished[#rec.finished + 1] = { id, err } end)
  f.listInfo:connect(function(info) rec.infos[info.name] = info end)
  f.stateChanged:connect(function(s) rec.states[#rec.states + 1] = s end)
  f.dataTransferProgress:connect(function(done, total) rec.progress[#rec.progress + 1] = { done, total } end)
  f.rawCommandReply:connect(function(code, text) rec.raw[#rec.raw + 1] = { code, text } end)
  local finished
  f.done:connect(function(err) finished = err end)
  f:connectToHost("127.0.0.1", port)
  fn(f)
  helper.run(ms or 20000, function() return finished ~= nil end)
  assert(finished ~= nil, "net.Ftp did not finish")
  return f, rec, finished
end

-- Runs scripts/ftp_client.lua with its arguments in workdir (where get
-- saves and put reads): exit code, stdout, stderr.
function M.client(workdir, ...)
  local pwd = os.getenv("PWD")
  local luanetd = helper.LUANETD:sub(1, 1) == "/" and helper.LUANETD or pwd .. "/" .. helper.LUANETD
  return helper.execute("sh -c " .. helper.quote(("cd %s && exec %s"):format(helper.quote(workdir),
    helper.quote_all(luanetd, pwd .. "/scripts/ftp_client.lua", ...))), 20000)
end

return M
