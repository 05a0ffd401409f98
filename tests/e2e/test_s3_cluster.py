"""S3 on two nodes: an object written through one node's S3 endpoint is a
file on both, with its ETag and metadata on both (they are part of the
file's version in the index and replicate with it), and a metadata-only
change (a copy onto itself) reaches the other node too."""
import hashlib
import os

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import Cluster, file_sha256, wait_for  # noqa: E402
from s3util import add_key  # noqa: E402

pytest_plugins = ["cluster"]
REPLICATE = 60.0


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def client(node, ak, sk):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=f"http://{node.s3_addr}", region_name="us-east-1",
        aws_access_key_id=ak, aws_secret_access_key=sk,
        config=Config(s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


def head_or_none(c, bucket, key):
    from botocore.exceptions import ClientError
    try:
        return c.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return None


def test_s3_object_and_metadata_replicate(cluster):
    n1 = cluster.new_node()
    n2 = cluster.new_node()
    keys = [add_key(n.dir) for n in (n1, n2)]
    for n in (n1, n2):
        n.start()
    cluster.wait_alive([n1, n2], 2)
    c1 = client(n1, *keys[0])
    c2 = client(n2, *keys[1])
    c1.create_bucket(Bucket="shared")
    data = os.urandom(300000)
    md5 = hashlib.md5(data).hexdigest()
    c1.put_object(Bucket="shared", Key="dir/obj.bin", Body=data,
                  ContentType="image/png", Metadata={"owner": "alice"})
    wait_for(lambda: (n2.dir / "shared/dir/obj.bin").exists() and
             file_sha256(n2.dir / "shared/dir/obj.bin") ==
             hashlib.sha256(data).hexdigest(), REPLICATE,
             "the object on n2")
    for n in (n1, n2):
        assert file_sha256(n.dir / "shared/dir/obj.bin") == \
            hashlib.sha256(data).hexdigest()
    h = c2.head_object(Bucket="shared", Key="dir/obj.bin")
    assert h["ETag"] == f'"{md5}"'
    assert h["ContentType"] == "image/png"
    assert h["Metadata"] == {"owner": "alice"}
    assert c2.get_object(Bucket="shared",
                         Key="dir/obj.bin")["Body"].read() == data
    # A metadata-only change is a version too.
    c1.copy_object(Bucket="shared", Key="dir/obj.bin",
                   CopySource={"Bucket": "shared", "Key": "dir/obj.bin"},
                   MetadataDirective="REPLACE", ContentType="image/webp",
                   Metadata={"owner": "bob"})
    wait_for(lambda: (head_or_none(c2, "shared", "dir/obj.bin") or {}).get(
        "Metadata") == {"owner": "bob"}, REPLICATE,
        "the new metadata on n2")
    h = c2.head_object(Bucket="shared", Key="dir/obj.bin")
    assert h["ContentType"] == "image/webp" and h["ETag"] == f'"{md5}"'
    # A multipart object replicates with its multipart ETag.
    up = c1.create_multipart_upload(Bucket="shared", Key="mp")
    p1, p2 = os.urandom(5 << 20), os.urandom(1000)
    t1 = c1.upload_part(Bucket="shared", Key="mp", UploadId=up["UploadId"],
                        PartNumber=1, Body=p1)["ETag"]
    t2 = c1.upload_part(Bucket="shared", Key="mp", UploadId=up["UploadId"],
                        PartNumber=2, Body=p2)["ETag"]
    etag = c1.complete_multipart_upload(
        Bucket="shared", Key="mp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": t1},
                                   {"PartNumber": 2, "ETag": t2}]})["ETag"]
    wait_for(lambda: (head_or_none(c2, "shared", "mp") or {}).get(
        "ETag") == etag, REPLICATE, "the multipart object on n2")
    assert file_sha256(n2.dir / "shared/mp") == \
        hashlib.sha256(p1 + p2).hexdigest()
    # Deleted through n2: gone from both.
    c2.delete_object(Bucket="shared", Key="dir/obj.bin")
    wait_for(lambda: not (n1.dir / "shared/dir/obj.bin").exists(),
             REPLICATE, "the deletion on n1")


