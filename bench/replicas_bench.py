#!/usr/bin/python3
"""Replicas benchmark: clusters made with `shoal init --replicas 2`.

See docs/REPLICAS.md for the feature.  Two measurements, each on a fresh
cluster of 4 nodes (n1 made with `init --replicas 2`, the others with
`init --join KEY --replicas 2`), every node started with
`--repair-delay 2 -o peer.heartbeat_ms=200 -o peer.dead_after_ms=1500`:

  repair       --repair-files files of random bytes (--repair-mib MiB in
               all, default 8 x 256 MiB) are written from a source folder
               into n1 with FTP STOR; then the benchmark waits until every
               file has exactly 2 complete copies on disk (under the nodes'
               folders), and checks each copy's SHA-256.  The node holding
               the most bytes is killed with SIGKILL.  The
               survivors' status is polled every 20 ms until each counts 3
               live members (t_dead: the first that does), then their
               folders every 0.2 s until every file again has 2 complete
               copies on live nodes; each new copy's SHA-256 is checked
               afterwards (a copy is recorded by its inode when first seen,
               and must still be that inode when hashed).

                 t_restored = last file back to 2 copies  -  the kill
                 t_repair   = last file back to 2 copies  -  t_dead
                              - the repair delay (2 s)

               so t_repair leaves out the time shoal is told to wait before
               it may repair, but keeps everything after it (among which
               the 2-second repair walk's phase).  (A killed process's
               links break at once, so the survivors see it dead well
               before peer.dead_after_ms; that is why t_dead is measured
               rather than taken as dead_after.)  The bytes to copy are the
               sizes of the files left with fewer than 2 live copies by the
               kill.  Beside it: the same files (hard links into a folder)
               copied with `rsync -a --fsync SRC/ DST/`, local paths, to a
               fresh DST, --reps times (median).  Reported: seconds, MiB/s
               and the ratio shoal/rsync (target <= 1.5).  Also reported,
               for information: t_restored, t_dead, when the first fetch
               appeared in a survivor's .shoal/tmp, and (in the JSON) the
               survivors' `under_replicated` over time.

  remote_read  one file of --read-mib MiB (default 1024) is written into
               n1 and waited for until it has exactly 2 copies.  It is then
               read with FTP RETR (binary; the data are counted and hashed
               by the client, in a second thread, and thrown away) from a
               node holding a copy (local) and from a node holding none
               (remote: streamed from the holders), --reps times each, in
               alternating order, the holder and non-holder taking turns.
               Before every remote read the benchmark waits until the
               non-holder's folder no longer holds the file (the transient
               copy of an earlier read is dropped once the holders are seen
               to hold the version); how long after its read each copy was
               dropped is in the JSON.  Reported: the best MiB/s of each
               and the ratio remote/local (target >= 0.7), and the medians.

Each timed window also records the CPU seconds used by every node and by
other processes on the machine (work that competed with the measurement:
/proc/stat's busy time minus the benchmark's own and its nodes').

Targets are reported, never enforced: the exit status is non-zero only when
something broke (a node that did not start or died, a timeout, wrong
content, a failed transfer).  Data and nodes live in a temporary folder
under /tmp (--replicas-tmp), removed at the end, also on Ctrl-C; every
process is stopped by its PID.  Results go to the terminal and to
bench-replicas.json beside the shoal binary (--replicas-json).

The binary: --shoal-bin, else $SHOAL_BIN, else build/shoal.  It is copied
into the temporary folder first, so a rebuild during the run does not
change what is measured.

Usage, from the repository root:
    /usr/bin/python3 bench/run.py --only replicas
    /usr/bin/python3 bench/run.py --only replicas.repair --repair-mib 512
    SHOAL_BIN=build-bench/shoal /usr/bin/python3 bench/run.py --only replicas
    /usr/bin/python3 bench/replicas_bench.py --repair-mib 256 --read-mib 256
"""
import argparse
import hashlib
import os
import platform
import queue
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

import benchlib
from benchlib import (Broken, cpu_ticks, ftp_quit, log_tail, median, ratio,
                      sha_file, wait_for, write_random)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NAME = "replicas"
TESTS = ("repair", "remote_read")
MIB = 1024 * 1024
REPLICAS = 2
NODES = 4
REPAIR_DELAY_S = 2
HEARTBEAT_MS = 200
DEAD_AFTER_MS = 1500
NODE_OPTIONS = ["peer.heartbeat_ms=%d" % HEARTBEAT_MS,
                "peer.dead_after_ms=%d" % DEAD_AFTER_MS,
                "ftp.login_delay_ms=0"]
POLL_S = 0.2
TARGET_REPAIR = 1.5          # shoal/rsync at most
TARGET_READ = 0.7            # remote/local at least


# also a KeyError or TypeError: a status field missing or null (replicas,
# under_replicated, ...) fails the measurement, not the whole run
FAILURES = benchlib.FAILURES + (KeyError, TypeError)


# ----------------------------------------------------------------- small --

