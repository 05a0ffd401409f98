"""End-to-end checks of versions, trash and point-in-time restore
(docs/VERSIONS.md): real nodes on 127.0.0.1 (cluster.py), real clients
(the `shoal` command, HTTP, FTP, S3 listings), every wait with a deadline.

The scenarios of the issue: overwrites on one node listed and restored on
another; `rm -r` in one node's folder, restored from another node's
trash; a "ransomware" run in one node's folder undone with `restore
--before` on another; pruning by count, by age and under disk pressure;
versions across restarts and a node that was down; bad input.
"""

import json
import os
import time
import urllib.request

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (NET_TIMEOUT, Cluster, file_sha256, sha256,  # noqa: E402
                     wait_for)

pytest_plugins = ["cluster"]

REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def put(node, path, data):
    tok = (node.dir / ".shoal" / "api_token").read_text().strip()
    req = urllib.request.Request(f"http://{node.http_addr}/v1/files/{path}",
                                 data=data, method="PUT",
                                 headers={"Authorization": f"Bearer {tok}"})
    with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
        assert r.status in (200, 201)


def content_is(node, rel, data):
    p = node.path(rel)
    try:
        return p.read_bytes() == data
    except OSError:
        return False


def gone(node, rel):
    return not node.path(rel).exists()


def cli_json(node, *args):
    proc = node.cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_overwrite_list_and_restore_on_another_node(cluster):
    n1, n2 = cluster.start(2)
    contents = [b"first\n", b"second\n", b"third\n", b"fourth\n"]
    for data in contents:
        put(n1, "docs/report.txt", data)
        wait_for(lambda: content_is(n2, "docs/report.txt", data), REPLICATE,
                 what="the new version on n2")
    vs = wait_for(lambda: len(n2.api("/v1/versions/docs/report.txt")
                              ["versions"]) == 3 and
                  n2.api("/v1/versions/docs/report.txt")["versions"],
                  REPLICATE, what="three old versions on n2")
    assert [v["sha256"] for v in vs] == [sha256(d) for d in contents[2::-1]]
    assert all(v["writer"] == n1.id for v in vs)
    first = vs[-1]["id"]
    st, body = n2.http("POST", "/v1/restore/docs/report.txt",
                       body={"version": first})
    assert st == 200, body
    for n in (n1, n2):
        wait_for(lambda: content_is(n, "docs/report.txt", contents[0]),
                 REPLICATE, what=f"the restored content on {n.name}")
