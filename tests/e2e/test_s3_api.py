"""The S3 endpoint driven by boto3 and aws-cli: buckets, objects, listings,
presigned URLs, conditions, ranges and the bad input of docs/S3.md.  Every
object written is checked by hash on the node's disk."""
import hashlib
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from s3util import S3Node, aws, file_sha256, sha256

botocore = pytest.importorskip("botocore")
from botocore.exceptions import ClientError  # noqa: E402


@pytest.fixture
def s3(node):
    n = S3Node(node)
    yield n


def code_of(exc):
    return exc.value.response["Error"]["Code"]


def test_s3_buckets(s3):
    c = s3.client()
    assert c.list_buckets()["Buckets"] == []
    c.create_bucket(Bucket="photos")
    c.create_bucket(Bucket="docs", CreateBucketConfiguration={
        "LocationConstraint": "eu-west-1"})
    names = [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert sorted(names) == ["docs", "photos"]
    assert (s3.dir / "photos").is_dir()
    c.head_bucket(Bucket="photos")
    with pytest.raises(ClientError) as e:
        c.head_bucket(Bucket="nothere")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert c.get_bucket_location(Bucket="photos").get(
        "LocationConstraint") in (None, "")
    # Old versions are kept (versions.keep, docs/VERSIONS.md).
    v = c.get_bucket_versioning(Bucket="photos")
    assert v.get("Status") == "Enabled"
    c.put_object(Bucket="photos", Key="a.jpg", Body=b"x")
    with pytest.raises(ClientError) as e:
        c.delete_bucket(Bucket="photos")
    assert code_of(e) == "BucketNotEmpty"
    with pytest.raises(ClientError) as e:
        c.create_bucket(Bucket="photos")
    assert code_of(e) == "BucketAlreadyOwnedByYou"
    c.delete_object(Bucket="photos", Key="a.jpg")
    c.delete_bucket(Bucket="photos")
    assert not (s3.dir / "photos").exists()
    with pytest.raises(ClientError) as e:
        c.create_bucket(Bucket="Bad_Name")
    assert code_of(e) == "InvalidBucketName"


def test_s3_objects_round_trip(s3):
    c = s3.client()
    c.create_bucket(Bucket="bk1")
    data = os.urandom(3 * 1024 * 1024 + 17)
    r = c.put_object(Bucket="bk1", Key="dir/sub/obj.bin", Body=data)
    etag = r["ETag"]
    assert file_sha256(s3.dir / "bk1/dir/sub/obj.bin") == sha256(data)
    g = c.get_object(Bucket="bk1", Key="dir/sub/obj.bin")
    assert g["Body"].read() == data
    assert g["ETag"] == etag
    h = c.head_object(Bucket="bk1", Key="dir/sub/obj.bin")
    assert h["ContentLength"] == len(data)
    assert h["ETag"] == etag
    # Range
    g = c.get_object(Bucket="bk1", Key="dir/sub/obj.bin", Range="bytes=10-19")
    assert g["Body"].read() == data[10:20]
    assert g["ContentRange"] == f"bytes 10-19/{len(data)}"
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="bk1", Key="dir/sub/obj.bin",
                     Range=f"bytes={len(data) + 5}-")
    assert code_of(e) == "InvalidRange"
    # Conditions
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="bk1", Key="dir/sub/obj.bin", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="bk1", Key="dir/sub/obj.bin",
                     IfMatch='"0123456789abcdef0123456789abcdef"')
    assert code_of(e) == "PreconditionFailed"
    assert c.get_object(Bucket="bk1", Key="dir/sub/obj.bin",
                        IfMatch=etag)["Body"].read() == data
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="bk1", Key="dir/sub/obj.bin",
                     IfModifiedSince=h["LastModified"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # Overrides
    g = c.get_object(Bucket="bk1", Key="dir/sub/obj.bin",
                     ResponseContentType="text/x-test",
                     ResponseContentDisposition="attachment; filename=x")
    assert g["ContentType"] == "text/x-test"
    assert g["ContentDisposition"] == "attachment; filename=x"
    g["Body"].read()
    # Overwrite, then delete: the folders it leaves empty go too.
    c.put_object(Bucket="bk1", Key="dir/sub/obj.bin", Body=b"small")
    assert (s3.dir / "bk1/dir/sub/obj.bin").read_bytes() == b"small"
    c.delete_object(Bucket="bk1", Key="dir/sub/obj.bin")
    assert not (s3.dir / "bk1/dir").exists()
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="bk1", Key="dir/sub/obj.bin")
    assert code_of(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="nobucket", Key="k", Body=b"1")
    assert code_of(e) == "NoSuchBucket"
    # An empty object.
    c.put_object(Bucket="bk1", Key="empty", Body=b"")
    assert c.get_object(Bucket="bk1", Key="empty")["Body"].read() == b""


