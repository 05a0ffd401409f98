"""The FTP command set of RFC 959 / 2389 / 2428 / 3659 and shoal's
extensions (HASH, NETS), driven through ftplib against a real node."""

import calendar
import ftplib
import hashlib
import os
import random
import re
import socket
import threading

import pytest

from conftest import HASH_RE, ExtFTP, names, raw, read_all, retr, stor


def sha(data):
    return hashlib.sha256(data).hexdigest()


# --- session -----------------------------------------------------------------


def test_greeting_and_guest_login(node):
    n = node()
    ftp = ftplib.FTP(timeout=10)
    try:
        greeting = ftp.connect(n.host, n.port)
        assert greeting.startswith("220"), greeting
        assert raw(ftp, "USER guest").startswith("331")
        assert raw(ftp, "PASS guest").startswith("230")
        assert ftp.pwd() == "/"
        assert raw(ftp, "QUIT").startswith("221")
    finally:
        ftp.close()


# (command sent, reply expected): a full line when it has a space after the
# code, otherwise just the code.
SIMPLE_REPLIES = [
    ("NOOP", "200"),
    ("SYST", "215 UNIX Type: L8"),
    ("ALLO 100", "202"),
    ("OPTS UTF8 ON", "200"),
    ("TYPE A", "200"),
    ("TYPE I", "200"),
    ("MODE S", "200"),
    ("MODE B", "504"),
    ("MODE C", "504"),
    ("STRU F", "200"),
    ("STRU R", "504"),
    ("STRU P", "504"),
    ("NETS", "201 Network size is 1."),
    ("SITE CHMOD 777 x", "502"),
    ("XYZZY", "500"),
    ("ABOR", "225"),
    ("RNTO nowhere", "503"),
    ("PWD", '257 "/"'),
]


def test_simple_replies(node):
    ftp = node().ftp()
    for cmd, want in SIMPLE_REPLIES:
        reply = raw(ftp, cmd)
        if " " in want:
            assert reply.startswith(want), (cmd, reply)
        else:
            assert reply[:3] == want and reply[3:4] in (" ", "-"), \
                (cmd, reply)
    # the session is still usable after all of the above
    assert ftp.pwd() == "/"


def test_help_and_stat(node):
    n = node()
    (n.dir / "listed.txt").write_bytes(b"hello")
    ftp = n.ftp()
    help_reply = raw(ftp, "HELP")
    assert help_reply.startswith("214"), help_reply
    stat = raw(ftp, "STAT")
    assert stat.startswith("211"), stat
    stat_path = raw(ftp, "STAT /")
    assert stat_path.startswith("213"), stat_path
    assert "listed.txt" in stat_path


def test_feat_lists_extensions(node):
    ftp = node().ftp()
    reply = raw(ftp, "FEAT")
    lines = reply.splitlines()
    assert lines[0].startswith("211-"), reply
    assert lines[-1].startswith("211 "), reply
    features = [l.strip().upper() for l in lines[1:-1]]
    for want in ("AUTH TLS", "PBSZ", "PROT", "EPSV", "EPRT", "MDTM", "SIZE",
                 "REST STREAM", "MLST", "UTF8", "HASH"):
        assert any(f == want or f.startswith(want + " ") for f in features), \
            f"FEAT lacks {want!r}: {features}"


# --- directories -------------------------------------------------------------


def test_directory_commands(node):
    n = node()
    ftp = n.ftp()
    assert ftp.pwd() == "/"
    made = raw(ftp, "MKD docs")
    assert made.startswith("257"), made
    assert re.search(r'"/?docs"', made), made
    assert (n.dir / "docs").is_dir()
    assert raw(ftp, "MKD docs").startswith("550")

    assert raw(ftp, "CWD docs").startswith("250")
    assert ftp.pwd() == "/docs"
    assert raw(ftp, "MKD inner").startswith("257")
    assert (n.dir / "docs" / "inner").is_dir()
    assert raw(ftp, "CDUP").startswith("250")
    assert ftp.pwd() == "/"
    assert raw(ftp, "XCWD /docs/inner").startswith("250")
    assert ftp.pwd() == "/docs/inner"
    assert raw(ftp, "CWD /").startswith("250")
    assert raw(ftp, "CWD nowhere").startswith("550")
    assert ftp.pwd() == "/"

    (n.dir / "file.txt").write_bytes(b"x")
    assert raw(ftp, "CWD file.txt").startswith("550")

    # not empty, then empty
    assert raw(ftp, "RMD docs").startswith("550")
    assert (n.dir / "docs").is_dir()
    assert raw(ftp, "RMD docs/inner").startswith("250")
    assert raw(ftp, "RMD docs").startswith("250")
    assert not (n.dir / "docs").exists()
    assert raw(ftp, "RMD docs").startswith("550")


