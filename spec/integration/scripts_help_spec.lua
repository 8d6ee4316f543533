-- spec/integration/scripts_help_spec.lua: every script in scripts/ answers
-- --help and -h with its usage on stdout and exit 0, under luanetd and
-- under a stock lua5.4, without opening a socket; and a bad option is
-- still exit 2 with the usage on stderr. The scripts are listed when the
-- spec runs, so a new script without --help fails here.
local helper = require "helper"

local STOCK_LUA = helper.quote_all("env", "LUA_PATH=lua/?.lua;lua/?/init.lua;;", "LUA_CPATH=build/?.so;;", "lua5.4")
local LIMIT = 5000   -- ms a script gets to answer; one that starts serving instead is cut off and fails

-- The *.lua files of scripts/, sorted.
local function scripts()
  local names = {}
  for _, name in ipairs(assert(helper.net.readdir("scripts"))) do
    if name:match("%.lua$") then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

local function run(interpreter, script, ...)
  return helper.execute(interpreter .. " " .. helper.quote_all("scripts/" .. script, ...), LIMIT)
end

-- "usage: NAME ..." on stdout and nothing else anywhere, exit 0.
local function assert_usage(script, code, out, err)
  assert.are.same(0, code, script .. ": " .. err)
  assert.are.same("", err, script)
  assert.are.same("usage: " .. script .. " ", out:sub(1, #script + 8), script .. ": " .. out)
end

local HAS_STRACE = os.execute("command -v strace >/dev/null 2>&1")

describe("scripts/*.lua --help", function()
  it("finds the scripts (run from the repository)", function()
    assert.is_true(#scripts() > 0, "no *.lua in scripts/")
  end)

  for _, script in ipairs(scripts()) do
    it(script .. " prints its usage and exits 0 under luanetd, for --help and -h", function()
      for _, flag in ipairs({ "--help", "-h" }) do
        assert_usage(script, run(helper.quote(helper.LUANETD), script, flag))
      end
    end)

    it(script .. " prints its usage and exits 0 under a stock lua5.4", function()
      for _, flag in ipairs({ "--help", "-h" }) do
        assert_usage(script, run(STOCK_LUA, script, flag))
      end
    end)

    it(script .. " still exits 2 with the usage on stderr for an unknown option", function()
      local code, out, err = run(helper.quote(helper.LUANETD), script, "--no-such-option", "1")
      assert.are.same({ 2, "" }, { code, out }, script .. ": " .. err)
      assert.is_truthy(err:find("\nusage: " .. script .. " ", 1, true), script .. ": " .. err)
    end)

    -- Under strace: not a socket made, bound or connected (so no server
    -- started and no name looked up). LeakSanitizer cannot run under
    -- ptrace, so the sanitizer build's leak check is off for this run.
    if HAS_STRACE then
      it(script .. " --help opens no socket", function()
        local trace = os.tmpname()
        finally(function() os.remove(trace) end)
        local asan = (os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0"
        local code, out, err = helper.execute(helper.quote_all("env", "ASAN_OPTIONS=" .. asan, "strace", "-f", "-qq",
          "-o", trace, "-e", "trace=socket,socketpair,bind,connect", helper.LUANETD, "scripts/" .. script, "--help"),
          LIMIT)
        assert_usage(script, code, out, err)
        assert.are.same("", helper.slurp(trace), script)
      end)
    else
      pending(script .. " --help opens no socket (strace is not installed)")
    end
  end
end)
