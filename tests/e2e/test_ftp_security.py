"""What a hostile or careless client must not be able to do: reach the
private folder, leave DIR, bounce data connections, hijack passive ports,
flood the parser, guess passwords, hog sessions; and what the operator must
not be able to do by accident: expose guest/guest to the network, leak
passwords into the log."""

import ftplib
import os
import socket
import time

import pytest

from conftest import (Control, names, raw, read_all, run_shoal, wait_for)


def data_cmd(ftp, cmd, payload=b""):
    """Run a transfer command through a passive data connection; return the
    error reply, or "ACCEPTED ..." with the final reply if the server went
    ahead with the transfer."""
    try:
        conn, _ = ftp.ntransfercmd(cmd)
    except ftplib.Error as e:
        return str(e)
    try:
        if cmd.split()[0].upper() in ("STOR", "APPE", "STOU"):
            conn.sendall(payload)
        else:
            read_all(conn)
    finally:
        conn.close()
    return "ACCEPTED " + ftp.getmultiline()


# --- the private folder ------------------------------------------------------

SHOAL_PATHS = [".shoal", "/.shoal", "./.shoal", "../.shoal", "/a/../.shoal",
               "a/../.shoal", "//.shoal"]


def test_private_folder_is_invisible(node):
    n = node()
    (n.dir / "a").mkdir()
    (n.dir / "visible.txt").write_bytes(b"v")
    ftp = n.ftp()
    assert names(ftp) == {"a", "visible.txt"}
    assert names(ftp, "/") == {"a", "visible.txt"}
    assert names(ftp, "/a/..") == {"a", "visible.txt"}
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert len(lines) == 2 and not any(".shoal" in l for l in lines), lines
    mlsd = {name for name, _ in ftp.mlsd("/")} - {".", ".."}
    assert mlsd == {"a", "visible.txt"}
    for cmd in ("LIST -a", "LIST -al", "NLST -a"):
        lines = []
        try:
            ftp.retrlines(cmd, lines.append)
        except ftplib.error_perm:
            continue
        assert not any(".shoal" in l for l in lines), (cmd, lines)
    stat = raw(ftp, "STAT /")
    assert ".shoal" not in stat, stat


@pytest.mark.parametrize("p", SHOAL_PATHS)
def test_private_folder_commands_550(node, p):
    n = node()
    (n.dir / "a").mkdir()
    (n.dir / "keep.txt").write_bytes(b"keep")
    secret = n.dir / ".shoal" / "node_id"
    before = secret.read_bytes()
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    for cmd in (f"CWD {p}", f"CWD {p}/tls", f"DELE {p}/node_id",
                f"MKD {p}", f"MKD {p}/newdir", f"RMD {p}/tmp",
                f"SIZE {p}/node_id", f"MDTM {p}/node_id", f"HASH {p}/node_id",
                f"MLST {p}", f"MLST {p}/node_id", f"RNFR {p}/node_id",
                f"STAT {p}"):
        reply = raw(ftp, cmd)
        assert reply.startswith("550"), (cmd, reply)
    assert ftp.pwd() == "/"
    for cmd in (f"RETR {p}/node_id", f"RETR {p}/tls/key.pem",
                f"STOR {p}/new.txt", f"STOR {p}/node_id", f"APPE {p}/node_id",
                f"LIST {p}", f"NLST {p}", f"MLSD {p}"):
        reply = data_cmd(ftp, cmd, b"overwritten")
        assert reply.startswith("550"), (cmd, reply)
    assert raw(ftp, "RNFR keep.txt").startswith("350")
    reply = raw(ftp, f"RNTO {p}/stolen.txt")
    assert reply.startswith("550"), reply
    assert (n.dir / "keep.txt").read_bytes() == b"keep"

    assert secret.read_bytes() == before
    assert not (n.dir / ".shoal" / "new.txt").exists()
    assert not (n.dir / ".shoal" / "newdir").exists()
    assert not (n.dir / ".shoal" / "stolen.txt").exists()
    assert (n.dir / ".shoal" / "tmp").is_dir()
    assert (n.dir / ".shoal" / "tls" / "key.pem").exists()


def test_private_folder_from_a_subdirectory(node):
    n = node()
    (n.dir / "a" / "b").mkdir(parents=True)
    ftp = n.ftp()
    ftp.cwd("/a/b")
    for p in ("../../.shoal", "../.././.shoal", "/.shoal"):
        assert raw(ftp, f"CWD {p}").startswith("550"), p
        assert data_cmd(ftp, f"RETR {p}/node_id").startswith("550"), p
    assert ftp.pwd() == "/a/b"


# --- staying inside DIR ------------------------------------------------------


