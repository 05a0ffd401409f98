"""Who may reach a node and how hard they may try, end to end.

Real nodes on 127.0.0.1, real clients (curl, raw sockets, ftplib, the
shoal command).  Loopback holds a whole /8, so a client that binds its
source to 127.0.0.2, 127.0.0.3, ... looks like another address to the
node: that is how these tests play several clients at once.

What a user would notice: an oversized Basic header is an ordinary 401,
not a crash; the default guest/guest account never works through a
listener reachable from other machines; only the API token or an admin
account can stop the node or change its membership; wrong passwords are
slowed down and then locked out, per address and per account, on every
front end; and clients hogging connections cannot keep a new address
out.
"""

import base64
import json
import socket
import time

import pytest

from conftest import Control, NET_TIMEOUT, free_port, run_shoal, wait_for
from test_http_api import Api, assert_error, curl, read_response


def raw_request(api, head, source=None):
    """Sends one request head on a fresh connection; (status, headers)."""
    with socket.create_connection((api.host, api.port), timeout=NET_TIMEOUT,
                                  source_address=source) as s:
        s.sendall(head.encode())
        status, headers, _, _ = read_response(s)
        return status, headers


# --- 1. Basic credentials are decoded within their caps --------------------


@pytest.mark.parametrize("length", [600, 799, 800, 801, 1000])
def test_overlong_basic_credentials_are_401(node, length):
    n = node()
    api = Api(n)
    head = ("GET /v1/status HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Basic {'A' * length}\r\n\r\n")
    status, headers = raw_request(api, head)
    assert status == 401
    assert "basic" in headers.get("www-authenticate", "").lower()
    # The node is still there, and the right credentials still work.
    assert curl(api, "/v1/status").status == 200
    good = base64.b64encode(b"guest:guest").decode()
    status, _ = raw_request(api, "GET /v1/status HTTP/1.1\r\nHost: x\r\n"
                            f"Authorization: Basic {good}\r\n\r\n")
    assert status == 200
    assert "AddressSanitizer" not in n.log()


# --- 2. guest/guest only through a listener on loopback --------------------


def test_default_guest_refused_when_http_listens_beyond_loopback(node):
    d = node.new_dir()
    port = free_port("0.0.0.0")
    rc, log = node.run_until_exit(d, options=[f"http.listen=0.0.0.0:{port}"])
    assert rc != 0
    assert "guest" in log and "HTTP" in log and f"0.0.0.0:{port}" in log


def test_default_guest_login_refused_beyond_loopback(node):
    d = node.new_dir()
    run_shoal("-C", d, "user", "passwd", "guest", "--password", "changed-pw",
              check=True)
    n = node(f"http.listen=0.0.0.0:{free_port('0.0.0.0')}", directory=d)
    api = Api(n)
    assert api.scheme == "https"
    r = curl(api, "/v1/status", "-k", auth=("guest", "changed-pw"))
    assert r.status == 200, r
    # The default password put back while the node runs: refused over
    # HTTPS, which listens beyond loopback ...
    run_shoal("-C", d, "user", "passwd", "guest", "--password", "guest",
              check=True)
    r = curl(api, "/v1/status", "-k", auth=("guest", "guest"))
    assert r.status == 401, r
    # ... still taken by FTP, which listens on loopback.
    assert n.ftp("guest", "guest").pwd() == "/"


# --- 3. control calls need the token or an admin account -------------------


def post_peer(api, auth, address):
    return curl(api, "/v1/peers", "-X", "POST", "-H",
                "Content-Type: application/json", "-d",
                json.dumps({"address": address}), auth=auth)


