"""The `shoal` command as a new user meets it: --help on every command does
nothing but print the usage, usage errors exit 2 with the usage line, put
into a folder, trees both ways, standard input and output, mkdir -p, ls of
one file, no death by SIGPIPE, --json everywhere (errors too), the shell
with names holding blanks, SHOAL_CACHE_MAX=0, and what init --join
promises."""

import json
import os
import pty
import select
import subprocess
import unicodedata

import pytest

from conftest import SHOAL, run_shoal, wait_for
from test_http_api import Api


def run(*args, cwd=None, env=None, input=None, timeout=120, text=True):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(SHOAL), *map(str, args)], cwd=cwd, env=e,
                          input=input, capture_output=True, text=text,
                          timeout=timeout)


def ok(r):
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r


@pytest.fixture
def env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}


@pytest.fixture
def n(node):
    nd = node()
    Api(nd)  # waits until the HTTP endpoint is up
    return nd


COMMANDS = ["bye", "mkdir", "rm", "pin", "unpin", "put", "get", "ls", "mv",
            "send", "lock", "unlock", "pins", "peers", "status", "add"]


def test_help_on_every_command_only_prints_usage(n, tmp_path, env):
    C = ("-C", n.dir)
    (n.dir / "keep.txt").write_bytes(b"keep")
    wait_for(lambda: "keep.txt" in run(*C, "ls", "/", env=env).stdout, 10,
             what="keep.txt indexed")
    for cmd in COMMANDS:
        for flag in ("--help", "-h"):
            r = run(*C, cmd, flag, env=env)
            assert r.returncode == 0, (cmd, r.stdout, r.stderr)
            assert r.stdout.startswith(f"usage: shoal {cmd}"), (cmd, r.stdout)
            assert r.stderr == "", (cmd, r.stderr)
        # --help after an argument, too: nothing happens to the argument
        r = run(*C, cmd, "/keep.txt", "--help", env=env)
        assert r.returncode == 0 and r.stdout.startswith("usage:"), cmd
    # Help needs no node at all.
    r = run("rm", "--help", cwd=tmp_path, env=env)
    assert r.returncode == 0 and r.stdout.startswith("usage: shoal rm")
    # Nothing was made, removed, pinned, and the node did not leave.
    assert not (n.dir / "--help").exists()
    assert not (n.dir / "-h").exists()
    assert (n.dir / "keep.txt").read_bytes() == b"keep"
    assert n.running()
    assert json.loads(ok(run(*C, "--json", "pins", env=env)).stdout)[
        "pins"] == []
    status = json.loads(ok(run(*C, "--json", "status", env=env)).stdout)
    assert status["files"] == 1


def test_usage_errors_exit_2_with_the_usage_line(n, env):
    C = ("-C", n.dir)
    (n.dir / "a.txt").write_bytes(b"a")
    wait_for(lambda: "a.txt" in run(*C, "ls", "/", env=env).stdout, 10,
             what="a.txt indexed")
    r = run(*C, "rm", "--bogus", "/a.txt", env=env)
    assert r.returncode == 2
    assert "unknown option '--bogus'" in r.stderr
    assert "usage: shoal rm PATH" in r.stderr
    r = run(*C, "rm", "/a.txt", "/b.txt", env=env)
    assert r.returncode == 2
    assert "unexpected argument '/b.txt'" in r.stderr
    assert "usage: shoal rm PATH" in r.stderr
    r = run(*C, "mkdir", env=env)
    assert r.returncode == 2 and "usage: shoal mkdir" in r.stderr
    r = run(*C, "bye", "now", env=env)
    assert r.returncode == 2 and "usage: shoal bye" in r.stderr
    r = run(*C, "--json", "get", "/a.txt", "-x", env=env)
    assert r.returncode == 2
    err = json.loads(r.stderr)
    assert "-x" in err["error"] and err["usage"].startswith("shoal get")
    # None of it ran.
    assert (n.dir / "a.txt").read_bytes() == b"a"
    assert n.running()


def test_put_into_a_folder_keeps_the_name(n, tmp_path, env):
    C = ("-C", n.dir)
    src = tmp_path / "report.txt"
    src.write_bytes(b"report")
    ok(run(*C, "mkdir", "/docs", env=env))
    out = ok(run(*C, "put", src, "/docs/", env=env)).stdout
    assert "/docs/report.txt" in out
    assert (n.dir / "docs" / "report.txt").read_bytes() == b"report"


