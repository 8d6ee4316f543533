--- luanet.ftp.server: net.FtpServer, an FTP server (RFC 959, with RFC 2428
-- EPSV/EPRT and RFC 3659 SIZE, MDTM, MLSD, MLST, REST STREAM) on TcpServer.
--
--   local server = net.FtpServer{ root = "/srv/ftp" }          -- anonymous, read-only
--   local server = net.FtpServer{ root = dir, anonymous = false,
--                                 users = { alice = { password = "secret", write = true } } }
--   local server = net.FtpServer{ root = dir, anonymousWrite = true }   -- anyone may upload
--   server:listen("127.0.0.1", 2121)       -- or server:serve(tcpServer)
--
-- Options: root (required); anonymous (true: USER anonymous or ftp with
-- any password); anonymousWrite (false: whether anonymous users may
-- write); users (name -> { password, write }: write = true lets that user
-- write); passivePorts ({ first, last }; default: any); idleTimeout (ms,
-- 300000); dataTimeout (ms a data connection may take to come, 30000);
-- loginFailureDelay (ms, 3000: how long a wrong password waits for its
-- 530, as pyftpdlib does; nothing more of that session is read
-- meanwhile); maxLoginAttempts (3: the failure that reaches it is
-- answered 421 and closes the session); banner. Nobody may write unless
-- an option says so, and no user's write lets anonymous users write. An
-- unknown option, a flag that is not a boolean, or a count that is not
-- an integer, raises; so does `write`, the old name of anonymousWrite,
-- whose meaning was easy to mistake for the users'. Every path is
-- confined to the root: ".." stops at it and a symlink that leads out is
-- refused. PORT and EPRT go only to the control connection's own peer
-- (no FXP bounce) and to no privileged port (below 1024) of it, and a
-- passive data connection from another address is refused. RETR goes out
-- through sendFile (binary type) and STOR is written as it arrives: no
-- file is held in Lua whole. Every command line gets a reply: no client
-- input is put into a pattern, an argument with a NUL byte is refused
-- (501), and an error raised inside a command is answered 451 (and
-- written to stderr) while the session goes on.
-- @classmod FtpServer
-- @qt none (Qt has no FTP server; the client is QFtp)
local net = require "luanet.core"
local parse = require "luanet.ftp.parse"

local DEFAULTS = {
  root = false, anonymous = true, anonymousWrite = false, users = {}, passivePorts = false,
  idleTimeout = 300000, dataTimeout = 30000, loginFailureDelay = 3000, maxLoginAttempts = 3,
  banner = "luanetd FTP server ready.",
}
local BOOLEANS = { "anonymous", "anonymousWrite" }
local COUNTS = { loginFailureDelay = 0, maxLoginAttempts = 1 }   -- integer options: the least each may be
local USER_FIELDS = { password = "string", write = "boolean" }
local LINE_MAX = 4096          -- a command line longer than this is refused
local ASCII_CHUNK = 64 * 1024  -- an ASCII RETR reads and converts this much at a time
local WRITE_HIGH = 1 << 20     -- an ASCII RETR waits while this much is queued

