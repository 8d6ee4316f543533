return require "luanet.http.qhttp"   -- the old name of luanet.http.qhttp (docs/LUA-LIBRARY.md)
