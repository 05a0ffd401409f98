"""WebDAV (RFC 4918 class 1 and 2) on a two-node cluster, with real
clients only: litmus (the WebDAV conformance suite; every suite it runs
must pass and its output is printed), curl for each method and the bad
input a server must refuse, a davfs2 mount used with ordinary file
operations, and rclone's webdav backend.  What is written through node
n1's WebDAV endpoint is checked on n2's disk: it replicates like any
write.  A WebDAV lock holds back the other front ends' writers (the HTTP
files API answers 423, FTP 450)."""
import base64
import ftplib
import io
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import Cluster, wait_for  # noqa: E402

pytest_plugins = ["cluster"]
REPLICATE = 30.0
AUTH = "guest:guest"
SUITES = ("basic", "copymove", "props", "locks", "http")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dav"))
    c.start(2)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def url(node, path="/"):
    return f"http://{node.dav_addr}{path}"


def curl(node, method, path, headers=(), data=None, raw_path=False):
    """One request with curl; returns (status, headers text, body)."""
    cmd = ["curl", "-sS", "-u", AUTH, "-D", "-", "--max-time", "30"]
    # HEAD with -X would wait for the body the length announces
    cmd += ["-I"] if method == "HEAD" else ["-X", method]
    if raw_path:
        cmd.append("--path-as-is")
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        cmd += ["--data-binary", "@-"]
    out = subprocess.run(cmd + [url(node, path)], input=data,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    # 100 Continue comes first when curl asks for it
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, head.decode(), body


def on_disk(node, rel):
    p = node.path(rel)
    return p.read_bytes() if p.is_file() else None


def wait_content(node, rel, data):
    wait_for(lambda: on_disk(node, rel) == data, REPLICATE,
             f"{rel} on {node.name}")


def test_litmus(cluster):
    """Every suite of litmus passes (basic, copymove, props, locks,
    http: 104 tests)."""
    if shutil.which("litmus") is None:
        pytest.skip("litmus is not installed (scripts/deps.sh)")
    n1 = cluster[0]
    out = subprocess.run(["litmus", url(n1, "/"), "guest", "guest"],
                         capture_output=True, text=True, timeout=120,
                         cwd=n1.dir.parent)
    print(out.stdout)
    found = re.findall(r"<- summary for `(\w+)': of (\d+) tests run: "
                       r"(\d+) passed, (\d+) failed", out.stdout)
    assert [s for s, *_ in found] == list(SUITES), out.stdout
    for suite, run, passed, failed in found:
        assert failed == "0" and run == passed, (suite, out.stdout)
    assert "WARNING" not in out.stdout
    assert out.returncode == 0


def test_methods_with_curl(cluster):
    n1, n2 = cluster[0], cluster[1]
    st, head, _ = curl(n1, "OPTIONS", "/")
    assert st == 200 and "DAV: 1, 2" in head and "MS-Author-Via: DAV" in head
    assert re.search(r"Allow: .*PROPFIND.*LOCK", head)
    assert curl(n1, "MKCOL", "/c")[0] == 201
    assert curl(n1, "MKCOL", "/c")[0] == 405
    assert curl(n1, "MKCOL", "/none/c")[0] == 409
    assert curl(n1, "MKCOL", "/c2", data=b"<x/>")[0] == 415
    data = os.urandom(100000)
    st, head, _ = curl(n1, "PUT", "/c/f.bin", ["X-OC-Mtime: 1600000000"],
                       data=data)
    assert st == 201 and "ETag:" in head
    assert curl(n1, "PUT", "/none/f.bin", data=b"x")[0] == 409
    st, head, body = curl(n1, "GET", "/c/f.bin", ["Range: bytes=10-19"])
    assert st == 206 and body == data[10:20]
    assert curl(n1, "HEAD", "/c/f.bin")[0] == 200
    assert n1.path("c/f.bin").stat().st_mtime == 1600000000
    wait_content(n2, "c/f.bin", data)
    st, _, body = curl(n1, "PROPFIND", "/c", ["Depth: 1"])
    assert st == 207
    assert b"<D:href>/c/f.bin</D:href>" in body
    assert b"<D:getcontentlength>100000</D:getcontentlength>" in body
    assert b"<D:collection/>" in body
    assert curl(n1, "PROPFIND", "/missing", ["Depth: 0"])[0] == 404
    st, _, body = curl(n1, "PROPFIND", "/", ["Depth: infinity"])
    assert st == 403 and b"propfind-finite-depth" in body
    assert curl(n1, "COPY", "/c/f.bin",
                [f"Destination: {url(n1, '/c/g.bin')}"])[0] == 201
    assert curl(n1, "COPY", "/c/f.bin",
                [f"Destination: {url(n1, '/c/g.bin')}",
                 "Overwrite: F"])[0] == 412
    assert curl(n1, "MOVE", "/c", [f"Destination: {url(n1, '/d')}"])[0] \
        == 201
    wait_content(n2, "d/g.bin", data)
    wait_for(lambda: not n2.path("c").exists(), REPLICATE, "c gone on n2")
    # dead properties replicate with the file
    st, _, body = curl(n1, "PROPPATCH", "/d/g.bin", data=(
        b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
        b'xmlns:Z="urn:x"><D:set><D:prop><Z:colour>blue</Z:colour>'
        b'</D:prop></D:set></D:propertyupdate>'))
    assert st == 207 and b"200 OK" in body
    ask = (b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
           b'<Z:colour xmlns:Z="urn:x"/></D:prop></D:propfind>')

    def colour_on_n2():
        st, _, body = curl(n2, "PROPFIND", "/d/g.bin", ["Depth: 0"], ask)
        return st == 207 and b">blue<" in body
    wait_for(colour_on_n2, REPLICATE, "the dead property on n2")
    # getlastmodified sets the mtime; the other live properties are
    # protected
    st, _, body = curl(n1, "PROPPATCH", "/d/g.bin", data=(
        b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        b'<D:getlastmodified>Mon, 02 Jan 2006 15:04:05 GMT'
        b'</D:getlastmodified></D:prop></D:set></D:propertyupdate>'))
    assert st == 207 and b"200 OK" in body
    wait_for(lambda: n2.path("d/g.bin").exists() and
             n2.path("d/g.bin").stat().st_mtime == 1136214245, REPLICATE,
             "the mtime on n2")
    assert colour_on_n2()
    st, _, body = curl(n1, "PROPPATCH", "/d/g.bin", data=(
        b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        b'<D:getcontentlength>1</D:getcontentlength></D:prop></D:set>'
        b'</D:propertyupdate>'))
    assert st == 207 and b"403 Forbidden" in body
    # COPY takes the dead properties along
    assert curl(n1, "COPY", "/d/g.bin",
                [f"Destination: {url(n1, '/d/h.bin')}"])[0] == 201
    st, _, body = curl(n1, "PROPFIND", "/d/h.bin", ["Depth: 0"], ask)
    assert st == 207 and b">blue<" in body
    assert curl(n1, "DELETE", "/d")[0] == 204
    assert curl(n1, "DELETE", "/d")[0] == 404
    wait_for(lambda: not n2.path("d").exists(), REPLICATE, "d gone on n2")


def test_bad_input(cluster):
    """Refused with a clear status, nothing changed, the node lives."""
    n1 = cluster[0]
    assert curl(n1, "MKCOL", "/b")[0] == 201
    assert curl(n1, "PUT", "/b/f", data=b"keep")[0] == 201
    # traversal in the path and in Destination
    assert curl(n1, "GET", "/b/../../etc/passwd", raw_path=True)[0] == 400
    assert curl(n1, "GET", "/b/%2e%2e/%2e%2e/etc/passwd",
                raw_path=True)[0] == 400
    assert curl(n1, "MOVE", "/b/f",
                [f"Destination: {url(n1, '/b/../../x')}"])[0] == 400
    # the private folder does not exist for a client
    assert curl(n1, "PROPFIND", "/.shoal", ["Depth: 0"])[0] == 404
    assert curl(n1, "GET", "/.shoal/users")[0] == 404
    st, _, body = curl(n1, "PROPFIND", "/", ["Depth: 1"])
    assert st == 207 and b".shoal" not in body
    # another host
    assert curl(n1, "COPY", "/b/f",
                ["Destination: http://elsewhere.example/f"])[0] == 502
    # a folder into itself
    assert curl(n1, "MOVE", "/b",
                [f"Destination: {url(n1, '/b/inner')}"])[0] == 403
    # an entity bomb and an external entity
    bomb = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<D:propfind xmlns:D="DAV:"><D:prop><x>&b;</x></D:prop>'
            b'</D:propfind>')
    assert curl(n1, "PROPFIND", "/b", ["Depth: 0"], bomb)[0] == 400
    xxe = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM '
           b'"file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:">'
           b'<D:set><D:prop><x>&e;</x></D:prop></D:set>'
           b'</D:propertyupdate>')
    assert curl(n1, "PROPPATCH", "/b/f", data=xxe)[0] == 400
    deep = b'<D:propfind xmlns:D="DAV:">' + b"<a>" * 100
    assert curl(n1, "PROPFIND", "/b", ["Depth: 0"], deep)[0] == 413
    # a huge PROPPATCH
    huge = (b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x>' +
            b"v" * 300000 + b"</x></D:prop></D:set></D:propertyupdate>")
    assert curl(n1, "PROPPATCH", "/b/f", data=huge)[0] == 413
    # an If header that does not hold
    assert curl(n1, "PUT", "/b/f", ['If: (["0000"])'], b"new")[0] == 412
    assert curl(n1, "PUT", "/b/f", ["If: garbage"], b"new")[0] == 400
    assert curl(n1, "BREW", "/b")[0] == 501
    assert on_disk(n1, "b/f") == b"keep"
    assert curl(n1, "OPTIONS", "/")[0] == 200


