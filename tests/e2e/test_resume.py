"""Resumable uploads: an interrupted upload (of a new file, or of a file
that replaces one) is kept as a partial under DIR/.shoal/tmp/partial (never
under its name, never sent to peers), and the same account resumes it: FTP
REST n + STOR (ftplib, lftp `put -c`), APPE after SIZE (curl `-C -`), HTTP
PUT with Content-Range.  Every resumed file is checked by its SHA-256 on
both nodes, which also checks the block hashes: the second node fetches
the file block by block and verifies each one."""

import hashlib
import json
import io
import os
import shutil
import socket
import struct
import subprocess

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import SHOAL, Cluster, wait_for  # noqa: E402

pytest_plugins = ["cluster"]

REPLICATE = 60.0
SIZE = 3 * 1024 * 1024 + 12345      # a few blocks and a bit
CUT = 1536 * 1024 + 777             # where the upload is interrupted


@pytest.fixture
def cluster(tmp_path):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_sha(path):
    try:
        return sha(path.read_bytes())
    except FileNotFoundError:
        return None


def partials(node):
    d = node.dir / ".shoal" / "tmp" / "partial"
    return sorted(p for p in d.iterdir() if p.is_file()) if d.exists() \
        else []


def tmp_bytes(node):
    total = 0
    for p in (node.dir / ".shoal" / "tmp").rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except FileNotFoundError:
            pass
    return total


