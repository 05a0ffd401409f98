"""Control-channel protocol details against a real node: ABOR sent as
urgent data (ftplib's abort(), the RFC 959 IP + Synch sequence) idle and
in the middle of RETR and STOR, names that would break the reply format,
RFC 959 quoting of 257 replies, and plaintext logins on listeners that
require TLS."""

import ftplib
import os
import socket

import pytest

from conftest import (NET_TIMEOUT, read_all, retr, stor, tmp_leftovers,
                      wait_for)

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
        wait_for(lambda: tmp_leftovers(n.dir), what="upload under way")
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
    wait_for(lambda: tmp_leftovers(n.dir), what="upload under way")
    synch_abor(c.sock, "dm-urgent")
    r = c.reply()
    assert r.startswith("426"), r
    r = c.reply()
    assert r.startswith("226"), r
    data.close()
    assert c.cmd("NOOP").startswith("200")
    assert not (n.dir / "part.bin").exists()
    wait_for(lambda: not tmp_leftovers(n.dir), what="temp file removed")