def test_dele_and_rename(node):
    n = node()
    (n.dir / "a.txt").write_bytes(b"alpha")
    (n.dir / "sub").mkdir()
    ftp = n.ftp()

    assert raw(ftp, "RNTO b.txt").startswith("503")
    assert raw(ftp, "RNFR missing.txt").startswith("550")
    assert raw(ftp, "RNFR a.txt").startswith("350")
    assert raw(ftp, "RNTO b.txt").startswith("250")
    assert not (n.dir / "a.txt").exists()
    assert (n.dir / "b.txt").read_bytes() == b"alpha"

    assert raw(ftp, "RNFR b.txt").startswith("350")
    assert raw(ftp, "RNTO sub/c.txt").startswith("250")
    assert (n.dir / "sub" / "c.txt").read_bytes() == b"alpha"
    assert names(ftp) == {"sub"}

    assert raw(ftp, "DELE sub/c.txt").startswith("250")
    assert not (n.dir / "sub" / "c.txt").exists()
    assert raw(ftp, "DELE sub/c.txt").startswith("550")


def test_size_and_mdtm(node):
    n = node()
    path = n.dir / "dated.bin"
    path.write_bytes(b"z" * 12345)
    when = calendar.timegm((2001, 2, 3, 4, 5, 6, 0, 0, 0))
    os.utime(path, (when, when))
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    assert raw(ftp, "SIZE dated.bin") == "213 12345"
    assert raw(ftp, "MDTM dated.bin") == "213 20010203040506"
    assert raw(ftp, "SIZE nope.bin").startswith("550")
    assert raw(ftp, "MDTM nope.bin").startswith("550")


def parse_facts(text):
    facts, _, name = text.strip().partition(" ")
    out = {}
    for fact in facts.split(";"):
        if "=" in fact:
            k, v = fact.split("=", 1)
            out[k.lower()] = v
    return out, name


def test_mlst_and_mlsd(node):
    n = node()
    (n.dir / "one.bin").write_bytes(b"1" * 100)
    (n.dir / "dir").mkdir()
    ftp = n.ftp()

    reply = raw(ftp, "MLST one.bin")
    lines = reply.splitlines()
    assert lines[0].startswith("250-"), reply
    assert lines[-1].startswith("250"), reply
    facts, name = parse_facts(lines[1])
    assert name.endswith("one.bin")
    assert facts.get("type") == "file"
    assert facts.get("size") == "100"
    assert raw(ftp, "MLST absent").startswith("550")

    entries = {name: facts for name, facts in ftp.mlsd()}
    entries.pop(".", None)
    entries.pop("..", None)
    assert set(entries) == {"one.bin", "dir"}
    assert entries["one.bin"]["type"] == "file"
    assert entries["one.bin"]["size"] == "100"
    assert entries["dir"]["type"] == "dir"


def test_list_and_nlst(node):
    n = node()
    (n.dir / "f1.txt").write_bytes(b"abc")
    (n.dir / "d1").mkdir()
    (n.dir / "d1" / "inside.txt").write_bytes(b"in")
    ftp = n.ftp()
    assert names(ftp) == {"f1.txt", "d1"}
    assert names(ftp, "d1") == {"inside.txt"}
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert len(lines) == 2
    assert any(l.startswith("d") and l.endswith(" d1") for l in lines), lines
    assert any(l.startswith("-") and l.endswith(" f1.txt") for l in lines), \
        lines


def test_hash_of_uploaded_file(node):
    n = node()
    ftp = n.ftp()
    data = os.urandom(300_000)
    stor(ftp, "h.bin", data)
    reply = raw(ftp, "HASH h.bin")
    m = HASH_RE.match(reply)
    assert m, reply
    assert int(m.group(1)) == len(data)
    assert m.group(2).lower() == sha(data)
    assert m.group(3).endswith("h.bin")
    assert raw(ftp, "HASH nothere.bin").startswith("550")


