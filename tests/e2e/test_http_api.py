"""The HTTP API of a node (docs/API.md), driven end to end.

Every endpoint is exercised with the real curl binary; what curl will not
send (a broken upload, a request split on purpose) goes through a raw
socket, keep-alive through http.client, and HTTPS through Python's ssl with
the node's certificate pinned.  The node's HTTP address is read from
DIR/.shoal/control ("http HOST:PORT", "scheme http|https") and its bearer
token from DIR/.shoal/api_token.
"""

import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (NET_TIMEOUT, STOP_TIMEOUT, free_port, run_shoal,
                      tmp_bytes, tmp_leftovers, wait_for)

CURL_TIMEOUT = 60
BIG_TIMEOUT = 300
MIB = 1 << 20


# ---------------------------------------------------------------------------
# helpers


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            h.update(chunk)
    return h.hexdigest()


def read_control(directory):
    """DIR/.shoal/control as a dict, or None while it is not written."""
    try:
        text = (Path(directory) / ".shoal" / "control").read_text()
    except FileNotFoundError:
        return None
    fields = dict(line.split(" ", 1) for line in text.splitlines()
                  if " " in line)
    return fields if "http" in fields else None


class Api:
    """Where a node's HTTP endpoint is, and how to authenticate to it."""

    def __init__(self, node):
        self.node = node
        ctl = wait_for(lambda: read_control(node.dir),
                       what=f"{node.dir}/.shoal/control")
        self.addr = ctl["http"].strip()
        self.scheme = ctl.get("scheme", "http").strip()
        host, port = self.addr.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.token = (node.dir / ".shoal" / "api_token").read_text().strip()

    def url(self, path):
        return f"{self.scheme}://{self.addr}{path}"

    @property
    def bearer(self):
        return f"Authorization: Bearer {self.token}"

    def json(self, path):
        r = curl(self, path)
        assert r.status == 200, r
        return r.json()


class Response:
    def __init__(self, status, heads, body, rc, stderr):
        self.status = status
        self.heads = heads          # every head, 1xx ones included
        self.headers = heads[-1][1] if heads else {}
        self.body = body
        self.rc = rc
        self.stderr = stderr

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return (f"<{self.status} {self.headers} body={self.body[:300]!r} "
                f"curl rc={self.rc} {self.stderr.strip()}>")


def parse_heads(text):
    """The heads curl dumped with -D: [(status, {name: value})]."""
    heads = []
    for line in text.splitlines():
        line = line.rstrip("\r")
        m = re.match(r"^HTTP/\d(?:\.\d)? (\d{3})", line)
        if m:
            heads.append((int(m.group(1)), {}))
        elif ":" in line and heads:
            name, value = line.split(":", 1)
            heads[-1][1][name.strip().lower()] = value.strip()
    return heads


def curl(api, path, *args, auth="token", path_as_is=False, stdin=None,
         out=None, timeout=CURL_TIMEOUT):
    """Runs curl against api's endpoint; returns the final Response.

    auth is "token" (the bearer token), a (user, password) pair, None for
    no credentials, or a raw Authorization header value.  With out, the
    body goes to that file instead of Response.body."""
    cmd = ["curl", "-sS", "--max-time", str(timeout)]
    if auth == "token":
        cmd += ["-H", api.bearer]
    elif isinstance(auth, tuple):
        cmd += ["-u", f"{auth[0]}:{auth[1]}"]
    elif auth is not None:
        cmd += ["-H", f"Authorization: {auth}"]
    if path_as_is:
        cmd.append("--path-as-is")
    with tempfile.TemporaryDirectory() as d:
        head_file, body_file = Path(d, "head"), Path(d, "body")
        cmd += ["-D", str(head_file), "-o", str(out or body_file), *args,
                api.url(path)]
        p = subprocess.run(cmd, input=stdin, capture_output=True,
                           timeout=timeout + 30)
        heads = parse_heads(head_file.read_text(errors="replace")
                            if head_file.exists() else "")
        body = body_file.read_bytes() if body_file.exists() else b""
    final = [h for h in heads if h[0] >= 200]
    status = final[-1][0] if final else None
    return Response(status, final or heads, body, p.returncode,
                    p.stderr.decode(errors="replace"))


