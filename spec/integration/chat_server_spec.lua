-- scripts/chat_server.lua: every line to every client, alone and under the
-- daemon with two workers and a reload in the middle (net.Channel keeps
-- one room across worker threads and generations). The clients are
-- in-process TcpSockets.
local helper = require "helper"
local dh = require "support.daemon_helper"
local kit = dh.kit()
local net = helper.net

local function connect(port)
  local s = net.TcpSocket()
  s:connectToHost("127.0.0.1", port)
  assert(s:waitForConnected(helper.TIMEOUT))
  kit.on_cleanup(function() s:abort() end)
  return { sock = s, lines = {} }
end

-- Reads every client's complete lines until each has `count`.
local function gather(clients, count)
  return helper.run(helper.TIMEOUT * 2, function()
    local done = true
    for _, c in ipairs(clients) do
      while c.sock:canReadLine() do c.lines[#c.lines + 1] = c.sock:readLine() end
      done = done and #c.lines >= count
    end
    return done
  end)
end

local function sorted(list)
  local copy = table.move(list, 1, #list, 1, {})
  table.sort(copy)
  return copy
end

-- A client is in the room once the server has accepted it (a connect
-- that returns may still wait in the backlog): its "/who" answered says
-- so, as a chat client would see its name. Returns the answers.
local function join(clients)
  for _, c in ipairs(clients) do
    c.lines = {}
    c.sock:write("/who\n")
  end
  assert.is_true(gather(clients, 1), "a client's /who was not answered")
  local answers = {}
  for _, c in ipairs(clients) do answers[c.lines[1]] = true end
  return answers
end

-- Each client says one line; every client must hear all of them.
local function round(clients, tag)
  local said = {}
  for i, c in ipairs(clients) do
    said[i] = ("%s from %d\n"):format(tag, i)
    c.lines = {}
    c.sock:write(said[i])
  end
  if not gather(clients, #said) then
    local short = {}
    for i, c in ipairs(clients) do
      if #c.lines < #said then short[#short + 1] = ("client %d heard %d: %s"):format(i, #c.lines, table.concat(c.lines):gsub("\n", "|")) end
    end
    error(("%s: not every client heard all %d lines:\n%s"):format(tag, #said, table.concat(short, "\n")))
  end
  for _, c in ipairs(clients) do assert.are.same(sorted(said), sorted(c.lines)) end
end

describe("chat_server.lua", function()
  after_each(kit.cleanup)

  it("sends every line to every client, the sender too", function()
    local proc, port = helper.start_server(helper.quote_all(helper.LUANETD, helper.script("chat_server.lua")))
    kit.on_cleanup(proc.cleanup)
    local clients = {}
    for i = 1, 3 do clients[i] = connect(port) end
    assert.are.same({ ["worker 1\n"] = true }, join(clients))
    round(clients, "hello")
  end)

  it("is one room across two workers and through a reload", function()
    local d = kit.start([[
workers = 2
shutdown_timeout = 60000
service "chat" { script = "chat_server.lua", listen = "tcp://127.0.0.1:0" }
]], { ["chat_server.lua"] = assert(helper.slurp(dh.SCRIPTS .. "/chat_server.lua")) })
    local port = d.port("chat")
    local clients = {}
    for i = 1, 16 do clients[i] = connect(port) end
    assert.are.same({ ["worker 1\n"] = true, ["worker 2\n"] = true }, join(clients))
    round(clients, "before")

    local code, out, err = d.ctl("reload", "chat")
    assert.are.same(0, code, err)
    assert.are.same("chat: reloaded\n", out)
    local newcomers = {}
    for i = 17, 20 do
      clients[i] = connect(port)   -- on the new code
      newcomers[#newcomers + 1] = clients[i]
    end
    join(newcomers)
    round(clients, "after")
  end)
end)
