-- spec/unit/api_docs_spec.lua: the API reference in docs/api, which
-- tools/api-docs.sh makes with LDoc from the code's own doc comments,
-- against the library that runs. Every method, signal, constructor and
-- enum value that a class exposes at run time has its entry (a method
-- added without a doc comment fails here); the committed pages are what
-- the comments make today; each class page names its Qt counterpart.
local net = require "luanet"

local API = "docs/api"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Names that are the library's own, not the API: a leading underscore
-- (ws:_attach, net._dns, WebSocket._acceptKey, res:_upgrade, ...), which
-- the Lua half of a class uses to reach its C half.
local function internal(name)
  return name:sub(1, 1) == "_"
end

-- The reference as LDoc wrote it: every item's anchor (<a name = "X">:
-- "TcpSocket:readAll", "TcpSocket.readyRead", "net.TcpSocket", a
-- module's "exec"), with the page it is on; every enum value and field
-- (<span class="parameter">X</span>) per page; and each page's text.
local reference = { anchors = {}, page_anchors = {}, params = {}, pages = {} }
do
  for _, kind in ipairs { "classes", "modules" } do
    for _, file in ipairs(assert(net.readdir(API .. "/" .. kind))) do
      local page = file:match("^(.+)%.html$")
      if page then
        local html = read(API .. "/" .. kind .. "/" .. file)
        reference.pages[page] = html
        reference.params[page], reference.page_anchors[page] = {}, {}
        for name in html:gmatch('<a name = "([^"]+)"') do
          reference.anchors[name] = page
          reference.page_anchors[page][name] = true
        end
        for name in html:gmatch('<span class="parameter">([^<]+)</span>') do reference.params[page][name] = true end
      end
    end
  end
end

-- What a class exposes at run time.
local registry = debug.getregistry()

-- A C class's methods and signal names, from the __index closure of its
-- metatable (daemon/core/object.c: upvalue 1 the methods, upvalue 2 signal
-- name -> id). Channel wraps that closure in one of its own (upvalue 1).
local function c_members(tname)
  local mt = assert(registry[tname], tname .. " is not registered")
  local index = mt.__index
  if type(index) == "table" then return index, {} end
  local _, up1 = debug.getupvalue(index, 1)
  if type(up1) == "function" then
    index = up1
    _, up1 = debug.getupvalue(index, 1)
  end
  local _, up2 = debug.getupvalue(index, 2)
  return up1, type(up2) == "table" and up2 or {}
end

-- An object's signals: the fields that are Signals (a Lua class makes
-- them in its constructor).
local function lua_signals(obj)
  local signals = {}
  for k, v in pairs(obj) do
    if getmetatable(v) == registry["luanet.Signal"] then signals[k] = true end
  end
  return signals
end

