"""Explicit FTPS (RFC 4217): AUTH TLS, PBSZ, PROT, and the requirement that
protected data connections resume the control connection's TLS session."""

import ftplib
import os
import ssl

import pytest

from conftest import (ExtReusingFTP_TLS, ReusingFTP_TLS, names, raw, retr,
                      stor, tls_context)


def test_auth_pbsz_prot_replies(node):
    n = node()
    ftp = ReusingFTP_TLS(context=tls_context(), timeout=10)
    try:
        ftp.connect(n.host, n.port)
        auth = ftp.auth()
        assert auth.startswith("234"), auth
        assert isinstance(ftp.sock, ssl.SSLSocket)
        ftp.login("guest", "guest")
        assert raw(ftp, "PBSZ 0").startswith("200")
        assert raw(ftp, "PROT P").startswith("200")
        ftp.prot_p()
        data = os.urandom(100_000)
        stor(ftp, "p.bin", data)
        assert retr(ftp, "p.bin") == data
        assert raw(ftp, "PROT C").startswith("200")
    finally:
        ftp.close()


@pytest.mark.parametrize("mode", ["PASV", "EPSV", "PORT"])
def test_protected_transfers(node, mode):
    n = node()
    cls = ExtReusingFTP_TLS if mode == "EPSV" else ReusingFTP_TLS
    ftp = n.ftps(cls=cls)
    ftp.set_pasv(mode != "PORT")
    data = os.urandom(1 << 20)
    assert stor(ftp, "enc.bin", data).startswith("226")
    assert (n.dir / "enc.bin").read_bytes() == data
    assert retr(ftp, "enc.bin") == data
    # several data connections on one control session
    for i in range(3):
        stor(ftp, f"n{i}.bin", data[: 1000 * (i + 1)])
    assert names(ftp) == {"enc.bin", "n0.bin", "n1.bin", "n2.bin"}
    listing = []
    ftp.retrlines("LIST", listing.append)
    assert len(listing) == 4
    entries = {name for name, _ in ftp.mlsd()} - {".", ".."}
    assert entries == {"enc.bin", "n0.bin", "n1.bin", "n2.bin"}


def attempt(ftp, cmd, payload=None):
    """Run a transfer command, tolerating the data connection being torn
    down; return the final control reply (success or error text)."""
    try:
        conn, _ = ftp.ntransfercmd(cmd)
    except ftplib.Error as e:
        return str(e)
    except (ssl.SSLError, OSError):
        return ftp.getmultiline()
    try:
        if payload is not None:
            conn.sendall(payload)
        else:
            while conn.recv(65536):
                pass
    except (ssl.SSLError, OSError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass
    return ftp.getmultiline()


def test_data_connection_without_session_reuse_gets_522(node):
    n = node()
    content = os.urandom(50_000)
    (n.dir / "s.bin").write_bytes(content)
    ftp = n.ftps(cls=ftplib.FTP_TLS)
    ftp.voidcmd("TYPE I")
    reply = attempt(ftp, "RETR s.bin")
    assert reply.startswith("522"), reply
    reply = attempt(ftp, "STOR t.bin", os.urandom(50_000))
    assert reply.startswith("522"), reply
    assert not (n.dir / "t.bin").exists()
    # the refusal does not end the control session
    assert raw(ftp, "NOOP").startswith("200")


def test_reuse_not_required_when_disabled(node):
    n = node("ftp.tls_require_reuse=no")
    ftp = n.ftps(cls=ftplib.FTP_TLS)
    data = os.urandom(200_000)
    assert stor(ftp, "free.bin", data).startswith("226")
    assert (n.dir / "free.bin").read_bytes() == data
    assert retr(ftp, "free.bin") == data
    assert names(ftp) == {"free.bin"}


def test_prot_c_after_auth(node):
    n = node()
    ftp = n.ftps(prot_p=False)
    assert raw(ftp, "PBSZ 0").startswith("200")
    assert raw(ftp, "PROT C").startswith("200")
    data = os.urandom(100_000)
    stor(ftp, "clear.bin", data)
    assert (n.dir / "clear.bin").read_bytes() == data
    assert retr(ftp, "clear.bin") == data
    # switching to P and back to C on the same session
    ftp.prot_p()
    assert retr(ftp, "clear.bin") == data
    ftp.prot_c()
    assert retr(ftp, "clear.bin") == data


def test_upload_never_stored_truncated(node):
    """A protected upload whose data connection ends with a bare TCP close
    (as some clients do after the last record) either arrives whole with
    226 or is refused with nothing stored; never a short file with 226."""
    n = node()
    data = os.urandom(500_000)
    for i in range(6):
        ftp = n.ftps()
        ftp.voidcmd("TYPE I")
        conn, _ = ftp.ntransfercmd(f"STOR t{i}.bin")
        conn.sendall(data)
        conn.close()
        reply = ftp.getmultiline()
        final = n.dir / f"t{i}.bin"
        if reply.startswith("226"):
            got = final.read_bytes()
            assert got == data, \
                f"226 but stored {len(got)} of {len(data)} bytes"
        else:
            assert reply[:1] == "4", reply
            assert not final.exists()
        ftp.close()
