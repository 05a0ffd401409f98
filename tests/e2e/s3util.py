"""Helpers for the S3 end-to-end tests: a node with an S3 listener on a
free port, an account with an access key, and clients pointed at it."""
import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

import socket

from conftest import Node, free_port, run_shoal

START_TIMEOUT = 20.0


def probe(host, port):
    try:
        socket.create_connection((host, port), timeout=1.0).close()
        return True
    except OSError:
        return False


def add_key(directory, account="alice", password="alice-pw-123"):
    """An account and an S3 key for it; returns (access key, secret)."""
    run_shoal("-C", directory, "user", "add", account, "--password",
              password, check=True)
    r = run_shoal("-C", directory, "s3", "key", "add", account, check=True)
    ak = sk = None
    for line in r.stdout.splitlines():
        if line.startswith("access key:"):
            ak = line.split(":", 1)[1].strip()
        elif line.startswith("secret key:"):
            sk = line.split(":", 1)[1].strip()
    assert ak and sk, r.stdout
    return ak, sk


class S3Node:
    def __init__(self, factory, directory=None, args=(), keys=None,
                 port=None):
        self.factory = factory
        self.args = list(args)
        self.dir = Path(directory or factory.new_dir())
        self.ak, self.sk = keys or add_key(self.dir)
        self.port = port or free_port()
        self.proc, self.ftp_port, self.log_path = factory.spawn(
            self.dir, args=["--s3", f"127.0.0.1:{self.port}", *args])
        # The factory stops it (and reports a crash) at the end.
        self.node = Node(self.dir, "127.0.0.1", self.ftp_port, self.proc,
                         self.log_path, factory.clients)
        factory.nodes.append(self.node)
        deadline = time.monotonic() + START_TIMEOUT
        while not probe("127.0.0.1", self.port):
            if self.proc.poll() is not None:
                pytest.fail("node exited before listening:\n" +
                            self.log_path.read_text(errors="replace"))
            if time.monotonic() > deadline:
                pytest.fail("S3 listener not up:\n" +
                            self.log_path.read_text(errors="replace"))
            time.sleep(0.02)

    @classmethod
    def restart(cls, old):
        """The same folder, keys and port, started again."""
        return cls(old.factory, old.dir, old.args, (old.ak, old.sk),
                   old.port)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, ak=None, sk=None):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id=ak or self.ak,
            aws_secret_access_key=sk or self.sk,
            config=Config(s3={"addressing_style": "path"},
                          retries={"max_attempts": 1},
                          signature_version="s3v4"))

    def stop(self):
        assert self.node.stop() == 0, self.node.log()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def aws(node, *args, env=None, cwd=None, timeout=120):
    """/usr/bin/aws (Debian's awscli, not a shim first on PATH)."""
    e = dict(os.environ)
    e.update({"AWS_ACCESS_KEY_ID": node.ak,
              "AWS_SECRET_ACCESS_KEY": node.sk,
              "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_CONFIG_FILE": "/dev/null",
              "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    e.pop("AWS_PROFILE", None)
    if env:
        e.update(env)
    return subprocess.run(["/usr/bin/aws", "--endpoint-url", node.url,
                           *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=timeout)


# A Signature V4 signer of our own, for what no client sends on request:
# signed aws-chunked bodies, wrong chunk signatures, skewed clocks.
import datetime  # noqa: E402
import hmac  # noqa: E402
import urllib.parse  # noqa: E402

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Signer:
    def __init__(self, ak, sk, region="us-east-1", when=None):
        self.ak, self.sk, self.region = ak, sk, region
        when = when or datetime.datetime.now(datetime.timezone.utc)
        self.amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        self.day = when.strftime("%Y%m%d")
        self.scope = f"{self.day}/{region}/s3/aws4_request"
        k = _hmac(("AWS4" + sk).encode(), self.day)
        k = _hmac(k, region)
        k = _hmac(k, "s3")
        self.key = _hmac(k, "aws4_request")

    def sign(self, method, path, headers, payload_hash, query=""):
        """Adds x-amz-date, x-amz-content-sha256 and Authorization to
        headers (a dict); returns the signature (hex)."""
        headers["x-amz-date"] = self.amz_date
        headers["x-amz-content-sha256"] = payload_hash
        names = sorted(h.lower() for h in headers)
        low = {h.lower(): " ".join(str(v).split()) for h, v in
               headers.items()}
        canon_q = "&".join(
            f"{urllib.parse.quote(k, safe='-_.~')}="
            f"{urllib.parse.quote(v, safe='-_.~')}"
            for k, v in sorted(urllib.parse.parse_qsl(
                query, keep_blank_values=True)))
        canon = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"),
                           canon_q,
                           "".join(f"{n}:{low[n]}\n" for n in names),
                           ";".join(names), payload_hash])
        sts = "\n".join(["AWS4-HMAC-SHA256", self.amz_date, self.scope,
                         hashlib.sha256(canon.encode()).hexdigest()])
        sig = hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.ak}/{self.scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={sig}")
        return sig

    def chunk_sig(self, prev, data):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date,
                         self.scope, prev, EMPTY_SHA,
                         hashlib.sha256(data).hexdigest()])
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()


def aws_chunked(signer, seed, chunks, corrupt=None):
    """The signed aws-chunked body of chunks (and the final empty one);
    corrupt=i gives chunk i a wrong signature."""
    out, prev = b"", seed
    for i, data in enumerate([*chunks, b""]):
        sig = signer.chunk_sig(prev, data)
        prev = sig
        if corrupt == i:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data + \
            b"\r\n"
    return out


def raw_request(port, method, path, headers, body=b"", query=""):
    """(status, body) of one request on a fresh connection."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path + (f"?{query}" if query else ""), body=body,
              headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