def test_s3_list_order_prefix_delimiter_pages(s3):
    c = s3.client()
    c.create_bucket(Bucket="lst")
    keys = ["a-c", "a/b", "a/c/d", "a0", "b", "c/x/y", "c/z", "é"]
    for k in keys:
        c.put_object(Bucket="lst", Key=k, Body=k.encode())
    got = [o["Key"] for o in c.list_objects_v2(Bucket="lst")["Contents"]]
    assert got == sorted(keys, key=lambda k: k.encode())
    r = c.list_objects_v2(Bucket="lst", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a-c", "a0", "b", "é"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "c/"]
    r = c.list_objects_v2(Bucket="lst", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a/b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/c/"]
    r = c.list_objects_v2(Bucket="lst", Prefix="a")
    assert [o["Key"] for o in r["Contents"]] == ["a-c", "a/b", "a/c/d", "a0"]
    # Pages of 3 through the paginator (continuation tokens).
    pages = c.get_paginator("list_objects_v2").paginate(
        Bucket="lst", PaginationConfig={"PageSize": 3})
    seen = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert seen == sorted(keys, key=lambda k: k.encode())
    r = c.list_objects_v2(Bucket="lst", StartAfter="a0")
    assert [o["Key"] for o in r["Contents"]] == ["b", "c/x/y", "c/z", "é"]
    # v1 with marker and max-keys
    r = c.list_objects(Bucket="lst", MaxKeys=2)
    assert r["IsTruncated"] is True
    assert [o["Key"] for o in r["Contents"]] == ["a-c", "a/b"]
    r = c.list_objects(Bucket="lst", Marker="a/b")
    assert [o["Key"] for o in r["Contents"]][0] == "a/c/d"
    pages = c.get_paginator("list_objects").paginate(
        Bucket="lst", Delimiter="/", PaginationConfig={"PageSize": 2})
    seen = []
    for p in pages:
        seen += [o["Key"] for o in p.get("Contents", [])]
        seen += [q["Prefix"] for q in p.get("CommonPrefixes", [])]
    assert sorted(seen) == sorted(["a-c", "a0", "b", "é", "a/", "c/"])
        # encoding-type=url asked for explicitly: boto3 leaves it encoded.
    r = c.list_objects_v2(Bucket="lst", EncodingType="url", Prefix="é")
    assert [o["Key"] for o in r["Contents"]] == ["%C3%A9"]
    r = c.list_objects_v2(Bucket="lst", FetchOwner=True, Prefix="b")
    assert r["Contents"][0]["Owner"]["ID"] == "alice"


def test_s3_delete_objects(s3):
    c = s3.client()
    c.create_bucket(Bucket="del")
    for i in range(5):
        c.put_object(Bucket="del", Key=f"k/{i}", Body=b"v")
    r = c.delete_objects(Bucket="del", Delete={"Objects": [
        {"Key": "k/0"}, {"Key": "k/1"}, {"Key": "missing"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["k/0", "k/1",
                                                      "missing"]
    r = c.delete_objects(Bucket="del", Delete={"Quiet": True, "Objects": [
        {"Key": "k/2"}, {"Key": "../escape"}]})
    assert "Deleted" not in r
    assert [e["Key"] for e in r["Errors"]] == ["../escape"]
    assert sorted(os.listdir(s3.dir / "del/k")) == ["3", "4"]
    with pytest.raises(ClientError) as e:
        c.delete_objects(Bucket="del", Delete={"Objects": [
            {"Key": f"k/{i}"} for i in range(1001)]})
    assert code_of(e) == "MalformedXML"
    assert sorted(os.listdir(s3.dir / "del/k")) == ["3", "4"]


def test_s3_presigned_get_and_put(s3):
    c = s3.client()
    c.create_bucket(Bucket="pre")
    url = c.generate_presigned_url("put_object", Params={
        "Bucket": "pre", "Key": "up.txt"}, ExpiresIn=300)
    req = urllib.request.Request(url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    assert (s3.dir / "pre/up.txt").read_bytes() == b"presigned body"
    url = c.generate_presigned_url("get_object", Params={
        "Bucket": "pre", "Key": "up.txt"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.read() == b"presigned body"
    # A changed signature is refused.
    bad = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=30)
    assert e.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in e.value.read()


def test_s3_bad_credentials_and_anonymous(s3):
    c = s3.client(sk="x" * 40)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert code_of(e) == "SignatureDoesNotMatch"
    c = s3.client(ak="AKAAAAAAAAAAAAAAAAAA")
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert code_of(e) == "InvalidAccessKeyId"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(s3.url + "/", timeout=30)
    assert e.value.code == 403
    body = e.value.read()
    assert b"<Code>AccessDenied</Code>" in body and b"<RequestId>" in body
    # The node keeps serving.
    assert s3.client().list_buckets()["Buckets"] == []


def test_s3_bad_keys_store_nothing(s3):
    c = s3.client()
    c.create_bucket(Bucket="keys")
    before = sorted(p for p in os.listdir(s3.dir))
    for key in ["../outside", "a/../../outside", "a//b", "ctl\x01key",
                "x" * 300, "./dot"]:
        with pytest.raises(ClientError) as e:
            c.put_object(Bucket="keys", Key=key, Body=b"bad")
        status = e.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 400, key
        # A control byte sent raw is no valid request head: the answer
        # comes before the body is read, and the connection closes.
        if "\x01" not in key:
            assert code_of(e) in ("InvalidArgument", "KeyTooLongError"), key
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="keys", Key="k" * 1025, Body=b"bad")
    assert code_of(e) == "KeyTooLongError"
    assert sorted(os.listdir(s3.dir)) == before
    assert os.listdir(s3.dir / "keys") == []
    # A key where a folder is, and a folder where an object is.
    c.put_object(Bucket="keys", Key="f/g", Body=b"1")
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="keys", Key="f", Body=b"2")
    assert code_of(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="keys", Key="f/g/h", Body=b"3")
    assert code_of(e) == "InvalidArgument"
    assert (s3.dir / "keys/f/g").read_bytes() == b"1"


def test_s3_unsupported_is_not_implemented(s3):
    c = s3.client()
    c.create_bucket(Bucket="nim")
    with pytest.raises(ClientError) as e:
        c.get_bucket_acl(Bucket="nim")
    assert code_of(e) == "NotImplemented"
    with pytest.raises(ClientError) as e:
        c.put_bucket_tagging(Bucket="nim", Tagging={"TagSet": []})
    assert code_of(e) == "NotImplemented"


def test_s3_content_md5_checked(s3):
    import base64
    c = s3.client()
    c.create_bucket(Bucket="md5")
    good = base64.b64encode(hashlib.md5(b"hello").digest()).decode()
    c.put_object(Bucket="md5", Key="ok", Body=b"hello", ContentMD5=good)
    assert (s3.dir / "md5/ok").read_bytes() == b"hello"
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="md5", Key="bad", Body=b"hello", ContentMD5=bad)
    assert code_of(e) == "BadDigest"
    assert not (s3.dir / "md5/bad").exists()


def test_s3_aws_cli(s3, tmp_path):
    assert aws(s3, "s3", "mb", "s3://clibucket").returncode == 0
    src = tmp_path / "src"
    (src / "sub/deeper").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(100000),
             "sub/deeper/c": b"c" * 5000}
    for name, data in files.items():
        (src / name).write_bytes(data)
    r = aws(s3, "s3", "sync", str(src), "s3://clibucket/tree/")
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert file_sha256(s3.dir / "clibucket/tree" / name) == sha256(data)
    r = aws(s3, "s3", "ls", "s3://clibucket/tree/", "--recursive")
    assert r.returncode == 0, r.stderr
    for name in files:
        assert f"tree/{name}" in r.stdout
    back = tmp_path / "back"
    r = aws(s3, "s3", "sync", "s3://clibucket/tree/", str(back))
    assert r.returncode == 0, r.stderr
    for name, data in files.items():
        assert (back / name).read_bytes() == data
    r = aws(s3, "s3", "cp", str(src / "a.txt"), "s3://clibucket/one.txt")
    assert r.returncode == 0, r.stderr
    r = aws(s3, "s3", "presign", "s3://clibucket/one.txt")
    assert r.returncode == 0, r.stderr
    with urllib.request.urlopen(r.stdout.strip(), timeout=30) as resp:
        assert resp.read() == b"alpha"
    r = aws(s3, "s3", "rm", "--recursive", "s3://clibucket/tree/")
    assert r.returncode == 0, r.stderr
    assert not (s3.dir / "clibucket/tree").exists()
    r = aws(s3, "s3", "rb", "s3://clibucket", "--force")
    assert r.returncode == 0, r.stderr
    assert not (s3.dir / "clibucket").exists()


def test_s3_etag_is_md5_and_metadata_round_trip(s3):
    c = s3.client()
    c.create_bucket(Bucket="meta")
    data = b"metadata body " * 1000
    r = c.put_object(Bucket="meta", Key="m/obj", Body=data,
                     ContentType="text/plain; charset=utf-8",
                     ContentDisposition="inline", CacheControl="max-age=60",
                     Metadata={"Colour": "blue", "n": "1"})
    md5 = hashlib.md5(data).hexdigest()
    assert r["ETag"] == f'"{md5}"'
    h = c.head_object(Bucket="meta", Key="m/obj")
    assert h["ETag"] == f'"{md5}"'
    assert h["ContentType"] == "text/plain; charset=utf-8"
    assert h["ContentDisposition"] == "inline"
    assert h["CacheControl"] == "max-age=60"
    assert h["Metadata"] == {"colour": "blue", "n": "1"}
    listed = c.list_objects_v2(Bucket="meta")["Contents"][0]
    assert listed["ETag"] == f'"{md5}"'
    # Too much metadata is refused, nothing stored.
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="meta", Key="big", Body=b"x",
                     Metadata={"a": "v" * 2100})
    assert code_of(e) == "InvalidArgument"
    assert not (s3.dir / "meta/big").exists()


def test_s3_etag_of_a_file_written_otherwise(s3):
    c = s3.client()
    c.create_bucket(Bucket="ftpb")
    data = os.urandom(70000)
    # Written through the HTTP-less way every node has: straight into
    # the folder is scanned later; FTP is indexed at once.
    import ftplib
    import io
    f = ftplib.FTP()
    f.connect("127.0.0.1", s3.ftp_port, timeout=30)
    f.login("alice", "alice-pw-123")
    f.storbinary("STOR /ftpb/viaftp.bin", io.BytesIO(data))
    f.quit()
    md5 = hashlib.md5(data).hexdigest()
    assert c.head_object(Bucket="ftpb", Key="viaftp.bin")["ETag"] == \
        f'"{md5}"'
    assert c.list_objects_v2(Bucket="ftpb")["Contents"][0]["ETag"] == \
        f'"{md5}"'


def test_s3_copy_object(s3):
    c = s3.client()
    c.create_bucket(Bucket="src")
    c.create_bucket(Bucket="dst")
    data = os.urandom(200000)
    c.put_object(Bucket="src", Key="a/orig", Body=data, ContentType="x/y",
                 Metadata={"k": "v"})
    r = c.copy_object(Bucket="dst", Key="b/copy",
                      CopySource={"Bucket": "src", "Key": "a/orig"})
    md5 = hashlib.md5(data).hexdigest()
    assert r["CopyObjectResult"]["ETag"] == f'"{md5}"'
    assert file_sha256(s3.dir / "dst/b/copy") == sha256(data)
    h = c.head_object(Bucket="dst", Key="b/copy")
    assert h["Metadata"] == {"k": "v"} and h["ContentType"] == "x/y"
    # REPLACE
    c.copy_object(Bucket="dst", Key="b/copy2", MetadataDirective="REPLACE",
                  CopySource={"Bucket": "src", "Key": "a/orig"},
                  Metadata={"other": "1"})
    h = c.head_object(Bucket="dst", Key="b/copy2")
    assert h["Metadata"] == {"other": "1"}
    assert h["ContentType"] == "binary/octet-stream"
    # Onto itself: only with new metadata.
    with pytest.raises(ClientError) as e:
        c.copy_object(Bucket="src", Key="a/orig",
                      CopySource={"Bucket": "src", "Key": "a/orig"})
    assert code_of(e) == "InvalidRequest"
    c.copy_object(Bucket="src", Key="a/orig", MetadataDirective="REPLACE",
                  CopySource={"Bucket": "src", "Key": "a/orig"},
                  Metadata={"k": "changed"})
    h = c.head_object(Bucket="src", Key="a/orig")
    assert h["Metadata"] == {"k": "changed"}
    assert file_sha256(s3.dir / "src/a/orig") == sha256(data)
    with pytest.raises(ClientError) as e:
        c.copy_object(Bucket="dst", Key="x",
                      CopySource={"Bucket": "src", "Key": "missing"})
    assert code_of(e) == "NoSuchKey"


def test_s3_multipart(s3):
    c = s3.client()
    c.create_bucket(Bucket="mpu")
    up = c.create_multipart_upload(Bucket="mpu", Key="big/file.bin",
                                   ContentType="application/x-big",
                                   Metadata={"m": "1"})
    uid = up["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024),
             os.urandom(12345)]
    etags = []
    for i, p in enumerate(parts, 1):
        r = c.upload_part(Bucket="mpu", Key="big/file.bin", UploadId=uid,
                          PartNumber=i, Body=p)
        assert r["ETag"] == f'"{hashlib.md5(p).hexdigest()}"'
        etags.append(r["ETag"])
    # Staged out of sight: not an object, not in a listing.
    assert not (s3.dir / "mpu/big").exists()
    assert "Contents" not in c.list_objects_v2(Bucket="mpu")
    lp = c.list_parts(Bucket="mpu", Key="big/file.bin", UploadId=uid)
    assert [p["PartNumber"] for p in lp["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in lp["Parts"]] == [len(p) for p in parts]
    lu = c.list_multipart_uploads(Bucket="mpu")
    assert [u["UploadId"] for u in lu["Uploads"]] == [uid]
    # Out of order, and a wrong ETag: refused, nothing stored.
    with pytest.raises(ClientError) as e:
        c.complete_multipart_upload(
            Bucket="mpu", Key="big/file.bin", UploadId=uid,
            MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": etags[1]},
                {"PartNumber": 1, "ETag": etags[0]}]})
    assert code_of(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        c.complete_multipart_upload(
            Bucket="mpu", Key="big/file.bin", UploadId=uid,
            MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": etags[0]},
                {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]})
    assert code_of(e) == "InvalidPart"
    assert not (s3.dir / "mpu/big").exists()
    r = c.complete_multipart_upload(
        Bucket="mpu", Key="big/file.bin", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": t}
                                   for i, t in enumerate(etags)]})
    whole = b"".join(parts)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    want = f'"{hashlib.md5(md5s).hexdigest()}-3"'
    assert r["ETag"] == want
    assert file_sha256(s3.dir / "mpu/big/file.bin") == sha256(whole)
    h = c.head_object(Bucket="mpu", Key="big/file.bin")
    assert h["ETag"] == want and h["ContentLength"] == len(whole)
    assert h["ContentType"] == "application/x-big"
    assert h["Metadata"] == {"m": "1"}
    assert "Uploads" not in c.list_multipart_uploads(Bucket="mpu")
    assert not list((s3.dir / ".shoal/tmp/s3").iterdir())
    # Abort, and an upload that is gone.
    up = c.create_multipart_upload(Bucket="mpu", Key="aborted")
    c.upload_part(Bucket="mpu", Key="aborted", UploadId=up["UploadId"],
                  PartNumber=1, Body=b"x" * 100)
    c.abort_multipart_upload(Bucket="mpu", Key="aborted",
                             UploadId=up["UploadId"])
    with pytest.raises(ClientError) as e:
        c.upload_part(Bucket="mpu", Key="aborted", UploadId=up["UploadId"],
                      PartNumber=1, Body=b"x")
    assert code_of(e) == "NoSuchUpload"
    assert not (s3.dir / "mpu/aborted").exists()
    # UploadPartCopy
    up = c.create_multipart_upload(Bucket="mpu", Key="copied")
    r = c.upload_part_copy(Bucket="mpu", Key="copied",
                           UploadId=up["UploadId"], PartNumber=1,
                           CopySource={"Bucket": "mpu",
                                       "Key": "big/file.bin"},
                           CopySourceRange="bytes=0-5242879")
    t1 = r["CopyPartResult"]["ETag"]
    r = c.upload_part_copy(Bucket="mpu", Key="copied",
                           UploadId=up["UploadId"], PartNumber=2,
                           CopySource={"Bucket": "mpu",
                                       "Key": "big/file.bin"},
                           CopySourceRange="bytes=5242880-5243879")
    t2 = r["CopyPartResult"]["ETag"]
    c.complete_multipart_upload(
        Bucket="mpu", Key="copied", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": t1},
                                   {"PartNumber": 2, "ETag": t2}]})
    assert (s3.dir / "mpu/copied").read_bytes() == whole[:5243880]


