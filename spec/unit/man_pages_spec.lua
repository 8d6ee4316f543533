-- spec/unit/man_pages_spec.lua: the man pages of docs/man/ against the code
-- they describe. Every setting and key that lua/luanet/daemon/config.lua
-- accepts has an entry in luanetd.conf(5), in its section; every option and
-- ctl command that luanetd's usage texts print has one in luanetd(8); and
-- groff, mandoc and man format both pages without a warning.
--
-- The accepted keys come from config.lua itself, twice: the lists it
-- exports (config.keys), and what config.load takes when asked: every word
-- of its source is tried as a setting, a service key, a key of log,
-- resolver and tls, and config.load says "unknown" of the words that are
-- not. A key added to config.lua later is a word of its source, so it is
-- found even if config.keys forgets it (and a spec here says so).
local helper = require "helper"

local CONFIG_LUA = "lua/luanet/daemon/config.lua"
local CONF_PAGE = "docs/man/luanetd.conf.5"
local DAEMON_PAGE = "docs/man/luanetd.8"

-- Where config.lua's keys are tried, and the section of luanetd.conf(5)
-- whose entries must name them. `probe(key)` is a config that uses key
-- there with a value of no type any key takes as it is (0, or a table for
-- a key that wants one, makes a type error, never "unknown").
local PLACES = {
  { what = "setting", exported = "settings", section = "SETTINGS",
    probe = function(k) return ("%s = 0\n"):format(k) end },
  { what = "service key", exported = "service", section = "SERVICES",
    probe = function(k) return ('service "s" { script = "s.lua", %s = 0 }\n'):format(k) end },
  { what = "log key", exported = "log", section = "The log table",
    probe = function(k) return ("log = { %s = 0 }\n"):format(k) end },
  { what = "resolver key", exported = "resolver", section = "The resolver table",
    probe = function(k) return ("resolver = { %s = 0 }\n"):format(k) end },
  { what = "tls key", exported = "tls", section = "The tls table",
    probe = function(k)
      return ('service "s" { script = "s.lua", listen = "tls://127.0.0.1:1", tls = { %s = 0 } }\n'):format(k)
    end },
}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local
            nil not or repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function read(path)
  return assert(helper.slurp(path), "cannot read " .. path)
end

-- The config module made from source text (config.lua, or a changed copy).
local function config_module(source)
  return assert(load(source, "@" .. CONFIG_LUA, "t"))()
end

-- Whether config.load's message says that key is unknown ("unknown setting
-- 'k'", "service \"s\": unknown key 'k'", "log: unknown key k").
local function says_unknown(message, key)
  local plain = message:gsub("'", "")
  return plain:find("unknown %a+ " .. key:gsub("%p", "%%%0") .. "%f[^%w_]") ~= nil
end

