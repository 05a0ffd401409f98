"""The `shoal` command against a running node: put, get (and its cache),
ls, rm, mv, mkdir, send, lock, the interactive shell, --node with Basic
auth, and one clear line with a non-zero exit for every failure."""

import hashlib
import os
import subprocess

import pytest

from conftest import SHOAL, wait_for
from test_http_api import Api


def run(*args, cwd=None, env=None, input=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(SHOAL), *map(str, args)], cwd=cwd, env=e,
                          input=input, capture_output=True, text=True,
                          timeout=timeout)


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def failed(r):
    """A failure: non-zero exit and exactly one line on stderr."""
    assert r.returncode != 0, r.stdout
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("shoal: "), r.stderr
    return lines[0]


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}


@pytest.fixture
def n(node):
    nd = node()
    Api(nd)  # waits until the HTTP endpoint is up
    return nd


def test_put_get_ls_rm_mv_mkdir(n, tmp_path, env):
    src = tmp_path / "report.pdf"
    data = os.urandom(300_000)
    src.write_bytes(data)
    C = ("-C", n.dir)
    ok(run(*C, "mkdir", "/docs", env=env))
    out = ok(run(*C, "put", src, "/docs/report.pdf", env=env)).stdout
    assert sha(data) in out
    assert (n.dir / "docs" / "report.pdf").read_bytes() == data
    dest = tmp_path / "back.pdf"
    ok(run(*C, "get", "/docs/report.pdf", "-o", dest, env=env))
    assert dest.read_bytes() == data
    listing = ok(run(*C, "ls", "/docs", env=env)).stdout
    assert "report.pdf" in listing and "300000" in listing
    ok(run(*C, "mv", "/docs/report.pdf", "/docs/final.pdf", env=env))
    assert (n.dir / "docs" / "final.pdf").read_bytes() == data
    assert not (n.dir / "docs" / "report.pdf").exists()
    ok(run(*C, "rm", "/docs/final.pdf", env=env))
    assert not (n.dir / "docs" / "final.pdf").exists()


def test_json_output(n, tmp_path, env):
    src = tmp_path / "a.txt"
    src.write_bytes(b"abc")
    import json
    ok(run("-C", n.dir, "put", src, "/a.txt", env=env))
    listing = json.loads(ok(run("-C", n.dir, "ls", "/", "--json",
                                env=env)).stdout)
    names = {e["name"]: e for e in listing["entries"]}
    assert names["a.txt"]["hash"] == sha(b"abc")
    status = json.loads(ok(run("-C", n.dir, "--json", "status",
                               env=env)).stdout)
    assert status["files"] == 1


def test_get_uses_the_cache(n, tmp_path, env):
    data = os.urandom(200_000)
    (n.dir / "big.bin").write_bytes(data)
    C = ("-C", n.dir)
    wait_for(lambda: run(*C, "ls", "/", env=env).stdout.count("big.bin"),
             10, what="big.bin to be indexed")
    first = ok(run(*C, "get", "/big.bin", "-o", tmp_path / "1", env=env))
    assert "from cache" not in first.stdout
    second = ok(run(*C, "get", "/big.bin", "-o", tmp_path / "2", env=env))
    assert "from cache, unchanged" in second.stdout
    assert (tmp_path / "2").read_bytes() == data
    cached = list((tmp_path / "cache" / "shoal").glob("*.data"))
    assert len(cached) == 1
    # A changed file is downloaded again.
    new = os.urandom(1000)
    ok(run(*C, "put", tmp_path / "1", "/big.bin", env=env))
    (tmp_path / "n").write_bytes(new)
    ok(run(*C, "put", tmp_path / "n", "/big.bin", env=env))
    third = ok(run(*C, "get", "/big.bin", "-o", tmp_path / "3", env=env))
    assert "from cache" not in third.stdout
    assert (tmp_path / "3").read_bytes() == new


def test_cache_has_a_size_limit(n, tmp_path, env):
    C = ("-C", n.dir)
    e = dict(env, SHOAL_CACHE_MAX=str(250_000))
    for i in range(3):
        (n.dir / f"f{i}.bin").write_bytes(os.urandom(100_000))
    wait_for(lambda: run(*C, "ls", "/", env=e).stdout.count(".bin") == 3,
             10, what="the files to be indexed")
    for i in range(3):
        ok(run(*C, "get", f"/f{i}.bin", "-o", tmp_path / f"o{i}", env=e))
    cached = list((tmp_path / "cache" / "shoal").glob("*.data"))
    total = sum(p.stat().st_size for p in cached)
    assert total <= 250_000 and len(cached) == 2


def test_failures_are_one_clear_line(n, tmp_path, env):
    C = ("-C", n.dir)
    assert "No such file" in failed(run(*C, "get", "/nope", env=env))
    assert "No such file" in failed(run(*C, "rm", "/nope", env=env))
    assert "tracker" in failed(run(*C, "lock", "/x", env=env))
    failed(run(*C, "put", tmp_path / "missing-local", "/x", env=env))
    assert "not inside a node folder" in failed(run("ls", cwd=tmp_path,
                                                    env=env))


def test_finds_the_node_from_a_subfolder(n, env):
    sub = n.dir / "deep" / "er"
    sub.mkdir(parents=True)
    out = ok(run("status", cwd=sub, env=env)).stdout
    assert str(n.dir.name) in out or "node" in out


def test_node_url_with_basic_auth(n, tmp_path, env):
    api = Api(n)
    url = f"http://{api.addr}"
    (n.dir / "x.txt").write_bytes(b"x")
    e = dict(env, SHOAL_PASSWORD="guest")
    wait_for(lambda: "x.txt" in run("--node", url, "--user", "guest", "ls",
                                    "/", env=e).stdout, 10,
             what="x.txt listed over --node")
    bad = dict(env, SHOAL_PASSWORD="wrong")
    assert "wrong user or password" in failed(
        run("--node", url, "--user", "guest", "ls", "/", env=bad))


def test_send_offers_to_members(n, tmp_path, env):
    (n.dir / "s.txt").write_bytes(b"s")
    wait_for(lambda: "s.txt" in run("-C", n.dir, "ls", "/", env=env).stdout,
             10, what="s.txt indexed")
    out = ok(run("-C", n.dir, "send", "/s.txt", env=env)).stdout
    assert "offered /s.txt to 0 member(s)" in out


def test_shell(n, tmp_path, env):
    (n.dir / "seen.txt").write_bytes(b"seen")
    (n.dir / "later.txt").write_bytes(b"later")
    wait_for(lambda: "later.txt" in run("-C", n.dir, "ls", "/",
                                        env=env).stdout, 10,
             what="the files indexed")
    script = "\n".join(["CMDS", "nonsense here", "LIST", "GET seen.txt",
                        "\"unterminated", "ls /", "quit",
                        "GET later.txt"]) + "\n"
    r = run("-C", n.dir, "shell", cwd=tmp_path, env=env, input=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Invalid command!") == 2
    assert "LIST" in r.stdout and "seen.txt" in r.stdout
    assert (tmp_path / "seen.txt").read_bytes() == b"seen"
    # "quit" ended the shell: the GET after it never ran.
    assert not (tmp_path / "later.txt").exists()
