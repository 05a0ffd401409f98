#!/usr/bin/python3
"""Replication benchmark: shoal node to node beside rsync and syncthing.

All measurements run in one invocation, on the same generated data, with
every tool on the same filesystem (a temporary folder under /var/tmp):

  big      one file of --size-mib MiB (random bytes) from node A to node B,
           until B holds it durably.  shoal is measured twice:
             mv    the file is staged beside A's folder and renamed into
                   it (A picks it up by inotify and hashes it); the clock
                   starts at the rename
             stor  the file is uploaded to A with FTP STOR; the clock starts
                   at the 226 (the STOR itself is reported too)
           B holds the file when its FTP `SIZE name` answers the full size
           (a fetched file is renamed into place only after fsync); then
           B's `HASH name` must give the file's SHA-256.
           Beside: rsync_push(dir, fsync=True) and SyncthingPair.sync(dir)
           of a folder holding the same file.
  small    --files files of 4 KiB from A to B, until B's status counts them
           all.  shoal: `cp -r` of the folder into A's folder (clock from
           the start of cp), and one FTP session on A doing MKD + one STOR
           per file (clock from the MKD; --ftp-reps runs).  Every file on
           B is then compared byte for byte.  Beside: rsync --fsync and
           syncthing of the same folder.
  latency  --uploads sequential FTP STORs of 4 KiB to A; for each, the
           time from A's 226 to B's `SIZE name` answering, B polled in a
           tight loop over one persistent FTP session.
  multi    three nodes, each with -o peer.send_limit_kib=51200 (50 MiB/s).
           The big file is renamed into A's folder and B fetches it; then
           a fresh node C is started and timed until its `SIZE` answers
           (clock from starting C's process); then the same with B gone
           (`shoal bye`) so that only A holds the file.  Each run uses a new C, which leaves with `bye`.

Every node runs with -o peer.heartbeat_ms=200; each measurement gets a
fresh pair A, B of a new cluster.  Node status is read from the endpoint
that `shoal -C DIR status --json` reads (GET /v1/status with the node's
token), and once through that command to confirm.  Every run writes new
data, used by shoal, rsync and syncthing alike; between two shoal runs
the previous copy is deleted on A and its deletion waited for on B, and a
note says so if the status counter sync.bytes_reused grew (B would have
copied blocks from a local file instead of fetching them).  Repetitions
(--reps, default 3) rotate the order of the tools; medians are reported.

Results go to the terminal and to build/bench-repl.json, with the shoal
binary's version, SHA-256 and the repository's HEAD.  Targets are
reported, never enforced: the exit status is non-zero only when something
broke (wrong content, a timeout, a node that died, hung, or did not exit
with status 0 after SIGTERM or `bye`).  Ctrl-C stops every process the
benchmark started, by PID, and removes its temporary folder.

Usage, from the repository root:
    /usr/bin/python3 bench/repl_bench.py                        # full size
    /usr/bin/python3 bench/repl_bench.py --size-mib 64 --files 1000
    /usr/bin/python3 bench/repl_bench.py --only latency
"""
import argparse
import ftplib
import hashlib
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.normpath(os.path.join(ROOT, "..", "shared", "peers")))

import peers  # noqa: E402
import benchlib  # noqa: E402
from benchlib import (FAILURES, Broken, ftp_quit, log_tail, median,  # noqa: E402
                      ratio, wait_for, wait_members, write_random)

NAME = "repl"
TESTS = ("big", "small", "latency", "multi")
MIB = 1024 * 1024
SMALL = 4096
BASE_OPTIONS = ["peer.heartbeat_ms=200"]
MULTI_OPTIONS = ["peer.send_limit_kib=51200"]


# ----------------------------------------------------------------- /proc --

def _wchar(pid):
    """Bytes the process has written with write-like calls (sockets too)."""
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ----------------------------------------------------------------- nodes --

class Node(benchlib.Node):
    """A node that can also leave its cluster and report through the CLI."""

    def bye(self):
        """`shoal bye`: leave the cluster; the node exits 0."""
        self.sent = "bye"
        self.cli("bye", timeout=30)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Broken("node %s did not exit within 15 s of `bye`" % self.name)
        self._reap()

    def unasked(self):
        # a signal the benchmark did not send shows in the node's last log
        # lines: then the culprit is more likely elsewhere on the host
        tail = "\n".join(log_tail(self.log, 5))
        if "signal 15" in tail or "signal 2:" in tail:
            return (", after a %s that the benchmark did not send (another "
                    "process on this host?)" % ("SIGTERM" if "signal 15" in tail
                                                else "SIGINT"))
        return super().unasked()

    def status_cli(self):
        """The status, through `shoal -C DIR status --json`."""
        return json.loads(self.cli("status", "--json", timeout=30))


