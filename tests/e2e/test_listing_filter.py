"""One listing filter under every front end (src/front/fsview.h).

A node's folder holds files, a folder, symlinks that stay inside, point at
nothing, leave the folder or lead into .shoal, a FIFO, a socket, a name
that is not UTF-8 and names with control bytes.  FTP NLST, MLSD and LIST
and HTTP /v1/list must all show the same names: the files, the folder and
the links that stay inside, nothing else.
"""

import os
import socket

from test_http_api import Api, curl

SHOWN = {"file.txt", "sub", "caf\u00e9.txt", "link-in", "link-dir-in",
         "link-dangling"}


def make_folder(n, outside):
    d = n.dir
    (d / "file.txt").write_bytes(b"hello")
    (d / "sub").mkdir()
    (d / "sub" / "inner.txt").write_bytes(b"inner")
    (d / "caf\u00e9.txt").write_bytes(b"utf-8 is fine")
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside")
    os.symlink("file.txt", d / "link-in")
    os.symlink("sub", d / "link-dir-in")
    os.symlink("missing", d / "link-dangling")
    os.symlink(outside, d / "link-out-abs")
    os.symlink("../" + outside.name + "/secret.txt", d / "link-out-rel")
    os.symlink(".shoal/node_id", d / "link-private")
    os.symlink("fifo", d / "link-fifo")
    os.mkfifo(d / "fifo")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(d / "sock"))
    s.close()
    (d / os.fsdecode(b"bad-\xff\xfe-utf8")).write_bytes(b"x")
    (d / "ctl\r\n226 forged").write_bytes(b"x")
    (d / "tab\there").write_bytes(b"x")


def list_names(line):
    """The name in a LIST line (after eight columns), without a target."""
    name = line.split(None, 8)[8]
    return name.split(" -> ", 1)[0]


def test_same_names_through_ftp_and_http(node, tmp_path):
    n = node()
    make_folder(n, tmp_path / "outside")
    api = Api(n)

    ftp = n.ftp(timeout=30)
    nlst = set(ftp.nlst())
    mlsd = {name for name, _ in ftp.mlsd()}
    lines = []
    ftp.retrlines("LIST", lines.append)
    listed = {list_names(line) for line in lines}
    ftp.quit()

    r = curl(api, "/v1/list/")
    assert r.status == 200, r
    http = {e["name"] for e in r.json()["entries"]}

    assert nlst == SHOWN, nlst
    assert mlsd == SHOWN, mlsd
    assert listed == SHOWN, lines
    assert http == SHOWN, http


def test_links_shown_as_links_everywhere(node, tmp_path):
    n = node()
    make_folder(n, tmp_path / "outside")
    api = Api(n)

    ftp = n.ftp(timeout=30)
    facts = dict(ftp.mlsd(facts=["type"]))
    lines = []
    ftp.retrlines("LIST", lines.append)
    ftp.quit()
    http = {e["name"]: e for e in curl(api, "/v1/list/").json()["entries"]}

    for name in ("link-in", "link-dir-in", "link-dangling"):
        assert facts[name]["type"] == "OS.unix=symlink", facts[name]
        assert http[name]["type"] == "link", http[name]
    assert http["link-in"]["target"] == "file.txt", http["link-in"]
    assert any(line.startswith("l") and line.endswith(" link-in -> file.txt")
               for line in lines), lines
    assert facts["sub"]["type"] == "dir" and http["sub"]["type"] == "dir"
    assert facts["file.txt"]["type"] == "file"
    assert http["file.txt"]["type"] == "file"
