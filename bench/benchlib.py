"""What the benchmarks that run shoal nodes share: bench/repl_bench.py and
bench/replicas_bench.py; bench/tracker_bench.py and bench/ftp_bench.py use
a few of the helpers (terminate, log_tail, run_then_clean).

Not a benchmark itself: bench/run.py does not list it.  It sits in bench/,
which is on sys.path both under bench/run.py and when a benchmark is run
as a script.

Node is one `shoal node` process with its folder and ports; a benchmark
subclasses it for what only it needs (`bye`, replica placement on disk,
...).  The rest are small helpers: waiting with a timeout that notices a
dead node, CPU ticks from /proc, random data, and the parts of a report
(the table, the JSON, the cleanup that a second Ctrl-C must not cut
short).
"""
import ftplib
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
import urllib.error
import urllib.request

MIB = 1024 * 1024
FTP_USER, FTP_PASSWORD = "guest", "guest"   # made by `init`, loopback only


class Broken(Exception):
    """Something that must not happen: wrong content, a timeout, a dead node."""


# what a measurement may fail with: it is reported and the run goes on
FAILURES = (Broken, OSError, ftplib.Error, EOFError, RuntimeError,
            subprocess.SubprocessError, ValueError)


# ----------------------------------------------------------------- small --

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks (0 once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def terminate(p, timeout=15):
    """SIGTERM to process p, then SIGKILL if it has not exited within
    timeout seconds (a hung process must not hang the benchmark); False
    when it had to be killed."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return False


def log_tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def ftp_quit(f):
    """QUIT and close an FTP session, if any; a session already broken is
    only closed (this runs in finally blocks, after the real error)."""
    if f is None:
        return
    try:
        f.quit()
    except (OSError, ftplib.Error, EOFError):
        pass
    f.close()


def median(xs):
    """The median of the values that are not None, or None."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(x, y):
    return x / y if x is not None and y not in (None, 0) else None


# ----------------------------------------------------------------- data --

def write_random(path, size):
    """A file of random bytes (no block repeats: nothing to deduplicate);
    returns its SHA-256."""
    h = hashlib.sha256()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 8 * MIB))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def binary_info(path, repo):
    """What was measured: the binary's version, hash and time, and the
    commit checked out in repo."""
    info = {"path": path}
    try:
        st = os.stat(path)
        info["mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(st.st_mtime))
        info["sha256"] = sha_file(path)
        r = subprocess.run([path, "version"], capture_output=True, text=True, timeout=10)
        info["version"] = r.stdout.strip()
        r = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        info["head"] = r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


# ----------------------------------------------------------------- nodes --

class Node:
    """One shoal node: its folder, its ports and its process.

    options are given to `shoal node` as -o, args are more of its command
    line (after the listeners).  What only one benchmark needs goes in a
    subclass, through the hooks below (ready_lines, hung, unasked)."""

    WORDS_SHOWN = 3          # words of a failed command quoted in its error

    def __init__(self, binary, work, name, options, args=()):
        self.binary, self.name = binary, name
        self.dir = os.path.join(work, "nodes", name)
        self.log = os.path.join(work, "logs", name + ".log")
        self.options = list(options)
        self.args = list(args)
        self.ftp_port = free_port()
        self.peer_port = free_port()
        self.http_port = free_port()
        self.proc = None
        self.exit_codes = []
        self.token = None
        self.sent = None         # what the benchmark last did to stop it

    @property
    def peer_addr(self):
        return "127.0.0.1:%d" % self.peer_port

    def _run(self, args, timeout=60):
        r = subprocess.run([self.binary] + args, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise Broken("shoal %s: exit %d: %s"
                         % (" ".join(args[:self.WORDS_SHOWN]), r.returncode,
                            (r.stderr or r.stdout).strip()))
        return r.stdout

    def cli(self, *args, timeout=60):
        return self._run(["-C", self.dir] + list(args), timeout=timeout)

    def init(self, key=None, more=()):
        """`shoal init` (joining key's cluster when given); the cluster key."""
        os.makedirs(os.path.dirname(self.dir), exist_ok=True)
        out = self._run(["init", self.dir] + (["--join", key] if key else []) +
                        list(more))
        if key:
            return key
        for line in out.splitlines():
            if line.startswith("cluster key: "):
                return line.split()[-1]
        raise Broken("shoal init printed no 'cluster key:' line: %r" % out)

    def set_peers(self, others):
        with open(os.path.join(self.dir, ".shoal", "peers"), "w") as f:
            for o in others:
                f.write(o.peer_addr + "\n")

    def ready_lines(self):
        """What the log says once the node can be used: start waits for it."""
        return ("ftp listening on 127.0.0.1:%d" % self.ftp_port,
                "peer protocol listening on %s" % self.peer_addr)

    def start(self, timeout=30):
        cmd = [self.binary, "node", self.dir,
               "--ftp", "127.0.0.1:%d" % self.ftp_port,
               "--peer", self.peer_addr,
               "--http", "127.0.0.1:%d" % self.http_port,
               # No S3 endpoint: its default port would be taken twice.
               "--s3", "off", "--dav", "off"] + self.args
        for o in self.options:
            cmd += ["-o", o]
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        self.sent = None
        with open(self.log, "ab") as log:
            offset = log.tell()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        want = self.ready_lines()
        deadline = time.monotonic() + timeout
        while True:
            # only this start's part of the log: a restart appends to it
            with open(self.log, errors="replace") as f:
                f.seek(offset)
                text = f.read()
            if all(w in text for w in want):
                break
            if self.proc.poll() is not None:
                self._reap()
                raise Broken("node %s exited with %s at start: %s"
                             % (self.name, self.exit_codes[-1], text.strip()[-800:]))
            if time.monotonic() > deadline:
                self.stop()
                raise Broken("node %s did not log %r within %d s"
                             % (self.name, want, timeout))
            time.sleep(0.02)
        with open(os.path.join(self.dir, ".shoal", "api_token")) as f:
            self.token = f.read().strip()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _reap(self):
        p, self.proc = self.proc, None
        if p is not None:
            self.exit_codes.append(p.wait())

    def stop(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            self.sent = "SIGTERM"
            if not terminate(p, 15):
                self.hung()
                return
        self._reap()

    def hung(self):
        """Record a node that had to be killed after 15 s of SIGTERM: by
        default its exit status, as for any other end."""
        self._reap()

    def exit_reason(self):
        """Why the process is gone, as far as its exit status tells."""
        if self.proc is not None and self.proc.poll() is not None:
            self._reap()
        if not self.exit_codes:
            return "not started" if self.proc is None else "running"
        code = self.exit_codes[-1]
        if not isinstance(code, int):        # what hung() wrote instead
            return code
        why = "exit status %d" % code if code >= 0 else \
            "killed by %s" % signal.Signals(-code).name
        if self.sent is None:
            why += self.unasked()
        return why

    def unasked(self):
        """Said of an end the benchmark did not ask for."""
        return ", without being asked to stop"

    def check(self):
        if not self.running():
            raise Broken("node %s is not running (%s)" % (self.name, self.exit_reason()))

    def status(self):
        """GET /v1/status, what `shoal -C DIR status --json` reads."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d/v1/status" % self.http_port,
            headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            self.check()     # a dead node is the better explanation
            raise Broken("node %s: GET /v1/status: %s" % (self.name, e))

    def ftp(self):
        f = ftplib.FTP(timeout=600)
        f.connect("127.0.0.1", self.ftp_port)
        f.login(FTP_USER, FTP_PASSWORD)
        return f


def stop_nodes(nodes, errors):
    """Stop every node; one that cannot be stopped is an error in errors,
    not a reason to leave the others running."""
    for n in nodes:
        try:
            n.stop()
        except Exception as e:  # keep stopping the others
            errors.append("stop %s: %s" % (n.name, e))


# --------------------------------------------------------------- waiting --

def wait_for(what, cond, timeout, nodes, every=0.02):
    """Poll cond() until it is true and return its value; Broken after
    timeout seconds, or as soon as one of nodes is found dead (no point in
    waiting for it until the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        for n in nodes:
            n.check()
        if time.monotonic() > deadline:
            raise Broken("timeout after %.0f s waiting for %s" % (timeout, what))
        time.sleep(every)


def wait_members(nodes, timeout=30, every=0.02):
    """Wait until every node counts all of them alive."""
    for n in nodes:
        wait_for("%s to see %d live members" % (n.name, len(nodes)),
                 lambda n=n: n.status()["members"]["alive"] == len(nodes),
                 timeout, nodes, every)


def wait_quiet(nodes, deadline, quiet=0.3):
    """Wait until the nodes' CPU use is down to heartbeats (at most a tick
    per node in `quiet` seconds), or until deadline (time.monotonic()), so
    that a measurement does not start amid the work of the one before."""
    last = sum(cpu_ticks(n.proc.pid) for n in nodes)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = sum(cpu_ticks(n.proc.pid) for n in nodes)
        if now - last <= len(nodes):
            return
        last = now


# ------------------------------------------------------------------- run --

def work_folder(prefix, tmp):
    """A fresh folder under tmp for the run's data and nodes."""
    work = tempfile.mkdtemp(prefix=prefix, dir=tmp)
    os.chmod(work, 0o755)
    return work


def copy_binary(shoal_bin, work):
    """A copy of shoal_bin in work, the binary the nodes run: a rebuild
    during the run does not change what is measured."""
    binary = os.path.join(work, "bin", "shoal")
    os.makedirs(os.path.dirname(binary))
    shutil.copy2(shoal_bin, binary)
    return binary


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def catch_signals():
    """SIGTERM and SIGHUP end a standalone run as Ctrl-C does, so that its
    processes are stopped and its data removed all the same."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)


def run_then_clean(b, tests):
    """b.run(tests), then b.cleanup() whatever happened; True when the run
    was interrupted (Ctrl-C, SIGTERM, SIGHUP)."""
    interrupted = False
    try:
        b.run(tests)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # a second Ctrl-C must not cut the cleanup short
        old = {s: signal.signal(s, signal.SIG_IGN)
               for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            b.cleanup()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
    return interrupted


# ---------------------------------------------------------------- report --

def format_table(head, rows, left):
    """head and rows in aligned columns: those numbered in left flush left
    (text), the others flush right (figures)."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    out = ["  ".join("%-*s" % (w, h) for w, h in zip(widths, head)),
           "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(("%-*s" if i in left else "%*s") % (w, c)
                             for i, (w, c) in enumerate(zip(widths, r))).rstrip())
    return "\n".join(out)


def print_findings(notes, errors, suspects, logs, features=()):
    """The notes, the features' anomalies and the errors, then the last
    lines of the log of each suspect node (once each, in order)."""
    for n in notes:
        print("note: " + n)
    for a in features:
        print("FEATURE: " + a)
    for e in errors:
        print("ERROR: " + e)
    for name in dict.fromkeys(suspects):
        print("last lines of node %s's log:" % name)
        for line in logs.get(name, [])[-25:]:
            print("  " + line)


def write_json(path, result, default=None):
    """Write the results to path, unless its folder does not exist (a
    build folder not made yet): the terminal has them anyway."""
    if os.path.isdir(os.path.dirname(path)):
        with open(path, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True, default=default)
            f.write("\n")
        print("results: %s" % path)
    else:
        print("results: not written, %s does not exist" % os.path.dirname(path))