def put(api, path, data, *args, tmp=None):
    """Uploads bytes with curl -T; returns the Response."""
    with tempfile.NamedTemporaryFile(dir=tmp) as f:
        f.write(data)
        f.flush()
        return curl(api, f"/v1/files/{path}", "-T", f.name, *args)


def get(api, path, *args):
    return curl(api, f"/v1/files/{path}", *args)


def assert_error(r, status):
    """An error answer as docs/API.md states it: the status and a JSON
    {"error": "..."} body."""
    assert r.status == status, r
    assert (r.header("content-type") or "").startswith("application/json"), r
    doc = json.loads(r.body)
    assert isinstance(doc.get("error"), str) and doc["error"], r
    return doc["error"]


def etag(sha):
    return f'"{sha}"'


def node_id(node):
    return (node.dir / ".shoal" / "node_id").read_text().strip()


def parse_metrics(text):
    """Prometheus text: {(name, labels): value} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$',
                     line)
        assert m, f"not a Prometheus sample line: {line!r}"
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def read_response(sock, timeout=NET_TIMEOUT):
    """One response from a raw socket: (status, headers, body).  Reads a
    Content-Length body; 1xx heads are returned like any other."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed before a whole head: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed inside a body")
        rest += chunk
    return status, headers, rest[:n], rest[n:]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def api(node):
    return Api(node())


# ---------------------------------------------------------------------------
# files: GET, HEAD, PUT, DELETE


def test_put_creates_then_replaces(api):
    first = b"first version\n"
    r = put(api, "a.txt", first)
    assert r.status == 201, r
    assert r.header("etag") == etag(sha256(first)), r
    assert r.json() == {"path": "a.txt", "sha256": sha256(first)}

    second = b"second, longer version\n"
    r = put(api, "a.txt", second)
    assert r.status == 200, r
    assert r.header("etag") == etag(sha256(second)), r
    assert r.json() == {"path": "a.txt", "sha256": sha256(second)}
    assert get(api, "a.txt").body == second


def test_get_content_and_etag(api):
    data = os.urandom(100_000)
    assert put(api, "blob.bin", data).status == 201
    r = get(api, "blob.bin")
    assert r.status == 200, r
    assert r.body == data
    assert r.header("etag") == etag(sha256(data))
    assert r.header("content-length") == str(len(data))


def test_head_gives_headers_without_body(api):
    data = b"0123456789" * 1000
    assert put(api, "h.bin", data).status == 201
    r = curl(api, "/v1/files/h.bin", "-I")
    assert r.status == 200, r
    assert r.header("content-length") == str(len(data))
    assert r.header("etag") == etag(sha256(data))
    assert r.header("accept-ranges") == "bytes"

    # No body follows a HEAD answer: the next answer on the connection
    # starts right after its head.
    with socket.create_connection((api.host, api.port),
                                  timeout=NET_TIMEOUT) as s:
        s.sendall(f"HEAD /v1/files/h.bin HTTP/1.1\r\nHost: x\r\n"
                  f"{api.bearer}\r\n\r\n"
                  f"GET /v1/files/missing.bin HTTP/1.1\r\nHost: x\r\n"
                  f"{api.bearer}\r\n\r\n".encode())
        s.settimeout(NET_TIMEOUT)
        buf = b""
        while buf.count(b"\r\n\r\n") < 2:
            chunk = s.recv(65536)
            assert chunk, f"closed early: {buf!r}"
            buf += chunk
    first, second = buf.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200 "), buf
    assert f"content-length: {len(data)}".encode() in first.lower()
    assert second.startswith(b"HTTP/1.1 404 "), buf

    r = curl(api, "/v1/files/missing.bin", "-I")
    assert r.status == 404, r


@pytest.mark.parametrize("spec,first,last", [
    ("2-5", 2, 5),          # bytes=A-B
    ("90-", 90, 99),        # bytes=A-
    ("-7", 93, 99),         # bytes=-N, the last N bytes
    ("95-1000", 95, 99),    # B past the end is cut to the end
])
def test_range_gives_206(api, spec, first, last):
    data = bytes(range(100))
    assert put(api, "r.bin", data).status == 201
    r = get(api, "r.bin", "-r", spec)
    assert r.status == 206, r
    assert r.header("content-range") == f"bytes {first}-{last}/100", r
    assert r.body == data[first:last + 1]
    assert r.header("content-length") == str(last - first + 1)
    assert r.header("etag") == etag(sha256(data))