def test_s3_write_under_another_nodes_lock_is_refused(cluster):
    """A key locked through the tracker by another node: PutObject,
    DeleteObject and CopyObject onto it answer OperationAborted naming the
    holder, DeleteObjects reports it as an error, nothing changes; the
    holder's node writes."""
    import test_tracker as tt
    from botocore.exceptions import ClientError
    tracker, (n1, n2) = tt.start_tracked(cluster, 2)
    keys = [add_key(n.dir) for n in (n1, n2)]
    for n in (n1, n2):
        n.stop()
        n.start()
    cluster.wait_alive([n1, n2], 2)
    c1, c2 = client(n1, *keys[0]), client(n2, *keys[1])
    c1.create_bucket(Bucket="locked")
    c1.put_object(Bucket="locked", Key="doc.txt", Body=b"v1")
    wait_for(lambda: (n2.dir / "locked/doc.txt").exists(), REPLICATE,
             "doc.txt on n2")
    tt.lock(n1, "/locked/doc.txt")
    wait_for(lambda: "locked/doc.txt" in tt.node_locks(n2), REPLICATE,
             "n2 to learn of the lock")
    for call in (
            lambda: c2.put_object(Bucket="locked", Key="doc.txt",
                                  Body=b"v2"),
            lambda: c2.delete_object(Bucket="locked", Key="doc.txt"),
            lambda: c2.copy_object(Bucket="locked", Key="doc.txt",
                                   CopySource="locked/doc.txt",
                                   MetadataDirective="REPLACE")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "OperationAborted"
        assert n1.id[:8] in e.value.response["Error"]["Message"]
    r = c2.delete_objects(Bucket="locked", Delete={"Objects": [
        {"Key": "doc.txt"}]})
    assert [x["Key"] for x in r["Errors"]] == ["doc.txt"]
    assert (n2.dir / "locked/doc.txt").read_bytes() == b"v1"
    c1.put_object(Bucket="locked", Key="doc.txt", Body=b"v3 by n1")
    wait_for(lambda: (n2.dir / "locked/doc.txt").read_bytes() ==
             b"v3 by n1", REPLICATE, "n1's write on n2")


def test_s3_copy_of_an_object_held_elsewhere(cluster):
    """replicas = 1: CopyObject and UploadPartCopy on a node that holds
    no copy of the source fetch one first, then copy (they answered
    NotImplemented).  rclone's move and server-side copies depend on it."""
    nodes = []
    for i in range(3):
        nodes.append(cluster.new_node(
            init_args=["--replicas", "1"] if i == 0 else (),
            args=["--repair-delay", "3"]))
    keys = [add_key(n.dir) for n in nodes]
    for n in nodes:
        n.start()
    cluster.wait_alive(nodes, 3)
    c0 = client(nodes[0], *keys[0])
    c0.create_bucket(Bucket="bkt")
    blobs = {f"src{i}.bin": os.urandom(200000 + 1000 * i) for i in range(6)}
    for k, d in blobs.items():
        c0.put_object(Bucket="bkt", Key=k, Body=d, Metadata={"n": k})

    def holders(k):
        return [n for n in nodes if (n.dir / "bkt" / k).exists() and
                file_sha256(n.dir / "bkt" / k) ==
                hashlib.sha256(blobs[k]).hexdigest()]
    # Each object settles on one node; find one a node does not hold.
    wait_for(lambda: all(len(holders(k)) == 1 for k in blobs), REPLICATE,
             "each object on exactly one node")
    node = nodes[1]
    away = [k for k in blobs if node not in holders(k)]
    assert len(away) >= 3, {k: [n.name for n in holders(k)] for k in blobs}
    c = client(node, *keys[1])
    # A read here fetches a copy: it keeps the object's metadata (the
    # fetched row lost it, so a copy of it had none).
    key = away[0]
    assert c.get_object(Bucket="bkt", Key=key)["Body"].read() == blobs[key]
    assert c.head_object(Bucket="bkt", Key=key)["Metadata"] == {"n": key}
    key = away[1]
    r = c.copy_object(Bucket="bkt", Key="copy.bin",
                      CopySource={"Bucket": "bkt", "Key": key})
    assert r["CopyObjectResult"]["ETag"] == \
        f'"{hashlib.md5(blobs[key]).hexdigest()}"'
    assert c.get_object(Bucket="bkt", Key="copy.bin")["Body"].read() == \
        blobs[key]
    assert c.head_object(Bucket="bkt", Key="copy.bin")["Metadata"] == \
        {"n": key}
    key2 = away[2]
    up = c.create_multipart_upload(Bucket="bkt", Key="mp.bin")
    p = c.upload_part_copy(Bucket="bkt", Key="mp.bin", UploadId=up["UploadId"],
                           PartNumber=1,
                           CopySource={"Bucket": "bkt", "Key": key2},
                           CopySourceRange="bytes=0-99999")
    etag = p["CopyPartResult"]["ETag"]
    c.complete_multipart_upload(
        Bucket="bkt", Key="mp.bin", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert c.get_object(Bucket="bkt", Key="mp.bin")["Body"].read() == \
        blobs[key2][:100000]