def test_dotdot_cannot_escape(node, tmp_path):
    n = node()
    (n.dir / "inside.txt").write_bytes(b"in")
    (n.dir / "sub").mkdir()
    (tmp_path / "outside-marker.txt").write_bytes(b"outside")
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")

    reply = raw(ftp, "CWD ../../..")
    assert reply[:3] in ("250", "550"), reply
    assert ftp.pwd() == "/"
    assert names(ftp) == {"inside.txt", "sub"}
    reply = raw(ftp, "CDUP")
    assert reply[:3] in ("250", "550"), reply
    assert ftp.pwd() == "/"

    assert data_cmd(ftp, "RETR ../../etc/passwd").startswith("550")
    assert data_cmd(ftp, "RETR /../../../../etc/passwd").startswith("550")
    assert data_cmd(ftp, "RETR ../outside-marker.txt").startswith("550")
    assert raw(ftp, "SIZE ../outside-marker.txt").startswith("550")

    ftp.cwd("sub")
    assert data_cmd(ftp, "RETR ../../../../../etc/passwd").startswith("550")
    reply = raw(ftp, "CWD ../../../..")
    assert reply[:3] in ("250", "550"), reply
    assert ftp.pwd() in ("/", "/sub")

    ftp.cwd("/")
    try:
        listing = names(ftp, "../..")
    except ftplib.error_perm:
        listing = set()
    assert "outside-marker.txt" not in listing
    data_cmd(ftp, "STOR ../escaped.txt", b"escape")
    raw(ftp, "MKD ../../escaped-dir")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "escaped-dir").exists()
    assert not (tmp_path.parent / "escaped-dir").exists()


def test_symlinks_out_of_dir_are_not_followed(node, tmp_path):
    n = node()
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside secret")
    outside_dir = tmp_path / "outside-dir"
    outside_dir.mkdir()
    (outside_dir / "f.txt").write_bytes(b"f")
    os.symlink("/etc", n.dir / "etc-link")
    os.symlink(outside, n.dir / "file-link")
    os.symlink(outside_dir, n.dir / "dir-link")
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")

    for cmd in ("CWD etc-link", "CWD dir-link", "SIZE file-link",
                "SIZE etc-link/passwd", "HASH file-link",
                "HASH dir-link/f.txt", "MDTM file-link", "DELE dir-link/f.txt",
                "MKD dir-link/new"):
        reply = raw(ftp, cmd)
        assert reply.startswith("550"), (cmd, reply)
    assert ftp.pwd() == "/"
    for cmd in ("RETR etc-link/passwd", "RETR file-link", "RETR dir-link/f.txt",
                "STOR dir-link/planted.txt", "APPE file-link"):
        reply = data_cmd(ftp, cmd, b"planted")
        assert reply.startswith("550"), (cmd, reply)
    # listing the link itself may show the link, never what it points to
    for cmd in ("LIST dir-link", "NLST dir-link", "LIST etc-link",
                "LIST dir-link/", "NLST etc-link/", "MLSD dir-link",
                "LIST dir-link/.", "NLST etc-link/."):
        lines = []
        try:
            ftp.retrlines(cmd, lines.append)
        except ftplib.error_perm:
            continue
        assert not any("f.txt" in l or "passwd" in l for l in lines), \
            (cmd, lines)

    assert outside.read_bytes() == b"outside secret"
    assert (outside_dir / "f.txt").read_bytes() == b"f"
    assert not (outside_dir / "planted.txt").exists()
    assert not (outside_dir / "new").exists()


# --- data connection hijacking -----------------------------------------------


@pytest.mark.parametrize("cmd", [
    "PORT 127,0,0,2,195,80",
    "PORT 127,0,0,1,0,80",
    "PORT 127,0,0,1,3,255",
    "PORT 10,0,0,1,195,80",
    "EPRT |1|127.0.0.2|50000|",
    "EPRT |1|127.0.0.1|80|",
])
def test_port_bounce_refused(node, cmd):
    n = node()
    (n.dir / "f.txt").write_bytes(b"data")
    ftp = n.ftp()
    reply = raw(ftp, cmd)
    assert reply.startswith("500"), reply
    assert "Illegal PORT command" in reply, reply


def test_port_bounce_makes_no_connection(node):
    n = node()
    (n.dir / "f.txt").write_bytes(b"data")
    trap = socket.create_server(("127.0.0.2", 0))
    trap.setblocking(False)
    try:
        tport = trap.getsockname()[1]
        ftp = n.ftp()
        reply = raw(ftp, f"PORT 127,0,0,2,{tport >> 8},{tport & 255}")
        assert reply.startswith("500"), reply
        reply = raw(ftp, "RETR f.txt")
        assert reply.startswith("425"), reply
        with pytest.raises(BlockingIOError):
            trap.accept()
        # a valid PORT to the client's own address is accepted
        ok = raw(ftp, "PORT 127,0,0,1,195,80")
        assert ok.startswith("200"), ok
    finally:
        trap.close()