def test_range_outside_file_416(api):
    data = b"0123456789"
    assert put(api, "r.bin", data).status == 201
    r = get(api, "r.bin", "-r", "10-20")
    assert r.status == 416, r
    assert r.header("content-range") == "bytes */10", r


def test_if_none_match_gives_304(api):
    data = b"cached content\n"
    assert put(api, "c.txt", data).status == 201
    r = get(api, "c.txt", "-H", f"If-None-Match: {etag(sha256(data))}")
    assert r.status == 304, r
    assert r.body == b""
    assert r.header("etag") == etag(sha256(data))
    # Another version's tag is no match: the content comes.
    r = get(api, "c.txt", "-H", f"If-None-Match: {etag(sha256(b'x'))}")
    assert r.status == 200, r
    assert r.body == data


def test_if_match_guards_put(api):
    old, new = b"old\n", b"new\n"
    assert put(api, "m.txt", old).status == 201

    r = put(api, "m.txt", new, "-H", f"If-Match: {etag(sha256(b'other'))}")
    assert_error(r, 412)
    assert get(api, "m.txt").body == old

    r = put(api, "m.txt", new, "-H", f"If-Match: {etag(sha256(old))}")
    assert r.status == 200, r
    assert r.json()["sha256"] == sha256(new)
    assert get(api, "m.txt").body == new


def test_if_match_on_missing_file_412(api):
    r = put(api, "none.txt", b"x", "-H", f"If-Match: {etag(sha256(b'x'))}")
    assert_error(r, 412)
    assert get(api, "none.txt").status == 404
    assert not (api.node.dir / "none.txt").exists()


def test_put_without_content_length_411(api):
    r = curl(api, "/v1/files/chunked.txt", "-H", "Transfer-Encoding: chunked",
             "-T", "-", stdin=b"some chunked bytes\n")
    assert_error(r, 411)
    assert get(api, "chunked.txt").status == 404


def test_expect_100_continue(api):
    """The interim 100 comes before any body byte is sent."""
    body = b"after the interim answer\n"
    with socket.create_connection((api.host, api.port),
                                  timeout=NET_TIMEOUT) as s:
        s.sendall(f"PUT /v1/files/e.txt HTTP/1.1\r\nHost: x\r\n"
                  f"{api.bearer}\r\nContent-Length: {len(body)}\r\n"
                  f"Expect: 100-continue\r\n\r\n".encode())
        status, _, _, rest = read_response(s)
        assert status == 100
        assert rest == b""
        s.sendall(body)
        status, headers, reply, _ = read_response(s)
    assert status == 201
    assert headers["etag"] == etag(sha256(body))
    assert get(api, "e.txt").body == body


def test_get_missing_file_404(api):
    assert_error(get(api, "nothing/here.txt"), 404)
    assert_error(get(api, "nothing.txt"), 404)


def test_put_into_missing_folder_404(api):
    # A PUT makes missing folders unless told not to (test_http_put.py).
    assert_error(put(api, "nodir/x.txt", b"data\n", "-H",
                     "Shoal-Parents: no"), 404)
    assert not (api.node.dir / "nodir").exists()


def test_get_folder_as_file_409(api):
    assert curl(api, "/v1/mkdir/folder", "-X", "POST").status == 201
    assert_error(get(api, "folder"), 409)


def test_put_onto_folder_409(api):
    assert curl(api, "/v1/mkdir/folder", "-X", "POST").status == 201
    assert_error(put(api, "folder", b"data\n"), 409)
    assert (api.node.dir / "folder").is_dir()


def test_delete_file_and_empty_folder(api):
    assert put(api, "gone.txt", b"bye\n").status == 201
    r = curl(api, "/v1/files/gone.txt", "-X", "DELETE")
    assert r.status == 204, r
    assert r.body == b""
    assert get(api, "gone.txt").status == 404
    assert not (api.node.dir / "gone.txt").exists()

    assert curl(api, "/v1/mkdir/empty", "-X", "POST").status == 201
    r = curl(api, "/v1/files/empty", "-X", "DELETE")
    assert r.status == 204, r
    assert not (api.node.dir / "empty").exists()

    assert_error(curl(api, "/v1/files/gone.txt", "-X", "DELETE"), 404)


