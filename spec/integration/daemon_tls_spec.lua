-- spec/integration/daemon_tls_spec.lua: tls:// listeners of `luanetd -c`:
-- config mistakes refused at their line, a service answering HTTPS, and a
-- certificate renewed under load: SIGHUP (and ctl reload) reload the
-- service, new handshakes get the new certificate, and no request fails.
local helper = require "helper"
local dh = require "support.daemon_helper"

local HELLO = dh.SCRIPTS .. "/hello_http.lua"
-- Configs that must be refused name their control socket on line 1, so
-- that the lines in the messages are those of the text as written.
local CONTROL = 'control = "ctl.sock"\n'

-- The serial number of the certificate a handshake with 127.0.0.1:port gets.
local function served_serial(port)
  local _, out = helper.execute(("sh -c %s"):format(helper.quote(
    ("openssl s_client -connect 127.0.0.1:%d </dev/null 2>/dev/null | openssl x509 -noout -serial"):format(port))))
  return out:match("serial=(%x+)")
end

local function serial_of(cert)
  local _, out = helper.execute(helper.quote_all("openssl", "x509", "-noout", "-serial", "-in", cert))
  return out:match("serial=(%x+)")
end

local function config(cert, key)
  return ([[
service "secure" {
  script = %q,
  listen = "tls://127.0.0.1:0",
  tls = { cert = %q, key = %q, alpn = "http/1.1" },
}
]]):format(HELLO, cert, key)
end

describe("luanetd -c with a tls:// listener", function()
  local pki
  setup(function() pki = require("support.pki").make() end)
  teardown(function() pki.cleanup() end)

  it("refuses a tls:// listener without tls = {...}, and a certificate it cannot read, at their lines", function()
    local code, _, err, conf = dh.run(CONTROL .. ('service "s" {\n  script = %q,\n  listen = "tls://127.0.0.1:0",\n}\n'):format(HELLO))
    assert.are.same(2, code)
    assert.matches(dh.pattern_escape(conf) .. ":4: service \"s\": a tls:// listener needs tls = { cert = FILE, key = FILE }", err)
    code, _, err, conf = dh.run(CONTROL .. ('service "s" {\n  script = %q,\n  listen = "tls://127.0.0.1:0",\n  tls = { cert = "missing.pem" },\n}\n'):format(HELLO))
    assert.are.same(2, code)
    assert.matches(dh.pattern_escape(conf) .. ":5: service \"s\": tls: cert: [^\n]*missing%.pem: No such file or directory", err)
    code, _, err = dh.run(CONTROL .. ('service "s" {\n  script = %q,\n  listen = "tls://127.0.0.1:0",\n  tls = { cert = %q, colour = "blue" },\n}\n'):format(HELLO, pki.localhost.cert))
    assert.are.same(2, code)
    assert.matches(":5: service \"s\": tls: unknown key 'colour'", err)
  end)

  it("does not start a service whose key does not match its certificate, and says why", function()
    local d = dh.start(('service "s" {\n  script = %q,\n  listen = "tls://127.0.0.1:0",\n  tls = { cert = %q, key = %q },\n}\n')
      :format(HELLO, pki.localhost.cert, pki.other.key), nil, { wait = {} })
    finally(d.cleanup)
    assert.truthy(d.wait_log("error s failed to start: tls://127%.0%.0%.1:0: [^\n]*other%.key: key values mismatch"), d.log())
  end)

  it("serves HTTPS, and after a renewal and SIGHUP new handshakes get the new certificate while no request fails", function()
    local dir = dh.tmpdir()
    local d, wrk
    -- busted keeps one finally per it (the last one given): one for all.
    finally(function()
      if wrk then wrk.cleanup() end
      if d then d.cleanup() end
      os.execute("rm -rf " .. helper.quote(dir))
    end)
    local cert, key = dir .. "/site.pem", dir .. "/site.key"
    assert(os.execute(("cp %s %s && cp %s %s"):format(pki.localhost.cert, cert, pki.localhost.key, key)))
    d = dh.start(config(cert, key))
    local port = d.port("secure")
    assert.matches("^tls://", d.addresses("secure")[1])
    local code, out = helper.execute(helper.quote_all("curl", "-sS", "--max-time", "5", "--cacert", pki.ca,
      ("https://localhost:%d/"):format(port)))
    assert.are.same({ 0, "Hello, World!" }, { code, out })
    assert.are.same(serial_of(pki.localhost.cert), served_serial(port))

    -- Under load: wrk over TLS for 3 s, the certificate renewed and SIGHUP
    -- sent in the middle.
    wrk = helper.spawn(helper.quote_all("wrk", "-t1", "-c20", "-d3s", ("https://127.0.0.1:%d/"):format(port)))
    helper.run(1000, function() return false end)
    local renewed = pki.reissue("localhost")
    assert(os.execute(("cp %s %s && cp %s %s"):format(renewed.cert, cert, renewed.key, key)))
    d.kill("HUP")
    assert.truthy(d.wait_log("info secure reloaded"), d.log())
    assert.are.same(0, wrk.wait(10000))
    local report = wrk.output()
    wrk.cleanup()
    assert.matches("(%d+) requests in", report)
    assert.is_nil(report:find("Socket errors", 1, true), report .. d.log())
    assert.is_nil(report:find("Non%-2xx"), report)
    assert.are.same(serial_of(renewed.cert), served_serial(port))

    -- ctl reload re-reads them too.
    assert(os.execute(("cp %s %s && cp %s %s"):format(pki.localhost.cert, cert, pki.localhost.key, key)))
    assert.are.same(0, (d.ctl("reload", "secure")))
    assert.are.same(serial_of(pki.localhost.cert), served_serial(port))
    assert.are.same(0, d.stop())
  end)
end)