def test_passive_connection_from_other_address_refused(node):
    n = node()
    content = os.urandom(100_000)
    (n.dir / "p.bin").write_bytes(content)
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    _, port = ftplib.parse227(ftp.sendcmd("PASV"))

    rogue = socket.socket()
    rogue.bind(("127.0.0.2", 0))
    rogue.settimeout(10)
    rogue_data = b""
    rogue_closed = False
    try:
        rogue.connect((n.host, port))
    except ConnectionError:
        rogue_closed = True

    real = socket.create_connection((n.host, port), timeout=10)
    try:
        reply = ftp.sendcmd("RETR p.bin")
        assert reply.startswith("150"), reply
        got = read_all(real)
    finally:
        real.close()
    assert got == content
    assert ftp.voidresp().startswith("226")

    if not rogue_closed:
        try:
            rogue_data = read_all(rogue)
        except ConnectionError:
            pass
    rogue.close()
    assert rogue_data == b""


# --- the command parser -------------------------------------------------------


def test_overlong_line_is_refused_and_closed(node):
    n = node()
    c = n.control()
    c.login()
    c.send(b"A" * 5000)
    assert c.reply() == "500 Command line too long."
    assert c.is_closed(5)


def test_overlong_line_before_login(node):
    c = node().control()
    c.send(b"USER " + b"x" * 6000)
    assert c.reply() == "500 Command line too long."
    assert c.is_closed(5)


def test_nul_and_cr_in_argument_are_501(node):
    n = node()
    c = n.control()
    c.login()
    for line in (b"CWD a\x00b\r\n", b"MKD evil\x00dir\r\n", b"MKD cr\rdir\r\n",
                 b"DELE x\x00\r\n"):
        c.send(line)
        reply = c.reply()
        assert reply.startswith("501"), (line, reply)
    assert not any(p.name.startswith(("evil", "cr")) for p in n.dir.iterdir())
    assert c.cmd("PWD").startswith('257 "/"')


# --- authentication -----------------------------------------------------------


def test_unknown_user_and_bad_password_look_the_same(node):
    n = node()
    c1 = n.control()
    assert c1.cmd("USER nosuchuser").startswith("331")
    unknown = c1.cmd("PASS whatever")
    c2 = n.control()
    assert c2.cmd("USER guest").startswith("331")
    wrong = c2.cmd("PASS not-the-password")
    assert unknown == wrong == "530 Login incorrect."
    # failed attempts do not log the connection in
    assert c2.cmd("PWD").startswith("530")


def test_login_delay_applies_to_failures(node):
    n = node("ftp.login_delay_ms=400")
    c = n.control()
    for user in ("guest", "nobody"):
        c.cmd(f"USER {user}")
        t0 = time.monotonic()
        assert c.cmd("PASS bad") == "530 Login incorrect."
        assert time.monotonic() - t0 >= 0.35


def test_three_failed_logins_close_the_connection(node):
    n = node()
    c = n.control()
    for _ in range(2):
        assert c.cmd("USER guest").startswith("331")
        assert c.cmd("PASS wrong").startswith("530")
    assert c.cmd("USER guest").startswith("331")
    reply = c.cmd("PASS wrong")
    if reply.startswith("530"):
        reply = c.reply()
    assert reply == "421 Too many failed logins."
    assert c.is_closed(5)
    # another connection can still log in
    assert n.ftp().pwd() == "/"


def test_commands_before_login_are_530(node):
    n = node()
    (n.dir / "f.txt").write_bytes(b"f")
    c = n.control()
    for cmd in ("PWD", "CWD /", "CDUP", "MKD x", "RMD x", "DELE f.txt",
                "RNFR f.txt", "RNTO g.txt", "SIZE f.txt", "MDTM f.txt",
                "MLST f.txt", "HASH f.txt", "LIST", "NLST", "MLSD",
                "RETR f.txt", "STOR g.txt", "APPE g.txt", "STOU", "REST 0",
                "PASV", "EPSV", "PORT 127,0,0,1,195,80",
                "EPRT |1|127.0.0.1|50000|"):
        reply = c.cmd(cmd)
        assert reply.startswith("530"), (cmd, reply)
    assert (n.dir / "f.txt").exists()
    assert sorted(p.name for p in n.dir.iterdir()) == [".shoal", "f.txt"]


# --- resource limits ----------------------------------------------------------


@pytest.mark.parametrize("option", ["ftp.max_per_address=2",
                                    "ftp.max_sessions=2"])
