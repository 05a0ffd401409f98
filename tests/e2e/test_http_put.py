"""HTTP PUT /v1/files/PATH makes the missing folders above PATH (and so
does `shoal put`, which uses it); `Shoal-Parents: no` keeps the strict
form (404 when the folder is missing); `If-None-Match: *` refuses to
replace a file that exists (412)."""

import hashlib
import os
import subprocess

from conftest import SHOAL
from test_http_api import Api, assert_error, curl, get, put


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_put_makes_missing_folders(node):
    api = Api(node())
    data = os.urandom(20_000)
    r = put(api, "docs/2026/q1/report.bin", data)
    assert r.status == 201, r
    assert r.json()["sha256"] == sha(data)
    assert (api.node.dir / "docs" / "2026" / "q1" / "report.bin") \
        .read_bytes() == data
    listing = curl(api, "/v1/list/docs/2026")
    assert listing.status == 200, listing
    kinds = {e["name"]: e["type"] for e in listing.json()["entries"]}
    assert kinds.get("q1") in ("dir", "folder"), kinds
    assert get(api, "docs/2026/q1/report.bin").body == data


def test_put_strict_parents_refused(node):
    api = Api(node())
    r = put(api, "nodir/x.txt", b"data\n", "-H", "Shoal-Parents: no")
    assert_error(r, 404)
    assert not (api.node.dir / "nodir").exists()
    # With the folder there, the same request goes through.
    put(api, "nodir/first.txt", b"1\n")
    r = put(api, "nodir/x.txt", b"data\n", "-H", "Shoal-Parents: no")
    assert r.status == 201, r
    r = put(api, "nodir/y.txt", b"data\n", "-H", "Shoal-Parents: perhaps")
    assert r.status == 400, r


def test_put_if_none_match_star(node):
    api = Api(node())
    r = put(api, "once/only.txt", b"first\n", "-H", "If-None-Match: *")
    assert r.status == 201, r
    r = put(api, "once/only.txt", b"second\n", "-H", "If-None-Match: *")
    assert_error(r, 412)
    assert (api.node.dir / "once" / "only.txt").read_bytes() == b"first\n"
    r = put(api, "once/only.txt", b"third\n")
    assert r.status == 200, r


def test_cli_put_into_missing_folder(node, tmp_path):
    n = node()
    Api(n)
    src = tmp_path / "report.pdf"
    data = os.urandom(100_000)
    src.write_bytes(data)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               HOME=str(tmp_path))
    p = subprocess.run([str(SHOAL), "-C", str(n.dir), "put", str(src),
                        "/docs/report.pdf"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sha(data) in p.stdout
    assert (n.dir / "docs" / "report.pdf").read_bytes() == data


def test_if_match_is_checked_where_the_upload_lands(node):
    """If-Match is checked again when the upload commits: a version that
    lands while the body is still arriving (here an FTP STOR; in a cluster
    a peer's version) is not overwritten by a PUT made against the one
    before it.  Before, the check ran only when the PUT started, and the
    other version was silently replaced."""
    import http.client
    import io

    n = node()
    api = Api(n)
    first = b"first version\n"
    r = put(api, "doc.txt", first)
    assert r.status == 201, r
    body = os.urandom(3 << 20)
    conn = http.client.HTTPConnection(api.host, api.port, timeout=30)
    conn.putrequest("PUT", "/v1/files/doc.txt")
    conn.putheader("Authorization", f"Bearer {api.token}")
    conn.putheader("If-Match", f'"{sha(first)}"')
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:1 << 20])
    # Another version lands meanwhile.
    other = b"another writer's version\n"
    f = n.ftp()
    assert f.storbinary("STOR doc.txt", io.BytesIO(other)).startswith("226")
    f.quit()
    conn.send(body[1 << 20:])
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 412, resp.status
    assert (n.dir / "doc.txt").read_bytes() == other
    assert get(api, "doc.txt").body == other
