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

import pytest

from conftest import NET_TIMEOUT, free_port, run_shoal, wait_for
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