# --- data connections --------------------------------------------------------


def test_transfer_without_port_or_pasv_is_425(node):
    n = node()
    (n.dir / "x.txt").write_bytes(b"x")
    ftp = n.ftp()
    assert raw(ftp, "RETR x.txt").startswith("425")
    assert raw(ftp, "STOR y.txt").startswith("425")
    assert not (n.dir / "y.txt").exists()
    assert raw(ftp, "NOOP").startswith("200")


def test_pasv_and_epsv_replies(node):
    ftp = node().ftp()
    pasv = raw(ftp, "PASV")
    m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", pasv)
    assert m, pasv
    assert m.group(1, 2, 3, 4) == ("127", "0", "0", "1")
    assert int(m.group(5)) * 256 + int(m.group(6)) > 0
    epsv = raw(ftp, "EPSV")
    assert re.match(r"229 .*\(\|\|\|\d+\|\)", epsv), epsv


def test_pasv_ports_and_address_options(node):
    base = random.randrange(40000, 60000, 20)
    n = node(f"ftp.pasv_ports={base}-{base + 9}",
             "ftp.pasv_address=127.0.0.3")
    (n.dir / "x.bin").write_bytes(b"range")
    ftp = n.ftp()
    for _ in range(3):
        pasv = raw(ftp, "PASV")
        m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", pasv)
        assert m, pasv
        assert m.group(1, 2, 3, 4) == ("127", "0", "0", "3")
        port = int(m.group(5)) * 256 + int(m.group(6))
        assert base <= port <= base + 9
        epsv = raw(ftp, "EPSV")
        port = int(re.search(r"\(\|\|\|(\d+)\|\)", epsv).group(1))
        assert base <= port <= base + 9
    # ftplib connects to the control address, which the node must accept
    assert retr(ftp, "x.bin") == b"range"


@pytest.mark.parametrize("mode", ["PASV", "EPSV", "PORT", "EPRT"])
def test_transfers_in_every_data_mode(node, mode):
    n = node()
    ftp = n.ftp(cls=ExtFTP if mode in ("EPSV", "EPRT") else ftplib.FTP)
    ftp.set_pasv(mode in ("PASV", "EPSV"))
    data = os.urandom(200_000)
    assert stor(ftp, "m.bin", data).startswith("226")
    assert (n.dir / "m.bin").read_bytes() == data
    assert retr(ftp, "m.bin") == data
    assert names(ftp) == {"m.bin"}
    entries = [name for name, _ in ftp.mlsd() if name not in (".", "..")]
    assert entries == ["m.bin"]


def test_rest_retr(node):
    n = node()
    data = os.urandom(50_000)
    (n.dir / "r.bin").write_bytes(data)
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    assert raw(ftp, "REST 1234").startswith("350")
    assert retr(ftp, "r.bin", rest=1234) == data[1234:]
    # a plain RETR afterwards starts at 0 again
    assert retr(ftp, "r.bin") == data


def test_rest_stor(node):
    n = node()
    old = os.urandom(30_000)
    (n.dir / "w.bin").write_bytes(old)
    ftp = n.ftp()
    new = os.urandom(20_000)
    assert stor(ftp, "w.bin", new, rest=10_000).startswith("226")
    assert (n.dir / "w.bin").read_bytes() == old[:10_000] + new
    assert retr(ftp, "w.bin") == old[:10_000] + new


def test_appe(node):
    n = node()
    ftp = n.ftp()
    first, second = os.urandom(7000), os.urandom(9000)
    stor(ftp, "log.bin", first)
    assert stor(ftp, "log.bin", second, cmd="APPE").startswith("226")
    assert (n.dir / "log.bin").read_bytes() == first + second
    assert retr(ftp, "log.bin") == first + second


def stou(ftp, data):
    host, port = ftp.makepasv()
    conn = socket.create_connection((host, port), timeout=10)
    try:
        reply = ftp.sendcmd("STOU")
        assert reply.startswith("150"), reply
        m = re.search(r"FILE: (\S+)", reply)
        assert m, reply
        conn.sendall(data)
    finally:
        conn.close()
    done = ftp.voidresp()
    assert done.startswith("226"), done
    return m.group(1).lstrip("/")


