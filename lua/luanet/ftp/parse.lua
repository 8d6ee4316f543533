-- luanet.ftp.parse: what FTP reads from the network, as pure functions
-- (so the fuzz target can drive them): for the client, reply lines,
-- passive addresses, LIST lines in Unix and DOS styles and MLSD facts; for
-- the server, the addresses of PORT and EPRT and the path a command
-- names. None of them builds a pattern from its input.
local parse = {}

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8, sep = 9, oct = 10,
                 nov = 11, dec = 12 }

-- One reply line: code, text, and whether more lines follow ("ddd-").
-- nil for a line that is not a reply's first line (a continuation).
function parse.reply_line(line)
  local code, sep, text = line:match("^(%d%d%d)([ -]?)(.*)$")
  if not code then return nil end
  return tonumber(code), text, sep == "-"
end

-- 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2): host, port; nil when the
-- text has no valid address.
function parse.pasv(text)
  local h1, h2, h3, h4, p1, p2 = text:match("(%d+),(%d+),(%d+),(%d+),(%d+),(%d+)")
  if not h1 then return nil end
  local parts = { tonumber(h1), tonumber(h2), tonumber(h3), tonumber(h4), tonumber(p1), tonumber(p2) }
  for _, v in ipairs(parts) do
    if v > 255 then return nil end
  end
  local port = parts[5] * 256 + parts[6]
  if port == 0 then return nil end
  return ("%d.%d.%d.%d"):format(parts[1], parts[2], parts[3], parts[4]), port
end

-- 229 Entering Extended Passive Mode (|||port|): the port.
function parse.epsv(text)
  local body = text:match("%((.-)%)")
  if not body or #body < 5 then return nil end
  local d = body:sub(1, 1)
  if d:match("[%w]") then return nil end
  local port = body:match("^%" .. d .. "%" .. d .. "%" .. d .. "(%d+)%" .. d .. "$")
  port = port and tonumber(port)
  if not port or port < 1 or port > 65535 then return nil end
  return port
end

-- A time from a listing: "Nov 26 04:25" (this year, or last year when
-- that would be in the future) or "Nov 26  2025", as seconds since the
-- epoch in local time; nil when it does not read.
local function list_time(mon, day, rest, now)
  local m = MONTHS[mon:lower()]
  day = tonumber(day)
  if not m or not day or day < 1 or day > 31 then return nil end
  local hour, min = rest:match("^(%d%d?):(%d%d)$")
  if hour then
    local year = os.date("*t", now).year
    local t = os.time({ year = year, month = m, day = day, hour = tonumber(hour), min = tonumber(min) })
    if t and t > now + 86400 then
      t = os.time({ year = year - 1, month = m, day = day, hour = tonumber(hour), min = tonumber(min) })
    end
    return t
  end
  local year = tonumber(rest:match("^(%d%d%d%d)$"))
  if not year then return nil end
  return os.time({ year = year, month = m, day = day, hour = 0 })
end

local function perm_info(perms)
  return {
    permissions = perms:sub(2, 10),
    isReadable = perms:sub(2, 2) == "r",
    isWritable = perms:sub(3, 3) == "w",
    isExecutable = perms:sub(4, 4) == "x" or perms:sub(4, 4) == "s",
  }
end