def test_links_shown_as_their_targets(cluster):
    """A symlink inside the folder is what it leads to; a dangling one
    is not listed."""
    n1 = cluster[0]
    assert curl(n1, "MKCOL", "/l")[0] == 201
    assert curl(n1, "PUT", "/l/f", data=b"1234")[0] == 201
    os.symlink("f", n1.path("l/ln"))
    os.symlink("missing", n1.path("l/dangling"))
    st, _, body = curl(n1, "PROPFIND", "/l", ["Depth: 1"])
    assert st == 207
    responses = body.split(b"<D:response>")
    ln = [r for r in responses if b"<D:href>/l/ln</D:href>" in r]
    assert len(ln) == 1 and b">4</D:getcontentlength>" in ln[0], body
    assert b"dangling" not in body


def test_locks_hold_other_front_ends(cluster):
    n1 = cluster[0]
    assert curl(n1, "PUT", "/locked.txt", data=b"v1")[0] == 201
    st, head, body = curl(n1, "LOCK", "/locked.txt", ["Timeout: Second-60"],
                          b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
                          b'<D:lockscope><D:exclusive/></D:lockscope>'
                          b'<D:locktype><D:write/></D:locktype>'
                          b'<D:owner>test</D:owner></D:lockinfo>')
    assert st == 200, body
    # no tracker: the lock says how far it reaches
    assert "Shoal-Lock: held on this node only" in head
    token = re.search(r"Lock-Token: <([^>]+)>", head).group(1)
    # lockdiscovery shows it
    st, _, body = curl(n1, "PROPFIND", "/locked.txt", ["Depth: 0"])
    assert token.encode() in body
    # WebDAV without the token, the HTTP files API, FTP: all refused
    assert curl(n1, "PUT", "/locked.txt", data=b"no")[0] == 423
    req = urllib.request.Request(
        f"http://{n1.http_addr}/v1/files/locked.txt", data=b"no",
        method="PUT", headers={"Authorization": "Basic " +
                               base64.b64encode(AUTH.encode()).decode()})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 423
    ftp = n1.ftp()
    with pytest.raises(ftplib.error_temp) as e:
        ftp.storbinary("STOR /locked.txt", io.BytesIO(b"no"))
    assert str(e.value).startswith("450")
    # with the token: allowed; after UNLOCK: everyone again
    assert curl(n1, "PUT", "/locked.txt", [f"If: (<{token}>)"],
                b"v2")[0] == 204
    assert curl(n1, "UNLOCK", "/locked.txt", [f"Lock-Token: <{token}>"])[0] \
        == 204
    ftp.storbinary("STOR /locked.txt", io.BytesIO(b"v3"))
    assert on_disk(n1, "locked.txt") == b"v3"


