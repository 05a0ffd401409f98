"""A node whose disk is full: STOR and APPE are refused with 452 and a
reason at once (before the upload is read), nothing is left under the
file's name, lftp gives up in bounded time, and the node keeps serving and
takes uploads again once space is freed."""

import ftplib
import io
import os
import shutil
import subprocess
import time

import pytest

from conftest import retr, shoal_init

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("lftp"),
    reason="needs root (for a tmpfs mount) and lftp")

SIZE_MB = 8
MIN_FREE_MB = 1  # the node's floor for uploads (store.min_free_mb is more)


@pytest.fixture
def small_fs(tmp_path):
    """A tmpfs of SIZE_MB MiB, unmounted at the end."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m",
                    "tmpfs", str(mnt)], check=True, timeout=30)
    yield mnt
    # lazily: a node that is still being stopped may hold it open
    subprocess.run(["umount", "-l", str(mnt)], check=True, timeout=30)


def fill(mnt):
    """Writes mnt/filler until the disk is full; returns its path."""
    path = mnt / "filler"
    chunk = b"\0" * (64 << 10)
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    return path


def free_bytes(mnt):
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize


def start(node, small_fs):
    d = small_fs / "node"
    shoal_init(d)
    return node(directory=d)


RETRIES = 2


def lftp_put(n, home, local, remote, timeout=120):
    # debug 3: lftp shows the server's replies (without it a refusal it
    # retried reads only "max-retries exceeded")
    settings = (f"set net:max-retries {RETRIES}; "
                "set net:reconnect-interval-base 1; "
                "set net:reconnect-interval-max 1; set net:timeout 20; "
                "set ftp:ssl-allow false; set cmd:fail-exit true; debug 3; ")
    env = dict(os.environ, HOME=str(home), LC_ALL="C.UTF-8")
    return subprocess.run(
        ["lftp", "-e", settings + f"put {local} -o {remote}; bye",
         "-u", "guest,guest", n.url], capture_output=True, timeout=timeout,
        env=env, stdin=subprocess.DEVNULL)


def test_full_disk_refuses_uploads_at_once(node, small_fs, tmp_path):
    n = start(node, small_fs)
    kept = os.urandom(100_000)
    ftp = n.ftp()
    assert ftp.storbinary("STOR kept.bin", io.BytesIO(kept)).startswith("226")
    filler = fill(small_fs)
    assert free_bytes(small_fs) < MIN_FREE_MB << 20
    # (more than store.min_free_mb was never free: uploads worked till now)

    # ftplib: 452 with a reason, for STOR and APPE, before any data is read
    for verb in ("STOR", "APPE"):
        with pytest.raises(ftplib.error_temp) as e:
            ftp.storbinary(f"{verb} big.bin", io.BytesIO(b"x" * 1_000_000))
        assert str(e.value).startswith("452"), e.value
        assert "free" in str(e.value), e.value
        assert not (n.dir / "big.bin").exists()

    # lftp gives up after its retries, with the reason shown
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    p = lftp_put(n, tmp_path, big, "big.bin")
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert "<--- 452 Insufficient storage space" in out, out
    # each try refused at once, so no try counts as progress: lftp stops
    # after its retries
    replies = [line[5:8] for line in out.splitlines()
               if line.startswith("<--- ")]
    assert 1 <= replies.count("452") <= 1 + RETRIES, out
    assert "150" not in replies, out
    assert not (n.dir / "big.bin").exists()

    # the node keeps serving
    assert ftp.voidcmd("NOOP").startswith("200")
    assert retr(ftp, "kept.bin") == kept
    f2 = n.ftp()
    assert retr(f2, "kept.bin") == kept

    # with space again, uploads work
    filler.unlink()
    p = lftp_put(n, tmp_path, big, "big.bin")
    assert p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace")
    assert (n.dir / "big.bin").read_bytes() == big.read_bytes()
    assert ftp.storbinary("STOR small.bin",
                          io.BytesIO(b"again\n")).startswith("226")
    assert (n.dir / "small.bin").read_bytes() == b"again\n"


def test_disk_filling_during_an_upload(node, small_fs):
    """Space runs out while an upload is being written: 452 before the
    client has sent it all, the data connection closed, nothing left under
    the name (nor in the temp folder), and the node serves on."""
    n = start(node, small_fs)
    # leave about 3 MiB above the floor
    filler = small_fs / "filler"
    filler.write_bytes(b"\0" * (free_bytes(small_fs) - ((MIN_FREE_MB + 3) << 20)))
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR huge.bin")
    sent = 0
    chunk = os.urandom(256 << 10)
    try:
        while sent < 200 << 20:  # far more than the disk holds
            conn.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    finally:
        conn.close()
    assert sent < 100 << 20, "the node read on after the disk was full"
    reply = ftp.getmultiline()
    assert reply.startswith("452"), reply
    assert not (n.dir / "huge.bin").exists()
    assert ftp.voidcmd("NOOP").startswith("200")
    filler.unlink()
    assert ftp.storbinary("STOR ok.bin", io.BytesIO(b"ok\n")).startswith("226")