def test_control_calls_need_token_or_admin(node):
    n = node()
    d = n.dir
    api = Api(n)
    run_shoal("-C", d, "user", "add", "alice", "--password", "alice-pw",
              check=True)
    alice = ("alice", "alice-pw")
    # An ordinary account may read, not stop the node or change members.
    assert curl(api, "/v1/peers", auth=alice).status == 200
    assert curl(api, "/v1/status", auth=alice).status == 200
    assert_error(post_peer(api, alice, f"127.0.0.1:{free_port()}"), 403)
    assert_error(curl(api, "/v1/bye", "-X", "POST", auth=alice), 403)
    assert_error(curl(api, "/v1/bye", "-X", "POST", auth=("guest", "guest")),
                 403)
    assert n.running()
    assert api.json("/v1/peers") == curl(api, "/v1/peers", auth=alice).json()

    # An admin account may; the mark is kept with the account.
    run_shoal("-C", d, "user", "add", "root", "--password", "root-pw",
              "--admin", check=True)
    run_shoal("-C", d, "user", "passwd", "root", "--password", "root-pw-2",
              check=True)
    listed = run_shoal("-C", d, "user", "list", check=True).stdout
    assert "root (admin)" in listed.splitlines()
    assert "alice" in listed.splitlines()
    root = ("root", "root-pw-2")
    peer = f"127.0.0.1:{free_port()}"
    r = post_peer(api, root, peer)
    assert r.status == 200, r
    assert r.json() == {"added": peer}
    r = curl(api, "/v1/bye", "-X", "POST", auth=root)
    assert r.status == 200, r
    wait_for(lambda: not n.running(), what="the node to stop after bye")
    n.stopped = True
    assert n.proc.returncode == 0


# --- 4. one failed-login brake for every front end -------------------------