-- One line of a LIST reply, Unix ("drwxr-xr-x 2 owner group 4096 Nov 26
-- 04:25 name", "lrwxrwxrwx ... name -> target") or DOS ("11-26-26
-- 04:25AM <DIR> name", "... 1234 name") style: a QUrlInfo-like table
-- { name, size, isDir, isFile, isSymLink, lastModified, permissions,
-- owner, group, isReadable, isWritable, isExecutable }, or nil for a line
-- that is neither (a "total 12" line, say).
function parse.list_line(line, now)
  now = now or os.time()
  line = line:match("^[^\r\n]*")   -- one line: what a CR or LF ends is not part of it
  local perms, nlink, owner, group, size, mon, day, rest, name =
    line:match("^([%-dlcbps][%-rwxsStT]+)%s+(%d+)%s+(%S+)%s+(%S+)%s+(%d+)%s+(%a%a%a)%s+(%d%d?)%s+([%d:]+)%s(.+)$")
  if not perms then   -- some servers leave the group out
    perms, nlink, owner, size, mon, day, rest, name =
      line:match("^([%-dlcbps][%-rwxsStT]+)%s+(%d+)%s+(%S+)%s+(%d+)%s+(%a%a%a)%s+(%d%d?)%s+([%d:]+)%s(.+)$")
    group = ""
  end
  if perms and #perms == 10 then
    local kind = perms:sub(1, 1)
    local info = perm_info(perms)
    if kind == "l" then name = name:match("^(.-) %-> ") or name end
    info.name, info.size = name, tonumber(size)
    info.isDir, info.isSymLink = kind == "d", kind == "l"
    info.isFile = kind == "-"
    info.owner, info.group = owner, group
    info.lastModified = list_time(mon, day, rest, now)
    if not info.lastModified or name == "" then return nil end
    return info
  end
  local date, time, ampm, what, dname = line:match("^(%d%d%-%d%d%-%d%d%d?%d?)%s+(%d%d?:%d%d)(%a?%a?)%s+(%S+)%s+(.+)$")
  if date then
    local mm, dd, yy = date:match("^(%d%d)%-(%d%d)%-(%d+)$")
    local year = tonumber(yy)
    if #yy == 2 then year = year + (year < 70 and 2000 or 1900) end
    local hour, min = time:match("^(%d+):(%d+)$")
    hour = tonumber(hour)
    if ampm:upper() == "PM" and hour < 12 then hour = hour + 12 end
    if ampm:upper() == "AM" and hour == 12 then hour = 0 end
    local month, mday = tonumber(mm), tonumber(dd)
    if month < 1 or month > 12 or mday < 1 or mday > 31 or hour > 23 or tonumber(min) > 59 then return nil end
    local isdir = what:upper() == "<DIR>"
    local bytes = not isdir and what:match("^%d+$") and tonumber(what) or nil
    if not isdir and not bytes then return nil end
    return { name = dname, size = bytes or 0, isDir = isdir, isFile = not isdir, isSymLink = false,
             lastModified = os.time({ year = year, month = month, day = mday, hour = hour, min = tonumber(min) }),
             permissions = "", owner = "", group = "", isReadable = true, isWritable = true, isExecutable = false }
  end
  return nil
end

-- One line of an MLSD reply ("type=file;size=12;modify=20261126042500; name"):
-- the same kind of table as list_line, or nil.
function parse.mlsd_line(line)
  line = line:match("^[^\r\n]*")   -- one line: what a CR or LF ends is not part of it
  local facts, name = line:match("^(%S*) (.+)$")
  if not facts then return nil end
  local f = {}
  for k, v in facts:gmatch("([^=;]+)=([^;]*);") do f[k:lower()] = v end
  local kind = (f.type or ""):lower()
  if kind == "cdir" or kind == "pdir" then return nil end
  local info = { name = name, size = tonumber((f.size or ""):match("^%d+$")) or 0, isDir = kind == "dir", isFile = kind == "file",
                 isSymLink = kind:find("slink", 1, true) ~= nil, owner = f["unix.owner"] or "",
                 group = f["unix.group"] or "", permissions = f["unix.mode"] or "" }
  local y, mo, d, h, mi, s = (f.modify or ""):match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)")
  if y then   -- UTC, as RFC 3659 says
    local t = os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
                        min = tonumber(mi), sec = tonumber(s) })
    local utc = os.time(os.date("!*t", t))
    info.lastModified = t and t + (t - utc)
  end
  local perm = f.perm or ""
  info.isReadable = perm:find("[rl]") ~= nil
  info.isWritable = perm:find("[wacm]") ~= nil
  info.isExecutable = info.isDir and perm:find("e") ~= nil
  return info
