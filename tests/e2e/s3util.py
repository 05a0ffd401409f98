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
