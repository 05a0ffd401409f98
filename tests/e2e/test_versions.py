"""End-to-end checks of versions, trash and point-in-time restore
(docs/VERSIONS.md): real nodes on 127.0.0.1 (cluster.py), real clients
(the `shoal` command, HTTP, FTP, S3 listings), every wait with a deadline.

The scenarios of the issue: overwrites on one node listed and restored on
another; `rm -r` in one node's folder, restored from another node's
trash; a "ransomware" run in one node's folder undone with `restore
--before` on another; pruning by count, by age and under disk pressure;
versions across restarts and a node that was down; bad input.
"""

import json
import os
import time
import urllib.request

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (NET_TIMEOUT, Cluster, file_sha256, sha256,  # noqa: E402
                     wait_for)

pytest_plugins = ["cluster"]

REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def put(node, path, data):
    tok = (node.dir / ".shoal" / "api_token").read_text().strip()
    req = urllib.request.Request(f"http://{node.http_addr}/v1/files/{path}",
                                 data=data, method="PUT",
                                 headers={"Authorization": f"Bearer {tok}"})
    with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
        assert r.status in (200, 201)


def content_is(node, rel, data):
    p = node.path(rel)
    try:
        return p.read_bytes() == data
    except OSError:
        return False


def overwrite(node, rel, data):
    """Replaces a file straight in node's folder in one step (an editor's
    save): writing it in place would show the watcher an empty file
    first, a version of its own."""
    tmp = node.dir.parent / f".{node.name}-overwrite"
    tmp.write_bytes(data)
    os.replace(tmp, node.path(rel))


def gone(node, rel):
    return not node.path(rel).exists()


def cli_json(node, *args):
    proc = node.cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_overwrite_list_and_restore_on_another_node(cluster):
    n1, n2 = cluster.start(2)
    contents = [b"first\n", b"second\n", b"third\n", b"fourth\n"]
    for data in contents:
        put(n1, "docs/report.txt", data)
        wait_for(lambda: content_is(n2, "docs/report.txt", data), REPLICATE,
                 what="the new version on n2")
    vs = wait_for(lambda: len(n2.api("/v1/versions/docs/report.txt")
                              ["versions"]) == 3 and
                  n2.api("/v1/versions/docs/report.txt")["versions"],
                  REPLICATE, what="three old versions on n2")
    assert [v["sha256"] for v in vs] == [sha256(d) for d in contents[2::-1]]
    assert all(v["writer"] == n1.id and v["by"] == n1.id for v in vs)
    first = vs[-1]["id"]
    st, body = n2.http("POST", "/v1/restore/docs/report.txt",
                       body={"version": first})
    assert st == 200, body
    for n in (n1, n2):
        wait_for(lambda: content_is(n, "docs/report.txt", contents[0]),
                 REPLICATE, what=f"the restored content on {n.name}")
    # the CLI names the same versions, and fetches one without a change
    out = cli_json(n2, "versions", "/docs/report.txt")
    assert [v["id"] for v in out["versions"]][:1] != []
    local = cluster.base / "old.txt"
    proc = n2.cli("restore", "/docs/report.txt", "--version", vs[0]["id"],
                  "-o", str(local))
    assert proc.returncode == 0, proc.stderr
    assert local.read_bytes() == contents[2]
    assert content_is(n2, "docs/report.txt", contents[0])


