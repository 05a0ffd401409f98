"""End-to-end checks of the store's edges: names the peers refuse, damaged
files found at start-up, uploads the index refuses, folder fsync failures,
and the tracker's holdings across a database outage.

Each test starts real nodes on 127.0.0.1 (see cluster.py) and looks at
what a user would see: the folders of every node, FTP replies, listings.
Every wait has a deadline.
"""

import ftplib
import os
import subprocess

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (ROOT, SHOAL, Cluster, file_sha256, retr,  # noqa: E402
                     sha256, stor, wait_for)

from conftest import preload  # noqa: E402

pytest_plugins = ["cluster"]

REPLICATE = 60.0
PROBE = ROOT / "build" / "tests" / "unit" / "wire_probe"


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


# 1. A name with a control byte stays local and takes nothing else with it.

def test_control_byte_name_does_not_poison_the_index(cluster):
    n1 = cluster.new_node()
    files = {f"f{i:02d}.txt": f"file {i}\n".encode() for i in range(50)}
    for name, data in files.items():
        (n1.dir / name).write_bytes(data)
    # What macOS makes in a folder with a custom icon, and a folder
    # named the same way, both before the node starts ...
    (n1.dir / "Icon\r").write_bytes(b"")
    (n1.dir / "bad\x01dir").mkdir()
    (n1.dir / "bad\x01dir" / "inner.txt").write_bytes(b"inner\n")
    n1.start()
    # ... and one made while it runs.
    (n1.dir / "sub").mkdir()
    (n1.dir / "sub" / "Icon\r").write_bytes(b"x")
    (n1.dir / "sub" / "ok.txt").write_bytes(b"ok\n")
    expected = {name: sha256(data) for name, data in files.items()}
    expected["sub/"] = "dir"
    expected["sub/ok.txt"] = sha256(b"ok\n")

    n2 = cluster.new_node()
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    cluster.wait_tree(expected, nodes=[n2], timeout=REPLICATE,
                      what="the joining node to get every good file")
    assert "not shared" in n1.log()
    # Deleting the file does not leave a tombstone that poisons anything.
    os.unlink(n1.dir / "Icon\r")
    (n1.dir / "late.txt").write_bytes(b"late\n")
    expected["late.txt"] = sha256(b"late\n")
    n3 = cluster.new_node()
    n3.start()
    cluster.wait_alive([n1, n2, n3], 3)
    cluster.wait_tree(expected, nodes=[n2, n3], timeout=REPLICATE,
                      what="every node to get every good file")
    for n in (n2, n3):
        assert "INDEX refused" not in n.log()


def test_old_row_with_a_bad_name_is_not_sent(cluster):
    """An index made before names were checked may hold such a row (live,
    or the tombstone of a deleted file): it is not sent, and a peer gets
    everything else."""
    import sqlite3
    n1 = cluster.new_node()
    n1.start()
    files = {f"g{i:02d}.txt": f"good {i}\n".encode() for i in range(20)}
    with n1.ftp() as f:
        for name, data in files.items():
            stor(f, name, data)
    n1.stop()
    db = sqlite3.connect(n1.dir / ".shoal" / "index.db")
    with db:
        for bad, deleted in (("Icon\r", 0), ("old\x01gone.txt", 1)):
            db.execute("INSERT INTO files SELECT ?, type, ?, size, mtime_ns,"
                       " ino, sha256, vv, modified_by, seq + 1000, blocks,"
                       " remote, attrs FROM files WHERE path = 'g00.txt'",
                       (bad, deleted))
    db.close()
    n1.start()
    n2 = cluster.new_node()
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    cluster.wait_tree({n: sha256(d) for n, d in files.items()},
                      nodes=[n2], timeout=REPLICATE)
    assert "INDEX refused" not in n2.log()


