"""The SigV4 verifier against requests signed by a real client library:
botocore (the signer under aws-cli and boto3) makes the requests its S3
client sends for everyday calls and presigned URLs, a hook takes each one
just before it would leave, and build/tests/unit/sigv4_probe checks it.
Every request verifies with the right secret, none with another one, and
none once a signed part was changed on the way."""

import json
import subprocess
import time
import urllib.parse

import pytest

from conftest import ROOT

botocore = pytest.importorskip("botocore")
import botocore.config  # noqa: E402
import botocore.session  # noqa: E402

PROBE = ROOT / "build" / "tests" / "unit" / "sigv4_probe"
AK = "AKW3PZ7LQ2XH5RVN4KTA"
SECRET = "9vQ2m-8Tt7yZ0kqj3r_N1XeB5cLw6hUa4pGdS2fK"
ENDPOINT = "http://127.0.0.1:9000"


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def client(**s3cfg):
    session = botocore.session.get_session()
    cfg = botocore.config.Config(
        signature_version="s3v4", s3={"addressing_style": "path", **s3cfg},
        retries={"max_attempts": 0})
    c = session.create_client("s3", region_name="eu-west-3",
                              endpoint_url=ENDPOINT, aws_access_key_id=AK,
                              aws_secret_access_key=SECRET, config=cfg)

    def grab(request, **kwargs):
        raise Captured(request)

    c.meta.events.register("before-send.s3", grab)
    return c


