"""FTPS clients that open several control connections (rclone) or none of
their own choosing on data connections (ftplib's stock FTP_TLS), and what
binds a protected data connection to its client: a TLS session this node
issued to a control connection from the same address, logged in as the same
account."""

import ftplib
import hashlib
import io
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import ReusingFTP_TLS, names, raw, retr, stor, tls_context

RCLONE = "/usr/bin/rclone"
DATA_REFUSED = ("522 data connection must resume this control connection's "
                "TLS session (see docs)")


def digests(root):
    """{relative path: sha256} for every file under root (.shoal aside)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".shoal"]
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = \
                    hashlib.sha256(fh.read()).hexdigest()
    return out


def make_tree(root, count=30):
    """count files of varied sizes in root and three levels of folders."""
    rng = [0, 1, 17, 4096, 65_537, 300_000]
    for i in range(count):
        sub = ["", "a", "a/b", "c/d/e"][i % 4]
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:02}.bin").write_bytes(os.urandom(rng[i % len(rng)]))


class Rclone:
    """rclone with a config of its own (ftp backend, explicit TLS)."""

    def __init__(self, n, home):
        self.home = home
        self.conf = home / "rclone.conf"
        env = self.env()
        obscured = subprocess.run([RCLONE, "obscure", "guest"], env=env,
                                  capture_output=True, text=True, check=True,
                                  timeout=30).stdout.strip()
        self.conf.write_text(
            "[shoal]\n"
            "type = ftp\n"
            f"host = {n.host}\n"
            f"port = {n.port}\n"
            "user = guest\n"
            f"pass = {obscured}\n"
            "explicit_tls = true\n"
            "no_check_certificate = true\n")

    def env(self):
        env = dict(os.environ, RCLONE_CONFIG=str(self.conf),
                   HOME=str(self.home), LC_ALL="C.UTF-8")
        env.pop("AWS_CA_BUNDLE", None)
        return env

    def run(self, *args, timeout=120):
        # No retries: a refused data connection must show, not be retried
        # into a pass.
        proc = subprocess.run(
            [RCLONE, *map(str, args), "--retries", "1",
             "--low-level-retries", "1", "-v"],
            capture_output=True, text=True, timeout=timeout, env=self.env(),
            stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, \
            f"rclone {args[0]} exited {proc.returncode}:\n" + \
            proc.stderr[-4000:]
        assert "522" not in proc.stderr, proc.stderr[-4000:]
        # (FTP has no hashes: `check` says so at error level)
        errors = [line for line in proc.stderr.splitlines()
                  if " ERROR " in line and "No common hash found" not in line]
        assert not errors, proc.stderr[-4000:]
        return proc


@pytest.mark.skipif(not os.path.exists(RCLONE), reason="rclone is needed")
def test_rclone_copy_check_sync_over_ftps(node, tmp_path):
    n = node()
    src = tmp_path / "src"
    make_tree(src)
    rc = Rclone(n, tmp_path)

    rc.run("copy", src, "shoal:tree")
    assert digests(n.dir / "tree") == digests(src)
    rc.run("check", src, "shoal:tree")
    rc.run("check", "--download", src, "shoal:tree")

    # change, add and remove files, then sync
    (src / "a" / "f01.bin").write_bytes(os.urandom(12_345))
    (src / "new" / "deep").mkdir(parents=True)
    (src / "new" / "deep" / "g.bin").write_bytes(os.urandom(70_000))
    (src / "c" / "d" / "e" / "f03.bin").unlink()
    (src / "f00.bin").unlink()
    rc.run("sync", src, "shoal:tree")
    assert digests(n.dir / "tree") == digests(src)
    rc.run("check", "--download", src, "shoal:tree")

    out = tmp_path / "back"
    rc.run("copy", "shoal:tree", out)
    assert digests(out) == digests(src)


class OtherSessionFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose protected data connections resume the TLS session of
    another control connection (`donor`), as rclone's shared session cache
    does."""

    donor = None
    donor_session = None

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.donor_session or self.donor.sock.session
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=session)
        return conn, size


