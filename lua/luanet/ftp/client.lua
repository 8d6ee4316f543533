--- luanet.ftp.client: net.Ftp, Qt 4's QFtp, and a direct form for tasks.
--
--   local ftp = net.Ftp()
--   ftp:connectToHost("127.0.0.1", 2121)
--   ftp:login()                          -- anonymous
--   ftp:cd("pub")
--   ftp:list()                           -- listInfo(info) per entry
--   ftp:get("file.bin", "file.bin")      -- to a file (or a function, or readAll)
--   ftp:close()
--   ftp.done:connect(function(err) net.quit(err and 1 or 0) end)
--
--   local data, err, kind = net.ftp.get("ftp://127.0.0.1:2121/pub/file.txt")   -- in a task
--   local ok, err = net.ftp.put("ftp://user:pass@127.0.0.1:2121/in/x.txt", data)
--
-- Commands are queued and return ids; each is framed by commandStarted(id)
-- and commandFinished(id, error), and done(error) comes when the queue is
-- empty; after an error the pending commands are cleared, as in Qt.
-- Transfers are passive by default (EPSV, then PASV), or active
-- (setTransferMode("Active"): EPRT, then PORT), over IPv4 or IPv6. list()
-- uses MLSD when the server has it (FEAT), else LIST in Unix or DOS style.
-- get() asks SIZE first, so dataTransferProgress has a total.
--
-- A failure is commandFinished(id, true) then done(true), with error()
-- and errorString(); there is no errorOccurred, as QFtp has none.
-- ftp.timeout (ms, 30000) bounds each reply and transfer. The direct form
-- (net.ftp.get, put, list) is the ftp module's.
-- @classmod Ftp
-- @qt QFtp (Qt 4)
local net = require "luanet.core"
local parse = require "luanet.ftp.parse"

--- The state, as state() and stateChanged give it.
-- @enum State
-- @field Unconnected Qt: 0
-- @field HostLookup Qt: 1
-- @field Connecting Qt: 2
-- @field Connected Qt: 3
-- @field LoggedIn Qt: 4
-- @field Closing Qt: 5
-- @qt QFtp::State