def capture(call):
    with pytest.raises(Captured) as e:
        call()
    r = e.value.request
    u = urllib.parse.urlsplit(r.url)
    headers = [[k, v.decode() if isinstance(v, bytes) else v]
               for k, v in r.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(["Host", u.netloc])  # what the HTTP client sends
    return {"method": r.method, "path": u.path, "query": u.query,
            "headers": headers}


def presigned(url, method="GET"):
    u = urllib.parse.urlsplit(url)
    return {"method": method, "path": u.path, "query": u.query,
            "headers": [["Host", u.netloc]]}


def probe(requests, secret=SECRET, now=None):
    now = int(time.time()) if now is None else now
    batch = [dict(r, secret=secret, now=now) for r in requests]
    out = subprocess.run([str(PROBE)], input=json.dumps(batch),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


KEYS = ["plain.txt", "dir/sub/file name.txt", "ünïcödé/ключ.bin",
        "odd !'()*+,;=@$&~.txt", "percent%2Fand%20.txt", "a//b/./c/../d"]


def everyday_requests():
    c = client()
    body = b"hello, world\n" * 100
    reqs = []
    for key in KEYS:
        reqs.append(capture(lambda: c.put_object(
            Bucket="photos", Key=key, Body=body, ContentType="text/plain",
            Metadata={"Owner": "Alvaro", "spaced": "a   b"}))) 
        reqs.append(capture(lambda: c.get_object(
            Bucket="photos", Key=key, Range="bytes=0-9",
            ResponseContentDisposition='attachment; filename="x y.txt"')))
        reqs.append(capture(lambda: c.head_object(Bucket="photos", Key=key)))
        reqs.append(capture(lambda: c.delete_object(Bucket="photos",
                                                    Key=key)))
        reqs.append(capture(lambda: c.copy_object(
            Bucket="photos", Key=key + ".copy",
            CopySource={"Bucket": "photos", "Key": key})))
        reqs.append(capture(lambda: c.upload_part(
            Bucket="photos", Key=key, UploadId="2~abc/def+ghi=",
            PartNumber=3, Body=body)))
    reqs.append(capture(lambda: c.list_objects_v2(
        Bucket="photos", Prefix="dir/sub dir/", Delimiter="/",
        ContinuationToken="MTIz+/==", StartAfter="a b", MaxKeys=7,
        FetchOwner=True, EncodingType="url")))
    reqs.append(capture(lambda: c.list_objects(
        Bucket="photos", Prefix="ü", Marker="m=1&x", MaxKeys=1000)))
    reqs.append(capture(lambda: c.list_buckets()))
    reqs.append(capture(lambda: c.create_bucket(
        Bucket="photos", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-3"})))
    reqs.append(capture(lambda: c.delete_objects(
        Bucket="photos", Delete={"Objects": [{"Key": k} for k in KEYS],
                                 "Quiet": True})))
    reqs.append(capture(lambda: c.create_multipart_upload(Bucket="photos",
                                                          Key="big.bin")))
    reqs.append(capture(lambda: c.list_multipart_uploads(Bucket="photos")))
    reqs.append(capture(lambda: c.get_bucket_versioning(Bucket="photos")))
    return reqs


def test_botocore_requests_verify():
    reqs = everyday_requests()
    got = probe(reqs)
    for r, (code, payload) in zip(reqs, got):
        assert code == "OK", (r["method"], r["path"], r["query"], code)
        assert payload == "signed", (r["method"], r["path"], payload)
    for code, _ in probe(reqs, secret=SECRET[:-1] + "X"):
        assert code == "SignatureDoesNotMatch"


def test_botocore_unsigned_payload():
    c = client(payload_signing_enabled=False)
    reqs = [capture(lambda: c.put_object(Bucket="b", Key=k, Body=b"x" * 9))
            for k in KEYS]
    for (code, payload) in probe(reqs):
        assert (code, payload) == ("OK", "unsigned")


def test_botocore_tampered_requests_fail():
    req = capture(lambda: client().put_object(
        Bucket="photos", Key="dir/file name.txt", Body=b"data",
        ContentType="text/plain", Metadata={"k": "v"}))
    auth = next(v for k, v in req["headers"] if k.lower() == "authorization")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "content-md5" in signed and "x-amz-meta-k" in signed
    changed, unsigned = [], []
    for i, (name, value) in enumerate(req["headers"]):
        r = json.loads(json.dumps(req))
        r["headers"][i][1] = value + "x"
        if name.lower() not in signed:
            # what the signature does not cover may change (User-Agent)
            if name.lower() != "authorization":
                unsigned.append(r)
            continue
        changed.append(r)
    for field in ("path", "method"):
        r = dict(req)
        r[field] = req[field] + "x" if field == "path" else "POST"
        changed.append(r)
    r = dict(req, query="x-id=PutObject")
    changed.append(r)
    assert len(changed) > 5
    for code, _ in probe(changed):
        assert code != "OK"
    assert unsigned
    for code, _ in probe(unsigned):
        assert code == "OK"


def test_botocore_clock_skew():
    reqs = [capture(lambda: client().list_buckets())]
    now = int(time.time())
    assert probe(reqs, now=now + 14 * 60)[0][0] == "OK"
    assert probe(reqs, now=now + 16 * 60)[0][0] == "RequestTimeTooSkewed"
    assert probe(reqs, now=now - 16 * 60)[0][0] == "RequestTimeTooSkewed"


def test_botocore_presigned_urls():
    c = client()
    reqs = []
    for key in KEYS:
        reqs.append(presigned(c.generate_presigned_url(
            "get_object", Params={"Bucket": "photos", "Key": key,
                                  "ResponseContentType": "text/plain"},
            ExpiresIn=600)))
        reqs.append(presigned(c.generate_presigned_url(
            "put_object", Params={"Bucket": "photos", "Key": key},
            ExpiresIn=600), method="PUT"))
    now = int(time.time())
    for (code, payload) in probe(reqs, now=now):
        assert (code, payload) == ("OK", "unsigned")
    for (code, _) in probe(reqs, now=now + 601):
        assert code == "AccessDenied"
    # the method is signed
    wrong = [dict(r, method="DELETE") for r in reqs]
    for (code, _) in probe(wrong, now=now):
        assert code == "SignatureDoesNotMatch"