# ---------------------------------------------------------------------------
# mkdir, move, list


def test_mkdir(api):
    r = curl(api, "/v1/mkdir/docs", "-X", "POST")
    assert r.status == 201, r
    assert r.json() == {"created": "docs"}
    assert (api.node.dir / "docs").is_dir()
    r = curl(api, "/v1/mkdir/docs/inner", "-X", "POST")
    assert r.status == 201, r
    assert r.json() == {"created": "docs/inner"}
    assert (api.node.dir / "docs" / "inner").is_dir()

    assert_error(curl(api, "/v1/mkdir/docs", "-X", "POST"), 409)


def test_move_file_and_folder(api):
    data = b"moving\n"
    assert put(api, "a.txt", data).status == 201
    assert curl(api, "/v1/mkdir/docs", "-X", "POST").status == 201
    r = curl(api, "/v1/move", "-d", '{"from":"a.txt","to":"docs/a.txt"}')
    assert r.status == 200, r
    assert r.json() == {"moved": "docs/a.txt"}
    assert get(api, "a.txt").status == 404
    r = get(api, "docs/a.txt")
    assert r.status == 200 and r.body == data, r

    r = curl(api, "/v1/move", "-d", '{"from":"docs","to":"papers"}')
    assert r.status == 200, r
    assert r.json() == {"moved": "papers"}
    assert get(api, "papers/a.txt").body == data
    assert not (api.node.dir / "docs").exists()

    assert_error(curl(api, "/v1/move", "-d",
                      '{"from":"nope.txt","to":"x.txt"}'), 404)


def test_list_root_and_folder(api):
    a, b = b"alpha\n", os.urandom(5000)
    assert put(api, "a.txt", a).status == 201
    assert curl(api, "/v1/mkdir/docs", "-X", "POST").status == 201
    assert put(api, "docs/b.bin", b).status == 201
    me = node_id(api.node)

    root = api.json("/v1/list")
    assert root["path"] == ""
    entries = {e["name"]: e for e in root["entries"]}
    assert set(entries) == {"a.txt", "docs"}   # .shoal is not listed
    fa = entries["a.txt"]
    assert fa["type"] == "file" and fa["size"] == len(a)
    assert fa["hash"] == sha256(a)
    assert isinstance(fa["version"], int) and fa["version"] >= 1
    assert fa["holders"] == [me]
    assert isinstance(fa["mtime"], int)
    assert abs(fa["mtime"] - time.time()) < 3600
    d = entries["docs"]
    assert d["type"] == "dir"
    for key in ("hash", "version", "holders"):
        assert key not in d, d

    docs = api.json("/v1/list/docs")
    assert docs["path"] == "docs"
    [fb] = docs["entries"]
    assert fb["name"] == "b.bin" and fb["type"] == "file"
    assert fb["size"] == len(b) and fb["hash"] == sha256(b)
    assert fb["holders"] == [me]

    # A new version has a later version number.
    assert put(api, "a.txt", b"alpha two\n").status == 200
    again = {e["name"]: e for e in api.json("/v1/list")["entries"]}
    assert again["a.txt"]["hash"] == sha256(b"alpha two\n")
    assert again["a.txt"]["version"] > fa["version"]

    assert_error(curl(api, "/v1/list/missing"), 404)


# ---------------------------------------------------------------------------
# cluster: peers, send, status, bye, locks


def test_locks_need_a_tracker(api):
    for method in ("GET", "POST", "DELETE"):
        r = curl(api, "/v1/locks/a.txt", "-X", method)
        msg = assert_error(r, 503)
        assert "tracker" in msg, r


def test_peers_get_and_add(api):
    r = curl(api, "/v1/peers")
    assert r.status == 200, r
    assert r.json() == []

    addr = f"127.0.0.1:{free_port()}"
    r = curl(api, "/v1/peers", "-d", json.dumps({"address": addr}))
    assert r.status == 200, r
    assert [p["address"] for p in api.json("/v1/peers")] == [addr]
    peers_file = api.node.dir / ".shoal" / "peers"
    assert addr in peers_file.read_text().split()

    assert_error(curl(api, "/v1/peers", "-d", '{"addr": "x"}'), 400)


