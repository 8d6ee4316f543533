-- spec/support/pki.lua: a throw-away PKI for the TLS specs, made with the
-- `openssl` command in a fresh directory (nothing is cached across runs):
--
--   local pki = require("support.pki").make()
--   finally(pki.cleanup)            -- or teardown: removes the directory
--   pki.ca                          -- the CA certificate ("CN=luanetd test CA")
--   pki.localhost.cert, .key        -- CN=localhost, DNS:localhost, IP:127.0.0.1
--   pki.other.cert, .key            -- CN=other.test, DNS:other.test (for SNI)
--   pki.expired.cert, .key          -- CN=localhost, valid 2020-01-01 to 2020-01-02
--   pki.reissue("localhost")        -- a new key and certificate for the same names
--                                      (a renewal): { cert, key }
--
-- Every certificate is signed by the CA. The expired one is made with
-- `openssl ca` (x509 -req cannot back-date) and a minimal CA config.
local helper = require "helper"
local dh = require "support.daemon_helper"

local pki = {}

-- Runs an openssl command line (a string of quoted words) in dir; raises
-- with what it printed when it fails.
local function openssl(dir, args)
  local code, out, err = helper.execute("sh -c " .. helper.quote(("cd %s && exec openssl %s"):format(helper.quote(dir), args)), 20000)
  if code ~= 0 then
    error(("openssl %s failed (%s):\n%s%s"):format(args, tostring(code), out, err), 3)
  end
end

-- One config for everything: req's distinguished name comes from -subj,
-- the extensions from the sections named on each command line, and `ca`
-- (for the expired certificate) keeps its database in dir.
local CONFIG = [[
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[ server_other ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.test
authorityKeyIdentifier = keyid
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
certificate = ./ca.pem
private_key = ./ca.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
]]

-- A key and a CSR for CN=cn, named name.key and name.csr.
local function request(dir, name, cn)
  openssl(dir, helper.quote_all("req", "-config", "openssl.cnf", "-new", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name .. ".key",
    "-subj", "/CN=" .. cn, "-out", name .. ".csr"))
end

-- A certificate signed by the CA, valid from now for a year.
local function sign(dir, name, ext)
  openssl(dir, helper.quote_all("x509", "-req", "-in", name .. ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
    "-CAcreateserial", "-days", "365", "-sha256", "-extfile", "openssl.cnf", "-extensions", ext,
    "-out", name .. ".pem"))
end

function pki.make()
  local dir = dh.tmpdir()
  local ok, err = pcall(function()
    dh.write(dir .. "/openssl.cnf", CONFIG)
    openssl(dir, helper.quote_all("req", "-config", "openssl.cnf", "-x509", "-newkey", "ec",
      "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-subj", "/CN=luanetd test CA",
      "-days", "365", "-sha256", "-extensions", "v3_ca", "-out", "ca.pem"))
    request(dir, "localhost", "localhost")
    sign(dir, "localhost", "server_localhost")
    request(dir, "other", "other.test")
    sign(dir, "other", "server_other")
    -- The expired one: `openssl ca` takes explicit dates.
    os.execute("mkdir " .. helper.quote(dir .. "/newcerts"))
    dh.write(dir .. "/index.txt", "")
    dh.write(dir .. "/serial", "1000\n")
    request(dir, "expired", "localhost")
    openssl(dir, helper.quote_all("ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", "expired.csr",
      "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", "openssl.cnf",
      "-extensions", "server_localhost", "-out", "expired.pem"))
  end)
  local function cleanup() os.execute("rm -rf " .. helper.quote(dir)) end
  if not ok then
    cleanup()
    error(err, 2)
  end
  local function pair(name) return { cert = dir .. "/" .. name .. ".pem", key = dir .. "/" .. name .. ".key" } end
  local issued = 0
  local function reissue(which)
    issued = issued + 1
    local name = ("%s-%d"):format(which, issued)
    request(dir, name, which == "other" and "other.test" or "localhost")
    sign(dir, name, "server_" .. which)
    return pair(name)
  end
  return { dir = dir, ca = dir .. "/ca.pem", localhost = pair("localhost"), other = pair("other"),
           expired = pair("expired"), reissue = reissue, cleanup = cleanup }
end

return pki
