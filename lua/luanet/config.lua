return require "luanet.daemon.config"   -- the old name of luanet.daemon.config (docs/LUA-LIBRARY.md)