def basic(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


class Http:
    """One keep-alive HTTP connection from a chosen source address."""

    def __init__(self, api, source):
        self.sock = socket.create_connection(
            (api.host, api.port), timeout=NET_TIMEOUT,
            source_address=(source, 0))
        self.rest = b""

    def get(self, path, auth=None):
        head = f"GET {path} HTTP/1.1\r\nHost: x\r\n"
        if auth:
            head += f"Authorization: Basic {basic(*auth)}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        status, headers, body, self.rest = read_response(self.sock)
        return status, headers, body

    def closed(self):
        self.sock.settimeout(NET_TIMEOUT)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def ftp_login(n, source, user, password):
    """USER/PASS on a fresh control connection from source: the reply."""
    c = Control(n.host, n.port, source=(source, 0))
    try:
        assert c.reply().startswith("220")
        assert c.cmd(f"USER {user}").startswith("331")
        return c.cmd(f"PASS {password}")
    finally:
        c.close()


def test_http_guesses_on_keep_alive_are_locked_out(node):
    # The defaults: 10 failures from one address lock it out.
    n = node()
    api = Api(n)
    run_shoal("-C", n.dir, "user", "add", "alice", "--password", "alice-pw",
              check=True)
    conn = Http(api, "127.0.0.2")
    for i in range(10):
        status, headers, _ = conn.get("/v1/status", ("alice", f"guess{i}"))
        assert status == 401, (i, status)
    # Locked out: even the right password, on the same connection.
    status, headers, body = conn.get("/v1/status", ("alice", "alice-pw"))
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"]
    assert conn.closed()
    conn.close()
    # The same address is locked out of FTP too ...
    assert ftp_login(n, "127.0.0.2", "alice", "alice-pw").startswith("421")
    # ... while the account still works from another address.
    other = Http(api, "127.0.0.3")
    assert other.get("/v1/status", ("alice", "alice-pw"))[0] == 200
    other.close()
    assert "address 127.0.0.2 locked out" in n.log()
    assert "alice-pw" not in n.log() and "guess1" not in n.log()


def test_ftp_guesses_are_locked_out_across_connections(node):
    n = node()
    run_shoal("-C", n.dir, "user", "add", "alice", "--password", "alice-pw",
              check=True)
    # Three strikes close a session; a new one from the same address
    # carries on counting.
    failures = 0
    while failures < 10:
        c = Control(n.host, n.port, source=("127.0.0.4", 0))
        assert c.reply().startswith("220")
        for _ in range(3):
            if failures == 10:
                break
            assert c.cmd("USER alice").startswith("331")
            r = c.cmd(f"PASS wrong{failures}")
            failures += 1
            assert r.startswith("530") or r.startswith("421"), r
            if r.startswith("421"):
                break
        c.close()
    r = ftp_login(n, "127.0.0.4", "alice", "alice-pw")
    assert r == "421 Too many failed logins; try again later.", r
    # The same address gets nowhere over HTTP either ...
    api = Api(n)
    conn = Http(api, "127.0.0.4")
    assert conn.get("/v1/status", ("alice", "alice-pw"))[0] == 429
    conn.close()
    # ... and another address logs in as alice at once.
    assert ftp_login(n, "127.0.0.5", "alice", "alice-pw").startswith("230")


def test_account_locked_out_from_every_address_until_lockout_ends(node):
    n = node("login.max_account_failures=4", "login.max_failures=100",
             "login.lockout=2", "http.login_delay_ms=0")
    api = Api(n)
    run_shoal("-C", n.dir, "user", "add", "alice", "--password", "alice-pw",
              check=True)
    for i in range(4):
        conn = Http(api, f"127.0.0.{10 + i}")
        assert conn.get("/v1/status", ("alice", "nope"))[0] == 401
        conn.close()
    # The right password, from an address that never failed: refused
    # until the stated lockout is over, then taken.
    conn = Http(api, "127.0.0.20")
    assert conn.get("/v1/status", ("alice", "alice-pw"))[0] == 429
    conn.close()
    assert ftp_login(n, "127.0.0.20", "alice", "alice-pw").startswith("421")
    # Other accounts and the API token are not locked.
    assert curl(api, "/v1/status").status == 200
    assert ftp_login(n, "127.0.0.20", "guest", "guest").startswith("230")

    def alice_gets_in():
        c = Http(api, "127.0.0.20")
        try:
            return c.get("/v1/status", ("alice", "alice-pw"))[0] == 200
        finally:
            c.close()
    wait_for(alice_gets_in, timeout=15, interval=0.2,
             what="alice's lockout to end")
    assert "account alice locked out for 2 s" in n.log()


# --- 5. per-address caps, a reserve for new addresses, short deadlines ----


def test_ftp_hogs_from_few_addresses_leave_room_for_a_new_one(node):
    n = node("ftp.max_sessions=16", "ftp.max_per_address=4")
    held = []
    for a in range(2, 6):
        got = 0
        for _ in range(6):
            c = Control(n.host, n.port, source=(f"127.0.1.{a}", 0))
            held.append(c)
            r = c.reply()
            if r.startswith("220"):
                got += 1
            else:
                assert r == "421 Too many connections.", r
        assert 1 <= got <= 4, (a, got)
    # Four addresses took what they could; a fifth still gets in, and
    # can work.
    c = Control(n.host, n.port, source=("127.0.1.9", 0))
    held.append(c)
    assert c.reply().startswith("220")
    c.login()
    assert c.cmd("PWD").startswith("257")
    for c in held:
        c.close()


def test_http_per_address_cap_leaves_room_for_others(node):
    # The defaults: 32 connections from one address.
    n = node()
    api = Api(n)
    held, refused = [], None
    for i in range(40):
        conn = Http(api, "127.0.0.2")
        held.append(conn)
        try:
            status = conn.get("/v1/status")[0]
        except (EOFError, ConnectionResetError):
            status = None
        if status != 401:
            refused = (i, status)
            break
    assert refused is not None, "40 connections from one address taken"
    assert refused[0] == 32 and refused[1] in (503, None), refused
    other = Http(api, "127.0.0.3")
    assert other.get("/v1/status")[0] == 401
    assert other.get("/v1/status", ("guest", "guest"))[0] == 200
    other.close()
    for c in held:
        c.close()


def test_http_head_must_arrive_within_its_timeout(node):
    n = node("http.head_timeout=1")
    api = Api(n)
    s = socket.create_connection((api.host, api.port), timeout=NET_TIMEOUT)
    s.sendall(b"GET /v1/status HTTP/1.1\r\n")
    # A slow client: one header byte at a time does not keep it open.
    deadline = time.monotonic() + 10
    closed = False
    while time.monotonic() < deadline and not closed:
        try:
            s.sendall(b"X")
            s.settimeout(0.2)
            closed = s.recv(1) == b""
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    s.close()
    assert closed, "a head trickling in kept its connection for 10 s"


def test_ftp_login_deadline_counts_from_the_connection(node):
    n = node("ftp.login_timeout=1")
    c = Control(n.host, n.port)
    assert c.reply().startswith("220")
    # NOOPs before login do not hold the session open.
    deadline = time.monotonic() + 10
    last = ""
    while time.monotonic() < deadline:
        try:
            last = c.cmd("NOOP")
        except (EOFError, ConnectionResetError, BrokenPipeError):
            break
        if last.startswith("421"):
            break
        time.sleep(0.2)
    else:
        pytest.fail("NOOPs kept an unlogged session open for 10 s")
    c.close()