def test_rm_r_in_folder_then_restore_from_trash_on_another_node(cluster):
    n1, n2 = cluster.start(2)
    files = {f"proj/a{i}.txt": f"a{i}\n".encode() for i in range(3)}
    files["proj/sub/b.txt"] = b"b\n"
    files["notes.txt"] = b"notes\n"
    for rel, data in files.items():
        put(n1, rel, data)
    for rel, data in files.items():
        wait_for(lambda: content_is(n2, rel, data), REPLICATE,
                 what=f"{rel} on n2")
    # rm -r straight in n1's folder
    import shutil
    shutil.rmtree(n1.path("proj"))
    os.unlink(n1.path("notes.txt"))
    for rel in files:
        wait_for(lambda: gone(n2, rel), REPLICATE, what=f"{rel} gone on n2")
    trash = wait_for(lambda: len(cli_json(n2, "trash")["trash"]) == 5 and
                     cli_json(n2, "trash")["trash"], REPLICATE,
                     what="five files in n2's trash")
    assert sorted(t["path"] for t in trash) == \
        sorted("/" + p for p in files)
    # nothing of it is a file to any front end
    assert not any(e["name"] == ".shoal" for e in
                   n2.api("/v1/list")["entries"])
    assert n2.api("/v1/list")["entries"] == []
    ftp = n2.ftp()
    assert ftp.nlst() == []
    # n1, whose folder it was, kept nothing of it: its trash listing is
    # n2's, and a restore through n1 reads the bytes from n2
    assert n1.api("/v1/trash?local=1")["trash"] == []
    on_n1 = cli_json(n1, "trash", "/")["trash"]
    assert sorted(t["path"] for t in on_n1) == \
        sorted("/" + p for p in files)
    assert all(t["nodes"] == [n2.id] for t in on_n1)
    # deleted by n1 (whose folder it was), written by n1 too
    assert all(t["by"] == n1.id and t["writer"] == n1.id for t in on_n1)
    proc = n1.cli("restore", "/notes.txt")
    assert proc.returncode == 0, proc.stderr
    assert "restored /notes.txt" in proc.stdout
    wait_for(lambda: content_is(n2, "notes.txt", files["notes.txt"]),
             REPLICATE, what="notes.txt back on n2")
    # then the folder, on n2 from its own trash
    proc = n2.cli("restore", "/proj")
    assert proc.returncode == 0, proc.stderr
    for rel, data in files.items():
        for n in (n1, n2):
            wait_for(lambda: content_is(n, rel, data), REPLICATE,
                     what=f"{rel} back on {n.name}")
    assert cli_json(n2, "trash")["trash"] == []
    proc = n1.cli("restore", "/proj")
    assert proc.returncode != 0
    assert "nothing of /proj is in the trash on any node" in proc.stderr