def test_stou_creates_unique_files(node):
    n = node()
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    a, b = b"first upload", b"second upload"
    name_a = stou(ftp, a)
    name_b = stou(ftp, b)
    assert name_a != name_b
    assert (n.dir / name_a).read_bytes() == a
    assert (n.dir / name_b).read_bytes() == b
    assert names(ftp) == {name_a, name_b}


def test_abor_during_large_retr(node):
    n = node()
    size = 64 << 20
    with open(n.dir / "huge.bin", "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
    (n.dir / "small.txt").write_bytes(b"still here")
    ftp = n.ftp()
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR huge.bin")
    got = len(conn.recv(65536))
    assert got > 0
    ftp.putcmd("ABOR")
    first = ftp.getmultiline()
    assert first.startswith("426"), first
    second = ftp.getmultiline()
    assert second.startswith("226"), second
    conn.settimeout(10)
    try:
        got += len(read_all(conn))
    except ConnectionError:
        pass
    conn.close()
    assert got < size
    # the session carries on
    assert raw(ftp, "NOOP").startswith("200")
    assert retr(ftp, "small.txt") == b"still here"


def test_all_byte_values_round_trip(node):
    n = node()
    ftp = n.ftp()
    data = bytes(range(256)) * 4096 + b"\r\n\r\r\n\n\x00\xff"
    stor(ftp, "bytes.bin", data)
    assert (n.dir / "bytes.bin").read_bytes() == data
    assert retr(ftp, "bytes.bin") == data
    assert raw(ftp, "SIZE bytes.bin") == f"213 {len(data)}"


def test_20_mib_round_trip(node):
    n = node()
    ftp = n.ftp()
    data = os.urandom(20 << 20)
    digest = sha(data)
    stor(ftp, "big.bin", data)
    assert hashlib.sha256((n.dir / "big.bin").read_bytes()).hexdigest() \
        == digest
    assert hashlib.sha256(retr(ftp, "big.bin")).hexdigest() == digest
    m = HASH_RE.match(raw(ftp, "HASH big.bin"))
    assert m and m.group(2).lower() == digest


def test_quit_closes(node):
    ftp = node().ftp()
    assert raw(ftp, "QUIT").startswith("221")
    ftp.sock.settimeout(5)
    assert ftp.sock.recv(100) == b""


def test_names_with_spaces_and_utf8(node):
    n = node()
    ftp = n.ftp()
    assert ftp.encoding.lower().replace("-", "") == "utf8"
    name = "my report ü€ 2024.txt"
    data = "Grüße\n".encode()
    stor(ftp, name, data)
    assert (n.dir / name).read_bytes() == data
    assert name in names(ftp)
    assert retr(ftp, name) == data
    assert raw(ftp, f"SIZE {name}") == f"213 {len(data)}"
    assert ftp.mkd("dir with space").endswith("dir with space")
    ftp.cwd("dir with space")
    assert ftp.pwd() == "/dir with space"


def test_empty_file(node):
    n = node()
    ftp = n.ftp()
    assert stor(ftp, "empty.bin", b"").startswith("226")
    assert (n.dir / "empty.bin").read_bytes() == b""
    assert retr(ftp, "empty.bin") == b""
    assert raw(ftp, "SIZE empty.bin") == "213 0"
    m = HASH_RE.match(raw(ftp, "HASH empty.bin"))
    assert m, "no HASH for an empty file"
    assert m.group(1) == "0" and m.group(2).lower() == sha(b"")


def test_concurrent_sessions(node):
    n = node()
    count, rounds = 16, 4
    clients = [n.ftp() for _ in range(count)]
    for r in range(rounds):
        blobs = [os.urandom(200_000 + i) for i in range(count)]
        errors = []

        def work(i):
            name = f"r{r}c{i}.bin"
            try:
                stor(clients[i], name, blobs[i])
                if retr(clients[i], name) != blobs[i]:
                    errors.append(f"session {i}: {name} read back wrong")
            except Exception as e:  # reported below with the session number
                errors.append(f"session {i}: {e!r}")

        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "sessions hung"
        assert errors == [], f"round {r}"
        for i in range(count):
            assert (n.dir / f"r{r}c{i}.bin").read_bytes() == blobs[i]
