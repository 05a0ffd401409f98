"""Signatures end to end: signed aws-chunked bodies (each chunk's signature
checked: a wrong one stores nothing), signed payloads whose SHA-256 is
checked, a skewed clock, an expired presigned URL."""
import datetime
import hashlib
import os
import time
import urllib.error
import urllib.request

import pytest

from s3util import (STREAMING, S3Node, Signer, aws_chunked, file_sha256,
                    raw_request)


@pytest.fixture
def s3(node):
    n = S3Node(node)
    n.client().create_bucket(Bucket="sig")
    return n


def streaming_put(s3, key, chunks, corrupt=None, signer=None):
    signer = signer or Signer(s3.ak, s3.sk)
    decoded = sum(len(c) for c in chunks)
    # The seed signature covers the head; the body's length is the
    # encoded one, so build the body once to know it.
    probe = aws_chunked(signer, "0" * 64, chunks)
    headers = {"Host": f"127.0.0.1:{s3.port}",
               "Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(decoded),
               "Content-Length": str(len(probe))}
    seed = signer.sign("PUT", f"/sig/{key}", headers, STREAMING)
    body = aws_chunked(signer, seed, chunks, corrupt)
    assert len(body) == len(probe)
    return raw_request(s3.port, "PUT", f"/sig/{key}", headers, body)


def test_s3_signed_aws_chunked(s3):
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), b"tail"]
    status, body = streaming_put(s3, "streamed", chunks)
    assert status == 200, body
    whole = b"".join(chunks)
    assert file_sha256(s3.dir / "sig/streamed") == \
        hashlib.sha256(whole).hexdigest()
    # A wrong signature on the second chunk: refused, the object as it was.
    other = [os.urandom(64 * 1024), os.urandom(64 * 1024), b"x"]
    status, body = streaming_put(s3, "streamed", other, corrupt=1)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    assert file_sha256(s3.dir / "sig/streamed") == \
        hashlib.sha256(whole).hexdigest()
    status, body = streaming_put(s3, "never", other, corrupt=3)
    assert status == 403 and b"SignatureDoesNotMatch" in body
    assert not (s3.dir / "sig/never").exists()
    assert not [p for p in (s3.dir / ".shoal/tmp").iterdir() if p.is_file()]
    # The node keeps serving.
    assert s3.client().get_object(Bucket="sig", Key="streamed")[
        "Body"].read() == whole


def test_s3_signed_payload_checked(s3):
    signer = Signer(s3.ak, s3.sk)
    data = b"the body that is sent"
    headers = {"Host": f"127.0.0.1:{s3.port}",
               "Content-Length": str(len(data))}
    signer.sign("PUT", "/sig/p", headers,
                hashlib.sha256(b"another body").hexdigest())
    status, body = raw_request(s3.port, "PUT", "/sig/p", headers, data)
    assert status == 400 and b"XAmzContentSHA256Mismatch" in body
    assert not (s3.dir / "sig/p").exists()
    headers = {"Host": f"127.0.0.1:{s3.port}",
               "Content-Length": str(len(data))}
    signer.sign("PUT", "/sig/p", headers, hashlib.sha256(data).hexdigest())
    status, body = raw_request(s3.port, "PUT", "/sig/p", headers, data)
    assert status == 200, body
    assert (s3.dir / "sig/p").read_bytes() == data


def test_s3_clock_skew(s3):
    when = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(minutes=20)
    signer = Signer(s3.ak, s3.sk, when=when)
    headers = {"Host": f"127.0.0.1:{s3.port}"}
    signer.sign("GET", "/", headers, hashlib.sha256(b"").hexdigest())
    status, body = raw_request(s3.port, "GET", "/", headers)
    assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body


def test_s3_presign_expires(s3):
    c = s3.client()
    c.put_object(Bucket="sig", Key="soon", Body=b"x")
    url = c.generate_presigned_url("get_object", Params={
        "Bucket": "sig", "Key": "soon"}, ExpiresIn=1)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=30).read()
        except urllib.error.HTTPError as e:
            assert e.code == 403
            body = e.read()
            assert b"<Code>AccessDenied</Code>" in body, body
            break
        assert time.monotonic() < deadline, "the URL never expired"
        time.sleep(0.2)
