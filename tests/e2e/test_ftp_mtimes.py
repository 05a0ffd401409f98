"""Setting a file's modification time over FTP (MFMT, SITE UTIME, the set
form of MDTM), and that time replicating with the file to the peers."""

import calendar
import ftplib
import io
import os
import shutil
import subprocess

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import SHOAL, Cluster, wait_for  # noqa: E402

pytest_plugins = ["cluster"]

REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def utc(stamp):
    """YYYYMMDDHHMMSS (UTC) as seconds since the epoch."""
    return calendar.timegm((int(stamp[0:4]), int(stamp[4:6]),
                            int(stamp[6:8]), int(stamp[8:10]),
                            int(stamp[10:12]), int(stamp[12:14])))


def mtime_is(path, want):
    try:
        return int(os.stat(path).st_mtime) == want
    except FileNotFoundError:
        return False


def test_mfmt_site_utime_mdtm_replicate(cluster):
    n1, n2 = cluster.start(2)
    f1 = n1.ftp()
    f1.storbinary("STOR a.txt", io.BytesIO(b"alpha\n"))
    f1.storbinary("STOR b.txt", io.BytesIO(b"beta\n"))
    f1.storbinary("STOR c.txt", io.BytesIO(b"gamma\n"))
    wait_for(lambda: all(n2.path(x).exists()
                         for x in ("a.txt", "b.txt", "c.txt")),
             REPLICATE, "files on n2")

    feat = f1.sendcmd("FEAT")
    assert "MFMT" in [line.strip() for line in feat.splitlines()], feat

    assert (f1.sendcmd("MFMT 20010203040506 a.txt")
            == "213 Modify=20010203040506; /a.txt")
    assert f1.sendcmd("MDTM a.txt") == "213 20010203040506"
    assert f1.sendcmd("SITE UTIME 19991231235958 b.txt").startswith("200")
    assert f1.sendcmd("MDTM b.txt") == "213 19991231235958"
    r = f1.sendcmd("SITE UTIME c.txt 20200101000000 20150607080910 "
                   "20200101000000 UTC")
    assert r.startswith("200"), r
    assert f1.sendcmd("MDTM c.txt") == "213 20150607080910"
    assert f1.sendcmd("MDTM 20111213141516.250 a.txt").startswith("213")
    assert f1.sendcmd("MDTM a.txt") == "213 20111213141516"
    assert os.stat(n1.path("a.txt")).st_mtime_ns == \
        utc("20111213141516") * 10**9 + 250_000_000

    want = {"a.txt": "20111213141516", "b.txt": "19991231235958",
            "c.txt": "20150607080910"}
    for name, stamp in want.items():
        wait_for(lambda: mtime_is(n2.path(name), utc(stamp)), REPLICATE,
                 f"mtime of {name} on n2")
    f2 = n2.ftp()
    for name, stamp in want.items():
        assert f2.sendcmd(f"MDTM {name}") == f"213 {stamp}"
        assert mtime_is(n1.path(name), utc(stamp))
    # The content is what was stored.
    assert n2.path("a.txt").read_bytes() == b"alpha\n"


def test_bad_times_refused(cluster):
    (n1,) = cluster.start(1)
    f = n1.ftp()
    f.storbinary("STOR a.txt", io.BytesIO(b"alpha\n"))
    before = os.stat(n1.path("a.txt")).st_mtime_ns
    bad = ["MFMT 20011303040506 a.txt",      # month 13
           "MFMT 20010230040506 a.txt",      # 30 February
           "MFMT 2001020304050x a.txt",      # not digits
           "MFMT 20010203246000 a.txt",      # hour 24
           "MFMT 20010203040506",            # no path
           "MFMT 20010203040506. a.txt",     # no fraction digits
           "MDTM 20011303040506 a.txt",
           "SITE UTIME 2001020304050 a.txt",
           "SITE UTIME a.txt x y z UTC"]
    for cmd in bad:
        with pytest.raises(ftplib.error_perm) as e:
            f.sendcmd(cmd)
        assert str(e.value).startswith("501"), (cmd, str(e.value))
    for cmd in ["MFMT 20010203040506 nope.txt",
                "SITE UTIME 20010203040506 nope.txt",
                "MDTM 20010203040506 nope.txt"]:
        with pytest.raises(ftplib.error_perm) as e:
            f.sendcmd(cmd)
        assert str(e.value).startswith("550"), (cmd, str(e.value))
    assert os.stat(n1.path("a.txt")).st_mtime_ns == before
    assert f.sendcmd("NOOP").startswith("200")