def _busy_ticks():
    """CPU ticks the whole machine spent busy (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4]      # minus idle and iowait
    except (OSError, ValueError, IndexError):
        return 0


class Others:
    """CPU seconds used during a window by processes that are neither the
    benchmark (and its children) nor the given nodes: other work on the
    machine that competed with the measurement."""

    def __init__(self, nodes):
        self.nodes = [n for n in nodes if n.proc is not None]
        self.pids = {n.proc.pid for n in self.nodes}
        self.t0 = time.perf_counter()
        self.busy0 = _busy_ticks()
        self.own0 = self._own()

    def _own(self):
        a = resource.getrusage(resource.RUSAGE_SELF)
        b = resource.getrusage(resource.RUSAGE_CHILDREN)
        nodes = sum(cpu_ticks(p) for p in self.pids) / os.sysconf("SC_CLK_TCK")
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime + nodes

    def done(self, dead=0.0):
        """(seconds, other processes' CPU seconds); dead: CPU seconds of
        nodes that were in the window but are gone (counted as ours)."""
        own = self._own() - self.own0 + dead
        busy = (_busy_ticks() - self.busy0) / os.sysconf("SC_CLK_TCK")
        return time.perf_counter() - self.t0, max(0.0, busy - own)


def _mib_s(nbytes, seconds):
    return nbytes / MIB / seconds if seconds and seconds > 0 else None


def _size_text(nbytes):
    if nbytes % (1 << 30) == 0:
        return "%d GiB" % (nbytes >> 30)
    return "%d MiB" % (nbytes // MIB) if nbytes % MIB == 0 else "%d B" % nbytes


# ----------------------------------------------------------------- nodes --

class Node(benchlib.Node):
    """One node of a cluster made with `--replicas 2`, and the copies of
    files in its folder."""

    WORDS_SHOWN = 4          # `ls --all`, `init DIR --join KEY`

    def __init__(self, binary, work, name):
        super().__init__(binary, work, name, NODE_OPTIONS,
                         ["--repair-delay", str(REPAIR_DELAY_S)])
        self.id = None

    def init(self, key=None):
        key = super().init(key, ["--replicas", str(REPLICAS)])
        # `shoal ls --all` names holders by node id
        with open(os.path.join(self.dir, ".shoal", "node_id")) as f:
            self.id = f.read().strip()
        return key

    def replicas_file(self):
        try:
            with open(os.path.join(self.dir, ".shoal", "replicas")) as f:
                return f.read().strip()
        except OSError:
            return None

    def ready_lines(self):
        # status is read over HTTP from the start
        return super().ready_lines() + ("http listening on 127.0.0.1:%d" % self.http_port,)

    def hung(self):
        # said as such in the report rather than as "killed by SIGKILL"
        self.exit_codes.append("killed after 15 s of SIGTERM")
        self.proc = None

    def kill9(self):
        """SIGKILL, as a crash would; its exit status is not a failure."""
        self.sent = "SIGKILL"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None      # not reaped into exit_codes: it was asked for

    def path(self, name):
        return os.path.join(self.dir, name)

    def has(self, name, size):
        """The inode of a complete copy of name in the node's folder, or None."""
        try:
            st = os.stat(self.path(name))
        except OSError:
            return None
        return st.st_ino if st.st_size == size else None

    def tmp_busy(self):
        try:
            return any(os.scandir(os.path.join(self.dir, ".shoal", "tmp")))
        except OSError:
            return False


def settle(nodes, quiet=0.3, limit=20.0):
    """Wait until the nodes' CPU use is down to heartbeats."""
    benchlib.wait_quiet(nodes, time.monotonic() + limit, quiet)


def copies(nodes, files):
    """{name: [node, ...]} of the nodes holding a complete copy of each file."""
    return {name: [n for n in nodes if n.has(name, size) is not None]
            for name, size in files.items()}


def ftp_read(node, name, size):
    """RETR name in binary from node; the data are counted, hashed in a
    second thread (hashlib lets go of the GIL) and thrown away.  Returns
    seconds from sending RETR to its final reply, bytes and SHA-256."""
    f = node.ftp()
    h = hashlib.sha256()
    q = queue.Queue(maxsize=256)

    def hasher():
        while True:
            b = q.get()
            if b is None:
                return
            h.update(b)
    th = threading.Thread(target=hasher, daemon=True)
    th.start()
    got = 0
    first = None
    try:
        f.voidcmd("TYPE I")
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        conn = f.transfercmd("RETR " + name)
        with conn:
            while True:
                b = conn.recv(1 << 20)
                if not b:
                    break
                if first is None:
                    first = time.perf_counter() - t0
                got += len(b)
                q.put(b)
        f.voidresp()
        t1 = time.perf_counter()
    finally:
        q.put(None)
        th.join()
        ftp_quit(f)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if got != size:
        raise Broken("RETR %s from %s: %d bytes, expected %d" % (name, node.name, got, size))
    return {"seconds": t1 - t0, "first_byte_s": first, "bytes": got,
            "sha256": h.hexdigest(), "client_cpu_s": client_cpu}


# ----------------------------------------------------------------- bench --

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.work = None
        self.binary = None
        self.nodes = []          # every node ever made, for the cleanup
        self.raw = {}
        self.errors, self.notes, self.anomalies = [], [], []
        self.logs = {}
        self.suspects = []

    def failed(self, what, e, nodes=()):
        msg = "%s: %s" % (what, e)
        self.errors.append(msg)
        print("replicas bench: ERROR " + msg, file=sys.stderr)
        for n in nodes:
            self.logs["%s (after %s)" % (n.name, what)] = log_tail(n.log, 40)
            self.suspects.append("%s (after %s)" % (n.name, what))
            if n.sent is None and not n.running() and n.exit_codes:
                self.errors.append("%s: node %s had exited (%s)"
                                   % (what, n.name, n.exit_reason()))

    def anomaly(self, text):
        """Something the feature did not do as docs/REPLICAS.md says."""
        self.anomalies.append(text)
        print("replicas bench: NOTE " + text, file=sys.stderr)

    def say(self, text):
        print("replicas bench: " + text, flush=True)

    # ----------------------------------------------------------- cluster --

    def cluster(self, tag):
        nodes = [Node(self.binary, self.work, "%s-n%d" % (tag, i + 1))
                 for i in range(NODES)]
        self.nodes.extend(nodes)
        key = nodes[0].init()
        for n in nodes[1:]:
            n.init(key)
        for n in nodes:
            n.set_peers([o for o in nodes if o is not n])
            got = n.replicas_file()
            if got != str(REPLICAS):
                self.anomaly("%s: .shoal/replicas holds %r after init, expected %r"
                             % (n.name, got, str(REPLICAS)))
        for n in nodes:
            n.start()
        benchlib.wait_members(nodes, 45, every=0.05)
        st = nodes[0].status()
        if st.get("replicas") != REPLICAS:
            self.anomaly("%s: status says replicas = %r, expected %d"
                         % (nodes[0].name, st.get("replicas"), REPLICAS))
        self.say("%s: %d nodes up (%s), replicas = %d, repair delay %d s, "
                 "dead after %d ms" % (tag, NODES, ", ".join(
                     "%s ftp %d pid %d" % (n.name, n.ftp_port, n.proc.pid)
                     for n in nodes), REPLICAS, REPAIR_DELAY_S, DEAD_AFTER_MS))
        return nodes

    def uncluster(self, nodes):
        for n in nodes:
            if n.sent != "SIGKILL" and not n.running():
                self.failed("stop", "node %s is not running (%s)"
                            % (n.name, n.exit_reason()), [n])
            n.stop()
            self.logs[n.name] = log_tail(n.log, 40)
            shutil.rmtree(n.dir, ignore_errors=True)

    def on_cluster(self, tag, test, res, src, measure):
        """measure(nodes) on a fresh cluster, its results in res (raw[test]);
        then the cluster and the source data in src are removed, whatever
        happened: bench() checks the free space for the larger measurement,
        not for both."""
        nodes = self.cluster(tag)
        self.raw[test] = res
        try:
            measure(nodes)
        finally:
            self.uncluster(nodes)
            shutil.rmtree(src, ignore_errors=True)

    def store(self, node, files, src):
        """STOR every file into node over one FTP session; seconds."""
        f = node.ftp()
        try:
            t0 = time.perf_counter()
            for name in files:
                with open(os.path.join(src, name), "rb") as fh:
                    f.storbinary("STOR " + name, fh, blocksize=MIB)
            return time.perf_counter() - t0
        finally:
            ftp_quit(f)

    def placed(self, what, nodes, files, timeout):
        """Wait until every file has exactly REPLICAS complete copies;
        return ({name: [node]}, seconds waited).  Accepts more copies,
        with a note, when that does not change within the timeout."""
        t0 = time.perf_counter()
        last = {}

        def exact():
            last["c"] = copies(nodes, files)
            return all(len(v) == REPLICAS for v in last["c"].values())
        try:
            wait_for("every file of %s to have exactly %d copies" % (what, REPLICAS),
                     exact, timeout, nodes, every=POLL_S)
        except Broken:
            c = last["c"]
            few = {k: [n.name for n in v] for k, v in c.items() if len(v) < REPLICAS}
            if few:
                raise Broken("%s: files with fewer than %d copies after %.0f s: %s"
                             % (what, REPLICAS, timeout, few))
            self.anomaly("%s: files still with more than %d copies %.0f s after "
                         "the write: %s" % (what, REPLICAS, timeout, {
                             k: [n.name for n in v] for k, v in c.items()
                             if len(v) > REPLICAS}))
        return last["c"], time.perf_counter() - t0

    def check_listing(self, node, c):
        """Compare `shoal ls --all` (its HOLDERS column: node ids or their
        prefixes, comma-separated) with the copies on disk."""
        try:
            out = node.cli("ls", "--all", timeout=60)
        except FAILURES as e:
            self.anomaly("%s: `shoal ls --all` failed: %s" % (node.name, e))
            return None
        rows = {}
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 2 and f[0].lstrip("/") in c:
                rows[f[0].lstrip("/")] = [x for x in f[-1].split(",") if x]
        bad = []
        for name, holders in c.items():
            listed = rows.get(name)
            if listed is None:
                bad.append("%s (not listed)" % name)
                continue
            ok = len(listed) == len(holders) and all(
                any(h.id.startswith(x.lower()) for h in holders) for x in listed)
            if not ok:
                bad.append("%s (listed %s, on disk %s)" % (
                    name, ",".join(listed), ",".join(h.id[:8] for h in holders)))
        if bad:
            self.anomaly("`shoal ls --all` on %s disagrees with the disk: %s"
                         % (node.name, "; ".join(bad)))
        return out

    # ------------------------------------------------------------ repair --

    def m_repair(self):
        cfg = self.cfg
        nfiles = max(1, min(cfg["repair_files"], cfg["repair_bytes"] // MIB))
        per = cfg["repair_bytes"] // nfiles
        src = os.path.join(self.work, "data", "repair")
        self.say("repair: writing %d files of %s of random bytes to %s"
                 % (nfiles, _size_text(per), src))
        files, shas = {}, {}
        for i in range(nfiles):
            name = "r%02d.bin" % i
            shas[name] = write_random(os.path.join(src, name), per)
            files[name] = per
        total = per * nfiles
        timeout = max(300, total / (5 * MIB))
        res = {"files": nfiles, "file_bytes": per, "total_bytes": total}
        self.on_cluster("repair", "repair", res, src, lambda nodes: self._repair(
            nodes, files, shas, src, res, timeout))

    def _repair(self, nodes, files, shas, src, res, timeout):
        cfg = self.cfg
        writer = nodes[0]
        os.sync()
        res["stor_s"] = self.store(writer, files, src)
        self.say("repair: STOR of %s into %s: %.2f s (%.0f MiB/s)"
                 % (_size_text(res["total_bytes"]), writer.name, res["stor_s"],
                    _mib_s(res["total_bytes"], res["stor_s"])))
        c, waited = self.placed("repair", nodes, files, timeout)
        res["placed_after_stor_s"] = waited
        res["placement"] = {k: [n.name for n in v] for k, v in c.items()}
        self.say("repair: every file has %d copies %.2f s after the last STOR: %s"
                 % (REPLICAS, waited, ", ".join("%s@%s" % (k, "+".join(
                     n.name.split("-")[-1] for n in v)) for k, v in sorted(c.items()))))
        for name, holders in c.items():
            for n in holders:
                if sha_file(n.path(name)) != shas[name]:
                    raise Broken("%s's copy of %s has the wrong SHA-256" % (n.name, name))
        res["listing"] = self.check_listing(nodes[1], c)
        per_node = {n.name: [k for k, v in c.items() if n in v] for n in nodes}
        res["per_node"] = per_node
        empty = [n for n, v in per_node.items() if not v]
        if empty:
            res["nodes_without_files"] = empty
        before = {n.name: n.status() for n in nodes}
        for name, st in before.items():
            if st.get("under_replicated"):
                self.anomaly("%s: under_replicated = %r before the kill (0 expected)"
                             % (name, st.get("under_replicated")))
        os.sync()
        settle(nodes)

        # the victim: the node holding the most bytes (the last of equals)
        victim = max(reversed(nodes), key=lambda n: sum(files[k] for k in per_node[n.name]))
        survivors = [n for n in nodes if n is not victim]
        lost = {k: files[k] for k, v in c.items() if victim in v
                and sum(1 for n in v if n is not victim) < REPLICAS}
        need = set(lost)
        res["victim"] = victim.name
        res["repair_files"] = sorted(lost)
        res["repair_bytes"] = sum(lost.values())
        if not lost:
            raise Broken("the victim %s leaves no file short of copies" % victim.name)
        self.say("repair: kill -9 %s (pid %d), holding %d files, %s"
                 % (victim.name, victim.proc.pid, len(lost), _size_text(res["repair_bytes"])))
        watch = survivors[0]
        seen = {}                # name -> (perf time, [(node, inode)])
        series = []              # (s after kill, alive, under_replicated, repair_bytes)
        t_tmp = None
        partial = set()
        dead_seen = {}           # survivor name -> perf time it counted NODES-1 alive
        t_kill = time.perf_counter()
        victim.kill9()
        others = Others(survivors)
        cpu0 = {x.name: cpu_ticks(x.proc.pid) for x in survivors}
        # when do the survivors see it dead?  (no repair can start before
        # that plus the repair delay: poll their status fast until then)
        limit = t_kill + 3 * DEAD_AFTER_MS / 1000 + 10
        while len(dead_seen) < len(survivors):
            for n in survivors:
                if n.name not in dead_seen and \
                        n.status()["members"]["alive"] == NODES - 1:
                    dead_seen[n.name] = time.perf_counter()
            if time.perf_counter() > limit:
                raise Broken("%.0f s after the kill, only %s count %d live members"
                             % (limit - t_kill, sorted(dead_seen), NODES - 1))
            time.sleep(0.02)
        t_dead = min(dead_seen.values())
        deadline = t_kill + timeout + REPAIR_DELAY_S + DEAD_AFTER_MS / 1000
        next_status = t_kill
        while need:
            now = time.perf_counter()
            for name in list(need):
                held = []
                for n in survivors:
                    ino = n.has(name, files[name])
                    if ino is not None:
                        held.append((n, ino))
                    elif os.path.exists(n.path(name)):
                        partial.add("%s on %s" % (name, n.name))
                if len(held) >= REPLICAS:
                    seen[name] = (now, held)
                    need.discard(name)
            if t_tmp is None and any(n.tmp_busy() for n in survivors):
                t_tmp = now
            if now >= next_status:
                next_status = now + 0.5
                st = watch.status()
                alive = st.get("members", {}).get("alive")
                series.append((round(now - t_kill, 2), alive, st.get("under_replicated"),
                               st.get("repair_bytes")))
            for n in survivors:
                n.check()
            if need and now > deadline:
                raise Broken("timeout: %d s after the kill, %d files still lack a "
                             "second live copy: %s" % (deadline - t_kill, len(need),
                                                       sorted(need)))
            if need:
                time.sleep(POLL_S)
        t_done = max(t for t, _ in seen.values())
        res["other_cpu_s"] = others.done()[1]
        res["cpu_by_node_s"] = {x.name: (cpu_ticks(x.proc.pid) - cpu0[x.name])
                                / os.sysconf("SC_CLK_TCK") for x in survivors}
        res["restored_s"] = t_done - t_kill
        res["repair_s"] = t_done - t_dead - REPAIR_DELAY_S
        res["dead_seen_s"] = t_dead - t_kill
        res["dead_seen_by_s"] = {k: v - t_kill for k, v in dead_seen.items()}
        res["first_fetch_seen_s"] = None if t_tmp is None else t_tmp - t_kill
        res["per_file_restored_s"] = {k: round(t - t_kill, 2) for k, (t, _) in seen.items()}
        res["status_series"] = series
        if partial:
            self.anomaly("repair: files of the wrong size seen under their names "
                         "(a fetch should appear only once complete): %s"
                         % ", ".join(sorted(partial)))
        self.say("repair: CPU meanwhile: %s; other processes on the machine %.1f s"
                 % (", ".join("%s %.1f s" % kv for kv in res["cpu_by_node_s"].items()),
                    res["other_cpu_s"]))
        self.say("repair: survivors see %s dead %.2f s after the kill (first), %.2f s "
                 "(last); every file back to %d live copies %.2f s after the kill; "
                 "minus the first sighting and the %d s delay: %.2f s for %s (%.0f MiB/s)"
                 % (victim.name, res["dead_seen_s"], max(res["dead_seen_by_s"].values()),
                    REPLICAS, res["restored_s"], REPAIR_DELAY_S, res["repair_s"],
                    _size_text(res["repair_bytes"]),
                    _mib_s(res["repair_bytes"], res["repair_s"]) or 0))
        # the new copies must be complete and right (hashed after the clock)
        for name, (_, held) in seen.items():
            for n, ino in held:
                if n.has(name, files[name]) != ino:
                    self.anomaly("repair: %s's copy of %s was replaced after it "
                                 "appeared" % (n.name, name))
                if sha_file(n.path(name)) != shas[name]:
                    raise Broken("%s's repaired copy of %s has the wrong SHA-256"
                                 % (n.name, name))
        # afterwards: exactly 2 copies, and the survivors say so
        try:
            wait_for("the survivors' under_replicated to be 0",
                     lambda: all(n.status().get("under_replicated") == 0
                                 for n in survivors),
                     30, survivors, every=0.5)
        except Broken as e:
            self.anomaly("repair: %s (%s)" % (e, {n.name: n.status().get(
                "under_replicated") for n in survivors}))
        settle(survivors)
        final = copies(survivors, files)
        res["final_placement"] = {k: [n.name for n in v] for k, v in final.items()}
        odd = {k: len(v) for k, v in final.items() if len(v) != REPLICAS}
        if odd:
            self.anomaly("repair: after the repair settled, copies per file differ "
                         "from %d: %s" % (REPLICAS, odd))

        # rsync --fsync of the same files, local paths, cold destination
        rs = os.path.join(self.work, "rsync-src")
        os.makedirs(rs)
        for name in lost:
            os.link(os.path.join(src, name), os.path.join(rs, name))
        res["rsync_runs"] = []
        dst = os.path.join(self.work, "rsync-dst")
        for rep in range(cfg["reps"]):
            shutil.rmtree(dst, ignore_errors=True)
            os.sync()
            others = Others(survivors)
            t0 = time.perf_counter()
            subprocess.run(["rsync", "-a", "--fsync", rs + "/", dst + "/"],
                           check=True, timeout=timeout)
            t = time.perf_counter() - t0
            res["rsync_runs"].append(t)
            res.setdefault("rsync_other_cpu_s", []).append(others.done()[1])
            if rep == 0:
                for name in lost:
                    if sha_file(os.path.join(dst, name)) != shas[name]:
                        raise Broken("rsync's copy of %s differs" % name)
            self.say("repair: rsync -a --fsync run %d: %.2f s (%.0f MiB/s; other "
                     "processes' CPU %.1f s)" % (rep + 1, t, _mib_s(res["repair_bytes"], t),
                                                res["rsync_other_cpu_s"][-1]))
        shutil.rmtree(dst, ignore_errors=True)
        shutil.rmtree(rs, ignore_errors=True)
        res["rsync_s"] = median(res["rsync_runs"])

    # ------------------------------------------------------- remote read --

    def m_remote_read(self):
        cfg = self.cfg
        size = cfg["read_bytes"]
        src = os.path.join(self.work, "data", "read")
        name = "big.bin"
        self.say("remote_read: writing %s of random bytes" % _size_text(size))
        sha = write_random(os.path.join(src, name), size)
        res = {"bytes": size, "local": [], "remote": []}
        self.on_cluster("read", "remote_read", res, src, lambda nodes: self._remote_read(
            nodes, name, size, sha, src, res))

    def _remote_read(self, nodes, name, size, sha, src, res):
        cfg = self.cfg
        timeout = max(300, size / (5 * MIB))
        files = {name: size}
        os.sync()
        res["stor_s"] = self.store(nodes[0], files, src)
        c, waited = self.placed("remote_read", nodes, files, timeout)
        holders = c[name]
        others = [n for n in nodes if n not in holders]
        res["holders"] = [n.name for n in holders]
        res["non_holders"] = [n.name for n in others]
        self.say("remote_read: STOR %.2f s; %d copies after %.2f s, on %s"
                 % (res["stor_s"], REPLICAS, waited, ", ".join(res["holders"])))
        for n in holders:
            if sha_file(n.path(name)) != sha:
                raise Broken("%s's copy of %s has the wrong SHA-256" % (n.name, name))
        if not others:
            raise Broken("every node holds %s: no node to read remotely from" % name)
        res["listing"] = self.check_listing(others[0], c)
        res["drop_waits"] = []
        pending = {}             # node name -> perf time its remote read ended
        for rep in range(cfg["reps"]):
            order = ("local", "remote") if rep % 2 == 0 else ("remote", "local")
            for kind in order:
                if kind == "local":
                    n = holders[rep % len(holders)]
                    if n.has(name, size) is None:
                        raise Broken("holder %s no longer holds %s" % (n.name, name))
                else:
                    n = others[rep % len(others)]
                    t0 = time.perf_counter()
                    wait_for("%s's transient copy of %s to be dropped" % (n.name, name),
                             lambda n=n: not os.path.exists(n.path(name)), 120, nodes,
                             every=0.1)
                    if n.name in pending:
                        res["drop_waits"].append({
                            "node": n.name, "waited_s": time.perf_counter() - t0,
                            "after_read_s": time.perf_counter() - pending.pop(n.name)})
                os.sync()
                settle(nodes)
                cpu0 = {x.name: cpu_ticks(x.proc.pid) for x in nodes}
                load = Others(nodes)
                r = ftp_read(n, name, size)
                r["other_cpu_s"] = load.done()[1]
                r["cpu_by_node_s"] = {x.name: (cpu_ticks(x.proc.pid) - cpu0[x.name])
                                      / os.sysconf("SC_CLK_TCK") for x in nodes}
                r["cluster_cpu_s"] = sum(r["cpu_by_node_s"].values())
                r["node"] = n.name
                if r.pop("sha256") != sha:
                    raise Broken("RETR %s from %s (%s): wrong SHA-256" % (name, n.name, kind))
                if kind == "remote":
                    pending[n.name] = time.perf_counter()
                    r["copy_after_read"] = os.path.exists(n.path(name))
                for x in nodes:
                    x.check()
                res[kind].append(r)
                self.say("remote_read run %d: %-6s from %s: %.2f s, %.0f MiB/s "
                         "(first byte %.3f s; CPU: client %.1f s, nodes %.1f s [%s], "
                         "other processes %.1f s)"
                         % (rep + 1, kind, n.name, r["seconds"],
                            _mib_s(size, r["seconds"]), r["first_byte_s"] or 0,
                            r["client_cpu_s"], r["cluster_cpu_s"], " ".join(
                                "%s %.1f" % (k.split("-")[-1], v)
                                for k, v in r["cpu_by_node_s"].items()),
                            r["other_cpu_s"]))
        # a non-holder's copy must be dropped eventually (spec)
        for nname, t_end in pending.items():
            n = next(x for x in nodes if x.name == nname)
            try:
                wait_for("%s's transient copy to be dropped" % n.name,
                         lambda n=n: not os.path.exists(n.path(name)), 60, nodes,
                         every=0.1)
                res["drop_waits"].append({"node": n.name,
                                          "after_read_s": time.perf_counter() - t_end})
            except Broken as e:
                self.anomaly("remote_read: %s" % e)

    # --------------------------------------------------------------- run --

    def run(self, tests):
        self.work = benchlib.work_folder("shoal-bench-replicas-", self.cfg["tmp"])
        self.say("data and nodes under %s" % self.work)
        self.binary = benchlib.copy_binary(self.cfg["shoal_bin"], self.work)
        for t in tests:
            first = len(self.nodes)
            try:
                getattr(self, "m_" + t)()
            except FAILURES as e:
                self.failed(t, e, self.nodes[first:])
            self.say("%s done" % t)

    def cleanup(self):
        benchlib.stop_nodes(self.nodes, self.errors)
        for n in self.nodes:
            bad = [x for x in n.exit_codes if x != 0]
            if bad:
                self.suspects.append(n.name)
                self.logs.setdefault(n.name, log_tail(n.log, 40))
                self.errors.append("node %s exit statuses %s (0 expected on SIGTERM)"
                                   % (n.name, bad))
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)


# --------------------------------------------------------------- report --

def summarise(raw):
    out = {}
    r = raw.get("repair")
    if r and r.get("repair_s") is not None:
        b = r["repair_bytes"]
        out["repair"] = {
            "bytes": b, "files": len(r["repair_files"]),
            "shoal_s": r["repair_s"], "rsync_s": r.get("rsync_s"),
            "shoal_mib_s": _mib_s(b, r["repair_s"]),
            "rsync_mib_s": _mib_s(b, r.get("rsync_s")),
            "ratio": ratio(r["repair_s"], r.get("rsync_s")),
            "restored_s": r["restored_s"], "dead_seen_s": r["dead_seen_s"],
            "first_fetch_seen_s": r["first_fetch_seen_s"],
            "other_cpu_s": r.get("other_cpu_s"),
            "rsync_other_cpu_s": median(r.get("rsync_other_cpu_s", []))}
    r = raw.get("remote_read")
    if r and r.get("local") and r.get("remote"):
        size = r["bytes"]
        loc = [_mib_s(size, x["seconds"]) for x in r["local"]]
        rem = [_mib_s(size, x["seconds"]) for x in r["remote"]]
        out["remote_read"] = {
            "bytes": size, "local_best_mib_s": max(loc), "remote_best_mib_s": max(rem),
            "local_median_mib_s": median(loc), "remote_median_mib_s": median(rem),
            "ratio": ratio(max(rem), max(loc)),
            "ratio_median": ratio(median(rem), median(loc)),
            "other_cpu_s_max": max(x.get("other_cpu_s", 0) for x in
                                   r["local"] + r["remote"])}
    return out


def table(summary, reps):
    rows, verdicts = [], {}

    def f(x, fmt="%.2f"):
        return "-" if x is None else fmt % x

    s = summary.get("repair")
    if s:
        size = _size_text(s["bytes"])
        met = None if s["ratio"] is None else s["ratio"] <= TARGET_REPAIR
        verdicts["repair"] = {"ratio": "shoal/rsync", "value": s["ratio"],
                              "target": "<= %g" % TARGET_REPAIR, "met": met}
        rows.append(["repair: %d files, %s back to %d copies" % (s["files"], size, REPLICAS),
                     "s", f(s["shoal_s"]), f(s["rsync_s"]),
                     "shoal/rsync " + f(s["ratio"]), "<= %g" % TARGET_REPAIR,
                     "-" if met is None else ("met" if met else "MISSED")])
        rows.append(["  throughput", "MiB/s", f(s["shoal_mib_s"], "%.0f"),
                     f(s["rsync_mib_s"], "%.0f"), "", "", "info"])
        rows.append(["  kill -> last copy back (incl. detection + %d s delay)"
                     % REPAIR_DELAY_S, "s", f(s["restored_s"]), "-", "", "", "info"])
        rows.append(["  kill -> a survivor counts %d alive (detection)" % (NODES - 1), "s",
                     f(s["dead_seen_s"], "%.3f"), "-", "", "", "info"])
        rows.append(["  kill -> first fetch in a survivor's .shoal/tmp", "s",
                     f(s["first_fetch_seen_s"]), "-", "", "", "info"])
    s = summary.get("remote_read")
    if s:
        size = _size_text(s["bytes"])
        met = s["ratio"] >= TARGET_READ
        verdicts["remote_read"] = {"ratio": "remote/local", "value": s["ratio"],
                                   "target": ">= %g" % TARGET_READ, "met": met}
        rows.append(["RETR %s, node with a copy (local), best of %d" % (size, reps),
                     "MiB/s", f(s["local_best_mib_s"], "%.0f"), "-", "", "", "info"])
        rows.append(["RETR %s, node without a copy (remote), best of %d" % (size, reps),
                     "MiB/s", f(s["remote_best_mib_s"], "%.0f"), "-",
                     "remote/local " + f(s["ratio"]), ">= %g" % TARGET_READ,
                     "met" if met else "MISSED"])
        rows.append(["  medians: local / remote", "MiB/s", "%s / %s" % (
            f(s["local_median_mib_s"], "%.0f"), f(s["remote_median_mib_s"], "%.0f")),
            "-", "remote/local " + f(s["ratio_median"]), "", "info"])
    head = ["metric", "unit", "shoal", "rsync", "ratio", "target", "status"]
    if not rows:
        return "(no results)", verdicts
    return benchlib.format_table(head, rows, (0, 1, 4, 5, 6)), verdicts


def bench(cfg, tests):
    if not os.access(cfg["shoal_bin"], os.X_OK):
        print("replicas bench: %s does not exist; build it first" % cfg["shoal_bin"],
              file=sys.stderr)
        return 1
    if "repair" in tests and not shutil.which("rsync"):
        print("replicas bench: rsync is missing: run /usr/bin/python3 "
              "../shared/peers/peers.py install", file=sys.stderr)
        return 1
    need = 0
    if "repair" in tests:
        need = max(need, cfg["repair_bytes"] * 5)     # source, 2 copies, repair, rsync
    if "remote_read" in tests:
        need = max(need, cfg["read_bytes"] * 5)
    free = shutil.disk_usage(cfg["tmp"]).free
    if free < need + (1 << 30):
        print("replicas bench: %s has %d MiB free, the run needs about %d MiB: "
              "use --repair-mib / --read-mib" % (cfg["tmp"], free // MIB,
                                                 (need + (1 << 30)) // MIB),
              file=sys.stderr)
        return 1
    b = Bench(cfg)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    binary = benchlib.binary_info(cfg["shoal_bin"], ROOT)
    print("replicas bench: %s (%s), built %s, sha256 %s..., HEAD %s"
          % (binary.get("version"), cfg["shoal_bin"], binary.get("mtime"),
             (binary.get("sha256") or "?")[:12], (binary.get("head") or "?")[:12]))
    load_before = os.getloadavg()
    if benchlib.run_then_clean(b, tests):
        print("\nreplicas bench: interrupted; nodes stopped, temporary data removed",
              file=sys.stderr)
        return 130
    load_after = os.getloadavg()
    summary = summarise(b.raw)
    text, verdicts = table(summary, cfg["reps"])
    print()
    print("Replicas benchmark (%s): %d nodes, replicas = %d, --repair-delay %d, "
          "peer.dead_after_ms=%d" % (", ".join(tests), NODES, REPLICAS, REPAIR_DELAY_S,
                                     DEAD_AFTER_MS))
    print(text)
    print()
    notes = list(b.notes)
    if "repair" in summary:
        notes.append("repair time = last file back to %d live copies (disk polled every "
                     "%.1f s) - first survivor counting the node dead - %d s repair "
                     "delay; it includes the phase of the 2 s repair walk (up to 2 s); "
                     "rsync: median of %d" % (REPLICAS, POLL_S, REPAIR_DELAY_S, cfg["reps"]))
    if "repair" in summary:
        x = summary["repair"]
        notes.append("other processes on the machine used %.1f CPU s during shoal's "
                     "repair (kill to last copy, %.1f s) and %.1f CPU s during an rsync "
                     "run (median)" % (x["other_cpu_s"] or 0, x["restored_s"],
                                       x["rsync_other_cpu_s"] or 0))
    if "remote_read" in summary:
        notes.append("reads: client hashes in a second thread; times from RETR to "
                     "its 226; other processes used at most %.1f CPU s during a read"
                     % summary["remote_read"]["other_cpu_s_max"])
    notes.append("load average %.2f before, %.2f after; %d CPUs for %d nodes and the "
                 "client" % (load_before[0], load_after[0], os.cpu_count(), NODES))
    benchlib.print_findings(notes, b.errors, b.suspects, b.logs, b.anomalies)
    result = {
        "benchmark": "replicas", "started": started,
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                 "loadavg_before": load_before, "loadavg_after": load_after},
        "binary": binary,
        "parameters": {"repair_bytes": cfg["repair_bytes"],
                       "repair_files": cfg["repair_files"],
                       "read_bytes": cfg["read_bytes"], "reps": cfg["reps"],
                       "tests": tests, "nodes": NODES, "replicas": REPLICAS,
                       "repair_delay_s": REPAIR_DELAY_S, "node_options": NODE_OPTIONS},
        "summary": summary, "verdicts": verdicts, "runs": b.raw, "notes": notes,
        "feature_anomalies": b.anomalies, "errors": b.errors, "node_logs": b.logs,
    }
    benchlib.write_json(cfg["json"], result, default=str)
    return 1 if b.errors else 0


def _binary(arg):
    """--shoal-bin when given (not run.py's default), else $SHOAL_BIN, else build/shoal."""
    default = os.path.join(ROOT, "build", "shoal")
    if arg and os.path.abspath(arg) != default:
        return os.path.abspath(arg)
    return os.path.abspath(os.environ.get("SHOAL_BIN") or default)


def _config(repair_mib, repair_files, read_mib, reps, shoal_bin, json_path, tmp):
    shoal_bin = _binary(shoal_bin)
    return {"repair_bytes": repair_mib * MIB, "repair_files": repair_files,
            "read_bytes": read_mib * MIB, "reps": reps, "shoal_bin": shoal_bin,
            "json": json_path or os.path.join(os.path.dirname(shoal_bin),
                                              "bench-replicas.json"),
            "tmp": tmp}


# the interface of bench/run.py's modules
def add_args(p):
    g = p.add_argument_group("replicas benchmark")
    g.add_argument("--repair-mib", type=int, default=2048, metavar="N",
                   help="MiB written for replicas.repair (default 2048)")
    g.add_argument("--repair-files", type=int, default=8, metavar="N",
                   help="files they are split into (default 8)")
    g.add_argument("--read-mib", type=int, default=1024, metavar="N",
                   help="size of the file read in replicas.remote_read "
                        "(default 1024)")
    g.add_argument("--replicas-tmp", metavar="DIR", default="/tmp",
                   help="where data and nodes live (default /tmp)")
    g.add_argument("--replicas-json", metavar="PATH",
                   help="where to write the results (default: "
                        "bench-replicas.json beside the shoal binary)")


def run(args, tests, root):
    if min(args.repair_mib, args.repair_files, args.read_mib) < 1:
        print("replicas bench: --repair-mib, --repair-files and --read-mib must be "
              "at least 1", file=sys.stderr)
        return 1
    cfg = _config(args.repair_mib, args.repair_files, args.read_mib, args.reps,
                  args.shoal_bin, args.replicas_json, args.replicas_tmp)
    return bench(cfg, list(tests))


def main(argv=None):
    p = argparse.ArgumentParser(description="shoal with replicas = 2: repair and "
                                            "reads on a node without a copy")
    p.add_argument("--only", choices=TESTS, help="one measurement")
    p.add_argument("--reps", type=int, default=3, metavar="N",
                   help="rsync runs and reads of each kind (default 3)")
    p.add_argument("--shoal-bin", metavar="PATH",
                   help="the shoal binary (default $SHOAL_BIN, else build/shoal)")
    add_args(p)
    args = p.parse_args(argv)
    if args.reps < 1:
        p.error("--reps must be at least 1")
    benchlib.catch_signals()
    return run(args, [args.only] if args.only else list(TESTS), ROOT)


if __name__ == "__main__":
    sys.exit(main())
