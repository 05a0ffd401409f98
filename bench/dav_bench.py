"""WebDAV beside Apache 2.4 with mod_dav_fs (Debian's apache2), one run.

One shoal node (--dav on loopback: plain HTTP, guest/guest) and Apache
(peers.ApacheDavServer, Basic auth) run side by side, each serving its own
folder under one temporary directory, and take turns (the first of a
repetition alternates, so neither always meets the warmer cache):

  put_big    one PUT of --size-mib MiB (1 GiB by default), a curl process
  get_big    its GET into a file, a curl process
  put_small  --dav-files PUTs of 4 KiB (1000 by default) on one keep-alive
             connection of Python's http.client, Basic auth on each
  propfind   PROPFIND Depth 1 (no body: allprop) of a folder of
             --dav-entries files (10,000), a curl process

The folder PROPFIND lists is written straight into each server's folder
before the measurements; shoal's before the node starts, so that its
start-up scan indexes it, and the node is used only once the scan is done
and the folder lists completely.  Every transfer is checked by SHA-256: a
PUT by the file that lands in the server's folder, a GET by what curl
wrote, a PROPFIND by the number of entries it lists.

Apache checks the bcrypt hash of its htpasswd on every request (peers.py
configures no authn cache) where shoal keeps a login it has verified: on
put_small that is much of Apache's time per PUT (with an MD5 htpasswd its
1000 PUTs took less than half as long).  shoal's PUT is on disk when
answered (fdatasync of the file, fsync of its folder); Apache's is not
(mod_dav_fs syncs only its lock database).

The median of --reps is reported in seconds with the ratio shoal/Apache
(a time ratio: below 1 shoal is faster); the figures also go to
build/bench-dav.json.  No timing is asserted: the exit status is 1 only
when something broke (a server did not start, a request failed, content
or a listing was wrong).
"""
import base64
import http.client
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import peers
from benchlib import (FAILURES, MIB, Broken, format_table, free_port, log_tail,
                      median, ratio, sha_file, terminate, work_folder,
                      write_json, write_random)

NAME = "dav"
TESTS = ["put_big", "get_big", "put_small", "propfind"]
SMALL = 4096


def add_args(p):
    g = p.add_argument_group("dav benchmark")
    g.add_argument("--dav-files", type=int, default=1000, metavar="N",
                   help="4 KiB PUTs for dav's put_small (default 1000)")
    g.add_argument("--dav-entries", type=int, default=10000, metavar="N",
                   help="files in the folder dav's propfind lists "
                        "(default 10000)")


def _curl(args, timeout=900):
    """Seconds one curl process takes; Broken when it fails (--fail: an
    HTTP error status too)."""
    t = time.monotonic()
    r = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    dt = time.monotonic() - t
    if r.returncode != 0:
        raise Broken("curl %s: %s" % (args[-1], r.stderr.decode()[-300:]))
    return dt


def _entries(xml):
    """The number of <DAV:response> elements of a multistatus body."""
    return len(ET.fromstring(xml).findall("{DAV:}response"))


def _fill(folder, n):
    os.makedirs(folder)
    for i in range(n):
        with open(os.path.join(folder, "f%05d" % i), "wb") as f:
            f.write(os.urandom(SMALL))


