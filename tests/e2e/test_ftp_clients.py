"""Real FTP clients (curl, lftp) against a node, in every data mode, in the
clear and over TLS, moving files both ways."""

import os
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("lftp")),
    reason="curl and lftp are needed")


def curl(*args, timeout=60):
    proc = subprocess.run(["curl", "-sS", "-v", "--max-time", "40",
                           "-u", "guest:guest", *map(str, args)],
                          capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc


def ok(proc):
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return proc


def tree(root):
    """{relative path: bytes} for every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


CURL_MODES = {
    "EPSV": (["--ftp-pasv"], "EPSV", "PASV"),
    "PASV": (["--ftp-pasv", "--disable-epsv"], "PASV", "EPSV"),
    "EPRT": (["--ftp-port", "127.0.0.1"], "EPRT", "PORT"),
    "PORT": (["--ftp-port", "127.0.0.1", "--disable-eprt"], "PORT", "EPRT"),
}


def sent(proc, verb):
    """Whether curl's verbose log shows it sending `verb`."""
    return re.search(rb"^> " + verb.encode() + rb"\b", proc.stderr, re.M)


@pytest.mark.parametrize("mode", list(CURL_MODES))
def test_curl_both_ways(node, tmp_path, mode):
    flags, verb, not_verb = CURL_MODES[mode]
    n = node()
    up = tmp_path / "up.bin"
    up.write_bytes(os.urandom(300_000))
    p = ok(curl(*flags, "-T", up, f"{n.url}/uploaded.bin"))
    assert sent(p, verb), "curl did not use " + verb
    assert not sent(p, not_verb), f"curl fell back from {verb} to {not_verb}"
    assert (n.dir / "uploaded.bin").read_bytes() == up.read_bytes()

    served = os.urandom(250_000)
    (n.dir / "served.bin").write_bytes(served)
    out = tmp_path / "down.bin"
    ok(curl(*flags, "-o", out, f"{n.url}/served.bin"))
    assert out.read_bytes() == served

    listing = ok(curl(*flags, f"{n.url}/")).stdout.decode()
    assert "uploaded.bin" in listing and "served.bin" in listing
    short = ok(curl(*flags, "--list-only", f"{n.url}/")).stdout.decode()
    assert set(short.split()) == {"uploaded.bin", "served.bin"}


def test_curl_creates_directories(node, tmp_path):
    n = node()
    up = tmp_path / "nested.txt"
    up.write_bytes(b"deep\n")
    ok(curl("--ftp-create-dirs", "-T", up, f"{n.url}/a/b/c/nested.txt"))
    assert (n.dir / "a" / "b" / "c" / "nested.txt").read_bytes() == b"deep\n"


def test_curl_ftps(node, tmp_path):
    n = node()
    up = tmp_path / "secret.bin"
    up.write_bytes(os.urandom(500_000))
    for i in range(5):  # each upload is a fresh TLS session
        p = ok(curl("--ssl-reqd", "-k", "-T", up, f"{n.url}/secret.bin"))
        assert sent(p, "AUTH")
        assert sent(p, "PROT P")
        got = (n.dir / "secret.bin").read_bytes()
        assert got == up.read_bytes(), \
            f"upload {i}: stored {len(got)} of {len(up.read_bytes())} bytes"

    served = os.urandom(400_000)
    (n.dir / "back.bin").write_bytes(served)
    out = tmp_path / "back.bin"
    ok(curl("--ssl-reqd", "-k", "-o", out, f"{n.url}/back.bin"))
    assert out.read_bytes() == served

    listing = ok(curl("--ssl-reqd", "-k", "--list-only",
                      f"{n.url}/")).stdout.decode()
    assert set(listing.split()) == {"secret.bin", "back.bin"}


def lftp(n, home, script, timeout=90):
    settings = ("set ssl:verify-certificate no; set ftp:ssl-force true; "
                "set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; "
                "set net:max-retries 1; set net:timeout 20; "
                "set net:reconnect-interval-base 1; set cmd:fail-exit true; ")
    env = dict(os.environ, HOME=str(home), LC_ALL="C.UTF-8")
    proc = subprocess.run(
        ["lftp", "-e", settings + script + "; bye", "-u", "guest,guest",
         n.url], capture_output=True, timeout=timeout, env=env,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(
        errors="replace")[-3000:]
    return proc.stdout.decode(errors="replace")


def test_lftp_put_get_ls(node, tmp_path):
    n = node()
    up = tmp_path / "lput.bin"
    up.write_bytes(os.urandom(700_000))
    served = os.urandom(600_000)
    (n.dir / "lget.bin").write_bytes(served)
    out = tmp_path / "lget.out"
    listing = lftp(n, tmp_path, f"put {up} -o lput.bin; get lget.bin -o {out}; "
                                "cls -1")
    assert (n.dir / "lput.bin").read_bytes() == up.read_bytes()
    assert out.read_bytes() == served
    assert set(listing.split()) == {"lput.bin", "lget.bin"}


def test_lftp_mirror_both_ways(node, tmp_path):
    n = node()
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(100_000))
    (src / "sub" / "deeper" / "c.txt").write_bytes(b"gamma\r\n")

    srv = n.dir / "srv"
    (srv / "y").mkdir(parents=True)
    (srv / "x.txt").write_bytes(b"served x\n")
    (srv / "y" / "z.bin").write_bytes(bytes(range(256)) * 100)
    dest = tmp_path / "dest"

    lftp(n, tmp_path, f"mirror -R {src} up; mirror srv {dest}")
    assert tree(n.dir / "up") == tree(src)
    assert tree(dest) == tree(srv)
