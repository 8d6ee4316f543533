-- What the FTP client specs share:
--
--   local ftp = require "support.ftp_session"
--   local f, rec, err = ftp.session(port, function(f) f:login() ... end)
--   local code, out, err = ftp.client(workdir, URL, "get", "FILE")   -- scripts/ftp_client.lua
--   ftp.abort_midway(port, "pub", "big.bin", 1500000)
--
-- session
-- connects to 127.0.0.1:port, queues what fn adds, runs the loop until
-- done (at most ms, 20 s by default): the Ftp, a record of its signals
-- (started ids, finished { id, err }, infos by name, states, progress
-- { done, total }, raw { code, text }) and done's error flag.
local helper = require "helper"
local assert = require "luassert"

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

-- abort_midway
-- gets dir/name (size bytes) and aborts at its first progress, with a list
-- queued behind it; asserts what Qt's QFtp shows (the get fails as
-- "Aborted", the list is dropped), then lists dir on the same login.
function M.abort_midway(port, dir, name, size)
  local aborted = false
  local f, rec, err = M.session(port, function(f)
    f.dataTransferProgress:connect(function(done, total)
      if not aborted and done > 0 and done < total then
        aborted = true
        f:abort()
      end
    end)
    f:login()
    f:get(dir .. "/" .. name)
    f:list()   -- dropped by the abort
  end)
  assert.is_true(aborted)
  assert.are.same(true, err)
  assert.are.same({ 1, 2, 3 }, rec.started)
  assert.are.same({ { 1, false }, { 2, false }, { 3, true } }, rec.finished)
  assert.are.same("Aborted", f:errorString())
  assert.is_true(f:bytesAvailable() < size)
  local listed, again = {}, nil
  f.listInfo:connect(function(info) listed[info.name] = true end)
  f.done:connect(function(e) again = e end)
  f:list(dir)
  helper.run(10000, function() return again ~= nil end)
  assert.are.same(false, again, f:errorString())
  assert.is_true(listed[name])
end


-- Runs scripts/ftp_client.lua (the spec file's copy, helper.script) with its
-- arguments in workdir (where get saves and put reads): exit code, stdout,
-- stderr.
function M.client(workdir, ...)
  local pwd = os.getenv("PWD")
  local luanetd = helper.LUANETD:sub(1, 1) == "/" and helper.LUANETD or pwd .. "/" .. helper.LUANETD
  return helper.execute("sh -c " .. helper.quote(("cd %s && exec %s"):format(helper.quote(workdir),
    helper.quote_all(luanetd, helper.script("ftp_client.lua"), ...))), 20000)
end

return M