def test_peer_entry_refused_alone(cluster):
    """A peer's INDEX frame with one bad entry between good ones: the bad
    one is skipped with a log line, the good ones are applied."""
    n1 = cluster.new_node()
    n1.start()
    out = subprocess.run([str(PROBE), cluster.key, n1.peer_addr, "mixed"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: (n1.dir / "before").is_dir() and
             (n1.dir / "after").is_dir(), REPLICATE,
             what="the good entries around the bad one to be applied",
             diag=lambda: sorted(os.listdir(n1.dir)))
    log = n1.log()
    assert "INDEX entry \"Icon?\" skipped" in log, log[-2000:]
    assert not (n1.dir / "Icon\r").exists()


# 2. A file truncated while its node was down, its mtime put back, is
#    damage: the good version comes back from a peer, nothing spreads.

@pytest.mark.parametrize("keep", [0, 0.5])
def test_truncated_file_with_mtime_kept_is_repaired(cluster, keep):
    n1, n2, n3 = cluster.start(3)
    data = os.urandom(3 * (1 << 20) + 12345)
    other = b"untouched\n"
    with n1.ftp() as f:
        stor(f, "big.bin", data)
        stor(f, "other.txt", other)
    expected = {"big.bin": sha256(data), "other.txt": sha256(other)}
    cluster.wait_tree(expected, timeout=REPLICATE)
    n2.stop()
    target = n2.dir / "big.bin"
    st = target.stat()
    with open(target, "r+b") as fh:
        fh.truncate(int(len(data) * keep))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    log_at = len(n2.log())
    n2.start()
    cluster.wait_alive([n1, n2, n3], 3)
    # The start-up scan has run, and the damaged file was seen as such.
    wait_for(lambda: "scan: " in n2.log()[log_at:], REPLICATE,
             what="n2's start-up scan")
    cluster.wait_tree(expected, timeout=REPLICATE,
                      what="every node to hold the good version again")
    assert "is damaged" in n2.log()[log_at:]
    aside = list((n2.dir / ".shoal" / "damaged").iterdir())
    assert len(aside) == 1 and aside[0].name.startswith("big.bin.")
    assert aside[0].stat().st_size == int(len(data) * keep)
    # No node took the damage as a version: the same content everywhere,
    # served over FTP too, and no conflict copy anywhere.
    for n in (n1, n2, n3):
        with n.ftp() as f:
            assert retr(f, "big.bin") == data


# 3. An upload the index refuses leaves the disk as it was; a full version
#    vector is folded, not turned into a write error.

def set_vv(node, path, entries):
    """Rewrites path's version vector in the stopped node's index."""
    import sqlite3
    blob = b"".join(bytes.fromhex(i) + c.to_bytes(8, "big")
                    for i, c in sorted(entries))
    db = sqlite3.connect(node.dir / ".shoal" / "index.db")
    with db:
        assert db.execute("UPDATE files SET vv = ? WHERE path = ?",
                          (blob, path)).rowcount == 1
    db.close()


def test_upload_refused_by_index_leaves_the_file(cluster):
    n1 = cluster.new_node()
    n1.start()
    old, new = b"old content\n", b"new content, never committed\n"
    with n1.ftp() as f:
        stor(f, "a.txt", old)
    n1.stop()
    # This node's counter at its maximum: the index must refuse a bump.
    set_vv(n1, "a.txt", [(n1.id, (1 << 64) - 1)])
    n1.start()
    with n1.ftp() as f:
        with pytest.raises(ftplib.Error):
            stor(f, "a.txt", new)
        assert retr(f, "a.txt") == old
    assert (n1.dir / "a.txt").read_bytes() == old
    assert "the index refused it" in n1.log()


def test_full_version_vector_is_folded(cluster):
    n1 = cluster.new_node()
    n1.start()
    v1, v2 = b"written by many\n", b"the 33rd writer\n"
    with n1.ftp() as f:
        stor(f, "b.txt", v1)
    n1.stop()
    # 32 writers, none of them this node: node churn reaches this.
    set_vv(n1, "b.txt", [(os.urandom(16).hex(), k + 1) for k in range(32)])
    n1.start()
    n2 = cluster.new_node()
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    cluster.wait_tree({"b.txt": sha256(v1)}, timeout=REPLICATE)
    with n1.ftp() as f:
        stor(f, "b.txt", v2)
    cluster.wait_tree({"b.txt": sha256(v2)}, timeout=REPLICATE,
                      what="the folded version on both nodes, no conflict")
    # Both sides agree it is one version after the other, not a conflict.
    assert "conflict" not in n2.log() and "conflict" not in n1.log()


# 4. A folder fsync that fails decides the answer: no 226, no ACK.

# The library built beside the shoal under test (build or build-asan).
SHIM = SHOAL.parent / "tests" / "unit" / "fsync_fail.so"


def start_with_failing_fsync(node, monkeypatch, flag):
    """Starts node with fsync of its shared folders failing while the file
    flag exists (tests/tools/fsync_fail.c)."""
    assert SHIM.exists(), f"{SHIM} is missing: build with ninja -C build"
    monkeypatch.setenv("LD_PRELOAD", preload(SHIM))
    monkeypatch.setenv("SHOAL_TEST_FSYNC_FAIL", str(flag))
    try:
        node.start()
    finally:
        monkeypatch.delenv("LD_PRELOAD")
        monkeypatch.delenv("SHOAL_TEST_FSYNC_FAIL")


def test_failed_folder_fsync_is_not_226(cluster, monkeypatch, tmp_path):
    flag = tmp_path / "fail-fsync"
    n1 = cluster.new_node()
    start_with_failing_fsync(n1, monkeypatch, flag)
    old, new = b"first version\n", b"second version\n"
    with n1.ftp() as f:
        assert stor(f, "a.txt", old).startswith("226")
        flag.write_text("")
        with pytest.raises(ftplib.Error) as e:
            stor(f, "a.txt", new)
        assert not str(e.value).startswith("2"), str(e.value)
        # All or nothing: the file and its listing are the old version.
        assert retr(f, "a.txt") == old
        assert (n1.dir / "a.txt").read_bytes() == old
        with pytest.raises(ftplib.Error):
            stor(f, "b.txt", new)
        assert not (n1.dir / "b.txt").exists()
        assert "b.txt" not in f.nlst()
        flag.unlink()
        assert stor(f, "a.txt", new).startswith("226")
        assert stor(f, "c.txt", new).startswith("226")
        # A deletion or a rename not known to be on disk is no 250 either.
        flag.write_text("")
        with pytest.raises(ftplib.Error) as e:
            f.delete("c.txt")
        assert not str(e.value).startswith("2"), str(e.value)
        with pytest.raises(ftplib.Error) as e:
            f.rename("a.txt", "d.txt")
        assert not str(e.value).startswith("2"), str(e.value)
        flag.unlink()
    assert (n1.dir / "d.txt").read_bytes() == new


def test_receiver_failed_fsync_is_not_acknowledged(cluster, monkeypatch,
                                                    tmp_path):
    flag = tmp_path / "fail-fsync"
    n1 = cluster.new_node(args=["--sync-writes", "1"],
                          options=["sync.write_timeout_ms=3000"])
    n1.start()
    n2 = cluster.new_node()
    start_with_failing_fsync(n2, monkeypatch, flag)
    cluster.wait_alive([n1, n2], 2)
    data = os.urandom(70000)
    with n1.ftp() as f:
        assert stor(f, "first.bin", b"both hold this\n").startswith("226")
        flag.write_text("")
        with pytest.raises(ftplib.error_temp) as e:
            stor(f, "quorum.bin", data)
        assert str(e.value).startswith("451"), str(e.value)
    wait_for(lambda: "fetch: fsync of the folder of quorum.bin" in n2.log(),
             REPLICATE, what="n2 to log the failed fsync")
    assert not (n2.dir / "quorum.bin").exists()
    flag.unlink()
    with n1.ftp() as f:
        assert stor(f, "after.bin", data).startswith("226")
    assert file_sha256(n2.dir / "after.bin") == sha256(data)


# A file written into a stopped node's folder is that node's content, even
# while its start-up scan has not indexed it yet: a peer's version of the
# same path arriving in that window must not replace it.

def test_unscanned_file_is_not_replaced_by_a_peer_version(cluster):
    n1, n2 = cluster.start(2)
    n2.stop()
    theirs = b"written on n1 while n2 was down\n"
    with n1.ftp() as f:
        assert stor(f, "report.bin", theirs).startswith("226")
    # n2's own version, big enough that hashing it at start-up takes far
    # longer than learning n1's index: sparse, so it costs no disk here.
    size = 384 << 20
    with open(n2.dir / "report.bin", "wb") as out:
        out.truncate(size)
    ours = file_sha256(n2.dir / "report.bin")
    n2.start()
    cluster.wait_alive([n1, n2], 2)

    def versions(n):
        t = n.tree()
        return sorted(v for k, v in t.items() if k.startswith("report"))

    both = sorted([sha256(theirs), ours])
    wait_for(lambda: all(versions(n) == both for n in (n1, n2)),
             timeout=REPLICATE,
             what="both versions of report.bin kept on both nodes",
             diag=lambda: {n.name: n.tree() for n in (n1, n2)})
