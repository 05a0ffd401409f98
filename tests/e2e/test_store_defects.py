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

from cluster import (ROOT, Cluster, file_sha256, retr, sha256,  # noqa: E402
                     stor, wait_for)

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
