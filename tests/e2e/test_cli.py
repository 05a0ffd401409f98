"""The shoal command line: init, user management (seen by a running node at
the next login), configuration errors, and signals."""

import ftplib
import re
import signal

import pytest

from conftest import Control, run_shoal, wait_for


def one_line_error(proc):
    assert proc.returncode != 0
    out = (proc.stdout + proc.stderr).strip()
    assert out, "no error message"
    assert len(out.splitlines()) == 1, f"expected one line, got:\n{out}"
    return out


def user_list(d):
    r = run_shoal("-C", d, "user", "list")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_init_creates_node(tmp_path):
    d = tmp_path / "store"
    r = run_shoal("init", d)
    assert r.returncode == 0, r.stderr
    m = re.search(r"initialised (.+) as node (\S+)", r.stdout)
    assert m, r.stdout
    assert (d / ".shoal" / "node_id").read_text().strip() == m.group(2)
    for rel in ("shoal.conf", "users", "tls/cert.pem", "tls/key.pem",
                "index.db"):
        assert (d / ".shoal" / rel).is_file(), rel
    assert (d / ".shoal" / "tmp").is_dir()
    assert "BEGIN CERTIFICATE" in (d / ".shoal/tls/cert.pem").read_text()
    assert user_list(d) == ["guest"]


def test_init_refuses_existing_node(tmp_path):
    d = tmp_path / "store"
    assert run_shoal("init", d).returncode == 0
    node_id = (d / ".shoal" / "node_id").read_text()
    r = run_shoal("init", d)
    assert r.returncode != 0
    assert (r.stdout + r.stderr).strip()
    assert (d / ".shoal" / "node_id").read_text() == node_id


def test_two_inits_get_different_ids(tmp_path):
    run_shoal("init", tmp_path / "a", check=True)
    run_shoal("init", tmp_path / "b", check=True)
    assert (tmp_path / "a/.shoal/node_id").read_text() != \
        (tmp_path / "b/.shoal/node_id").read_text()


def login_fails(n, user, password):
    with pytest.raises(ftplib.error_perm, match="^530"):
        n.ftp(user, password)
    return True


def test_user_lifecycle_with_running_node(node):
    n = node()
    d = n.dir
    r = run_shoal("-C", d, "user", "add", "bob", "--password", "bob-pw-1")
    assert r.returncode == 0, r.stderr
    assert sorted(user_list(d)) == ["bob", "guest"]
    assert n.ftp("bob", "bob-pw-1").pwd() == "/"

    r = run_shoal("-C", d, "user", "passwd", "bob", "--password", "bob-pw-2")
    assert r.returncode == 0, r.stderr
    login_fails(n, "bob", "bob-pw-1")
    assert n.ftp("bob", "bob-pw-2").pwd() == "/"

    r = run_shoal("-C", d, "user", "del", "bob")
    assert r.returncode == 0, r.stderr
    assert user_list(d) == ["guest"]
    login_fails(n, "bob", "bob-pw-2")
    # guest was not disturbed
    assert n.ftp("guest", "guest").pwd() == "/"


def test_user_password_from_stdin(node):
    n = node()
    r = run_shoal("-C", n.dir, "user", "add", "carol", input="carol-pw\n")
    assert r.returncode == 0, r.stderr
    assert n.ftp("carol", "carol-pw").pwd() == "/"
    r = run_shoal("-C", n.dir, "user", "passwd", "carol",
                  input="carol-pw-2\nignored\n")
    assert r.returncode == 0, r.stderr
    assert n.ftp("carol", "carol-pw-2").pwd() == "/"
    login_fails(n, "carol", "carol-pw")


def test_user_errors(shoal_dir):
    d = shoal_dir
    run_shoal("-C", d, "user", "add", "dave", "--password", "x1", check=True)
    one_line_error(run_shoal("-C", d, "user", "add", "dave", "--password",
                             "x2"))
    one_line_error(run_shoal("-C", d, "user", "del", "nobody"))
    one_line_error(run_shoal("-C", d, "user", "passwd", "nobody",
                             "--password", "x3"))
    one_line_error(run_shoal("-C", d / "not-a-node", "user", "list"))
    assert sorted(user_list(d)) == ["dave", "guest"]


def test_unknown_key_in_config_file(node, shoal_dir):
    conf = shoal_dir / ".shoal" / "shoal.conf"
    with open(conf, "a") as f:
        f.write("\n[ftp]\nbogus_setting = 1\n")
    rc, log = node.run_until_exit(shoal_dir)
    assert rc != 0
    assert "bogus_setting" in log, log


@pytest.mark.parametrize("opt,key", [
    ("ftp.no_such_key=1", "no_such_key"),
    ("nosection.listen=1", "nosection"),
])
def test_unknown_key_via_option(node, shoal_dir, opt, key):
    rc, log = node.run_until_exit(shoal_dir, options=[opt])
    assert rc != 0
    assert key in log, log


def test_config_file_values_apply(node, shoal_dir):
    conf = shoal_dir / ".shoal" / "shoal.conf"
    with open(conf, "a") as f:
        f.write("\n[ftp]\nmax_per_address = 1\n")
    n = node(directory=shoal_dir)
    first = n.control()
    second = Control(n.host, n.port)
    try:
        assert second.reply() == "421 Too many connections."
    finally:
        second.close()
        first.close()


def test_node_logs_listening_address(node):
    n = node()
    wait_for(lambda: f"ftp listening on 127.0.0.1:{n.port}" in n.log(), 5,
             what="the listening line in the log")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_zero(node, sig):
    n = node()
    ftp = n.ftp()  # an active session must not stop a clean shutdown
    ftp.mkd("busy")
    assert n.stop(sig) == 0
    assert not n.running()