def settle(nodes, quiet=0.3, limit=30.0):
    """Wait until no node has pulls and their CPU use is down to heartbeats."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        syncs = [n.status()["sync"] for n in nodes]
        if all(x["pulls_active"] == 0 and x["pulls_queued"] == 0 for x in syncs):
            break
        time.sleep(0.1)
    benchlib.wait_quiet(nodes, deadline, quiet)


def wait_size(f, name, size, timeout, nodes, tight=False):
    """Poll `SIZE name` on session f until it answers size; return the time."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        polls += 1
        try:
            r = f.sendcmd("SIZE " + name)
            t = time.perf_counter()
            got = int(r.split()[1])
            if got == size:
                return t, polls
            raise Broken("%s: SIZE %s answered %d, expected %d" % (f.host, name, got, size))
        except ftplib.error_perm:
            pass
        if polls % 200 == 0 or not tight:
            for n in nodes:
                n.check()
            if time.monotonic() > deadline:
                raise Broken("timeout after %.0f s waiting for %s on port %d"
                             % (timeout, name, f.port))
        if not tight:
            time.sleep(0.005)


def wait_gone(f, name, timeout, nodes):
    def gone():
        try:
            f.sendcmd("SIZE " + name)
            return False
        except ftplib.error_perm:
            return True
    wait_for("%s to be deleted" % name, gone, timeout, nodes)


def ftp_hash(f, name):
    r = f.sendcmd("HASH " + name)        # 213 SHA-256 0-SIZE HEX /name
    parts = r.split()
    if len(parts) < 4 or parts[0] != "213":
        raise Broken("HASH %s answered %r" % (name, r))
    return parts[3].lower()


# ------------------------------------------------------------------ data --

def write_small(folder, n):
    os.makedirs(folder)
    names, datas = [], []
    for i in range(n):
        name, data = "f%05d.bin" % i, os.urandom(SMALL)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        names.append(name)
        datas.append(data)
    return names, datas


def compare_folder(folder, names, datas, who):
    for name, data in zip(names, datas):
        try:
            with open(os.path.join(folder, name), "rb") as f:
                ok = f.read() == data
        except OSError:
            ok = False
        if not ok:
            raise Broken("%s: %s is missing or differs" % (who, os.path.join(
                os.path.basename(folder), name)))
    extra = set(os.listdir(folder)) - set(names)
    if extra:
        raise Broken("%s: %s holds %d unexpected entries (%s)"
                     % (who, os.path.basename(folder), len(extra),
                        ", ".join(sorted(extra)[:3])))


