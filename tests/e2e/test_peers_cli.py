"""`shoal add` says what its dial met (linked, nothing listening, TLS
refused) and exits non-zero for the failures; `shoal peers` shows no
made-up RTT for members never reached, and says why they are not."""

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import Cluster, free_port  # noqa: E402

pytest_plugins = ["cluster"]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def rtt_col(head, line):
    end = head.index("RTT(ms)") + len("RTT(ms)")
    return line[end - 8:end].strip()


def peer_line(node, addr):
    r = node.cli("peers")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if addr in l]
    assert len(lines) == 1, r.stdout
    return r.stdout.splitlines()[0], lines[0]


def test_add_reports_what_happened(cluster):
    n1, = cluster.start(1)
    n2 = cluster.new_node("n2", peers=[])
    n2.start()

    r = n2.cli("add", n1.peer_addr)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.strip() == f"linked to {n1.id}", r.stdout

    nowhere = f"127.0.0.1:{free_port()}"
    r = n2.cli("add", nowhere)
    assert r.returncode != 0, r.stdout
    assert f"nothing listening at {nowhere}" in r.stderr, r.stderr

    stranger = cluster.new_node("stranger", join=False, peers=[])
    stranger.start()
    r = n2.cli("add", stranger.peer_addr)
    assert r.returncode != 0, r.stdout
    assert "TLS refused (wrong cluster key?)" in r.stderr, r.stderr

    # peers: a dash, not a made-up RTT, and why
    head, line = peer_line(n2, nowhere)
    assert "REASON" in head
    assert rtt_col(head, line) == "-", (head, line)
    assert line.endswith("never reached"), line
    _, line = peer_line(n2, stranger.peer_addr)
    assert rtt_col(head, line) == "-", (head, line)
    assert line.endswith("refused: wrong key?"), line
    _, line = peer_line(n2, n1.peer_addr)
    assert float(rtt_col(head, line)) >= 0 and line.endswith(" -"), line

    by_addr = {p["address"]: p for p in n2.peers()}
    assert by_addr[nowhere]["rtt_ms"] is None
    assert by_addr[nowhere]["reason"] == "never reached"
    assert by_addr[stranger.peer_addr]["reason"] == "refused: wrong key?"
    assert isinstance(by_addr[n1.peer_addr]["rtt_ms"], float)


def test_peers_says_left(cluster):
    n1, n2 = cluster.start(2)
    r = n2.cli("bye")
    assert r.returncode == 0, r.stderr
    n2.proc.wait(15)
    cluster.reaped.add(n2.proc.pid)
    from cluster import wait_for
    wait_for(lambda: n1.member_states().get(n2.id) == "left", 15,
             "n1 to see n2 left")
    _, line = peer_line(n1, n2.peer_addr)
    assert line.endswith(" left"), line
