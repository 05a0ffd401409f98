"""End-to-end helpers for shoal clusters.

A `Cluster` owns a temporary folder with one sub-folder per node.  The first
node is made with `shoal init` (which prints the cluster key), the others
with `shoal init --join KEY`; each node's DIR/.shoal/peers names the first
node's peer address.  Every node runs as a real `shoal node` process on free
loopback ports (FTP, peer protocol, HTTP), with short heartbeats so that
membership changes are seen within a couple of seconds, and its output goes
to DIR.log (appended to across restarts).

Nothing here sleeps and hopes: `wait_for` polls a condition until a deadline
and fails the test with a description of what it last saw.  Every process a
Cluster starts is stopped by PID when the test ends (SIGTERM, then SIGKILL
after a deadline); a node that crashed or did not exit 0 on SIGTERM fails
the test.  When a test fails, the tail of every node's log is attached to
the report (the `pytest_runtest_makereport` hook below; test modules load
this file with `pytest_plugins`).
"""

import ftplib
import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# SHOAL_BIN runs the tests against another build (e.g. build-asan/shoal)
SHOAL = Path(os.environ.get("SHOAL_BIN") or ROOT / "build" / "shoal").resolve()

HEARTBEAT_MS = 200
DEAD_AFTER_MS = 1500
START_TIMEOUT = 30.0    # a node starts and listens
JOIN_TIMEOUT = 45.0     # every node sees every other one alive
STOP_TIMEOUT = 15.0     # a node exits after SIGTERM
CLI_TIMEOUT = 30.0
NET_TIMEOUT = 30.0
LOG_TAIL = 4000

KEY_RE = re.compile(r"cluster key: ([0-9a-fA-F]{64})")
NETS_RE = re.compile(r"^201 Network size is (\d+)\.")


# ---------------------------------------------------------------------------
# generic helpers


def wait_for(cond, timeout=30.0, what=None, diag=None, interval=0.05):
    """Poll cond() until it returns something truthy; return that value.

    At the deadline the test fails, naming `what` and, when given, the
    result of diag() (what the world looked like at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            msg = (f"timed out after {timeout}s waiting for "
                   f"{what or getattr(cond, '__name__', 'condition')}")
            if diag is not None:
                msg += f"\nlast seen: {diag()}"
            pytest.fail(msg)
        time.sleep(interval)


def free_port():
    # Below the ephemeral range, like conftest's (see there why).
    from conftest import free_port as below_ephemeral
    return below_ephemeral()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


def tree(directory):
    """The node's visible folder as {relative path: sha256} for files and
    {relative path + "/": "dir"} for folders; DIR/.shoal is left out.
    Entries that vanish while they are read are skipped (the next poll
    sees the settled state)."""
    root = Path(directory)
    out = {}
    for cur, dirs, files in os.walk(root):
        rel_dir = Path(cur).relative_to(root)
        if rel_dir == Path("."):
            dirs[:] = [d for d in dirs if d != ".shoal"]
        for d in dirs:
            out[str(rel_dir / d) + "/"] = "dir"
        for f in files:
            try:
                out[str(rel_dir / f)] = file_sha256(Path(cur) / f)
            except (FileNotFoundError, NotADirectoryError):
                pass
    return out


def run_shoal(*args, timeout=CLI_TIMEOUT):
    """Run a one-shot shoal command; return CompletedProcess (text)."""
    return subprocess.run([str(SHOAL), *map(str, args)],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def check_shoal(*args, timeout=CLI_TIMEOUT):
    proc = run_shoal(*args, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"shoal {' '.join(map(str, args))} exited "
                    f"{proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def stor(ftp, name, data, cmd="STOR"):
    """Upload bytes in binary mode; return the final reply."""
    return ftp.storbinary(f"{cmd} {name}", io.BytesIO(data),
                          blocksize=1 << 20)


def retr(ftp, name):
    out = bytearray()
    ftp.retrbinary(f"RETR {name}", out.extend)
    return bytes(out)


def nets(ftp):
    """The network size a node's NETS answers."""
    reply = ftp.sendcmd("NETS")
    m = NETS_RE.match(reply)
    assert m, f"NETS answered {reply!r}"
    return int(m.group(1))


