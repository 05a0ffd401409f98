#!/usr/bin/python3
"""Tracker benchmark: `shoal tracker` under many simulated nodes.

One run measures the tracker on both of its databases, one after the
other, with the same load:

  sqlite      build/shoal tracker T --db sqlite:WORK/tracker.db
  postgresql  the same with --db postgresql://postgres@/shoal?host=..., on
              a private PostgreSQL 15 started for the run (initdb
              --auth=trust as user postgres, a unix socket only, stopped
              with `pg_ctl stop -m fast` at the end)

Each tracker runs with --expire 600, its HTTP API on loopback and the
highest descriptor limit the host allows.  The load comes from
bench/trackload (built by meson next to build/shoal: `ninja -C build
bench/trackload`), which opens one TLS link per simulated node and speaks
the real protocol:

  announce    --tracker-nodes nodes connect (--tracker-rate per second),
              say T_HELLO, get T_WELCOME and send --tracker-files files
              each (10% of them under shared/, held by many nodes).  A
              node counts as announced once a T_QUERY on its own link
              finds it among the holders of the last path it sent: the
              time runs from the first connect to the last such answer.
  heartbeats  every node keeps one T_BEAT in flight for --tracker-seconds;
              T_BEAT_ACKs are counted.  Also: the tracker's CPU time in
              that window (utime + stime of every thread, from /proc),
              hence heartbeats per tracker CPU-second, the figure for
              "one core".
  lookups     --tracker-lookups sequential T_QUERY file requests over one
              link (p50/p99/max), a few T_QUERY files pages and one
              T_QUERY nodes.

The tracker's memory (VmRSS, VmHWM) and CPU are sampled every 0.2 s.
After each run the tracker is stopped with SIGTERM, and its database is
checked: it must hold one holdings row per file announced.

There is no reference peer with a tracker (the peers of
../shared/peers/peers.py have nothing like it): the figures are compared
with the targets of the tracker's issue, as plain figures, never enforced
(>= 5000 heartbeats per CPU-second with SQLite, lookup p99 < 5 ms, RSS
< 256 MiB).  The exit status is non-zero only when something broke: a
tracker or PostgreSQL that did not start, a tracker that died, trackload
reporting an error, or a database that does not hold what was announced.

Results go to the terminal and to build/bench-tracker.json.

Usage, from the repository root:
    /usr/bin/python3 bench/run.py --only tracker
    /usr/bin/python3 bench/run.py --only tracker --tracker-nodes 200 --tracker-files 20
    /usr/bin/python3 bench/run.py --only tracker.sqlite
    /usr/bin/python3 bench/tracker_bench.py --nodes 1000     # standalone
"""
import argparse
import hashlib
import json
import os
import platform
import pwd
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import log_tail, run_then_clean, terminate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NAME = "tracker"
TESTS = ("sqlite", "postgresql")
MIB = 1024 * 1024
PG_BIN = os.environ.get("SHOAL_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
TARGET_BEATS_PER_CPU_S = 5000
TARGET_LOOKUP_P99_MS = 5.0
TARGET_RSS_MIB = 256


class Broken(Exception):
    """Something that must not happen: a server that did not start or died."""


# ------------------------------------------------------------------ utils --

def _free_port(taken=()):
    """A free TCP port below the ephemeral range, so that the thousands of
    client sockets of trackload can never collide with it."""
    lo, hi = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph = int(f.read().split()[0])
        hi = min(hi, eph - 1)
        lo = min(lo, hi - 2000)
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(200):
        port = random.randint(lo, hi)
        if port in taken:
            continue
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise Broken("no free port between %d and %d" % (lo, hi))


def _proc(pid):
    """(cpu seconds, VmRSS KiB, VmHWM KiB, threads) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        rss = hwm = threads = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        return cpu, rss, hwm, threads
    except (OSError, IndexError, ValueError):
        return None


def _file_info(path):
    info = {"path": path}
    try:
        st = os.stat(path)
        info["mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                      time.localtime(st.st_mtime))
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(MIB), b""):
                h.update(chunk)
        info["sha256"] = h.hexdigest()
    except OSError:
        pass
    return info


def _nofile_max():
    """The highest descriptor limit this process may give a child."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (65536, hard):
        try:
            # the hard limit stays raised (a child may take it); the soft
            # limit is put back
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, max(want, hard)))
            return want
        except (ValueError, OSError):
            continue
    return hard


