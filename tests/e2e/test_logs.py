"""What a node's log tells the people who read it: transfers in batched
lines per peer (no line per file at info level), no heartbeats in a debug
log unless asked for, peers named by node id and listening address, a
member that stops cleanly logged as stopped (not as a TLS error), and no
false "wrong cluster key?" when two nodes start at the same moment, while
a really wrong key is still called so.

Every test runs real nodes on 127.0.0.1 (cluster.py) and reads their logs.
"""

import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import SHOAL, Cluster, sha256, wait_for  # noqa: E402

pytest_plugins = ["cluster"]

WRONG_KEY = re.compile(r"wrong (or missing )?cluster key")
TLS_TROUBLE = re.compile(r" (warn|error): .*(TLS|SSL|handshake|eof)", re.I)
FETCHED = re.compile(r" info: fetched (\d+) files?, .* from ([0-9a-f]{8}) "
                     r"\((127\.0\.0\.1:\d+)\) in ")
SENT = re.compile(r" info: sent (\d+) files?, .* to ([0-9a-f]{8}) ")


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def fifty_files(node):
    expected = {}
    for i in range(50):
        data = os.urandom(3000 + i)
        (node.dir / f"f{i:02}.bin").write_bytes(data)
        expected[f"f{i:02}.bin"] = sha256(data)
    return expected


def counted(regex, text, peer_id):
    return sum(int(m.group(1)) for m in regex.finditer(text)
               if m.group(2) == peer_id[:8])


def test_transfers_are_logged_in_batches_per_peer(cluster):
    n1, n2 = cluster.start(2)
    expected = fifty_files(n1)
    cluster.wait_tree(expected)

    wait_for(lambda: counted(FETCHED, n2.log(), n1.id) >= 50, 30,
             "n2 to log the 50 files it fetched from n1",
             diag=lambda: n2.log()[-3000:])
    wait_for(lambda: counted(SENT, n1.log(), n2.id) >= 50, 30,
             "n1 to log the 50 files it sent to n2",
             diag=lambda: n1.log()[-3000:])
    log2 = n2.log()
    assert counted(FETCHED, log2, n1.id) == 50, log2[-3000:]
    assert counted(SENT, n1.log(), n2.id) == 50, n1.log()[-3000:]
    # the batch names n1 by its listening address, not an ephemeral port
    assert all(m.group(3) == n1.peer_addr for m in FETCHED.finditer(log2))
    # batched: far fewer lines than files, and none naming one file
    assert len(FETCHED.findall(log2)) < 10, log2[-3000:]
    for line in log2.splitlines():
        if " info: " in line or " warn: " in line:
            assert ".bin" not in line, line


def test_debug_log_has_no_heartbeats_unless_asked(cluster):
    n1, n2 = cluster.start(2, args=["--log-level", "debug"])
    # heartbeats every 200 ms: two seconds of them
    mark = len(n1.log())
    wait_for(lambda: n1.log().count("\n", mark) > 0 and
             n2.alive() == 2 and n1.alive() == 2, 10, "a live pair")
    expected = fifty_files(n1)
    cluster.wait_tree(expected)
    for x in (n1, n2):
        text = x.log()
        assert "PING" not in text and "PONG" not in text, text[-2000:]
        # frames are logged with the peer's id and listening address
        other = n2 if x is n1 else n1
        assert re.search(rf"debug: peer {other.id[:8]} \({other.peer_addr}"
                         rf"\) [<-]", text), text[-2000:]

    n2.stop()
    n2.start(options=["peer.log_heartbeats=yes"])
    cluster.wait_alive([n1, n2], 2)
    wait_for(lambda: "PING" in n2.log() and "PONG" in n2.log(), 10,
             "heartbeats in n2's log once asked for")


def test_a_member_that_stops_is_logged_as_stopped(cluster):
    n1, n2 = cluster.start(2)
    expected = fifty_files(n1)
    cluster.wait_tree(expected)
    mark = len(n1.log())
    n2.stop()
    wait_for(lambda: re.search(rf"info: member {n2.id[:8]} .*\b(stopped|"
                               rf"left)\b", n1.log()[mark:]), 15,
             "n1 to log that n2 stopped", diag=lambda: n1.log()[mark:])
    after = n1.log()[mark:]
    assert not TLS_TROUBLE.search(after), after
    assert len(re.findall(rf"member {n2.id[:8]}", after)) == 1, after

    # back again, and away with `shoal bye`: "left", once
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    mark = len(n1.log())
    r = n2.cli("bye")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: re.search(rf"info: member {n2.id[:8]} .*\bleft\b",
                               n1.log()[mark:]), 15,
             "n1 to log that n2 left", diag=lambda: n1.log()[mark:])
    n2.proc.wait(15)
    cluster.reaped.add(n2.proc.pid)
    after = n1.log()[mark:]
    assert not TLS_TROUBLE.search(after), after
    assert len(re.findall(rf"member {n2.id[:8]}", after)) == 1, after


