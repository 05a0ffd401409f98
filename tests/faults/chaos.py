"""A seeded fault-injection run against a real shoal cluster.

Each node runs in its own network namespace; the namespaces meet on a
bridge in a hub namespace, and the harness reaches them through one more
veth from its own namespace.  Clients write, append, rename (files and
folders), delete and read through HTTP and FTP, and write straight into
node folders, while a fault thread kills nodes with SIGKILL (and restarts
them), pauses them past the dead-after time, cuts them off the bridge,
fills their disks and rots their files; asked with --kinds, it also
restarts them with their clocks hours off (skew), slows their links
(slow) and drops what they send or what they are sent (oneway).
Every operation is recorded with its start, end, outcome and the content
it wrote.  When the faults heal, the checker proves:

  1. every acknowledged write is present on every node, as the current
     content or as a conflict copy of its path;
  2. nothing unacknowledged appears partially: a path whose last
     operation was not acknowledged holds one of the contents it could
     have (before or after), never anything else;
  3. every node converges to the same tree and the same index digest;
  4. no read was served content that was never written to its path;
  5. every node process is alive and answering.

The model stays exact because each client owns a folder of its own and
does one operation at a time, and every change to an existing path goes
to the node that made its current version (its "home"); only new paths
go to any node.  A path whose operation failed or whose outcome is
unknown is retired: the client never touches it again, and the checker
accepts either outcome for it.

    /usr/bin/python3 tests/faults/chaos.py --seed 7 --nodes 5 --seconds 120
    /usr/bin/python3 tests/faults/chaos.py --kinds all --tracker
"""

import argparse
import email.utils
import errno
import ftplib
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOAL = Path(os.environ.get("SHOAL_BIN", ROOT / "build" / "shoal")).resolve()

USER, PASSWORD = "chaos", "chaos-password-1"
FTP_PORT, PEER_PORT, HTTP_PORT = 2121, 44444, 8440
TRACKER_PORT, TRACKER_EXPIRE = 5050, 10
HEARTBEAT_MS, DEAD_AFTER_MS = 500, 3000
OP_TIMEOUT = 20
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
CONVERGE_TIMEOUT = 240
CONFLICT = re.compile(
    r"^(.*)\.sync-conflict-\d{8}-\d{6}-[0-9a-f]{6}((?:\.[^/]*)?)$")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def sh(*args, check=True):
    out = subprocess.run([str(a) for a in args], capture_output=True,
                         text=True, timeout=60)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: {out.stderr}")
    return out


# ---------------------------------------------------------------------------
# the network: one namespace per node, a bridge between them


class Net:
    """Each node has two links: eth0 on the cluster bridge (peer traffic:
    a partition takes it down) and eth1, a point-to-point link to the
    harness (client traffic, which a partition leaves up, so clients on
    each side keep writing)."""

    def __init__(self, n, rng):
        self.tag = f"sc{os.getpid() % 100000}"
        a = rng.randrange(64, 127)
        b = rng.randrange(0, 127) * 2
        # Another run (of the same seed, say) may hold those addresses
        # on this host: its client links are in the host's namespace.
        # The addresses decide nothing in the run, so take others.
        spare = random.Random()
        used = sh("ip", "-br", "addr").stdout
        while f" 10.{a}.{b + 1}." in used:
            a, b = spare.randrange(64, 127), spare.randrange(0, 127) * 2
        self.cluster_net = f"10.{a}.{b}"
        self.client_net = f"10.{a}.{b + 1}"
        self.hub = f"{self.tag}hub"
        self.n = n
        self.made = []

    def ns(self, i):
        return f"{self.tag}n{i}"

    def peer_ip(self, i):
        return f"{self.cluster_net}.{i + 1}"

    def tracker_ip(self):
        """The tracker's address: the bridge's own, in the hub."""
        return f"{self.cluster_net}.250"

    def client_ip(self, i):
        return f"{self.client_net}.{4 * i + 2}"

    def up(self):
        sh("ip", "netns", "add", self.hub)
        self.made.append(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        sh("ip", "-n", self.hub, "addr", "add", f"{self.tracker_ip()}/24",
           "dev", "br0")
        for i in range(self.n):
            ns, a, b = self.ns(i), f"{self.tag}{i}a", f"{self.tag}{i}b"
            c, d = f"{self.tag}{i}c", f"{self.tag}{i}d"
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            sh("ip", "link", "set", a, "netns", ns)
            sh("ip", "link", "set", b, "netns", self.hub)
            sh("ip", "-n", self.hub, "link", "set", b, "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", a, "name", "eth0")
            sh("ip", "-n", ns, "addr", "add", f"{self.peer_ip(i)}/24", "dev",
               "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "link", "add", c, "type", "veth", "peer", "name", d)
            self.made.append("link:" + c)
            sh("ip", "link", "set", d, "netns", ns)
            sh("ip", "-n", ns, "link", "set", d, "name", "eth1")
            sh("ip", "-n", ns, "addr", "add", f"{self.client_ip(i)}/30",
               "dev", "eth1")
            sh("ip", "-n", ns, "link", "set", "eth1", "up")
            sh("ip", "addr", "add", f"{self.client_net}.{4 * i + 1}/30",
               "dev", c)
            sh("ip", "link", "set", c, "up")

    def cut(self, i):
        sh("ip", "-n", self.hub, "link", "set", f"{self.tag}{i}b", "down")

    def heal(self, i):
        sh("ip", "-n", self.hub, "link", "set", f"{self.tag}{i}b", "up")

    def ends(self, i):
        """Node i's two ends of its bridge link: (namespace, device) of
        the node's side (what it sends) and of the hub's (what it gets)."""
        return (self.ns(i), "eth0"), (self.hub, f"{self.tag}{i}b")

    def slow(self, i):
        """A token bucket both ways: 256 kbit/s, 400 ms of queue."""
        for ns, dev in self.ends(i):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev,
               "root", "tbf", "rate", "256kbit", "burst", "32kbit",
               "latency", "400ms")

    def mac(self, i):
        out = sh("ip", "-n", self.ns(i), "-j", "link", "show", "eth0")
        return json.loads(out.stdout)[0]["address"]

    def oneway(self, i, outward):
        """Drops what node i sends (outward) or what it is sent, and
        nothing the other way: a queue of length 0 on that side.  ARP
        would need both ways, so the side still receiving is given a
        fixed entry for the other end first."""
        (node_ns, node_dev), hub_end = self.ends(i)
        others = [j for j in range(self.n) if j != i]
        if outward:
            for j in others:
                sh("ip", "-n", self.ns(j), "neigh", "replace",
                   self.peer_ip(i), "lladdr", self.mac(i), "dev", "eth0",
                   "nud", "permanent")
            ns, dev = node_ns, node_dev
        else:
            for j in others:
                sh("ip", "-n", node_ns, "neigh", "replace", self.peer_ip(j),
                   "lladdr", self.mac(j), "dev", "eth0", "nud", "permanent")
            ns, dev = hub_end
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev,
           "root", "pfifo", "limit", "0")

    def clear(self, i):
        """Undoes slow and oneway: the default queues, learned entries."""
        for ns, dev in self.ends(i):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev,
               "root", check=False)
        for j in range(self.n):
            for k in range(self.n):
                if j != k and (i in (j, k)):
                    sh("ip", "-n", self.ns(j), "neigh", "del",
                       self.peer_ip(k), "dev", "eth0", check=False)

    def down(self):
        for m in reversed(self.made):
            if m.startswith("link:"):
                sh("ip", "link", "del", m[5:], check=False)
            else:
                sh("ip", "netns", "del", m, check=False)
        self.made = []


