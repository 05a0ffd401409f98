"""End-to-end checks of clock skew: one node's clock hours ahead of (or
behind) the others'.

The rule (src/cluster/decide.c): which version of a path follows which is
decided by version vectors, never by clocks.  Only for concurrent versions
(neither node had seen the other's) does the later mtime keep the name,
and the other is kept beside it as a conflict copy.  So a node whose
clock is ahead wins the name of concurrent writes but discards nothing,
and a write made after seeing a version wins whatever the clocks say.

The skewed node runs under libfaketime (Debian's `faketime`) with an
offset: its realtime clock (time(), clock_gettime(CLOCK_REALTIME), so its
logs, HTTP Date, scrub and expiry times) is hours off.  Its monotonic
clock is left alone (FAKETIME_DONT_FAKE_MONOTONIC): libevent's timers run
on it, and an offset of -5 h would take it below zero on a machine up for
less than that.  File times are not faked (NO_FAKE_STAT): libfaketime
shifts what fstat() returns but not fstatat(), and it does not shift the
times a program sets, so the node would see its own files change under
it.  The kernel stamps files with the real time, so a write on the
skewed node is stamped here the way its kernel would stamp it on a
machine whose clock is off: a file saved into its folder with its mtime
set to the skewed time.

Each test starts real nodes on 127.0.0.1 (see cluster.py).  Every wait has
a deadline.
"""

import email.utils
import os
import re
import time
import urllib.error
import urllib.request

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import NET_TIMEOUT, Cluster, sha256, stor, wait_for  # noqa: E402
from conftest import preload  # noqa: E402

pytest_plugins = ["cluster"]

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
HOUR = 3600
REPLICATE = 60.0
CONFLICT_RE = re.compile(
    r"doc\.sync-conflict-\d{8}-\d{6}-[0-9a-f]{6}\.txt")

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME),
                                reason="needs Debian's faketime package")


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def skew(node, seconds):
    """Runs node (from its next start) with its realtime clock `seconds`
    off; 0 puts it back."""
    node.offset = seconds
    if seconds == 0:
        node.env = {}
        return
    node.env = {"LD_PRELOAD": preload(FAKETIME),
                "FAKETIME": f"{seconds:+d}",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "NO_FAKE_STAT": "1"}


def node_clock(node):
    """The node's idea of the time: its HTTP Date header."""
    req = urllib.request.Request(f"http://{node.http_addr}/v1/status")
    try:
        with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
            date = r.headers["Date"]
    except urllib.error.HTTPError as e:
        date = e.headers["Date"]
    return email.utils.parsedate_to_datetime(date).timestamp()


def save(node, name, data):
    """A file saved into node's folder as an editor saves it (a temporary
    file renamed into place), stamped by that node's clock."""
    at = time.time() + getattr(node, "offset", 0)
    tmp = node.dir.parent / f".save-{node.name}"
    tmp.write_bytes(data)
    os.utime(tmp, (at, at))
    os.rename(tmp, node.dir / name)


def start_skewed(cluster, offset):
    """n1, n2 (its clock `offset` seconds off) and n3; returns them once
    each sees the other two: a link does not depend on the clocks."""
    n1 = cluster.new_node()
    n2 = cluster.new_node()
    n3 = cluster.new_node()
    skew(n1, 0)
    skew(n2, offset)
    skew(n3, 0)
    for n in (n1, n2, n3):
        n.start()
    cluster.wait_alive([n1, n2, n3], 3)
    off = node_clock(n2) - time.time()
    assert abs(off - offset) < 120, f"n2's clock is {off:.0f} s off"
    return n1, n2, n3


def shas(tree):
    named = tree.get("doc.txt")
    copies = sorted(v for k, v in tree.items() if CONFLICT_RE.fullmatch(k))
    return named, copies


@pytest.mark.parametrize("offset", [5 * HOUR, -5 * HOUR],
                         ids=["ahead", "behind"])
def test_skewed_node_keeps_both_concurrent_writes(cluster, offset):
    n1, n2, n3 = start_skewed(cluster, offset)
    v1 = b"version one, made on n1\n"
    with n1.ftp() as f:
        stor(f, "doc.txt", v1)
    cluster.wait_tree({"doc.txt": sha256(v1)}, timeout=REPLICATE)

    # Cut apart (n2 down), both sides change doc.txt: two concurrent
    # versions, n2's stamped by its own clock.
    n2.stop()
    v2 = b"version two, made on n1 while n2 was away\n"
    v3 = b"version three, made on n2 while cut off\n"
    with n1.ftp() as f:
        stor(f, "doc.txt", v2)
    wait_for(lambda: n3.tree().get("doc.txt") == sha256(v2), REPLICATE,
             what="n3 to hold n1's version")
    save(n2, "doc.txt", v3)
    n2.start()
    cluster.wait_alive([n1, n2, n3], 3)

    # Both survive on every node, one under the name, one as a copy: the
    # later mtime keeps the name, so the node ahead wins it.
    def both():
        t = cluster.converged()
        return t if t and len(t) == 2 and shas(t)[1] else None
    t = wait_for(both, REPLICATE, "every node to hold both versions",
                 diag=cluster.disagreement)
    named, copies = shas(t)
    ahead, behind = (v3, v2) if offset > 0 else (v2, v3)
    assert (named, copies) == (sha256(ahead), [sha256(behind)]), t

    # The node behind overwrites the path after it has the version
    # stamped hours later: the overwrite follows that version, so it
    # wins on every node although its mtime is older; the copy stays.
    late = n1 if offset > 0 else n2
    v4 = b"version four, made on the node behind, after it saw the rest\n"
    save(late, "doc.txt", v4)
    cluster.wait_tree({"doc.txt": sha256(v4), **{
        k: v for k, v in t.items() if k != "doc.txt"}}, timeout=REPLICATE,
        what="the later write on the node behind to win everywhere")


def test_skewed_nodes_link_and_replicate(cluster):
    """A node 5 h ahead and one 5 h behind link with a node on time (the
    peer protocol authenticates with the cluster key, no certificate
    dates), and each one's writes reach the others."""
    n1 = cluster.new_node()
    n2 = cluster.new_node()
    n3 = cluster.new_node()
    skew(n2, 5 * HOUR)
    skew(n3, -5 * HOUR)
    for n in (n1, n2, n3):
        n.start()
    cluster.wait_alive([n1, n2, n3], 3)
    for n, off in ((n1, 0), (n2, 5 * HOUR), (n3, -5 * HOUR)):
        seen = node_clock(n) - time.time()
        assert abs(seen - off) < 120, f"{n.name}'s clock is {seen:.0f} s off"
    want = {}
    for n in (n1, n2, n3):
        data = f"written on {n.name}\n".encode() * 100
        with n.ftp() as f:
            stor(f, f"{n.name}.txt", data)
        want[f"{n.name}.txt"] = sha256(data)
    cluster.wait_tree(want, timeout=REPLICATE)
