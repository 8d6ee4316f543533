-- spec/integration/tcp_socket_descriptor_spec.lua: TcpSocket:setSocketDescriptor
-- on a real luanetd's stdin (spec/support/stdin_events.lua prints what the
-- socket sees): a pipe, /dev/null, a regular file and a socket, and the
-- descriptor given back blocking as it came.
local helper = require "helper"

local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"
local EVENTS = "spec/support/stdin_events.lua"

-- Runs stdin_events.lua with `stdin` (a shell redirection or a pipeline
-- before it); returns its lines of output, with the reads joined into one
-- "read" entry (a pipe may deliver in any number of reads).
local function events(before, after)
  local cmd = ("%s %s %s"):format(before or "", helper.quote_all(helper.LUANETD, EVENTS), after or "")
  local code, out, err = helper.execute(cmd)
  assert.are.same({ 0, "" }, { code, err }, out)
  local lines, data = {}, nil
  for line in out:gmatch("[^\n]+") do
    local q = line:match("^read (.*)$")
    if q then
      data = (data or "") .. assert(load("return " .. q))()
      if lines[#lines] ~= "read" then lines[#lines + 1] = "read" end
    else
      lines[#lines + 1] = line
    end
  end
  return lines, data
end

local ADOPTED = { "adopted true ConnectedState", "luanet.TcpSocket (ConnectedState fd 0)",
                  "nonblocking true", "peer true 0" }

local function with_adopted(...)
  local t = {}
  for _, l in ipairs(ADOPTED) do t[#t + 1] = l end
  for _, l in ipairs({ ... }) do t[#t + 1] = l end
  return t
end

describe("TcpSocket:setSocketDescriptor", function()
  it("reads a pipe with readyRead, then ends as a closed peer: errorOccurred, disconnected", function()
    local lines, data = events("printf 'a\\nb\\n' |")
    assert.are.same(with_adopted("read", "error RemoteHostClosedError", "disconnected"), lines)
    assert.are.same("a\nb\n", data)
  end)

  it("gives disconnected at once for </dev/null, with no readyRead", function()
    local lines = events(nil, "</dev/null")
    assert.are.same(with_adopted("error RemoteHostClosedError", "disconnected"), lines)
  end)

  it("reads a regular file of 300 KiB whole, in order, then disconnects", function()
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    local f = assert(io.open(path, "wb"))
    local want = {}
    for i = 1, 30000 do want[i] = ("%09d\n"):format(i) end
    want = table.concat(want)
    f:write(want)
    f:close()
    local lines, data = events(nil, "<" .. helper.quote(path))
    assert.are.same(with_adopted("read", "error RemoteHostClosedError", "disconnected"), lines)
    assert.are.same(#want, #data)
    assert.is_true(want == data, "the file came back changed")
  end)

  it("gives the shared pipe back blocking once the script ends", function()
    -- The shell and grep share the pipe's file description with luanetd.
    local script = helper.quote_all(helper.LUANETD, EVENTS)
    local code, out, err = helper.execute(("printf 'x\\n' | sh -c %s"):format(
      helper.quote(script .. " && grep ^flags: /proc/self/fdinfo/0")))
    assert.are.same({ 0, "" }, { code, err }, out)
    assert.truthy(out:find("nonblocking true\n", 1, true), out)
    local flags = assert(out:match("flags:%s*(%d+)"), out)
    assert.are.same(0, tonumber(flags, 8) & tonumber("4000", 8), "O_NONBLOCK left set: " .. flags)
  end)

  it("takes a socket (a socketpair) with the plain transport, reading and writing it", function()
    local py = [[
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:] + ["reply"], stdin=a, stdout=subprocess.PIPE)
a.close()
b.sendall(b"hello\n")
print("peer got", b.recv(100).decode().strip())
b.shutdown(socket.SHUT_WR)
sys.stdout.write(p.communicate()[0].decode())
sys.exit(p.returncode)
]]
    local code, out, err = helper.execute(("%s -c %s %s"):format(PYTHON, helper.quote(py),
      helper.quote_all(helper.LUANETD, EVENTS)))
    assert.are.same({ 0, "" }, { code, err }, out)
    assert.truthy(out:find("^peer got got 6\n"), out)
    assert.truthy(out:find('\nread "hello\\n"\nerror RemoteHostClosedError\ndisconnected\n$'), out)
  end)
end)