class Sampler(threading.Thread):
    """Samples a process's CPU time and memory every `every` seconds."""

    def __init__(self, pid, every=0.2):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples = []            # (monotonic, cpu_s, rss_kib, hwm_kib)
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            p = _proc(self.pid)
            if p is None:
                break
            self.samples.append((time.monotonic(), p[0], p[1], p[2]))
            self.stop_ev.wait(self.every)

    def stop(self):
        self.stop_ev.set()
        self.join(5)

    def window(self, t0, t1):
        """CPU seconds and peak RSS/HWM between t0 and t1, from samples."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return None
        a, b = inside[0], inside[-1]
        return {"cpu_s": b[1] - a[1], "wall_s": b[0] - a[0],
                "cores": (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else None,
                "rss_max_kib": max(s[2] for s in inside),
                "hwm_kib": b[3], "samples": len(inside)}


# ------------------------------------------------------------- postgresql --

class PgServer:
    """A private PostgreSQL 15: data and socket in a folder owned by
    postgres, a unix socket only, trust authentication (nobody else can
    reach the socket: the folder is mode 0700)."""

    def __init__(self):
        for tool in ("initdb", "pg_ctl", "pg_isready", "createdb", "psql"):
            if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
                raise Broken("%s/%s not found: PostgreSQL 15 is needed "
                             "(scripts/deps.sh installs it)" % (PG_BIN, tool))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.pw = pwd.getpwnam(PG_USER)
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            self.prefix = [runuser, "-u", PG_USER, "--"]
        else:
            self.pw = pwd.getpwuid(os.geteuid())
            self.prefix = []
        self.base = tempfile.mkdtemp(prefix="shoal-bench-pg-", dir="/tmp")
        os.chmod(self.base, 0o700)
        os.chown(self.base, self.pw.pw_uid, self.pw.pw_gid)
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.log_path = os.path.join(self.base, "postgres.log")
        self.port = None
        self.pid = None

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=self.base, PGCONNECT_TIMEOUT="10")
        return env

    def run(self, tool, *args, check=True, timeout=120):
        cmd = self.prefix + [os.path.join(PG_BIN, tool)] + [str(a) for a in args]
        r = subprocess.run(cmd, cwd=self.base, env=self._env(), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise Broken("%s exited %d: %s%s" % (" ".join(cmd[len(self.prefix):][:2]),
                                                 r.returncode, r.stdout, r.stderr))
        return r

    def log_tail(self, n=20):
        return log_tail(self.log_path, n)

    def start(self, taken=()):
        os.mkdir(self.sock, 0o700)
        os.chown(self.sock, self.pw.pw_uid, self.pw.pw_gid)
        self.run("initdb", "-D", self.data, "-U", PG_USER, "--auth=trust",
                 "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(5):
            self.port = _free_port(taken)
            opts = "-p %d -k %s -c listen_addresses=''" % (self.port, self.sock)
            r = self.run("pg_ctl", "-D", self.data, "-o", opts, "-l", self.log_path,
                         "-w", "-t", "60", "start", check=False, timeout=90)
            if r.returncode == 0:
                break
            if attempt == 4 or "already in use" not in "\n".join(self.log_tail(50)):
                raise Broken("pg_ctl start exited %d: %s%s\n%s"
                             % (r.returncode, r.stdout, r.stderr,
                                "\n".join(self.log_tail())))
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                self.pid = int(f.readline())
        except (OSError, ValueError):
            self.pid = None
        deadline = time.monotonic() + 60
        while self.run("pg_isready", "-h", self.sock, "-p", self.port,
                       "-d", "postgres", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise Broken("postgres not ready after 60 s")
            time.sleep(0.1)
        self.run("createdb", "-h", self.sock, "-p", self.port, "shoal")
        return self

    def url(self):
        return "postgresql://%s@/shoal?host=%s&port=%d" % (PG_USER, self.sock, self.port)

    def sql(self, query):
        r = self.run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                     "-h", self.sock, "-p", self.port, "-d", "shoal", "-c", query)
        return r.stdout.strip()

    def _alive(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(") ", 1)[1][:1] != "Z"
        except (OSError, IndexError):
            return False

    def stop(self):
        """pg_ctl stop -m fast, the server killed by PID if it stays; the
        folder removed.  Returns the problems met (empty when clean)."""
        problems = []
        if self.port is not None and os.path.isdir(self.data):
            r = self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60",
                         "stop", check=False, timeout=90)
            if r.returncode != 0:
                problems.append("pg_ctl stop exited %d: %s%s"
                                % (r.returncode, r.stdout, r.stderr))
            if self.pid is not None:
                deadline = time.monotonic() + 30
                while self._alive(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self._alive(self.pid):
                    problems.append("postgres (pid %d) still running: killed" % self.pid)
                    os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


# ---------------------------------------------------------------- tracker --

class Tracker:
    def __init__(self, binary, folder, work, backend, db, nofile):
        self.binary, self.folder, self.backend, self.db = binary, folder, backend, db
        self.log = os.path.join(work, "logs", "tracker-%s.log" % backend)
        self.nofile = nofile
        self.port = self.http_port = None
        self.proc = None
        self.exit_code = None
        self.stop_s = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    @property
    def http(self):
        return "127.0.0.1:%d" % self.http_port

    def start(self, taken, timeout=60):
        self.port = _free_port(taken)
        self.http_port = _free_port(set(taken) | {self.port})
        cmd = [self.binary, "tracker", self.folder, "--listen", self.addr,
               "--http", self.http, "--expire", "600", "--db", self.db]
        nofile = self.nofile

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, "ab") as log:
            offset = log.tell()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, preexec_fn=limits)
        want = "tracker: nodes on %s" % self.addr
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log, errors="replace") as f:
                f.seek(offset)
                text = f.read()
            if want in text:
                return
            if self.proc.poll() is not None:
                self.exit_code = self.proc.wait()
                self.proc = None
                raise Broken("tracker (%s) exited with %s at start: %s"
                             % (self.backend, self.exit_code, text.strip()[-800:]))
            if time.monotonic() > deadline:
                self.stop()
                raise Broken("tracker (%s) did not log %r within %d s"
                             % (self.backend, want, timeout))
            time.sleep(0.05)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=120):
        p = self.proc
        if p is None:
            return
        t0 = time.monotonic()
        if p.poll() is None and not terminate(p, timeout):
            self.exit_code = "killed: no exit within %d s of SIGTERM" % timeout
        self.stop_s = time.monotonic() - t0
        if self.exit_code is None:
            self.exit_code = p.returncode
        self.proc = None

    def log_counts(self):
        counts = {}
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    parts = line.split(" ", 3)
                    if len(parts) >= 3:
                        lvl = parts[2].rstrip(":")
                        counts[lvl] = counts.get(lvl, 0) + 1
        except OSError:
            pass
        return counts

    def log_lines(self, words, n=10):
        out = []
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    if any(w in line for w in words):
                        out.append(line.rstrip("\n"))
                        if len(out) >= n:
                            break
        except OSError:
            pass
        return out


# ------------------------------------------------------------------ bench --

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.work = None
        self.pg = None
        self.trackers = []
        self.results = {}
        self.errors, self.notes = [], []
        self.logs = {}
        self.nofile = _nofile_max()

    def failed(self, what, e):
        msg = "%s: %s" % (what, e)
        self.errors.append(msg)
        print("tracker bench: ERROR " + msg, file=sys.stderr)

    def setup(self):
        self.work = tempfile.mkdtemp(prefix="shoal-tracker-bench-", dir=self.cfg["tmp"])
        # A copy of the binary, so a rebuild during the run changes nothing
        # (named apart, so that nothing aimed at "shoal tracker" processes
        # elsewhere on the host stops this one).
        self.binary = os.path.join(self.work, "shoal-bench")
        shutil.copy2(self.cfg["shoal_bin"], self.binary)
        self.folder = os.path.join(self.work, "T")
        r = subprocess.run([self.binary, "init", self.folder], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise Broken("shoal init: exit %d: %s" % (r.returncode, r.stderr.strip()))
        for line in r.stdout.splitlines():
            if line.startswith("cluster key: "):
                self.key = line.split()[-1]
                break
        else:
            raise Broken("shoal init printed no 'cluster key:' line: %r" % r.stdout)

    def cleanup(self):
        for t in self.trackers:
            t.stop(timeout=30)
        if self.pg is not None:
            for p in self.pg.stop():
                self.failed("postgresql stop", p)
            self.pg = None
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)

    def db_for(self, backend):
        if backend == "sqlite":
            path = os.path.join(self.work, "tracker-sqlite.db")
            return "sqlite:" + path, path
        if self.pg is None:
            pg = PgServer()
            self.pg = pg
            pg.start()
            print("tracker bench: PostgreSQL 15 on %s (port %d, pid %s)"
                  % (pg.sock, pg.port, pg.pid))
        return self.pg.url(), None

    def db_check(self, backend, path):
        """Rows in the database after the run, and its size."""
        if backend == "sqlite":
            con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
            try:
                rows = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                        for t in ("nodes", "holdings", "locks")}
            finally:
                con.close()
            size = sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm")
                       if os.path.exists(p))
            return rows, size
        rows = {t: int(self.pg.sql("SELECT count(*) FROM %s" % t))
                for t in ("nodes", "holdings", "locks")}
        size = int(self.pg.sql("SELECT pg_database_size('shoal')"))
        return rows, size

    def trackload(self, tr, log_path):
        """Runs trackload against tr, sampling the tracker; its result."""
        cfg = self.cfg
        cmd = [cfg["trackload"], "--tracker", tr.addr, "--key", self.key,
               "--nodes", str(cfg["nodes"]), "--files", str(cfg["files"]),
               "--seconds", str(cfg["seconds"]), "--lookups", str(cfg["lookups"]),
               "--conns-per-sec", str(cfg["rate"]), "--http", tr.http,
               "--pid", str(tr.proc.pid), "--timeout", str(cfg["timeout"]), "--json"]
        sampler = Sampler(tr.proc.pid)
        sampler.start()
        marks = {}
        t0 = time.monotonic()
        with open(log_path, "w") as log:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            out = []
            reader = threading.Thread(target=lambda: out.append(p.stdout.read()),
                                      daemon=True)
            reader.start()
            try:
                for line in p.stderr:
                    now = time.monotonic()
                    log.write("%8.3f %s" % (now - t0, line))
                    log.flush()
                    if line.startswith("trackload: heartbeats: start"):
                        marks["beats_start"] = now
                    elif line.startswith("trackload: heartbeats:"):
                        marks["beats_end"] = now
                    elif line.startswith("trackload: announce:"):
                        marks["announce_end"] = now
                    if "ERROR" in line or not line.startswith("trackload: "):
                        print("  " + line.rstrip(), file=sys.stderr)
                    elif "connected," not in line or cfg["verbose"]:
                        print("  " + line.rstrip())
                    elif int(now - t0) % 5 == 0:
                        print("  " + line.rstrip())
                rc = p.wait(timeout=cfg["timeout"] + cfg["seconds"] + 600)
            except BaseException:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                raise
            finally:
                reader.join(10)
                sampler.stop()
        text = "".join(out).strip().splitlines()
        res = None
        if text:
            try:
                res = json.loads(text[-1])
            except ValueError:
                pass
        if res is None:
            raise Broken("trackload exited %s without a JSON summary (log: %s)"
                         % (rc, log_path))
        res["exit_status"] = rc
        if "beats_start" in marks and "beats_end" in marks:
            res["sampled_heartbeats"] = sampler.window(marks["beats_start"],
                                                       marks["beats_end"])
        res["sampled_peak_rss_kib"] = max((s[2] for s in sampler.samples), default=None)
        res["sampled_hwm_kib"] = sampler.samples[-1][3] if sampler.samples else None
        return res

    def measure(self, backend):
        db, path = self.db_for(backend)
        tr = Tracker(self.binary, self.folder, self.work, backend, db, self.nofile)
        self.trackers.append(tr)
        taken = {self.pg.port} if self.pg else set()
        tr.start(taken)
        print("tracker bench: %s: tracker on %s (http %s, pid %d, database %s)"
              % (backend, tr.addr, tr.http, tr.proc.pid, db))
        res = {"backend": backend, "database": db}
        self.results[backend] = res
        try:
            lr = self.trackload(tr, os.path.join(self.work, "logs",
                                                 "trackload-%s.log" % backend))
            res["trackload"] = lr
            if lr["exit_status"] != 0:
                self.failed("%s: trackload" % backend, "exit status %s; %d error(s): %s"
                            % (lr["exit_status"], lr.get("error_count", 0),
                               "; ".join(lr.get("errors", [])[:5])))
            if not tr.running():
                return res      # reported below
            final = _proc(tr.proc.pid)
            if final:
                res["final_rss_kib"], res["final_hwm_kib"] = final[1], final[2]
                res["threads"] = final[3]
        finally:
            alive = tr.running()
            tr.stop()
            res["tracker_exit"] = tr.exit_code
            res["tracker_stop_s"] = tr.stop_s
            res["tracker_log_levels"] = tr.log_counts()
            res["tracker_log_warnings"] = tr.log_lines([" warn: ", " warning: ",
                                                        " error: "], 20)
            self.logs[backend] = log_tail(tr.log, 30)
            if not alive:
                why = "it exited during the run (status %s)" % tr.exit_code
                tail = "\n".join(log_tail(tr.log, 200))
                if "signal 15" in tail or "signal 2:" in tail:
                    why += (", after a %s that the benchmark did not send (another "
                            "process on this host?)" % ("SIGTERM" if "signal 15" in tail
                                                        else "SIGINT"))
                self.failed("%s: tracker" % backend, why)
            elif tr.exit_code != 0:
                self.failed("%s: tracker" % backend, "exit %s after SIGTERM"
                            % tr.exit_code)
        try:
            rows, size = self.db_check(backend, path)
            res["db_rows"], res["db_bytes"] = rows, size
            ann = res.get("trackload", {}).get("announce", {})
            want = ann.get("files")
            if want is not None and rows["holdings"] != want:
                self.failed("%s: database" % backend, "%d holdings rows after the "
                            "run, %d files were announced" % (rows["holdings"], want))
            if ann.get("nodes") is not None and rows["nodes"] != ann["nodes"]:
                self.failed("%s: database" % backend, "%d nodes rows after the run, "
                            "%d nodes announced" % (rows["nodes"], ann["nodes"]))
        except (Broken, OSError, sqlite3.Error, ValueError,
                subprocess.SubprocessError) as e:
            self.failed("%s: database check" % backend, e)
        return res

    def run(self, tests):
        try:
            self.setup()
        except (Broken, OSError, subprocess.SubprocessError) as e:
            self.failed("setup", e)      # no tracker can run: nothing to measure
            return
        for backend in tests:
            try:
                self.measure(backend)
            except (Broken, OSError, subprocess.SubprocessError, ValueError) as e:
                self.failed(backend, e)
                if self.pg is not None:
                    self.logs["postgresql"] = self.pg.log_tail(20)


# ----------------------------------------------------------------- report --

def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def summarise(results):
    out = {}
    for backend, r in results.items():
        t = r.get("trackload") or {}
        hb = t.get("heartbeats") or {}
        samp = t.get("sampled_heartbeats") or {}
        allpages = _get(t, "lookups", "pages") or []
        pages = [p["ms"] for p in allpages if p.get("prefix") == "" and p.get("files")]
        under = {p.get("prefix"): p for p in allpages if p.get("prefix")}
        hwm = [x for x in (r.get("final_hwm_kib"), t.get("sampled_hwm_kib"),
                           _get(t, "tracker_proc", "after_lookups", "hwm_kib"))
               if x is not None]
        out[backend] = {
            "nodes": _get(t, "announce", "nodes"),
            "files": _get(t, "announce", "files"),
            "announce_s": _get(t, "announce", "seconds"),
            "announce_nodes_per_s": _get(t, "announce", "nodes_per_s"),
            "announce_files_per_s": _get(t, "announce", "files_per_s"),
            "announce_ramp_s": _get(t, "announce", "ramp_s"),
            "announce_sent_s": _get(t, "announce", "files_sent_s"),
            "announce_visible_p99_ms": _get(t, "announce", "visible_ms", "p99"),
            "announce_tracker_cpu_s": (
                _get(t, "tracker_proc", "after_announce", "cpu_s") -
                _get(t, "tracker_proc", "start", "cpu_s"))
            if _get(t, "tracker_proc", "after_announce", "cpu_s") is not None and
            _get(t, "tracker_proc", "start", "cpu_s") is not None else None,
            "beats_per_s": hb.get("per_s"),
            "beats_per_cpu_s": hb.get("per_tracker_cpu_s"),
            "beats_tracker_cores": (hb["tracker_cpu_s"] / hb["seconds"])
            if hb.get("tracker_cpu_s") and hb.get("seconds") else samp.get("cores"),
            "beats_client_cores": (hb["client_cpu_s"] / hb["seconds"])
            if hb.get("client_cpu_s") is not None and hb.get("seconds") else None,
            "beat_rtt_p50_ms": _get(hb, "rtt_ms", "p50"),
            "beat_rtt_p99_ms": _get(hb, "rtt_ms", "p99"),
            "lookup_p50_ms": _get(t, "lookups", "ms", "p50"),
            "lookup_p99_ms": _get(t, "lookups", "ms", "p99"),
            "lookup_max_ms": _get(t, "lookups", "ms", "max"),
            "page_ms": sorted(pages)[len(pages) // 2] if pages else None,
            "page_paths": _get(allpages[0], "files") if allpages else None,
            "page_shared_ms": _get(under, "shared", "ms"),
            "page_sim_ms": _get(under, "sim", "ms"),
            "nodes_query_ms": _get(t, "lookups", "nodes_query", "ms"),
            "rss_beats_mib": samp["rss_max_kib"] / 1024 if samp.get("rss_max_kib") else None,
            "peak_rss_mib": max(hwm) / 1024 if hwm else None,
            "db_mib": r["db_bytes"] / MIB if r.get("db_bytes") is not None else None,
            "stop_s": r.get("tracker_stop_s"),
        }
    return out


ROWS = [
    # key, label, unit, format, target text, target check (or None)
    ("nodes", "simulated nodes announced", "", "%d", None, None),
    ("files", "files announced (holdings)", "", "%d", None, None),
    ("announce_s", "announce: first connect -> all visible", "s", "%.2f", None, None),
    ("announce_sent_s", "  first connect -> every node welcomed, files sent", "s",
     "%.2f", None, None),
    ("announce_ramp_s", "  connection ramp-up alone", "s", "%.2f", None, None),
    ("announce_nodes_per_s", "  nodes announced per second", "/s", "%.0f", None, None),
    ("announce_files_per_s", "  files announced per second", "/s", "%.0f", None, None),
    ("announce_visible_p99_ms", "  T_FILES sent -> visible to a query, p99", "ms",
     "%.1f", None, None),
    ("announce_tracker_cpu_s", "  tracker CPU during the announce", "s", "%.2f",
     None, None),
    ("beats_per_s", "heartbeats answered per second", "/s", "%.0f", None, None),
    ("beats_per_cpu_s", "heartbeats per tracker CPU-second (one core)", "/s", "%.0f",
     ">= %d (SQLite)" % TARGET_BEATS_PER_CPU_S,
     lambda b, v: v >= TARGET_BEATS_PER_CPU_S if b == "sqlite" else None),
    ("beats_tracker_cores", "  tracker CPU during heartbeats", "cores", "%.2f",
     None, None),
    ("beats_client_cores", "  trackload CPU during heartbeats", "cores", "%.2f",
     None, None),
    ("beat_rtt_p50_ms", "  heartbeat round trip, p50", "ms", "%.2f", None, None),
    ("beat_rtt_p99_ms", "  heartbeat round trip, p99", "ms", "%.2f", None, None),
    ("lookup_p50_ms", "file lookup (T_QUERY file), p50", "ms", "%.3f", None, None),
    ("lookup_p99_ms", "file lookup (T_QUERY file), p99", "ms", "%.3f",
     "< %g ms" % TARGET_LOOKUP_P99_MS, lambda b, v: v < TARGET_LOOKUP_P99_MS),
    ("lookup_max_ms", "  max", "ms", "%.3f", None, None),
    ("page_ms", "files page from the top (T_QUERY files), median", "ms", "%.2f",
     None, None),
    ("page_paths", "  paths in such a page (1000 asked for)", "", "%d", None, None),
    ("page_shared_ms", "  one page under shared/ (many holders each)", "ms", "%.2f",
     None, None),
    ("page_sim_ms", "  one page under sim/ (one holder each)", "ms", "%.2f", None, None),
    ("nodes_query_ms", "nodes query (all nodes)", "ms", "%.2f", None, None),
    ("rss_beats_mib", "tracker RSS during heartbeats, max", "MiB", "%.1f", None, None),
    ("peak_rss_mib", "tracker peak RSS (VmHWM)", "MiB", "%.1f",
     "< %d MiB" % TARGET_RSS_MIB, lambda b, v: v < TARGET_RSS_MIB),
    ("db_mib", "database size after the run", "MiB", "%.1f", None, None),
    ("stop_s", "tracker stop after SIGTERM", "s", "%.2f", None, None),
]


def table(summary, backends):
    head = ["metric", "unit"] + list(backends) + ["target", "status"]
    rows, verdicts = [], {}
    for key, label, unit, fmt, target, check in ROWS:
        vals = [summary.get(b, {}).get(key) for b in backends]
        if all(v is None for v in vals):
            continue
        cells = [label, unit] + ["-" if v is None else fmt % v for v in vals]
        status = ""
        if check is not None:
            st = []
            for b, v in zip(backends, vals):
                met = None if v is None else check(b, v)
                if met is None:
                    continue
                verdicts.setdefault(key, {})[b] = {"value": v, "target": target,
                                                   "met": met}
                st.append("%s %s" % (b, "met" if met else "MISSED"))
            status = ", ".join(st)
        rows.append(cells + [target or "", status])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    left = {0, 1, len(head) - 2, len(head) - 1}
    out = ["  ".join("%-*s" % (w, h) for w, h in zip(widths, head)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(("%-*s" if i in left else "%*s") % (w, c)
                             for i, (w, c) in enumerate(zip(widths, r))).rstrip())
    return "\n".join(out), verdicts


def _find_trackload(shoal_bin, given):
    if given:
        return given
    cands = [os.path.join(os.path.dirname(shoal_bin), "bench", "trackload"),
             os.path.join(ROOT, "build", "bench", "trackload"),
             os.path.join(ROOT, "build-bench", "bench", "trackload")]
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return cands[0]


def bench(cfg, tests):
    for what, path in (("shoal", cfg["shoal_bin"]), ("trackload", cfg["trackload"])):
        if not os.access(path, os.X_OK):
            print("tracker bench: %s does not exist; build it first (%s)"
                  % (path, "make" if what == "shoal" else
                     "ninja -C build bench/trackload"), file=sys.stderr)
            return 1
    usage = subprocess.run([cfg["shoal_bin"]], capture_output=True, text=True,
                           timeout=10)
    if "tracker DIR" not in usage.stdout + usage.stderr:
        print("tracker bench: %s has no `tracker` command" % cfg["shoal_bin"],
              file=sys.stderr)
        return 1
    src = os.path.join(ROOT, "bench", "trackload.c")
    notes = []
    if os.path.exists(src) and os.path.getmtime(src) > os.path.getmtime(cfg["trackload"]):
        notes.append("%s is older than bench/trackload.c (rebuild it)" % cfg["trackload"])
    binary = _file_info(cfg["shoal_bin"])
    try:
        binary["version"] = subprocess.run([cfg["shoal_bin"], "version"],
                                           capture_output=True, text=True,
                                           timeout=10).stdout.strip()
        binary["head"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                        capture_output=True, text=True,
                                        timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    print("tracker bench: %s, built %s, sha256 %s..., HEAD %s; trackload %s"
          % (binary.get("version"), binary.get("mtime"),
             (binary.get("sha256") or "?")[:12], (binary.get("head") or "?")[:12],
             cfg["trackload"]))
    print("tracker bench: %d nodes x %d files, %d s of heartbeats, %d lookups, "
          "%d connections/s; backends: %s"
          % (cfg["nodes"], cfg["files"], cfg["seconds"], cfg["lookups"], cfg["rate"],
             ", ".join(tests)))
    b = Bench(cfg)
    if b.nofile < cfg["nodes"] + 256:
        print("tracker bench: the descriptor limit is %d, %d nodes need %d"
              % (b.nofile, cfg["nodes"], cfg["nodes"] + 256), file=sys.stderr)
        return 1
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_before = os.getloadavg()
    if run_then_clean(b, tests):
        print("\ntracker bench: interrupted; tracker and PostgreSQL stopped, "
              "temporary data removed", file=sys.stderr)
        return 130
    load_after = os.getloadavg()
    backends = [t for t in tests if t in b.results]
    summary = summarise(b.results)
    text, verdicts = table(summary, backends)
    print()
    print("Tracker benchmark: %d simulated nodes x %d files, one TLS link each "
          "(%s)" % (cfg["nodes"], cfg["files"], ", ".join(tests)))
    print(text)
    print()
    notes.append("no reference peer has a tracker: the figures are compared with "
                 "the issue's targets only (heartbeats per CPU-second with SQLite, "
                 "lookup p99, peak RSS)")
    notes.append("'announced' = from the first connect until, for every node, a "
                 "T_QUERY on its own link listed it among the holders of the last "
                 "path it sent (so the group commit is included); the ramp-up is "
                 "paced at %d connections/s" % cfg["rate"])
    notes.append("heartbeats: one T_BEAT in flight per link, %d links, so the round "
                 "trip is about links / rate (queueing), not the cost of one beat; "
                 "tracker CPU is utime+stime of all its threads in the window (from "
                 "/proc)" % cfg["nodes"])
    for backend in backends:
        s = summary[backend]
        if s.get("beats_client_cores") is not None and s["beats_client_cores"] > 0.9:
            notes.append("%s: trackload used %.2f cores during the heartbeats (it is "
                         "single-threaded): heartbeats/s may be bounded by the load "
                         "generator; per CPU-second is the tracker's own figure"
                         % (backend, s["beats_client_cores"]))
        r = b.results[backend]
        if r.get("db_rows"):
            notes.append("%s: database after the run: %s" % (
                backend, ", ".join("%s %d" % kv for kv in sorted(r["db_rows"].items()))))
        lv = r.get("tracker_log_levels") or {}
        if lv:
            notes.append("%s: tracker log lines by level: %s" % (
                backend, ", ".join("%s %d" % kv for kv in sorted(lv.items()))))
        for w in (r.get("tracker_log_warnings") or [])[:5]:
            notes.append("%s: tracker log: %s" % (backend, w))
    notes.append("host: %d CPUs (tracker, trackload and PostgreSQL share them); "
                 "load average %.2f before, %.2f after; descriptor limit %d"
                 % (os.cpu_count(), load_before[0], load_after[0], b.nofile))
    for n in notes:
        print("note: " + n)
    for e in b.errors:
        print("ERROR: " + e)
    if b.errors:
        for name, lines in b.logs.items():
            print("last lines of the %s log:" % name)
            for line in lines[-20:]:
                print("  " + line)
    result = {
        "benchmark": "tracker", "started": started,
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                 "loadavg_before": load_before, "loadavg_after": load_after,
                 "nofile": b.nofile},
        "binary": binary, "trackload": _file_info(cfg["trackload"]),
        "parameters": {k: cfg[k] for k in ("nodes", "files", "seconds", "lookups",
                                           "rate", "timeout")},
        "targets": {"beats_per_cpu_s_sqlite": TARGET_BEATS_PER_CPU_S,
                    "lookup_p99_ms": TARGET_LOOKUP_P99_MS,
                    "rss_mib": TARGET_RSS_MIB},
        "summary": summary, "verdicts": verdicts, "runs": b.results,
        "notes": notes, "errors": b.errors, "logs": b.logs,
    }
    path = cfg["json"]
    if os.path.isdir(os.path.dirname(path)):
        with open(path, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")
        print("results: %s" % path)
    else:
        print("results: not written, %s does not exist" % os.path.dirname(path))
    return 1 if b.errors else 0


def _config(args_nodes, files, seconds, lookups, rate, shoal_bin, trackload, json_path,
            tmp, verbose=False):
    return {"nodes": args_nodes, "files": files, "seconds": seconds,
            "lookups": lookups, "rate": rate, "shoal_bin": shoal_bin,
            "trackload": _find_trackload(shoal_bin, trackload), "json": json_path,
            "tmp": tmp, "verbose": verbose,
            # generous: 100 nodes/s
            "timeout": max(300, args_nodes // 100)}


def _tests(only):
    if not only:
        return list(TESTS)
    name = only[len(NAME) + 1:] if only.startswith(NAME + ".") else only
    if name == NAME:
        return list(TESTS)
    if name not in TESTS:
        sys.exit("tracker bench: unknown measurement %r (known: %s)"
                 % (only, ", ".join(TESTS)))
    return [name]


# the interface of bench/run.py's modules
def add_args(p):
    g = p.add_argument_group("tracker benchmark")
    g.add_argument("--tracker-nodes", type=int, default=10000, metavar="N",
                   help="simulated nodes (default 10000)")
    g.add_argument("--tracker-files", type=int, default=100, metavar="F",
                   help="files per node (default 100)")
    g.add_argument("--tracker-seconds", type=int, default=10, metavar="S",
                   help="length of the heartbeat phase (default 10)")
    g.add_argument("--tracker-lookups", type=int, default=2000, metavar="L",
                   help="sequential file lookups (default 2000)")
    g.add_argument("--tracker-rate", type=int, default=2000, metavar="R",
                   help="connections per second during the ramp-up (default 2000)")
    g.add_argument("--tracker-trackload", metavar="PATH",
                   help="the load generator (default: bench/trackload in the "
                        "build folder of --shoal-bin)")
    g.add_argument("--tracker-json", metavar="PATH",
                   help="where to write the results (default build/bench-tracker.json)")


def run(args, tests, root):
    if min(args.tracker_nodes, args.tracker_files, args.tracker_seconds,
           args.tracker_rate) < 1 or args.tracker_lookups < 0:
        print("tracker bench: --tracker-nodes, -files, -seconds and -rate must be "
              "at least 1", file=sys.stderr)
        return 1
    cfg = _config(args.tracker_nodes, args.tracker_files, args.tracker_seconds,
                  args.tracker_lookups, args.tracker_rate,
                  os.path.abspath(args.shoal_bin), args.tracker_trackload,
                  args.tracker_json or os.path.join(root, "build", "bench-tracker.json"),
                  "/var/tmp")
    return bench(cfg, list(tests))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    p = argparse.ArgumentParser(description="shoal tracker under simulated nodes")
    p.add_argument("--nodes", type=int, default=10000, metavar="N")
    p.add_argument("--files", type=int, default=100, metavar="F")
    p.add_argument("--seconds", type=int, default=10, metavar="S")
    p.add_argument("--lookups", type=int, default=2000, metavar="L")
    p.add_argument("--rate", type=int, default=2000, metavar="R",
                   help="connections per second (default 2000)")
    p.add_argument("--only", metavar="NAME", help="one back end: %s" % ", ".join(TESTS))
    p.add_argument("--shoal-bin", metavar="PATH",
                   default=os.path.join(ROOT, "build", "shoal"))
    p.add_argument("--trackload", metavar="PATH")
    p.add_argument("--json", metavar="PATH",
                   default=os.path.join(ROOT, "build", "bench-tracker.json"))
    p.add_argument("--tmp", metavar="DIR", default="/var/tmp")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="every progress line of trackload")
    args = p.parse_args(argv)
    if min(args.nodes, args.files, args.seconds, args.rate) < 1 or args.lookups < 0:
        p.error("--nodes, --files, --seconds and --rate must be at least 1")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    cfg = _config(args.nodes, args.files, args.seconds, args.lookups, args.rate,
                  os.path.abspath(args.shoal_bin), args.trackload,
                  os.path.abspath(args.json), args.tmp, args.verbose)
    return bench(cfg, _tests(args.only))


if __name__ == "__main__":
    sys.exit(main())
