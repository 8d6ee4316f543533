-- spec/support/fortune_block.lua: the specs' own reading of a Fortune
-- Server block (a quint16 size, then a Qt 4 QString), to check what the
-- servers send.
local helper = require "helper"
local net = helper.net

local fortune_block = {}

-- Decodes one fortune block; returns the string or nil and what is wrong.
function fortune_block.decode(data)
  if #data < 2 then return nil, ("%d bytes"):format(#data) end
  local size = string.unpack(">I2", data)
  if #data ~= 2 + size then
    return nil, ("size field %d, %d bytes follow"):format(size, #data - 2)
  end
  local stream = net.DataStream(data:sub(3))
  local s, err = stream:readQString()
  if not s then return nil, err end
  if not stream:atEnd() then return nil, "bytes after the string" end
  if not utf8.len(s) or s == "" then return nil, "not a UTF-8 fortune" end
  return s
end

return fortune_block