def reset(sock):
    """Close with a TCP reset: the peer sees an error, not an end of
    file (an end of file would be the end of the upload)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def interrupt(node, ftp, name, data, how="data"):
    """STOR name, send data, wait until the node has written all of it,
    then interrupt: "data" resets the data connection, "control" drops
    the control connection, "abor" sends ABOR.  Returns once the node has
    kept the partial."""
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"STOR {name}")
    conn.sendall(data)
    wait_for(lambda: tmp_bytes(node) >= len(data), 30,
             f"{len(data)} bytes written in {node.name}'s tmp",
             diag=lambda: tmp_bytes(node))
    if how == "data":
        reset(conn)
        resp = ftp.getmultiline()
        assert resp.startswith("426"), resp
    elif how == "control":
        # The control connection goes first and the node sees it go; only
        # then does the data connection end (an end of file alone would be
        # the end of the upload, by FTP's rules).
        seen = node.log().count("closed: connection error")
        ftp.file.close()
        reset(ftp.sock)
        ftp.sock = ftp.file = None
        wait_for(lambda: node.log().count("closed: connection error")
                 > seen, 30, "the node to see the control connection go")
        conn.close()
    else:
        # ABOR in band; the data connection goes with it
        ftp.putcmd("ABOR")
        conn.close()
        resp = ftp.getmultiline()
        assert resp.startswith("426"), resp
        resp = ftp.getmultiline()
        assert resp.startswith("226"), resp
    wait_for(lambda: [p for p in partials(node)
                      if p.stat().st_size == len(data)], 30,
             f"a partial of {len(data)} bytes in {node.name}",
             diag=lambda: [(p.name, p.stat().st_size)
                           for p in partials(node)])


def raw(ftp, line):
    ftp.putcmd(line)
    return ftp.getmultiline()


def check_both(n1, n2, name, data):
    assert file_sha(n1.path(name)) == sha(data)
    wait_for(lambda: file_sha(n2.path(name)) == sha(data), REPLICATE,
             f"{name} with the right content on {n2.name}",
             diag=lambda: file_sha(n2.path(name)))
    f = n2.ftp()
    assert f.sendcmd(f"HASH {name}").split()[3] == sha(data)


def test_ftplib_rest_stor_resumes_an_interrupted_upload(cluster):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    f = n1.ftp()
    interrupt(n1, f, "big.bin", data[:CUT], how="data")
    # Nothing under the name, here or on the peer; the peer is asked after
    # a write that went through, so anything announced before it is there.
    assert not n1.path("big.bin").exists()
    f.storbinary("STOR marker.txt", io.BytesIO(b"after\n"))
    wait_for(lambda: n2.path("marker.txt").exists(), REPLICATE, "marker")
    assert not n2.path("big.bin").exists()
    assert "big.bin" not in f.nlst()
    assert f.sendcmd("SIZE big.bin") == f"213 {CUT}"
    # A REST that is not the partial's size is refused, naming it.
    r = raw(f, "PASV")
    assert r.startswith("227"), r
    r = raw(f, f"REST {CUT + 1}")
    assert r.startswith("350"), r
    r = raw(f, "STOR big.bin")
    assert r.startswith("554") and f"REST {CUT}" in r, r
    assert len(partials(n1)) == 1
    # The resume itself, with the rest of the bytes.
    f.storbinary("STOR big.bin", io.BytesIO(data[CUT:]), rest=CUT)
    assert partials(n1) == []
    assert f.sendcmd("HASH big.bin").split()[3] == sha(data)
    check_both(n1, n2, "big.bin", data)


def test_dropped_control_connection_keeps_a_partial_across_restart(cluster):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    f = n1.ftp()
    interrupt(n1, f, "drop.bin", data[:CUT], how="control")
    assert not n1.path("drop.bin").exists()
    # It survives a restart (not an unfinished temp file, which would go).
    n1.stop()
    n1.start()
    assert len(partials(n1)) == 1
    f = n1.ftp()
    assert f.sendcmd("SIZE drop.bin") == f"213 {CUT}"
    f.storbinary("STOR drop.bin", io.BytesIO(data[CUT:]), rest=CUT)
    check_both(n1, n2, "drop.bin", data)


def test_stor_without_rest_starts_over(cluster):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    f = n1.ftp()
    interrupt(n1, f, "again.bin", data[:CUT], how="abor")
    new = os.urandom(100_000)
    f.storbinary("STOR again.bin", io.BytesIO(new))
    assert partials(n1) == []
    assert f.sendcmd("SIZE again.bin") == f"213 {len(new)}"
    check_both(n1, n2, "again.bin", new)


def test_appe_without_size_starts_afresh(cluster):
    # APPE continues a kept upload only after SIZE told the client its
    # size (curl -C -); otherwise the client does not know what is kept.
    (n1,) = cluster.start(1)
    data = os.urandom(SIZE)
    f = n1.ftp()
    interrupt(n1, f, "log.txt", data[:CUT], how="data")
    f.storbinary("APPE log.txt", io.BytesIO(b"first line\n"))
    assert n1.path("log.txt").read_bytes() == b"first line\n"
    assert partials(n1) == []


def lftp(node, script, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), LC_ALL="C.UTF-8")
    full = ("set net:max-retries 1; set net:timeout 20; "
            "set cmd:fail-exit true; set ftp:ssl-allow false; "
            f"{script}; bye")
    return subprocess.run(
        ["lftp", "-d", "-e", full, "-u", "guest,guest",
         f"ftp://127.0.0.1:{node.ftp_port}"], capture_output=True,
        timeout=120, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(shutil.which("lftp") is None, reason="lftp is needed")
def test_lftp_put_c_resumes(cluster, tmp_path):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    f = n1.ftp()
    interrupt(n1, f, "lftp.bin", data[:CUT], how="data")
    proc = lftp(n1, f"put -c {src} -o lftp.bin", tmp_path)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, out[-3000:]
    assert f"REST {CUT}" in out, out[-3000:]
    assert partials(n1) == []
    check_both(n1, n2, "lftp.bin", data)


@pytest.mark.skipif(shutil.which("lftp") is None, reason="lftp is needed")
def test_lftp_put_c_resumes_an_interrupted_overwrite(cluster, tmp_path):
    # The old file stays while its replacement is interrupted; lftp then
    # asks SIZE and must get where the replacement stopped, not the old
    # file's size (its bytes are not a prefix of the new ones).
    n1, n2 = cluster.start(2)
    old = os.urandom(2 * 1024 * 1024 + 99)
    data = os.urandom(SIZE)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    f = n1.ftp()
    f.storbinary("STOR over.bin", io.BytesIO(old))
    wait_for(lambda: file_sha(n2.path("over.bin")) == sha(old), REPLICATE,
             "the old version on n2")
    interrupt(n1, f, "over.bin", data[:CUT], how="data")
    assert n1.path("over.bin").read_bytes() == old
    assert f.sendcmd("SIZE over.bin") == f"213 {CUT}"
    proc = lftp(n1, f"put -c {src} -o over.bin", tmp_path)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, out[-3000:]
    assert f"REST {CUT}" in out, out[-3000:]
    assert partials(n1) == []
    check_both(n1, n2, "over.bin", data)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed")
def test_curl_continue_upload_resumes(cluster, tmp_path):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    f = n1.ftp()
    interrupt(n1, f, "curl.bin", data[:CUT], how="data")
    proc = subprocess.run(
        ["curl", "-sS", "-v", "--max-time", "120", "-C", "-", "-T", str(src),
         f"ftp://guest:guest@127.0.0.1:{n1.ftp_port}/curl.bin"],
        capture_output=True, timeout=150, stdin=subprocess.DEVNULL)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, out[-3000:]
    assert "APPE curl.bin" in out, out[-3000:]
    assert partials(n1) == []
    check_both(n1, n2, "curl.bin", data)


def test_stale_partials_expire(cluster):
    # 0.0005 h = 1.8 s: a partial goes within seconds.
    (n1,) = cluster.start(1, options=["ftp.partial_keep_hours=0.0005"])
    data = os.urandom(200_000)
    f = n1.ftp()
    ftp_cut = 150_000
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR old.bin")
    conn.sendall(data[:ftp_cut])
    wait_for(lambda: tmp_bytes(n1) >= ftp_cut, 30, "bytes written")
    reset(conn)
    assert f.getmultiline().startswith("426")
    wait_for(lambda: "kept 150000 bytes of old.bin" in n1.log(), 30,
             "the partial kept")
    wait_for(lambda: "removed 1 interrupted upload(s)" in n1.log(), 30,
             "the partial expired", diag=lambda: partials(n1))
    assert partials(n1) == []
    r = raw(f, "SIZE old.bin")
    assert r.startswith("550"), r
    r = raw(f, "PASV")
    r = raw(f, f"REST {ftp_cut}")
    r = raw(f, "STOR old.bin")
    assert r.startswith("554") and "nothing is kept" in r, r


def test_keep_none_removes_partials_at_start(cluster):
    (n1,) = cluster.start(1)
    data = os.urandom(100_000)
    f = n1.ftp()
    interrupt(n1, f, "gone.bin", data, how="data")
    n1.stop()
    n1.start(options=["ftp.partial_keep_hours=0"])
    wait_for(lambda: partials(n1) == [], 30, "no partial left",
             diag=lambda: partials(n1))
    f = n1.ftp()
    r = raw(f, "SIZE gone.bin")
    assert r.startswith("550"), r


# --- HTTP: PUT with Content-Range -------------------------------------------


def token(node):
    return (node.dir / ".shoal" / "api_token").read_text().strip()


def curl_http(node, method, path, *args, data=None, tmp=None, user=None):
    """curl against node's API (the API token, or user=(name, password));
    returns (status, headers, body)."""
    auth = ["-u", f"{user[0]}:{user[1]}"] if user else \
        ["-H", f"Authorization: Bearer {token(node)}"]
    cmd = ["curl", "-sS", "--max-time", "60", "-X", method, *auth, "-D", "-",
           "-o", str(tmp / "body"), *args]
    if data is not None:
        (tmp / "part").write_bytes(data)
        cmd += ["--data-binary", f"@{tmp / 'part'}",
                "-H", "Content-Type: application/octet-stream"]
    cmd.append(f"http://{node.http_addr}{path}")
    p = subprocess.run(cmd, capture_output=True, timeout=90,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    heads = p.stdout.decode(errors="replace").split("\r\n\r\n")
    final = [h for h in heads if h.startswith("HTTP/")
             and not h.startswith("HTTP/1.1 100")][-1]
    lines = final.split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, (tmp / "body").read_bytes()


def put_part(node, name, data, first, total, tmp, user=None):
    last = first + len(data) - 1
    return curl_http(node, "PUT", f"/v1/files/{name}", "-H",
                     f"Content-Range: bytes {first}-{last}/{total}",
                     data=data, tmp=tmp, user=user)


def test_http_content_range_parts(cluster, tmp_path):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    st, h, body = put_part(n1, "parts.bin", data[:CUT], 0, SIZE, tmp_path)
    assert st == 308, (st, h, body)
    assert h.get("range") == f"bytes=0-{CUT - 1}", h
    assert json.loads(body)["stored"] == CUT
    assert not n1.path("parts.bin").exists()
    st, h, body = curl_http(n1, "GET", "/v1/upload/parts.bin", tmp=tmp_path)
    assert st == 200 and json.loads(body)["stored"] == CUT, (st, body)
    assert h.get("range") == f"bytes=0-{CUT - 1}", h
    # Nothing was announced: a later write reaches n2 first.
    f = n1.ftp()
    f.storbinary("STOR marker.txt", io.BytesIO(b"after\n"))
    wait_for(lambda: n2.path("marker.txt").exists(), REPLICATE, "marker")
    assert not n2.path("parts.bin").exists()
    # A part that does not start where the stored bytes end.
    st, h, body = put_part(n1, "parts.bin", data[CUT + 5:], CUT + 5, SIZE,
                           tmp_path)
    assert st == 409, (st, body)
    assert h.get("range") == f"bytes=0-{CUT - 1}", h
    assert json.loads(body)["stored"] == CUT
    # The rest in two parts; the last one commits.
    mid = CUT + 700_000
    st, h, body = put_part(n1, "parts.bin", data[CUT:mid], CUT, SIZE,
                           tmp_path)
    assert st == 308 and h.get("range") == f"bytes=0-{mid - 1}", (st, h)
    st, h, body = put_part(n1, "parts.bin", data[mid:], mid, SIZE, tmp_path)
    assert st == 201, (st, body)
    assert json.loads(body)["sha256"] == sha(data)
    assert partials(n1) == []
    st, _, _ = curl_http(n1, "GET", "/v1/upload/parts.bin", tmp=tmp_path)
    assert st == 404
    check_both(n1, n2, "parts.bin", data)


def test_http_interrupted_put_resumes(cluster, tmp_path):
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    host, port = n1.http_addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall((f"PUT /v1/files/cut.bin HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {token(n1)}\r\n"
               f"Content-Length: {SIZE}\r\n"
               f"Content-Range: bytes 0-{SIZE - 1}/{SIZE}\r\n\r\n")
              .encode())
    s.sendall(data[:CUT])
    # The node writes whole chunks of 1 MiB while more is to come: what
    # is kept is what it wrote when the connection broke.
    wait_for(lambda: tmp_bytes(n1) >= 1 << 20, 30, "bytes written",
             diag=lambda: tmp_bytes(n1))
    reset(s)

    def stored():
        st, _, body = curl_http(n1, "GET", "/v1/upload/cut.bin",
                                tmp=tmp_path)
        return st == 200 and json.loads(body)["stored"]
    have = wait_for(stored, 30, "the interrupted PUT kept")
    assert 1 << 20 <= have <= CUT
    assert not n1.path("cut.bin").exists()
    st, _, body = put_part(n1, "cut.bin", data[have:], have, SIZE, tmp_path)
    assert st == 201, (st, body)
    check_both(n1, n2, "cut.bin", data)


def test_ftp_upload_finished_over_http(cluster, tmp_path):
    # One account, one kept upload, whichever front end goes on with it.
    n1, n2 = cluster.start(2)
    data = os.urandom(SIZE)
    guest = ("guest", "guest")
    interrupt(n1, n1.ftp(), "both.bin", data[:CUT], how="data")
    st, _, body = curl_http(n1, "GET", "/v1/upload/both.bin", tmp=tmp_path,
                            user=guest)
    assert st == 200 and json.loads(body)["stored"] == CUT, (st, body)
    # The API token is another account: it sees nothing kept.
    st, _, _ = curl_http(n1, "GET", "/v1/upload/both.bin", tmp=tmp_path)
    assert st == 404
    st, _, body = put_part(n1, "both.bin", data[CUT:], CUT, SIZE, tmp_path,
                           user=guest)
    assert st == 201, (st, body)
    check_both(n1, n2, "both.bin", data)
