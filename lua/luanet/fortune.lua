-- luanet.fortune: the protocol of Qt's Fortune examples, shared by the
-- server and both clients in scripts/: one block, a quint16 size and then a
-- Qt 4 QString, and the messages Qt's clients show.
local net = require "luanet"

local fortune = {}

-- How long the clients wait for a whole fortune, as Qt's examples.
fortune.TIMEOUT_MS = 5000

-- The block as Qt's server builds it: a zero size, the string, then the
-- real size written over the zero.
function fortune.block(text)
  local out = net.DataStream()
  out:writeUInt16(0)
  out:writeQString(text)
  out:seek(0)
  out:writeUInt16(out:size() - 2)
  return out:data()
end

local MESSAGES = {
  HostNotFoundError = "The host was not found. Please check the host name and port settings.",
  ConnectionRefusedError = "The connection was refused by the peer. Make sure the fortune"
    .. " server is running, and check that the host name and port settings are correct.",
}

-- Qt's displayError: the message a client shows for a socket's error.
function fortune.error_message(sock)
  return MESSAGES[sock:error()] or ("The following error occurred: %s."):format(sock:errorString())
end

fortune.MALFORMED = "The following error occurred: Malformed fortune block."
fortune.TIMED_OUT = "The following error occurred: Network operation timed out."

return fortune
