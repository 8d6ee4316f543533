-- Our HTTP client against real servers: an nginx this spec starts on a
-- loopback port, and Python's http.server. The direct form
-- (net.http.get/request) and Qt's QHttp (net.Http).
local helper = require "helper"
local dh = require "support.daemon_helper"
local net = helper.net

local free_port = require("support.core_helper").free_port

-- nginx with the locations these specs ask for (support/nginx.lua).
local function start_nginx()
  local port, stop = require("support.nginx").start([[
    location = /hello { return 200 "nginx says hi\n"; }
    location = /conn { return 200 "$connection\n"; }
    location = /redirect { return 302 /hello; }
    location = /missing { return 404; }
    location = /echo { return 200 "$request_method $request_uri\n"; }]])
  return ("http://127.0.0.1:%d"):format(port), port, stop
end

local in_task = helper.in_task

describe("net.http against nginx", function()
  local base, port, stop
  setup(function() base, port, stop = start_nginx() end)
  teardown(function() stop() end)

  it("gets a body, a status and headers", function()
    in_task(function()
      local res = assert(net.http.get(base .. "/hello"))
      assert.are.same({ 200, "OK", "nginx says hi\n" }, { res.status, res.reason, res.body })
      assert.matches("^nginx", res.headers.server)
      res = assert(net.http.get(base .. "/missing"))
      assert.are.same(404, res.status)
    end)
  end)

  it("reuses a kept-alive connection for the next request", function()
    in_task(function()
      local a = assert(net.http.get(base .. "/conn"))
      local b = assert(net.http.get(base .. "/conn"))
      assert.are.same(a.body, b.body)   -- nginx's $connection: the same connection
    end)
  end)

  it("follows a redirect", function()
    in_task(function()
      local res = assert(net.http.get(base .. "/redirect"))
      assert.are.same({ 200, "nginx says hi\n", base .. "/hello" }, { res.status, res.body, res.url })
    end)
  end)

  it("runs QHttp's queue: ids, signals in order, readAll, lastResponse", function()
    local http = net.Http()
    local events = {}
    http.requestStarted:connect(function(id) events[#events + 1] = "started " .. id end)
    http.responseHeaderReceived:connect(function(r) events[#events + 1] = "head " .. r.statusCode end)
    http.requestFinished:connect(function(id, err)
      events[#events + 1] = ("finished %d %s %s"):format(id, tostring(err), http:readAll())
    end)
    local finished
    http.done:connect(function(err) finished = err end)
    assert.are.same({ 1, 2, 3 }, { http:setHost("127.0.0.1", port), http:get("/hello"), http:post("/echo", "x=1") })
    helper.run(5000, function() return finished ~= nil end)
    assert.are.same(false, finished)
    assert.are.same({ "started 1", "finished 1 false ", "started 2", "head 200", "finished 2 false nginx says hi\n",
                      "started 3", "head 200", "finished 3 false POST /echo\n" }, events)
    assert.are.same(200, http:lastResponse().statusCode)
    assert.are.same({ "NoError", "Connected" }, { http:error(), http:state() })
  end)

  it("reports ConnectionRefused and drops the queue after an error", function()
    local http = net.Http()
    local finished, seen = nil, {}
    http.requestFinished:connect(function(id, err) seen[#seen + 1] = { id, err } end)
    http.done:connect(function(err) finished = err end)
    http:setHost("127.0.0.1", free_port())
    http:get("/a")
    http:get("/b")
    helper.run(5000, function() return finished ~= nil end)
    assert.are.same(true, finished)
    assert.are.same({ { 1, false }, { 2, true } }, seen)
    assert.are.same({ "ConnectionRefused", "Connection refused" }, { http:error(), http:errorString() })
  end)
end)

describe("net.Http through a proxy", function()
  it("sends the absolute URI to the proxy, with Proxy-Authorization", function()
    local proxy = net.HttpServer()
    proxy.request:connect(function(req, res)
      res:finish(req.target .. " " .. (req.headers["proxy-authorization"] or "-"))
    end)
    assert(proxy:listen("127.0.0.1", 0))
    finally(function() proxy:close() end)
    local http = net.Http()
    local got, finished
    http.requestFinished:connect(function(id, err) if id == 3 then got = http:readAll() end end)
    http.done:connect(function(err) finished = err end)
    http:setProxy("127.0.0.1", proxy:serverPort(), "u", "p")
    http:setHost("example.test", 8000)
    http:get("/x?y=1")
    helper.run(5000, function() return finished ~= nil end)
    assert.are.same(false, finished)
    assert.are.same("http://example.test:8000/x?y=1 Basic dTpw", got)
  end)
end)

describe("net.http against Python's http.server", function()
  it("downloads a file into a sink", function()
    local dir = dh.tmpdir()
    local py
    -- busted keeps one finally per it (the last one given): one for both.
    finally(function()
      if py then py.cleanup() end
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    dh.write(dir .. "/f.txt", ("line\n"):rep(1000))
    py = helper.spawn("sh -c " .. helper.quote(("cd %s && exec env -u LD_PRELOAD /usr/bin/python3 -u -m http.server --bind 127.0.0.1 0")
      :format(helper.quote(dir))))
    local port = py.wait_line("port (%d+)")
    assert.is_not_nil(port, py.stderr())
    in_task(function()
      local chunks, progress = {}, 0
      local res = assert(net.http.request{ url = ("http://127.0.0.1:%s/f.txt"):format(port),
        sink = function(c) chunks[#chunks + 1] = c end, progress = function(done) progress = done end })
      assert.are.same(200, res.status)
      assert.are.same(("line\n"):rep(1000), table.concat(chunks))
      assert.are.same(5000, progress)
    end)
  end)
end)