local FEATURES = { "EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;", "PASV", "REST STREAM", "SIZE", "UTF8" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- ---------------------------------------------------------------- listings

local function permissions(st)
  local mode = st.mode or (st.type == "directory" and 493 or 420)
  local out = { st.type == "directory" and "d" or st.type == "link" and "l" or "-" }
  local letters = "rwxrwxrwx"
  for i = 8, 0, -1 do
    out[#out + 1] = (mode >> i) & 1 == 1 and letters:sub(9 - i, 9 - i) or "-"
  end
  return table.concat(out)
end

-- An `ls -l` line, as most servers write it (the year for files older
-- than six months).
local function list_line(name, st, now)
  local t = os.date("*t", st.mtime)
  local when = math.abs(now - st.mtime) < 180 * 86400 and ("%02d:%02d"):format(t.hour, t.min) or ("%5d"):format(t.year)
  return ("%s %3d %-8s %-8s %12d %s %2d %s %s"):format(permissions(st), st.nlink or 1, "ftp", "ftp",
    st.type == "file" and st.size or 4096, MONTHS[t.month], t.day, when, name)
end

local function mlsx_facts(st, writable)
  local perm = st.type == "directory" and ("el" .. (writable and "cmpf" or "")) or ("r" .. (writable and "wadf" or ""))
  return ("type=%s;size=%d;modify=%s;perm=%s;"):format(st.type == "directory" and "dir" or "file",
    st.size or 0, os.date("!%Y%m%d%H%M%S", st.mtime), perm)
end

-- ---------------------------------------------------------------- a session

local Session = {}   -- the methods of a session
local session_mt = { __name = "luanet.FtpSession", __index = Session }

function session_mt:__tostring()
  return ("luanet.FtpSession (%s, %s)"):format(self.peer, self.closed and "closed" or self.cwd)
end

-- A reply; a multi-line text is sent as RFC 959 says: "code-first line",
-- the lines between as they are (FEAT's and MLST's start with a space),
-- "code last line".
function Session:reply(code, text)
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local out = {}
  for i, l in ipairs(lines) do
    if i == #lines then
      out[i] = ("%d %s\r\n"):format(code, l)
    elseif i == 1 then
      out[i] = ("%d-%s\r\n"):format(code, l)
    else
      out[i] = l .. "\r\n"
    end
  end
  self.sock:write(table.concat(out))
end

-- The real path of a virtual one, confined to the root; nil and a reply
-- text when it leads out (through a symlink) or, with must_exist, is not
-- there. For a path to be made, its parent is checked.
function Session:real(vpath, must_exist)
  local root = self.server.realroot
  local path = root .. (vpath == "/" and "" or vpath)
  local resolved = net.realpath(path)
  if resolved then
    if resolved ~= root and resolved:sub(1, #root + 1) ~= root .. "/" then
      return nil, "Permission denied (outside the root)."
    end
    return resolved, nil, net.stat(resolved)
  end
  if must_exist then return nil, "No such file or directory." end
  local parent = net.realpath((path:match("^(.*)/[^/]*$")))
  if not parent or (parent ~= root and parent:sub(1, #root + 1) ~= root .. "/") then
    return nil, "No such file or directory."
  end
  return path
end

-- The session is over (closed by us or by the client).
function Session:forget()
  self.closed = true
  self.timer:stop()
  if self.login_timer then self.login_timer:stop() end
  self:drop_data()
  self.server.sessions[self] = nil
end

function Session:close()
  if self.closed then return end
  self:forget()
  self.sock:disconnectFromHost()
end

-- ---------------------------------------------------------------- data connections

function Session:drop_data()
  if self.pasv then
    self.pasv:close()
    self.pasv = nil
  end
  if self.data then
    self.data:abort()
    self.data = nil
  end
  self.port_target = nil
end

-- Calls fn(sock) with the data connection (passive: the one that comes to
-- our listener; active: ours to the client), or replies 425 when none
-- comes within dataTimeout (and reads the next command). false when there
-- is no way to make one (no PORT or PASV): replied, nothing pending.
function Session:with_data(fn)
  if not self.pasv and not self.port_target then
    self:reply(425, "Use PORT or PASV first.")
    return false
  end
  local opts = self.server.opts
  self.transferring = true   -- the commands after this one wait (but ABOR)
  local timer = net.Timer()
  timer:setSingleShot(true)
  local done = false
  local function give(sock)
    if done then return end
    done = true
    timer:stop()
    self.cancel_wait = nil
    self.data = sock
    -- Called from a signal as well as from the command: an error here
    -- must end in a reply too, not in a session that waits for ever.
    local ok, err = xpcall(fn, debug.traceback, sock)
    if not ok then self:command_failed(err) end
  end
  local function fail(text)
    if done then return end
    done = true
    timer:stop()
    self.cancel_wait = nil
    self:drop_data()
    self.transferring = false
    if text then self:reply(425, text) end
    self:resume_commands()
  end
  self.cancel_wait = function() fail(nil) end   -- ABOR before the connection came
  timer.timeout:connect(function() fail("Can't open data connection: none came in time.") end)
  if self.pasv then
    local listener = self.pasv
    local function take()
      local sock = listener:nextPendingConnection()
      while sock do
        if sock:peerAddress():toString() == self.peer then
          listener:close()
          if self.pasv == listener then self.pasv = nil end
          return give(sock)
        end
        sock:abort()   -- not the control connection's peer: a hijack
        sock = listener:nextPendingConnection()
      end
    end
    listener.newConnection:connect(take)
    timer:start(opts.dataTimeout)
    take()
  elseif self.port_target then
    local target = self.port_target
    self.port_target = nil
    local sock = net.TcpSocket()
    sock.connected:connect(function() give(sock) end)
    sock.errorOccurred:connect(function()
      if not done then fail("Can't open data connection: " .. sock:errorString() .. ".") end
    end)
    timer:start(opts.dataTimeout)
    sock:connectToHost(target.host, target.port)
  end
  return true
end

-- Sends `text` over a data connection, then 226.
function Session:send_listing(text)
  return self:with_data(function(sock)
    self:reply(150, "Here comes the directory listing.")
    self:finish_transfer(sock)
    sock:write(text)
    sock:disconnectFromHost()
  end)
end

-- The transfer on sock ends with 226 when sock closes cleanly, 426 when
-- it fails; then the next command is read. An upload (on_upload_end given,
-- called at the close) ends when the client closes; a download that the
-- client closes has failed.
function Session:finish_transfer(sock, on_upload_end)
  local failed
  self.transferring = true
  sock.errorOccurred:connect(function(e)
    if e ~= "RemoteHostClosedError" or not on_upload_end then failed = sock:errorString() end
  end)
  sock.disconnected:connect(function()
    if self.data == sock then self.data = nil end
    self.transferring = false
    if on_upload_end then on_upload_end() end
    if self.aborted then
      self.aborted = false
    elseif not failed then
      self:reply(226, "Transfer complete.")
    else
      self:reply(426, "Connection closed; transfer aborted.")
    end
    self:resume_commands()
  end)
end

-- ---------------------------------------------------------------- commands

local commands = {}
local before_login = { USER = true, PASS = true, QUIT = true, FEAT = true, SYST = true, NOOP = true,
                       OPTS = true, HELP = true }
local needs_write = { STOR = true, APPE = true, DELE = true, MKD = true, RMD = true, RNFR = true, RNTO = true }
local needs_arg = { USER = true, CWD = true, RETR = true, STOR = true, APPE = true, DELE = true, MKD = true,
                    RMD = true, RNFR = true, RNTO = true, SIZE = true, MDTM = true, REST = true, TYPE = true,
                    MODE = true, STRU = true, PORT = true, EPRT = true }

-- USER: the same answer for any name (PASS decides), so that names are
-- not disclosed.
function commands.USER(self, arg)
  self.user, self.logged_in, self.can_write = arg, false, false
  self:reply(331, "Please specify the password.")
end

function commands.PASS(self, arg)
  local opts = self.server.opts
  if not self.user then return self:reply(503, "Login with USER first.") end
  local user = opts.users[self.user]
  if (self.user == "anonymous" or self.user == "ftp") and opts.anonymous then
    self.logged_in, self.can_write = true, opts.anonymousWrite
  elseif user and user.password == arg then
    self.logged_in, self.can_write = true, user.write == true
  else
    self.user = nil
    return self:login_failed()
  end
  self:reply(230, "Login successful.")
end

-- A wrong login is answered after loginFailureDelay, and nothing more of
-- this session is read meanwhile (read_commands waits), so that a client
-- guesses one password per delay on a connection; the maxLoginAttempts-th
-- failure closes the session with 421. Other sessions go on.
function Session:login_failed()
  local opts = self.server.opts
  self.login_failures = (self.login_failures or 0) + 1
  self.login_wait = true
  if not self.login_timer then
    self.login_timer = net.Timer()
    self.login_timer:setSingleShot(true)
    self.login_timer.timeout:connect(function()
      self.login_wait = false
      if self.closed then return end
      if self.login_failures >= opts.maxLoginAttempts then
        self:reply(421, "Login incorrect; too many failed attempts, closing control connection.")
        return self:close()
      end
      self:reply(530, "Login incorrect.")
      self:resume_commands()
    end)
  end
  self.login_timer:start(opts.loginFailureDelay)
end

function commands.QUIT(self)
  self:reply(221, "Goodbye.")
  self:close()
end

function commands.NOOP(self) self:reply(200, "NOOP ok.") end
function commands.SYST(self) self:reply(215, "UNIX Type: L8") end
function commands.HELP(self) self:reply(214, "Help OK.") end

function commands.FEAT(self)
  local lines = { "Features:" }
  for _, f in ipairs(FEATURES) do lines[#lines + 1] = " " .. f end
  lines[#lines + 1] = "End"
  self:reply(211, table.concat(lines, "\n"))
end

function commands.OPTS(self, arg)
  if arg:upper():match("^UTF8 ON") or arg:upper():match("^UTF8$") then
    return self:reply(200, "Always in UTF8 mode.")
  end
  self:reply(501, "Option not understood.")
end

function commands.PWD(self)
  self:reply(257, ('"%s" is the current directory'):format(self.cwd:gsub('"', '""')))
end

function commands.CWD(self, arg)
  local v = parse.virtual(self.cwd, arg)
  local real, err, st = self:real(v, true)
  if not real or not st or st.type ~= "directory" then
    return self:reply(550, err or "Failed to change directory.")
  end
  self.cwd = v
  self:reply(250, "Directory successfully changed.")
end

function commands.CDUP(self) return commands.CWD(self, "..") end

function commands.TYPE(self, arg)
  local t = arg:upper()
  if t == "A" or t == "A N" then
    self.ascii = true
    self:reply(200, "Switching to ASCII mode.")
  elseif t == "I" or t == "L 8" or t == "L8" then
    self.ascii = false
    self:reply(200, "Switching to Binary mode.")
  else
    self:reply(504, "Unrecognised TYPE command.")
  end
end

function commands.MODE(self, arg)
  if arg:upper() == "S" then return self:reply(200, "Mode set to S.") end
  self:reply(504, "Bad MODE command.")
end

function commands.STRU(self, arg)
  if arg:upper() == "F" then return self:reply(200, "Structure set to F.") end
  self:reply(504, "Bad STRU command.")
end

-- A passive listener on the control connection's local address.
local function passive(self)
  self:drop_data()
  local opts = self.server.opts
  local listener = net.TcpServer()
  local host = self.sock:localAddress():toString()
  local ok
  if opts.passivePorts then
    local first, last = opts.passivePorts[1], opts.passivePorts[2]
    local start = first + math.random(0, last - first)
    for i = 0, last - first do
      ok = listener:listen(host, first + (start - first + i) % (last - first + 1))
      if ok then break end
    end
  else
    ok = listener:listen(host, 0)
  end
  if not ok then return nil end
  self.pasv = listener
  return listener:serverPort(), host
end

function commands.PASV(self)
  local port, host = passive(self)
  if not port then return self:reply(425, "Can't open passive connection.") end
  if host:find(":", 1, true) then   -- PASV cannot say an IPv6 address
    self:drop_data()
    return self:reply(522, "Network protocol not supported, use EPSV.")
  end
  self:reply(227, ("Entering Passive Mode (%s,%d,%d)."):format(host:gsub("%.", ","), port >> 8, port & 255))
end

function commands.EPSV(self, arg)
  if arg:upper() == "ALL" then return self:reply(200, "EPSV ALL ok.") end
  local port = passive(self)
  if not port then return self:reply(425, "Can't open passive connection.") end
  self:reply(229, ("Entering Extended Passive Mode (|||%d|)"):format(port))
end

-- An active target: only the control connection's own peer (no bounce),
-- and none of its privileged ports (those of its system's services: an
-- FTP server that connects there speaks for the client to them), as
-- pyftpdlib refuses.
local function active(self, host, port)
  local addr = host and net.HostAddress(host)
  if not addr or addr:isNull() or not port or port < 1 or port > 65535 then
    return self:reply(501, "Illegal PORT command.")
  end
  if addr:toString() ~= self.peer then
    return self:reply(500, "Illegal PORT command: only the client's own address.")
  end
  if port < 1024 then return self:reply(501, "Can't connect over a privileged port.") end
  self:drop_data()
  self.port_target = { host = host, port = port }
  self:reply(200, "PORT command successful. Consider using PASV.")
end

function commands.PORT(self, arg)
  local host, port = parse.port_arg(arg)
  if not host then return self:reply(501, "Illegal PORT command.") end
  active(self, host, port)
end

-- EPRT: parsed by ftp_parse with plain finds, whatever the delimiter.
function commands.EPRT(self, arg)
  local host, port = parse.eprt(arg)
  if port == 522 then return self:reply(522, "Network protocol not supported, use (1,2)") end
  if not host then return self:reply(501, "Illegal EPRT command.") end
  active(self, host, port)
end

function commands.REST(self, arg)
  local n = math.tointeger(tonumber(arg))
  if not n or n < 0 then return self:reply(501, "Bad REST offset.") end
  self.rest = n
  self:reply(350, ("Restarting at %d. Send STORE or RETRIEVE to initiate transfer."):format(n))
end

function commands.SIZE(self, arg)
  local real, err, st = self:real(parse.virtual(self.cwd, arg), true)
  if not real or not st or st.type ~= "file" then return self:reply(550, err or "Could not get file size.") end
  self:reply(213, tostring(st.size))
end

function commands.MDTM(self, arg)
  local real, err, st = self:real(parse.virtual(self.cwd, arg), true)
  if not real or not st or st.type ~= "file" then return self:reply(550, err or "Could not get file modification time.") end
  self:reply(213, os.date("!%Y%m%d%H%M%S", st.mtime))
end

-- The entries of a directory (or the one file) a listing names.
local function entries(self, arg)
  arg = (arg or ""):gsub("^%-%a+%s*", "")   -- "LIST -la": options are ignored
  local v = parse.virtual(self.cwd, arg ~= "" and arg or ".")
  local real, err, st = self:real(v, true)
  if not real or not st then return nil, err or "No such file or directory." end
  if st.type ~= "directory" then return { { name = v:match("[^/]*$"), st = st } } end
  local names = net.readdir(real)
  if not names then return nil, "Permission denied." end
  local out = {}
  for _, name in ipairs(names) do
    local est = net.stat(real .. "/" .. name)
    if est then out[#out + 1] = { name = name, st = est } end
  end
  return out
end

function commands.LIST(self, arg)
  local list, err = entries(self, arg)
  if not list then return self:reply(550, err) end
  local now, lines = os.time(), {}
  for i, e in ipairs(list) do lines[i] = list_line(e.name, e.st, now) .. "\r\n" end
  return self:send_listing(table.concat(lines))
end

function commands.NLST(self, arg)
  local list, err = entries(self, arg)
  if not list then return self:reply(550, err) end
  local lines = {}
  for i, e in ipairs(list) do lines[i] = e.name .. "\r\n" end
  return self:send_listing(table.concat(lines))
end

function commands.MLSD(self, arg)
  local v = parse.virtual(self.cwd, arg ~= "" and arg or ".")
  local real, err, st = self:real(v, true)
  if not real or not st or st.type ~= "directory" then return self:reply(501, err or "Not a directory.") end
  local list = entries(self, arg) or {}
  local lines = {}
  for i, e in ipairs(list) do lines[i] = mlsx_facts(e.st, self.can_write) .. " " .. e.name .. "\r\n" end
  return self:send_listing(table.concat(lines))
end

function commands.MLST(self, arg)
  local v = parse.virtual(self.cwd, arg ~= "" and arg or ".")
  local real, err, st = self:real(v, true)
  if not real or not st then return self:reply(550, err or "No such file or directory.") end
  self:reply(250, ("Listing %s\n %s %s\nEnd"):format(v, mlsx_facts(st, self.can_write), v))
end

-- RETR: binary through sendFile; ASCII read in pieces, LF to CRLF.
function commands.RETR(self, arg)
  local real, err, st = self:real(parse.virtual(self.cwd, arg), true)
  if not real or not st or st.type ~= "file" then return self:reply(550, err or "Failed to open file.") end
  local offset = self.rest or 0
  self.rest = nil
  if offset > st.size then offset = st.size end
  return self:with_data(function(sock)
    self:reply(150, ("Opening %s mode data connection for %s (%d bytes)."):format(
      self.ascii and "ASCII" or "BINARY", arg, st.size - offset))
    self:finish_transfer(sock)
    if not self.ascii then
      if sock:sendFile(real, offset, st.size - offset) == false then sock:abort() return end
      sock:disconnectFromHost()
      return
    end
    net.spawn(function()
      local f = io.open(real, "rb")
      if not f then sock:abort() return end
      f:seek("set", offset)
      local cr = false
      while sock:state() == "ConnectedState" do
        local chunk = f:read(ASCII_CHUNK)
        if not chunk then break end
        chunk = chunk:gsub("\r?\n", "\r\n")
        if cr and chunk:sub(1, 2) == "\r\n" then chunk = "\n" .. chunk:sub(3) end   -- a CRLF cut in two
        cr = chunk:sub(-1) == "\r"
        sock:write(chunk)
        while sock:bytesToWrite() > WRITE_HIGH and sock:state() == "ConnectedState" do
          sock:waitForBytesWritten(self.server.opts.dataTimeout)
        end
      end
      f:close()
      sock:disconnectFromHost()
    end)
  end)
end

-- STOR and APPE: written as it arrives; ASCII CRLF to LF.
local function store(self, arg, append)
  local v = parse.virtual(self.cwd, arg)
  local real, err, st = self:real(v, false)
  if not real or (st and st.type ~= "file") then return self:reply(550, err or "Could not create file.") end
  local offset = self.rest
  self.rest = nil
  local f
  if offset and offset > 0 and st then
    f = io.open(real, "r+b")
    if f then f:seek("set", offset) end
  else
    f = io.open(real, append and "ab" or "wb")
  end
  if not f then return self:reply(553, "Could not create file.") end
  local started = self:with_data(function(sock)
    self:reply(150, "Ok to send data.")
    local pending_cr = false
    local function drain()
      local data = sock:readAll()
      if #data == 0 then return end
      if self.ascii then
        if pending_cr then data = "\r" .. data end
        pending_cr = data:sub(-1) == "\r"
        if pending_cr then data = data:sub(1, -2) end
        data = data:gsub("\r\n", "\n")
      end
      f:write(data)
    end
    sock.readyRead:connect(drain)
    self:finish_transfer(sock, function()
      drain()
      if pending_cr then f:write("\r") end
      f:close()
    end)
    drain()
  end)
  if not started then f:close() end
  return started
end

function commands.STOR(self, arg) return store(self, arg, false) end
function commands.APPE(self, arg) return store(self, arg, true) end

function commands.DELE(self, arg)
  local real, err, st = self:real(parse.virtual(self.cwd, arg), true)
  if not real or not st or st.type == "directory" then return self:reply(550, err or "Delete operation failed.") end
  local ok = os.remove(real)
  self:reply(ok and 250 or 550, ok and "Delete operation successful." or "Delete operation failed.")
end

function commands.MKD(self, arg)
  local v = parse.virtual(self.cwd, arg)
  local real, err, st = self:real(v, false)
  if not real or st then return self:reply(550, err or "Create directory operation failed.") end
  local ok = net.mkdir(real)
  if not ok then return self:reply(550, "Create directory operation failed.") end
  self:reply(257, ('"%s" created'):format(v:gsub('"', '""')))
end

function commands.RMD(self, arg)
  local v = parse.virtual(self.cwd, arg)
  local real, err, st = self:real(v, true)
  if not real or not st or st.type ~= "directory" or v == "/" then
    return self:reply(550, err or "Remove directory operation failed.")
  end
  local ok = os.remove(real)
  self:reply(ok and 250 or 550, ok and "Remove directory operation successful." or "Remove directory operation failed.")
end

function commands.RNFR(self, arg)
  local real, err = self:real(parse.virtual(self.cwd, arg), true)
  if not real then return self:reply(550, err) end
  self.rename_from = real
  self:reply(350, "Ready for RNTO.")
end

function commands.RNTO(self, arg)
  local from = self.rename_from
  self.rename_from = nil
  if not from then return self:reply(503, "RNFR required first.") end
  local real, err = self:real(parse.virtual(self.cwd, arg), false)
  if not real then return self:reply(550, err) end
  local ok = os.rename(from, real)
  self:reply(ok and 250 or 550, ok and "Rename successful." or "Rename failed.")
end

function commands.ABOR(self)
  if self.cancel_wait then   -- a transfer still waiting for its data connection
    self:reply(225, "ABOR successful.")
    self.cancel_wait()
    return
  end
  if self.data and self.transferring then
    self.aborted = true
    self:reply(426, "Transfer aborted.")
    self:reply(226, "ABOR successful.")
    self.data:abort()   -- its disconnected handler reads the next command
    return
  end
  self:drop_data()
  self:reply(225, "No transfer to ABOR.")
end

-- Runs one command line. An error that the command raises is answered
-- (command_failed): a session never waits for a reply that is not coming.
function Session:run(line)
  local verb, arg = line:match("^(%a+)%s?(.*)$")
  if not verb then return self:reply(500, "Unknown command.") end
  verb = verb:upper()
  local fn = commands[verb]
  if not fn then return self:reply(500, "Unknown command.") end
  if not self.logged_in and not before_login[verb] then
    return self:reply(530, "Please login with USER and PASS.")
  end
  if needs_arg[verb] and arg == "" then return self:reply(501, "Missing argument.") end
  -- No path or name holds one, and the file functions raise for it.
  if arg:find("\0", 1, true) then return self:reply(501, "Bad character (NUL) in the argument.") end
  if needs_write[verb] and not self.can_write then return self:reply(550, "Permission denied.") end
  if verb ~= "RNTO" then self.rename_from = verb == "RNFR" and self.rename_from or nil end
  if verb ~= "REST" and verb ~= "RETR" and verb ~= "STOR" and verb ~= "APPE" then self.rest = nil end
  self.verb = verb
  local ok, err = xpcall(fn, debug.traceback, self, arg)
  if not ok then self:command_failed(err) end
end

-- An error raised inside a command (or its data transfer): written to
-- stderr (the verb, never the argument: it may be a password), answered
-- with 451, and the session goes on: the data connection the command
-- waited for or used is dropped without a reply of its own, and the next
-- command is read.
function Session:command_failed(err)
  io.stderr:write(("luanet.FtpServer: %s failed: %s\n"):format(self.verb or "?", tostring(err)))
  if self.closed then return end
  local cancel = self.cancel_wait
  self.cancel_wait = nil
  if cancel then cancel() end   -- the wait for a data connection: stops its timer, no reply
  local data = self.data
  if data then
    self.data = nil
    data.disconnected:disconnect()   -- this reply is the transfer's end: not 226 or 426 too
    data:abort()
  end
  self:drop_data()
  self.transferring = false
  self:reply(451, "Requested action aborted: local error in processing.")
  self:resume_commands()
end

-- A transfer ended: the commands that waited run now, unless the loop
-- below is on the stack (it goes on by itself).
function Session:resume_commands()
  if not self.reading then self:next_command() end
end

-- Reads and runs the commands that are buffered; a transfer holds the
-- commands after it (but ABOR) until it ends.
function Session:next_command()
  if self.closed or self.reading then return end
  self.reading = true
  self:read_commands()
  self.reading = false
end

function Session:read_commands()
  while self.sock:canReadLine() or self.sock:bytesAvailable() > LINE_MAX do
    if self.login_wait then return end   -- a failed login's delay: its timer goes on
    if self.transferring and not self.sock:peek(LINE_MAX):upper():match("^[^%a]*ABOR") then return end
    local line = self.sock:readLine(LINE_MAX + 2)
    if not line:find("\n", 1, true) then
      self:reply(500, "Command line too long.")
      self.sock:read(self.sock:bytesAvailable())
      return
    end
    line = line:gsub("[\r\n]+$", ""):gsub("\255.", "")   -- Telnet IAC sequences: ignored
    self.timer:start(self.server.opts.idleTimeout)
    self:run(line)
    if self.closed then return end
  end
end

local function accept(server, sock)
  local addr = sock:peerAddress()
  local self = setmetatable({ server = server, sock = sock, cwd = "/", peer = addr and addr:toString() or "",
                              timer = net.Timer() }, session_mt)
  server.sessions[self] = true
  self.timer:setSingleShot(true)
  self.timer.timeout:connect(function()
    if self.transferring then return self.timer:start(server.opts.idleTimeout) end
    self:reply(421, "Timeout.")
    self:close()
  end)
  sock.readyRead:connect(function() self:next_command() end)
  sock.disconnected:connect(function() self:forget() end)
  self.timer:start(server.opts.idleTimeout)
  self:reply(220, server.opts.banner)
end

-- ---------------------------------------------------------------- the server

local methods = {}
local mt = { __name = "luanet.FtpServer", __index = methods }

function mt:__tostring()
  local tcp = self.tcp
  if not (tcp and tcp:isListening()) then return "luanet.FtpServer (not listening)" end
  return ("luanet.FtpServer (listening %s:%d)"):format(tcp:serverAddress():toString(), tcp:serverPort())
end

-- Raises (at the caller of FtpServer) what is wrong with an entry of
-- users: a field it does not know, or one of the wrong type (a password
-- is a string, write a boolean: "no" must not grant writing).
local function check_user(name, user)
  local what = ("FtpServer: users[%q]"):format(tostring(name))
  if type(user) ~= "table" then error(what .. " must be a table { password, write }", 4) end
  for field, value in pairs(user) do
    local want = USER_FIELDS[field]
    if not want then error(("%s: unknown field %s"):format(what, tostring(field)), 4) end
    if type(value) ~= want then error(("%s.%s must be a %s"):format(what, field, want), 4) end
  end
  if user.password == nil then error(what .. " has no password", 4) end
end

-- The options over the defaults; raises for an unknown one, and for a
-- flag or a user of the wrong type. `write` once meant anonymousWrite: a
-- caller that still gives it is told, not ignored.
local function server_options(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if k == "write" then
      error("FtpServer: the option write is now anonymousWrite (whether anonymous users may write);"
        .. " a user may write with users[NAME].write = true", 3)
    end
    if DEFAULTS[k] == nil then error(("FtpServer: unknown option %s"):format(tostring(k)), 3) end
    o[k] = v
  end
  for _, k in ipairs(BOOLEANS) do
    if type(o[k]) ~= "boolean" then error(("FtpServer: %s must be true or false"):format(k), 3) end
  end
  for k, least in pairs(COUNTS) do
    if math.type(o[k]) ~= "integer" or o[k] < least then
      error(("FtpServer: %s must be an integer >= %d"):format(k, least), 3)
    end
  end
  if type(o.users) ~= "table" then error("FtpServer: users must be a table (name -> { password, write })", 3) end
  for name, user in pairs(o.users) do check_user(name, user) end
  return o
end

--- A new server, not listening. A wrong option raises.
-- @function net.FtpServer
-- @tparam table options root (required); anonymous, anonymousWrite,
-- users, passivePorts, idleTimeout, dataTimeout, loginFailureDelay,
-- maxLoginAttempts, banner (above)
-- @treturn FtpServer
local function new(opts)
  local o = server_options(opts)
  if type(o.root) ~= "string" then error("FtpServer: root (a directory) is required", 2) end
  local realroot = net.realpath(o.root)
  local st = realroot and net.stat(realroot)
  if not st or st.type ~= "directory" then error(("FtpServer: root %s is not a directory"):format(o.root), 2) end
  return setmetatable({ opts = o, realroot = realroot, sessions = {} }, mt)
end

--- Serves the connections of a listening TcpServer (a daemon listener, say).
-- @function serve
-- @tparam TcpServer tcpServer
-- @treturn boolean true
function methods:serve(tcp)
  self.tcp = tcp
  tcp.newConnection:connect(function()
    local sock = tcp:nextPendingConnection()
    while sock do
      accept(self, sock)
      sock = tcp:nextPendingConnection()
    end
  end)
  return true
end

--- Listens on a TcpServer of its own.
-- @function listen
-- @tparam[opt] string|HostAddress host as TcpServer:listen's address
-- @tparam[opt=0] integer port
-- @treturn boolean true, or false and the error string
function methods:listen(host, port)
  local tcp = net.TcpServer()
  if not tcp:listen(host, port or 0) then return false, tcp:errorString() end
  return self:serve(tcp)
end

--- The port of the TcpServer served.
-- @function serverPort
-- @treturn integer|nil nil when serving none
function methods:serverPort() return self.tcp and self.tcp:serverPort() end
--- The address of the TcpServer served.
-- @function serverAddress
-- @treturn HostAddress|nil nil when serving none
function methods:serverAddress() return self.tcp and self.tcp:serverAddress() end

--- Stops listening and closes every session.
-- @function close
function methods:close()
  if self.tcp then self.tcp:close() end
  for s in pairs(self.sessions) do s:close() end
end

--- For a service's `stopping`: sessions with no transfer go now (421).
-- @function closeIdle
function methods:closeIdle()
  for s in pairs(self.sessions) do
    if not s.transferring then
      s:reply(421, "Service closing control connection.")
      s:close()
    end
  end
end

-- Server: new's old name, as require("luanet.ftp_server").Server has it.
return { new = new, Server = new }