-- place.what -> sorted list of the keys config.load takes there, trying
-- every word of its source. `_name` globals are the file's own, not
-- settings.
local function probed_keys(source)
  local config = config_module(source)
  local words, seen = {}, {}
  for w in source:gmatch("[%a_][%w_]*") do
    if not seen[w] and not KEYWORDS[w] and w:sub(1, 1) ~= "_" then
      seen[w] = true
      words[#words + 1] = w
    end
  end
  table.sort(words)
  local keys = {}
  for _, place in ipairs(PLACES) do
    keys[place.what] = {}
    for _, w in ipairs(words) do
      local cfg, err = config.load("/tmp/man-pages-probe.conf", place.probe(w))
      if cfg or not says_unknown(err, w) then table.insert(keys[place.what], w) end
    end
  end
  return keys
end

-- What config.keys exports, as place.what -> sorted list.
local function exported_keys(source)
  local exported = config_module(source).keys or {}
  local keys = {}
  for _, place in ipairs(PLACES) do
    keys[place.what] = table.move(exported[place.exported] or {}, 1, #(exported[place.exported] or {}), 1, {})
    table.sort(keys[place.what])
  end
  return keys
end

-- Both, merged: what the page must have an entry for.
local function accepted_keys(source)
  local keys, exported = probed_keys(source), exported_keys(source)
  for what, list in pairs(exported) do
    local have = {}
    for _, k in ipairs(keys[what]) do have[k] = true end
    for _, k in ipairs(list) do
      if not have[k] then table.insert(keys[what], k) end
    end
    table.sort(keys[what])
  end
  return keys
end

-- Roff's text as words: escapes for fonts and quotes dropped, \- as -.
local function plain_text(line)
  return (line:gsub("^%.%a+%s*", "")      -- a font macro: .B, .BI, .BR ...
              :gsub("\\f%[[^%]]*%]", ""):gsub("\\f%(..", ""):gsub("\\f.", "")
              :gsub("\\%-", "-"):gsub("\\%(dq", '"'):gsub("\\&", "")
              :gsub('"', ""))
end

-- section title -> { entries = { name = true }, options = { "-x" = true } }:
-- the first word of each .TP/.TQ tag under that .SH or .SS, and every
-- option named in those tags.
local function page_entries(path)
  local sections, section = {}, nil
  local lines = {}
  for line in (read(path) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  for i, line in ipairs(lines) do
    local title = line:match("^%.S[HS]%s+(.+)$")
    if title then
      section = { entries = {}, options = {} }
      sections[(title:gsub('^"(.*)"$', "%1"))] = section
    elseif section and (line:match("^%.TP") or line:match("^%.TQ")) and lines[i + 1] then
      local tag = plain_text(lines[i + 1])
      local first = tag:match("^%s*([%w_.:/%-]+)")
      if first then section.entries[first] = true end
      for opt in (" " .. tag):gmatch("[%s,|%[](%-%-?%a[%w%-]*)") do section.options[opt] = true end
    end
  end
  return sections
end

-- The keys of `keys` with no entry in their section of the page.
local function missing_entries(sections, keys)
  local missing = {}
  for _, place in ipairs(PLACES) do
    local section = sections[place.section]
    for _, k in ipairs(keys[place.what]) do
      if not (section and section.entries[k]) then
        missing[#missing + 1] = ("%s '%s' (under %s)"):format(place.what, k, place.section)
      end
    end
  end
  return missing
end

-- The syntax part of each line of a usage text: "usage:" and the
-- description column (after two spaces) cut off.
local function usage_syntax(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("^%s*usage:", ""):gsub("^%s+", "")
    out[#out + 1] = line:match("^(.-)%s%s") or line
  end
  return out
end

-- The options and the ctl commands that usage texts name.
local function usage_words(text)
  local options, commands = {}, {}
  for _, line in ipairs(usage_syntax(text)) do
    for word in line:gmatch("[^%s%[%]|]+") do
      if word:match("^%-%-?%a[%w%-]*$") then options[word] = true end
    end
    local after = line:match("%f[%w]ctl%f[^%w](.*)$")
    if after then
      for word in after:gmatch("[^%s%[%]|]+") do
        if word:match("^%l+$") then commands[word] = true end
      end
    end
  end
  return options, commands
end

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- A command's exit code and everything it printed.
local function run(cmd)
  local code, out, err = helper.execute(cmd)
  return code, out .. err
end

local function have(program)
  return run("sh -c " .. helper.quote("command -v " .. program)) == 0
end

describe("luanetd.conf(5)", function()
  local source, keys, sections
  before_each(function()
    source = source or read(CONFIG_LUA)
    keys = keys or accepted_keys(source)
    sections = sections or page_entries(CONF_PAGE)
  end)

  it("finds the keys config.lua accepts by asking it", function()
    -- What config.lua took on the day this spec was written; more is fine.
    local known = {
      setting = { "control", "log", "metrics", "resolver", "shared", "shutdown_timeout", "user", "workers" },
      ["service key"] = { "cpu_limit", "listen", "max_connections", "memory_limit", "options", "reload",
                          "script", "tls" },
      ["log key"] = { "format", "level" },
      ["resolver key"] = { "servers", "timeout", "tries" },
      ["tls key"] = { "alpn", "ca", "caCertificates", "cert", "handshakeTimeout", "key", "localCertificate",
                      "peerVerifyMode", "privateKey", "protocol" },
    }
    for what, list in pairs(known) do
      local got = {}
      for _, k in ipairs(keys[what]) do got[k] = true end
      for _, k in ipairs(list) do assert.is_true(got[k] == true, ("%s '%s' not found"):format(what, k)) end
    end
    -- and not the other words of its source
    for what, list in pairs(keys) do
      for _, k in ipairs(list) do
        assert.is_nil(({ sandbox = true, path = true, error = true, dir = true, file = true })[k], what .. " " .. k)
      end
    end
  end)

  it("finds in config.keys what config.load takes", function()
    local probed, exported = probed_keys(source), exported_keys(source)
    -- `service "name" { ... }` is the sandbox's function, not a setting.
    probed.setting = (function()
      local l = {}
      for _, k in ipairs(probed.setting) do if k ~= "service" then l[#l + 1] = k end end
      return l
    end)()
    assert.are.same(probed, exported)
  end)

  it("has an entry for every setting and key that config.lua accepts", function()
    assert.are.same({}, missing_entries(sections, keys))
  end)

  it("would miss a key that config.lua gains without an entry", function()
    -- A copy of config.lua with one more setting, service key and tls key.
    local changed, n1, n2, n3 = source, 0, 0, 0
    changed, n1 = changed:gsub("function settings%.workers%(",
      "function settings.zz_new_setting(v) return v end\n%0", 1)
    changed, n2 = changed:gsub("SERVICE_KEYS = {", "%0 zz_new_service_key = \"number\",", 1)
    changed, n3 = changed:gsub("TLS_KEYS = {", "%0 zz_new_tls_key = \"number\",", 1)
    assert.are.same({ 1, 1, 1 }, { n1, n2, n3 }, "config.lua's layout changed: update this test's anchors")
    local before = {}
    for _, m in ipairs(missing_entries(sections, keys)) do before[m] = true end
    local added = {}
    for _, m in ipairs(missing_entries(sections, accepted_keys(changed))) do
      if not before[m] then added[#added + 1] = m end
    end
    assert.are.same({
      "setting 'zz_new_setting' (under SETTINGS)",
      "service key 'zz_new_service_key' (under SERVICES)",
      "tls key 'zz_new_tls_key' (under The tls table)",
    }, added)
  end)

  it("has an EXAMPLE that config.lua loads", function()
    local text = read(CONF_PAGE):match("\n%.SH EXAMPLE\n%.nf\n(.-)\n%.fi\n")
    assert.is_string(text, "no .nf block under EXAMPLE")
    text = text:gsub("\\%-", "-")
    -- Its tls files must be readable: two empty ones stand in.
    local pem, key = os.tmpname(), os.tmpname()
    finally(function() os.remove(pem) os.remove(key) end)
    text = text:gsub('"site%.pem"', ("%q"):format(pem)):gsub('"site%.key"', ("%q"):format(key))
    local cfg, err = config_module(source).load("/etc/luanetd/luanetd.conf", text)
    assert.is_table(cfg, err)
    assert.are.same(3, #cfg.services)
  end)

  it("does not take a mention in the text for an entry", function()
    -- "level" is in the SETTINGS section's text (log's tag), but only as
    -- an entry of "The log table".
    assert.is_nil(sections["SETTINGS"].entries.level)
    assert.is_true(sections["The log table"].entries.level)
  end)
end)

describe("luanetd(8)", function()
  it("has an entry for every option and ctl command of luanetd's usage texts", function()
    local code, help = run(helper.LUANETD .. " --help")
    assert.are.same(0, code, help)
    local ctl_code, ctl_usage = run(helper.LUANETD .. " ctl")
    assert.are.same(2, ctl_code, ctl_usage)
    local options, commands = usage_words(help .. ctl_usage)
    -- What the usage texts name today: the parsing works.
    for _, o in ipairs({ "-c", "--check", "-s", "--version" }) do assert.is_true(options[o], o) end
    for _, c in ipairs({ "reload", "status", "stop" }) do assert.is_true(commands[c], c) end

    local sections = page_entries(DAEMON_PAGE)
    local missing = {}
    for _, o in ipairs(sorted(options)) do
      if not sections["OPTIONS"].options[o] then missing[#missing + 1] = "option " .. o end
    end
    for _, c in ipairs(sorted(commands)) do
      if not sections["CONTROL COMMANDS"].entries[c] then missing[#missing + 1] = "ctl command " .. c end
    end
    -- --help is no part of the usage text it prints, but main.c takes it.
    for _, o in ipairs({ "-h", "--help" }) do
      if not sections["OPTIONS"].options[o] then missing[#missing + 1] = "option " .. o end
    end
    assert.are.same({}, missing)
  end)

  it("names the sections a daemon's page has", function()
    local sections = page_entries(DAEMON_PAGE)
    for _, s in ipairs({ "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONTROL COMMANDS", "SIGNALS",
                         "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO" }) do
      assert.is_table(sections[s], s)
    end
    for _, s in ipairs({ "SIGHUP", "SIGTERM", "SIGINT" }) do assert.is_true(sections["SIGNALS"].entries[s], s) end
  end)
end)

describe("the man pages", function()
  for _, page in ipairs({ DAEMON_PAGE, CONF_PAGE }) do
    it(page .. " formats without a warning (groff -ww, mandoc -Tlint, man --warnings)", function()
      for _, program in ipairs({ "groff", "mandoc", "man", "lexgrog" }) do
        assert.is_true(have(program), program .. " is not installed (groff-base, mandoc, man-db: TEST_DEPS)")
      end
      local q = helper.quote(page)
      assert.are.same({ 0, "" }, { run("groff -man -ww -z -Tutf8 " .. q) })
      assert.are.same({ 0, "" }, { run("mandoc -Tlint " .. q) })
      -- As lintian runs it (manpage-has-errors-from-man).
      assert.are.same({ 0, "" }, { run("env LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 "
                                       .. "-l -Tutf8 -Z " .. q .. " 2>&1 >/dev/null") })
      -- whatis(1) and apropos(1) read the NAME section.
      local code, out = run("lexgrog " .. q)
      assert.are.same(0, code, out)
      assert.matches(': "luanetd[%w.]* %- ', out)
    end)
  end
end)
