"""FTP benchmark: shoal beside vsftpd and pyftpdlib, same data, one run.

Each server serves its own fresh folder under one temporary directory (so
all three sit on the same filesystem) and is driven by the same clients:

  upload    curl -T of one big file (default 1 GiB)            MB/s
  download  curl of that file to /dev/null                     MB/s
  small     1000 files of 4 KiB, one ftplib session, STOR each  files/s
  list      LIST of a 10,000-entry folder in one ftplib session seconds
  logins    300 concurrent connect + USER/PASS until 230       seconds, count,
            (every session is held open until all 300 are in,  server memory
            then each sends QUIT)

The page cache cannot be dropped, so the big file is written once and every
measurement is preceded by one warm-up run.  Each measurement is repeated
(--reps, default 3) with the servers taking turns in a rotating order, and
the median is reported.  Ratios are oriented so that > 1.0 means shoal is
better.  Results go to the terminal and to build/bench-ftp.json.
"""
import asyncio
import ftplib
import inspect
import io
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import peers
from benchlib import terminate

NAME = "ftp"
TESTS = ("upload", "download", "small", "list", "logins")
USER, PASSWORD = peers.BENCH_USER, peers.BENCH_PASSWORD
MB = 1000 * 1000
MIB = 1024 * 1024
CHUNK = 16 * MIB


class Broken(Exception):
    """Something that must not happen: a failed transfer, wrong content."""


def add_args(p):
    g = p.add_argument_group("ftp benchmark")
    g.add_argument("--files", type=int, default=1000, metavar="N",
                   help="number of 4 KiB files for 'small' (default 1000)")
    g.add_argument("--list-entries", type=int, default=10000, metavar="N",
                   help="entries in the folder for 'list' (default 10000)")
    g.add_argument("--list-runs", type=int, default=3, metavar="N",
                   help="LISTs per repetition of 'list' (default 3)")
    g.add_argument("--logins", type=int, default=300, metavar="N",
                   help="concurrent logins for 'logins' (default 300)")
    g.add_argument("--ftp-json", metavar="PATH",
                   help="where to write the results (default "
                        "build/bench-ftp.json)")


# ---------------------------------------------------------------- /proc --

def _proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _cpu_ticks(pid):
    """utime + stime of pid, its threads and its reaped children."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15])
    except OSError:
        return None


def _tree(pid):
    """pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _pss_tree_kib(pid):
    total = 0
    for p in _tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def _settle(pid, quiet=0.3, limit=30.0):
    """Wait until the server has used no CPU for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last = _cpu_ticks(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _cpu_ticks(pid)
        if now == last:
            return
        last = now


def _tcp_counters():
    """ListenOverflows and SyncookiesSent from /proc/net/netstat."""
    want = ("ListenOverflows", "SyncookiesSent")
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    out = {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            for k, v in zip(names.split()[1:], values.split()[1:]):
                if k in want:
                    out[k] = int(v)
    return out


def _listen_backlog(port):
    """The accept queue length the server asked for (ss's Send-Q)."""
    try:
        out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port],
                             capture_output=True, text=True, timeout=10).stdout
        return int(out.split()[2])
    except (OSError, IndexError, ValueError, subprocess.SubprocessError):
        return None


# -------------------------------------------------------------- servers --

class Server:
    name = "?"
    port = None

    def url(self, path):
        return "ftp://%s:%s@127.0.0.1:%d/%s" % (USER, PASSWORD, self.port, path)

    def running(self):
        p = self.process()
        return p is not None and p.poll() is None

    def exit_status(self):
        p = self.process()
        if p is None or p.returncode is None:
            return "not started" if p is None else "running"
        rc = p.returncode
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit status %d" % rc

    def login(self):
        f = ftplib.FTP(timeout=120)
        f.connect("127.0.0.1", self.port)
        f.login(USER, PASSWORD)
        return f


