"""End-to-end tests of the write quorum on HTTP (`--sync-writes K`).

HTTP `PUT /v1/files/PATH` and `shoal put` answer only once K other nodes
hold the upload, as FTP's 226 does; when fewer do within
sync.write_timeout_ms the answer is 504 with a JSON error naming how many
confirmed.  Real nodes on 127.0.0.1, real clients (urllib, the shoal
command); each wait has a deadline, nothing asserts how long anything took
beyond a generous bound for the error case.
"""

import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import Cluster, file_sha256, sha256  # noqa: E402

pytest_plugins = ["cluster"]

MiB = 1 << 20
QUORUM = ["--sync-writes", "2"]


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def put(node, path, data, timeout=60):
    tok = (node.dir / ".shoal" / "api_token").read_text().strip()
    req = urllib.request.Request(
        f"http://{node.http_addr}/v1/files/{path}", data=data,
        method="PUT", headers={"Authorization": f"Bearer {tok}",
                               "Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def on_disk(node, name):
    try:
        return file_sha256(node.dir / name)
    except FileNotFoundError:
        return None


def test_http_put_and_shoal_put_wait_for_the_quorum(cluster, tmp_path):
    n1, n2, n3 = cluster.start(3, node_args={0: QUORUM})
    for i, size in enumerate([100, 300000, 4 * MiB + 7]):
        data = os.urandom(size)
        name = f"q{i}.bin"
        code, body = put(n1, name, data)
        assert code == 201, (code, body[:300])
        # no waiting: the answer came after both others held it
        for x in (n2, n3):
            assert on_disk(x, name) == sha256(data), \
                f"201 came before {x.name} held {name}"

    local = tmp_path / "local.bin"
    data = os.urandom(3 * MiB)
    local.write_bytes(data)
    p = n1.cli("put", str(local), "/cli.bin")
    assert p.returncode == 0, (p.stdout, p.stderr)
    for x in (n2, n3):
        assert on_disk(x, "cli.bin") == sha256(data), \
            f"`shoal put` returned before {x.name} held the file"


def test_http_put_without_a_quorum_answers_504(cluster, tmp_path):
    n1, n2, n3 = cluster.start(
        3, node_args={0: QUORUM},
        node_options={0: ["sync.write_timeout_ms=2000"]})
    stopped = []
    try:
        for x in (n2, n3):
            os.kill(x.pid, signal.SIGSTOP)
            stopped.append(x)
        data = os.urandom(200000)
        t0 = time.monotonic()
        code, body = put(n1, "alone.bin", data)
        elapsed = time.monotonic() - t0
        assert code == 504, (code, body[:300])
        err = json.loads(body)
        assert err["copies_confirmed"] == 0, err
        assert err["copies_wanted"] == 2, err
        assert "confirmed a copy" in err["error"], err
        assert err["sha256"] == sha256(data), err
        assert elapsed < 30, elapsed
        # stored here all the same
        assert on_disk(n1, "alone.bin") == sha256(data)

        local = tmp_path / "local.bin"
        local.write_bytes(os.urandom(100000))
        p = n1.cli("put", str(local), "/alone-cli.bin")
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert "confirmed a copy" in p.stderr, p.stderr
    finally:
        for x in stopped:
            os.kill(x.pid, signal.SIGCONT)
