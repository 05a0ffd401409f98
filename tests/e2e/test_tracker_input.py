"""Bad input on the tracker protocol: a node with the wrong key (or the
peer protocol's key), and an authenticated node sending oversized, unknown,
malformed or path-escaping frames.  Each is refused or ends the link,
nothing reaches the database, and the tracker keeps serving others."""

import json
import os
import sqlite3
import subprocess
import urllib.error
import urllib.request

import pytest

import socket

from conftest import ROOT, free_port, wait_for

PROBE = ROOT / "build" / "tests" / "unit" / "tracker_probe"
# SHOAL_BIN runs the tests against another build (e.g. build-asan/shoal)
SHOAL = os.environ.get("SHOAL_BIN") or ROOT / "build" / "shoal"


@pytest.fixture
def tracker(tmp_path):
    t = tmp_path / "T"
    out = subprocess.run([str(SHOAL), "init", str(t)], capture_output=True,
                         text=True, check=True)
    key = (t / ".shoal" / "cluster_key").read_text().strip()
    assert key in out.stdout
    port, http = free_port(), free_port()
    log = tmp_path / "tracker.log"
    proc = subprocess.Popen(
        [str(SHOAL), "tracker", str(t), "--listen", f"127.0.0.1:{port}",
         "--http", f"127.0.0.1:{http}", "--expire", "30"],
        stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    wait_for(lambda: probe("127.0.0.1", port), 15, what="tracker listening")
    wait_for(lambda: probe("127.0.0.1", http), 15, what="tracker http")
    yield t, key, port, http, log, proc
    assert proc.poll() is None, log.read_text()[-2000:]
    proc.terminate()
    assert proc.wait(15) == 0


def probe(host, port):
    """True when host:port accepts a TCP connection (no FTP banner here)."""
    try:
        socket.create_connection((host, port), timeout=1.0).close()
        return True
    except OSError:
        return False


def run_probe(key, port, mode):
    out = subprocess.run([str(PROBE), key, f"127.0.0.1:{port}", mode],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def get(http, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{http}{path}",
                                timeout=10) as r:
        return json.load(r)


def listed_paths(http):
    return sorted(f["path"] for f in get(http, "/v1/list")["files"])


def test_a_well_behaved_probe_registers(tracker):
    t, key, port, http, log, proc = tracker
    assert run_probe(key, port, "register") == "welcome\nopen"
    wait_for(lambda: listed_paths(http) == ["probe/file-0.txt",
                                            "probe/file-1.txt"],
             10, what="the probe's files listed")


@pytest.mark.parametrize("mode", ["oversized", "unknown-type", "dotdot",
                                  "bad-count"])
def test_bad_frames_end_the_link_and_store_nothing(tracker, mode):
    t, key, port, http, log, proc = tracker
    out = run_probe(key, port, mode)
    assert out.endswith("closed"), out
    wait_for(lambda: "protocol error" in log.read_text() or
             "malformed" in log.read_text() or "bad frame" in
             log.read_text(), 10, what="the refusal in the tracker's log")
    # Nothing of it was stored, and the tracker still serves.
    assert listed_paths(http) == []
    assert run_probe(key, port, "register").startswith("welcome")
    wait_for(lambda: len(listed_paths(http)) == 2, 10,
             what="a good node still registers")
    assert not any("escaped" in p for p in listed_paths(http))


@pytest.mark.parametrize("mode", ["garbage", "files-first"])
def test_no_hello_no_entry(tracker, mode):
    t, key, port, http, log, proc = tracker
    assert run_probe(key, port, mode).endswith("closed")
    assert get(http, "/v1/nodes")["nodes"] == []
    assert listed_paths(http) == []


def test_wrong_keys_fail_the_handshake(tracker):
    t, key, port, http, log, proc = tracker
    wrong = "cd" * 32
    assert wrong != key
    assert run_probe(wrong, port, "register") == "handshake failed"
    # The cluster key, but the peer protocol's key: a tracker is never
    # mistaken for a peer listener, nor the other way round.
    assert run_probe(key, port, "peer-key") == "handshake failed"
    assert get(http, "/v1/nodes")["nodes"] == []


def test_http_api_refuses_bad_paths_and_writes(tracker):
    t, key, port, http, log, proc = tracker
    for path, status in [("/v1/files/%2e%2e/etc/passwd", 400),
                         ("/v1/files/a%00b", 400),
                         ("/v1/nope", 404)]:
        with pytest.raises(urllib.error.HTTPError) as e:
            get(http, path)
        assert e.value.code == status, path
    req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/nodes",
                                 method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


def test_database_intact_after_bad_input(tracker):
    t, key, port, http, log, proc = tracker
    for mode in ["dotdot", "oversized", "register", "bad-count"]:
        run_probe(key, port, mode)
    wait_for(lambda: len(listed_paths(http)) == 2, 10,
             what="the good node's files")
    # WAL mode: a reader sees the committed state while the tracker runs.
    db = sqlite3.connect(f"file:{t}/.shoal/tracker.db?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    paths = [r[0] for r in db.execute("SELECT path FROM holdings")]
    assert sorted(paths) == ["probe/file-0.txt", "probe/file-1.txt"]
    db.close()


@pytest.fixture(autouse=True)
def _ensure_probe_built():
    assert PROBE.exists(), f"{PROBE} missing: run make"
