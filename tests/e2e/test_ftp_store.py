"""The store behind the FTP front: atomic uploads (nothing half-written ever
appears under a final name), the SHA-256 index following files written
straight into DIR, and running out of disk space."""

import hashlib
import os
import socket
import struct
import subprocess

import pytest

from conftest import (HASH_RE, names, raw, retr, run_shoal, shoal_init,
                      stor, tmp_bytes, tmp_leftovers, wait_for)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def hash_of(ftp, name):
    m = HASH_RE.match(raw(ftp, f"HASH {name}"))
    return m.group(2).lower() if m else None


def reset(sock):
    """Close with RST, the way a crashed client or a cut cable ends a
    stream (a clean FIN would mean "upload complete" in stream mode)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def start_upload(ftp, name, part):
    ftp.voidcmd("TYPE I")
    conn, _ = ftp.ntransfercmd(f"STOR {name}")
    conn.sendall(part)
    return conn


def wait_partial(n, final, old):
    """Wait until the node holds part of the upload somewhere; fail fast if
    it shows up under the final name."""
    def received():
        if final.exists() and final.read_bytes() != old:
            pytest.fail(f"partial upload visible under {final.name}")
        return tmp_bytes(n.dir) > 0
    wait_for(received, 10, what="the partial upload to reach .shoal/tmp")


# --- atomic uploads -----------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["new", "overwrite"])
def test_upload_in_progress_is_invisible(node, existing):
    n = node()
    final = n.dir / "slow.bin"
    old = os.urandom(50_000) if existing else None
    if existing:
        final.write_bytes(old)
    ftp, observer = n.ftp(), n.ftp()
    part, rest = os.urandom(256 << 10), os.urandom(256 << 10)
    conn = start_upload(ftp, "slow.bin", part)
    wait_partial(n, final, old)

    if existing:
        assert final.read_bytes() == old
        assert retr(observer, "slow.bin") == old
        assert raw(observer, "SIZE slow.bin") == f"213 {len(old)}"
    else:
        assert not final.exists()
        assert "slow.bin" not in names(observer)
        assert raw(observer, "SIZE slow.bin").startswith("550")

    conn.sendall(rest)
    conn.close()
    assert ftp.voidresp().startswith("226")
    assert final.read_bytes() == part + rest
    assert retr(observer, "slow.bin") == part + rest
    assert hash_of(observer, "slow.bin") == sha(part + rest)
    assert tmp_leftovers(n.dir) == []


@pytest.mark.parametrize("existing", [False, True], ids=["new", "overwrite"])
def test_broken_upload_leaves_nothing(node, existing):
    n = node()
    final = n.dir / "broken.bin"
    old = os.urandom(40_000) if existing else None
    if existing:
        final.write_bytes(old)
    ftp = n.ftp()
    conn = start_upload(ftp, "broken.bin", os.urandom(300_000))
    wait_partial(n, final, old)
    reset(conn)
    reset(ftp.sock)

    wait_for(lambda: not tmp_leftovers(n.dir), 10,
             what=".shoal/tmp to be emptied after the broken upload")
    if existing:
        assert final.read_bytes() == old
    else:
        assert not final.exists()
    if existing:
        check = n.ftp()
    else:
        # What was received is kept for the uploading account to resume
        # (test_resume.py), which SIZE tells it; any other sees nothing.
        run_shoal("-C", n.dir, "user", "add", "alice", "--password",
                  "alice-pw", check=True)
        assert raw(n.ftp(), "SIZE broken.bin").startswith("213 ")
        check = n.ftp("alice", "alice-pw")
    if existing:
        assert retr(check, "broken.bin") == old
    else:
        assert raw(check, "SIZE broken.bin").startswith("550")
        assert "broken.bin" not in names(check)


def test_data_reset_with_control_alive(node):
    n = node()
    final = n.dir / "cut.bin"
    ftp = n.ftp()
    conn = start_upload(ftp, "cut.bin", os.urandom(300_000))
    wait_partial(n, final, None)
    reset(conn)
    reply = ftp.getmultiline()
    assert reply[:3] in ("426", "451"), reply
    assert not final.exists()
    wait_for(lambda: not tmp_leftovers(n.dir), 10,
             what=".shoal/tmp to be emptied after the cut upload")
    assert raw(ftp, "NOOP").startswith("200")
    assert "cut.bin" not in names(ftp)


def test_abor_during_stor_keeps_old_content(node):
    n = node()
    final = n.dir / "ab.bin"
    old = b"previous version\n"
    final.write_bytes(old)
    ftp = n.ftp()
    conn = start_upload(ftp, "ab.bin", os.urandom(300_000))
    wait_partial(n, final, old)
    ftp.putcmd("ABOR")
    first = ftp.getmultiline()
    assert first.startswith("426"), first
    second = ftp.getmultiline()
    assert second.startswith("226"), second
    conn.close()
    assert final.read_bytes() == old
    wait_for(lambda: not tmp_leftovers(n.dir), 10,
             what=".shoal/tmp to be emptied after ABOR")
    assert retr(ftp, "ab.bin") == old


# --- the index ----------------------------------------------------------------


def test_files_written_directly_are_indexed(node, tmp_path):
    n = node()
    ftp = n.ftp()

    data = os.urandom(100_000)
    (n.dir / "direct.bin").write_bytes(data)
    wait_for(lambda: hash_of(ftp, "direct.bin") == sha(data), 10,
             what="HASH of a file written into DIR")

    data2 = os.urandom(70_000)
    (n.dir / "direct.bin").write_bytes(data2)
    wait_for(lambda: hash_of(ftp, "direct.bin") == sha(data2), 10,
             what="HASH to follow a rewrite")

    nested = n.dir / "x" / "y" / "z"
    nested.mkdir(parents=True)
    data3 = os.urandom(10_000)
    (nested / "deep.bin").write_bytes(data3)
    wait_for(lambda: hash_of(ftp, "x/y/z/deep.bin") == sha(data3), 10,
             what="HASH of a file in directories created after start")

    data4 = os.urandom(20_000)
    staged = tmp_path / "staged.bin"
    staged.write_bytes(data4)
    os.rename(staged, n.dir / "moved-in.bin")
    wait_for(lambda: hash_of(ftp, "/moved-in.bin") == sha(data4), 10,
             what="HASH of a file renamed into DIR")


def test_index_follows_deletes_and_renames(node):
    n = node()
    ftp = n.ftp()
    data = os.urandom(30_000)
    stor(ftp, "a.bin", data)
    assert hash_of(ftp, "a.bin") == sha(data)

    ftp.rename("a.bin", "b.bin")
    assert raw(ftp, "HASH a.bin").startswith("550")
    assert hash_of(ftp, "b.bin") == sha(data)

    ftp.delete("b.bin")
    assert raw(ftp, "HASH b.bin").startswith("550")

    other = os.urandom(1000)
    (n.dir / "c.bin").write_bytes(other)
    wait_for(lambda: hash_of(ftp, "c.bin") == sha(other), 10,
             what="HASH of a file written into DIR")
    os.rename(n.dir / "c.bin", n.dir / "d.bin")
    wait_for(lambda: hash_of(ftp, "d.bin") == sha(other), 10,
             what="HASH to follow a rename made directly in DIR")
    (n.dir / "d.bin").unlink()
    wait_for(lambda: raw(ftp, "HASH d.bin").startswith("550"), 10,
             what="HASH to forget a file removed directly from DIR")


def test_existing_files_are_hashed_at_start(node):
    d = node.new_dir()
    pre = os.urandom(123_456)
    (d / "pre.bin").write_bytes(pre)
    (d / "sub").mkdir()
    pre2 = b"nested before start\n"
    (d / "sub" / "pre2.txt").write_bytes(pre2)
    empty = b""
    (d / "empty.txt").write_bytes(empty)
    n = node(directory=d)
    ftp = n.ftp()
    wait_for(lambda: hash_of(ftp, "pre.bin") == sha(pre), 10,
             what="HASH of a file present at start")
    wait_for(lambda: hash_of(ftp, "sub/pre2.txt") == sha(pre2), 10,
             what="HASH of a nested file present at start")
    wait_for(lambda: hash_of(ftp, "empty.txt") == sha(empty), 10,
             what="HASH of an empty file present at start")
    m = HASH_RE.match(raw(ftp, "HASH pre.bin"))
    assert int(m.group(1)) == len(pre)


def test_changes_while_stopped_are_seen_at_start(node):
    d = node.new_dir()
    first = os.urandom(5000)
    (d / "f.bin").write_bytes(first)
    n = node(directory=d)
    ftp = n.ftp()
    wait_for(lambda: hash_of(ftp, "f.bin") == sha(first), 10,
             what="initial HASH")
    ftp.close()
    assert n.stop() == 0
    second = os.urandom(6000)
    (d / "f.bin").write_bytes(second)
    (d / "g.bin").write_bytes(first)
    n2 = node(directory=d)
    ftp2 = n2.ftp()
    wait_for(lambda: hash_of(ftp2, "f.bin") == sha(second), 10,
             what="HASH of a file changed while the node was stopped")
    wait_for(lambda: hash_of(ftp2, "g.bin") == sha(first), 10,
             what="HASH of a file added while the node was stopped")


# --- disk full ----------------------------------------------------------------


@pytest.fixture
def small_fs(node, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("disk-full test mounts a 4 MiB tmpfs, which needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    assert r.returncode == 0, f"mount failed: {r.stderr}"
    try:
        yield mnt
    finally:
        problems = node.stop_all()
        r = subprocess.run(["umount", str(mnt)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)])
        assert not problems, "\n".join(problems)


def test_disk_full_is_452_and_node_keeps_serving(node, small_fs):
    d = small_fs / "store"
    shoal_init(d)
    (d / "kept.txt").write_bytes(b"kept\n")
    n = node(directory=d)
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    conn, _ = ftp.ntransfercmd("STOR big.bin")
    chunk = os.urandom(64 << 10)
    try:
        for _ in range((8 << 20) // len(chunk)):
            conn.sendall(chunk)
    except OSError:
        pass
    finally:
        conn.close()
    reply = ftp.getmultiline()
    assert reply.startswith("452"), reply
    assert not (d / "big.bin").exists()
    wait_for(lambda: not tmp_leftovers(d), 10,
             what=".shoal/tmp to be emptied after the failed upload")

    assert stor(ftp, "small.txt", b"fits now\n").startswith("226")
    assert (d / "small.txt").read_bytes() == b"fits now\n"
    assert names(ftp) == {"kept.txt", "small.txt"}
    assert retr(ftp, "kept.txt") == b"kept\n"
    other = n.ftp()
    assert names(other) == {"kept.txt", "small.txt"}