def test_s3_multipart_parts_survive_a_restart(s3, node):
    c = s3.client()
    c.create_bucket(Bucket="rst")
    uid = c.create_multipart_upload(Bucket="rst", Key="k")["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    t1 = c.upload_part(Bucket="rst", Key="k", UploadId=uid, PartNumber=1,
                       Body=p1)["ETag"]
    s3.stop()
    s3b = S3Node.restart(s3)
    c = s3b.client()
    t2 = c.upload_part(Bucket="rst", Key="k", UploadId=uid, PartNumber=2,
                       Body=b"tail")["ETag"]
    c.complete_multipart_upload(
        Bucket="rst", Key="k", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": t1},
                                   {"PartNumber": 2, "ETag": t2}]})
    assert (s3b.dir / "rst/k").read_bytes() == p1 + b"tail"


def test_s3_multipart_expiry(node):
    s3 = S3Node(node, args=["-o", "s3.multipart_expiry=1"])
    c = s3.client()
    c.create_bucket(Bucket="exp")
    uid = c.create_multipart_upload(Bucket="exp", Key="k")["UploadId"]
    staged = s3.dir / ".shoal/tmp/s3" / uid
    assert staged.is_dir()
    deadline = time.monotonic() + 30
    while staged.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not staged.exists()
    with pytest.raises(ClientError) as e:
        c.upload_part(Bucket="exp", Key="k", UploadId=uid, PartNumber=1,
                      Body=b"x")
    assert code_of(e) == "NoSuchUpload"