class Side:
    """One WebDAV server: where it listens, its login, its folder on disk."""

    def __init__(self, name, port, user, password, root):
        self.name, self.port, self.root = name, port, root
        self.user = "%s:%s" % (user, password)
        self.auth = "Basic " + base64.b64encode(self.user.encode()).decode()

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(self, conn, method, path, body=None, headers=()):
        """One request on conn; (status, body)."""
        h = {"Authorization": self.auth}
        h.update(headers)
        conn.request(method, "/" + path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.read()

    def check(self):
        """Apache's end shows as a failed request; shoal checks its own."""


class Shoal(Side):
    """A shoal node with its WebDAV endpoint on loopback, the other front
    ends off or on ports nobody else uses."""

    def __init__(self, binary, work, entries):
        node = os.path.join(work, "shoal")
        subprocess.run([binary, "init", node], check=True,
                       capture_output=True, timeout=60)
        _fill(os.path.join(node, "list"), entries)
        super().__init__("shoal", free_port(), "guest", "guest", node)
        self.log = os.path.join(work, "shoal.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "node", node, "--ftp", "127.0.0.1:%d" % free_port(),
                 "--http", "127.0.0.1:%d" % free_port(),
                 "--peer", "127.0.0.1:%d" % free_port(), "--s3", "off",
                 "--dav", "127.0.0.1:%d" % self.port],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def wait_ready(self, entries, timeout=300):
        """Until the start-up scan has logged its end and the folder lists
        all its files: the measurements must not share the node with it."""
        want = ("dav listening on 127.0.0.1:%d" % self.port, "scan: ")
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            with open(self.log, errors="replace") as f:
                text = f.read()
            if all(w in text for w in want):
                conn = self.connect()
                try:
                    st, body = self.request(conn, "PROPFIND", "list/",
                                            headers={"Depth": "1"})
                finally:
                    conn.close()
                if st == 207 and _entries(body) == entries + 1:
                    return
            if time.monotonic() > deadline:
                raise Broken("shoal: not ready within %d s (listing "
                             "incomplete or no scan line in its log)" %
                             timeout)
            time.sleep(0.1)

    def check(self):
        if self.proc.poll() is not None:
            raise Broken("shoal exited with %s: %s" % (
                self.proc.returncode, " | ".join(log_tail(self.log, 5))))

    def stop(self):
        if self.proc.poll() is None and not terminate(self.proc, 20):
            raise Broken("shoal had to be killed: SIGTERM did not end it")


class Bench:
    """The measurements, each a method (side, rep) -> seconds that checks
    what it moved."""

    def __init__(self, work, big, want, n, entries):
        self.work, self.big, self.want = work, big, want
        self.entries = entries
        self.small = [os.urandom(SMALL) for _ in range(n)]
        self.notes = []

    def put_big(self, s, rep):
        name = "big-%d.bin" % rep
        dt = _curl(["-u", s.user, "-T", self.big, s.url(name)])
        if sha_file(os.path.join(s.root, name)) != self.want:
            raise Broken("%s: %s on disk differs from the source" %
                         (s.name, name))
        return dt

    def get_big(self, s, rep):
        out = os.path.join(self.work, "got.bin")
        try:
            dt = _curl(["-u", s.user, "-o", out, s.url("big-0.bin")])
            if sha_file(out) != self.want:
                raise Broken("%s: GET of big-0.bin differs from the source"
                             % s.name)
        finally:
            if os.path.exists(out):
                os.unlink(out)
        return dt

    def put_small(self, s, rep):
        folder = "small-%d" % rep
        conn = s.connect()
        try:
            st, _ = s.request(conn, "MKCOL", folder + "/")
            if st != 201:
                raise Broken("%s: MKCOL %s: %d" % (s.name, folder, st))
            sock = conn.sock
            t = time.monotonic()
            for i, data in enumerate(self.small):
                st, _ = s.request(conn, "PUT", "%s/f%05d" % (folder, i), data)
                if st not in (201, 204):
                    raise Broken("%s: PUT %s/f%05d: %d" %
                                 (s.name, folder, i, st))
            dt = time.monotonic() - t
            if conn.sock is not sock:
                # http.client reconnects without a word when a server
                # closes: the figure is then not one connection's
                self.notes.append("%s closed the keep-alive connection "
                                  "during put_small" % s.name)
        finally:
            conn.close()
        for i, data in enumerate(self.small):
            with open(os.path.join(s.root, folder, "f%05d" % i), "rb") as f:
                if f.read() != data:
                    raise Broken("%s: %s/f%05d on disk differs" %
                                 (s.name, folder, i))
        return dt

    def propfind(self, s, rep):
        out = os.path.join(self.work, "propfind.xml")
        dt = _curl(["-u", s.user, "-X", "PROPFIND", "-H", "Depth: 1",
                    "-o", out, s.url("list/")])
        with open(out, "rb") as f:
            n = _entries(f.read())
        os.unlink(out)
        if n != self.entries + 1:
            raise Broken("%s: PROPFIND listed %d entries, not %d" %
                         (s.name, n, self.entries + 1))
        return dt


def _measure(b, name, sides, reps, errors):
    """{side: median seconds} of reps runs of measurement name."""
    times = {s.name: [] for s in sides}
    for rep in range(reps):
        for s in (sides if rep % 2 == 0 else sides[::-1]):
            try:
                s.check()
                times[s.name].append(getattr(b, name)(s, rep))
            except FAILURES as e:
                errors.append("%s %s: %s" % (name, s.name, e))
                times[s.name].append(None)
    return {k: median(v) for k, v in times.items()}


def run(args, tests, root):
    if shutil.which("curl") is None or not os.path.exists("/usr/sbin/apache2"):
        print("dav bench: curl or apache2 is missing: run /usr/bin/python3 "
              "../shared/peers/peers.py install")
        return 1
    work = work_folder("shoal-bench-dav-", "/var/tmp")
    n, entries = args.dav_files, args.dav_entries
    results, errors = {}, []
    shoal = apache = b = None
    try:
        binary = os.path.join(work, "shoal-bin")
        shutil.copy2(args.shoal_bin, binary)   # a rebuild changes nothing
        big = os.path.join(work, "big.bin")
        want = (write_random(big, args.size_mib * MIB)
                if {"put_big", "get_big"} & set(tests) else None)
        b = Bench(work, big, want, n, entries)
        sides = []
        if not args.peers_only:
            shoal = Shoal(binary, work, entries)
            sides.append(shoal)
        aroot = os.path.join(work, "apache")
        _fill(os.path.join(aroot, "list"), entries)
        apache = peers.ApacheDavServer(aroot)
        apache.__enter__()
        sides.append(Side("apache", apache.port, peers.BENCH_USER,
                          peers.BENCH_PASSWORD, aroot))
        if shoal:
            shoal.wait_ready(entries)
        for name in TESTS:
            if name not in tests:
                continue
            if name == "get_big" and "put_big" not in results:
                for s in sides:
                    try:
                        b.put_big(s, 0)
                    except FAILURES as e:
                        errors.append("get_big %s: its PUT: %s" % (s.name, e))
            results[name] = _measure(b, name, sides, args.reps, errors)
    except FAILURES as e:
        errors.append(str(e))
    finally:
        if shoal:
            try:
                shoal.stop()
            except Broken as e:
                errors.append(str(e))
        if apache and apache.proc:   # started, if only in part
            apache.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)

    print("\nWebDAV beside Apache mod_dav_fs (median of %d; %d MiB, "
          "%d x 4 KiB, PROPFIND of %d)" % (args.reps, args.size_mib, n,
                                           entries))
    fmt = lambda v: "-" if v is None else "%.3f" % v  # noqa: E731
    rows = [(name, fmt(r.get("shoal")), fmt(r.get("apache")),
             fmt(ratio(r.get("shoal"), r.get("apache"))))
            for name, r in results.items()]
    print(format_table(("metric", "shoal s", "Apache s", "shoal/Apache"),
                       rows, left={0}))
    for note in b.notes if b else ():
        print("note: " + note)
    for e in errors:
        print("ERROR: " + e)
    write_json(os.path.join(root, "build", "bench-dav.json"),
               {"results": results, "errors": errors,
                "size_mib": args.size_mib, "files": n, "entries": entries})
    return 1 if errors else 0