def ftp_tree(ftp, path="/"):
    """The folder as seen over FTP (MLSD, recursively): {relative path:
    "file"} and {relative path + "/": "dir"}."""
    out = {}

    def walk(p, prefix):
        for name, facts in ftp.mlsd(p):
            kind = facts.get("type", "").lower()
            if kind in ("cdir", "pdir"):
                continue
            rel = prefix + name
            if kind == "dir":
                out[rel + "/"] = "dir"
                walk(p.rstrip("/") + "/" + name, rel + "/")
            else:
                out[rel] = "file"
    walk(path, "")
    return out


def shape(t):
    """A tree() reduced to what an FTP listing shows."""
    return {k: ("dir" if v == "dir" else "file") for k, v in t.items()}


# ---------------------------------------------------------------------------
# nodes


class ClusterNode:
    """One `shoal node` process and its folder.  The ports stay the same
    across restarts."""

    def __init__(self, cluster, name, directory):
        self.cluster = cluster
        self.name = name
        self.dir = Path(directory)
        self.log_path = self.dir.parent / f"{name}.log"
        self.ftp_port = free_port()
        self.peer_port = free_port()
        self.http_port = free_port()
        self.s3_port = free_port()
        self.dav_port = free_port()
        self.options = []       # -o values
        self.args = []          # other flags (--sync-writes K)
        self.env = {}           # more environment (LD_PRELOAD, FAKETIME)
        self.proc = None
        self.id = (self.dir / ".shoal" / "node_id").read_text().strip()

    def __repr__(self):
        return f"<{self.name} {self.id[:8]} pid {self.pid}>"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def peer_addr(self):
        return f"127.0.0.1:{self.peer_port}"

    @property
    def ftp_addr(self):
        return f"127.0.0.1:{self.ftp_port}"

    @property
    def http_addr(self):
        return f"127.0.0.1:{self.http_port}"

    @property
    def s3_addr(self):
        return f"127.0.0.1:{self.s3_port}"

    @property
    def dav_addr(self):
        return f"127.0.0.1:{self.dav_port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # process --------------------------------------------------------------

    def command(self, options=(), args=()):
        cmd = [str(SHOAL), "node", str(self.dir),
               "--ftp", self.ftp_addr, "--peer", self.peer_addr,
               "--http", self.http_addr, "--s3", self.s3_addr,
               "--dav", self.dav_addr]
        # later settings of one key replace earlier ones
        settings = {"ftp.login_delay_ms": "0",
                    "peer.heartbeat_ms": str(HEARTBEAT_MS),
                    "peer.dead_after_ms": str(DEAD_AFTER_MS)}
        for o in [*self.options, *options]:
            key, _, value = o.partition("=")
            settings[key] = value
        for key, value in settings.items():
            cmd += ["-o", f"{key}={value}"]
        cmd += [*self.args, *args]
        return cmd

    def start(self, options=(), args=(), wait=True):
        """Start the node (options/args are added to the node's own for
        this run only); with wait, return once FTP, peer and HTTP listen
        and `status` answers."""
        assert not self.running(), f"{self.name} is already running"
        # A restart on the same ports can find one still held for a moment
        # by the previous process's closing connections: try again.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            start_at = self.log_path.stat().st_size \
                if self.log_path.exists() else 0
            with open(self.log_path, "ab") as log:
                log.write(f"=== test: starting {self.name}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    self.command(options, args), stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.dir.parent,
                    env={**os.environ, **self.env} if self.env else None)
            try:
                self.proc.wait(0.3)
            except subprocess.TimeoutExpired:
                break
            if ("Address already in use" not in self.log()[start_at:] or
                    time.monotonic() > deadline):
                break
            time.sleep(0.2)
        self.cluster.procs.append(self.proc)
        if wait:
            self.wait_ready(start_at)
        return self

    def wait_ready(self, start_at=0):
        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited {self.proc.returncode} "
                            f"while starting; log:\n{self.log()[-LOG_TAIL:]}")
            text = self.log()[start_at:]
            if not all(s in text for s in (
                    f"ftp listening on {self.ftp_addr}",
                    f"peer protocol listening on {self.peer_addr}",
                    f"http listening on {self.http_addr}")):
                return False
            return self.try_status() is not None
        wait_for(ready, START_TIMEOUT, f"{self.name} to listen",
                 diag=lambda: self.log()[start_at:][-LOG_TAIL:])

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; the node must exit 0 within the timeout."""
        self.close_clients()
        assert self.running(), f"{self.name} is not running"
        os.kill(self.proc.pid, signal.SIGTERM)
        self.cluster.reaped.add(self.proc.pid)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"{self.name} (pid {self.proc.pid}) ignored SIGTERM "
                        f"for {timeout}s; log:\n{self.log()[-LOG_TAIL:]}")
        assert rc == 0, (f"{self.name} exited {rc} on SIGTERM; log:\n"
                         f"{self.log()[-LOG_TAIL:]}")

    def kill(self):
        """SIGKILL, as a crash or power loss would."""
        self.close_clients()
        assert self.running(), f"{self.name} is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.cluster.reaped.add(self.proc.pid)
        self.proc.wait()

    def restart(self, options=(), args=(), wait=True):
        if self.running():
            self.stop()
        return self.start(options, args, wait)

    # control --------------------------------------------------------------

    def cli(self, *args, timeout=CLI_TIMEOUT):
        return run_shoal("-C", self.dir, *args, timeout=timeout)

    def try_status(self):
        proc = self.cli("status", "--json")
        if proc.returncode != 0:
            return None
        try:
            return json.loads(proc.stdout)
        except ValueError:
            return None

    def status(self):
        proc = self.cli("status", "--json")
        assert proc.returncode == 0, \
            f"{self.name}: status exited {proc.returncode}: {proc.stderr}"
        return json.loads(proc.stdout)

    def peers(self):
        proc = self.cli("peers", "--json")
        assert proc.returncode == 0, \
            f"{self.name}: peers exited {proc.returncode}: {proc.stderr}"
        return json.loads(proc.stdout)

    def api(self, path):
        """GET on the node's HTTP endpoint (cheaper than a CLI process when
        a test polls fast)."""
        token = (self.dir / ".shoal" / "api_token").read_text().strip()
        req = urllib.request.Request(
            f"http://{self.http_addr}{path}",
            headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
            return json.loads(r.read())

    def http(self, method, path, token=True, body=None):
        """One request to the HTTP endpoint; returns (status, body bytes)
        whatever the status."""
        headers = {}
        if token:
            tok = (self.dir / ".shoal" / "api_token").read_text().strip()
            headers["Authorization"] = f"Bearer {tok}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://{self.http_addr}{path}",
                                     data=data, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def member_states(self, via_api=False):
        """{member id: state} as this node's peers list shows them."""
        peers = self.api("/v1/peers") if via_api else self.peers()
        return {p["id"]: p["state"] for p in peers}

    def alive(self):
        st = self.try_status()
        return st["members"]["alive"] if st else None

    # clients --------------------------------------------------------------

    def ftp(self, timeout=NET_TIMEOUT):
        f = ftplib.FTP(timeout=timeout)
        f.connect("127.0.0.1", self.ftp_port)
        self.cluster.clients.append(f)
        f.login("guest", "guest")
        return f

    def close_clients(self):
        self.cluster.close_clients()

    # folder ---------------------------------------------------------------

    def path(self, rel):
        return self.dir / rel

    def tree(self):
        return tree(self.dir)

    def tmp_files(self):
        tmp = self.dir / ".shoal" / "tmp"
        return sorted(p.name for p in tmp.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# the cluster


class Cluster:
    def __init__(self, base):
        self.base = Path(base)
        self.nodes = []
        self.procs = []         # every node process ever started
        self.reaped = set()     # pids whose exit a test already checked
        self.clients = []
        self.key = None

    def __getitem__(self, i):
        return self.nodes[i]

    def new_node(self, name=None, join=True, peers=None, options=(),
                 args=(), init_args=()):
        """Initialise (not start) a node.  join=True: a member of this
        cluster (the first node creates it); join=False: a node of a new,
        unrelated cluster.  peers: lines for DIR/.shoal/peers (default: the
        first node's peer address; [] writes none).  init_args: more
        arguments for `shoal init` (e.g. ["--replicas", "2"])."""
        name = name or f"n{len(self.nodes) + 1}"
        d = self.base / name
        if join and self.key is not None:
            check_shoal("init", d, "--join", self.key, *init_args)
        else:
            out = check_shoal("init", d, *init_args)
            m = KEY_RE.search(out.stdout + out.stderr)
            assert m, f"`shoal init` printed no cluster key:\n{out.stdout}"
            if join:
                self.key = m.group(1)
        node = ClusterNode(self, name, d)
        node.options = list(options)
        node.args = list(args)
        if peers is None:
            peers = [self.nodes[0].peer_addr] if self.nodes else []
        if peers:
            (d / ".shoal" / "peers").write_text(
                "# written by the test\n" + "".join(p + "\n" for p in peers))
        if join:
            self.nodes.append(node)
        return node

    def start(self, n, options=(), node_options=None, node_args=None,
              args=(), init_args=()):
        """Initialise and start n nodes; wait until each sees all n alive.
        node_options / node_args: {index: [...]} for single nodes; args:
        flags for every node; init_args: more `shoal init` arguments for
        the node that makes the cluster (the others join with the key
        only, e.g. init_args=["--replicas", "2"])."""
        node_options = node_options or {}
        node_args = node_args or {}
        for i in range(n):
            creator = self.key is None
            self.new_node(options=[*options, *node_options.get(i, [])],
                          args=[*args, *node_args.get(i, [])],
                          init_args=init_args if creator else ())
        for node in self.nodes:
            node.start()
        self.wait_alive(self.nodes, n)
        return self.nodes

    def wait_alive(self, nodes, n, timeout=JOIN_TIMEOUT):
        """Wait until each of `nodes` counts n live members (itself too)."""
        wait_for(lambda: all(x.alive() == n for x in nodes), timeout,
                 f"{[x.name for x in nodes]} to see {n} live members",
                 diag=lambda: {x.name: x.alive() for x in nodes})

    def running(self):
        return [x for x in self.nodes if x.running()]

    def trees(self, nodes=None):
        return {x.name: x.tree() for x in (nodes or self.running())}

    def converged(self, nodes=None):
        """The common tree when every node's folder holds the same paths
        with the same contents, else None."""
        trees = list(self.trees(nodes).values())
        if all(t == trees[0] for t in trees[1:]):
            return trees[0]
        return None

    def disagreement(self, nodes=None):
        """{path: {node name: sha256 prefix, "dir" or None}} for the paths
        the nodes do not agree on."""
        trees = self.trees(nodes)
        out = {}
        for path in sorted(set().union(*trees.values())):
            seen = {name: t.get(path) for name, t in trees.items()}
            if len(set(seen.values())) > 1:
                out[path] = {name: v[:12] if v else None
                             for name, v in seen.items()}
        return out

    def wait_tree(self, expected, nodes=None, timeout=60.0, what=None):
        """Wait until every node's folder is exactly `expected`."""
        nodes = nodes or self.running()
        what = what or f"{[x.name for x in nodes]} to hold the expected files"
        wait_for(lambda: all(x.tree() == expected for x in nodes), timeout,
                 what, diag=lambda: diff_trees(expected, self.trees(nodes)))

    def wait_converged(self, nodes=None, timeout=60.0, extra=None):
        """Wait until all nodes hold identical folders (and extra(tree) is
        true when given); return the common tree."""
        def cond():
            t = self.converged(nodes)
            if t is None or (extra is not None and not extra(t)):
                return None
            return t or {"": "empty"}
        t = wait_for(cond, timeout, "the nodes to hold identical folders",
                     diag=lambda: self.disagreement(nodes) or
                     f"same folders: {self.converged(nodes)}")
        return {} if t == {"": "empty"} else t

    # teardown -------------------------------------------------------------

    def close_clients(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients.clear()

    def shutdown(self):
        """Stop every process this cluster started, by PID.  Returns the
        problems seen (a node that died on its own or did not exit 0 on
        SIGTERM)."""
        self.close_clients()
        problems = []
        for proc in self.procs:
            if proc.poll() is not None:
                if proc.pid in self.reaped:
                    continue
                if proc.returncode != 0:
                    problems.append(f"pid {proc.pid} exited with "
                                    f"{proc.returncode}")
                continue
            os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            if proc.returncode is not None:
                continue
            try:
                rc = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                problems.append(f"pid {proc.pid} did not exit within "
                                f"{STOP_TIMEOUT}s of SIGTERM; killed")
                continue
            if rc != 0:
                problems.append(f"pid {proc.pid} exited {rc} on SIGTERM")
        return problems

    def log_tails(self):
        out = []
        for log in sorted(self.base.glob("*.log")):
            text = log.read_text(errors="replace")
            out.append((f"log {log.name} (last {LOG_TAIL} chars)",
                        text[-LOG_TAIL:]))
        return out


def diff_trees(expected, trees):
    """A short description of how each node's tree differs from
    `expected`."""
    out = {}
    for name, t in trees.items():
        missing = sorted(set(expected) - set(t))
        extra = sorted(set(t) - set(expected))
        changed = sorted(k for k in set(t) & set(expected)
                         if t[k] != expected[k])
        if missing or extra or changed:
            out[name] = {"missing": missing, "extra": extra,
                         "changed": changed}
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Cluster):
            for title, text in value.log_tails():
                rep.sections.append((title, text))