def test_s3_aws_cli_multipart_cp(s3, tmp_path):
    assert aws(s3, "s3", "mb", "s3://bigcli").returncode == 0
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    r = aws(s3, "s3", "cp", str(big), "s3://bigcli/dir/big.bin")
    assert r.returncode == 0, r.stderr
    assert file_sha256(s3.dir / "bigcli/dir/big.bin") == file_sha256(big)
    h = s3.client().head_object(Bucket="bigcli", Key="dir/big.bin")
    assert h["ETag"].endswith('-3"')     # 8 MiB parts: 8 + 8 + 4
    back = tmp_path / "back.bin"
    r = aws(s3, "s3", "cp", "s3://bigcli/dir/big.bin", str(back))
    assert r.returncode == 0, r.stderr
    assert file_sha256(back) == file_sha256(big)


def test_s3_checksum_headers_checked_stored_echoed(s3):
    import base64
    import struct
    import zlib
    c = s3.client()
    c.create_bucket(Bucket="sums")
    data = os.urandom(100000)
    crc = base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()
    r = c.put_object(Bucket="sums", Key="ok", Body=data, ChecksumCRC32=crc)
    assert r.get("ChecksumCRC32") == crc
    h = c.head_object(Bucket="sums", Key="ok", ChecksumMode="ENABLED")
    assert h.get("ChecksumCRC32") == crc
    assert "ChecksumCRC32" not in c.head_object(Bucket="sums", Key="ok")
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    c.put_object(Bucket="sums", Key="sha", Body=data, ChecksumSHA256=sha)
    g = c.get_object(Bucket="sums", Key="sha", ChecksumMode="ENABLED")
    assert g["Body"].read() == data and g.get("ChecksumSHA256") == sha
    bad = base64.b64encode(struct.pack(">I", zlib.crc32(b"other"))).decode()
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="sums", Key="bad", Body=data, ChecksumCRC32=bad)
    assert code_of(e) == "BadDigest"
    assert not (s3.dir / "sums/bad").exists()


