-- scripts/httpd.lua: a static file server. Files under --root are served
-- with their MIME type, ETag and Last-Modified (304 when unchanged), one
-- byte range (206, or 416), HEAD; a directory gets its index.html or a
-- listing. Bodies leave through sendFile: never read into Lua. Nothing
-- outside the root is served: a ".." segment, an encoded slash or NUL, or
-- a symlink that leads out of the root gets 403, and a name that is not
-- there 404. Repeated slashes are merged (as nginx's merge_slashes): a
-- directory asked for without its trailing slash is redirected to its
-- canonical path, a Location that starts with one "/" (never "//host/",
-- which a browser reads as another host); a file asked for with a
-- trailing slash is 404 (as nginx). A target that is no path ("*",
-- "a/b") gets 400; an absolute URI's path is served.
--
--   luanetd scripts/httpd.lua --root DIR [--host H] [--port P] [--cert FILE --key FILE]
--   service "httpd" { script = "scripts/httpd.lua", listen = "tcp://127.0.0.1:8080",
--                     options = { root = "www" } }   -- relative to the daemon's directory
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "httpd.lua --root DIR [--host H] [--port P] [--log yes] [--cert FILE --key FILE]"

local MIME = {
  html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8", txt = "text/plain; charset=utf-8",
  css = "text/css", js = "text/javascript", json = "application/json", xml = "application/xml",
  png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif", svg = "image/svg+xml",
  ico = "image/x-icon", webp = "image/webp", pdf = "application/pdf", zip = "application/zip",
  gz = "application/gzip", tar = "application/x-tar", wasm = "application/wasm", mp4 = "video/mp4",
  mp3 = "audio/mpeg", woff2 = "font/woff2", lua = "text/plain; charset=utf-8", md = "text/markdown; charset=utf-8",
}

local function mime_type(path)
  local ext = path:match("%.([%w]+)$")
  return ext and MIME[ext:lower()] or "application/octet-stream"
end

local function escape_html(s)
  return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }))
end