def control(n, ctx, cls=ftplib.FTP_TLS, user="guest", password="guest",
            donor=None):
    """An FTPS control connection on TLS context ctx (ssl resumes only
    sessions of the same context); logged in with PROT P unless user is
    None; its data connections resume donor's session if given."""
    f = n._track(cls(context=ctx, timeout=15))
    f.donor = donor
    f.connect(n.host, n.port)
    f.auth()
    if user is not None:
        f.login(user, password)
        f.prot_p()
    return f


def transfer(ftp, cmd, payload=None):
    """Run a transfer command and return its final reply, whether the node
    took the data connection or refused it."""
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


def test_stock_ftp_tls_data_connection_gets_clear_522(node):
    """ftplib's FTP_TLS handshakes afresh on each data connection: refused,
    with a reply that says what is missing, and nothing stored."""
    n = node()
    (n.dir / "s.bin").write_bytes(os.urandom(20_000))
    ftp = n.ftps(cls=ftplib.FTP_TLS)
    ftp.voidcmd("TYPE I")
    assert transfer(ftp, "RETR s.bin") == DATA_REFUSED
    assert transfer(ftp, "STOR t.bin", os.urandom(20_000)) == DATA_REFUSED
    assert not (n.dir / "t.bin").exists()
    ftp.voidcmd("PASV")
    assert raw(ftp, "NOOP").startswith("200")


def test_session_of_another_control_connection_is_taken(node):
    n = node()
    ctx = tls_context()
    donor = control(n, ctx)
    ftp = control(n, ctx, OtherSessionFTP_TLS, donor=donor)
    data = os.urandom(300_000)
    assert stor(ftp, "x.bin", data).startswith("226")
    assert (n.dir / "x.bin").read_bytes() == data
    assert retr(ftp, "x.bin") == data
    assert names(ftp) == {"x.bin"}
    # the donor may be gone: its sessions were still given to this client
    ftp.donor_session = donor.sock.session
    donor.quit()
    assert retr(ftp, "x.bin") == data


def test_session_of_another_account_gets_522(node):
    n = node()
    from conftest import run_shoal
    run_shoal("-C", n.dir, "user", "add", "alice", "--password", "alice-pw",
              check=True)
    ctx = tls_context()
    donor = control(n, ctx, ReusingFTP_TLS, "alice", "alice-pw")
    ftp = control(n, ctx, OtherSessionFTP_TLS, donor=donor)
    ftp.voidcmd("TYPE I")
    assert transfer(ftp, "STOR y.bin", os.urandom(50_000)) == DATA_REFUSED
    assert not (n.dir / "y.bin").exists()
    assert raw(ftp, "NOOP").startswith("200")
    # and alice's own data connections are not affected
    assert stor(donor, "a.bin", b"alice\n").startswith("226")




@pytest.mark.parametrize("then", ["login", "quit"])
def test_session_of_a_connection_still_logging_in(node, then):
    """rclone opens control connections side by side; a data connection may
    carry the session of one that has not logged in yet.  It is decided
    when that one logs in (taken: same account) or leaves (refused)."""
    import threading
    n = node()
    ctx = tls_context()
    donor = control(n, ctx, user=None)
    # a reply read over TLS: the donor holds the node's session tickets
    assert donor.sendcmd("USER guest").startswith("331")
    ftp = control(n, ctx, OtherSessionFTP_TLS, donor=donor)
    ftp.voidcmd("TYPE I")
    data = os.urandom(50_000)  # fits in the sockets' buffers
    sent = threading.Event()
    result = {}

    def upload():
        conn, _ = ftp.ntransfercmd("STOR w.bin")
        try:
            conn.sendall(data)
            sent.set()
            conn.unwrap()  # until the node reads on: it waits for the donor
        except (ssl.SSLError, OSError):
            pass
        finally:
            sent.set()
            conn.close()
        result["reply"] = ftp.getmultiline()

    t = threading.Thread(target=upload)
    t.start()
    assert sent.wait(15)
    if then == "login":
        assert donor.sendcmd("PASS guest").startswith("230")
    else:
        donor.quit()
    t.join(30)
    assert not t.is_alive()
    if then == "login":
        assert result["reply"].startswith("226"), result
        assert (n.dir / "w.bin").read_bytes() == data
    else:
        assert result["reply"] == DATA_REFUSED
        assert not (n.dir / "w.bin").exists()
