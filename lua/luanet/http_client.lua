return require "luanet.http.client"   -- the old name of luanet.http.client (docs/LUA-LIBRARY.md)