def test_status(api):
    assert put(api, "one.txt", b"1\n").status == 201
    assert put(api, "two.txt", b"2\n").status == 201
    s = api.json("/v1/status")
    assert s["id"] == node_id(api.node)
    assert s["http"] == api.addr
    assert s["ftp"] == f"127.0.0.1:{api.node.port}"
    assert s["files"] == 2
    assert s["members"]["alive"] == 1
    assert "consistency" in s and "sync" in s


def metrics(api):
    r = curl(api, "/metrics")
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain"), r
    return r, parse_metrics(r.body.decode())


def test_metrics_names(api):
    r, m = metrics(api)
    for name in ("shoal_http_requests_total", "shoal_http_errors_total",
                 "shoal_http_connections", "shoal_ftp_sessions",
                 "shoal_members_alive", "shoal_sync_lag_files",
                 "shoal_sync_conflicts_total", "shoal_sync_bad_blocks_total",
                 "shoal_sync_files_fetched_total"):
        assert (name, "") in m, f"{name} missing:\n{r.body.decode()}"
    missing = [f'{name}{{front="{front}"}}'
               for name in ("shoal_bytes_in_total", "shoal_bytes_out_total")
               for front in ("http", "ftp", "peer")
               if (name, f'{{front="{front}"}}') not in m]
    assert not missing, f"missing {missing}:\n{r.body.decode()}"


def test_metrics_count(api):
    _, before = metrics(api)
    assert before[("shoal_members_alive", "")] == 1
    assert before[("shoal_http_connections", "")] >= 1

    data = os.urandom(300_000)
    assert put(api, "m.bin", data).status == 201
    assert get(api, "m.bin").body == data
    assert_error(get(api, "absent"), 404)
    _, after = metrics(api)
    http = '{front="http"}'
    assert after[("shoal_http_requests_total", "")] >= \
        before[("shoal_http_requests_total", "")] + 4
    assert after[("shoal_http_errors_total", "")] >= \
        before[("shoal_http_errors_total", "")] + 1
    assert after[("shoal_bytes_in_total", http)] >= \
        before[("shoal_bytes_in_total", http)] + len(data)
    assert after[("shoal_bytes_out_total", http)] >= \
        before[("shoal_bytes_out_total", http)] + len(data)


def test_bye_stops_the_node(node):
    n = node()
    api = Api(n)
    r = curl(api, "/v1/bye", "-X", "POST")
    assert r.status == 200, r
    try:
        rc = n.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"node still running {STOP_TIMEOUT}s after /v1/bye")
    n.stopped = True
    assert rc == 0, n.log()


def test_send_and_holders_with_two_members(node, tmp_path):
    a = node()
    key = (a.dir / ".shoal" / "cluster_key").read_text().strip()
    bdir = tmp_path / "member_b"
    run_shoal("init", bdir, "--join", key, check=True)
    b = node(directory=bdir)
    api_a, api_b = Api(a), Api(b)
    peer_a = api_a.json("/v1/status")["peer"]
    r = curl(api_b, "/v1/peers", "-d", json.dumps({"address": peer_a}))
    assert r.status == 200, r
    for x in (api_a, api_b):
        wait_for(lambda: x.json("/v1/status")["members"]["alive"] == 2,
                 timeout=30, what=f"two live members seen by {x.addr}")

    data = os.urandom(200_000)
    assert put(api_a, "shared.bin", data).status == 201
    r = curl(api_a, "/v1/send/shared.bin", "-X", "POST")
    assert r.status == 200, r
    assert r.json() == {"offered": "shared.bin", "members": 1}
    wait_for(lambda: get(api_b, "shared.bin").body == data, timeout=30,
             what="the file on the other member")
    ids = {node_id(a), node_id(b)}

    def holders():
        e = {e["name"]: e for e in api_a.json("/v1/list")["entries"]}
        return set(e["shared.bin"]["holders"]) == ids

    wait_for(holders, timeout=30, what="both members listed as holders")


