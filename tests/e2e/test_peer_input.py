"""Bad input on the peer protocol: a peer without the cluster key, and an
authenticated peer sending oversized, unknown or path-escaping frames.
Each is refused and logged, nothing is written outside the folder, and the
node keeps serving."""

import ftplib
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, free_port, probe, wait_for

PROBE = ROOT / "build" / "tests" / "unit" / "wire_probe"


def start(node, directory):
    peer = free_port()
    proc, port, log = node.spawn(directory, args=("--peer",
                                                  f"127.0.0.1:{peer}"))
    wait_for(lambda: probe("127.0.0.1", port), 15, what="FTP listening")
    wait_for(lambda: probe("127.0.0.1", peer), 15, what="peer listening")
    return proc, port, peer, log


def run_probe(key, peer, mode):
    out = subprocess.run([str(PROBE), key, f"127.0.0.1:{peer}", mode],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def nets(port):
    f = ftplib.FTP()
    f.connect("127.0.0.1", port, timeout=10)
    f.login("guest", "guest")
    reply = f.sendcmd("NETS")
    f.quit()
    return reply


@pytest.fixture
def lone(node, tmp_path):
    directory = node.new_dir("lone")
    proc, port, peer, log = start(node, directory)
    key = (directory / ".shoal" / "cluster_key").read_text().strip()
    yield directory, proc, port, peer, log, key
    assert proc.poll() is None, log.read_text()[-2000:]
    proc.terminate()
    assert proc.wait(15) == 0


def test_wrong_key_is_refused_before_any_message(lone):
    directory, proc, port, peer, log, key = lone
    wrong = "ab" * 32
    assert wrong != key
    assert run_probe(wrong, peer, "hello") == "handshake failed"
    wait_for(lambda: "refused" in log.read_text(), 10,
             what="the refusal in the node's log")
    # It never became a member.
    assert nets(port) == "201 Network size is 1."


@pytest.mark.parametrize("mode", ["oversized", "unknown-type", "garbage"])
def test_bad_frames_end_the_link(lone, mode):
    directory, proc, port, peer, log, key = lone
    assert run_probe(key, peer, mode) == "closed"
    text = log.read_text()
    assert ("bad frame" in text or "before HELLO" in text), text[-2000:]
    assert nets(port).startswith("201 ")
    assert proc.poll() is None


def test_path_outside_the_folder_is_refused(lone, tmp_path):
    directory, proc, port, peer, log, key = lone
    assert run_probe(key, peer, "dotdot") == "open"
    wait_for(lambda: "a path outside the folder" in log.read_text(), 10,
             what="the refusal in the node's log")
    assert not (directory.parent / "escaped.txt").exists()
    assert not Path("/escaped.txt").exists()
    assert nets(port).startswith("201 ")


def test_version_requests_stay_inside_the_folder(lone):
    """VERS_REQ (docs/PROTOCOL.md) for paths that leave the folder or name
    .shoal are answered EINVAL, one for a version nobody keeps ENOENT;
    nothing is read and the link stays up."""
    directory, proc, port, peer, log, key = lone
    assert run_probe(key, peer, "vers") == "vers 22 22 22 22 2"
    assert proc.poll() is None