local function names(t)
  local list = {}
  for k in pairs(t or {}) do
    if type(k) == "string" and not internal(k) then list[#list + 1] = k end
  end
  table.sort(list)
  return list
end

local function functions_of(t)
  local fns = {}
  for k, v in pairs(t) do
    if type(v) == "function" then fns[k] = true end
  end
  return fns
end

-- A lookup with a reply from nobody (the port refuses), so that
-- HostInfo's result object can be had without traffic off 127.0.0.1.
local function host_info_result()
  net.HostInfo.setNameServers({ "127.0.0.1:9" }, { timeout = 200, tries = 1 })
  local info = net.HostInfo.fromName("api-docs-spec.invalid")
  net.HostInfo.setNameServers(nil)
  return info
end

-- Every class: its page, the pages whose entries it shares (its Qt base
-- class's), its methods, signals, class-table functions (statics) and
-- constants (enum values) at run time, and its Qt counterpart (nil: none).
local function classes()
  local list = {}
  local function c_class(name, qt, bases)
    local methods, signals = c_members("luanet." .. name)
    local statics, constants = {}, {}
    for k, v in pairs(net[name]) do
      if type(v) == "function" then statics[k] = true
      elseif type(v) == "string" or type(v) == "number" then constants[k] = true end
      -- tables (HttpServer.REASONS, .Request, .Response) are documented
      -- where they are used, and their methods are classes of their own
    end
    list[#list + 1] = { name = name, qt = qt, bases = bases or {}, methods = methods, signals = signals,
                        statics = statics, constants = constants, constructor = "net." .. name }
  end
  c_class("Timer", "QTimer")
  c_class("HostAddress", "QHostAddress")
  c_class("TcpSocket", "QTcpSocket", { "AbstractSocket" })
  c_class("TcpServer", "QTcpServer")
  c_class("UdpSocket", "QUdpSocket", { "AbstractSocket" })
  c_class("HttpParser", nil)
  c_class("HttpServer", "QHttpServer")
  c_class("WebSocket", "QWebSocket", { "AbstractSocket" })
  c_class("SharedDict", nil)
  c_class("Channel", nil)

  list[#list + 1] = { name = "HttpRequest", qt = "QHttpServerRequest", methods = net.HttpServer.Request }
  list[#list + 1] = { name = "HttpResponse", qt = "QHttpServerResponder", methods = net.HttpServer.Response }
  list[#list + 1] = { name = "Signal", qt = "QObject::connect", methods = registry["luanet.Signal"].__index,
                      constructor = "net.Signal" }
  -- connect's handle: documented on Signal's page (Connection:disconnect)
  list[#list + 1] = { name = "Connection", page = "Signal", methods = registry["luanet.Connection"].__index }

  local function lua_class(name, qt, obj, extra)
    local entry = { name = name, qt = qt, methods = getmetatable(obj).__index, signals = lua_signals(obj),
                    constructor = "net." .. name }
    for k, v in pairs(extra or {}) do entry[k] = v end
    list[#list + 1] = entry
  end
  lua_class("Http", "QHttp", net.Http())
  lua_class("Ftp", "QFtp", net.Ftp())
  lua_class("FtpServer", nil, net.FtpServer { root = "." })
  lua_class("WebSocketServer", "QWebSocketServer", net.WebSocketServer("api-docs"))
  lua_class("DataStream", "QDataStream", net.DataStream())

  local statics, constants = {}, {}
  for k, v in pairs(net.HostInfo) do
    if type(v) == "function" then statics[k] = true else constants[k] = true end
  end
  list[#list + 1] = { name = "HostInfo", qt = "QHostInfo", methods = getmetatable(host_info_result()).__index,
                      statics = statics, constants = constants }

  -- Redis's signals (message, pmessage) are made by a function __index
  -- when first touched, so there is no list of them to walk here.
  local redis = require "luanet.redis"
  local redis_statics = {}
  for k, v in pairs(redis) do
    if type(v) == "function" then redis_statics[k] = true end
  end
  list[#list + 1] = { name = "Redis", methods = redis.methods, statics = redis_statics }
  list[#list + 1] = { name = "RedisPool", page = "Redis", methods = redis.pool_methods }
  return list
end

-- The modules of functions: module page, table.
local MODULES = {
  { page = "net", t = require "luanet.core" },
  { page = "json", t = net.json },
  { page = "http", t = require "luanet.http" },
  { page = "ftp", t = require "luanet.ftp" },
}

describe("docs/api (tools/api-docs.sh)", function()
  it("documents every method, signal, constructor and enum value the classes have", function()
    local missing = {}
    local function need(ok, what)
      if not ok then missing[#missing + 1] = what end
    end
    for _, c in ipairs(classes()) do
      local pages = { c.page or c.name }
      assert.is_string(reference.pages[pages[1]], "no page for class " .. c.name)
      for _, b in ipairs(c.bases or {}) do pages[#pages + 1] = b end
      -- "TcpSocket:readAll", or the base's "AbstractSocket:state"; a class
      -- documented on another's page keeps its own name ("Connection:disconnect")
      local function has_anchor(sep, name)
        if reference.anchors[c.name .. sep .. name] then return true end
        for _, b in ipairs(c.bases or {}) do
          if reference.anchors[b .. sep .. name] then return true end
        end
        return false
      end
      for _, m in ipairs(names(functions_of(c.methods))) do
        need(has_anchor(":", m), c.name .. ":" .. m)
      end
      for _, s in ipairs(names(c.signals)) do
        need(has_anchor(".", s), c.name .. "." .. s .. " (signal)")
      end
      for _, f in ipairs(names(c.statics)) do
        need(has_anchor(".", f), c.name .. "." .. f .. " (function of the class)")
      end
      for _, k in ipairs(names(c.constants)) do
        local found = false
        for _, p in ipairs(pages) do found = found or reference.params[p][k] == true end
        need(found, c.name .. "." .. k .. " (enum value)")
      end
      if c.constructor then need(reference.anchors[c.constructor] ~= nil, c.constructor .. " (constructor)") end
    end
    for _, m in ipairs(MODULES) do
      assert.is_string(reference.pages[m.page], "no page for module " .. m.page)
      for _, k in ipairs(names(m.t)) do
        local v = m.t[k]
        if type(v) == "function" then
          -- a module's function ("exec"), or a constructor on its class's page ("net.Signal")
          need(reference.page_anchors[m.page][k] or reference.anchors[m.page .. "." .. k] ~= nil,
               m.page .. "." .. k .. " (function)")
        elseif type(v) ~= "table" or m.page ~= "net" then
          -- net's tables are the classes, checked above; other modules' fields have entries
          need(reference.page_anchors[m.page][k], m.page .. "." .. k .. " (field)")
        end
      end
    end
    assert.are.same({}, missing)
  end)

  it("is what tools/api-docs.sh makes from the comments now", function()
    local p = assert(io.popen("mktemp -d"))
    local tmp = p:read("l")
    p:close()
    finally(function() os.execute("rm -rf '" .. tmp .. "'") end)
    local run = assert(io.popen("tools/api-docs.sh '" .. tmp .. "' 2>&1"))
    local out = run:read("a")
    local ok = run:close()
    assert.is_true(ok, "tools/api-docs.sh failed:\n" .. out)
    local diff = assert(io.popen("diff -r '" .. API .. "' '" .. tmp .. "' 2>&1"))
    local differences = diff:read("a")
    diff:close()
    assert.are.same("", differences,
      "docs/api differs from what the comments make: run tools/api-docs.sh and commit docs/api")
  end)

  it("names the Qt counterpart on each class page", function()
    for _, c in ipairs(classes()) do
      local html = reference.pages[c.page or c.name]
      local qt = html:match('<p class="qt"><strong>Qt:</strong> ([^<]*)</p>')
      assert.is_string(qt, c.name .. "'s page says nothing of Qt")
      if c.qt then
        assert.is_truthy(qt:find(c.qt, 1, true), ("%s's page names %q, not %s"):format(c.name, qt, c.qt))
      end
    end
  end)
end)