local function escape_url(s)
  return (s:gsub("[^%w%-._~/]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- "Sun, 06 Nov 1994 08:49:37 GMT" -> seconds since the epoch, or nil.
local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
                 Nov = 11, Dec = 12 }
local function parse_http_date(s)
  local d, mon, y, h, mi, sec = (s or ""):match("^%a+, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = MONTHS[mon or ""]
  if not m then return nil end
  y, m, d = tonumber(y), m, tonumber(d)
  -- days from 1970-01-01 to y-m-d (proleptic Gregorian)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- The path of a request target: origin-form ("/a/b") as it is, and the
-- path of absolute-form ("http://host/a/b", "http://host" being "/");
-- nil for anything else ("*", "a/b"), which gets 400.
local function target_path(target)
  if target:sub(1, 1) == "/" then return target end
  local path = target:match("^%a[%w+.-]*://[^/]*(.*)$")
  if path then return path == "" and "/" or path end
  return nil
end

-- The request path as segments, empty and "." ones dropped (so "//sub"
-- is "/sub"), and whether it names a directory (it ends with "/" or
-- "/."); or a status: 400 for bad encoding, 403 for what could reach
-- outside the root.
local function segments(path)
  if path:find("%%2[fF]") or path:find("%%5[cC]") or path:find("%%00") then return nil, 403 end
  local bad = false
  local decoded = path:gsub("%%(..)", function(h)
    local n = tonumber(h, 16)
    if not n then bad = true return "" end
    return string.char(n)
  end)
  if bad then return nil, 400 end
  if decoded:find("%z") or decoded:find("\\", 1, true) then return nil, 403 end
  local out = {}
  for seg in decoded:gmatch("[^/]+") do
    if seg == ".." then return nil, 403 end
    if seg ~= "." then out[#out + 1] = seg end
  end
  return out, nil, decoded:sub(-1) == "/" or decoded:sub(-2) == "/."
end

-- The canonical path of a directory's segments, for a Location: one
-- leading slash, each segment encoded (a name's "?" or "#" must not end
-- the path), a trailing slash.
local function directory_url(segs)
  local parts = {}
  for i, seg in ipairs(segs) do parts[i] = escape_url(seg) .. "/" end
  return "/" .. table.concat(parts)
end

local function error_page(res, status, extra)
  res.statusCode = status
  res:setHeader("Content-Type", "text/plain; charset=utf-8")
  for k, v in pairs(extra or {}) do res:setHeader(k, v) end
  res:finish(("%d %s\n"):format(status, net.http.REASONS[status] or ""))
end

local function listing(res, dir, names, shown)
  local rows = {}
  for _, name in ipairs(names) do
    local st = net.stat(dir .. "/" .. name)
    local slash = st and st.type == "directory" and "/" or ""
    rows[#rows + 1] = ('<li><a href="%s%s">%s%s</a></li>'):format(escape_url(name), slash, escape_html(name), slash)
  end
  res:setHeader("Content-Type", "text/html; charset=utf-8")
  res:finish(('<!doctype html>\n<html><head><meta charset="utf-8"><title>Index of %s</title></head>\n' ..
              '<body><h1>Index of %s</h1>\n<ul>\n%s\n</ul></body></html>\n')
    :format(escape_html(shown), escape_html(shown), table.concat(rows, "\n")))
end

-- One byte range of `size`: offset, length; or nil and a 416; or nothing
-- when the header is absent or asks for several ranges (then: the whole).
local function byte_range(header, size)
  if not header then return nil end
  local a, b = header:match("^bytes=(%d*)-(%d*)$")
  if not a then return nil end   -- several ranges, or another unit: serve it whole
  if a == "" and b == "" then return nil, 416 end
  local first, last
  if a == "" then
    local n = tonumber(b)
    if n == 0 then return nil, 416 end
    first, last = math.max(0, size - n), size - 1
  else
    first = tonumber(a)
    last = b == "" and size - 1 or math.min(tonumber(b), size - 1)
  end
  if first >= size or last < first then return nil, 416 end
  return first, last - first + 1
end

local function serve_file(req, res, path, st)
  local etag = ('"%x-%x-%x"'):format(st.size, st.mtime, st.mtime_ns)
  res:setHeader("ETag", etag)
  res:setHeader("Last-Modified", net.http.date(st.mtime))
  res:setHeader("Accept-Ranges", "bytes")
  local inm = req.headers["if-none-match"]
  local ims = parse_http_date(req.headers["if-modified-since"])
  if (inm and (inm == etag or inm == "*" or inm:find(etag, 1, true))) or (not inm and ims and st.mtime <= ims) then
    res.statusCode = 304
    return res:finish()
  end
  local offset, length = byte_range(req.headers["range"], st.size)
  if length == 416 or (offset == nil and length) then
    return error_page(res, 416, { ["Content-Range"] = ("bytes */%d"):format(st.size) })
  end
  res:setHeader("Content-Type", mime_type(path))
  if offset then
    res.statusCode = 206
    res:setHeader("Content-Range", ("bytes %d-%d/%d"):format(offset, offset + length - 1, st.size))
    return res:sendFile(path, offset, length)
  end
  res:sendFile(path, 0, st.size)
end

local function handler(root)
  return function(req, res)
    if req.method ~= "GET" and req.method ~= "HEAD" then
      return error_page(res, 405, { Allow = "GET, HEAD" })
    end
    local target = target_path(req.path)
    if not target then return error_page(res, 400) end
    local segs, status, names_dir = segments(target)
    if not segs then return error_page(res, status) end
    local path = root .. (#segs > 0 and "/" .. table.concat(segs, "/") or "")
    local real = net.realpath(path)
    if not real then return error_page(res, 404) end
    if real ~= root and real:sub(1, #root + 1) ~= root .. "/" then return error_page(res, 403) end
    local st = net.stat(real)
    if not st then return error_page(res, 404) end
    if st.type == "directory" then
      if not names_dir then   -- built from the segments, not the target: never "//sub/"
        return error_page(res, 301, { Location = directory_url(segs) .. (req.query and "?" .. req.query or "") })
      end
      local index = net.stat(real .. "/index.html")
      if index and index.type == "file" then return serve_file(req, res, real .. "/index.html", index) end
      local names = net.readdir(real)
      if not names then return error_page(res, 403) end
      return listing(res, real, names, "/" .. table.concat(segs, "/") .. (#segs > 0 and "/" or ""))
    end
    if names_dir then return error_page(res, 404) end   -- "/file.txt/": no such directory
    if st.type ~= "file" then return error_page(res, 403) end
    serve_file(req, res, real, st)
  end
end

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, root = false, log = "no",
                                    cert = false, key = false, alpn = "h2,http/1.1" }, ...)
  if not opts.root then cli.usage_error(USAGE, "no --root DIR") end
  local root = net.realpath(opts.root)
  local st = root and net.stat(root)
  if not st or st.type ~= "directory" then cli.fail(("not a directory: %s"):format(opts.root), 2) end
  local tcp, err = cli.listen(opts)
  if not tcp then cli.fail(err) end
  local service = type((...)) == "table" and (...) or nil
  local log
  if opts.log == "yes" or opts.log == true then
    log = service and service.log.info or function(line) io.stderr:write(line, "\n") end
  end
  local server = net.HttpServer{ accessLog = log }
  server.request:connect(handler(root))
  server:serve(tcp)
  if service then service.stopping:connect(function() server:closeIdle() end) end
end

cli.run(main, ...)
