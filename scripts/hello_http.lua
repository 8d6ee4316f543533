-- scripts/hello_http.lua: answers every request with "Hello, World!": the
-- HTTP benchmark's server, and the smallest HttpServer there is.
--
--   luanetd scripts/hello_http.lua [--host H] [--port P]
--   service "hello" { script = "scripts/hello_http.lua", listen = "tcp://127.0.0.1:8081" }
local net = require "luanet"
local cli = require "luanet.cli"

local USAGE = "hello_http.lua [--host H] [--port P] [--cert FILE --key FILE]"

local function main(...)
  local opts = cli.options(USAGE, { host = "127.0.0.1", port = 0, cert = false, key = false,
                                    alpn = "h2,http/1.1" }, ...)
  local tcp, err = cli.listen(opts)
  if not tcp then cli.fail(err) end
  local server = net.HttpServer()
  server.request:connect(function(_, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish("Hello, World!")
  end)
  server:serve(tcp)
  if type((...)) == "table" then   -- a service: idle keep-alives go at a reload
    (...).stopping:connect(function() server:closeIdle() end)
  end
end

cli.run(main, ...)