# ---------------------------------------------------------------------------
# the nodes


class ChaosNode:
    def __init__(self, i, net, base):
        self.i = i
        self.net = net
        self.ip = net.client_ip(i)
        self.peer = net.peer_ip(i)
        # Each node's folder is on a file system of its own, so that one
        # can fill up (the "full" fault) without touching the others.
        self.fs = base / f"fs{i}"
        self.dir = self.fs / f"n{i}"
        self.filler = self.fs / "filler"
        self.proc = None
        self.starts = 0
        self.offset = 0       # seconds its realtime clock is off (skew)
        self.tracker = None   # the tracker's address, when there is one
        self.log = base / f"n{i}.log"

    def start(self):
        self.starts += 1
        log = open(self.log, "ab")
        log.write(f"--- start {self.starts} (clock {self.offset:+d} s)\n"
                  .encode())
        log.flush()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns(self.i), *self.clock(),
             str(SHOAL), "node",
             str(self.dir), "--ftp", f"{self.ip}:{FTP_PORT}",
             "--peer", f"{self.peer}:{PEER_PORT}",
             "--http", f"{self.ip}:{HTTP_PORT}",
             "--ftp-require-tls", "no", "-o", "http.tls=no",
             "-o", f"peer.heartbeat_ms={HEARTBEAT_MS}",
             "-o", f"peer.dead_after_ms={DEAD_AFTER_MS}",
             "-o", "ftp.login_delay_ms=0", "-o", "http.login_delay_ms=0",
             "-o", "login.max_failures=100000",
             "-o", "login.max_account_failures=100000",
             *(["--tracker", self.tracker] if self.tracker else [])],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def clock(self):
        """The prefix that runs the node with its clock self.offset off:
        libfaketime, the realtime clock only (see docs/FAULTS.md, "Clock
        skew": libevent's timers run on the monotonic clock, and faked
        file times would not agree between fstat and fstatat)."""
        if not self.offset:
            return []
        return ["env", f"LD_PRELOAD={FAKETIME}",
                f"FAKETIME={self.offset:+d}",
                "FAKETIME_DONT_FAKE_MONOTONIC=1", "NO_FAKE_STAT=1"]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def clock_off(self):
        """How far the node's clock is off (its HTTP Date header), in
        seconds, or None when it does not answer."""
        conn = http.client.HTTPConnection(self.ip, HTTP_PORT, timeout=3)
        try:
            conn.request("GET", "/v1/status")
            r = conn.getresponse()
            r.read()
            at = email.utils.parsedate_to_datetime(r.headers["Date"])
            return at.timestamp() - time.time()
        except (OSError, http.client.HTTPException, TypeError, ValueError):
            return None
        finally:
            conn.close()

    def answers(self):
        try:
            st, body = http_call(self, "GET", "/v1/status", timeout=3)
            return json.loads(body) if st == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def wait_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"n{self.i} exited {self.proc.returncode}"
                                   f"; see {self.log}")
            if self.answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"n{self.i} did not answer within {timeout}s")

    def signal(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def kill(self):
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self):
        if not self.running():
            return None
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            return "hung"

    def tree(self):
        out = {}
        for cur, dirs, files in os.walk(self.dir):
            rel = Path(cur).relative_to(self.dir)
            if rel == Path("."):
                dirs[:] = [d for d in dirs if d != ".shoal"]
            for f in files:
                try:
                    out["/" + str(rel / f).lstrip("./")] = \
                        sha((Path(cur) / f).read_bytes())
                except (FileNotFoundError, NotADirectoryError):
                    pass
        return out


def auth_header():
    return "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def http_call(node, method, path, body=None, headers=None,
              timeout=OP_TIMEOUT):
    conn = http.client.HTTPConnection(node.ip, HTTP_PORT, timeout=timeout)
    try:
        h = {"Authorization": auth_header()}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def ftp_session(node):
    f = ftplib.FTP()
    f.connect(node.ip, FTP_PORT, timeout=OP_TIMEOUT)
    f.login(USER, PASSWORD)
    return f


def quote(path):
    from urllib.parse import quote as q
    return q(path)