class PeerServer(Server):
    """A reference peer from peers.py, restartable."""

    def __init__(self, name, cls, root):
        self.name, self.cls, self.root = name, cls, root
        self.obj = None

    def prepare(self):
        os.makedirs(self.root, exist_ok=True)

    def start(self):
        obj = self.cls(self.root)
        try:
            obj.__enter__()
        except BaseException:
            obj.__exit__(None, None, None)
            raise
        self.obj, self.port = obj, obj.port

    def stop(self):
        if self.obj:
            obj, self.obj = self.obj, None
            self.last = obj.proc
            obj.__exit__(None, None, None)

    def process(self):
        return self.obj.proc if self.obj else getattr(self, "last", None)

    @property
    def pid(self):
        return self.obj.pid

    def caps(self):
        """Connection limits that could cap the login test, as text."""
        if self.cls is peers.VsftpdServer:
            conf = open(os.path.join(self.obj.dir, "vsftpd.conf")).read()
            lim = dict(re.findall(r"^(max_clients|max_per_ip)=(\d+)$", conf, re.M))
            capped = [k for k, v in lim.items() if v != "0"]
            return ("max_clients=%s max_per_ip=%s (%s)"
                    % (lim.get("max_clients", "default"),
                       lim.get("max_per_ip", "default"),
                       "caps at " + ", ".join(capped) if capped else "no cap"))
        src = inspect.getsource(self.cls)
        lim = dict(re.findall(r"(max_cons(?:_per_ip)?) = (\d+)", src))
        return "max_cons=%s max_cons_per_ip=%s (0 = no cap)" % (
            lim.get("max_cons", "?"), lim.get("max_cons_per_ip", "?"))