def test_davfs2_mount(cluster, tmp_path):
    """A mount used with ordinary file operations (not readdir: davfs2 on
    this kernel answers it with EINVAL even against Apache); the content
    is checked on n2."""
    if (os.geteuid() != 0 or shutil.which("mount.davfs") is None or
            not os.path.exists("/dev/fuse")):
        pytest.skip("needs root, /dev/fuse and davfs2")
    n1, n2 = cluster[0], cluster[1]
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # mount.davfs runs as the davfs2 user: its cache must be reachable
    # by it (pytest's folders are not)
    cache = tempfile.mkdtemp(prefix="shoal-davfs-", dir="/tmp")
    os.chmod(cache, 0o777)
    secrets = tmp_path / "secrets"
    secrets.write_text(f"{url(n1)} guest guest\n")
    os.chmod(secrets, 0o600)
    conf = tmp_path / "davfs2.conf"
    conf.write_text(f"secrets {secrets}\ncache_dir {cache}\n"
                    "delay_upload 0\nuse_locks 1\nask_auth 0\n")
    out = subprocess.run(["mount", "-t", "davfs", url(n1), str(mnt), "-o",
                          f"conf={conf}"], timeout=60, capture_output=True,
                         text=True)
    if out.returncode != 0:
        shutil.rmtree(cache, ignore_errors=True)
        pytest.fail(f"mount.davfs: {out.stdout}{out.stderr}")
    try:
        top = mnt / f"m{uuid.uuid4().hex[:8]}"
        top.mkdir()
        data = os.urandom(300000)
        (top / "draft").write_bytes(data)
        os.rename(top / "draft", top / "final.bin")
        assert (top / "final.bin").stat().st_size == len(data)
        assert (top / "final.bin").read_bytes() == data
        assert top.is_dir()
        os.sync()
    finally:
        subprocess.run(["umount", str(mnt)], timeout=60,
                       capture_output=True)
        shutil.rmtree(cache, ignore_errors=True)
    rel = f"{top.name}/final.bin"
    wait_content(n1, rel, data)
    wait_content(n2, rel, data)
    assert not n2.path(f"{top.name}/draft").exists()


