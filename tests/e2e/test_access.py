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
import socket

import pytest

from conftest import NET_TIMEOUT, run_shoal, wait_for
from test_http_api import Api, curl, read_response


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
