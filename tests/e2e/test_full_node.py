"""End-to-end tests of a node that cannot hold everything (replicas = all).

The third node of a three-node cluster keeps its folder on a small tmpfs;
the others hold 39 MiB.  It must say so plainly (status, --json, /metrics,
one log line), serve the files it is missing from its peers, leave the
consistency check alone (no node resyncs over and over), and fetch what it
is missing once space frees.  Mounting a tmpfs needs root.

Every wait has a deadline; nothing asserts how long something took.
"""

import io
import os
import re
import subprocess
import time
import urllib.parse

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import Cluster, file_sha256, sha256, stor, wait_for  # noqa: E402

pytest_plugins = ["cluster"]

MiB = 1 << 20
NFILES = 13
SIZE = 3 * MiB
SETTLE = 120.0
FLOOR = ["store.min_free_mb=8"]
SHORT_RE = re.compile(r"short of space: missing (\d+) files?, (\d+) MiB "
                      r"needed")


@pytest.fixture
def tmpfs():
    mounted = []

    def mount(path, size):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        path.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                            "tmpfs", str(path)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs on {path}: {p.stderr}")
        mounted.append(path)
        return path
    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", str(path)]).returncode != 0:
            subprocess.run(["umount", "-l", str(path)])


@pytest.fixture
def cluster(tmpfs, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def metrics(node):
    code, body = node.http("GET", "/metrics")
    assert code == 200, (code, body[:300])
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


def disk_sha(path):
    try:
        return file_sha256(path)
    except FileNotFoundError:
        return None


def held(node, files):
    return {n for n, d in files.items()
            if disk_sha(node.path(n)) == sha256(d)}


def resyncs(node):
    return sum(1 for line in node.log().splitlines()
               if "resync" in line and "sync:" in line)


def counts(node):
    st = node.try_status() or {}
    keys = ("space_missing_files", "space_missing_bytes", "disk_free_bytes",
            "space_short", "held_files", "files", "sync")
    return {k: st.get(k) for k in keys}


def full_cluster(tmpfs, cluster, tmp_path):
    """n1, n2 and n3 (its folder on a 20 MiB tmpfs), 39 MiB written to
    n1; returns once n2 holds everything."""
    tmpfs(tmp_path / "n3", "20m")
    n1 = cluster.new_node()
    n2 = cluster.new_node()
    n3 = cluster.new_node(options=FLOOR)
    assert n3.dir == tmp_path / "n3"
    for x in (n1, n2, n3):
        x.start()
    cluster.wait_alive([n1, n2, n3], 3)
    files = {f"f{i:02d}.bin": os.urandom(SIZE) for i in range(NFILES)}
    f = n1.ftp()
    for name, data in files.items():
        assert stor(f, name, data).startswith("226"), name
    f.quit()
    wait_for(lambda: held(n2, files) == set(files), SETTLE,
             "n2 to hold every file")
    return n1, n2, n3, files


def test_full_node_says_so_serves_and_catches_up(tmpfs, cluster, tmp_path):
    n1, n2, n3, files = full_cluster(tmpfs, cluster, tmp_path)

    # n3 settles short of space: what it holds and what it lacks add up
    def settled():
        st = n3.try_status()
        if not st or st["sync"]["pulls_active"] or \
                st["sync"]["pulls_queued"]:
            return None
        have = held(n3, files)
        if not have or st.get("space_missing_files", 0) + len(have) != \
                NFILES:
            return None
        return st, have
    st, have = wait_for(settled, SETTLE, "n3 to settle short of space",
                        diag=lambda: counts(n3))
    missing = sorted(set(files) - have)
    assert st["space_missing_files"] == len(missing), st
    assert st["space_missing_bytes"] == len(missing) * SIZE, st
    assert st["space_short"] is True, st
    text = n3.cli("status")
    assert text.returncode == 0, text.stderr
    m = SHORT_RE.search(text.stdout)
    assert m, text.stdout
    assert int(m.group(1)) == len(missing), text.stdout
    assert int(m.group(2)) == len(missing) * SIZE // MiB, text.stdout
    met = metrics(n3)
    assert met.get("shoal_files_missing_space") == len(missing), met
    assert met.get("shoal_bytes_missing_space") == len(missing) * SIZE, met
    assert metrics(n1).get("shoal_files_missing_space") == 0

    # said once in the log, not per file
    wait_for(lambda: "short of space" in n3.log(), 10,
             "n3 to log that it is short of space")
    assert n3.log().count("short of space: missing") == 1, n3.log()[-3000:]
    assert "no room for" not in n3.log()

    # the files it is missing are served from its peers, right bytes
    name = missing[0]
    code, body = n3.http("GET", "/v1/files/" + urllib.parse.quote(name))
    assert code == 200, (code, body[:300])
    assert sha256(body) == sha256(files[name])
    f = n3.ftp()
    buf = io.BytesIO()
    f.retrbinary("RETR " + missing[-1], buf.write)
    f.quit()
    assert sha256(buf.getvalue()) == sha256(files[missing[-1]])

    # space frees: it fetches what it is missing and says so once
    p = subprocess.run(["mount", "-o", "remount,size=64m", str(n3.dir)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    wait_for(lambda: held(n3, files) == set(files), SETTLE,
             "n3 to fetch every file once space freed",
             diag=lambda: counts(n3))
    st = wait_for(lambda: (lambda s: s if s and s.get("space_missing_files")
                           == 0 else None)(n3.try_status()), 30,
                  "n3 to stop reporting missing files")
    assert st["space_short"] is False, st
    assert "short of space" not in n3.cli("status").stdout
    wait_for(lambda: "no longer short of space" in n3.log(), 10,
             "n3 to log that it is no longer short of space")
    assert n3.log().count("short of space: missing") == 1


def test_full_node_makes_no_resync_storm(tmpfs, cluster, tmp_path):
    n1, n2, n3, files = full_cluster(tmpfs, cluster, tmp_path)
    # n3 is full: it holds some files and has no room for another
    wait_for(lambda: held(n3, files) and
             (n3.try_status() or {}).get("disk_free_bytes", 1 << 40) <
             (8 << 20) + SIZE, SETTLE, "n3 to fill up",
             diag=lambda: counts(n3))
    # over 20 s of heartbeats (100 at 200 ms) while it stays full: at
    # most one resync on each node
    nodes = (n1, n2, n3)
    before = [resyncs(x) for x in nodes]
    end = time.monotonic() + 20
    while time.monotonic() < end:
        assert all(x.running() for x in nodes)
        time.sleep(0.5)
    after = [resyncs(x) for x in nodes]
    assert held(n3, files) != set(files)
    assert all(a - b <= 1 for a, b in zip(after, before)), (before, after)


def test_status_free_space_is_measured_when_asked(tmpfs, cluster, tmp_path):
    tmpfs(tmp_path / "n1", "40m")
    n1 = cluster.new_node()
    n1.start()
    for i in range(3):
        # the disk fills (outside the folder's files, which a scan would
        # index): status says so at once, not at the next tick
        with open(n1.dir / ".shoal" / f"ballast{i}", "wb") as f:
            f.write(os.urandom(6 * MiB))
            f.flush()
            os.fsync(f.fileno())
        sv = os.statvfs(n1.dir)
        now = sv.f_bavail * sv.f_frsize
        st = n1.status()
        assert abs(st["disk_free_bytes"] - now) < MiB, (i, now, st)