def test_rclone(cluster, tmp_path):
    if shutil.which("rclone") is None:
        pytest.skip("rclone is not installed")
    n1, n2 = cluster[0], cluster[1]
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(200000))
    os.utime(src / "a.txt", (1500000000, 1500000000))
    env = dict(os.environ, RCLONE_CONFIG="/dev/null",
               RCLONE_WEBDAV_URL=url(n1), RCLONE_WEBDAV_VENDOR="owncloud",
               RCLONE_WEBDAV_USER="guest")
    env["RCLONE_WEBDAV_PASS"] = subprocess.run(
        ["rclone", "obscure", "guest"], capture_output=True, text=True,
        check=True, env=env, timeout=30).stdout.strip()
    for args in (["copy", str(src), ":webdav:rc"],
                 ["check", str(src), ":webdav:rc"]):
        out = subprocess.run(["rclone", *args], capture_output=True,
                             text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
    assert n1.path("rc/a.txt").stat().st_mtime == 1500000000
    wait_content(n2, "rc/sub/b.bin", (src / "sub" / "b.bin").read_bytes())
    wait_content(n2, "rc/a.txt", b"alpha\n")


def test_cluster_lock_holds_back_dav(tmp_path):
    """A lock taken with `shoal lock` on another node (the tracker's) is
    423 for WebDAV writers and for a LOCK; once it is released, both
    pass."""
    from test_tracker import node_locks, start_tracked

    c = Cluster(tmp_path)
    try:
        _, (n1, n2) = start_tracked(c, 2)
        assert curl(n1, "PUT", "/held.txt", data=b"v1")[0] == 201
        wait_content(n2, "held.txt", b"v1")
        r = n2.cli("lock", "/held.txt")
        assert r.returncode == 0, r.stdout + r.stderr
        # a PUT while n1 does not know the lock yet would pass: wait for it
        wait_for(lambda: "held.txt" in node_locks(n1), REPLICATE,
                 "n1 to know the lock")
        assert curl(n1, "PUT", "/held.txt", data=b"v2")[0] == 423
        # lockdiscovery on n1 shows n2's lease, held by the node itself
        st, _, body = curl(n1, "PROPFIND", "/held.txt", ["Depth: 0"])
        assert st == 207
        assert b"<D:exclusive/>" in body and b"<D:owner>(node)" in body
        lockinfo = (b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
                    b'<D:lockscope><D:exclusive/></D:lockscope>'
                    b'<D:locktype><D:write/></D:locktype></D:lockinfo>')
        assert curl(n1, "LOCK", "/held.txt", data=lockinfo)[0] == 423
        assert curl(n1, "DELETE", "/held.txt")[0] == 423
        assert on_disk(n1, "held.txt") == b"v1"
        r = n2.cli("unlock", "/held.txt")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_for(lambda: "held.txt" not in node_locks(n1), REPLICATE,
                 "n1 to know the lock is gone")
        assert curl(n1, "PUT", "/held.txt", data=b"v3")[0] == 204
        wait_content(n2, "held.txt", b"v3")
    finally:
        problems = c.shutdown()
    assert not problems, problems


LOCKINFO = (b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
            b'<D:lockscope><D:exclusive/></D:lockscope>'
            b'<D:locktype><D:write/></D:locktype></D:lockinfo>')


def http_put(node, rel, data):
    """PUT through a node's HTTP files API; its status."""
    req = urllib.request.Request(
        f"http://{node.http_addr}/v1/files/{rel}", data=data,
        method="PUT", headers={"Authorization": "Basic " +
                               base64.b64encode(AUTH.encode()).decode()})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_dav_lock_is_the_clusters(tmp_path):
    """With a tracker, a WebDAV LOCK on n1 is the tracker's lease: n2
    refuses writes to the path from WebDAV (423), FTP (450) and HTTP (423)
    and shows the lock in lockdiscovery; a refresh renews the lease;
    UNLOCK releases it and every writer passes again."""
    from test_tracker import node_locks, start_tracked

    c = Cluster(tmp_path)
    try:
        _, (n1, n2) = start_tracked(c, 2)
        assert curl(n1, "PUT", "/shared.txt", data=b"v1")[0] == 201
        wait_content(n2, "shared.txt", b"v1")
        st, head, body = curl(
            n1, "LOCK", "/shared.txt", ["Timeout: Second-120"],
            b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
            b'<D:lockscope><D:exclusive/></D:lockscope>'
            b'<D:locktype><D:write/></D:locktype>'
            b'<D:owner>editor</D:owner></D:lockinfo>')
        assert st == 200, body
        token = re.search(r"Lock-Token: <([^>]+)>", head).group(1)
        # n1 holds the tracker's lease; n2 refuses once it knows it
        lease = node_locks(n1)["shared.txt"]
        assert lease["owner"] == "guest"
        wait_for(lambda: "shared.txt" in node_locks(n2), REPLICATE,
                 "n2 to know the lease")
        assert curl(n2, "PUT", "/shared.txt", data=b"n2")[0] == 423
        assert curl(n2, "DELETE", "/shared.txt")[0] == 423
        assert curl(n2, "LOCK", "/shared.txt", [], LOCKINFO)[0] == 423
        # n1's token is nothing n2 knows: its If header does not hold
        assert curl(n2, "PUT", "/shared.txt", [f"If: (<{token}>)"],
                    b"n2")[0] == 412
        ftp = n2.ftp()
        with pytest.raises(ftplib.error_temp) as e:
            ftp.storbinary("STOR /shared.txt", io.BytesIO(b"n2"))
        assert str(e.value).startswith("450")
        assert http_put(n2, "shared.txt", b"n2") == 423
        # and the LOCK said how far it reaches
        assert "Shoal-Lock: cluster" in head
        # n2's PROPFIND reports it as an exclusive write lock
        st, _, body = curl(n2, "PROPFIND", "/shared.txt", ["Depth: 0"])
        assert st == 207
        assert b"<D:exclusive/>" in body and b"<D:owner>guest" in body
        # a refresh renews the lease (same fencing token)
        st, _, body = curl(n1, "LOCK", "/shared.txt",
                           ["Timeout: Second-300", f"If: (<{token}>)"])
        assert st == 200, body
        wait_for(lambda: node_locks(n2).get("shared.txt", {}).get(
            "remaining_s", 0) > 150, REPLICATE, "the lease renewed")
        assert node_locks(n1)["shared.txt"]["token"] == lease["token"]
        # the holder writes with its token on n1
        assert curl(n1, "PUT", "/shared.txt", [f"If: (<{token}>)"],
                    b"v2")[0] == 204
        assert on_disk(n2, "shared.txt") != b"n2"
        # UNLOCK releases the lease: every front end of n2 writes again
        assert curl(n1, "UNLOCK", "/shared.txt",
                    [f"Lock-Token: <{token}>"])[0] == 204
        assert "shared.txt" not in node_locks(n1)
        wait_for(lambda: "shared.txt" not in node_locks(n2), REPLICATE,
                 "n2 to know the lease is gone")
        assert curl(n2, "PUT", "/shared.txt", data=b"v3")[0] == 204
        ftp.storbinary("STOR /shared.txt", io.BytesIO(b"v4"))
        ftp.quit()
        assert http_put(n2, "shared.txt", b"v5") in (200, 201, 204)
        wait_content(n1, "shared.txt", b"v5")
        # the tracker locks no root: refused, and n1 stays linked to it
        assert curl(n1, "LOCK", "/", [], LOCKINFO)[0] == 403
        assert curl(n1, "LOCK", "/shared.txt", [], LOCKINFO)[0] == 200
        wait_for(lambda: "shared.txt" in node_locks(n2), REPLICATE,
                 "n2 to know the new lease")
    finally:
        problems = c.shutdown()
    assert not problems, problems


def test_dav_shared_locks_stand_on_one_lease(tmp_path):
    """Two shared locks of one account on one path are one lease: it
    stays while either does.  A DELETE that takes a lock releases its
    lease."""
    from test_tracker import node_locks, start_tracked

    shared = LOCKINFO.replace(b"<D:exclusive/>", b"<D:shared/>")
    c = Cluster(tmp_path)
    try:
        _, (n1, n2) = start_tracked(c, 2)
        assert curl(n1, "PUT", "/both.txt", data=b"v1")[0] == 201
        tokens = []
        for _ in range(2):
            st, head, body = curl(n1, "LOCK", "/both.txt", [], shared)
            assert st == 200, body
            tokens.append(re.search(r"Lock-Token: <([^>]+)>", head)[1])
        wait_for(lambda: "both.txt" in node_locks(n2), REPLICATE,
                 "n2 to know the lease")
        assert curl(n1, "UNLOCK", "/both.txt",
                    [f"Lock-Token: <{tokens[0]}>"])[0] == 204
        # the other shared lock still holds the lease
        assert "both.txt" in node_locks(n1)
        assert curl(n2, "PUT", "/both.txt", data=b"n2")[0] == 423
        # its holder deletes the file: the lock and its lease go
        assert curl(n1, "DELETE", "/both.txt",
                    [f"If: (<{tokens[1]}>)"])[0] == 204
        wait_for(lambda: "both.txt" not in node_locks(n2), REPLICATE,
                 "the lease to end with the lock")
        wait_for(lambda: on_disk(n2, "both.txt") is None, REPLICATE,
                 "the delete to reach n2")
        assert curl(n2, "PUT", "/both.txt", data=b"v2")[0] == 201
        wait_content(n1, "both.txt", b"v2")
    finally:
        problems = c.shutdown()
    assert not problems, problems


def test_dav_lock_ends_when_its_node_stops(tmp_path):
    """A node that stops takes its WebDAV locks' leases with it."""
    from test_tracker import node_locks, start_tracked

    c = Cluster(tmp_path)
    try:
        _, (n1, n2) = start_tracked(c, 2)
        st, head, body = curl(n1, "LOCK", "/gone.txt", [], LOCKINFO)
        assert st == 201, body
        wait_for(lambda: "gone.txt" in node_locks(n2), REPLICATE,
                 "n2 to know the lease")
        assert curl(n2, "PUT", "/gone.txt", data=b"n2")[0] == 423
        n1.stop()
        wait_for(lambda: "gone.txt" not in node_locks(n2), REPLICATE,
                 "the lease to end with n1")
        assert curl(n2, "PUT", "/gone.txt", data=b"n2")[0] in (201, 204)
    finally:
        problems = c.shutdown()
    assert not problems, problems


def test_default_guest_refused_when_dav_listens_beyond_loopback(tmp_path):
    """guest/guest is for loopback only: a node whose WebDAV endpoint
    listens beyond it does not start while guest has that password."""
    from cluster import free_port

    c = Cluster(tmp_path)
    n = c.new_node()
    port = free_port()
    try:
        n.start(options=[f"dav.listen=0.0.0.0:{port}"], wait=False)
        c.reaped.add(n.proc.pid)    # its exit is what is checked
        wait_for(lambda: n.proc.poll() is not None, 30, "the node to exit")
    finally:
        c.shutdown()
    assert n.proc.returncode != 0
    log = n.log()
    assert "guest" in log and "WebDAV" in log and f"0.0.0.0:{port}" in log


def test_propfind_depth_infinity_when_enabled(tmp_path):
    """dav.depth_infinity = yes: the whole tree in one answer."""
    c = Cluster(tmp_path)
    try:
        (n,) = c.start(1, options=["dav.depth_infinity=yes"])
        for p in ("/t", "/t/a", "/t/a/b"):
            assert curl(n, "MKCOL", p)[0] == 201
        assert curl(n, "PUT", "/t/a/b/deep.txt", data=b"deep")[0] == 201
        assert curl(n, "PUT", "/t/top.txt", data=b"top")[0] == 201
        st, _, body = curl(n, "PROPFIND", "/t", ["Depth: infinity"])
        assert st == 207
        hrefs = sorted(re.findall(rb"<D:href>([^<]*)</D:href>", body))
        assert hrefs == [b"/t/", b"/t/a/", b"/t/a/b/", b"/t/a/b/deep.txt",
                         b"/t/top.txt"], body
    finally:
        problems = c.shutdown()
    assert not problems, problems


def test_copy_of_a_file_held_elsewhere(tmp_path):
    """replicas = 1: a COPY on a node that holds no copy of the source
    fetches one first (it answered 502), and an existing Destination is
    left alone until the bytes are here."""
    c = Cluster(tmp_path)
    try:
        nodes = c.start(3, init_args=["--replicas", "1"],
                        args=["--repair-delay", "3"])
        files = {f"h{i}.bin": os.urandom(40000 + 313 * i) for i in range(18)}
        for name, data in files.items():
            st, _, _ = curl(nodes[0], "PUT", f"/{name}", data=data)
            assert st in (201, 204), st

        def holders(name):
            return [n for n in nodes if on_disk(n, name) == files[name]]
        wait_for(lambda: all(len(holders(n)) == 1 for n in files),
                 REPLICATE * 2, "each file on exactly one node")
        node = nodes[1]
        away = [n for n in files if node not in holders(n)]
        assert len(away) >= 2, away
        st, _, _ = curl(node, "COPY", f"/{away[0]}",
                        headers=[f"Destination: {url(node, '/copied.bin')}"])
        assert st == 201, st
        st, _, body = curl(node, "GET", "/copied.bin")
        assert st == 200 and body == files[away[0]]
        # Over an existing file (Overwrite: T): 204, the new bytes.
        st, _, _ = curl(node, "COPY", f"/{away[1]}",
                        headers=[f"Destination: {url(node, '/copied.bin')}"])
        assert st == 204, st
        st, _, body = curl(node, "GET", "/copied.bin")
        assert st == 200 and body == files[away[1]]
    finally:
        problems = c.shutdown()
        if problems:
            pytest.fail("\n".join(problems))
