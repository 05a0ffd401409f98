"""S3 beside shoal's own HTTP API (same node, same data) and beside npm's
s3rver reference server, one run.

Measurements (boto3 for both S3 servers, one keep-alive connection of
http.client for the HTTP API):
  put_big    one PUT of --size-mib MiB (1 GiB by default)
  get_big    its GET, read to the end
  put_small  --s3-files PUTs of 4 KiB (1000 by default), one connection
  list       a listing of those keys (pages of 1000)
Targets: S3 within 1.2x of the HTTP API on each figure (ratio = S3 time /
HTTP time), at least 1,500 PUT/s of 4 KiB on one connection.  s3rver is
installed with npm into build/npm/s3rver once (tests/e2e/npm_cache.sh);
without npm its column is left out.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

NAME = "s3"
TESTS = ["put_big", "get_big", "put_small", "list"]


def add_args(p):
    p.add_argument("--s3-files", type=int, default=1000, metavar="N",
                   help="small objects for the S3 benchmark (default 1000)")
    p.add_argument("--no-s3rver", action="store_true",
                   help="leave npm's s3rver out")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


def _stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Shoal:
    def __init__(self, binary, work):
        self.bin = os.path.join(work, "shoal")
        shutil.copy(binary, self.bin)
        self.dir = os.path.join(work, "node")
        subprocess.run([self.bin, "init", self.dir], check=True,
                       capture_output=True)
        subprocess.run([self.bin, "-C", self.dir, "user", "add", "bench",
                        "--password", "bench-pw-1"], check=True,
                       capture_output=True)
        out = subprocess.run([self.bin, "-C", self.dir, "--json", "s3",
                              "key", "add", "bench"], check=True,
                             capture_output=True, text=True).stdout
        k = json.loads(out)
        self.ak, self.sk = k["access_key"], k["secret_key"]
        self.http, self.s3 = _free_port(), _free_port()
        self.log = open(os.path.join(work, "node.log"), "wb")
        self.proc = subprocess.Popen(
            [self.bin, "node", self.dir, "--ftp", "127.0.0.1:%d" %
             _free_port(), "--http", "127.0.0.1:%d" % self.http,
             "--peer", "127.0.0.1:%d" % _free_port(),
             "--s3", "127.0.0.1:%d" % self.s3, "--dav", "off"],
            stdout=self.log, stderr=subprocess.STDOUT)
        _wait_port(self.http, self.proc)
        _wait_port(self.s3, self.proc)

    def stop(self):
        _stop(self.proc)
        self.log.close()


class S3rver:
    def __init__(self, root, work):
        cache = os.path.join(root, "build", "npm", "s3rver")
        r = subprocess.run([os.path.join(root, "tests/e2e/npm_cache.sh"),
                            cache, "s3rver"], capture_output=True, text=True,
                           timeout=900)
        if r.returncode != 0:
            raise RuntimeError("npm install s3rver: %s" % r.stderr[-300:])
        mods = r.stdout.strip()
        self.port = _free_port()
        self.ak = self.sk = "S3RVER"
        d = os.path.join(work, "s3rver")
        os.mkdir(d)
        self.log = open(os.path.join(work, "s3rver.log"), "wb")
        self.proc = subprocess.Popen(
            ["/usr/bin/node", os.path.join(mods, "s3rver/bin/s3rver.js"),
             "-d", d, "-a", "127.0.0.1", "-p", str(self.port), "--silent"],
            stdout=self.log, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc)

    def stop(self):
        _stop(self.proc)
        self.log.close()


def _client(port, ak, sk):
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url="http://127.0.0.1:%d" % port,
        region_name="us-east-1", aws_access_key_id=ak,
        aws_secret_access_key=sk,
        config=Config(s3={"addressing_style": "path",
                          "payload_signing_enabled": False},
                      retries={"max_attempts": 1}))


class S3Side:
    """The measurements through boto3 against one S3 server."""

    def __init__(self, port, ak, sk, big, n, small):
        self.c = _client(port, ak, sk)
        self.big, self.n, self.small = big, n, small
        self.c.create_bucket(Bucket="bench")

    def put_big(self, rep):
        with open(self.big, "rb") as f:
            t = time.monotonic()
            self.c.put_object(Bucket="bench", Key="big-%d" % rep, Body=f)
            return time.monotonic() - t

    def get_big(self, rep):
        h = hashlib.sha256()
        t = time.monotonic()
        body = self.c.get_object(Bucket="bench", Key="big-0")["Body"]
        for b in iter(lambda: body.read(1 << 20), b""):
            h.update(b)
        dt = time.monotonic() - t
        self.got = h.hexdigest()
        return dt

    def put_small(self, rep):
        t = time.monotonic()
        for i in range(self.n):
            self.c.put_object(Bucket="bench", Key="s/r%d/f%05d" % (rep, i),
                              Body=self.small)
        return time.monotonic() - t

    def list(self, rep):
        t = time.monotonic()
        p = self.c.get_paginator("list_objects_v2")
        k = sum(len(x.get("Contents", [])) for x in
                p.paginate(Bucket="bench", Prefix="s/r0/"))
        dt = time.monotonic() - t
        if k != self.n:
            raise RuntimeError("listed %d keys, not %d" % (k, self.n))
        return dt


class HttpSide:
    """The same through shoal's HTTP API, one keep-alive connection."""

    def __init__(self, port, big, n, small):
        self.port, self.big, self.n, self.small = port, big, n, small
        self.auth = {"Authorization": "Basic " + base64.b64encode(
            b"guest:guest").decode()}
        self.conn = http.client.HTTPConnection("127.0.0.1", port,
                                               timeout=900)
        self._req("POST", "/v1/mkdir/hb")

    def _req(self, method, path, body=None, headers=None, sink=None):
        h = dict(self.auth)
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        if sink:
            for b in iter(lambda: r.read(1 << 20), b""):
                sink(b)
        else:
            r.read()
        if r.status >= 300:
            raise RuntimeError("HTTP %s %s: %d" % (method, path, r.status))

    def put_big(self, rep):
        with open(self.big, "rb") as f:
            t = time.monotonic()
            self._req("PUT", "/v1/files/hb/big-%d" % rep, body=f, headers={
                "Content-Length": str(os.path.getsize(self.big))})
            return time.monotonic() - t

    def get_big(self, rep):
        h = hashlib.sha256()
        t = time.monotonic()
        self._req("GET", "/v1/files/hb/big-0", sink=h.update)
        dt = time.monotonic() - t
        self.got = h.hexdigest()
        return dt

    def put_small(self, rep):
        t = time.monotonic()
        for i in range(self.n):
            self._req("PUT", "/v1/files/hb/f%d-%05d" % (rep, i),
                      body=self.small)
        return time.monotonic() - t

    def list(self, rep):
        t = time.monotonic()
        self._req("GET", "/v1/list/hb")
        return time.monotonic() - t


