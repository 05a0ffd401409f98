"""`shoal s3 key`: the S3 access keys of a node's accounts, kept in
DIR/.shoal/s3_keys with mode 0600.  Keys are added for existing accounts
only, listed without their secrets, deleted by access key, and the same
with --json."""

import json
import re
import stat

from conftest import run_shoal, shoal_init

AK = re.compile(r"^AK[A-Z2-7]{18}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{40}$")


def node_dir(tmp_path, *accounts):
    d = tmp_path / "n1"
    shoal_init(d)
    for a in accounts:
        run_shoal("-C", d, "user", "add", a, "--password", a + "-pw",
                  check=True)
    return d


def keys_file(d):
    return d / ".shoal" / "s3_keys"


def add_key(d, account):
    r = run_shoal("-C", d, "s3", "key", "add", account)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"access key: (\S+)\nsecret key: (\S+)\n", r.stdout)
    assert m, r.stdout
    assert AK.match(m.group(1)), m.group(1)
    assert SECRET.match(m.group(2)), m.group(2)
    return m.group(1), m.group(2)


def listed(d):
    r = run_shoal("-C", d, "s3", "key", "list")
    assert r.returncode == 0, r.stderr
    return [tuple(line.split()) for line in r.stdout.splitlines()]


def test_add_list_del(tmp_path):
    d = node_dir(tmp_path, "alice", "bob")
    assert listed(d) == []
    ak1, sk1 = add_key(d, "alice")
    ak2, sk2 = add_key(d, "bob")
    assert ak1 != ak2 and sk1 != sk2
    mode = stat.S_IMODE(keys_file(d).stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert sorted(listed(d)) == sorted([(ak1, "alice"), (ak2, "bob")])
    r = run_shoal("-C", d, "s3", "key", "list")
    assert sk1 not in r.stdout and sk2 not in r.stdout
    r = run_shoal("-C", d, "s3", "key", "del", ak1)
    assert r.returncode == 0, r.stderr
    assert listed(d) == [(ak2, "bob")]
    assert sk1 not in keys_file(d).read_text()
    assert stat.S_IMODE(keys_file(d).stat().st_mode) == 0o600
    r = run_shoal("-C", d, "s3", "key", "del", ak1)
    assert r.returncode == 1
    assert f"no access key '{ak1}'" in r.stderr


def test_unknown_account_is_refused(tmp_path):
    d = node_dir(tmp_path, "alice")
    r = run_shoal("-C", d, "s3", "key", "add", "mallory")
    assert r.returncode == 1
    assert "no account 'mallory'" in r.stderr
    assert "shoal user add mallory" in r.stderr
    assert r.stdout == ""
    assert listed(d) == []
    # An account deleted is refused too.
    run_shoal("-C", d, "user", "del", "alice", check=True)
    r = run_shoal("-C", d, "s3", "key", "add", "alice")
    assert r.returncode == 1 and "no account 'alice'" in r.stderr


def test_json(tmp_path):
    d = node_dir(tmp_path, "alice")
    r = run_shoal("--json", "-C", d, "s3", "key", "add", "alice")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert set(j) == {"access_key", "secret_key", "account"}
    assert AK.match(j["access_key"]) and SECRET.match(j["secret_key"])
    assert j["account"] == "alice"
    # --json after the command works as well
    r = run_shoal("-C", d, "s3", "key", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"access_key": j["access_key"],
                                     "account": "alice"}]
    assert j["secret_key"] not in r.stdout
    r = run_shoal("--json", "-C", d, "s3", "key", "add", "nobody")
    assert r.returncode == 1
    assert "no account 'nobody'" in json.loads(r.stderr)["error"]
    r = run_shoal("--json", "-C", d, "s3", "key", "del", j["access_key"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"access_key": j["access_key"],
                                    "deleted": True}
    assert listed(d) == []


def test_usage(tmp_path):
    d = node_dir(tmp_path)
    r = run_shoal("-C", d, "s3", "key", "add", "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: shoal s3 key add ACCOUNT")
    assert not keys_file(d).exists()
    for args in (["s3"], ["s3", "key"], ["s3", "key", "frob"],
                 ["s3", "key", "add"], ["s3", "key", "add", "a", "b"],
                 ["s3", "key", "list", "--bogus"]):
        r = run_shoal("-C", d, *args)
        assert r.returncode == 2, args
        assert "usage: shoal s3 key" in r.stderr, args
    r = run_shoal("-C", tmp_path / "nowhere", "s3", "key", "list")
    assert r.returncode == 1 and "is not a node" in r.stderr
