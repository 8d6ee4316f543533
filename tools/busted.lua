-- busted under luanetd: what /usr/bin/busted does, then exit, as lua5.4 does
-- when busted returns. luanetd alone would keep running while a spec that
-- failed half-way leaves a socket open, since it exits only when nothing is
-- left to wait for. os.exit(_, true) closes the state first, so the
-- sanitizer build checks for leaks after every object was finalized.
require "busted.runner" ({ standalone = false })
os.exit(0, true)