# ---------------------------------------------------------------------------
# the history and the model


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.t0 = time.monotonic()

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def add(self, **op):
        with self.lock:
            self.ops.append(op)
        return op


class Client:
    """One client: its own folder, one operation at a time."""

    KINDS = ("create", "create", "create", "overwrite", "append", "rename",
             "delete", "read", "read", "mkdir", "rename_dir", "contest")

    def __init__(self, k, cluster, rng, history):
        self.k = k
        self.c = cluster
        self.rng = rng
        self.h = history
        self.root = f"/c{k}"
        self.dirs = [f"{self.root}/d{j}" for j in range(3)]
        self.files = {}       # path -> (bytes, home node index)
        self.gone = {}        # path certainly absent -> node that made it so
        self.retired = {}     # path -> set of allowed sha (None: absent)
        self.contested = {}   # path -> shas that must all survive
        self.written = {}     # path -> every sha ever written there
        self.serial = 0
        self.stop = threading.Event()
        self.violations = []

    # the model ------------------------------------------------------------

    def new_name(self):
        self.serial += 1
        d = self.rng.choice([self.root] + self.dirs)
        return f"{d}/f{self.serial}" + self.rng.choice(
            [".bin", ".txt", ""])

    def content(self):
        big = self.rng.random() < 0.1
        n = self.rng.randrange(1 << 20, 3 << 20) if big else \
            self.rng.randrange(0, 48 << 10)
        return self.rng.randbytes(n)

    def note_written(self, path, data):
        self.written.setdefault(path, set()).add(sha(data))

    def retire(self, path, allowed):
        self.files.pop(path, None)
        self.gone.pop(path, None)
        self.retired[path] = set(allowed)

    def live_node(self, i=None):
        """A node that is up, or None (node i itself when given)."""
        if i is not None:
            return self.c.nodes[i] if self.c.usable(i) else None
        ups = [n for n in self.c.nodes if self.c.usable(n.i)]
        return self.rng.choice(ups) if ups else None

    # the operations ---------------------------------------------------------

    def run(self):
        while not self.stop.is_set():
            kind = self.rng.choice(self.KINDS)
            time.sleep(0.005)
            try:
                getattr(self, "op_" + kind)()
            except Exception as e:  # a bug in the harness: say so loudly
                self.violations.append(f"harness error in {kind}: {e!r}")
                raise

    def record(self, kind, node, paths, via, fn, on_ok, on_unsure):
        op = self.h.add(client=self.k, kind=kind, node=node.i, paths=paths,
                        via=via, start=self.h.now())
        try:
            fn()
        except Exception as e:  # refused, cut off, killed, paused
            op.update(end=self.h.now(), outcome="unsure", error=repr(e)[:160])
            on_unsure()
            return False
        op.update(end=self.h.now(), outcome="ok")
        on_ok()
        return True

    def put(self, node, path, data, via):
        if via == "http":
            st, body = http_call(node, "PUT", "/v1/files" + quote(path),
                                 body=data)
            if st not in (200, 201):
                raise RuntimeError(f"PUT {st} {body[:100]!r}")
        elif via == "ftp":
            f = ftp_session(node)
            try:
                f.storbinary("STOR " + path, io.BytesIO(data))
            finally:
                f.close()
        else:
            # Straight into the node's folder, as an editor saves: a
            # temporary file beside the folder, renamed into place.
            target = node.dir / path.lstrip("/")
            if not target.parent.is_dir():
                raise RuntimeError("no such folder here")
            tmp = node.dir.parent / f".direct-{self.k}-{self.serial}"
            with open(tmp, "wb") as out:
                out.write(data)
            if node.offset:
                # As the kernel of a machine whose clock is off stamps
                # it (libfaketime cannot: see ChaosNode.clock).
                at = time.time() + node.offset
                os.utime(tmp, (at, at))
            os.rename(tmp, target)

    def op_create(self):
        node = self.live_node()
        if node is None:
            return
        path, data = self.new_name(), self.content()
        via = self.rng.choice(["http", "ftp", "ftp", "direct"])
        self.note_written(path, data)
        self.record("create", node, [path], via,
                    lambda: self.put(node, path, data, via),
                    lambda: self.files.__setitem__(path, (data, node.i)),
                    lambda: self.retire(path, {None, sha(data)}))

    def pick_file(self):
        if not self.files:
            return None, None
        path = self.rng.choice(sorted(self.files))
        node = self.live_node(self.files[path][1])
        return (path, node) if node else (None, None)

    def op_overwrite(self):
        path, node = self.pick_file()
        if path is None:
            return
        old = self.files[path][0]
        data = self.content()
        via = self.rng.choice(["http", "ftp"])
        self.note_written(path, data)
        self.record("overwrite", node, [path], via,
                    lambda: self.put(node, path, data, via),
                    lambda: self.files.__setitem__(path, (data, node.i)),
                    lambda: self.retire(path, {sha(old), sha(data)}))

    def op_append(self):
        path, node = self.pick_file()
        if path is None:
            return
        old = self.files[path][0]
        extra = self.rng.randbytes(self.rng.randrange(1, 8 << 10))
        new = old + extra
        self.note_written(path, new)

        def appe():
            f = ftp_session(node)
            try:
                f.storbinary("APPE " + path, io.BytesIO(extra))
            finally:
                f.close()
        self.record("append", node, [path], "ftp", appe,
                    lambda: self.files.__setitem__(path, (new, node.i)),
                    lambda: self.retire(path, {sha(old), sha(new)}))

    def op_contest(self):
        """An overwrite on a node that has not yet seen the path's latest
        version (If-Match on what that node holds, so it cannot have seen
        it in between either): the two versions are concurrent, and both
        must survive, one under the name and one as a conflict copy."""
        path, home = self.pick_file()
        if path is None:
            return
        others = [n for n in self.c.nodes
                  if n.i != home.i and self.c.usable(n.i)]
        if not others:
            return
        node = self.rng.choice(others)
        latest = sha(self.files[path][0])
        try:
            st, body = http_call(node, "GET", "/v1/files" + quote(path))
        except (OSError, http.client.HTTPException):
            return
        if st != 200 or sha(body) == latest:
            return      # not there yet, or already current: no contest
        seen = sha(body)
        if seen not in self.written.get(path, ()):
            self.violations.append(f"read of {path} on n{node.i} returned "
                                   f"content never written there")
            return
        data = self.content()
        self.note_written(path, data)

        def put():
            st, body = http_call(node, "PUT", "/v1/files" + quote(path),
                                 body=data,
                                 headers={"If-Match": f'"{seen}"'})
            if st not in (200, 201):
                raise RuntimeError(f"PUT {st} {body[:100]!r}")

        def ok():
            del self.files[path]
            self.contested[path] = {latest, sha(data)}
        self.record("contest", node, [path], "http", put, ok,
                    lambda: self.retire(path, {latest, sha(data)}))

    def move(self, node, src, dst, via):
        if via == "http":
            st, body = http_call(node, "POST", "/v1/move", body=json.dumps(
                {"from": src, "to": dst}).encode(),
                headers={"Content-Type": "application/json"})
            if st != 200:
                raise RuntimeError(f"move {st} {body[:100]!r}")
        else:
            f = ftp_session(node)
            try:
                f.rename(src, dst)
            finally:
                f.close()

    def op_rename(self):
        path, node = self.pick_file()
        if path is None:
            return
        data = self.files[path][0]
        dst = self.new_name()
        via = self.rng.choice(["http", "ftp"])
        self.note_written(dst, data)

        def ok():
            del self.files[path]
            self.gone[path] = node.i
            self.files[dst] = (data, node.i)

        def unsure():
            self.retire(path, {None, sha(data)})
            self.retire(dst, {None, sha(data)})
        self.record("rename", node, [path, dst], via,
                    lambda: self.move(node, path, dst, via), ok, unsure)

    def op_delete(self):
        path, node = self.pick_file()
        if path is None:
            return
        data = self.files[path][0]
        via = self.rng.choice(["http", "ftp"])

        def rm():
            if via == "http":
                st, body = http_call(node, "DELETE", "/v1/files" + quote(path))
                if st != 204:
                    raise RuntimeError(f"DELETE {st} {body[:100]!r}")
            else:
                f = ftp_session(node)
                try:
                    f.delete(path)
                finally:
                    f.close()

        def ok():
            del self.files[path]
            self.gone[path] = node.i
        self.record("delete", node, [path], via, rm, ok,
                    lambda: self.retire(path, {None, sha(data)}))

    def op_read(self):
        paths = sorted(set(self.files) | set(self.retired))
        node = self.live_node()
        if not paths or node is None:
            return
        path = self.rng.choice(paths)
        via = self.rng.choice(["http", "ftp"])
        got = {}

        def get():
            if via == "http":
                st, body = http_call(node, "GET", "/v1/files" + quote(path))
                if st == 404:
                    got["sha"] = None
                    return
                if st != 200:
                    raise RuntimeError(f"GET {st}")
                got["sha"] = sha(body)
            else:
                f = ftp_session(node)
                buf = io.BytesIO()
                try:
                    f.retrbinary("RETR " + path, buf.write)
                except ftplib.error_perm as e:
                    if str(e).startswith("550"):
                        got["sha"] = None
                        return
                    raise
                finally:
                    f.close()
                got["sha"] = sha(buf.getvalue())

        def ok():
            s = got["sha"]
            if s is not None and s not in self.written.get(path, ()):
                self.violations.append(
                    f"read of {path} on n{node.i} via {via} returned "
                    f"content never written there ({s[:12]})")
        self.record("read", node, [path], via, get, ok, lambda: None)

    def op_mkdir(self):
        node = self.live_node()
        if node is None or len(self.dirs) >= 8:
            return
        self.serial += 1
        path = f"{self.root}/m{self.serial}"

        def mk():
            st, body = http_call(node, "POST", "/v1/mkdir" + quote(path))
            if st != 201:
                raise RuntimeError(f"mkdir {st}")
        # A folder has no content to lose; new files go into it only on
        # nodes that have it (a missing one refuses the write).
        self.record("mkdir", node, [path], "http", mk,
                    lambda: self.dirs.append(path), lambda: None)

    def op_rename_dir(self):
        """A whole folder, when every file in it was made, and every file
        that left it was deleted or moved away, on one node: a node that
        has not yet heard of a deletion would move the file along with the
        folder, and it would live on under the new name."""
        if not self.dirs:
            return
        d = self.rng.choice(self.dirs)
        inside = [p for p in self.files if p.startswith(d + "/")]
        if any(p.startswith(d + "/") for p in
               list(self.retired) + list(self.contested)):
            return
        homes = {self.files[p][1] for p in inside} | \
            {h for p, h in self.gone.items() if p.startswith(d + "/")}
        if len(homes) > 1:
            return
        node = self.live_node(homes.pop()) if homes else self.live_node()
        if node is None:
            return
        self.serial += 1
        dst = f"{self.root}/r{self.serial}"
        moved = {p: dst + p[len(d):] for p in inside}
        for p, q in moved.items():
            self.note_written(q, self.files[p][0])
        via = self.rng.choice(["http", "ftp"])

        def ok():
            for p in [p for p in self.gone if p.startswith(d + "/")]:
                self.gone[dst + p[len(d):]] = node.i
            for p, q in moved.items():
                data = self.files.pop(p)[0]
                self.gone[p] = node.i
                self.files[q] = (data, node.i)
            self.dirs[self.dirs.index(d)] = dst

        def unsure():
            for p, q in moved.items():
                data = self.files[p][0]
                self.retire(p, {None, sha(data)})
                self.retire(q, {None, sha(data)})
            self.dirs.remove(d)
        self.record("rename_dir", node, [d, dst], via,
                    lambda: self.move(node, d, dst, via), ok, unsure)

    # the check ----------------------------------------------------------------

    def check(self, tree):
        """Violations of the final tree against this client's model, and
        how many acknowledged writes were checked."""
        bad = []
        mine = {p: s for p, s in tree.items()
                if p.startswith(self.root + "/")}
        conflicts = {}
        plain = {}
        for p, s in mine.items():
            m = CONFLICT.match(p)
            if m:
                orig = m.group(1) + m.group(2)
                while CONFLICT.match(orig):
                    mm = CONFLICT.match(orig)
                    orig = mm.group(1) + mm.group(2)
                conflicts.setdefault(orig, set()).add(s)
                if s not in self.written.get(orig, ()):
                    bad.append(f"conflict copy {p} holds content never "
                               f"written to {orig}")
            else:
                plain[p] = s
        checked = 0
        demoted = 0
        for p, (data, _) in self.files.items():
            checked += 1
            want = sha(data)
            if plain.get(p) == want:
                continue
            if p in plain and plain[p] not in self.written.get(p, ()):
                bad.append(f"{p} holds content never written there")
                continue
            if want in conflicts.get(p, ()):
                demoted += 1
                continue
            bad.append(f"acknowledged {p} ({want[:12]}) is "
                       f"{'missing' if p not in plain else 'other content'}"
                       f" ({(plain.get(p) or '-')[:12]})")
        for p in self.gone:
            if p in plain and p not in self.files:
                checked += 1
                bad.append(f"{p} was deleted or moved (acknowledged) but "
                           f"is back ({plain[p][:12]})")
        for p, allowed in self.retired.items():
            s = plain.get(p)
            if s not in allowed and not (s is None and conflicts.get(p)):
                bad.append(f"{p} after an unacknowledged operation holds "
                           f"{(s or 'nothing')[:12]}, not one of "
                           f"{sorted(str(a)[:12] for a in allowed)}")
        for p, must in self.contested.items():
            checked += len(must)
            here = ({plain[p]} if p in plain else set()) | \
                conflicts.get(p, set())
            if not must <= here:
                bad.append(f"concurrent writes to {p}: "
                           f"{sorted(x[:12] for x in must - here)} lost")
            if p in plain and plain[p] not in must:
                bad.append(f"{p} holds neither of its concurrent writes")
        known = set(self.files) | set(self.gone) | set(self.retired) | \
            set(self.contested)
        for p in plain:
            if p not in known:
                bad.append(f"{p} appeared: no operation wrote it")
        return bad, checked, demoted