def make_tree(root):
    files = {
        "a.txt": b"alpha",
        "sub/b.bin": os.urandom(70_000),
        "sub/deeper/c.txt": b"gamma",
        "with space/d é.txt": b"delta",
        "empty/.keep": b"",
        "zz-empty.txt": b"",  # the last file moves no bytes
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def run_on_pty(args, env):
    """Runs shoal with stderr on a terminal; returns (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.update(env)
    p = subprocess.Popen([str(SHOAL), *map(str, args)], env=e,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    err = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO once the child closed its end
            break
        if not chunk:
            break
        err += chunk
    out = p.stdout.read()
    rc = p.wait(60)
    os.close(master)
    return rc, out.decode(), err.decode(errors="replace")


def progress_lines(err):
    """The finished progress lines (ended by a newline), each at 100%."""
    done = err.replace("\r\n", "\n").split("\n")[:-1]
    lines = [l for l in done if "%" in l and "MiB" in l]
    for l in lines:
        assert "100%" in l.split("\r")[-1], l
    return lines


def test_put_and_get_trees_with_one_progress_line(n, tmp_path, env):
    C = ("-C", n.dir)
    local = tmp_path / "tree"
    files = make_tree(local)
    rc, out, err = run_on_pty([*C, "put", "-r", local, "/dest"], env)
    assert rc == 0, (out, err)
    assert len(progress_lines(err)) == 1, err
    for rel, data in files.items():
        assert (n.dir / "dest" / rel).read_bytes() == data, rel
    back = tmp_path / "back"
    rc, out, err = run_on_pty([*C, "get", "-r", "/dest", back], env)
    assert rc == 0, (out, err)
    assert len(progress_lines(err)) == 1, err
    for rel, data in files.items():
        assert (back / rel).read_bytes() == data, rel
    # Again with one file changed: the rest come from the cache, and the
    # one line still ends, at 100%.
    (tmp_path / "new-a").write_bytes(b"alpha, again")
    ok(run(*C, "put", tmp_path / "new-a", "/dest/a.txt", env=env))
    rc, out, err = run_on_pty([*C, "get", "-r", "/dest", back], env)
    assert rc == 0, (out, err)
    assert len(progress_lines(err)) == 1, err
    assert (back / "a.txt").read_bytes() == b"alpha, again"
    # "DEST/" puts the tree inside DEST under its own name.
    ok(run(*C, "put", "-r", local, "/dest/", env=env))
    assert (n.dir / "dest" / "tree" / "sub" / "b.bin").read_bytes() == \
        files["sub/b.bin"]


def test_put_from_stdin_and_get_to_stdout(n, tmp_path, env):
    C = ("-C", n.dir)
    data = os.urandom(300_000)
    r = run(*C, "put", "-", "/piped.bin", env=env, input=data, text=False)
    assert r.returncode == 0, r.stderr
    assert (n.dir / "piped.bin").read_bytes() == data
    r = run(*C, "get", "/piped.bin", "-o", "-", env=env, text=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    assert b"/piped.bin" in r.stderr
    # Again, from the cache, still only the bytes on stdout.
    r = run(*C, "get", "/piped.bin", "-o", "-", env=env, text=False)
    assert r.returncode == 0 and r.stdout == data
    assert b"from cache" in r.stderr


def test_mkdir_parents(n, env):
    C = ("-C", n.dir)
    ok(run(*C, "mkdir", "-p", "/x/y/z", env=env))
    assert (n.dir / "x" / "y" / "z").is_dir()
    ok(run(*C, "mkdir", "-p", "/x/y/z", env=env))
    ok(run(*C, "mkdir", "--parents", "/x/y", env=env))
    assert run(*C, "mkdir", "/x/y", env=env).returncode == 1
    (n.dir / "x" / "f").write_bytes(b"f")
    wait_for(lambda: " f" in run(*C, "ls", "/x", env=env).stdout, 10,
             what="x/f indexed")
    r = run(*C, "mkdir", "-p", "/x/f", env=env)
    assert r.returncode == 1 and "/x/f" in r.stderr


def test_ls_of_a_file_and_its_holders(n, tmp_path, env):
    C = ("-C", n.dir)
    src = tmp_path / "one.txt"
    src.write_bytes(b"12345")
    ok(run(*C, "mkdir", "/d", env=env))
    ok(run(*C, "put", src, "/d/one.txt", env=env))
    out = ok(run(*C, "ls", "/d/one.txt", env=env)).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "one.txt" in lines[0] and " 5 " in lines[0]
    j = json.loads(ok(run(*C, "--json", "ls", "/d/one.txt", env=env)).stdout)
    assert [e["name"] for e in j["entries"]] == ["one.txt"]
    node_id = (n.dir / ".shoal" / "node_id").read_text().strip()
    out = wait_for(lambda: "one.txt" in (o := run(*C, "ls", "--all",
                                                  "/d/one.txt",
                                                  env=env).stdout) and o,
                   10, what="ls --all to show the file")
    row = [l for l in out.splitlines() if "one.txt" in l][0]
    assert row.startswith("/d/one.txt") and node_id[:8] in row
    j = json.loads(ok(run(*C, "--json", "ls", "--all", "/d/one.txt",
                          env=env)).stdout)
    assert j["files"][0]["path"] == "/d/one.txt"
    assert j["files"][0]["holders"] == [node_id]


def test_large_put_to_a_bad_destination_says_why(n, tmp_path, env):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    # A missing folder is made (test_http_put.py); a file where the
    # folder would be is a bad destination.
    (n.dir / "plain.txt").write_bytes(b"a file\n")
    r = run("-C", n.dir, "put", big, "/plain.txt/folder/big.bin", env=env)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Not a directory" in r.stderr, r.stderr
    assert "/plain.txt/folder/big.bin" in r.stderr


def test_json_everywhere(n, tmp_path, env):
    C = ("-C", n.dir)
    # Errors: one JSON object on stderr, nothing on stdout.
    r = run(*C, "--json", "get", "/nope", env=env)
    assert r.returncode == 1 and r.stdout == ""
    err = json.loads(r.stderr)
    assert "No such file" in err["error"] and err["path"] == "/nope"
    r = run("ls", "--json", cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert "not inside a node folder" in json.loads(r.stderr)["error"]
    # rm says what it removed; paths are absolute.
    src = tmp_path / "r.txt"
    src.write_bytes(b"r")
    ok(run(*C, "put", src, "r.txt", env=env))
    j = json.loads(ok(run(*C, "rm", "--json", "r.txt", env=env)).stdout)
    assert j == {"removed": "/r.txt"}
    ok(run(*C, "put", src, "/s.txt", env=env))
    j = json.loads(ok(run(*C, "--json", "mv", "/s.txt", "t.txt",
                          env=env)).stdout)
    assert j["moved"] == "/t.txt"
    j = json.loads(ok(run(*C, "--json", "mkdir", "m", env=env)).stdout)
    assert j["created"] == "/m"
    # Floats short.
    raw = ok(run(*C, "--json", "status", env=env)).stdout
    assert "0.69999" not in raw and '"threshold":0.7' in raw.replace(" ", "")
    assert json.loads(raw)["consistency"]["threshold"] == 0.7
    # Messages name absolute paths even when given without the slash.
    out = ok(run(*C, "put", src, "u.txt", env=env)).stdout
    assert "stored /u.txt" in out


def cols(s):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)


def test_shell_names_with_blanks_sorted_and_aligned(n, tmp_path, env):
    C = ("-C", n.dir)
    for name in ("zeta.txt", "my file.txt", "é-accent.txt", "日本語.txt",
                 "alpha.txt"):
        (n.dir / name).write_bytes(b"x" * 7)
    wait_for(lambda: run(*C, "ls", "/", env=env).stdout.count(".txt") == 5,
             10, what="the files indexed")
    script = "\n".join([
        'GET "my file.txt"',
        "get my\\ file.txt -o copy2.txt",
        "LIST",
        "frobnicate now",
        "quit",
    ]) + "\n"
    r = run(*C, "shell", cwd=tmp_path, env=env, input=script)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "my file.txt").read_bytes() == b"x" * 7
    assert (tmp_path / "copy2.txt").read_bytes() == b"x" * 7
    rows = [l for l in r.stdout.splitlines() if "holder(s)" in l]
    paths = [l.split("  ")[0].rstrip() for l in rows]
    assert len(rows) == 5, r.stdout
    assert paths == sorted(paths), paths
    # The size column starts at the same terminal column on every row.
    starts = set()
    for l in rows:
        name_end = l.index(".txt") + 4
        rest = l[name_end:]
        starts.add(cols(l[:name_end]) + len(rest) - len(rest.lstrip()))
    assert len(starts) == 1, rows
    bad = [l for l in r.stdout.splitlines() if "Invalid command!" in l]
    assert len(bad) == 1 and "'frobnicate'" in bad[0] and "CMDS" in bad[0]


def test_cache_max_zero_turns_the_cache_off(n, tmp_path, env):
    C = ("-C", n.dir)
    (n.dir / "c.bin").write_bytes(b"c" * 5000)
    wait_for(lambda: "c.bin" in run(*C, "ls", "/", env=env).stdout, 10,
             what="c.bin indexed")
    e = dict(env, SHOAL_CACHE_MAX="0")
    for i in range(2):
        r = ok(run(*C, "get", "/c.bin", "-o", tmp_path / f"o{i}", env=e))
        assert "from cache" not in r.stdout
        assert (tmp_path / f"o{i}").read_bytes() == b"c" * 5000
    cache = tmp_path / "cache" / "shoal"
    assert not cache.exists() or not list(cache.iterdir())
    assert not list(tmp_path.glob("o*.shoal-part"))


def test_init_join_promises_only_what_it_did(tmp_path):
    first = run_shoal("init", tmp_path / "a", check=True)
    key = (tmp_path / "a" / ".shoal" / "cluster_key").read_text().strip()
    r = run_shoal("init", tmp_path / "b", "--join", key, check=True)
    assert "joined" not in r.stdout
    assert "will join" in r.stdout and "when it starts" in r.stdout
    assert "cluster key" in first.stdout


def test_help_on_the_folder_commands(tmp_path):
    d = tmp_path / "n"
    run_shoal("init", d, check=True)
    for args in (["init", "--help"], ["init", tmp_path / "new", "-h"],
                 ["node", d, "--help"], ["tracker", d, "--help"],
                 ["-C", d, "user", "add", "--help"]):
        r = run(*args, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert r.stdout.startswith("usage: shoal "), (args, r.stdout)
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "--help").exists()
    users = run("-C", d, "user", "list").stdout.split()
    assert users == ["guest"]