def run(args, tests, root):
    work = tempfile.mkdtemp(prefix="shoal-bench-s3-", dir="/var/tmp")
    node = ref = None
    results = {}
    status = 0
    try:
        import boto3  # noqa: F401
    except ImportError:
        print("s3 bench: python3-boto3 is missing")
        return 1
    try:
        node = Shoal(args.shoal_bin, work)
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        h = hashlib.sha256()
        with open(big, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        want = h.hexdigest()
        small = os.urandom(4096)
        n = args.s3_files
        sides = {"s3": S3Side(node.s3, node.ak, node.sk, big, n, small),
                 "http": HttpSide(node.http, big, n, small)}
        if not args.no_s3rver and shutil.which("npm"):
            try:
                ref = S3rver(root, work)
                sides["s3rver"] = S3Side(ref.port, ref.ak, ref.sk, big, n,
                                         small)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print("s3 bench: s3rver left out: %s" % e)
        for name in TESTS:
            if name not in tests:
                continue
            if name == "get_big" and "put_big" not in results:
                for s in sides.values():
                    s.put_big(0)
            if name == "list" and "put_small" not in results:
                for s in sides.values():
                    s.put_small(0)
            times = {k: [] for k in sides}
            for rep in range(args.reps):
                for k in (list(sides) if rep % 2 == 0 else
                          list(reversed(list(sides)))):
                    times[k].append(getattr(sides[k], name)(rep))
            results[name] = {k: statistics.median(v)
                             for k, v in times.items()}
            if name == "get_big":
                for k, s in sides.items():
                    if s.got != want:
                        print("s3 bench: %s GET content differs" % k)
                        status = 1
        p = os.path.join(node.dir, "bench", "big-0")
        if os.path.exists(p):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            if h.hexdigest() != want:
                print("s3 bench: the object on disk differs")
                status = 1
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        print("s3 bench: %s" % e)
        status = 1
    except Exception as e:  # a client error: report, do not hide
        print("s3 bench: %s: %s" % (type(e).__name__, e))
        status = 1
    finally:
        if node:
            node.stop()
        if ref:
            ref.stop()
        shutil.rmtree(work, ignore_errors=True)
    cols = ["s3", "http", "s3rver"]
    print("\nS3 beside the HTTP API and s3rver (one node, median of %d; "
          "%d MiB, %d x 4 KiB)" % (args.reps, args.size_mib, args.s3_files))
    print("%-10s %10s %10s %10s %8s %10s" % ("metric", "S3 s", "HTTP s",
                                              "s3rver s", "S3/HTTP",
                                              "S3/s3rver"))
    for name, r in results.items():
        vals = [r.get(k) for k in cols]
        rh = r["s3"] / r["http"] if r.get("http") else float("nan")
        rr = r["s3"] / r["s3rver"] if r.get("s3rver") else float("nan")
        print("%-10s %10s %10s %10s %8.2f %10.2f" % (
            name, *["%.3f" % v if v is not None else "-" for v in vals],
            rh, rr))
    if "put_small" in results:
        print("S3 4 KiB PUTs on one connection: %.0f/s (target 1500)" %
              (args.s3_files / results["put_small"]["s3"]))
    os.makedirs(os.path.join(root, "build"), exist_ok=True)
    with open(os.path.join(root, "build", "bench-s3.json"), "w") as f:
        json.dump(results, f, indent=2)
    return status
