return require "luanet.ftp.parse"   -- the old name of luanet.ftp.parse (docs/LUA-LIBRARY.md)