class ShoalServer(Server):
    name = "shoal"
    OPTIONS = ["ftp.login_delay_ms=0", "ftp.max_per_address=400",
               "ftp.max_sessions=400"]

    def __init__(self, binary, root, logpath):
        self.binary, self.root, self.logpath = binary, root, logpath
        self.proc = self.last = None
        self.options = list(self.OPTIONS)
        self.exit_codes = []

    def prepare(self):
        for cmd in ([self.binary, "init", self.root],
                    [self.binary, "-C", self.root, "user", "add", USER,
                     "--password", PASSWORD]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise Broken("%s: exit %d: %s" % (" ".join(cmd[1:4]), r.returncode,
                                                  (r.stderr or r.stdout).strip()))

    def _private_ports(self):
        """Move the node's other listeners (peer protocol, HTTP API) off
        their fixed default ports to free loopback ports, so this node
        neither collides with nor answers any other shoal on the host."""
        try:
            conf = open(os.path.join(self.root, ".shoal", "shoal.conf")).read()
        except OSError:
            return []
        out, section = [], None
        for line in conf.splitlines():
            m = re.match(r"\s*\[(\w+)\]", line)
            if m:
                section = m.group(1)
            elif section not in (None, "ftp") and re.match(r"[#;\s]*listen\s*=", line):
                out.append("%s.listen=127.0.0.1:%d" % (section, peers._free_port()))
        return out

    def start(self):
        self.port = peers._free_port()
        self.options = self.OPTIONS + self._private_ports()
        with open(self.logpath, "ab") as log:
            offset = log.tell()
            cmd = [self.binary, "node", self.root,
                   "--ftp", "127.0.0.1:%d" % self.port, "--s3", "off",
                   "--dav", "off"]
            for o in self.options:
                cmd += ["-o", o]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        want = "ftp listening on 127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.logpath, errors="replace") as f:
                f.seek(offset)
                text = f.read()
            if want in text:
                return
            if self.proc.poll() is not None:
                self.stop()
                raise Broken("shoal node exited with %s at start: %s"
                             % (self.exit_codes[-1], text.strip()[-500:]))
            time.sleep(0.05)
        self.stop()
        raise Broken("shoal node did not log %r within 30 s" % want)

    def process(self):
        return self.proc or self.last

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        self.last = p
        if p.poll() is None:
            terminate(p, 15)
        self.exit_codes.append(p.returncode)

    @property
    def pid(self):
        return self.proc.pid

    def caps(self):
        return " ".join("-o " + o for o in self.options)

    def last_words(self, n=6):
        """The node's last log lines, without per-session chatter."""
        chatter = re.compile(r"ftp: \S+ (closed|logged in|connected|stored|sent)")
        return [l for l in _tail(self.logpath, 4000) if not chatter.search(l)][-n:]


# ----------------------------------------------------------------- data --

def _write_big(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n


def _same_file(path, src):
    try:
        if os.path.getsize(path) != os.path.getsize(src):
            return False
        with open(path, "rb") as a, open(src, "rb") as b:
            while True:
                x, y = a.read(CHUNK), b.read(CHUNK)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _fill_list_dir(path, n):
    os.makedirs(path)
    for i in range(n):
        with open(os.path.join(path, "entry%05d.txt" % i), "wb") as f:
            f.write(b"list entry %05d\n" % i)


# ---------------------------------------------------------- measurements --

def _curl(args, timeout):
    r = subprocess.run(["curl", "-sS"] + args, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise Broken("curl %s: exit %d: %s" % (" ".join(a for a in args if "ftp://" not in a),
                                               r.returncode, r.stderr.strip()))
    return r.stdout


def m_upload(ctx, srv, warm):
    src, size = ctx["big"], ctx["size"]
    os.sync()
    _settle(srv.pid)
    t0 = time.perf_counter()
    out = _curl(["-T", src, "-w", "%{size_upload}", srv.url("big.bin")],
                timeout=3600)
    dt = time.perf_counter() - t0
    if int(float(out.strip() or 0)) != size:
        raise Broken("curl uploaded %s of %d bytes" % (out.strip(), size))
    if not _same_file(os.path.join(srv.root, "big.bin"), src):
        raise Broken("big.bin on disk differs from what was uploaded")
    return size / dt / MB


def m_download(ctx, srv, warm):
    src, size = ctx["big"], ctx["size"]
    url = srv.url("big.bin")
    os.sync()
    _settle(srv.pid)
    if warm:
        # the warm-up download checks the content byte for byte
        p = subprocess.Popen(["curl", "-sS", url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        ok = True
        try:
            with open(src, "rb") as f:
                while True:
                    x = f.read(CHUNK)
                    y = p.stdout.read(len(x)) if x else p.stdout.read(1)
                    if x != y:
                        ok = False
                        break
                    if not x:
                        break
        finally:
            if not ok:
                p.kill()
            p.stdout.close()
            err = p.stderr.read().decode(errors="replace").strip()
            p.stderr.close()
            rc = p.wait()
        if rc != 0:
            raise Broken("curl download: exit %d: %s" % (rc, err))
        if not ok:
            raise Broken("downloaded big.bin differs from the original")
        return None
    t0 = time.perf_counter()
    out = _curl(["-o", "/dev/null", "-w", "%{size_download}", url], timeout=3600)
    dt = time.perf_counter() - t0
    if int(float(out.strip() or 0)) != size:
        raise Broken("curl downloaded %s of %d bytes" % (out.strip(), size))
    return size / dt / MB


def m_small(ctx, srv, warm):
    files = ctx["small"][:50] if warm else ctx["small"]
    ctx["small_dirs"][srv.name] = ctx["small_dirs"].get(srv.name, 0) + 1
    folder = "small%d" % ctx["small_dirs"][srv.name]
    _settle(srv.pid)
    f = srv.login()
    try:
        f.mkd(folder)
        f.cwd(folder)
        t0 = time.perf_counter()
        for i, data in enumerate(files):
            f.storbinary("STOR f%04d.bin" % i, io.BytesIO(data))
        dt = time.perf_counter() - t0
        f.quit()
    finally:
        f.close()
    d = os.path.join(srv.root, folder)
    for i, data in enumerate(files):
        try:
            with open(os.path.join(d, "f%04d.bin" % i), "rb") as fh:
                ok = fh.read() == data
        except OSError:
            ok = False
        if not ok:
            raise Broken("%s/f%04d.bin is missing or differs" % (folder, i))
    if len(os.listdir(d)) != len(files):
        raise Broken("%s holds %d files, expected %d"
                     % (folder, len(os.listdir(d)), len(files)))
    return None if warm else len(files) / dt


def m_list(ctx, srv, warm):
    n = ctx["list_entries"]
    _settle(srv.pid)
    f = srv.login()
    times = []
    try:
        f.cwd("list")
        for _ in range(1 if warm else ctx["list_runs"]):
            lines = []
            t0 = time.perf_counter()
            f.retrlines("LIST", lines.append)
            times.append(time.perf_counter() - t0)
            entries = [l for l in lines if l.strip() and not l.startswith("total ")]
            named = sum(1 for l in entries if re.search(r" entry\d{5}\.txt$", l))
            if len(entries) != n or named != n:
                raise Broken("LIST returned %d entries (%d named entryNNNNN.txt), "
                             "expected %d" % (len(entries), named, n))
        f.quit()
    finally:
        f.close()
    return None if warm else times


async def _reply(reader):
    line = await reader.readline()
    if len(line) < 4:
        raise ConnectionError("closed" if not line else "bad reply %r" % line)
    code = line[:3]
    if line[3:4] == b"-":
        while True:
            more = await reader.readline()
            if not more:
                raise ConnectionError("closed")
            if more[:3] == code and more[3:4] == b" ":
                break
    return int(code)


async def _storm(port, n, on_all_in, timeout=30.0):
    """n clients log in at once and hold their session until all are in."""
    left = [n]
    all_in, release = asyncio.Event(), asyncio.Event()
    done, fails = [], {}

    async def login(box):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        box.append(w)
        c = await _reply(r)
        if c != 220:
            raise ConnectionError("greeting %d" % c)
        w.write(b"USER %s\r\n" % USER.encode())
        c = await _reply(r)
        if c == 331:
            w.write(b"PASS %s\r\n" % PASSWORD.encode())
            c = await _reply(r)
        if c != 230:
            raise ConnectionError("login answered %d" % c)
        done.append(time.perf_counter())
        return r

    async def client():
        box, r = [], None
        try:
            r = await asyncio.wait_for(login(box), timeout)
        except asyncio.TimeoutError:
            fails["timeout"] = fails.get("timeout", 0) + 1
        except (OSError, ConnectionError) as e:
            why = str(e) if isinstance(e, ConnectionError) and str(e) else type(e).__name__
            fails[why] = fails.get(why, 0) + 1
        finally:
            left[0] -= 1
            if left[0] == 0:
                all_in.set()
        await release.wait()
        if box:
            w = box[0]
            try:
                if r is not None:
                    w.write(b"QUIT\r\n")
                    await asyncio.wait_for(_reply(r), 10)
            except (OSError, ConnectionError, asyncio.TimeoutError):
                pass
            w.close()
            try:
                await asyncio.wait_for(w.wait_closed(), 10)
            except (OSError, ConnectionError, asyncio.TimeoutError):
                pass

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(client()) for _ in range(n)]
    await all_in.wait()
    t_all = time.perf_counter()
    after = on_all_in()
    release.set()
    await asyncio.gather(*tasks)
    # until the last successful login; when some failed, "ok" says so and
    # "settled" is when the last one gave up
    wall = (max(done) - t0) if done else None
    return {"seconds": wall, "settled": t_all - t0, "ok": len(done),
            "failed": fails, "memory": after}


class _RssSampler(threading.Thread):
    def __init__(self, pid, every=0.004):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            v = _proc_status_kib(self.pid, "VmRSS")
            if v:
                self.peak = max(self.peak, v)
            self.halt.wait(self.every)


def m_logins(ctx, srv, warm):
    n = ctx["logins"] if not warm else min(ctx["logins"], 20)
    _settle(srv.pid)
    time.sleep(0.5)
    pid = srv.pid

    def memory():
        return {"vmrss_kib": _proc_status_kib(pid, "VmRSS"),
                "processes": len(_tree(pid)),
                "pss_tree_kib": _pss_tree_kib(pid)}
    sampler = _RssSampler(pid)
    tcp0 = _tcp_counters()
    sampler.start()
    try:
        res = asyncio.run(_storm(srv.port, n, memory))
    finally:
        sampler.halt.set()
        sampler.join()
    tcp1 = _tcp_counters()
    res["tcp"] = {k: tcp1[k] - tcp0.get(k, 0) for k in tcp1}
    res["peak_vmrss_kib"] = sampler.peak
    res["vmhwm_kib"] = _proc_status_kib(pid, "VmHWM")
    res["n"] = n
    return None if warm else res


MEASURE = {"upload": m_upload, "download": m_download, "small": m_small,
           "list": m_list, "logins": m_logins}


# -------------------------------------------------------------- driver --

def _median(xs):
    return statistics.median(xs) if xs else None


def _summarise(raw, ctx):
    """raw[test][server] = [per-rep values] -> {metric: {server: value}}."""
    out = {}
    for srv, v in raw.get("upload", {}).items():
        out.setdefault("upload_MBps", {})[srv] = _median(v)
    for srv, v in raw.get("download", {}).items():
        out.setdefault("download_MBps", {})[srv] = _median(v)
    for srv, v in raw.get("small", {}).items():
        out.setdefault("small_files_per_s", {})[srv] = _median(v)
    for srv, v in raw.get("list", {}).items():
        out.setdefault("list_seconds", {})[srv] = _median([t for r in v for t in r])
    for srv, v in raw.get("logins", {}).items():
        if not v:
            continue
        out.setdefault("logins_seconds", {})[srv] = _median(
            [r["seconds"] for r in v if r["seconds"] is not None])
        out.setdefault("logins_ok", {})[srv] = _median([r["ok"] for r in v])
        if srv == "vsftpd":
            # one or two processes per session: PSS summed over the tree
            after = [r["memory"]["pss_tree_kib"] for r in v]
            peak = None
        else:
            after = [r["memory"]["vmrss_kib"] for r in v]
            peak = max(r["peak_vmrss_kib"] for r in v) / 1024
        after = [x for x in after if x is not None]
        out.setdefault("rss_after_MiB", {})[srv] = (_median(after) / 1024
                                                    if after else None)
        out.setdefault("rss_peak_MiB", {})[srv] = peak
    return out


# metric, label, unit, higher is better, target (text, check(shoal, vsftpd))
ROWS = [
    ("upload_MBps", "upload {size} (curl)", "MB/s", True,
     (">= 0.8x vsftpd", lambda s, v, r: r is not None and r >= 0.8)),
    ("download_MBps", "download {size} (curl)", "MB/s", True,
     (">= 1.0x vsftpd", lambda s, v, r: r is not None and r >= 1.0)),
    ("small_files_per_s", "{files} x 4 KiB STOR, 1 session", "files/s", True,
     (">= 1.0x vsftpd", lambda s, v, r: r is not None and r >= 1.0)),
    ("list_seconds", "LIST {entries} entries", "s", False,
     ("no slower than vsftpd", lambda s, v, r: r is not None and r >= 1.0)),
    ("logins_seconds", "{logins} concurrent logins, wall to last 230", "s", False,
     ("all {logins} within 1 s", lambda s, v, r: s is not None and s <= 1.0)),
    ("logins_ok", "{logins} concurrent logins, succeeded", "count", True,
     ("= {logins}", None)),
    ("rss_after_MiB", "memory with {logins} sessions open", "MiB", False,
     ("< 32 MiB", lambda s, v, r: s is not None and s < 32)),
    ("rss_peak_MiB", "peak RSS during {logins} logins", "MiB", False,
     ("< 32 MiB", lambda s, v, r: s is not None and s < 32)),
]


def _fmt(x, unit):
    if x is None:
        return "-"
    if unit == "count":
        return "%d" % x
    if unit == "s":
        return "%.4f" % x if x < 10 else "%.2f" % x
    if unit == "files/s" or x >= 1000:
        return "%.0f" % x
    return "%.1f" % x


def _ratio(s, v, higher_better):
    if s is None or v is None or s == 0 or v == 0:
        return None
    return s / v if higher_better else v / s


def _table(summary, ctx):
    subst = dict(size="%d MiB" % (ctx["size"] // MIB) if ctx["size"] != 1 << 30
                 else "1 GiB", files=ctx["files"], entries=ctx["list_entries"],
                 logins=ctx["logins"])
    head = ["metric", "unit", "shoal", "vsftpd", "pyftpdlib", "shoal/vsftpd",
            "target", "status"]
    rows, verdicts = [], {}
    for key, label, unit, hib, (ttext, check) in ROWS:
        if key not in summary:
            continue
        vals = summary[key]
        s, v, p = vals.get("shoal"), vals.get("vsftpd"), vals.get("pyftpdlib")
        r = _ratio(s, v, hib)
        ttext = ttext.format(**subst)
        if key == "logins_ok":
            ok = None if s is None else s == ctx["logins"]
        elif key == "logins_seconds":
            ok = None if s is None else (
                s <= 1.0 and summary["logins_ok"].get("shoal") == ctx["logins"])
        else:
            ok = None if s is None else check(s, v, r)
        status = "-" if ok is None else ("met" if ok else "MISSED")
        verdicts[key] = {"target": ttext, "ratio_vs_vsftpd": r,
                         "ratio_vs_pyftpdlib": _ratio(s, p, hib),
                         "met": ok}
        rows.append([label.format(**subst), unit, _fmt(s, unit), _fmt(v, unit),
                     _fmt(p, unit), "-" if r is None else "%.2f" % r, ttext, status])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head))
    text = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        text.append("  ".join(("%-*s" if i in (0, 1, 6, 7) else "%*s") % (w, c)
                              for i, (w, c) in enumerate(zip(widths, row))))
    return "\n".join(text), verdicts


def _failure(srv, what, err):
    msg = "%s %s: %s" % (srv.name, what, str(err) or type(err).__name__)
    if not srv.running():
        msg += " [the %s server had exited: %s]" % (srv.name, srv.exit_status())
        if isinstance(srv, ShoalServer):
            msg += "".join("\n    " + l for l in srv.last_words())
    return msg


def _tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def _order(servers, rep):
    k = rep % len(servers)
    return servers[k:] + servers[:k]


def run(args, tests, root):
    size = args.size_mib * MIB
    json_path = args.ftp_json or os.path.join(root, "build", "bench-ftp.json")
    servers, errors, notes = [], [], []
    ctx = {"size": size, "files": args.files, "list_entries": args.list_entries,
           "list_runs": args.list_runs, "logins": args.logins, "small_dirs": {}}
    if not args.peers_only and not os.access(args.shoal_bin, os.X_OK):
        print("ftp bench: %s does not exist; build it (ninja -C build) or use "
              "--peers-only" % args.shoal_bin, file=sys.stderr)
        return 1
    missing = [m for m in ("vsftpd", "curl") if not shutil.which(m) and
               not os.path.exists("/usr/sbin/" + m)]
    if missing:
        print("ftp bench: missing %s: run /usr/bin/python3 "
              "../shared/peers/peers.py install" % " ".join(missing), file=sys.stderr)
        return 1

    work = tempfile.mkdtemp(prefix="shoal-bench-ftp-", dir="/var/tmp")
    os.chmod(work, 0o755)
    raw = {t: {} for t in tests}
    shoal, shoal_log = None, []
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    load_before = os.getloadavg()
    try:
        print("ftp bench: data and servers under %s" % work)
        if not args.peers_only:
            # a private copy, so a rebuild during the run changes nothing
            binary = os.path.join(work, "bin", "shoal")
            os.makedirs(os.path.dirname(binary))
            shutil.copy2(args.shoal_bin, binary)
            shoal = ShoalServer(binary, os.path.join(work, "shoal"),
                                os.path.join(work, "shoal-node.log"))
            servers.append(shoal)
        servers.append(PeerServer("vsftpd", peers.VsftpdServer,
                                  os.path.join(work, "vsftpd")))
        servers.append(PeerServer("pyftpdlib", peers.PyftpdlibServer,
                                  os.path.join(work, "pyftpdlib")))
        if {"upload", "download"} & set(tests):
            ctx["big"] = os.path.join(work, "big.bin")
            print("ftp bench: writing the %d MiB test file" % args.size_mib)
            _write_big(ctx["big"], size)
        ctx["small"] = [os.urandom(4096) for _ in range(args.files)]
        for s in servers:
            s.prepare()
            if "list" in tests:
                _fill_list_dir(os.path.join(s.root, "list"), args.list_entries)
            if "download" in tests and "upload" not in tests:
                shutil.copyfile(ctx["big"], os.path.join(s.root, "big.bin"))
        os.sync()
        for s in servers:
            s.start()
            print("ftp bench: %s on port %d (pid %d)" % (s.name, s.port, s.pid))

        for test in tests:
            ready = []
            for s in servers:
                try:
                    if not s.running():
                        errors.append(_failure(s, "before %s" % test,
                                               "not running; restarted"))
                        s.stop()
                        s.start()
                    elif test == "logins":
                        # a fresh process, so memory shows the login test alone
                        s.stop()
                        s.start()
                    ready.append(s)
                except (Broken, OSError, RuntimeError) as e:
                    errors.append("%s start before %s: %s" % (s.name, test, e))
            if test == "logins":
                for s in ready:
                    notes.append("%s limits: %s; listen backlog %s"
                                 % (s.name, s.caps(), _listen_backlog(s.port)))
            for s in list(ready):
                try:
                    MEASURE[test](ctx, s, True)
                except (Broken, OSError, ftplib.Error, EOFError,
                        subprocess.SubprocessError) as e:
                    errors.append(_failure(s, "%s (warm-up)" % test, e))
                    ready.remove(s)
            for s in ready:
                raw[test][s.name] = []
            for rep in range(args.reps):
                for s in _order(ready, rep):
                    if s.name not in raw[test]:
                        continue
                    try:
                        raw[test][s.name].append(MEASURE[test](ctx, s, False))
                    except (Broken, OSError, ftplib.Error, EOFError,
                            subprocess.SubprocessError) as e:
                        errors.append(_failure(s, "%s (run %d)" % (test, rep + 1), e))
                        del raw[test][s.name]
            print("ftp bench: %s done" % test)
    except (Broken, OSError, RuntimeError) as e:
        errors.append("setup: %s" % e)
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                errors.append("%s stop: %s" % (s.name, e))
        if shoal:
            shoal_log = shoal.last_words(40)
        shutil.rmtree(work, ignore_errors=True)

    if shoal and any(c != 0 for c in shoal.exit_codes):
        errors.append("shoal node exit statuses: %s (0 expected on SIGTERM)"
                      % ", ".join(str(c) for c in shoal.exit_codes))
    summary = _summarise(raw, ctx)
    table, verdicts = _table(summary, ctx)
    load_after = os.getloadavg()
    print()
    print("FTP benchmark: median of %d runs; ratios > 1.0 mean shoal is better "
          "(throughput: shoal/vsftpd, time and memory: vsftpd/shoal)" % args.reps)
    print(table)
    print()
    for name, runs in raw.get("logins", {}).items():
        parts = []
        for r in runs:
            why = ", ".join("%d %s" % (c, w) for w, c in sorted(r["failed"].items()))
            parts.append("%d/%d%s" % (r["ok"], r["n"], " (%s)" % why if why else ""))
        tcp = [r.get("tcp", {}) for r in runs]
        notes.append("%s logins per run: %s; kernel listen-queue overflows %s, "
                     "SYN cookies sent %s (host-wide counters)"
                     % (name, ", ".join(parts),
                        "/".join(str(t.get("ListenOverflows", "?")) for t in tcp),
                        "/".join(str(t.get("SyncookiesSent", "?")) for t in tcp)))
    if "logins" in tests:
        notes.append("logins: every client holds its session until all %d are "
                     "in, then QUITs; memory is taken at that moment (shoal, "
                     "pyftpdlib: VmRSS of the server process; vsftpd: PSS summed "
                     "over its process per session), peak RSS is sampled from "
                     "/proc every 4 ms during the logins" % args.logins)
    notes.append("load average %.2f before, %.2f after (%d CPUs)"
                 % (load_before[0], load_after[0], os.cpu_count()))
    for n in notes:
        print("note: " + n)
    for e in errors:
        print("ERROR: " + e)
    if errors and shoal_log:
        print("last lines of the shoal node's log:")
        for line in shoal_log:
            print("  " + line)

    result = {
        "benchmark": "ftp", "started": started,
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                 "loadavg_before": load_before, "loadavg_after": load_after},
        "parameters": {"size_bytes": size, "reps": args.reps, "files": args.files,
                       "file_bytes": 4096, "list_entries": args.list_entries,
                       "list_runs_per_rep": args.list_runs, "logins": args.logins,
                       "servers": [s.name for s in servers],
                       "shoal_options": shoal.options if shoal else None},
        "summary": summary, "verdicts": verdicts, "runs": raw,
        "notes": notes, "errors": errors, "shoal_log_tail": shoal_log,
    }
    d = os.path.dirname(json_path)
    if os.path.isdir(d):
        with open(json_path, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
            f.write("\n")
        print("results: %s" % os.path.relpath(json_path, root)
              if json_path.startswith(root) else "results: %s" % json_path)
    else:
        print("results: not written, %s does not exist" % d)
    return 1 if errors else 0