def test_ransomware_restore_before(cluster):
    n1, n2, n3 = cluster.start(3)
    files = {f"work/f{i:02d}.txt": f"precious {i}\n".encode() * (i + 1)
             for i in range(25)}
    files["other/keep.txt"] = b"outside the restored folder\n"
    for rel, data in files.items():
        put(n1, rel, data)
    for n in (n2, n3):
        for rel, data in files.items():
            wait_for(lambda: content_is(n, rel, data), REPLICATE,
                     what=f"{rel} on {n.name}")
    # T: a moment after every file was written
    t0 = time.time()
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    T = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + \
        f".{int((t0 % 1) * 1e6):06d}Z"
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    # the damage, straight in n1's folder: 20 files encrypted, 5 deleted
    names = sorted(p for p in files if p.startswith("work/"))
    for rel in names[:20]:
        n1.path(rel).write_bytes(b"ENCRYPTED" + os.urandom(32))
    for rel in names[20:]:
        os.unlink(n1.path(rel))
    n1.path("work/README-ransom.txt").write_bytes(b"pay\n")
    for rel in names[:20]:
        wait_for(lambda: n2.path(rel).exists() and
                 n2.path(rel).read_bytes().startswith(b"ENCRYPTED"),
                 REPLICATE, what=f"the damage to {rel} on n2")
    for rel in names[20:]:
        wait_for(lambda: gone(n2, rel), REPLICATE, what=f"{rel} gone on n2")
    wait_for(lambda: n2.path("work/README-ransom.txt").exists(), REPLICATE,
             what="the note on n2")
    # a dry run changes nothing and says what would change
    proc = n2.cli("restore", "/work", "--before", T, "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert sorted(plan["restored"]) == sorted("/" + p for p in names)
    assert plan["trashed"] == ["/work/README-ransom.txt"]
    assert plan["lost"] == []
    assert n2.path("work/README-ransom.txt").exists()
    proc = n2.cli("restore", "/work", "--before", T)
    assert proc.returncode == 0, proc.stderr
    for n in (n1, n2, n3):
        for rel, data in files.items():
            wait_for(lambda: content_is(n, rel, data), REPLICATE,
                     what=f"{rel} restored on {n.name}")
        wait_for(lambda: gone(n, "work/README-ransom.txt"), REPLICATE,
                 what=f"the note in the trash on {n.name}")


def metrics(node):
    code, body = node.http("GET", "/metrics")
    assert code == 200, (code, body[:300])
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def versions(node, rel):
    return node.api(f"/v1/versions/{rel}")["versions"]


def test_pruned_by_count_and_bad_input(cluster):
    (n1,) = cluster.start(1, options=["versions.keep=2"])
    contents = [f"v{i}\n".encode() for i in range(5)]
    for data in contents[:2]:
        put(n1, "f.txt", data)
    out_before = versions(n1, "f.txt")
    for data in contents[2:]:
        put(n1, "f.txt", data)
    vs = versions(n1, "f.txt")
    assert [v["sha256"] for v in vs] == [sha256(contents[3]),
                                         sha256(contents[2])]
    st = n1.status()["versions"]
    assert st["count"] == 2 and st["prunes"] == 2, st
    assert metrics(n1)["shoal_versions_pruned_total"] >= 2
    # nothing of .shoal/versions shows through any front end
    assert [e["name"] for e in n1.api("/v1/list")["entries"]] == ["f.txt"]
    assert n1.ftp().nlst() == ["f.txt"]
    # FTP keeps them too: STOR over a file, then DELE
    import io
    ftp = n1.ftp()
    ftp.storbinary("STOR g.txt", io.BytesIO(b"g1\n"))
    ftp.storbinary("STOR g.txt", io.BytesIO(b"g2\n"))
    assert [v["sha256"] for v in versions(n1, "g.txt")] == [sha256(b"g1\n")]
    ftp.delete("g.txt")
    assert [t["sha256"] for t in n1.api("/v1/trash")["trash"]] == \
        [sha256(b"g2\n")]
    assert ftp.nlst() == ["f.txt"]
    # bad input: one line each, nothing changed
    for args, why in [
            (["--version", "0123456789ab-1"], "no version 0123456789ab-1"),
            (["--before", "yesterday"], "not a time"),
            (["--before", "2150-01-01T00:00:00Z"], "in the future"),
            (["--before", "2999-01-01T00:00:00Z"], "not a time"),
            (["--before", "2026-02-30T00:00:00Z"], "not a time")]:
        proc = n1.cli("restore", "/f.txt", *args)
        assert proc.returncode != 0, args
        assert why in proc.stderr and proc.stderr.count("\n") == 1, \
            proc.stderr
    # the version pruned first is listed no more, and a restore of it
    # says it was pruned
    pruned = [v["id"] for v in out_before
              if v["sha256"] == sha256(contents[0])]
    assert pruned and all(v["sha256"] != sha256(contents[0])
                          for v in versions(n1, "f.txt"))
    proc = n1.cli("restore", "/f.txt", "--version", pruned[0])
    assert proc.returncode != 0
    assert "was pruned on every node that had it" in proc.stderr and \
        proc.stderr.count("\n") == 1, proc.stderr
    proc = n1.cli("versions", "/nothing-here.txt")
    assert proc.returncode == 0 and "no old versions" in proc.stdout
    assert content_is(n1, "f.txt", contents[4])


def test_pruned_by_age(cluster):
    (n1,) = cluster.start(1, options=["versions.days=0.00002",
                                      "trash.days=0.00002"])
    put(n1, "a.txt", b"one\n")
    put(n1, "a.txt", b"two\n")
    put(n1, "b.txt", b"bee\n")
    st, _ = n1.http("DELETE", "/v1/files/b.txt")
    assert st == 204
    wait_for(lambda: n1.status()["versions"]["prunes"] >= 2, 30,
             what="the version and the trash pruned by age")
    assert versions(n1, "a.txt") == []
    assert n1.api("/v1/trash")["trash"] == []
    assert not any((n1.dir / ".shoal" / "versions").iterdir())
    assert content_is(n1, "a.txt", b"two\n")


def test_pruned_under_disk_pressure(cluster, tmp_path):
    import subprocess
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = tmp_path / "n1"
    d.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                        str(d)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {p.stderr}")
    try:
        (n1,) = cluster.start(1, options=["store.min_free_mb=6"])
        blobs = [os.urandom(3 << 20) for _ in range(4)]
        for data in blobs:
            put(n1, "big.bin", data)
        wait_for(lambda: metrics(n1)["shoal_versions_pruned_space_total"]
                 >= 1, 30, what="a version pruned for free space")
        assert "below store.min_free_mb: pruned" in n1.log()
        vs = versions(n1, "big.bin")
        # oldest first: what is left is the newest
        assert vs and vs[0]["sha256"] == sha256(blobs[2])
        assert sha256(blobs[0]) not in [v["sha256"] for v in vs]
        st = os.statvfs(d)
        assert st.f_bavail * st.f_frsize >= 6 << 20
        assert file_sha256(n1.path("big.bin")) == sha256(blobs[3])
    finally:
        cluster.shutdown()
        subprocess.run(["umount", "-l", str(d)])


def test_survive_restart_and_a_node_down_during_the_damage(cluster):
    n1, n2, n3 = cluster.start(3)
    put(n1, "doc.txt", b"good\n")
    for n in (n2, n3):
        wait_for(lambda: content_is(n, "doc.txt", b"good\n"), REPLICATE,
                 what=f"doc.txt on {n.name}")
    t0 = time.time()
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    T = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + \
        f".{int((t0 % 1) * 1e6):06d}Z"
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    n3.stop()
    overwrite(n1, "doc.txt", b"bad\n")
    wait_for(lambda: content_is(n2, "doc.txt", b"bad\n"), REPLICATE,
             what="the damage on n2")
    wait_for(lambda: len(versions(n2, "doc.txt")) == 1, REPLICATE,
             what="the good version kept on n2")
    n2.stop()
    n2.start()
    assert versions(n2, "doc.txt")[0]["sha256"] == sha256(b"good\n")
    proc = n2.cli("restore", "/doc.txt", "--before", T)
    assert proc.returncode == 0, proc.stderr
    assert "restored /doc.txt" in proc.stdout
    n3.start()
    for n in (n1, n2, n3):
        wait_for(lambda: content_is(n, "doc.txt", b"good\n"), REPLICATE,
                 what=f"the good content on {n.name}")


def test_listed_cluster_wide_and_fetched_from_the_node_that_keeps_it(
        cluster):
    n1, n2 = cluster.start(2)
    put(n1, "plan.txt", b"the plan\n")
    wait_for(lambda: content_is(n2, "plan.txt", b"the plan\n"), REPLICATE,
             what="plan.txt on n2")
    # edited straight in n1's folder: n1 kept nothing of the old bytes,
    # n2 kept them when the change arrived
    overwrite(n1, "plan.txt", b"scribbled over\n")
    wait_for(lambda: content_is(n2, "plan.txt", b"scribbled over\n"),
             REPLICATE, what="the edit on n2")
    wait_for(lambda: versions(n2, "plan.txt"), REPLICATE,
             what="the old version kept on n2")
    assert n1.api("/v1/versions/plan.txt?local=1")["versions"] == []
    out = cli_json(n1, "versions", "/plan.txt")
    (v,) = out["versions"]
    assert v["nodes"] == [n2.id] and v["sha256"] == sha256(b"the plan\n")
    # the bytes alone, through n1, from n2
    local = cluster.base / "plan.old"
    proc = n1.cli("restore", "/plan.txt", "--version", v["id"], "-o",
                  str(local))
    assert proc.returncode == 0, proc.stderr
    assert local.read_bytes() == b"the plan\n"
    # and a restore on n1 of what only n2 keeps
    proc = n1.cli("restore", "/plan.txt", "--version", v["id"])
    assert proc.returncode == 0, proc.stderr
    for n in (n1, n2):
        wait_for(lambda: content_is(n, "plan.txt", b"the plan\n"),
                 REPLICATE, what=f"the restored plan on {n.name}")
    # an id no node knows
    proc = n1.cli("restore", "/plan.txt", "--version", "abcdef012345-1")
    assert proc.returncode != 0
    assert "no version abcdef012345-1 of /plan.txt is known on any node" \
        in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_restore_onto_a_locked_path_changes_nothing(cluster):
    from test_tracker import TRACKED, lock, node_locks, start_tracked
    tracker, (n1, n2) = start_tracked(cluster, 2)
    put(n1, "w/a.txt", b"a1\n")
    put(n1, "w/b.txt", b"b1\n")
    for rel, data in (("w/a.txt", b"a1\n"), ("w/b.txt", b"b1\n")):
        wait_for(lambda: content_is(n2, rel, data), REPLICATE,
                 what=f"{rel} on n2")
    t0 = time.time()
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    T = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + \
        f".{int((t0 % 1) * 1e6):06d}Z"
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    put(n1, "w/a.txt", b"a2\n")
    put(n1, "w/b.txt", b"b2\n")
    for rel, data in (("w/a.txt", b"a2\n"), ("w/b.txt", b"b2\n")):
        wait_for(lambda: content_is(n2, rel, data), REPLICATE,
                 what=f"{rel} changed on n2")
    wait_for(lambda: versions(n2, "w/a.txt") and versions(n2, "w/b.txt"),
             REPLICATE, what="the old versions kept on n2")
    lock(n1, "/w/b.txt")
    wait_for(lambda: "w/b.txt" in node_locks(n2), TRACKED,
             what="n2 to learn of the lock")
    proc = n2.cli("restore", "/w", "--before", T)
    assert proc.returncode != 0
    assert "w/b.txt" in proc.stderr and proc.stderr.count("\n") == 1, \
        proc.stderr
    vid = versions(n2, "w/b.txt")[0]["id"]
    proc = n2.cli("restore", "/w/b.txt", "--version", vid)
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1, \
        proc.stderr
    # nothing changed, not even the file that is not locked
    assert content_is(n2, "w/a.txt", b"a2\n")
    assert content_is(n2, "w/b.txt", b"b2\n")
    assert len(versions(n2, "w/a.txt")) == 1
    # the lock gone, the same restore goes through
    cli_json(n1, "unlock", "/w/b.txt")
    wait_for(lambda: "w/b.txt" not in node_locks(n2), TRACKED,
             what="n2 to learn the lock is gone")
    proc = n2.cli("restore", "/w", "--before", T)
    assert proc.returncode == 0, proc.stderr
    for rel, data in (("w/a.txt", b"a1\n"), ("w/b.txt", b"b1\n")):
        for n in (n1, n2):
            wait_for(lambda: content_is(n, rel, data), REPLICATE,
                     what=f"{rel} restored on {n.name}")


def test_s3_reads_the_same_versions_and_lists_nothing_of_them(cluster):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from s3util import add_key

    n1 = cluster.new_node()
    n2 = cluster.new_node()
    keys = [add_key(n.dir) for n in (n1, n2)]
    for n in (n1, n2):
        n.start()
    cluster.wait_alive([n1, n2], 2)

    def client(node, ak, sk):
        return boto3.client(
            "s3", endpoint_url=f"http://{node.s3_addr}",
            region_name="us-east-1", aws_access_key_id=ak,
            aws_secret_access_key=sk,
            config=Config(s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}))

    c1, c2 = client(n1, *keys[0]), client(n2, *keys[1])
    c1.create_bucket(Bucket="bkt")
    for body in (b"one\n", b"two\n", b"three\n"):
        c1.put_object(Bucket="bkt", Key="k.txt", Body=body)
        wait_for(lambda: content_is(n2, "bkt/k.txt", body), REPLICATE,
                 what="the object on n2")
    c1.put_object(Bucket="bkt", Key="gone.txt", Body=b"bye\n")
    wait_for(lambda: content_is(n2, "bkt/gone.txt", b"bye\n"), REPLICATE,
             what="gone.txt on n2")
    c1.delete_object(Bucket="bkt", Key="gone.txt")
    wait_for(lambda: n2.api("/v1/trash/bkt?local=1")["trash"], REPLICATE,
             what="gone.txt in n2's trash")
    wait_for(lambda: len(versions(n2, "bkt/k.txt")) == 2, REPLICATE,
             what="two old versions on n2")
    assert c2.get_bucket_versioning(Bucket="bkt")["Status"] == "Enabled"
    out = c2.list_object_versions(Bucket="bkt")
    vs = [v for v in out["Versions"] if v["Key"] == "k.txt"]
    assert [v["IsLatest"] for v in vs] == [True, False, False]
    assert [v["Size"] for v in vs] == [6, 4, 4]
    assert len(out.get("DeleteMarkers", [])) == 1, out
    (marker,) = out["DeleteMarkers"]
    assert marker["Key"] == "gone.txt" and marker["IsLatest"]
    assert [v["Key"] for v in out["Versions"]].count("gone.txt") == 1
    # the same ids as `shoal versions`, read through S3
    ids = [v["id"] for v in versions(n2, "bkt/k.txt")]
    assert [v["VersionId"] for v in vs[1:]] == ids
    got = c2.get_object(Bucket="bkt", Key="k.txt", VersionId=ids[1])
    assert got["Body"].read() == b"one\n"
    assert got["VersionId"] == ids[1]
    cur = c2.get_object(Bucket="bkt", Key="k.txt",
                        VersionId=vs[0]["VersionId"])
    assert cur["Body"].read() == b"three\n"
    try:
        c2.get_object(Bucket="bkt", Key="k.txt", VersionId="abcdef012345-1")
        raise AssertionError("an unknown version was read")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchVersion"
    # the listings show objects, never what .shoal keeps
    keys_listed = [o["Key"] for o in
                   c2.list_objects_v2(Bucket="bkt").get("Contents", [])]
    assert keys_listed == ["k.txt"]
    assert [b["Name"] for b in c2.list_buckets()["Buckets"]] == ["bkt"]