def test_nodes_starting_together_see_no_wrong_key(cluster):
    a = cluster.new_node("a", peers=[])
    b = cluster.new_node("b", peers=[])
    (a.dir / ".shoal" / "peers").write_text(b.peer_addr + "\n")
    (b.dir / ".shoal" / "peers").write_text(a.peer_addr + "\n")
    for i in range(12):
        # at the same moment; or the second just as the first is up, so
        # that its first dial meets a listener at once
        first, second = (a, b) if i % 2 else (b, a)
        first.start(wait=i % 4 >= 2)
        second.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        cluster.wait_alive([a, b], 2)
        a.stop()
        b.stop()
    for x in (a, b):
        assert not WRONG_KEY.search(x.log()), x.log()[-3000:]
        # a node that stops does not log its members' links ending
        other = b if x is a else a
        assert not re.search(rf"member {other.id[:8]} .* is dead",
                             x.log()), x.log()[-3000:]


def test_a_really_wrong_key_is_called_so(cluster):
    n1, = cluster.start(1)
    stranger = cluster.new_node("stranger", join=False, peers=[n1.peer_addr])
    stranger.start()
    wait_for(lambda: WRONG_KEY.search(stranger.log()) and
             WRONG_KEY.search(n1.log()), 30,
             "both logs to suspect the cluster key",
             diag=lambda: (stranger.log()[-1500:], n1.log()[-1500:]))


def watch_lines(node, deadline_s, stop):
    """Run `shoal status --watch --json` on node; yield each line's JSON
    until stop(obj) is true or the deadline passes; the process is killed
    by its PID at the end."""
    proc = subprocess.Popen([str(SHOAL), "-C", str(node.dir), "status",
                             "--watch", "--json"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = []
    buf = b""
    deadline = time.monotonic() + deadline_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                obj = json.loads(line)
                out.append(obj)
                if stop(obj):
                    return out
        pytest.fail(f"status --watch gave no end of the catch-up in "
                    f"{deadline_s}s; lines: {out[-5:]}; stderr: "
                    f"{proc.stderr.read1(4096) if proc.poll() else ''}")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_status_watch_shows_a_catch_up_to_its_end(cluster):
    # n1 sends at most 8 MiB/s: the 40 MiB take a few seconds
    n1, = cluster.start(1, options=["peer.send_limit_kib=8192"])
    expected = {}
    for i in range(200):
        data = os.urandom(200 * 1024)
        (n1.dir / f"c{i:03}.bin").write_bytes(data)
        expected[f"c{i:03}.bin"] = sha256(data)
    wait_for(lambda: n1.status()["files"] == 200, 60, "n1 to index 200 files")
    n2 = cluster.new_node("n2")
    n2.start()

    seen = []

    def stop(obj):
        cu = obj["progress"]["catch_up"]
        seen.append(None if cu is None else cu["files_to_go"])
        return cu is None and any(v for v in seen if v)
    lines = watch_lines(n2, 120, stop)
    to_go = [v for v in seen if v is not None]
    assert to_go and max(to_go) > 0, seen
    peak = to_go.index(max(to_go))
    after = to_go[peak:]
    assert all(b <= a for a, b in zip(after, after[1:])), seen
    assert len(set(after)) >= 2, seen      # it went down while watched
    cluster.wait_tree(expected, nodes=[n2])
    # n2 was made with init --join: this catch-up is its join
    assert any(o["progress"]["catch_up"]["join"] for o in lines
               if o["progress"]["catch_up"]), lines[:3]
    wait_for(lambda: re.search(r"info: join done: \d+ files", n2.log()),
             15, "the end of the join in n2's log",
             diag=lambda: n2.log()[-2000:])
    assert re.search(r"info: join: \d+ files, .* to fetch", n2.log())


def test_status_watch_for_people(cluster):
    n1, = cluster.start(1)
    proc = subprocess.Popen([str(SHOAL), "-C", str(n1.dir), "status",
                             "--watch"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "status --watch printed nothing in 30 s"
        line = proc.stdout.readline().decode()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert re.fullmatch(r"\d\d:\d\d:\d\d  catch-up idle; repair idle\n",
                        line), line


def test_a_join_cut_short_is_not_logged_as_done(cluster):
    # 2 MiB/s: the 40 MiB would take twenty seconds
    n1, = cluster.start(1, options=["peer.send_limit_kib=2048"])
    for i in range(200):
        (n1.dir / f"c{i:03}.bin").write_bytes(os.urandom(200 * 1024))
    wait_for(lambda: n1.status()["files"] == 200, 60, "n1 to index 200 files")
    n2 = cluster.new_node("n2")
    n2.start()
    wait_for(lambda: re.search(r"info: join: \d+ files", n2.log()), 30,
             "n2 to log the start of its join",
             diag=lambda: n2.log()[-2000:])
    assert n2.status()["progress"]["catch_up"]["files_to_go"] > 0
    n2.stop()
    assert "join done" not in n2.log(), n2.log()[-2000:]
    assert "catch-up done" not in n2.log(), n2.log()[-2000:]