--- The last error, as error() gives it.
-- @enum Error
-- @field NoError Qt: 0
-- @field UnknownError Qt: 1, a refused command or a failed transfer (errorString has the server's reply)
-- @field HostNotFound Qt: 2
-- @field ConnectionRefused Qt: 3
-- @field NotConnected Qt: 4, a command that needs a connection without one
-- @qt QFtp::Error

--- What currentCommand gives.
-- @enum Command
-- @field None Qt: 0
-- @field SetTransferMode Qt: 1
-- @field SetProxy Qt: 2
-- @field ConnectToHost Qt: 3
-- @field Login Qt: 4
-- @field Close Qt: 5
-- @field List Qt: 6
-- @field Cd Qt: 7
-- @field Get Qt: 8
-- @field Put Qt: 9
-- @field Remove Qt: 10
-- @field Mkdir Qt: 11
-- @field Rmdir Qt: 12
-- @field Rename Qt: 13
-- @field RawCommand Qt: 14
-- @field SetTransferType luanet's own (QFtp sets the type per get and put)
-- @qt QFtp::Command

--- setTransferMode's argument.
-- @enum TransferMode
-- @field Active Qt: 0, EPRT then PORT: the server connects to us
-- @field Passive Qt: 1, the default: EPSV then PASV
-- @qt QFtp::TransferMode

--- setTransferType's argument.
-- @enum TransferType
-- @field Binary Qt: 0, the default
-- @field Ascii Qt: 1
-- @qt QFtp::TransferType
local STATES = { "Unconnected", "HostLookup", "Connecting", "Connected", "LoggedIn", "Closing" }
--- Emitted when the state changes.
-- @signal stateChanged
-- @tparam string state a State name
-- @qt QFtp::stateChanged

--- Emitted by list for each entry.
-- @signal listInfo
-- @tparam table info { name, size, isDir, isFile, isSymLink, lastModified (seconds), permissions, owner, group, isReadable, isWritable, isExecutable }
-- @qt QFtp::listInfo

--- Emitted when a get without a destination has bytes for readAll.
-- @signal readyRead
-- @qt QFtp::readyRead

--- Emitted as a get or put moves bytes.
-- @signal dataTransferProgress
-- @tparam integer done bytes
-- @tparam integer total bytes (from SIZE; 0 when not known)
-- @qt QFtp::dataTransferProgress

--- Emitted with the server's reply to rawCommand.
-- @signal rawCommandReply
-- @tparam integer code
-- @tparam string text
-- @qt QFtp::rawCommandReply

--- Emitted when a command starts.
-- @signal commandStarted
-- @tparam integer id
-- @qt QFtp::commandStarted

--- Emitted when a command ends.
-- @signal commandFinished
-- @tparam integer id
-- @tparam boolean error
-- @qt QFtp::commandFinished

--- Emitted when the queue is empty (or cleared by an error).
-- @signal done
-- @tparam boolean error
-- @qt QFtp::done
local SIGNALS = { "stateChanged", "listInfo", "readyRead", "dataTransferProgress", "rawCommandReply",
                  "commandStarted", "commandFinished", "done" }
local DEFAULT_TIMEOUT = 30000

local methods = {}
local mt = { __name = "luanet.Ftp", __index = methods }

function mt:__tostring()
  return ("luanet.Ftp (%s)"):format(self._state)
end

local function set_state(self, st)
  if self._state == st then return end
  self._state = st
  self.stateChanged:emit(st)
end

-- ---------------------------------------------------------------- the control connection

-- Reads one reply (single or multi-line): code, text (lines joined by
-- "\n"); nil and why when the connection fails or time runs out.
local function read_reply(self)
  local sock = self._sock
  local deadline = net.clock() + self.timeout
  local code, lines
  while true do
    while not sock:canReadLine() do
      if sock:state() ~= "ConnectedState" then return nil, "the server closed the connection" end
      local left = deadline - net.clock()
      if left <= 0 then return nil, "no reply in time" end
      sock:waitForReadyRead(math.min(left, 1000))
    end
    local line = sock:readLine():gsub("\r?\n$", "")
    local c, text, more = parse.reply_line(line)
    if not code then
      if not c then return nil, "not an FTP reply: " .. line:sub(1, 80) end
      code, lines = c, { text }
      if not more then return code, text end
    else
      lines[#lines + 1] = c == code and text or line
      if c == code and not more and line:sub(4, 4) ~= "-" then return code, table.concat(lines, "\n") end
    end
  end
end

local function send(self, line)
  return self._sock:write(line .. "\r\n") ~= false
end

-- Sends a command and reads its reply.
local function command(self, line)
  if not send(self, line) then return nil, "not connected" end
  return read_reply(self)
end

-- ---------------------------------------------------------------- data connections

-- Prepares a data connection: passive connects now; active listens. Returns
-- take, a function that, after the transfer command was accepted, gives
-- the connected socket (take(true): the command was refused, drop it);
-- nil and why on failure.
local function prepare_data(self)
  local sock = self._sock
  if self._mode ~= "Active" then
    local host, port
    if not self._no_epsv then
      local code, text = command(self, "EPSV")
      if code == 229 then
        port = parse.epsv(text)
        host = sock:peerAddress():toString()
      elseif code == nil then
        return nil, text
      else
        self._no_epsv = true
      end
    end
    if not port then
      local code, text = command(self, "PASV")
      if code ~= 227 then return nil, ("%s %s"):format(tostring(code), text or "") end
      host, port = parse.pasv(text)
      if not host then return nil, "a PASV reply without an address" end
    end
    local data = net.TcpSocket()
    data:connectToHost(host, port)
    if not data:waitForConnected(self.timeout) then
      local why = data:errorString()
      data:abort()
      return nil, why
    end
    return function(refused)
      if refused then data:abort() return nil end
      return data
    end
  end
  local listener = net.TcpServer()
  local local_addr = sock:localAddress()
  if not listener:listen(local_addr, 0) then return nil, listener:errorString() end
  local host, port = local_addr:toString(), listener:serverPort()
  local v6 = host:find(":", 1, true) ~= nil
  local code, text = command(self, ("EPRT |%d|%s|%d|"):format(v6 and 2 or 1, host, port))
  if code ~= 200 and not v6 then
    code, text = command(self, ("PORT %s,%d,%d"):format(host:gsub("%.", ","), port >> 8, port & 255))
  end
  if code ~= 200 then
    listener:close()
    return nil, ("%s %s"):format(tostring(code), text or "")
  end
  return function(refused)
    if refused then   -- no connection will come: none is waited for
      listener:close()
      return nil
    end
    if not listener:hasPendingConnections() and not listener:waitForNewConnection(self.timeout) then
      listener:close()
      return nil, "the server did not connect"
    end
    local data = listener:nextPendingConnection()
    listener:close()
    return data
  end
end

-- Runs a transfer command: the data connection, the command, 1xx, then
-- on_data(data socket) to move the bytes, then the final 2xx.
local function transfer(self, line, on_data)
  local take, why = prepare_data(self)
  if not take then return nil, why end
  local code, text = command(self, line)
  if not code or code >= 300 then
    take(true)
    return nil, code and ("%d %s"):format(code, text) or text
  end
  local data, err = take()
  if not data then return nil, err end
  self._data = data
  local ok, oerr = on_data(data)
  self._data = nil
  data:abort()
  if self._aborted then
    -- Two replies are due (RFC 959, ABOR): the transfer's own (426 if it
    -- was cut, else 226), then ABOR's. Both are read, so that the next
    -- command does not take one of them for its answer.
    for _ = 1, 2 do
      if not read_reply(self) then break end
    end
    return nil, "aborted"
  end
  code, text = read_reply(self)
  if not ok then return nil, oerr end
  if not code or code >= 300 then return nil, code and ("%d %s"):format(code, text) or text end
  return true
end

-- Reads a data connection to its end, giving each piece to sink.
local function receive(self, data, sink)
  local deadline = net.clock() + self.timeout
  while true do
    if data:bytesAvailable() > 0 then
      sink(data:readAll())
      deadline = net.clock() + self.timeout
    elseif data:state() ~= "ConnectedState" then
      return true
    elseif self._aborted then
      return nil, "aborted"
    elseif net.clock() > deadline then
      return nil, "the data connection stalled"
    else
      data:waitForReadyRead(1000)
    end
  end
end

local function set_type(self, ascii)
  local want = ascii and "A" or "I"
  if self._type_sent == want then return true end
  local code, text = command(self, "TYPE " .. want)
  if code ~= 200 then return nil, ("%s %s"):format(tostring(code), text or "") end
  self._type_sent = want
  return true
end

-- ---------------------------------------------------------------- the commands

local run = {}

function run.ConnectToHost(self, cmd)
  set_state(self, "HostLookup")
  local sock = net.TcpSocket()
  self._sock = sock
  sock.hostFound:connect(function() set_state(self, "Connecting") end)
  sock:connectToHost(cmd.host, cmd.port)
  if not sock:waitForConnected(self.timeout) then
    local e = sock:error()
    set_state(self, "Unconnected")
    if e == "HostNotFoundError" then return nil, "HostNotFound", ("Host %s not found"):format(cmd.host) end
    return nil, "ConnectionRefused", ("Connection refused to host %s"):format(cmd.host)
  end
  local code, text = read_reply(self)
  if code ~= 220 then
    sock:abort()
    set_state(self, "Unconnected")
    return nil, "UnknownError", text or ("unexpected greeting %s"):format(tostring(code))
  end
  self._type_sent, self._features, self._real_host = nil, nil, cmd.real_host
  set_state(self, "Connected")
  return true
end

function run.Login(self, cmd)
  local user = cmd.user
  if self._proxy and self._real_host then user = user .. "@" .. self._real_host end   -- an FTP proxy's convention
  local code, text = command(self, "USER " .. user)
  if code == 331 then code, text = command(self, "PASS " .. cmd.password) end
  if code ~= 230 and code ~= 202 then
    return nil, "UnknownError", ("Login failed:\n%s"):format(text or "no reply")
  end
  set_state(self, "LoggedIn")
  return true
end

function run.Close(self)
  set_state(self, "Closing")
  if self._sock and self._sock:state() == "ConnectedState" then
    command(self, "QUIT")
    self._sock:disconnectFromHost()
  end
  self._sock = nil
  set_state(self, "Unconnected")
  return true
end

function run.SetTransferMode(self, cmd) self._mode = cmd.mode return true end
function run.SetTransferType(self, cmd) self._ascii = cmd.ascii return true end

function run.SetProxy(self, cmd)
  self._proxy = cmd.host and { host = cmd.host, port = cmd.port } or nil
  return true
end

-- Whether the server lists MLST in FEAT (asked once per connection).
local function has_mlst(self)
  if self._features == nil then
    local code, text = command(self, "FEAT")
    self._features = code == 211 and text:upper() or ""
  end
  return self._features:find("MLST", 1, true) ~= nil
end

function run.List(self, cmd)
  local mlsd = has_mlst(self)
  if not set_type(self, true) then return nil, "UnknownError", "TYPE A refused" end
  local buf = ""
  local function line_out(line)
    local info = mlsd and parse.mlsd_line(line) or (not mlsd and parse.list_line(line))
    if info then self.listInfo:emit(info) end
  end
  local ok, err = transfer(self, (mlsd and "MLSD" or "LIST") .. (cmd.dir and " " .. cmd.dir or ""), function(data)
    return receive(self, data, function(chunk)
      buf = buf .. chunk
      for line in buf:gmatch("([^\n]*)\n") do line_out(line) end
      buf = buf:match("[^\n]*$")
    end)
  end)
  if buf ~= "" then line_out(buf) end
  if not ok then return nil, "UnknownError", err end
  return true
end

function run.Cd(self, cmd)
  local code, text = command(self, "CWD " .. cmd.dir)
  if code ~= 250 then return nil, "UnknownError", ("Changing directory failed:\n%s"):format(text or "") end
  return true
end

function run.Get(self, cmd)
  if not set_type(self, self._ascii) then return nil, "UnknownError", "TYPE refused" end
  local code, text = command(self, "SIZE " .. cmd.file)
  local total = code == 213 and tonumber(text) or 0
  local sink, file = cmd.to, nil
  if type(sink) == "string" then
    file = io.open(sink, "wb")
    if not file then return nil, "UnknownError", "Cannot open " .. sink end
    sink = function(chunk) file:write(chunk) end
  end
  local done = 0
  local ok, err = transfer(self, "RETR " .. cmd.file, function(data)
    return receive(self, data, function(chunk)
      done = done + #chunk
      if sink then
        sink(chunk)
      else
        self._buffer[#self._buffer + 1] = chunk
        self._available = self._available + #chunk
        self.readyRead:emit()
      end
      self.dataTransferProgress:emit(done, total)
    end)
  end)
  if file then file:close() end
  if not ok then return nil, "UnknownError", ("Downloading file failed:\n%s"):format(err) end
  return true
end

function run.Put(self, cmd)
  if not set_type(self, self._ascii) then return nil, "UnknownError", "TYPE refused" end
  local src = cmd.data
  local total = type(src) == "string" and #src or (src:seek("end") or 0)
  if type(src) ~= "string" then src:seek("set", 0) end
  local ok, err = transfer(self, "STOR " .. cmd.file, function(data)
    local sent = 0
    while sent < total do
      local chunk = type(src) == "string" and src:sub(sent + 1, sent + 65536) or src:read(65536)
      if not chunk or #chunk == 0 then break end
      if data:write(chunk) == false then return nil, data:errorString() end
      while data:bytesToWrite() > (1 << 20) do
        if not data:waitForBytesWritten(self.timeout) then return nil, "the data connection stalled" end
      end
      sent = sent + #chunk
      self.dataTransferProgress:emit(sent, total)
    end
    data:disconnectFromHost()
    if data:state() ~= "UnconnectedState" then data:waitForDisconnected(self.timeout) end
    return true
  end)
  if not ok then return nil, "UnknownError", ("Uploading file failed:\n%s"):format(err) end
  return true
end

-- The simple commands: one line, success codes.
local function simple(verb, what, ok_codes)
  return function(self, cmd)
    local code, text = command(self, verb .. " " .. cmd.arg)
    if not ok_codes[code] then return nil, "UnknownError", ("%s failed:\n%s"):format(what, text or "") end
    return true
  end
end
run.Remove = simple("DELE", "Removing file", { [250] = true })
run.Mkdir = simple("MKD", "Creating directory", { [257] = true, [250] = true })
run.Rmdir = simple("RMD", "Removing directory", { [250] = true })

function run.Rename(self, cmd)
  local code, text = command(self, "RNFR " .. cmd.old)
  if code == 350 then code, text = command(self, "RNTO " .. cmd.new) end
  if code ~= 250 then return nil, "UnknownError", ("Renaming file failed:\n%s"):format(text or "") end
  return true
end

function run.RawCommand(self, cmd)
  local code, text = command(self, cmd.line)
  if not code then return nil, "UnknownError", text end
  self.rawCommandReply:emit(code, text)
  return true
end

-- ---------------------------------------------------------------- the queue

local function needs_connection(kind)
  return kind ~= "ConnectToHost" and kind ~= "SetTransferMode" and kind ~= "SetTransferType" and
         kind ~= "SetProxy" and kind ~= "Close"
end

local function run_queue(self)
  self._running = true
  local failed = false
  while #self._queue > 0 do
    local cmd = table.remove(self._queue, 1)
    self._current = cmd
    self._aborted = false
    self.commandStarted:emit(cmd.id)
    local ok, code, text
    if needs_connection(cmd.kind) and not (self._sock and self._sock:state() == "ConnectedState") then
      ok, code, text = nil, "NotConnected", "Not connected"
    else
      ok, code, text = run[cmd.kind](self, cmd)
    end
    if self._aborted then ok, code, text = nil, "UnknownError", "Aborted" end
    self._current = nil
    if ok then
      self.commandFinished:emit(cmd.id, false)
    else
      self._error, self._errorString = code, text
      self._queue = {}
      self.commandFinished:emit(cmd.id, true)
      failed = true
    end
  end
  self._running = false
  self.done:emit(failed)
end

local function enqueue(self, cmd)
  self._next_id = self._next_id + 1
  cmd.id = self._next_id
  self._queue[#self._queue + 1] = cmd
  if not self._running then
    self._running = true
    net.spawn(function() run_queue(self) end)
  end
  return cmd.id
end

--- Queues a connection (through the proxy, when one is set).
-- @function connectToHost
-- @tparam string host
-- @tparam[opt=21] integer port
-- @treturn integer the command's id
-- @qt QFtp::connectToHost
function methods:connectToHost(host, port)
  local target = self._proxy and self._proxy.host or host
  return enqueue(self, { kind = "ConnectToHost", host = target, port = self._proxy and self._proxy.port or port or 21,
                         real_host = host })
end
--- Queues a login.
-- @function login
-- @tparam[opt="anonymous"] string user
-- @tparam[opt="anonymous@"] string password
-- @treturn integer the command's id
-- @qt QFtp::login
function methods:login(user, password)
  user, password = user or "anonymous", password or "anonymous@"
  return enqueue(self, { kind = "Login", user = user, password = password })
end
--- Queues QUIT and the close of the connection.
-- @function close
-- @treturn integer the command's id
-- @qt QFtp::close
function methods:close() return enqueue(self, { kind = "Close" }) end
--- Queues the transfer mode of the next transfers.
-- @function setTransferMode
-- @tparam string mode a TransferMode name
-- @treturn integer the command's id
-- @qt QFtp::setTransferMode
function methods:setTransferMode(mode)
  if mode ~= "Active" and mode ~= "Passive" then error("Ftp:setTransferMode(): Active or Passive", 2) end
  return enqueue(self, { kind = "SetTransferMode", mode = mode })
end
--- Queues the type of the next transfers.
-- @function setTransferType
-- @tparam string type a TransferType name
-- @treturn integer the command's id
function methods:setTransferType(t)
  if t ~= "Binary" and t ~= "Ascii" then error("Ftp:setTransferType(): Binary or Ascii", 2) end
  return enqueue(self, { kind = "SetTransferType", ascii = t == "Ascii" })
end
--- Queues an FTP proxy, which takes USER user@host.
-- @function setProxy
-- @tparam string host
-- @tparam[opt=21] integer port
-- @treturn integer the command's id
-- @qt QFtp::setProxy
function methods:setProxy(host, port) return enqueue(self, { kind = "SetProxy", host = host, port = port or 21 }) end
--- Queues a listing (MLSD when the server has it, else LIST); listInfo per entry.
-- @function list
-- @tparam[opt] string dir the current one by default
-- @treturn integer the command's id
-- @qt QFtp::list
function methods:list(dir) return enqueue(self, { kind = "List", dir = dir }) end
--- Queues a change of directory.
-- @function cd
-- @tparam string dir
-- @treturn integer the command's id
-- @qt QFtp::cd
function methods:cd(dir) return enqueue(self, { kind = "Cd", dir = dir }) end
--- Queues a download: to a file path, a function(chunk), or (nil) readyRead/readAll.
-- @function get
-- @tparam string file
-- @tparam[opt] string|function to
-- @treturn integer the command's id
-- @qt QFtp::get
function methods:get(file, to) return enqueue(self, { kind = "Get", file = file, to = to }) end
--- Queues an upload: put(data or file handle, name).
-- @function put
-- @tparam string|file data the bytes, or an open file
-- @tparam string file the name on the server
-- @treturn integer the command's id
-- @qt QFtp::put
function methods:put(data, file)
  if type(data) ~= "string" and io.type(data) ~= "file" then error("Ftp:put(): a string or an open file", 2) end
  return enqueue(self, { kind = "Put", data = data, file = file })
end
--- Queues the removal of a file.
-- @function remove
-- @tparam string file
-- @treturn integer the command's id
-- @qt QFtp::remove
function methods:remove(file) return enqueue(self, { kind = "Remove", arg = file }) end
--- Queues the making of a directory.
-- @function mkdir
-- @tparam string dir
-- @treturn integer the command's id
-- @qt QFtp::mkdir
function methods:mkdir(dir) return enqueue(self, { kind = "Mkdir", arg = dir }) end
--- Queues the removal of a directory.
-- @function rmdir
-- @tparam string dir
-- @treturn integer the command's id
-- @qt QFtp::rmdir
function methods:rmdir(dir) return enqueue(self, { kind = "Rmdir", arg = dir }) end
--- Queues a rename.
-- @function rename
-- @tparam string old
-- @tparam string new
-- @treturn integer the command's id
-- @qt QFtp::rename
function methods:rename(old, new) return enqueue(self, { kind = "Rename", old = old, new = new }) end
--- Queues a command line as it is; rawCommandReply has the reply.
-- @function rawCommand
-- @tparam string line
-- @treturn integer the command's id
-- @qt QFtp::rawCommand
function methods:rawCommand(line) return enqueue(self, { kind = "RawCommand", line = line }) end

--- The current command stops (its commandFinished says error) and
-- the pending ones are dropped.
-- @function abort
-- @qt QFtp::abort
function methods:abort()
  self._queue = {}
  if not self._current then return end
  self._aborted = true
  if self._data then
    send(self, "ABOR")
    self._data:abort()
  end
end

--- The downloaded bytes come so far, taken.
-- @function readAll
-- @treturn string
-- @qt QFtp::readAll
function methods:readAll()
  local data = table.concat(self._buffer)
  self._buffer, self._available = {}, 0
  return data
end
--- How many bytes readAll would give.
-- @function bytesAvailable
-- @treturn integer
-- @qt QFtp::bytesAvailable
function methods:bytesAvailable() return self._available end
--- The id of the command in progress; 0 when none.
-- @function currentId
-- @treturn integer
-- @qt QFtp::currentId
function methods:currentId() return self._current and self._current.id or 0 end
--- The command in progress.
-- @function currentCommand
-- @treturn string a Command name
-- @qt QFtp::currentCommand
function methods:currentCommand() return self._current and self._current.kind or "None" end
--- Whether commands wait in the queue.
-- @function hasPendingCommands
-- @treturn boolean
-- @qt QFtp::hasPendingCommands
function methods:hasPendingCommands() return #self._queue > 0 end
--- Drops the commands that wait (not the one in progress).
-- @function clearPendingCommands
-- @qt QFtp::clearPendingCommands
function methods:clearPendingCommands() self._queue = {} end
--- The state.
-- @function state
-- @treturn string a State name
-- @qt QFtp::state
function methods:state() return self._state end
--- The last error.
-- @function error
-- @treturn string an Error name
-- @qt QFtp::error
function methods:error() return self._error end
--- The last error's text.
-- @function errorString
-- @treturn string
-- @qt QFtp::errorString
function methods:errorString() return self._errorString end

--- A new Ftp, Unconnected.
-- @function net.Ftp
-- @treturn Ftp
-- @qt QFtp::QFtp
local function new()
  local self = setmetatable({ _queue = {}, _next_id = 0, _state = "Unconnected", _mode = "Passive",
                              _ascii = false, _buffer = {}, _available = 0, _error = "NoError",
                              _errorString = "Unknown error", timeout = DEFAULT_TIMEOUT }, mt)
  for _, name in ipairs(SIGNALS) do self[name] = net.Signal() end
  return self
end

-- ---------------------------------------------------------------- the direct form

-- ftp://[user[:pass]@]host[:port]/path -> { user, password, host, port, path }
local function parse_url(url)
  local rest = type(url) == "string" and url:match("^[fF][tT][pP]://(.*)$")
  if not rest then return nil, ("not an ftp:// URL: %s"):format(tostring(url)) end
  local authority, path = rest:match("^([^/]*)(.*)$")
  local user, password
  local cred, hostport = authority:match("^(.*)@([^@]*)$")
  if cred then
    user, password = cred:match("^([^:]*):?(.*)$")
    user = user:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    password = password:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  else
    hostport = authority
  end
  local host, port = hostport:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then return nil, ("no host in %s"):format(url) end
  port = port ~= "" and tonumber(port) or 21
  path = (path ~= "" and path or "/"):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  return { user = user ~= "" and user or nil, password = password, host = host, port = port, path = path }
end

-- The kind of a direct form's failure, from the error its session ended
-- with: "ftp" is anything after the connection was made (a refused login
-- or command, a failed transfer, a local file that could not be opened).
local KINDS = { HostNotFound = "dns", ConnectionRefused = "network", NotConnected = "network" }

-- Runs commands on a fresh connection in the calling task; fn(ftp) queues
-- the work. Returns true, or nil, the error text and its kind.
local function session(u, fn)
  local f = new()
  f:connectToHost(u.host, u.port)
  f:login(u.user, u.password)
  fn(f)
  f:close()
  local finished, failed
  f.done:connect(function(err) finished, failed = true, err end)
  while not finished do f.done:wait(-1) end
  if failed then return nil, f:errorString(), KINDS[f:error()] or "ftp" end
  return true
end

-- net.ftp.get(url, [to]) -> the file's bytes (or true when `to`, a path
-- or function, took them), or nil, the error and its kind ("url", "dns",
-- "network", "ftp").
local function get(url, to)
  local u, err = parse_url(url)
  if not u then return nil, err, "url" end
  local chunks = {}
  local ok, why, kind = session(u, function(f)
    f:get(u.path, to or function(c) chunks[#chunks + 1] = c end)
  end)
  if not ok then return nil, why, kind end
  return to and true or table.concat(chunks)
end

-- net.ftp.put(url, data) -> true, or nil, the error and its kind.
local function put(url, data)
  local u, err = parse_url(url)
  if not u then return nil, err, "url" end
  return session(u, function(f) f:put(data, u.path) end)
end

-- net.ftp.list(url) -> { info, ... }, or nil, the error and its kind.
local function list(url)
  local u, err = parse_url(url)
  if not u then return nil, err, "url" end
  local out = {}
  local ok, why, kind = session(u, function(f)
    f.listInfo:connect(function(info) out[#out + 1] = info end)
    f:list(u.path)
  end)
  if not ok then return nil, why, kind end
  return out
end

return { new = new, parse_url = parse_url, get = get, put = put, list = list }
