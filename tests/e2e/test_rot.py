"""End-to-end checks of rot: bytes of a stored file changed behind a node's
back, its size and mtime kept.  The scrub (`shoal scrub --wait`) finds it,
the node fetches the same version again from a peer, and no version is
made; a peer asking for a rotten block is refused and fetches elsewhere;
reads never return the rotten bytes once the rot is known.

Each test starts real nodes on 127.0.0.1 (see cluster.py).  Every wait has
a deadline.
"""

import hashlib
import json
import os
import sqlite3
import threading
import urllib.error
import urllib.request

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (NET_TIMEOUT, Cluster, file_sha256, sha256,  # noqa: E402
                     stor, wait_for)

pytest_plugins = ["cluster"]

REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def rot(path, offset):
    """Flips one byte of path at offset, the mtime put back before the file
    is closed (so every event the folder watcher sees comes after it)."""
    st = os.stat(path)
    fd = os.open(path, os.O_RDWR)
    try:
        b = os.pread(fd, 1, offset)
        os.pwrite(fd, bytes([b[0] ^ 0x5A]), offset)
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(fd)
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (st.st_size, st.st_mtime_ns, st.st_ino)


def version(node, path):
    """path's version as node's index holds it: content hash, mtime,
    version vector and the node that made it (the index is read, not
    written, while the node runs)."""
    db = sqlite3.connect(f"file:{node.dir / '.shoal' / 'index.db'}?mode=ro",
                         uri=True, timeout=NET_TIMEOUT)
    try:
        row = db.execute("SELECT sha256, mtime_ns, vv, modified_by, deleted"
                         " FROM files WHERE path = ?", (path,)).fetchone()
    finally:
        db.close()
    assert row is not None, f"{node.name}: no row for {path}"
    return (row[0].hex(), row[1], row[2].hex(), row[3].hex(), row[4])


def scrub_stats(node):
    return node.api("/v1/status")["scrub"]


class Reader(threading.Thread):
    """GETs name from node over HTTP until stopped, and keeps every body a
    200 returned that is not the good content."""

    def __init__(self, node, name, good):
        super().__init__(daemon=True)
        self.url = f"http://{node.http_addr}/v1/files/{name}"
        tok = (node.dir / ".shoal" / "api_token").read_text().strip()
        self.headers = {"Authorization": f"Bearer {tok}"}
        self.good = good
        self.stop = threading.Event()
        self.reads = self.errors = 0
        self.bad = []

    def run(self):
        while not self.stop.is_set():
            req = urllib.request.Request(self.url, headers=self.headers)
            try:
                with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
                    body = r.read()
            except (urllib.error.URLError, OSError):
                self.errors += 1
                continue
            self.reads += 1
            if body != self.good:
                self.bad.append(hashlib.sha256(body).hexdigest())


def test_scrub_finds_rot_and_fetches_the_version_again(cluster):
    n1, n2, n3 = cluster.start(3)
    data = os.urandom(3 * (1 << 20) + 12345)
    other = b"untouched\n"
    with n1.ftp() as f:
        stor(f, "big.bin", data)
        stor(f, "other.txt", other)
    expected = {"big.bin": sha256(data), "other.txt": sha256(other)}
    cluster.wait_tree(expected, timeout=REPLICATE)
    before = {n.name: version(n, "big.bin") for n in (n1, n2, n3)}
    assert len(set(before.values())) == 1, before
    log_at = len(n2.log())

    rot(n2.dir / "big.bin", 2 * (1 << 20) + 777)
    assert file_sha256(n2.dir / "big.bin") != sha256(data)
    out = n2.cli("scrub", "--wait")
    assert out.returncode == 0, out.stderr
    # Known rotten from here on: every read is the good content or an
    # error, while the good copy comes back.
    reader = Reader(n2, "big.bin", data)
    reader.start()
    try:
        st = scrub_stats(n2)
        assert st["rot_found"] == 1, st
        assert st["pass_files"] >= 1 and st["scrub_files"] >= 1, st
        wait_for(lambda: scrub_stats(n2)["rot_repaired"] == 1, REPLICATE,
                 what="n2 to fetch big.bin again",
                 diag=lambda: scrub_stats(n2))
        cluster.wait_tree(expected, timeout=REPLICATE,
                          what="every node to hold the good version")
        wait_for(lambda: reader.reads >= 3, REPLICATE,
                 what="reads of big.bin on n2 after the repair")
    finally:
        reader.stop.set()
        reader.join()
    assert reader.bad == [], f"{len(reader.bad)} reads returned bad bytes"
    assert "has rotted" in n2.log()[log_at:]
    # The same version everywhere, as before: no version, no conflict copy
    # (wait_tree holds exactly the two files).
    after = {n.name: version(n, "big.bin") for n in (n1, n2, n3)}
    assert after == before
    for n in (n1, n3):
        assert scrub_stats(n)["rot_found"] == 0
    metrics = n2.http("GET", "/metrics")[1].decode()
    assert "shoal_rot_found_total 1\n" in metrics
    assert "shoal_rot_repaired_total 1\n" in metrics