def test_send_single_node(api):
    assert put(api, "s.txt", b"s\n").status == 201
    r = curl(api, "/v1/send/s.txt", "-X", "POST")
    assert r.status == 200, r
    assert r.json() == {"offered": "s.txt", "members": 0}


def test_send_missing_file_404(api):
    assert_error(curl(api, "/v1/send/absent.txt", "-X", "POST"), 404)


# ---------------------------------------------------------------------------
# authentication


def test_no_credentials_401(api):
    for path in ("/v1/status", "/v1/files/x", "/metrics", "/v1/nope"):
        r = curl(api, path, auth=None)
        assert r.status == 401, r
        assert r.header("www-authenticate").startswith("Basic"), r


def test_basic_guest_works(api):
    assert put(api, "g.txt", b"guest\n").status == 201
    r = curl(api, "/v1/files/g.txt", auth=("guest", "guest"))
    assert r.status == 200, r
    assert r.body == b"guest\n"
    r = curl(api, "/v1/files/g2.txt", "-X", "PUT", "--data-binary",
             "by guest\n", auth=("guest", "guest"))
    assert r.status == 201, r
    assert get(api, "g2.txt").body == b"by guest\n"


def test_wrong_password_401(api):
    for user, pw in (("guest", "wrong"), ("nobody", "guest"), ("guest", "")):
        r = curl(api, "/v1/status", auth=(user, pw))
        assert_error(r, 401)
        assert r.header("www-authenticate").startswith("Basic"), r


def test_bearer_token(api):
    assert curl(api, "/v1/status").status == 200
    r = curl(api, "/v1/status", auth="Bearer " + "0" * len(api.token))
    assert r.status == 401, r
    assert r.header("www-authenticate").startswith("Basic"), r
    r = curl(api, "/v1/status", auth="Bearer " + api.token[:-1])
    assert r.status == 401, r


# ---------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("path", ["/v1/nope", "/nope", "/v1", "/v1/filesx"])
def test_unknown_route_404(api, path):
    assert_error(curl(api, path), 404)


@pytest.mark.parametrize("method,path", [
    ("PATCH", "/v1/files/x.txt"),
    ("POST", "/v1/files/x.txt"),
    ("PUT", "/v1/list"),
    ("GET", "/v1/mkdir/x"),
    ("GET", "/v1/move"),
    ("PUT", "/v1/locks/x"),
    ("GET", "/v1/send/x"),
    ("DELETE", "/v1/peers"),
    ("GET", "/v1/bye"),
    ("POST", "/v1/status"),
    ("POST", "/metrics"),
])
def test_wrong_method_405(api, method, path):
    assert_error(curl(api, path, "-X", method), 405)
    assert api.node.running()


@pytest.mark.parametrize("path", [
    "/v1/files/../etc/passwd",
    "/v1/files/a/../../x",
    "/v1/files/..",
    "/v1/list/..",
    "/v1/mkdir/../escaped",
])
def test_dotdot_400(api, path):
    method = "POST" if path.startswith("/v1/mkdir/") else "GET"
    assert_error(curl(api, path, "-X", method, path_as_is=True), 400)
    assert not (api.node.dir.parent / "escaped").exists()


@pytest.mark.parametrize("path", [
    "/v1/files/%2e%2e/x",
    "/v1/files/%2E%2E%2Fx",
    "/v1/files/a%2f%2e%2e%2f%2e%2e%2fx",
    "/v1/list/%2e%2e",
    "/v1/mkdir/%2e%2e%2fescaped",
])
def test_escaped_dotdot_400(api, path):
    method = "POST" if path.startswith("/v1/mkdir/") else "GET"
    assert_error(curl(api, path, "-X", method, path_as_is=True), 400)
    assert not (api.node.dir.parent / "escaped").exists()


@pytest.mark.parametrize("path", ["/v1/files/a%zz", "/v1/files/a%2",
                                  "/v1/files/a%00b"])
def test_bad_escape_400(api, path):
    assert_error(curl(api, path), 400)


def test_escaped_name_is_decoded(api):
    r = curl(api, "/v1/files/with%20space.txt", "-X", "PUT",
             "--data-binary", "sp\n")
    assert r.status == 201, r
    assert (api.node.dir / "with space.txt").read_bytes() == b"sp\n"


def test_huge_head_431(api):
    r = curl(api, "/v1/status", "-H", "X-Big: " + "a" * (17 * 1024))
    assert_error(r, 431)