def test_connection_limits(node, option):
    n = node(option)
    c1 = n.control()
    c2 = n.control()
    c1.login()
    c3 = Control(n.host, n.port)
    assert c3.reply() == "421 Too many connections."
    assert c3.is_closed(5)
    c3.close()
    assert c1.cmd("NOOP").startswith("200")
    assert c2.cmd("NOOP").startswith("200")

    c1.cmd("QUIT")
    c1.close()

    def slot_free():
        c = Control(n.host, n.port)
        try:
            return c.reply().startswith("220")
        finally:
            c.close()
    wait_for(slot_free, 5, what="a freed connection slot")


def test_max_per_address_counts_per_address(node):
    n = node("ftp.max_per_address=1")
    c1 = n.control()
    c2 = Control(n.host, n.port, source=("127.0.0.2", 0))
    assert c2.reply().startswith("220")
    c3 = Control(n.host, n.port)
    assert c3.reply() == "421 Too many connections."
    for c in (c1, c2, c3):
        c.close()


def test_login_timeout(node):
    n = node("ftp.login_timeout=1")
    t0 = time.monotonic()
    c = n.control()
    assert c.reply(timeout=10) == "421 Timeout."
    assert time.monotonic() - t0 >= 0.8
    assert c.is_closed(5)


def test_idle_timeout(node):
    n = node("ftp.idle_timeout=1")
    c = n.control()
    c.login()
    t0 = time.monotonic()
    assert c.reply(timeout=10) == "421 Timeout."
    assert time.monotonic() - t0 >= 0.8
    assert c.is_closed(5)


def test_activity_resets_idle_timer(node):
    n = node("ftp.idle_timeout=2")
    c = n.control()
    c.login()
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        assert c.cmd("NOOP").startswith("200")
        time.sleep(0.5)  # pacing the client, not waiting for the server


def test_idle_timeout_spares_a_slow_transfer(node):
    n = node("ftp.idle_timeout=1")
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    conn, _ = ftp.ntransfercmd("STOR slow.bin")
    sent = b""
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        chunk = os.urandom(16 << 10)
        conn.sendall(chunk)
        sent += chunk
        time.sleep(0.2)  # a slow client: data keeps flowing, control is quiet
    conn.close()
    reply = ftp.getmultiline()
    assert reply.startswith("226"), reply
    assert (n.dir / "slow.bin").read_bytes() == sent


# --- operator safety ----------------------------------------------------------


@pytest.mark.parametrize("fix", ["passwd", "del"])
def test_default_guest_refused_on_network_address(node, fix):
    d = node.new_dir()
    rc, log = node.run_until_exit(d, listen="0.0.0.0")
    assert rc != 0
    assert "guest" in log.lower(), log

    if fix == "passwd":
        r = run_shoal("-C", d, "user", "passwd", "guest", "--password",
                      "Fresh-Guest-Pw1")
    else:
        r = run_shoal("-C", d, "user", "del", "guest")
    assert r.returncode == 0, r.stderr
    n = node(directory=d, listen="0.0.0.0")
    # Off loopback a login needs AUTH TLS first (ftp.require_tls = auto).
    if fix == "passwd":
        assert n.ftps("guest", "Fresh-Guest-Pw1").pwd() == "/"
    with pytest.raises(ftplib.error_perm, match="^530"):
        n.ftps("guest", "guest")


def test_loopback_listen_allows_default_guest(node):
    n = node()
    assert n.ftp("guest", "guest").pwd() == "/"


def test_passwords_never_logged(node):
    d = node.new_dir()
    good, bad, other = "Al1ce-Pw-93ab17", "Wr0ng-Pw-55cd02", "Ghost-Pw-7e21f0"
    r = run_shoal("-C", d, "user", "add", "alice", "--password", good)
    assert r.returncode == 0, r.stderr
    n = node(directory=d, log_level="debug")
    ftp = n.ftp("alice", good)
    ftp.mkd("made-by-alice")
    with pytest.raises(ftplib.error_perm):
        n.ftp("alice", bad)
    with pytest.raises(ftplib.error_perm):
        n.ftp("ghost", other)
    tls = n.ftps("alice", good)
    assert tls.pwd() == "/"
    c = n.control()
    c.cmd("USER alice")
    c.cmd(f"PASS {bad}\x00")
    for verb in ("pass", "Pass"):
        c.cmd("USER alice")
        assert c.cmd(f"{verb} {bad}").startswith(("530", "421"))
    r = run_shoal("-C", d, "user", "passwd", "alice", "--password", other)
    assert r.returncode == 0
    assert n.ftp("alice", other).pwd() == "/"
    ftp.close()
    assert n.stop() == 0
    log = n.log()
    assert "ftp listening on" in log
    for pw in (good, bad, other):
        assert pw not in log, f"password {pw!r} appears in the log"