# ---------------------------------------------------------------------------
# the cluster and the fault schedule


class Cluster:
    def __init__(self, base, n, rng, replicas=None, tracker=False):
        self.base = Path(base)
        self.replicas = replicas   # None: every node holds every file
        self.net = Net(n, rng)
        self.nodes = [ChaosNode(i, self.net, self.base) for i in range(n)]
        # With a tracker, nodes learn of each other only through it.
        self.tracker = Tracker(self.net, self.base) if tracker else None
        self.faulted = {}     # node index -> kind
        self.lock = threading.Lock()
        self.mounts = []

    def usable(self, i):
        """Clients use a node that is up: a cut-off one too (its clients
        are on its side of the partition), and a full one (it must refuse
        what it cannot store, and say so)."""
        with self.lock:
            return self.faulted.get(i, "partition") in (
                "partition", "full", "skew", "slow", "oneway")

    def setup(self):
        self.net.up()
        for node in self.nodes:
            node.fs.mkdir()
            sh("mount", "-t", "tmpfs", "-o", "size=4g", "tmpfs", node.fs)
            self.mounts.append(node.fs)
        key = None
        for node in self.nodes:
            args = ["init", str(node.dir)] + (["--join", key] if key else
                                              ["--replicas", str(self.replicas)]
                                              if self.replicas else [])
            out = sh(SHOAL, *args).stdout
            if key is None:
                key = re.search(r"cluster key: ([0-9a-f]{64})", out).group(1)
            sh(SHOAL, "-C", node.dir, "user", "add", USER, "--password",
               PASSWORD)
            sh(SHOAL, "-C", node.dir, "user", "del", "guest")
            if self.tracker:
                node.tracker = self.tracker.addr
                continue
            (node.dir / ".shoal" / "peers").write_text("".join(
                f"{o.peer}:{PEER_PORT}\n" for o in self.nodes
                if o is not node))
        if self.tracker:
            sh(SHOAL, "init", self.tracker.dir, "--join", key)
            self.tracker.start()
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_up()

    def teardown(self, keep=False):
        """Stops everything; keep: copies each node's folder out of its
        tmpfs first (a failed run's evidence)."""
        rcs = {}
        for node in self.nodes:
            rcs[node.i] = node.stop()
        if self.tracker:
            rcs["tracker"] = self.tracker.stop()
        self.net.down()
        if keep:
            for node in self.nodes:
                shutil.copytree(node.dir, self.base / f"n{node.i}",
                                symlinks=True, dirs_exist_ok=True)
        for m in self.mounts:
            sh("umount", m, check=False)
        self.mounts = []
        return rcs