def test_restore_of_a_version_waits_for_the_write_quorum(cluster):
    n1, n2, n3 = cluster.start(3, node_args={0: ["--sync-writes", "2"]})
    data = [os.urandom(300000), os.urandom(300000)]
    for d in data:
        put(n1, "q.bin", d)
    vs = versions(n1, "q.bin")
    (old,) = [v for v in vs if v["sha256"] == sha256(data[0])]
    proc = n1.cli("restore", "/q.bin", "--version", old["id"])
    assert proc.returncode == 0, proc.stderr
    # no waiting: the answer came after both others held it
    for n in (n2, n3):
        assert file_sha256(n.path("q.bin")) == sha256(data[0]), \
            f"the restore answered before {n.name} held it"


def test_restore_before_reads_what_was_pruned_here_from_another_node(
        cluster):
    n1, n2 = cluster.start(2, node_options={0: ["versions.keep=1"]})
    put(n1, "p.txt", b"at T\n")
    wait_for(lambda: content_is(n2, "p.txt", b"at T\n"), REPLICATE,
             what="p.txt on n2")
    t0 = time.time()
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    T = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0)) + \
        f".{int((t0 % 1) * 1e6):06d}Z"
    wait_for(lambda: time.time() > t0 + 0.01, 5, what="the clock to move")
    for data in (b"later\n", b"latest\n"):
        put(n1, "p.txt", data)
        wait_for(lambda: content_is(n2, "p.txt", data), REPLICATE,
                 what="the change on n2")
    wait_for(lambda: len(n2.api("/v1/versions/p.txt?local=1")["versions"])
             == 2, REPLICATE, what="both old versions kept on n2")
    # n1 keeps one version: what p.txt had at T was pruned there
    assert [v["sha256"] for v in
            n1.api("/v1/versions/p.txt?local=1")["versions"]] == \
        [sha256(b"later\n")]
    proc = n1.cli("restore", "/", "--before", T, "--dry-run", "--json")
    assert proc.returncode != 0
    assert json.loads(proc.stdout)["lost"] == ["/p.txt"]
    # with n2 down no node has it: lost, reported once, nothing changed
    n2.stop()
    proc = n1.cli("restore", "/", "--before", T, "--json")
    assert proc.returncode != 0
    out = json.loads(proc.stdout)
    assert out["lost"] == ["/p.txt"] and out["restored"] == [], out
    assert content_is(n1, "p.txt", b"latest\n")
    # n2 back: its copy is read
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    proc = n1.cli("restore", "/", "--before", T, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["restored"] == ["/p.txt"] and out["lost"] == [], out
    for n in (n1, n2):
        wait_for(lambda: content_is(n, "p.txt", b"at T\n"), REPLICATE,
                 what=f"the content at T on {n.name}")
