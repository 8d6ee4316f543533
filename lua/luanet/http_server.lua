return require "luanet.http.server"   -- the old name of luanet.http.server (docs/LUA-LIBRARY.md)
