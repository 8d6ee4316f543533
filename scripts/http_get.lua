-- scripts/http_get.lua: Qt's HTTP example as a command. Downloads URL to
-- FILE (default: the last part of the URL's path, or index.html), following
-- redirects, with a progress bar (bytes, percent, rate) on stderr when
-- stderr is a terminal.
--
--   luanetd scripts/http_get.lua URL [-o FILE] [--cacert FILE] [-v] [--http1.1]
--
-- https:// URLs are verified against the system CA store, or the CA
-- certificates in --cacert FILE. HTTP/2 is used when the server offers it
-- (https:// only; --http1.1: never); -v says on stderr which protocol
-- carried the response, and its status line and fields. Exit status: 0 done; 1 the server
-- answered with an HTTP error status (the file is not kept); 2 a bad URL
-- or usage; 3 a network or DNS failure; 4 a TLS failure (a certificate not
-- trusted, the wrong host). Each failure says why on stderr.
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "http_get.lua URL [-o FILE] [--cacert FILE] [-v] [--http1.1]"
local EXIT = { url = 2, tls = 4 }   -- else 3: network, DNS

local function file_name(url)
  local u = assert(net.http.parse_url(url))
  local name = u.target:match("^[^?]*/([^/?]+)") or ""
  name = name:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  if name == "" or name == "." or name == ".." or name:find("/", 1, true) then name = "index.html" end
  return name
end

-- "  1.2 MiB  45%  3.4 MiB/s", redrawn in place.
local function size(n)
  local units = { "B", "KiB", "MiB", "GiB" }
  local u = 1
  while n >= 1024 and u < #units do n, u = n / 1024, u + 1 end
  return (u == 1 and "%d %s" or "%.1f %s"):format(n, units[u])
end

local function progress_bar(start)
  local last = 0
  return function(done, total)
    local now = net.clock()
    if now - last < 100 and done ~= total then return end
    last = now
    local rate = done / math.max(0.001, (now - start) / 1000)
    local pct = total and total > 0 and ("%3d%%"):format(done * 100 // total) or "  ?%"
    io.stderr:write(("\r%10s %s %10s/s "):format(size(done), pct, size(rate)))
  end
end

local function main(...)
  local args, opts = cli.parse(USAGE, { o = true, cacert = true, v = false, ["http1.1"] = false }, ...)
  local url = args[1]
  if not url then cli.usage_error(USAGE, "missing URL") end
  if args[2] then cli.usage_error(USAGE, "unexpected " .. args[2]) end
  local ok, why = net.http.parse_url(url)
  if not ok then cli.fail(("bad URL: %s"):format(why), 2) end
  local out, cacert = opts.o or file_name(url), opts.cacert
  local tty = net.isatty(2)
  local part = out .. ".part"
  local res, err, kind = net.http.request{ url = url, sink = part,
                                            tls = cacert and { caCertificates = cacert } or nil,
                                            progress = tty and progress_bar(net.clock()) or nil,
                                            http2 = not opts["http1.1"] }
  if tty then io.stderr:write("\n") end
  if res and opts.v then   -- as curl -v says it: "< HTTP/2 200"
    local lines = { ("< HTTP/%s %d %s"):format(res.httpVersion, res.status, res.reason) }
    for name, value in pairs(res.headers) do lines[#lines + 1] = ("< %s: %s"):format(name, value) end
    table.sort(lines, function(a, b) return a:sub(1, 7) == "< HTTP/" or (b:sub(1, 7) ~= "< HTTP/" and a < b) end)
    io.stderr:write(("protocol: HTTP/%s\n%s\n"):format(res.httpVersion, table.concat(lines, "\n")))
  end
  if not res then
    os.remove(part)
    cli.fail(("%s: %s"):format(url, err), EXIT[kind] or 3)
  end
  if res.status >= 400 then
    os.remove(part)
    cli.fail(("%s: HTTP %d %s"):format(res.url, res.status, res.reason), 1)
  end
  local moved, merr = os.rename(part, out)
  if not moved then cli.fail(("cannot write %s: %s"):format(out, merr), 3) end
  io.stderr:write(("%s: saved %s to %s\n"):format(res.url, size(tonumber(io.open(out):seek("end"))), out))
  return 0
end

cli.run(main, ...)