# ----------------------------------------------------------------- bench --

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.work = None
        self.nodes = []          # every node ever made, for the cleanup
        self.syncthing = None
        self.st_failed = False
        self.raw = {}
        self.errors, self.notes = [], []
        self.logs = {}           # node -> last lines of its log
        self.suspects = []       # nodes whose log is printed

    # ---------------------------------------------------------- helpers --

    def node(self, name, options):
        n = Node(self.binary, self.work, name, BASE_OPTIONS + options)
        self.nodes.append(n)
        return n

    def record(self, test, variant, value):
        self.raw.setdefault(test, {}).setdefault(variant, []).append(value)

    def failed(self, what, e, nodes=()):
        msg = "%s: %s" % (what, e)
        self.errors.append(msg)
        print("repl bench: ERROR " + msg, file=sys.stderr)
        for n in nodes:
            alive = n.running()
            self.logs["%s (after %s)" % (n.name, what)] = log_tail(n.log, 40)
            self.suspects.append("%s (after %s)" % (n.name, what))
            if not alive:
                self.errors.append("%s: node %s had exited (%s)"
                                   % (what, n.name, n.exit_reason()))

    def st(self):
        if self.syncthing is None and not self.st_failed:
            pair = peers.SyncthingPair(os.path.join(self.work, "syncthing"))
            try:
                pair.__enter__()
            except BaseException as e:
                pair.__exit__(None, None, None)
                if not isinstance(e, Exception):
                    raise
                self.st_failed = True
                self.failed("syncthing start", e)
                return None
            self.syncthing = pair
        return self.syncthing

    def rsync(self, src):
        os.sync()
        return peers.rsync_push(src, os.path.join(self.work, "rsync"), fsync=True)

    def syncthing_sync(self, src):
        pair = self.st()
        if pair is None:
            raise RuntimeError("syncthing is not running")
        os.sync()
        return pair.sync(src, timeout=self.cfg["timeout_small"])

    def pair(self, test):
        """Fresh nodes A and B of a new cluster, for one measurement."""
        a, b = self.node(test + "-A", []), self.node(test + "-B", [])
        key = a.init()
        b.init(key)
        a.set_peers([b])
        b.set_peers([a])
        a.start()
        b.start()
        wait_members([a, b])
        print("repl bench: %s: nodes A (ftp %d, pid %d) and B (ftp %d, pid %d)"
              % (test, a.ftp_port, a.proc.pid, b.ftp_port, b.proc.pid))
        return a, b

    def unpair(self, test, nodes):
        """Stop the nodes of one measurement and remove their folders."""
        for n in nodes:
            if not n.running():
                self.failed(test, "node %s is not running" % n.name, [n])
            n.stop()
            self.logs[n.name] = log_tail(n.log, 40)
            shutil.rmtree(n.dir, ignore_errors=True)

    def rotate(self, variants, rep):
        k = rep % len(variants)
        return variants[k:] + variants[:k]

    # -------------------------------------------------------------- big --

    def shoal_big(self, a, b, src, sha, name, how):
        size = self.cfg["size"]
        fa = fb = None
        try:
            if how == "mv":
                stage = os.path.join(self.work, "stage", name)
                os.makedirs(os.path.dirname(stage), exist_ok=True)
                shutil.copyfile(src, stage)
            os.sync()
            settle([a, b])
            s0 = b.status()["sync"]
            fb = b.ftp()
            fa = a.ftp() if how == "stor" else None
            res = {}
            if how == "mv":
                t0 = time.perf_counter()
                os.rename(stage, os.path.join(a.dir, name))
            else:
                t0 = time.perf_counter()
                with open(src, "rb") as f:
                    fa.storbinary("STOR " + name, f, blocksize=MIB)
                t226 = time.perf_counter()
                res["stor_s"] = t226 - t0
                t0 = t226
            t1, _ = wait_size(fb, name, size, self.cfg["timeout_big"], [a, b])
            res["seconds"] = t1 - t0
            if "stor_s" in res:
                res["total_s"] = res["stor_s"] + res["seconds"]
            got = ftp_hash(fb, name)
            if got != sha:
                raise Broken("B's HASH %s is %s, expected %s" % (name, got, sha))
            s1 = b.status_cli()["sync"]
            res["files_fetched"] = s1["files_fetched"] - s0["files_fetched"]
            res["bytes_fetched"] = s1["bytes_fetched"] - s0["bytes_fetched"]
            res["bytes_reused"] = s1["bytes_reused"] - s0["bytes_reused"]
            if res["files_fetched"] < 1:
                raise Broken("B holds %s with the right hash but its "
                             "sync.files_fetched did not grow" % name)
            if res["bytes_reused"]:
                self.notes.append("big %s: B reused %d bytes from local files"
                                  % (how, res["bytes_reused"]))
            # delete it everywhere before the next run
            if fa is None:
                fa = a.ftp()
            fa.delete(name)
            wait_gone(fb, name, self.cfg["timeout_big"], [a, b])
            return res
        finally:
            ftp_quit(fa)
            ftp_quit(fb)

    def m_big(self):
        a, b = self.pair("big")
        try:
            self._big(a, b)
        finally:
            self.unpair("big", [a, b])

    def _big(self, a, b):
        cfg = self.cfg
        variants = ["shoal-mv", "shoal-stor", "rsync", "syncthing"]
        dead = set()
        for rep in range(cfg["reps"]):
            d = os.path.join(self.work, "data", "big%d" % rep)
            src = os.path.join(d, "big%d.bin" % rep)
            print("repl bench: big run %d: writing %d MiB" % (rep + 1, cfg["size"] // MIB))
            sha = write_random(src, cfg["size"])
            for v in self.rotate(variants, rep):
                if v in dead:
                    continue
                try:
                    if v == "shoal-mv":
                        r = self.shoal_big(a, b, src, sha, "big%d-mv.bin" % rep, "mv")
                    elif v == "shoal-stor":
                        r = self.shoal_big(a, b, src, sha, "big%d-stor.bin" % rep, "stor")
                    elif v == "rsync":
                        r = {"seconds": self.rsync(d)}
                    else:
                        r = {"seconds": self.syncthing_sync(d)}
                except FAILURES as e:
                    dead.add(v)
                    self.failed("big %s (run %d)" % (v, rep + 1), e,
                                [a, b] if v.startswith("shoal") else [])
                    continue
                self.record("big", v, r)
                print("repl bench: big run %d %-10s %7.2f s%s"
                      % (rep + 1, v, r["seconds"],
                         "  (STOR %.2f s)" % r["stor_s"] if "stor_s" in r else ""))
            shutil.rmtree(d, ignore_errors=True)

    # ------------------------------------------------------------ small --

    def shoal_small(self, a, b, src, names, datas, folder, how):
        n = len(names)
        fa = None
        try:
            os.sync()
            settle([a, b])
            base = b.status()["files"]
            s0 = b.status()["sync"]
            res = {}
            if how == "copy":
                t0 = time.perf_counter()
                subprocess.run(["cp", "-r", src, os.path.join(a.dir, folder)],
                               check=True, timeout=self.cfg["timeout_small"])
                res["place_s"] = time.perf_counter() - t0
            else:
                fa = a.ftp()
                t0 = time.perf_counter()
                fa.mkd(folder)
                fa.cwd(folder)
                for name, data in zip(names, datas):
                    fa.storbinary("STOR " + name, io.BytesIO(data))
                res["place_s"] = time.perf_counter() - t0
                ftp_quit(fa)
                fa = None
            last = [None]

            def done():
                last[0] = b.status()
                return last[0]["files"] >= base + n
            wait_for("B to count %d files" % (base + n), done,
                     self.cfg["timeout_small"], [a, b], every=0.02)
            res["seconds"] = time.perf_counter() - t0
            st = b.status_cli()
            if st["files"] != base + n:
                raise Broken("B counts %d files, expected %d" % (st["files"], base + n))
            compare_folder(os.path.join(b.dir, folder), names, datas, "B")
            if how == "ftp":
                compare_folder(os.path.join(a.dir, folder), names, datas, "A")
            res["files_fetched"] = st["sync"]["files_fetched"] - s0["files_fetched"]
            res["bytes_reused"] = st["sync"]["bytes_reused"] - s0["bytes_reused"]
            if res["bytes_reused"]:
                self.notes.append("small %s: B reused %d bytes from local files"
                                  % (how, res["bytes_reused"]))
            # delete the folder on A, wait until B has deleted it too
            shutil.rmtree(os.path.join(a.dir, folder))
            wait_for("B to count %d files after the delete" % base,
                     lambda: b.status()["files"] == base, self.cfg["timeout_small"],
                     [a, b], every=0.05)
            return res
        finally:
            ftp_quit(fa)

    def m_small(self):
        a, b = self.pair("small")
        try:
            self._small(a, b)
        finally:
            self.unpair("small", [a, b])

    def _small(self, a, b):
        cfg = self.cfg
        variants = ["shoal-copy", "shoal-ftp", "rsync", "syncthing"]
        dead = set()
        for rep in range(cfg["reps"]):
            src = os.path.join(self.work, "data", "small%d" % rep)
            names, datas = write_small(src, cfg["files"])
            for v in self.rotate(variants, rep):
                if v in dead or (v == "shoal-ftp" and rep >= cfg["ftp_reps"]):
                    continue
                try:
                    if v == "shoal-copy":
                        r = self.shoal_small(a, b, src, names, datas,
                                             "small%d-copy" % rep, "copy")
                    elif v == "shoal-ftp":
                        r = self.shoal_small(a, b, src, names, datas,
                                             "small%d-ftp" % rep, "ftp")
                    elif v == "rsync":
                        r = {"seconds": self.rsync(src)}
                    else:
                        r = {"seconds": self.syncthing_sync(src)}
                except FAILURES as e:
                    dead.add(v)
                    self.failed("small %s (run %d)" % (v, rep + 1), e,
                                [a, b] if v.startswith("shoal") else [])
                    continue
                self.record("small", v, r)
                print("repl bench: small run %d %-10s %7.2f s%s"
                      % (rep + 1, v, r["seconds"],
                         "  (placing on A %.2f s)" % r["place_s"] if "place_s" in r else ""))
            shutil.rmtree(src, ignore_errors=True)

    # ---------------------------------------------------------- latency --

    def m_latency(self):
        cfg = self.cfg
        a, b = self.pair("latency")
        fa = fb = None
        try:
            os.sync()
            settle([a, b])
            fa, fb = a.ftp(), b.ftp()
            fa.mkd("latency")
            lat, full, stor, first = [], [], [], 0
            sums = []
            for i in range(cfg["uploads"]):
                name = "latency/lat%04d.bin" % i
                data = os.urandom(SMALL)
                sums.append((name, hashlib.sha256(data).hexdigest()))
                t0 = time.perf_counter()
                fa.storbinary("STOR " + name, io.BytesIO(data))
                t226 = time.perf_counter()
                t1, polls = wait_size(fb, name, SMALL, 60, [a, b], tight=True)
                lat.append(t1 - t226)
                full.append(t1 - t0)
                stor.append(t226 - t0)
                first += polls == 1
            for name, sha in sums:
                got = ftp_hash(fb, name)
                if got != sha:
                    raise Broken("B's HASH %s is %s, expected %s" % (name, got, sha))
            self.record("latency", "shoal", {"after_226_s": lat, "from_stor_s": full,
                                             "stor_s": stor, "first_poll_hits": first})
            s = sorted(lat)
            print("repl bench: latency median %.1f ms, p99 %.1f ms, max %.1f ms "
                  "(%d of %d already on B at the first poll)"
                  % (statistics.median(s) * 1e3, _p99(s) * 1e3, s[-1] * 1e3,
                     first, len(s)))
        except FAILURES as e:
            self.failed("latency", e, [a, b])
        finally:
            ftp_quit(fa)
            ftp_quit(fb)
            self.unpair("latency", [a, b])

    # ------------------------------------------------------------ multi --

    def c_fetch(self, key, holders, name, size, sha, label, rep):
        """A fresh node C joins with `holders` in its peers file; time its fetch."""
        cfg = self.cfg
        c = self.node("C%d-%s" % (rep + 1, label), MULTI_OPTIONS)
        c.init(key)
        c.set_peers(holders)
        os.sync()
        settle(holders)
        w0 = {h.name: _wchar(h.proc.pid) for h in holders}
        fc = None
        try:
            t0 = time.perf_counter()
            c.start()
            fc = c.ftp()
            t1, _ = wait_size(fc, name, size, cfg["timeout_big"], holders + [c])
            w1 = {h.name: _wchar(h.proc.pid) for h in holders}
            got = ftp_hash(fc, name)
            if got != sha:
                raise Broken("C's HASH %s is %s, expected %s" % (name, got, sha))
            st = c.status_cli()
            res = {"seconds": t1 - t0,
                   "bytes_fetched": st["sync"]["bytes_fetched"],
                   "bytes_reused": st["sync"]["bytes_reused"],
                   "sent_by": {k: w1[k] - w0[k] for k in w0
                               if w0[k] is not None and w1[k] is not None}}
            ftp_quit(fc)
            fc = None
            c.bye()
            shutil.rmtree(c.dir, ignore_errors=True)
            return res
        finally:
            ftp_quit(fc)
            if c.running():
                c.stop()

    def m_multi(self):
        cfg = self.cfg
        size = cfg["size"]
        a, b = self.node("mA", MULTI_OPTIONS), self.node("mB", MULTI_OPTIONS)
        everyone = [a, b]
        try:
            key = a.init()
            b.init(key)
            a.set_peers([b])
            b.set_peers([a])
            a.start()
            b.start()
            wait_members([a, b])
            print("repl bench: multi: nodes mA (pid %d), mB (pid %d), each sending "
                  "at most 50 MiB/s" % (a.proc.pid, b.proc.pid))
            name = "multi.bin"
            stage = os.path.join(self.work, "stage", name)
            print("repl bench: multi: writing %d MiB" % (size // MIB))
            sha = write_random(stage, size)
            os.sync()
            fb = b.ftp()
            try:
                t0 = time.perf_counter()
                os.rename(stage, os.path.join(a.dir, name))
                t1, _ = wait_size(fb, name, size, cfg["timeout_big"], [a, b])
                if ftp_hash(fb, name) != sha:
                    raise Broken("B's copy of %s has the wrong hash" % name)
            finally:
                ftp_quit(fb)
            self.notes.append("multi: mB fetched the file from mA alone in %.2f s "
                              "(clock from the rename into mA's folder)" % (t1 - t0))
        except FAILURES as e:
            self.failed("multi setup", e, everyone)
            return
        for rep in range(cfg["reps"]):
            order = ["two", "one"] if rep % 2 == 0 else ["one", "two"]
            for v in order:
                try:
                    if v == "two":
                        r = self.c_fetch(key, [a, b], name, size, sha, "two", rep)
                    else:
                        b.bye()
                        wait_for("mA to see mB gone",
                                 lambda: a.status()["members"]["alive"] == 1, 30, [a])
                        try:
                            r = self.c_fetch(key, [a], name, size, sha, "one", rep)
                        finally:
                            b.start()
                            wait_members([a, b])
                except FAILURES as e:
                    self.failed("multi %s holder(s) (run %d)" % (v, rep + 1), e,
                                [n for n in self.nodes if n.name.startswith(("m", "C"))])
                    return
                self.record("multi", v, r)
                sent = ", ".join("%s sent %.0f MiB" % (k, x / MIB)
                                 for k, x in sorted(r["sent_by"].items()))
                print("repl bench: multi run %d, %s holder%s: %.2f s (%s)"
                      % (rep + 1, v, "s" if v == "two" else "", r["seconds"], sent))
                if v == "two":
                    low = [k for k, x in r["sent_by"].items() if x < size // 10]
                    if low:
                        self.notes.append("multi run %d: with two holders, %s sent "
                                          "less than a tenth of the file"
                                          % (rep + 1, ", ".join(low)))

    # -------------------------------------------------------------- run --

    def run(self, tests):
        cfg = self.cfg
        self.work = benchlib.work_folder("shoal-bench-repl-", cfg["tmp"])
        print("repl bench: data and nodes under %s" % self.work)
        self.binary = benchlib.copy_binary(cfg["shoal_bin"], self.work)
        for t in tests:
            try:
                getattr(self, "m_" + t)()
            except FAILURES as e:
                self.failed(t, e, self.nodes)
            print("repl bench: %s done" % t)

    def cleanup(self):
        benchlib.stop_nodes(self.nodes, self.errors)
        for n in self.nodes:
            if n.exit_codes:
                self.logs[n.name] = log_tail(n.log, 40)
        if self.syncthing is not None:
            try:
                self.syncthing.__exit__(None, None, None)
            except Exception as e:
                self.errors.append("stop syncthing: %s" % e)
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)
        for n in self.nodes:
            bad = [c for c in n.exit_codes if c != 0]
            if bad:
                self.suspects.append(n.name)
                self.errors.append("node %s exit statuses %s (0 expected on SIGTERM "
                                   "and after bye)" % (n.name, n.exit_codes))


# --------------------------------------------------------------- report --

def _p99(sorted_xs):
    return sorted_xs[max(0, math.ceil(0.99 * len(sorted_xs)) - 1)]


def summarise(raw):
    out = {}

    def med(test, variant, key="seconds"):
        runs = raw.get(test, {}).get(variant)
        return median([r.get(key) for r in runs]) if runs else None
    if "big" in raw:
        out["big_mv_s"] = {"shoal": med("big", "shoal-mv"), "rsync": med("big", "rsync"),
                           "syncthing": med("big", "syncthing")}
        out["big_stor_s"] = {"shoal": med("big", "shoal-stor"),
                             "rsync": med("big", "rsync"),
                             "syncthing": med("big", "syncthing")}
        out["big_stor_total_s"] = {"shoal": med("big", "shoal-stor", "total_s")}
        out["big_stor_upload_s"] = {"shoal": med("big", "shoal-stor", "stor_s")}
    if "small" in raw:
        out["small_copy_s"] = {"shoal": med("small", "shoal-copy"),
                               "rsync": med("small", "rsync"),
                               "syncthing": med("small", "syncthing")}
        out["small_ftp_s"] = {"shoal": med("small", "shoal-ftp"),
                              "rsync": med("small", "rsync"),
                              "syncthing": med("small", "syncthing")}
        out["small_ftp_upload_s"] = {"shoal": med("small", "shoal-ftp", "place_s")}
    if raw.get("latency", {}).get("shoal"):
        r = raw["latency"]["shoal"][0]
        s = sorted(r["after_226_s"])
        out["latency_median_ms"] = {"shoal": statistics.median(s) * 1e3}
        out["latency_p99_ms"] = {"shoal": _p99(s) * 1e3}
        out["latency_max_ms"] = {"shoal": s[-1] * 1e3}
        out["latency_stor_median_ms"] = {"shoal": statistics.median(r["stor_s"]) * 1e3}
    if "multi" in raw:
        out["multi_two_s"] = {"shoal": med("multi", "two")}
        out["multi_one_s"] = {"shoal": med("multi", "one")}
    return out


def table(summary, cfg):
    size = "1 GiB" if cfg["size"] == 1 << 30 else "%d MiB" % (cfg["size"] // MIB)
    files = "{:,}".format(cfg["files"])
    rows, verdicts = [], {}

    def row(key, label, unit, checks, fmt="%.2f"):
        v = summary.get(key)
        if v is None:
            return
        s, r, st = v.get("shoal"), v.get("rsync"), v.get("syncthing")
        cells = [label, unit] + ["-" if x is None else fmt % x for x in (s, r, st)]
        if not checks:
            rows.append(cells + ["", "", "info"])
            return
        for i, (name, value, target, ok) in enumerate(checks):
            met = None if value is None else ok(value)
            verdicts.setdefault(key, []).append(
                {"ratio": name, "value": value, "target": target, "met": met})
            ratio = "-" if not name else "%s %s" % (
                name, "-" if value is None else "%.2f" % value)
            status = "-" if met is None else ("met" if met else "MISSED")
            rows.append((cells if i == 0 else ["", "", "", "", ""]) +
                        [ratio, target, status])

    def vs(key, lim_rsync, lim_st):
        v = summary.get(key) or {}
        s = v.get("shoal")
        return [("shoal/rsync", ratio(s, v.get("rsync")), "<= %g" % lim_rsync,
                 lambda x: x <= lim_rsync),
                ("syncthing/shoal", ratio(v.get("syncthing"), s), ">= %g" % lim_st,
                 lambda x: x >= lim_st)]
    row("big_mv_s", "%s A->B, moved into A's folder (from rename)" % size, "s",
        vs("big_mv_s", 1.2, 2))
    row("big_stor_s", "%s A->B, FTP STOR to A (from the 226)" % size, "s",
        vs("big_stor_s", 1.2, 2))
    row("big_stor_upload_s", "  the STOR to A itself", "s", None)
    row("big_stor_total_s", "  STOR start to B holding it", "s", None)
    row("small_copy_s", "%s x 4 KiB A->B, cp -r into A's folder" % files, "s",
        vs("small_copy_s", 1.5, 15))
    row("small_ftp_s", "%s x 4 KiB A->B, one FTP session on A" % files, "s",
        vs("small_ftp_s", 1.5, 15))
    row("small_ftp_upload_s", "  the FTP uploads to A themselves", "s", None)
    n = cfg["uploads"]
    lat = summary.get("latency_median_ms", {}).get("shoal")
    p99 = summary.get("latency_p99_ms", {}).get("shoal")
    row("latency_median_ms", "%d x 4 KiB STOR: 226 on A -> SIZE on B, median" % n,
        "ms", [("", lat, "< 50 ms", lambda x: x < 50)], fmt="%.1f")
    row("latency_p99_ms", "%d x 4 KiB STOR: 226 on A -> SIZE on B, p99" % n,
        "ms", [("", p99, "< 250 ms", lambda x: x < 250)], fmt="%.1f")
    row("latency_max_ms", "  max", "ms", None, fmt="%.1f")
    row("latency_stor_median_ms", "  the STOR to A itself, median", "ms", None, fmt="%.1f")
    two = summary.get("multi_two_s", {}).get("shoal")
    one = summary.get("multi_one_s", {}).get("shoal")
    row("multi_one_s", "%s to a new C, one holder (50 MiB/s cap)" % size, "s", None)
    row("multi_two_s", "%s to a new C, two holders (50 MiB/s caps)" % size, "s",
        [("two/one", ratio(two, one), "<= 0.6", lambda x: x <= 0.6)])
    head = ["metric", "unit", "shoal", "rsync", "syncthing", "ratio", "target", "status"]
    return benchlib.format_table(head, rows, (0, 1, 5, 6, 7)), verdicts


# ------------------------------------------------------------------ main --

def _config(size_mib, files, reps, uploads, ftp_reps, shoal_bin, json_path, tmp):
    size = size_mib * MIB
    return {"size": size, "files": files, "reps": reps, "uploads": uploads,
            "ftp_reps": ftp_reps, "shoal_bin": shoal_bin, "json": json_path,
            "tmp": tmp,
            # generous: 5 MiB/s for the big file, 100 files/s for the small
            "timeout_big": max(300, size / (5 * MIB)),
            "timeout_small": max(900, files / 10)}


def bench(cfg, tests):
    """Run the measurements, print the table, write the JSON; exit status."""
    if not os.access(cfg["shoal_bin"], os.X_OK):
        print("repl bench: %s does not exist; build it first (make)" % cfg["shoal_bin"],
              file=sys.stderr)
        return 1
    missing = [p for p in ("rsync", "syncthing", "cp") if not shutil.which(p)]
    if missing:
        print("repl bench: missing %s: run /usr/bin/python3 ../shared/peers/peers.py "
              "install" % " ".join(missing), file=sys.stderr)
        return 1
    b = Bench(cfg)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    # the commit of the checkout the binary was built in (build/shoal)
    binary = benchlib.binary_info(cfg["shoal_bin"],
                                  os.path.dirname(os.path.dirname(cfg["shoal_bin"])))
    print("repl bench: %s, built %s, sha256 %s..., HEAD %s"
          % (binary.get("version"), binary.get("mtime"),
             (binary.get("sha256") or "?")[:12], (binary.get("head") or "?")[:12]))
    load_before = os.getloadavg()
    if benchlib.run_then_clean(b, tests):
        print("\nrepl bench: interrupted; nodes and peers stopped, temporary data "
              "removed", file=sys.stderr)
        return 130
    load_after = os.getloadavg()
    summary = summarise(b.raw)
    text, verdicts = table(summary, cfg)
    print()
    print("Replication benchmark: median of %d runs (%s); times in seconds unless "
          "noted" % (cfg["reps"], ", ".join(tests)))
    print(text)
    print()
    notes = list(b.notes)
    if "small" in tests:
        notes.append("small via FTP: %d run(s) (--ftp-reps)" % min(cfg["ftp_reps"],
                                                                   cfg["reps"]))
    notes.append("load average %.2f before, %.2f after (%d CPUs)"
                 % (load_before[0], load_after[0], os.cpu_count()))
    benchlib.print_findings(notes, b.errors, b.suspects, b.logs)
    result = {
        "benchmark": "repl", "started": started,
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                 "loadavg_before": load_before, "loadavg_after": load_after},
        "binary": binary,
        "parameters": {"size_bytes": cfg["size"], "files": cfg["files"],
                       "file_bytes": SMALL, "reps": cfg["reps"],
                       "ftp_reps": cfg["ftp_reps"], "uploads": cfg["uploads"],
                       "tests": tests,
                       "node_options": BASE_OPTIONS,
                       "multi_node_options": BASE_OPTIONS + MULTI_OPTIONS},
        "summary": summary, "verdicts": verdicts, "runs": b.raw,
        "notes": notes, "errors": b.errors,
        "node_logs": b.logs,
    }
    benchlib.write_json(cfg["json"], result)
    return 1 if b.errors else 0


def _tests(only):
    if not only:
        return list(TESTS)
    name = only[len(NAME) + 1:] if only.startswith(NAME + ".") else only
    if name == NAME:
        return list(TESTS)
    if name not in TESTS:
        sys.exit("repl bench: unknown measurement %r (known: %s)"
                 % (only, ", ".join(TESTS)))
    return [name]


# the interface of bench/run.py's modules
def add_args(p):
    g = p.add_argument_group("replication benchmark")
    g.add_argument("--repl-files", type=int, default=10000, metavar="N",
                   help="4 KiB files for repl.small (default 10000)")
    g.add_argument("--repl-uploads", type=int, default=200, metavar="N",
                   help="uploads for repl.latency (default 200)")
    g.add_argument("--repl-ftp-reps", type=int, default=1, metavar="N",
                   help="runs of repl.small through FTP (default 1)")
    g.add_argument("--repl-json", metavar="PATH",
                   help="where to write the results (default build/bench-repl.json)")


def run(args, tests, root):
    cfg = _config(args.size_mib, args.repl_files, args.reps, args.repl_uploads,
                  args.repl_ftp_reps, args.shoal_bin,
                  args.repl_json or os.path.join(root, "build", "bench-repl.json"),
                  "/var/tmp")
    return bench(cfg, list(tests))


def main(argv=None):
    p = argparse.ArgumentParser(
        description="shoal replication beside rsync and syncthing")
    p.add_argument("--size-mib", type=int, default=1024, metavar="N",
                   help="size of the big file in MiB (default 1024)")
    p.add_argument("--files", type=int, default=10000, metavar="N",
                   help="number of 4 KiB files (default 10000)")
    p.add_argument("--only", metavar="NAME",
                   help="one measurement: %s" % ", ".join(TESTS))
    p.add_argument("--reps", type=int, default=3, metavar="N",
                   help="runs of each measurement, median reported (default 3)")
    p.add_argument("--ftp-reps", type=int, default=1, metavar="N",
                   help="runs of the small files through FTP (default 1; "
                        "0 leaves them out)")
    p.add_argument("--uploads", type=int, default=200, metavar="N",
                   help="sequential uploads for the latency (default 200)")
    p.add_argument("--shoal-bin", metavar="PATH",
                   default=os.path.join(ROOT, "build", "shoal"),
                   help="the shoal binary (default build/shoal)")
    p.add_argument("--json", metavar="PATH",
                   default=os.path.join(ROOT, "build", "bench-repl.json"),
                   help="where to write the results (default build/bench-repl.json)")
    p.add_argument("--tmp", metavar="DIR", default="/var/tmp",
                   help="where data and nodes live during the run (default /var/tmp)")
    args = p.parse_args(argv)
    if min(args.size_mib, args.files, args.reps, args.uploads) < 1 or args.ftp_reps < 0:
        p.error("--size-mib, --files, --reps and --uploads must be at least 1")
    tests = _tests(args.only)
    benchlib.catch_signals()
    cfg = _config(args.size_mib, args.files, args.reps, args.uploads, args.ftp_reps,
                  os.path.abspath(args.shoal_bin), os.path.abspath(args.json),
                  args.tmp)
    return bench(cfg, tests)


if __name__ == "__main__":
    sys.exit(main())
