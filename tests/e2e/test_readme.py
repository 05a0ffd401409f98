"""README.md's "Running a cluster" block, run line by line as written: a
user who types it gets three linked nodes, a file put on one is served by
the others, and `bye` stops the third.  The only change is the cluster key,
which `init n1` prints and the block shows as KEY."""

import hashlib
import json
import re
import shlex
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, SHOAL, wait_for

BLOCK_TIMEOUT = 60


def cluster_block():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running a cluster\n", 1)[1]
    block = section.split("```\n", 2)[1]
    # A line ending in a backslash goes on on the next, as in a shell.
    block = re.sub(r"\\\n\s*", "", block)
    lines = []
    for line in block.splitlines():
        # A comment starts at a "#" after two spaces.
        cmd = re.split(r"\s{2,}#", line, maxsplit=1)[0].strip()
        if cmd:
            lines.append(cmd)
    return lines


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def alive_members(cwd, name):
    out = subprocess.run([str(SHOAL), "--json", "-C", name, "peers"],
                         cwd=cwd, capture_output=True, text=True,
                         timeout=BLOCK_TIMEOUT)
    if out.returncode != 0:
        return 0
    return sum(1 for p in json.loads(out.stdout)
               if p.get("state") == "alive")


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_running_a_cluster_block_works_as_written(tmp_path):
    lines = cluster_block()
    assert lines[0].startswith("build/shoal init n1"), lines
    # The block runs where a user has the checkout: build/ and README.md.
    (tmp_path / "build").symlink_to(SHOAL.parent)
    (tmp_path / "README.md").write_bytes((ROOT / "README.md").read_bytes())
    readme = digest(tmp_path / "README.md")
    nodes, key = {}, None
    try:
        for line in lines:
            if key is not None:
                line = line.replace("KEY", key)
            if line.endswith("&"):
                cmd = line[:-1].strip()
                name = shlex.split(cmd)[2]
                log = open(tmp_path / f"{name}.log", "wb")
                nodes[name] = (subprocess.Popen(
                    ["bash", "-c", "exec " + cmd], cwd=tmp_path,
                    stdout=log, stderr=subprocess.STDOUT),
                    int(re.search(r"--http 127\.0\.0\.1:(\d+)",
                                  cmd).group(1)))
                continue
            # A user types the next line once the nodes are up.
            for name, (proc, http) in nodes.items():
                wait_for(lambda: answers(http) or proc.poll() is not None,
                         timeout=15, what=f"{name} to answer")
                assert proc.poll() is None, \
                    (tmp_path / f"{name}.log").read_text()
            if line.startswith("build/shoal -C n1 peers"):
                # Links and gossip take a moment after the add.
                wait_for(lambda: alive_members(tmp_path, "n1") == 2,
                         timeout=30, what="n1 to link to n2 and n3")
            out = subprocess.run(["bash", "-c", line], cwd=tmp_path,
                                 capture_output=True, text=True,
                                 timeout=BLOCK_TIMEOUT)
            assert out.returncode == 0, (line, out.stdout, out.stderr)
            if line.startswith("build/shoal init n1"):
                key = re.search(r"cluster key: ([0-9a-f]{64})",
                                out.stdout).group(1)
            if " put " in line:
                # Replication takes a moment: the get and the FTP
                # download below come once the copies are there.
                for n in ("n2", "n3"):
                    copy = tmp_path / n / "docs" / "readme.md"
                    wait_for(lambda: copy.exists() and
                             digest(copy) == readme, timeout=30,
                             what=f"the file on {n}")
            if line.startswith("build/shoal -C n1 peers"):
                assert out.stdout.count(" alive ") == 2, out.stdout
        assert digest(tmp_path / "readme-from-n3.md") == readme
        assert digest(tmp_path / "readme-from-n2.md") == readme
        # bye stopped n3, cleanly.
        assert nodes["n3"][0].wait(timeout=15) == 0
    finally:
        for name, (proc, _) in nodes.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, (proc, _) in nodes.items():
            try:
                rc = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail(f"{name} did not stop on SIGTERM")
    for name in ("n1", "n2"):
        assert nodes[name][0].returncode == 0
