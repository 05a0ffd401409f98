"""HTTP API beside shoal's own FTP front end, same node, same data, one run.

Measurements (curl on both sides; HTTP logs in with Basic like FTP does):
  put_big    1 GiB upload          HTTP PUT  vs  FTP STOR
  get_big    1 GiB download        HTTP GET  vs  FTP RETR
  put_small  1000 x 4 KiB uploads, one curl process (one connection) each
  get_small  1000 x 4 KiB downloads, likewise
Target: HTTP within 1.2x of FTP for each (ratio = HTTP time / FTP time).
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

NAME = "http"
# curl (7.88) sometimes waits 1 s before connecting a passive data
# connection when it makes many in a row ("ftp_perform ends with
# SECONDARY" then a pause, on its side of the wire); in active mode it
# does not, so the small-file runs use PORT.
FTP_MODE = ["-P", "127.0.0.1"]
TESTS = ["put_big", "get_big", "put_small", "get_small"]


def add_args(p):
    p.add_argument("--http-files", type=int, default=1000, metavar="N",
                   help="small files for the HTTP benchmark (default 1000)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("shoal exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("shoal did not listen on %d" % port)


def _curl(args, timeout=900):
    t = time.monotonic()
    r = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError("curl failed: %s" % r.stderr.decode()[-500:])
    return time.monotonic() - t


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class Node:
    def __init__(self, binary, work):
        self.bin = os.path.join(work, "shoal")
        shutil.copy(binary, self.bin)
        self.dir = os.path.join(work, "node")
        subprocess.run([self.bin, "init", self.dir], check=True,
                       capture_output=True)
        self.ftp, self.http = _free_port(), _free_port()
        self.log = open(os.path.join(work, "node.log"), "wb")
        self.proc = subprocess.Popen(
            [self.bin, "node", self.dir, "--ftp", "127.0.0.1:%d" % self.ftp,
             "--http", "127.0.0.1:%d" % self.http,
             "--peer", "127.0.0.1:%d" % _free_port(), "--s3", "off",
             "--dav", "off",
             "-o", "ftp.login_delay_ms=0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        _wait_port(self.ftp, self.proc)
        _wait_port(self.http, self.proc)

    def ftp_url(self, path):
        return "ftp://guest:guest@127.0.0.1:%d/%s" % (self.ftp, path)

    def http_url(self, path):
        return "http://127.0.0.1:%d/v1/files/%s" % (self.http, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _config(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run(args, tests, root):
    if shutil.which("curl") is None:
        print("http bench: curl is missing")
        return 1
    work = tempfile.mkdtemp(prefix="shoal-bench-http-", dir="/var/tmp")
    node = None
    results = {}
    status = 0
    try:
        node = Node(args.shoal_bin, work)
        big = os.path.join(work, "big.bin")
        size = args.size_mib << 20
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        want = _sha(big)
        small = os.path.join(work, "small")
        os.mkdir(small)
        n = args.http_files
        for i in range(n):
            with open(os.path.join(small, "f%05d" % i), "wb") as f:
                f.write(os.urandom(4096))
        _curl(["-u", "guest:guest", "-X", "POST",
               "http://127.0.0.1:%d/v1/mkdir/hs" % node.http])
        auth = ["-u", "guest:guest"]

        def put_big(proto, rep):
            name = "%s-%d.bin" % (proto, rep)
            if proto == "http":
                return _curl(auth + ["-T", big, node.http_url(name)])
            return _curl(["-T", big, node.ftp_url(name)])

        def get_big(proto, rep):
            name = "%s-%d.bin" % (proto, 0)
            url = node.http_url(name) if proto == "http" else \
                node.ftp_url(name)
            return _curl((auth if proto == "http" else []) +
                         ["-o", "/dev/null", url])

        def put_small(proto, rep):
            lines = []
            for i in range(n):
                fn = os.path.join(small, "f%05d" % i)
                url = (node.http_url("hs/r%d-f%05d" % (rep, i))
                       if proto == "http" else
                       node.ftp_url("fs/r%d-f%05d" % (rep, i)))
                lines += ['upload-file = "%s"' % fn, 'url = "%s"' % url]
            cfg = _config(os.path.join(work, "put.cfg"), lines)
            extra = auth if proto == "http" else ["--ftp-create-dirs"] + FTP_MODE
            return _curl(extra + ["-K", cfg])

        def get_small(proto, rep):
            lines = []
            for i in range(n):
                url = (node.http_url("hs/r0-f%05d" % i) if proto == "http"
                       else node.ftp_url("fs/r0-f%05d" % i))
                lines += ['url = "%s"' % url, 'output = "/dev/null"']
            cfg = _config(os.path.join(work, "get.cfg"), lines)
            return _curl((auth if proto == "http" else FTP_MODE) +
                         ["-K", cfg])

        funcs = {"put_big": put_big, "get_big": get_big,
                 "put_small": put_small, "get_small": get_small}
        order = ["put_big", "get_big", "put_small", "get_small"]
        for name in order:
            if name not in tests:
                continue
            # A download needs its upload first (rep 0's names).
            if name == "get_big" and "put_big" not in results:
                put_big("http", 0)
                put_big("ftp", 0)
            if name == "get_small" and "put_small" not in results:
                put_small("http", 0)
                put_small("ftp", 0)
            times = {"http": [], "ftp": []}
            for rep in range(args.reps):
                # Alternate who goes first, so neither always meets a
                # warmer cache.
                protos = ["http", "ftp"] if rep % 2 == 0 else ["ftp", "http"]
                for proto in protos:
                    times[proto].append(funcs[name](proto, rep))
            results[name] = {p: statistics.median(v) for p, v in
                             times.items()}
        # Content check of the big uploads.
        for proto in ("http", "ftp"):
            p = os.path.join(node.dir, "%s-0.bin" % proto)
            if os.path.exists(p) and _sha(p) != want:
                print("http bench: %s upload content differs" % proto)
                status = 1
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print("http bench: %s" % e)
        status = 1
    finally:
        if node:
            node.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("\nHTTP API beside FTP (same node, curl, median of %d)" % args.reps)
    print("%-12s %10s %10s %8s  %s" % ("metric", "HTTP s", "FTP s",
                                        "HTTP/FTP", "target"))
    for name, r in results.items():
        ratio = r["http"] / r["ftp"] if r["ftp"] else float("nan")
        print("%-12s %10.3f %10.3f %8.2f  %s" % (
            name, r["http"], r["ftp"], ratio, "<= 1.2 (%s)" %
            ("met" if ratio <= 1.2 else "MISSED")))
    os.makedirs(os.path.join(root, "build"), exist_ok=True)
    with open(os.path.join(root, "build", "bench-http.json"), "w") as f:
        json.dump(results, f, indent=2)
    return status
