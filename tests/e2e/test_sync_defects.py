"""End-to-end tests of replication corner cases: listings on a
`replicas = N` node that holds only some of a folder's files, renames of a
folder right after a file moved into it, pulls whose holders never serve,
and a node that keeps answering while it takes in a large index.

Each test starts real nodes on 127.0.0.1 (see cluster.py) and checks what a
user would see: folders on disk, FTP and HTTP answers, `shoal ls` and
`status`.  Every wait has a deadline; nothing asserts how long something
took.
"""

import ftplib
import json
import os

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (Cluster, NET_TIMEOUT, sha256, stor,  # noqa: E402
                     wait_for, SHOAL)

pytest_plugins = ["cluster"]

MiB = 1 << 20
REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def ls_json(node, path="/"):
    r = node.cli("ls", path, "--json")
    assert r.returncode == 0, \
        f"{node.name}: shoal ls {path} exited {r.returncode}:\n" \
        f"{r.stdout}{r.stderr}"
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------
# 1. listing a folder on a replicas = N node


def test_list_folder_with_files_held_elsewhere(cluster):
    """With replicas = 1 on two nodes, each node holds only some of the
    files; listing the folder (shoal ls, GET /v1/list, FTP LIST and MLSD)
    on either node names every file, and the node keeps answering
    afterwards (status, FTP NOOP) and stops on SIGTERM."""
    n1, n2 = cluster.start(2, init_args=["--replicas", "1"],
                           args=["--repair-delay", "3"])
    files = {f"f{i}.txt": os.urandom(100 + i) for i in range(6)}
    f = n1.ftp()
    for name, data in files.items():
        assert stor(f, name, data).startswith("226")
    f.quit()
    # Both nodes know all six files, and each lacks a copy of some.
    wait_for(lambda: all(
        set(files) <= {e["path"].lstrip("/") for e in
                       x.api("/v1/all/?limit=100")["files"]}
        for x in (n1, n2)), REPLICATE, "both nodes to know every file")
    wait_for(lambda: all(any(not x.path(p).exists() for p in files)
                         for x in (n1, n2)), REPLICATE,
             "each node to hold only some copies",
             diag=lambda: {x.name: sorted(p for p in files
                                          if x.path(p).exists())
                           for x in (n1, n2)})
    for x in (n1, n2):
        doc = ls_json(x, "/")
        names = {e["name"]: e for e in doc["entries"]}
        assert set(files) <= set(names), (x.name, doc)
        for p, data in files.items():
            assert names[p]["size"] == len(data), (x.name, names[p])
            assert names[p]["hash"] == sha256(data), (x.name, names[p])
        status, body = x.http("GET", "/v1/list/")
        assert status == 200, (x.name, status, body)
        assert set(files) <= {e["name"] for e in
                              json.loads(body)["entries"]}
        g = x.ftp(timeout=NET_TIMEOUT)
        lines = []
        g.retrlines("LIST", lines.append)
        assert all(any(line.endswith(" " + p) for line in lines)
                   for p in files), (x.name, lines)
        mlsd = dict(g.mlsd("/"))
        for p, data in files.items():
            assert int(mlsd[p]["size"]) == len(data), (x.name, mlsd[p])
        assert g.voidcmd("NOOP").startswith("200")
        g.quit()
        assert x.try_status() is not None, f"{x.name} stopped answering"