@pytest.mark.skipif(shutil.which("lftp") is None, reason="lftp is needed")
def test_lftp_mirror_keeps_mtimes(cluster, tmp_path):
    # One node: lftp sends MFMT right after each STOR, before the first
    # version can have reached a peer; replication of a time set on a file
    # peers already hold is test_mfmt_site_utime_mdtm_replicate.
    (n1,) = cluster.start(1)
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": (b"alpha\n", utc("20050607080910")),
             "sub/b.bin": (os.urandom(50_000), utc("19980102030405"))}
    for rel, (data, t) in files.items():
        (src / rel).write_bytes(data)
        os.utime(src / rel, (t, t))
    env = dict(os.environ, HOME=str(tmp_path), LC_ALL="C.UTF-8")
    script = ("set net:max-retries 1; set net:timeout 20; "
              "set cmd:fail-exit true; set ftp:ssl-allow false; "
              f"mirror -R {src} /up; bye")
    proc = subprocess.run(
        ["lftp", "-e", script, "-u", "guest,guest",
         f"ftp://127.0.0.1:{n1.ftp_port}"], capture_output=True,
        timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(
        errors="replace")[-3000:]
    for rel, (data, t) in files.items():
        p = n1.path("up/" + rel)
        assert p.read_bytes() == data
        assert mtime_is(p, t), (rel, os.stat(p).st_mtime, t)
    f = n1.ftp()
    assert f.sendcmd("MDTM up/sub/b.bin") == "213 19980102030405"


@pytest.mark.skipif(shutil.which("lftp") is None, reason="lftp is needed")
def test_lftp_mirror_mtimes_reach_the_peer(cluster, tmp_path):
    """lftp sends MFMT right after each STOR, while the peer may still be
    fetching the first version: the peer's pull of that version, made
    obsolete by the MFMT's, must not stamp its upload-time mtime on the
    file (which the peer's scan then took for a new version that won over
    the origin's) nor remove the partial file the newer pull commits.
    Both nodes end with the source's mtimes."""
    n1, n2 = cluster.start(2)
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    files = {}
    for i in range(12):
        rel = ["", "sub/", "sub/deeper/"][i % 3] + f"f{i:02}.bin"
        t = utc("20050607080910") - i * 86_400 * 37
        files[rel] = (os.urandom([10, 70_000, 1_500_000][i % 3] + i), t)
        (src / rel).write_bytes(files[rel][0])
        os.utime(src / rel, (t, t))
    env = dict(os.environ, HOME=str(tmp_path), LC_ALL="C.UTF-8")
    script = ("set net:max-retries 1; set net:timeout 20; "
              "set cmd:fail-exit true; set ftp:ssl-allow false; "
              f"mirror -R {src} /up; bye")
    proc = subprocess.run(
        ["lftp", "-e", script, "-u", "guest,guest",
         f"ftp://127.0.0.1:{n1.ftp_port}"], capture_output=True,
        timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(
        errors="replace")[-3000:]
    for rel, (data, t) in files.items():
        assert mtime_is(n1.path("up/" + rel), t), rel

    def n2_has_all():
        return all(n2.path("up/" + rel).exists() and
                   n2.path("up/" + rel).read_bytes() == data
                   for rel, (data, _) in files.items())

    wait_for(n2_has_all, REPLICATE, "every file's bytes on n2")
    for rel, (data, t) in files.items():
        wait_for(lambda: mtime_is(n2.path("up/" + rel), t), REPLICATE,
                 f"the source mtime of {rel} on n2 (it has "
                 f"{os.stat(n2.path('up/' + rel)).st_mtime}, want {t})")
    # and it stays so on both: no later version undid a time
    for rel, (data, t) in files.items():
        for n in (n1, n2):
            assert mtime_is(n.path("up/" + rel), t), (n.name, rel)
            assert n.path("up/" + rel).read_bytes() == data
