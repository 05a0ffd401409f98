"""Control-channel protocol details against a real node: ABOR sent as
urgent data (ftplib's abort(), the RFC 959 IP + Synch sequence) idle and
in the middle of RETR and STOR, names that would break the reply format,
RFC 959 quoting of 257 replies, and plaintext logins on listeners that
require TLS."""

import ftplib
import os
import re
import socket

import pytest

from conftest import (Node, probe, read_all, retr, run_shoal, stor,
                      tmp_bytes, tmp_leftovers, wait_for)

IAC, IP, DM = b"\xff", b"\xf4", b"\xf2"
BIG = 64 << 20


def synch_abor(sock, style):
    """ABOR behind Telnet IP and Synch, the way RFC 959 section 4.1.3 and
    the BSD ftp client send it."""
    if style == "dm-urgent":
        # IAC IP in band, then IAC DM as urgent data, then the command.
        sock.sendall(IAC + IP)
        sock.send(IAC + DM, socket.MSG_OOB)
        sock.sendall(b"ABOR\r\n")
    else:
        # BSD ftp(1): IAC IP IAC with the last IAC urgent, DM in band.
        sock.send(IAC + IP + IAC, socket.MSG_OOB)
        sock.sendall(DM + b"ABOR\r\n")


def big_file(n, name="huge.bin"):
    with open(n.dir / name, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(BIG >> 20):
            f.write(chunk)


# --- ABOR as urgent data -----------------------------------------------------


def test_ftplib_abort_when_idle(node):
    n = node()
    (n.dir / "a.txt").write_bytes(b"a")
    ftp = n.ftp(timeout=10)
    resp = ftp.abort()
    assert resp.startswith("225"), resp
    assert ftp.voidcmd("NOOP").startswith("200")
    assert retr(ftp, "a.txt") == b"a"


@pytest.mark.parametrize("style", ["dm-urgent", "bsd"])
def test_synch_abor_when_idle(node, style):
    n = node()
    c = n.control(timeout=10)
    c.login()
    synch_abor(c.sock, style)
    r = c.reply()
    assert r.startswith("225"), r
    assert c.cmd("NOOP").startswith("200")


def test_ftplib_abort_mid_retr(node):
    n = node()
    big_file(n)
    (n.dir / "small.txt").write_bytes(b"still here")
    ftp = n.ftp(timeout=10)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR huge.bin")
    got = len(conn.recv(65536))
    assert got > 0
    first = ftp.abort()
    assert first.startswith("426"), first
    second = ftp.getmultiline()
    assert second.startswith("226"), second
    conn.settimeout(10)
    try:
        got += len(read_all(conn))
    except ConnectionError:
        pass
    conn.close()
    assert got < BIG
    assert ftp.voidcmd("NOOP").startswith("200")
    assert retr(ftp, "small.txt") == b"still here"


def pasv_data(c):
    r = c.cmd("EPSV")
    assert r.startswith("229"), r
    port = int(r.split("|||")[1].split("|")[0])
    return socket.create_connection((c.sock.getpeername()[0], port),
                                    timeout=10)


@pytest.mark.parametrize("style", ["dm-urgent", "bsd"])
@pytest.mark.parametrize("queued", [False, True])
def test_synch_abor_mid_retr(node, style, queued):
    n = node()
    big_file(n)
    c = n.control(timeout=10)
    c.login()
    assert c.cmd("TYPE I").startswith("200")
    data = pasv_data(c)
    r = c.cmd("RETR huge.bin")
    assert r.startswith("150"), r
    assert len(data.recv(65536)) > 0
    if queued:
        # A command typed during the transfer waits for its end; the
        # Synch discards it, as Telnet discards what precedes the mark.
        c.send("SIZE huge.bin\r\n")
    synch_abor(c.sock, style)
    r = c.reply()
    assert r.startswith("426"), r
    r = c.reply()
    assert r.startswith("226"), r
    data.close()
    assert c.cmd("SIZE huge.bin") == f"213 {BIG}"


def test_ftplib_abort_mid_stor(node):
    n = node()
    ftp = n.ftp(timeout=10)
    ftp.voidcmd("TYPE I")
    stor(ftp, "kept.bin", b"old content")
    for name, old in (("new.bin", None), ("kept.bin", b"old content")):
        conn = ftp.transfercmd(f"STOR {name}")
        conn.sendall(os.urandom(2 << 20))
        # The node has started writing the upload: it is mid-transfer.
        wait_for(lambda: tmp_bytes(n.dir) > 0, what="upload under way")
        first = ftp.abort()
        assert first.startswith("426"), first
        second = ftp.getmultiline()
        assert second.startswith("226"), second
        conn.close()
        assert ftp.voidcmd("NOOP").startswith("200")
        if old is None:
            assert not (n.dir / name).exists()
            assert name not in ftp.nlst()
        else:
            assert (n.dir / name).read_bytes() == old
            assert retr(ftp, name) == old
        wait_for(lambda: not tmp_leftovers(n.dir), what="temp file removed")
    stor(ftp, "after.bin", b"works")
    assert (n.dir / "after.bin").read_bytes() == b"works"


def test_synch_abor_mid_stor(node):
    n = node()
    c = n.control(timeout=10)
    c.login()
    assert c.cmd("TYPE I").startswith("200")
    data = pasv_data(c)
    r = c.cmd("STOR part.bin")
    assert r.startswith("150"), r
    data.sendall(os.urandom(2 << 20))
    wait_for(lambda: tmp_bytes(n.dir) > 0, what="upload under way")
    synch_abor(c.sock, "dm-urgent")
    r = c.reply()
    assert r.startswith("426"), r
    r = c.reply()
    assert r.startswith("226"), r
    data.close()
    assert c.cmd("NOOP").startswith("200")
    assert not (n.dir / "part.bin").exists()
    wait_for(lambda: not tmp_leftovers(n.dir), what="temp file removed")


# --- names that would break the reply format --------------------------------

EVIL = ["evil\r\n226 forged", "lf\nonly", "cr\ronly", "tab\there", "bell\x07"]


def make_evil(n):
    (n.dir / "ok.txt").write_bytes(b"ok")
    for name in EVIL:
        (n.dir / name).write_bytes(b"x")
    os.symlink("t\r\n226 forged-target", n.dir / "link")


def test_control_names_not_in_listings(node):
    n = node()
    make_evil(n)
    ftp = n.ftp(timeout=10)
    assert set(ftp.nlst()) == {"ok.txt", "link"}
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert len(lines) == 2, lines
    assert not any("forged" in line for line in lines), lines
    assert any(line.endswith(" ok.txt") for line in lines), lines
    assert any(line.endswith(" link") for line in lines), lines
    assert {name for name, _ in ftp.mlsd()} == {"ok.txt", "link"}


def test_control_names_not_in_stat(node):
    n = node()
    make_evil(n)
    c = n.control(timeout=10)
    c.login()
    r = c.cmd("STAT /")
    lines = r.split("\n")
    assert lines[0].startswith("213-"), r
    assert lines[-1].startswith("213 "), r
    assert "forged" not in r, r
    # Nothing but entries between the first and last line, each one of them.
    body = lines[1:-1]
    assert len(body) == 2, r
    assert not any(line[:3].isdigit() for line in body), r
    # The session is in step: the next reply answers the next command.
    assert c.cmd("NOOP").startswith("200")


def test_control_names_refused_as_arguments(node):
    n = node()
    (n.dir / "a\tb").write_bytes(b"x")
    c = n.control(timeout=10)
    c.login()
    for cmd in ("SIZE a\tb", "RNFR a\tb", "DELE a\tb", "MKD x\x07y",
                "STAT a\tb"):
        r = c.cmd(cmd)
        assert r.startswith("501"), (cmd, r)
    assert (n.dir / "a\tb").exists()


# --- 257 quoting (RFC 959 appendix II) --------------------------------------


def test_257_doubles_quotes(node):
    n = node()
    c = n.control(timeout=10)
    c.login()
    assert c.cmd('MKD a"b') == '257 "/a""b" created.'
    assert c.cmd('CWD a"b').startswith("250")
    assert c.cmd("PWD") == '257 "/a""b" is the current directory.'
    assert c.cmd('MKD "q"').startswith('257 "/a""b/""q""" ')
    ftp = n.ftp(timeout=10)
    assert ftp.mkd('x"y') == '/x"y'
    ftp.cwd('x"y')
    assert ftp.pwd() == '/x"y'
    assert (n.dir / 'a"b' / '"q"').is_dir()


# --- plaintext logins on listeners that require TLS -------------------------


def network_node(node, *options, args=()):
    """A node on 0.0.0.0 with an account alice (guest removed)."""
    d = node.new_dir()
    assert run_shoal("-C", d, "user", "del", "guest").returncode == 0
    r = run_shoal("-C", d, "user", "add", "alice", "--password", PW)
    assert r.returncode == 0, r.stderr
    if args:
        proc, port, log = node.spawn(d, "0.0.0.0", None, options, None, args)
        n = Node(d, "0.0.0.0", port, proc, log, node.clients)
        node.nodes.append(n)
        wait_for(lambda: probe(n.host, port) or proc.poll() is not None,
                 what="node listening")
        assert proc.poll() is None, n.log()
        return n
    return node(*options, directory=d, listen="0.0.0.0")


PW = "Al1ce-Pw-93ab17"


def test_require_tls_by_default_off_loopback(node):
    n = network_node(node)
    c = n.control(timeout=10)
    r = c.cmd("USER alice")
    assert r.startswith("530") and "AUTH TLS" in r, r
    r = c.cmd(f"PASS {PW}")
    assert r.startswith("530") and "AUTH TLS" in r, r
    with pytest.raises(ftplib.error_perm, match="^530"):
        n.ftp("alice", PW)
    tls = n.ftps("alice", PW)
    assert tls.pwd() == "/"
    stor(tls, "f.txt", b"over tls")
    assert retr(tls, "f.txt") == b"over tls"


@pytest.mark.parametrize("how", ["option", "flag"])
def test_require_tls_can_be_turned_off(node, how):
    if how == "option":
        n = network_node(node, "ftp.require_tls=no")
    else:
        n = network_node(node, args=("--ftp-require-tls", "no"))
    assert n.ftp("alice", PW).pwd() == "/"


@pytest.mark.parametrize("how", ["option", "flag"])
def test_require_tls_on_loopback_when_asked(node, how):
    if how == "option":
        n = node("ftp.require_tls=yes")
    else:
        d = node.new_dir()
        proc, port, log = node.spawn(d, "127.0.0.1", None, (), None,
                                     ("--ftp-require-tls", "yes"))
        n = Node(d, "127.0.0.1", port, proc, log, node.clients)
        node.nodes.append(n)
        wait_for(lambda: probe(n.host, port) or proc.poll() is not None,
                 what="node listening")
        assert proc.poll() is None, n.log()
    with pytest.raises(ftplib.error_perm, match="^530"):
        n.ftp()
    assert n.ftps().pwd() == "/"


def test_loopback_allows_plaintext_by_default(node):
    assert node().ftp().pwd() == "/"


def test_require_tls_bad_value_stops_the_node(node):
    d = node.new_dir()
    rc, log = node.run_until_exit(d, options=("ftp.require_tls=maybe",))
    assert rc != 0
    assert "ftp.require_tls" in log, log


# --- small ones --------------------------------------------------------------


@pytest.mark.parametrize("host,why", [
    ("localhost", "host names are not resolved"),
    ("127.1", "short forms such as 127.1"),
])
def test_bad_ftp_listen_stops_the_node_at_start(node, host, why):
    d = node.new_dir()
    rc, log = node.run_until_exit(d, listen=host)
    assert rc != 0
    assert "ftp.listen" in log and why in log, log
    # Refused before anything else started: no listener, no scan.
    assert "listening" not in log, log
    assert "scan:" not in log, log


@pytest.mark.parametrize("arg", [
    "-1", "-0", "+5", " 5", "5 ", "18446744073709551616",
    "99999999999999999999999", "0x10", "", "5a",
])
def test_site_locktoken_refuses_bad_numbers(node, arg):
    n = node()
    c = n.control(timeout=10)
    c.login()
    r = c.cmd(f"SITE LOCKTOKEN {arg}")
    assert r.startswith("501"), (arg, r)
    r = c.cmd("SITE LOCKTOKEN 18446744073709551615")
    assert r == "200 Writes carry fencing token 18446744073709551615.", r
    assert c.cmd("SITE LOCKTOKEN 0").startswith("200")


def http_addr(n):
    m = re.search(r"http listening on (\S+):(\d+)", n.log())
    assert m, n.log()
    return m.group(1), int(m.group(2))


@pytest.mark.parametrize("head", [
    b"GET /v1/status HTTP/1.1\nHost: x\n\n",
    b"GET /v1/status HTTP/1.1\r\nHost: x\n\r\n",
])
def test_http_bare_lf_head_is_400_at_once(node, head):
    n = node()
    host, port = http_addr(n)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(head)
        # The answer comes well before the server's 30 s head timeout;
        # the socket's own timeout (10 s) fails the test otherwise.
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 400"), got