def test_rotten_block_is_refused_to_a_peer(cluster):
    """n1 holds a rotten copy when n3 joins: n3's request for that block
    is refused (n1 sets the file aside at once) and n3 gets it from n2."""
    n1, n2 = cluster.start(2)
    data = os.urandom(4 * (1 << 20))
    with n1.ftp() as f:
        stor(f, "data.bin", data)
    expected = {"data.bin": sha256(data)}
    cluster.wait_tree(expected, timeout=REPLICATE)
    before = version(n1, "data.bin")
    # n2 gone while n3 joins and asks: n1 is the only holder at first.
    n2.stop()
    rot(n1.dir / "data.bin", 1 * (1 << 20) + 5)
    n3 = cluster.new_node()
    n3.start()
    cluster.wait_alive([n1, n3], 2)
    wait_for(lambda: scrub_stats(n1)["rot_found"] == 1, REPLICATE,
             what="n1 to refuse its rotten block",
             diag=lambda: scrub_stats(n1))
    assert "has rotted" in n1.log()
    # Nothing rotten reached n3 under the final name.
    assert not (n3.dir / "data.bin").exists() or \
        file_sha256(n3.dir / "data.bin") == sha256(data)
    n2.start()
    cluster.wait_alive([n1, n2, n3], 3)
    cluster.wait_tree(expected, timeout=REPLICATE,
                      what="n3 fetching from n2, n1 repaired")
    wait_for(lambda: scrub_stats(n1)["rot_repaired"] == 1, REPLICATE,
             what="n1's repair to be counted")
    for n in (n1, n2, n3):
        assert version(n, "data.bin") == before


def test_rotten_file_is_never_served(cluster):
    """Rot found while no peer is up: the file is not served at all (an
    error, never the rotten bytes) until a peer is back to fetch it from;
    then reads return the good content."""
    n1, n2 = cluster.start(2)
    data = os.urandom((1 << 20) + 4321)
    with n1.ftp() as f:
        stor(f, "doc.bin", data)
    expected = {"doc.bin": sha256(data)}
    cluster.wait_tree(expected, timeout=REPLICATE)
    before = version(n2, "doc.bin")
    n1.stop()
    rot(n2.dir / "doc.bin", 1000)
    out = n2.cli("scrub", "--wait")
    assert out.returncode == 0, out.stderr
    assert scrub_stats(n2)["rot_found"] == 1
    rotten = next((n2.dir / ".shoal" / "damaged").iterdir()).read_bytes()
    assert len(rotten) == len(data) and rotten != data
    status, body = n2.http("GET", "/v1/files/doc.bin")
    assert status != 200 and body != rotten, status
    n1.start()
    cluster.wait_alive([n1, n2], 2)
    wait_for(lambda: scrub_stats(n2)["rot_repaired"] == 1, REPLICATE,
             what="n2 to fetch doc.bin again from n1")
    cluster.wait_tree(expected, timeout=REPLICATE)
    status, body = n2.http("GET", "/v1/files/doc.bin")
    assert status == 200 and body == data
    assert version(n2, "doc.bin") == before


def test_scrub_goes_on_after_a_restart(cluster):
    """A pass under way when the node stops goes on after the last file it
    finished, not from the first one."""
    n1 = cluster.new_node(options=["sync.scrub_mib_s=1"])
    n1.start()
    names = [f"f{i}.bin" for i in range(8)]
    with n1.ftp() as f:
        for name in names:
            stor(f, name, os.urandom(1 << 20))
    wait_for(lambda: n1.api("/v1/status")["files"] == len(names), REPLICATE,
             what="the files to be indexed")
    out = n1.cli("scrub")
    assert out.returncode == 0, out.stderr
    state = n1.dir / ".shoal" / "scrub"
    wait_for(lambda: state.read_text().startswith("pass ") and
             state.read_text().split("\nafter ")[1].strip() in names,
             REPLICATE, what="progress recorded after a finished file",
             diag=lambda: state.read_text())
    n1.stop()
    text = state.read_text()
    assert text.startswith("pass "), text
    after = text.split("\nafter ")[1].strip()
    log_at = len(n1.log())
    n1.start()
    wait_for(lambda: scrub_stats(n1)["passes_done"] == 1, REPLICATE,
             what="the pass to end", diag=lambda: scrub_stats(n1))
    assert f'scrub: pass goes on after "{after}"' in n1.log()[log_at:]
    st = scrub_stats(n1)
    # Only the files after the last one finished were hashed.
    assert st["pass_files"] == len([x for x in names if x > after]), st
    assert state.read_text().startswith("done ")
