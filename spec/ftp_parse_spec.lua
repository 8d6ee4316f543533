-- luanet.ftp.parse: what the FTP client reads from servers, on lines as
-- real servers write them (Unix and DOS listings, MLSD facts, PASV/EPSV
-- replies), and the server's path resolution.
local parse = require "luanet.ftp.parse"

describe("ftp_parse", function()
  it("reads reply lines, single and multi-line", function()
    assert.are.same({ 220, "Welcome", false }, { parse.reply_line("220 Welcome") })
    assert.are.same({ 211, "Features:", true }, { parse.reply_line("211-Features:") })
    assert.is_nil(parse.reply_line(" EPSV"))
  end)

  it("reads PASV and EPSV addresses, and refuses bad ones", function()
    assert.are.same({ "127.0.0.1", 50000 }, { parse.pasv("227 Entering Passive Mode (127,0,0,1,195,80).") })
    assert.is_nil(parse.pasv("227 Entering Passive Mode (127,0,0,300,195,80)."))
    assert.are.same(50000, parse.epsv("229 Entering Extended Passive Mode (|||50000|)"))
    assert.is_nil(parse.epsv("229 Entering Extended Passive Mode (|||70000|)"))
  end)

  it("reads Unix LIST lines: files, directories, symlinks, old dates, no group", function()
    local now = os.time({ year = 2026, month = 11, day = 26, hour = 12 })
    local f = parse.list_line("-rw-r--r--   1 alice    staff        1234 Nov 20 04:25 notes.txt", now)
    assert.are.same({ "notes.txt", 1234, true, false, false, "alice", "staff", "rw-r--r--" },
      { f.name, f.size, f.isFile, f.isDir, f.isSymLink, f.owner, f.group, f.permissions })
    assert.are.same(os.time({ year = 2026, month = 11, day = 20, hour = 4, min = 25 }), f.lastModified)
    local d = parse.list_line("drwxr-xr-x 2 ftp ftp 4096 Jan  3  2019 old dir", now)
    assert.are.same({ "old dir", true, os.time({ year = 2019, month = 1, day = 3, hour = 0 }) },
      { d.name, d.isDir, d.lastModified })
    local l = parse.list_line("lrwxrwxrwx 1 ftp ftp 7 Nov 26 04:25 link -> target", now)
    assert.are.same({ "link", true }, { l.name, l.isSymLink })
    local g = parse.list_line("-rw-r--r-- 1 ftp 42 Nov 26 04:25 nogroup.txt", now)
    assert.are.same({ "nogroup.txt", 42, "" }, { g.name, g.size, g.group })
    assert.is_nil(parse.list_line("total 12", now))
  end)

  it("reads DOS LIST lines (IIS style)", function()
    local d = parse.list_line("11-26-26  04:25PM       <DIR>          Program Files")
    assert.are.same({ "Program Files", true, false }, { d.name, d.isDir, d.isFile })
    assert.are.same(os.time({ year = 2026, month = 11, day = 26, hour = 16, min = 25 }), d.lastModified)
    local f = parse.list_line("01-02-2019  12:05AM              1234 a.txt")
    assert.are.same({ "a.txt", 1234, true }, { f.name, f.size, f.isFile })
    assert.are.same(os.time({ year = 2019, month = 1, day = 2, hour = 0, min = 5 }), f.lastModified)
  end)

  it("reads MLSD facts and skips the directory's own entries", function()
    local f = parse.mlsd_line("type=file;size=12;modify=20261126042500;perm=r; hello.txt")
    assert.are.same({ "hello.txt", 12, true, true, false }, { f.name, f.size, f.isFile, f.isReadable, f.isWritable })
    assert.is_nil(parse.mlsd_line("type=cdir;modify=20261126042500; ."))
    assert.are.same(true, parse.mlsd_line("type=dir;modify=20261126042500;perm=el; sub").isDir)
  end)

  it("resolves the server's paths under the root, whatever the argument", function()
    assert.are.same("/etc/passwd", parse.virtual("/sub", "../../../etc/passwd"))
    assert.are.same("/sub/a", parse.virtual("/sub", "./a/."))
    assert.are.same("/", parse.virtual("/", "/.."))
    assert.are.same("/x", parse.virtual("/a/b", "//x//"))
  end)
end)