def test_s3_index_from_before_attributes_is_migrated(node):
    """An index made before the attrs column (dropped here) opens, takes
    the column, and keeps its files."""
    import sqlite3
    first = S3Node(node)
    c = first.client()
    c.create_bucket(Bucket="old")
    c.put_object(Bucket="old", Key="kept", Body=b"from before")
    first.stop()
    db = sqlite3.connect(first.dir / ".shoal" / "index.db")
    with db:
        db.execute("ALTER TABLE files DROP COLUMN attrs")
    db.close()
    again = S3Node.restart(first)
    c = again.client()
    assert c.get_object(Bucket="old", Key="kept")["Body"].read() == \
        b"from before"
    assert c.head_object(Bucket="old", Key="kept")["ETag"] == \
        f'"{hashlib.md5(b"from before").hexdigest()}"'
    c.put_object(Bucket="old", Key="new", Body=b"n", Metadata={"a": "b"})
    assert c.head_object(Bucket="old", Key="new")["Metadata"] == {"a": "b"}


def test_s3_virtual_host_style(node, monkeypatch):
    """With s3.domain set, BUCKET.DOMAIN names the bucket: boto3 with
    virtual addressing and curl's own SigV4 signing, on the same objects
    as path style.  Names under the domain resolve to 127.0.0.1 for the
    client (there is no DNS here); everything else is real."""
    import socket

    import boto3
    from botocore.config import Config

    s3 = S3Node(node, args=["-o", "s3.domain=s3.shoal.test"])
    real = socket.getaddrinfo

    def resolve(host, *a, **kw):
        if isinstance(host, str) and host.endswith(".shoal.test"):
            host = "127.0.0.1"
        return real(host, *a, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    v = boto3.client(
        "s3", endpoint_url=f"http://s3.shoal.test:{s3.port}",
        region_name="us-east-1", aws_access_key_id=s3.ak,
        aws_secret_access_key=s3.sk,
        config=Config(s3={"addressing_style": "virtual"},
                      retries={"max_attempts": 1}, signature_version="s3v4"))
    v.create_bucket(Bucket="vhost")
    assert (s3.dir / "vhost").is_dir()
    data = os.urandom(70000)
    v.put_object(Bucket="vhost", Key="a/b.bin", Body=data)
    assert file_sha256(s3.dir / "vhost/a/b.bin") == sha256(data)
    assert v.get_object(Bucket="vhost", Key="a/b.bin")["Body"].read() == data
    keys = [o["Key"] for o in v.list_objects_v2(Bucket="vhost")["Contents"]]
    assert keys == ["a/b.bin"]
    # Path style on the same endpoint still works, and sees the same.
    assert s3.client().get_object(Bucket="vhost",
                                  Key="a/b.bin")["Body"].read() == data
    # curl signs for the Host it sends.
    out = subprocess.run(
        ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3",
         "--user", f"{s3.ak}:{s3.sk}",
         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--connect-to",
         f"vhost.s3.shoal.test:{s3.port}:127.0.0.1:{s3.port}",
         f"http://vhost.s3.shoal.test:{s3.port}/a/b.bin"],
        capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data, out.stdout[:400]
    # A name under the domain that is no bucket name.
    with pytest.raises(ClientError) as e:
        v.head_bucket(Bucket="Bad_Name")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    v.delete_object(Bucket="vhost", Key="a/b.bin")
    assert not (s3.dir / "vhost/a/b.bin").exists()
