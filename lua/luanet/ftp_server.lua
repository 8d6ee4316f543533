return require "luanet.ftp.server"   -- the old name of luanet.ftp.server (docs/LUA-LIBRARY.md)
