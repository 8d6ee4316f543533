-- spec/integration/freespace_spec.lua: scripts/freespace.lua as a user runs
-- it. Responders and askers run as real luanetd processes. On loopback the
-- asker broadcasts to 127.255.255.255 and the responders, which all share
-- one file system, report --free-bytes (the test-only override) so that
-- they differ. Peers that misbehave (garbage senders, a responder with
-- malformed and stale answers) are Python sockets with their own encoder,
-- so they also check the wire format from outside. Across hosts, the spec
-- builds three network namespaces joined by a bridge in a fourth (veth
-- pairs, 10.77.0.0/24, nothing on the host's own interfaces), runs a
-- responder with its own host name (UTS namespace) and its own tmpfs
-- (private mount namespace) in two of them and the asker in the third.
-- Each `it` has one `finally` that undoes everything it made, in reverse.
local helper = require "helper"
local discovery = require "luanet.discovery"
local net = helper.net

local LUANETD = helper.LUANETD
local PYTHON = "env -u LD_PRELOAD /usr/bin/python3"   -- no sanitizer runtime in peers

local quote_all = helper.quote_all

-- scripts/freespace.lua from the spec file's copy (helper.script).
local function freespace(...)
  return ("%s %s %s"):format(LUANETD, helper.quote(helper.script("freespace.lua")), quote_all(...))
end

local function python(source, ...)
  return ("%s -c %s %s"):format(PYTHON, helper.quote(source), quote_all(...))
end

local slurp = helper.slurp

local function hostname()
  return (assert(slurp("/proc/sys/kernel/hostname")):gsub("\n$", ""))
end

local function my_pid()
  return assert(slurp("/proc/self/stat")):match("^(%d+)")
end

local hex, unhex = helper.hex, helper.unhex

local function lines(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- Undo actions, run last-added first; run() empties the list, so calling it
-- at the end of an `it` and again from `finally` is harmless.
local function cleanups()
  local list = {}
  local c = {}
  function c.add(fn) list[#list + 1] = fn end
  function c.run()
    while #list > 0 do
      local fn = table.remove(list)
      local ok, err = pcall(fn)
      if not ok then io.stderr:write("cleanup failed: ", tostring(err), "\n") end
    end
  end
  return c
end

-- Starts a responder command and reads its first line; returns proc and
-- the port it bound. The process is killed by the it's cleanup.
local function start_responder(clean, cmd)
  local proc, port = helper.start_server(cmd, helper.TIMEOUT * 2)
  clean.add(proc.cleanup)
  return proc, port
end

-- A UDP port that nothing is bound to a moment ago.
local function free_udp_port()
  local code, out = helper.execute(python([==[
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
]==]))
  assert(code == 0)
  return math.tointeger(tonumber(out))
end

-- Sends each garbage datagram (hex, or "big:N" for N 0xff bytes) to
-- 127.0.0.1:PORT, prints any reply as "garbage-reply HEX", then sends the
-- query (hex, last) and prints the reply as "reply HEX ADDR PORT".
local GARBAGE_PEER = [==[
import socket, sys
port = int(sys.argv[1])
def payload(arg):
    return b"\xff" * int(arg[4:]) if arg.startswith("big:") else bytes.fromhex(arg)
garbage = [payload(a) for a in sys.argv[2:-1]]
query = bytes.fromhex(sys.argv[-1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
for g in garbage:
    s.sendto(g, ("127.0.0.1", port))
s.settimeout(0.5)
try:
    while True:
        d, a = s.recvfrom(70000)
        print("garbage-reply", d.hex(), flush=True)
except socket.timeout:
    pass
s.settimeout(5)
s.sendto(query, ("127.0.0.1", port))
d, a = s.recvfrom(70000)
print("reply", d.hex(), a[0], a[1], flush=True)
]==]

-- A responder that answers one query with everything an asker must drop,
-- each bigger than the one good answer, then that good answer twice. Its
-- encoder is its own (struct), written from discovery.lua's table.
local BAD_RESPONDER = [==[
import socket, struct, sys
def answer(qid, host, free, magic=b"LNDS", version=1, kind=2):
    h = host.encode() if isinstance(host, str) else host
    return struct.pack(">4sBBIQB", magic, version, kind, qid, free, len(h)) + h
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 0))
print("The server is running on IP: 0.0.0.0 port: %d" % s.getsockname()[1], flush=True)
s.settimeout(10)
d, a = s.recvfrom(70000)
magic, version, kind, qid = struct.unpack(">4sBBI", d)
assert (magic, version, kind, len(d)) == (b"LNDS", 1, 1, 10), d
for reply in [
    b"garbage",
    answer(qid ^ 1, "stale", 9000),                    # another query's id
    answer(qid, b"bad\xffutf8", 9001),                 # not UTF-8
    answer(qid, "two words", 9002),                    # a space
    answer(qid, "v2", 9003, version=2),                # unknown version
    answer(qid, "magic", 9004, magic=b"XNDS"),         # wrong magic
    answer(qid, "kind", 9005, kind=1),                 # not an answer
    answer(qid, "huge", 2**63),                        # out of range
    answer(qid, "trailing", 9006) + b"x",              # oversize
    answer(qid, "truncated", 9007)[:-1],               # cut short
    answer(qid, "fake-host", 4242),
    answer(qid, "fake-host", 4242),                    # a repeat
]:
    s.sendto(reply, a)
print("sent", flush=True)
]==]

describe("scripts/freespace.lua on loopback", function()
  it("lists every responder and picks the one with the most free space", function()
    local clean = cleanups()
    finally(clean.run)
    local _, port = start_responder(clean, freespace("serve", "--port", 0, "--free-bytes", 1000000))
    start_responder(clean, freespace("serve", "--port", port, "--free-bytes", 5000000))
    start_responder(clean, freespace("serve", "--port", port, "--free-bytes", 3000000))

    local code, out, err = helper.execute(freespace("ask", "--port", port, "--wait", 1000))
    assert.are.same(0, code, err)
    local host = hostname()
    local got = lines(out)
    assert.are.same(4, #got, out)
    local answers = { table.unpack(got, 1, 3) }
    table.sort(answers)
    assert.are.same({
      ("%s 127.0.0.1 1000000"):format(host),
      ("%s 127.0.0.1 3000000"):format(host),
      ("%s 127.0.0.1 5000000"):format(host),
    }, answers)
    assert.are.same(("Best: %s 127.0.0.1 5000000"):format(host), got[4])
  end)

  it("answers with the free space of its --path by default", function()
    local clean = cleanups()
    finally(clean.run)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. helper.quote(dir)))
    clean.add(function() os.remove(dir) end)
    local _, port = start_responder(clean, freespace("serve", "--port", 0, "--path", dir))

    local code, out, err = helper.execute(freespace("ask", "--port", port, "--wait", 500))
    assert.are.same(0, code, err)
    local free = math.tointeger(tonumber(out:match("^%S+ 127%.0%.0%.1 (%d+)\n")))
    assert.truthy(free, out)
    -- Other processes write meanwhile: the figures agree within 256 MiB.
    local now = assert(net.statvfs(dir)).free
    assert.truthy(math.abs(now - free) < 256 * 1024 * 1024, ("answered %d, statvfs says %d"):format(free, now))
  end)

  it("ignores garbage and keeps answering queries", function()
    local clean = cleanups()
    finally(clean.run)
    local responder, port = start_responder(clean, freespace("serve", "--port", 0, "--free-bytes", 777))
    local query = discovery.encode_query(0x12345678)
    local garbage = {
      "",                                                     -- an empty datagram
      hex("hello"),
      hex("LNDX" .. query:sub(5)),                            -- wrong magic
      hex(query:sub(1, 4) .. "\2" .. query:sub(6)),           -- version 2
      hex(query:sub(1, 9)),                                   -- truncated
      hex(query .. "\0"),                                     -- oversize
      hex(discovery.encode_answer(0x12345678, "x", 1)),       -- an answer, not a query
      "big:60000",                                            -- a large datagram
    }
    local args = { port }
    for _, g in ipairs(garbage) do args[#args + 1] = g end
    args[#args + 1] = hex(query)
    local code, out, err = helper.execute(python(GARBAGE_PEER, table.unpack(args)))
    assert.are.same(0, code, err)
    assert.falsy(out:find("garbage-reply"), out)
    local reply, addr = out:match("^reply (%x+) (%S+) %d+\n$")
    assert.truthy(reply, out)
    assert.are.same("127.0.0.1", addr)
    assert.are.same({ id = 0x12345678, host = hostname(), free = 777 }, discovery.decode_answer(unhex(reply)))

    -- And the real asker still gets its answer.
    local acode, aout, aerr = helper.execute(freespace("ask", "--port", port, "--wait", 500))
    assert.are.same(0, acode, aerr)
    assert.are.same(("%s 127.0.0.1 777\nBest: %s 127.0.0.1 777\n"):format(hostname(), hostname()), aout)
    assert.is_nil(responder.exit_code())
  end)

  it("drops malformed answers, answers to another query and repeats", function()
    local clean = cleanups()
    finally(clean.run)
    local fake, port = start_responder(clean, python(BAD_RESPONDER))
    local code, out, err = helper.execute(freespace("ask", "--port", port, "--wait", 1000))
    assert.truthy(fake.wait_line("sent\n"), fake.stderr())
    assert.are.same(0, code, err)
    assert.are.same("fake-host 127.0.0.1 4242\nBest: fake-host 127.0.0.1 4242\n", out)
  end)

  it("exits 1 with a message when no one answers", function()
    local port = free_udp_port()
    local code, out, err = helper.execute(freespace("ask", "--port", port, "--wait", 300))
    assert.are.same(1, code)
    assert.are.same("", out)
    assert.are.same(("No answer to the query on 127.255.255.255 port %d within 300 ms.\n"):format(port), err)
  end)

  it("exits 2 with the usage on a bad command line", function()
    for _, args in ipairs({ {}, { "listen" }, { "ask", "--address", "nowhere" },
      { "ask", "--wait", "-1" }, { "serve", "--free-bytes", "lots" }, { "serve", "--bogus", "1" } }) do
      local code, out, err = helper.execute(freespace(table.unpack(args)))
      assert.are.same(2, code, table.concat(args, " "))
      assert.are.same("", out)
      assert.truthy(err:find("usage: freespace.lua serve", 1, true), err)
    end
  end)

  it("exits 1 when its --path has no file system figures", function()
    local code, out, err = helper.execute(freespace("serve", "--port", 0, "--path", "/nonexistent/dir"))
    assert.are.same(1, code)
    assert.are.same("", out)
    assert.are.same("Unable to read the free space: /nonexistent/dir: No such file or directory\n", err)
  end)
end)

describe("scripts/freespace.lua across network namespaces", function()
  -- Runs a command to its end; errors with its output unless it exits 0.
  local function sh(cmd)
    local code, out, err = helper.execute(cmd)
    if code ~= 0 then error(("%s: exit %s\n%s%s"):format(cmd, tostring(code), out, err), 2) end
    return out
  end

  -- Kills what is left in a namespace (only our own processes can be in
  -- it: its name is ours), then deletes it, which deletes its interfaces.
  local function delete_netns(name)
    os.execute(("for p in $(ip netns pids %s 2>/dev/null); do kill -KILL $p; done"):format(name))
    os.execute(("ip netns del %s 2>/dev/null"):format(name))
  end

  local function netns_names()
    local p = io.popen("ip netns list 2>/dev/null")
    local s = p:read("a")
    p:close()
    return s
  end

  it("names the host with the larger tmpfs", function()
    local clean = cleanups()
    finally(clean.run)
    local prefix = "lnfs" .. my_pid()
    local bridge = prefix .. "br"

    -- The bridge's namespace first: where that is refused, nothing else runs.
    local code, _, err = helper.execute("ip netns add " .. bridge)
    if code ~= 0 then
      pending("ip netns add is not permitted here (needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN): "
        .. err:gsub("\n$", ""))
    end
    clean.add(function() delete_netns(bridge) end)
    local ucode, _, uerr = helper.execute("unshare --uts --mount true")
    if ucode ~= 0 then pending("unshare --uts --mount is not permitted here: " .. uerr:gsub("\n$", "")) end

    sh(("ip -n %s link add br0 type bridge"):format(bridge))
    sh(("ip -n %s link set br0 up"):format(bridge))
    local hosts = {
      { ns = prefix .. "a", addr = "10.77.0.1", name = "alpha", size = 4 * 1024 * 1024 },
      { ns = prefix .. "b", addr = "10.77.0.2", name = "bravo", size = 8 * 1024 * 1024 },
      { ns = prefix .. "c", addr = "10.77.0.3" },   -- the asker
    }
    for i, h in ipairs(hosts) do
      sh("ip netns add " .. h.ns)
      clean.add(function() delete_netns(h.ns) end)
      -- Made inside the namespaces: no interface ever exists on the host.
      sh(("ip -n %s link add eth0 type veth peer name v%d netns %s"):format(h.ns, i, bridge))
      sh(("ip -n %s link set v%d master br0 up"):format(bridge, i))
      sh(("ip -n %s addr add %s/24 brd + dev eth0"):format(h.ns, h.addr))
      sh(("ip -n %s link set lo up"):format(h.ns))
      sh(("ip -n %s link set eth0 up"):format(h.ns))
    end

    -- A responder per host: its own host name (UTS namespace) and a tmpfs
    -- of its own size, mounted in a private mount namespace that dies
    -- with it. The mount point is an empty directory on the host.
    for i = 1, 2 do
      local h = hosts[i]
      h.dir = os.tmpname()
      os.remove(h.dir)
      sh("mkdir " .. helper.quote(h.dir))
      clean.add(function() os.remove(h.dir) end)
      local inner = ("hostname %s && mount -t tmpfs -o size=%d lnfs %s && exec %s"):format(
        h.name, h.size, helper.quote(h.dir), freespace("serve", "--path", h.dir))
      start_responder(clean, ("ip netns exec %s unshare --uts --mount sh -c %s"):format(h.ns, helper.quote(inner)))
    end
    -- Nothing leaked to the host: neither mount nor host name.
    local mounts = assert(slurp("/proc/self/mountinfo"))
    for i = 1, 2 do assert.falsy(mounts:find(hosts[i].dir, 1, true), hosts[i].dir .. " is mounted on the host") end
    assert.are_not.same("alpha", hostname())
    assert.are_not.same("bravo", hostname())

    local out
    code, out, err = helper.execute(("ip netns exec %s %s"):format(hosts[3].ns,
      freespace("ask", "--address", "10.77.0.255", "--wait", 1500)), helper.TIMEOUT * 3)
    assert.are.same(0, code, err)
    local got = lines(out)
    assert.are.same(3, #got, out)
    local answers = { got[1], got[2] }
    table.sort(answers)
    assert.are.same({ "alpha 10.77.0.1 4194304", "bravo 10.77.0.2 8388608" }, answers)
    assert.are.same("Best: bravo 10.77.0.2 8388608", got[3])

    -- Tear down here too, to check that nothing is left.
    clean.run()
    assert.falsy(netns_names():find(prefix, 1, true), netns_names())
    for i = 1, 2 do assert.is_nil(io.open(hosts[i].dir)) end
  end)
end)