def test_too_many_headers_431(api):
    extra = []
    for i in range(101):
        extra += ["-H", f"X-H{i}: v"]
    assert_error(curl(api, "/v1/status", *extra), 431)


@pytest.mark.parametrize("path", ["/v1/move", "/v1/peers"])
def test_json_body_over_64k_413(api, path, tmp_path):
    body = tmp_path / "big.json"
    body.write_text(json.dumps({"from": "a" * (65 * 1024), "to": "b",
                                "address": "x"}))
    r = curl(api, path, "-H", "Content-Type: application/json",
             "--data-binary", f"@{body}")
    assert_error(r, 413)
    assert api.node.running()


@pytest.mark.parametrize("body", ['{"from": "a.txt", "to": ', "not json",
                                  '{"from": "a.txt"}', '["a.txt", "b.txt"]',
                                  '{"from": 1, "to": 2}'])
def test_malformed_move_400(api, body):
    assert put(api, "a.txt", b"a\n").status == 201
    assert_error(curl(api, "/v1/move", "-d", body), 400)
    assert get(api, "a.txt").body == b"a\n"


@pytest.mark.parametrize("kind", ["no credentials", "bad bearer",
                                  "wrong password", "range 416",
                                  "unknown route", "head 431"])
def test_errors_answer_json(api, kind):
    """Every error answer is a JSON {"error": ...} (docs/API.md, Errors)."""
    assert put(api, "ten.txt", b"0123456789").status == 201
    status, r = {
        "no credentials": (401, lambda: curl(api, "/v1/status", auth=None)),
        "bad bearer": (401, lambda: curl(api, "/v1/status",
                                         auth="Bearer nope")),
        "wrong password": (401, lambda: curl(api, "/v1/status",
                                             auth=("guest", "bad"))),
        "range 416": (416, lambda: get(api, "ten.txt", "-r", "50-60")),
        "unknown route": (404, lambda: curl(api, "/v1/nope")),
        "head 431": (431, lambda: curl(api, "/v1/status", "-H",
                                       "X-Big: " + "b" * 20000)),
    }[kind]
    assert_error(r(), status)


# ---------------------------------------------------------------------------
# streaming


def test_broken_upload_keeps_old_version(api):
    old = b"the old version\n" * 100
    assert put(api, "keep.bin", old).status == 201
    declared = 10 * MIB
    with socket.create_connection((api.host, api.port),
                                  timeout=NET_TIMEOUT) as s:
        s.sendall(f"PUT /v1/files/keep.bin HTTP/1.1\r\nHost: x\r\n"
                  f"{api.bearer}\r\nContent-Length: {declared}\r\n"
                  f"Expect: 100-continue\r\n\r\n".encode())
        status, _, _, _ = read_response(s)
        assert status == 100
        s.sendall(os.urandom(MIB))
        # The part is streamed into a temporary file before we leave.
        wait_for(lambda: tmp_bytes(api.node.dir) >= MIB,
                 what="the partial upload in .shoal/tmp")
    wait_for(lambda: not tmp_leftovers(api.node.dir),
             what="no leftovers in .shoal/tmp")
    r = get(api, "keep.bin")
    assert r.status == 200, r
    assert r.body == old
    assert r.header("etag") == etag(sha256(old))
    [e] = [e for e in api.json("/v1/list")["entries"]
           if e["name"] == "keep.bin"]
    assert e["hash"] == sha256(old) and e["size"] == len(old)
    assert api.node.running()