end

-- ---------------------------------------------------------------- server: PORT and EPRT

-- A dotted IPv4 address of four decimal parts 0-255 (1 to 3 digits
-- each), or nil.
local function ipv4(text)
  local parts = {}
  local start = 1
  for i = 1, 4 do
    local stop = text:find(".", start, true)
    if (stop == nil) ~= (i == 4) then return nil end
    local part = text:sub(start, (stop or #text + 1) - 1)
    if not part:match("^%d%d?%d?$") or tonumber(part) > 255 then return nil end
    parts[i] = tonumber(part)
    start = (stop or #text) + 1
  end
  return ("%d.%d.%d.%d"):format(parts[1], parts[2], parts[3], parts[4])
end

-- A port: 1 to 5 decimal digits, 1-65535; or nil.
local function port_number(text)
  if not text:match("^%d%d?%d?%d?%d?$") then return nil end
  local n = tonumber(text)
  if n < 1 or n > 65535 then return nil end
  return math.tointeger(n)
end

-- PORT h1,h2,h3,h4,p1,p2 (RFC 959): host, port; nil for anything else
-- (a part that is not 0-255, a port 0).
function parse.port_arg(arg)
  local parts = {}
  for part in (arg .. ","):gmatch("([^,]*),") do parts[#parts + 1] = part end
  if #parts ~= 6 then return nil end
  for i, part in ipairs(parts) do
    if not part:match("^%d%d?%d?$") or tonumber(part) > 255 then return nil end
    parts[i] = math.tointeger(tonumber(part))
  end
  local port = parts[5] * 256 + parts[6]
  if port == 0 then return nil end
  return ("%d.%d.%d.%d"):format(parts[1], parts[2], parts[3], parts[4]), port
end

-- EPRT <d><net-prt><d><net-addr><d><tcp-port><d> (RFC 2428): host, port
-- and the protocol (1 IPv4, 2 IPv6); or nil and the reply code, 522 for a
-- protocol other than 1 and 2, 501 for the rest. The delimiter is the
-- argument's first character, any of ASCII 33-126 but a digit (which
-- would run into the numbers), and the fields are cut with plain finds:
-- it is never put into a pattern (where "%" or "[" broke the pattern and
-- raised).
function parse.eprt(arg)
  local d = arg:sub(1, 1)
  local b = d:byte()
  if not b or b < 33 or b > 126 or d:match("%d") then return nil, 501 end
  local fields, start = {}, 2
  while #fields < 4 do
    local stop = arg:find(d, start, true)
    if not stop then break end
    fields[#fields + 1] = arg:sub(start, stop - 1)
    start = stop + 1
  end
  if #fields ~= 3 or start ~= #arg + 1 then return nil, 501 end
  local proto, addr, port = fields[1], fields[2], port_number(fields[3])
  if not proto:match("^%d+$") then return nil, 501 end
  if proto ~= "1" and proto ~= "2" then return nil, 522 end
  if not port then return nil, 501 end
  if proto == "1" then
    addr = ipv4(addr)
  elseif not addr:find(":", 1, true) or addr:find("[^%x:.]") or #addr > 45 then
    addr = nil   -- IPv6 text: hex digits and colons (and a dotted IPv4 tail)
  end
  if not addr then return nil, 501 end
  return addr, port, tonumber(proto)
end

-- ---------------------------------------------------------------- server: paths

-- The server's virtual path for `arg` from the directory cwd: absolute,
-- "." and ".." resolved, never above "/" (the root).
function parse.virtual(cwd, arg)
  local path = arg:sub(1, 1) == "/" and arg or (cwd == "/" and "/" or cwd .. "/") .. arg
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return "/" .. table.concat(parts, "/")
end

return parse