class Tracker:
    """`shoal tracker` in the hub, on the bridge's address: a partition
    of a node cuts it off the tracker too."""

    def __init__(self, net, base):
        self.net = net
        self.dir = base / "tracker"
        self.log = base / "tracker.log"
        self.addr = f"{net.tracker_ip()}:{TRACKER_PORT}"
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.net.hub, str(SHOAL), "tracker",
                 str(self.dir), "--listen", self.addr, "--http", "off",
                 "--expire", str(TRACKER_EXPIRE)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "tracker: nodes on" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the tracker did not start; see "
                                   f"{self.log}")
            time.sleep(0.1)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.running():
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            return "hung"


class Faults:
    # The kinds a run draws from unless told otherwise: the fixed seeds'
    # schedules are draws from exactly these, so a kind added here would
    # change them.  Newer kinds are in MORE; a run asks for them by name.
    KINDS = ("kill", "pause", "partition", "full", "rot")
    MORE = ("skew", "slow", "oneway")
    ALL = KINDS + MORE

    def __init__(self, cluster, rng, history, kinds=KINDS):
        self.c = cluster
        self.rng = rng
        self.h = history
        self.kinds = kinds
        self.schedule = []
        self.count = {k: 0 for k in kinds}
        self.stop = threading.Event()
        self.pending = []     # (when, node, kind)
        self.errors = []
        self.rot_pass = {}    # node index -> the scrub pass asked for

    def most_at_once(self):
        return max(1, (len(self.c.nodes) - 1) // 2)

    def inject(self, node, kind):
        self.count[kind] += 1
        self.schedule.append((self.h.now(), f"n{node.i}", kind))
        with self.c.lock:
            self.c.faulted[node.i] = kind
        if kind == "kill":
            node.kill()
            hold = self.rng.uniform(0.3, 4)
        elif kind == "pause":
            node.signal(signal.SIGSTOP)
            hold = self.rng.uniform(DEAD_AFTER_MS / 1000 + 0.5,
                                    DEAD_AFTER_MS / 1000 + 4)
        elif kind == "full":
            # Leave less than store.min_free_mb (64 MiB) free.
            st = os.statvfs(node.fs)
            room = st.f_bavail * st.f_frsize - (16 << 20)
            fd = os.open(node.filler, os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                if room > 0:
                    os.posix_fallocate(fd, 0, room)
            except OSError as e:
                if e.errno != errno.ENOSPC:   # full already: as well
                    raise
            finally:
                os.close(fd)
            hold = self.rng.uniform(2, 8)
        elif kind == "rot":
            hold = self.rot(node)
        elif kind == "skew":
            # A crash, and back with a clock hours off (either way).
            offset = self.rng.choice([-1, 1]) * self.rng.randrange(
                600, 3 * 3600)
            self.schedule[-1] += (f"{offset:+d} s",)
            node.kill()
            self.restart(node, offset, "skew")
            hold = self.rng.uniform(4, 12)
        elif kind == "slow":
            self.c.net.slow(node.i)
            hold = self.rng.uniform(2, 8)
        elif kind == "oneway":
            outward = self.rng.random() < 0.5
            self.schedule[-1] += ("out" if outward else "in",)
            self.c.net.oneway(node.i, outward)
            hold = self.rng.uniform(DEAD_AFTER_MS / 1000 + 0.5,
                                    DEAD_AFTER_MS / 1000 + 5)
        else:
            self.c.net.cut(node.i)
            hold = self.rng.uniform(1, 8)
        self.pending.append((time.monotonic() + hold, node, kind))

    def heal(self, node, kind):
        self.schedule.append((self.h.now(), f"n{node.i}", "heal " + kind))
        if kind == "kill":
            node.start()
            try:
                node.wait_up()
            except RuntimeError as e:
                self.errors.append(f"restart after kill: {e}")
        elif kind == "pause":
            node.signal(signal.SIGCONT)
        elif kind == "full":
            os.unlink(node.filler)
        elif kind == "rot":
            self.rot_heal(node)
        elif kind == "skew":
            with self.c.lock:
                self.c.faulted[node.i] = "kill"   # clients keep off
            rc = node.stop()
            if rc != 0:
                self.errors.append(f"n{node.i} exited {rc} on SIGTERM "
                                   f"with its clock {node.offset:+d} s off")
            self.restart(node, 0, "skew")
        elif kind in ("slow", "oneway"):
            self.c.net.clear(node.i)
        else:
            self.c.net.heal(node.i)
        with self.c.lock:
            del self.c.faulted[node.i]

    def restart(self, node, offset, kind):
        """Starts node (down) with its clock offset s off; clients keep
        off it until it answers."""
        with self.c.lock:
            self.c.faulted[node.i] = "kill"
        node.offset = offset
        node.start()
        try:
            node.wait_up()
        except RuntimeError as e:
            self.errors.append(f"restart with the clock {offset:+d} s "
                               f"off: {e}")
        off = node.clock_off()
        if off is not None and abs(off - offset) > 60:
            self.errors.append(f"n{node.i} started {offset:+d} s off "
                               f"answers {off:+.0f} s off")
        with self.c.lock:
            self.c.faulted[node.i] = kind

    # Bit rot: bytes of a stored file flipped behind the node's back, its
    # size and mtime kept, then a scrub asked for.  Until the node knows
    # (the scrub pass is done) its clients keep off it: reads of a file
    # not yet scrubbed return what the disk holds (docs/FAULTS.md).  After
    # that, reads of it on that node are checked like any other, and the
    # trees must converge on the content written.
    def indexed(self, node, path, data):
        """The node's index holds path with this content (rot of a file
        not indexed yet could not be told from a write)."""
        rel = "/" + str(path.relative_to(node.dir))
        d, _, name = rel.rpartition("/")
        try:
            st, body = http_call(node, "GET", "/v1/list" + quote(d or "/"))
            entries = json.loads(body)["entries"] if st == 200 else []
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            return False
        return any(e.get("name") == name and e.get("hash") == sha(data)
                   for e in entries)

    def rot(self, node):
        before = (node.answers() or {}).get("scrub", {}).get("rot_found")
        files = []
        for cur, dirs, names in os.walk(node.dir):
            if Path(cur) == node.dir:
                dirs[:] = [d for d in dirs if d != ".shoal"]
            files += [Path(cur) / n for n in names]
        self.rng.shuffle(files)
        for path in files:
            try:
                st = os.stat(path)
                if st.st_size == 0:
                    continue
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
            except OSError:
                continue
            # Rot of the only copy of a version cannot be repaired: only
            # content another node (up, not cut off) holds as well.
            data = os.pread(fd, st.st_size, 0)
            with self.c.lock:
                others = [o for o in self.c.nodes
                          if o is not node and o.i not in self.c.faulted]
            if not self.indexed(node, path, data) or not any(
                    self.indexed(o, o.dir / path.relative_to(node.dir), data)
                    for o in others):
                os.close(fd)
                continue
            try:
                for _ in range(self.rng.randint(1, 3)):
                    at = self.rng.randrange(st.st_size)
                    b = os.pread(fd, 1, at)
                    if b:
                        os.pwrite(fd, bytes([b[0] ^ 0xA5]), at)
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(fd)
            self.schedule.append((self.h.now(), f"n{node.i}",
                                  "rot " + str(path.relative_to(node.dir))))
            break
        token = (node.dir / ".shoal" / "api_token").read_text().strip()
        try:
            st, body = http_call(node, "POST", "/v1/scrub", headers={
                "Authorization": "Bearer " + token})
            if st != 200:
                raise RuntimeError(f"POST /v1/scrub: {st}")
            self.rot_pass[node.i] = (json.loads(body)["pass"], before)
        except (OSError, http.client.HTTPException, RuntimeError,
                ValueError, KeyError) as e:
            self.errors.append(f"n{node.i}: scrub not started: {e}")
        return self.rng.uniform(0.5, 3)

    def rot_heal(self, node):
        want, before = self.rot_pass.pop(node.i, (None, None))
        deadline = time.monotonic() + 60
        while want is not None:
            s = node.answers()
            if s and s["scrub"]["passes_done"] >= want:
                # Counted only: a peer's version may have replaced the
                # file before the scrub reached it.
                if before is not None and s["scrub"]["rot_found"] > before:
                    self.count["rot found"] = \
                        self.count.get("rot found", 0) + 1
                return
            if time.monotonic() > deadline:
                self.errors.append(f"n{node.i}: scrub pass {want} not done"
                                   " within 60 s")
                return
            time.sleep(0.2)

    def run(self):
        try:
            self.schedule_faults()
        except Exception as e:  # a bug in the harness: say so loudly
            self.errors.append(f"fault thread: {e!r}")
            raise

    def schedule_faults(self):
        while not self.stop.wait(self.rng.uniform(0.5, 2.5)):
            now = time.monotonic()
            for item in [p for p in self.pending if p[0] <= now]:
                self.pending.remove(item)
                self.heal(item[1], item[2])
            with self.c.lock:
                busy = set(self.c.faulted)
            if len(busy) >= self.most_at_once():
                continue
            node = self.rng.choice([n for n in self.c.nodes
                                    if n.i not in busy])
            self.inject(node, self.rng.choice(self.kinds))
        for item in list(self.pending):
            self.heal(item[1], item[2])
        self.pending = []


def union(cluster, trees):
    """With replicas = N, the cluster's tree: every path held somewhere,
    or None while two nodes hold different content for a path or a path
    has fewer than N copies."""
    out, copies = {}, {}
    for t in trees:
        for p, h in t.items():
            if out.setdefault(p, h) != h:
                return None
            copies[p] = copies.get(p, 0) + 1
    if any(n < cluster.replicas for n in copies.values()):
        return None
    return out


def converge(cluster, timeout=CONVERGE_TIMEOUT):
    """Seconds until every node agrees (the same index digest, nothing left
    to fetch, and the same tree, or with replicas = N every file on N
    nodes with one content), and the tree; (None, None) on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        states = [n.answers() for n in cluster.nodes]
        if all(states):
            trees = [n.tree() for n in cluster.nodes]
            idle = all(s["sync"]["pulls_active"] == 0 and
                       s["sync"]["pulls_queued"] == 0 and
                       s["sync"]["pulls_waiting"] == 0 for s in states)
            same = len({s["digest"] for s in states}) == 1
            if cluster.replicas:
                tree = union(cluster, trees)
                idle = idle and all(s.get("under_replicated", 0) == 0
                                    for s in states)
            else:
                tree = trees[0] if all(t == trees[0] for t in trees) \
                    else None
            if idle and same and tree is not None:
                return time.monotonic() - t0, tree
        time.sleep(0.5)
    return None, None


def disagreement(cluster):
    trees = [n.tree() for n in cluster.nodes]
    out = {}
    for p in sorted(set().union(*trees)):
        seen = [(t.get(p) or "-")[:10] for t in trees]
        if len(set(seen)) > 1:
            out[p] = seen
    return out


def run(seed, nodes=3, seconds=30, clients=None, base=None,
        kinds=Faults.KINDS, replicas=None, tracker=False):
    """One seeded run; returns a report dict (report["violations"] must be
    empty)."""
    rng = random.Random(seed)
    own_base = base is None
    base = Path(base or tempfile.mkdtemp(prefix=f"shoal-chaos-{seed}-"))
    cluster = Cluster(base, nodes, random.Random(rng.random()), replicas,
                      tracker)
    history = History()
    report = {"seed": seed, "nodes": nodes, "seconds": seconds,
              "replicas": replicas or "all", "kinds": list(kinds),
              "tracker": tracker,
              "base": str(base), "violations": []}
    try:
        cluster.setup()
        n_clients = clients or nodes
        cl = [Client(k, cluster, random.Random(rng.random()), history)
              for k in range(n_clients)]
        # Each client's folders exist everywhere before the faults start.
        for c in cl:
            for d in [c.root] + c.dirs:
                st, body = http_call(cluster.nodes[0], "POST",
                                     "/v1/mkdir" + quote(d))
                if st != 201:
                    raise RuntimeError(f"mkdir {d}: {st} {body[:200]!r}")
        t0 = time.monotonic()
        while not all((n.dir / c.dirs[-1].lstrip("/")).is_dir()
                      for n in cluster.nodes for c in cl):
            if time.monotonic() - t0 > 60:
                raise RuntimeError("the folders did not replicate")
            time.sleep(0.1)
        faults = Faults(cluster, random.Random(rng.random()), history, kinds)
        threads = [threading.Thread(target=c.run, daemon=True) for c in cl]
        ft = threading.Thread(target=faults.run, daemon=True)
        for t in threads + [ft]:
            t.start()
        time.sleep(seconds)
        for c in cl:
            c.stop.set()
        faults.stop.set()
        for t in threads + [ft]:
            t.join(timeout=OP_TIMEOUT * 3)
            if t.is_alive():
                report["violations"].append("a client or the fault thread "
                                            "hung")
        report["violations"] += faults.errors
        last_fault = time.monotonic()
        took, tree = converge(cluster)
        report["converge_s"] = None if took is None else round(took, 1)
        if tree is None:
            report["violations"].append(
                "no convergence within "
                f"{CONVERGE_TIMEOUT}s: {dict(list(disagreement(cluster).items())[:20])}")
            trees = [n.tree() for n in cluster.nodes]
            tree = {}
            for t in trees:
                tree.update(t)
        checked = demoted = 0
        for c in cl:
            bad, n, d = c.check(tree)
            report["violations"] += c.violations + bad
            checked += n
            demoted += d
        for node in cluster.nodes:
            if not node.running() or not node.answers():
                report["violations"].append(f"n{node.i} is not answering")
        if cluster.tracker and not cluster.tracker.running():
            report["violations"].append("the tracker is not running")
        ops = history.ops
        report.update(
            operations=len(ops),
            acknowledged=sum(1 for o in ops if o.get("outcome") == "ok"),
            unsure=sum(1 for o in ops if o.get("outcome") == "unsure"),
            by_kind={k: sum(1 for o in ops if o["kind"] == k)
                     for k in sorted({o["kind"] for o in ops})},
            faults=faults.count, schedule=faults.schedule,
            writes_checked=checked, conflict_copies=demoted,
            since_last_fault_s=round(time.monotonic() - last_fault, 1))
        if report["violations"]:
            (base / "history.json").write_text(json.dumps(ops, indent=0))
            paths = set()
            for v in report["violations"]:
                # Violations quote paths inside dicts and lists.
                paths.update(re.findall(r"/c\d+/[^\s'\",:\]}]+", v))
            # The folders they are in too: a folder's rename or mkdir
            # may be what went wrong.
            for p in list(paths):
                while p.count("/") > 2:
                    p = p.rsplit("/", 1)[0]
                    paths.add(p)
            report["history"] = [o for o in ops
                                 if set(o["paths"]) & paths][-40:]
    finally:
        rcs = cluster.teardown(keep=bool(report["violations"]))
        report["exit"] = rcs
        for i, rc in rcs.items():
            if rc not in (0, None):
                who = i if i == "tracker" else f"n{i}"
                report["violations"].append(f"{who} exited {rc} on SIGTERM")
        if own_base and not report["violations"]:
            shutil.rmtree(base, ignore_errors=True)
    return report


def summary(r):
    lines = [f"seed {r['seed']}: {r['nodes']} nodes, replicas "
             f"{r['replicas']}, {r['seconds']} s, "
             f"{r.get('operations', 0)} operations "
             f"({r.get('acknowledged', 0)} acknowledged, "
             f"{r.get('unsure', 0)} unsure), faults {r.get('faults')}, "
             f"{r.get('writes_checked', 0)} acknowledged writes checked "
             f"({r.get('conflict_copies', 0)} as conflict copies), "
             f"converged in {r.get('converge_s')} s, "
             f"operations by kind {r.get('by_kind')}, "
             f"{len(r['violations'])} violations"]
    if r["violations"]:
        lines.append(f"replay: make chaos SEED={r['seed']} "
                     f"NODES={r['nodes']} CHAOS_SECONDS={r['seconds']}"
                     + (f" REPLICAS={r['replicas']}"
                        if r['replicas'] != "all" else "")
                     + (" KINDS=all" if tuple(r['kinds']) == Faults.ALL
                        else f" KINDS={','.join(r['kinds'])}"
                        if tuple(r['kinds']) != Faults.KINDS else "")
                     + (" TRACKER=1" if r.get("tracker") else ""))
        lines.append(f"folders and logs kept in {r['base']}")
        lines += ["  " + v for v in r["violations"][:30]]
        lines.append("schedule: " + json.dumps(r.get("schedule")))
        for o in r.get("history", []):
            lines.append("  " + json.dumps(o))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--replicas", type=int, default=None,
                    help="keep N copies of each file (default: all)")
    ap.add_argument("--minutes", type=float, default=0,
                    help="keep running new seeds for this long")
    ap.add_argument("--tracker", action="store_true",
                    help="nodes find each other through a tracker")
    ap.add_argument("--kinds", default=None,
                    help="the faults to draw from, comma-separated, or "
                    f"'all' (default: {','.join(Faults.KINDS)}; also "
                    f"{','.join(Faults.MORE)})")
    args = ap.parse_args()
    if args.kinds in (None, ""):
        kinds = Faults.KINDS
    elif args.kinds == "all":
        kinds = Faults.ALL
    else:
        kinds = tuple(args.kinds.split(","))
        bad = [k for k in kinds if k not in Faults.ALL]
        if bad:
            sys.exit(f"chaos: no such fault: {', '.join(bad)}")
    if os.geteuid() != 0:
        sys.exit("chaos: network namespaces need root")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    end = time.monotonic() + args.minutes * 60
    failed = False
    while True:
        r = run(seed, nodes=args.nodes, seconds=args.seconds,
                replicas=args.replicas, kinds=kinds, tracker=args.tracker)
        print(summary(r), flush=True)
        failed |= bool(r["violations"])
        if time.monotonic() >= end or failed:
            break
        seed = random.randrange(1 << 30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