def test_large_upload_is_streamed(api, tmp_path):
    size = 200 * MIB
    src = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(size // MIB):
            chunk = os.urandom(MIB)
            h.update(chunk)
            f.write(chunk)
    want = h.hexdigest()

    out, err = tmp_path / "put.out", tmp_path / "put.err"
    cmd = ["curl", "-sS", "--max-time", str(BIG_TIMEOUT), "-H", api.bearer,
           "-o", str(out), "-w", "%{http_code}", "-T", str(src),
           api.url("/v1/files/big.bin")]
    with open(err, "wb") as ef:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=ef)
    samples = []
    deadline = time.monotonic() + BIG_TIMEOUT + 30
    try:
        while proc.poll() is None:
            samples.append(rss_kib(api.node.pid))
            if time.monotonic() > deadline:
                pytest.fail("the 200 MiB upload did not finish in time")
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.communicate()[0].decode()
    assert proc.returncode == 0, err.read_text()
    assert code == "201", out.read_text()
    assert json.loads(out.read_text())["sha256"] == want
    assert len(samples) >= 10, "upload too quick to sample the node's RSS"
    assert max(samples) < 64 * 1024, \
        f"node RSS reached {max(samples)} KiB during a 200 MiB upload"

    dst = tmp_path / "back.bin"
    r = curl(api, "/v1/files/big.bin", out=dst, timeout=BIG_TIMEOUT)
    assert r.status == 200, r
    assert r.header("etag") == etag(want)
    assert dst.stat().st_size == size
    assert file_sha256(dst) == want


def test_keep_alive(api):
    assert put(api, "k.txt", b"kept\n").status == 201
    conn = http.client.HTTPConnection(api.host, api.port,
                                      timeout=NET_TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {api.token}"}
        conn.request("GET", "/v1/files/k.txt", headers=headers)
        r1 = conn.getresponse()
        assert r1.status == 200
        assert r1.read() == b"kept\n"
        first_sock = conn.sock
        assert first_sock is not None, "the server closed the connection"
        conn.request("GET", "/v1/status", headers=headers)
        r2 = conn.getresponse()
        assert r2.status == 200
        assert json.loads(r2.read())["id"] == node_id(api.node)
        assert conn.sock is first_sock, "the second request reconnected"
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# HTTPS


def test_https_with_node_certificate(node):
    n = node("http.tls=yes")
    api = Api(n)
    assert api.scheme == "https"
    cert = n.dir / ".shoal" / "tls" / "cert.pem"
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    headers = {"Authorization": f"Bearer {api.token}"}
    data = os.urandom(3 * MIB + 123)

    conn = http.client.HTTPSConnection(api.host, api.port, context=ctx,
                                       timeout=NET_TIMEOUT)
    try:
        conn.request("GET", "/v1/status", headers=headers)
        r = conn.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["id"] == node_id(n)
        served = conn.sock.getpeercert(binary_form=True)
        assert served == ssl.PEM_cert_to_DER_cert(cert.read_text())

        conn.request("PUT", "/v1/files/tls.bin", body=data, headers=headers)
        r = conn.getresponse()
        assert r.status == 201
        assert json.loads(r.read())["sha256"] == sha256(data)
        # Over TLS a file is read in chunks, not sent with sendfile.
        conn.request("GET", "/v1/files/tls.bin", headers=headers)
        r = conn.getresponse()
        assert r.status == 200
        assert r.read() == data
    finally:
        conn.close()

    # Plain HTTP to the same port gets no HTTP answer.
    with socket.create_connection((api.host, api.port),
                                  timeout=NET_TIMEOUT) as s:
        s.sendall(f"GET /v1/status HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {api.token}\r\n\r\n".encode())
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
    assert not got.startswith(b"HTTP/"), got[:200]
    assert n.running()


# ---------------------------------------------------------------------------
# shutdown


def test_sigterm_with_listings_in_flight(node):
    """SIGTERM while folder listings wait for the worker pool: the node
    exits 0.  The jobs still queued run after the HTTP server is freed, so
    they must not read it (under ThreadSanitizer one that did stops the
    node with status 66)."""
    n = node()
    api = Api(n)
    many = n.dir / "many"
    many.mkdir()
    for i in range(1500):
        (many / f"f{i:04d}.txt").write_bytes(b"x")
    assert api.json("/v1/list/many")["entries"], "the folder is not listed"
    req = (f"GET /v1/list/many HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {api.token}\r\n\r\n").encode()
    socks = []
    try:
        for _ in range(40):
            s = socket.create_connection((api.host, api.port),
                                         timeout=NET_TIMEOUT)
            socks.append(s)
            s.sendall(req)
        # the first answer: the node is working through the others
        assert socks[0].recv(12).startswith(b"HTTP/1.1 200")
        rc = n.stop()
    finally:
        for s in socks:
            s.close()
    assert rc == 0, f"the node exited {rc}; log:\n{n.log()[-3000:]}"
