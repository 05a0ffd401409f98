"""End-to-end fixtures for the shoal FTP node.

Every test gets real `build/shoal` processes listening on 127.0.0.1 and talks
to them with real clients (ftplib, curl, lftp).  The `node` fixture is a
factory: each call runs `shoal init` in a fresh directory (unless told to
reuse one), starts `shoal node` on a free port with its stderr captured to a
file, and waits with a deadline until the port accepts connections.  On
teardown every node still running gets SIGTERM and must exit 0; a node that
does not exit in time is killed by PID and the test errors.

Nothing here sleeps and hopes: `wait_for` polls a condition until a deadline.
"""

import ftplib
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# SHOAL_BIN runs the same tests against another build (make test uses the
# AddressSanitizer one for part of the suite).
SHOAL = Path(os.environ.get("SHOAL_BIN", ROOT / "build" / "shoal")).resolve()

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
NET_TIMEOUT = 15.0


# ---------------------------------------------------------------------------
# generic helpers


def wait_for(cond, timeout=10.0, interval=0.02, what=None):
    """Poll cond() until it returns something truthy; return that value.

    Fails the test with `what` (or cond's name) once the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for "
                        f"{what or getattr(cond, '__name__', 'condition')}")
        time.sleep(interval)


_handed_out = set()


def preload(shim):
    """LD_PRELOAD for a test shim (a library under build/tests/unit): a
    sanitizer runtime the binary links must come first."""
    libs = []
    out = subprocess.run(["ldd", str(SHOAL)], capture_output=True,
                         text=True, timeout=30).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libasan") and len(parts) > 2:
            libs.append(parts[2])
    return ":".join([*libs, str(shim)])


def free_port(host="127.0.0.1"):
    """A port nothing listens on, below the kernel's ephemeral range: a
    port from bind(0) can be handed to an outgoing connection (a client,
    a peer link) before the node under test binds it."""
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph = int(f.read().split()[0])
        high = min(high, eph)
    except (OSError, ValueError):
        pass
    for _ in range(200):
        port = random.randrange(low, high)
        # Never the same port twice in one run: two listeners of one node
        # are picked before either binds.
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")


_extra_listeners = None


def extra_listener_flags():
    """--peer/--http on free loopback ports when this build has them, so a
    test node never takes (or collides on) the default peer and HTTP ports
    other nodes on this machine may be using."""
    global _extra_listeners
    if _extra_listeners is None:
        usage = subprocess.run([str(SHOAL), "--help"], capture_output=True,
                               text=True, timeout=30)
        text = usage.stdout + usage.stderr
        _extra_listeners = [f for f in ("--peer", "--http", "--s3", "--dav")
                            if f in text]
    flags = []
    for f in _extra_listeners:
        flags += [f, f"127.0.0.1:{free_port()}"]
    return flags


def run_shoal(*args, input=None, timeout=60, check=False):
    """Run a one-shot shoal command (init, user ...); return CompletedProcess."""
    proc = subprocess.run([str(SHOAL), *map(str, args)], input=input,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"shoal {' '.join(map(str, args))} exited "
                    f"{proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def shoal_init(directory):
    return run_shoal("init", directory, check=True)


def raw(ftp, line):
    """Send one command through an ftplib object; return the whole reply
    text without ftplib turning 4xx/5xx into exceptions."""
    ftp.putcmd(line)
    return ftp.getmultiline()


def read_all(conn):
    chunks = []
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def tmp_leftovers(directory):
    """Files left in DIR/.shoal/tmp (uploads in progress or leaked), not
    counting tmp/partial/: interrupted uploads of new files kept on
    purpose for a resume (test_resume.py)."""
    tmp = Path(directory) / ".shoal" / "tmp"
    return [p for p in tmp.rglob("*") if p.is_file()
            and p.parent.name != "partial"]


def tmp_bytes(directory):
    total = 0
    for p in tmp_leftovers(directory):
        try:
            total += p.stat().st_size
        except FileNotFoundError:
            pass
    return total


# ---------------------------------------------------------------------------
# ftplib variants


class ExtendedMixin:
    """Use EPSV/EPRT (RFC 2428) instead of PASV/PORT on IPv4."""

    def makepasv(self):
        return ftplib.parse229(self.sendcmd("EPSV"), self.sock.getpeername())

    def makeport(self):
        host = self.sock.getsockname()[0]
        sock = socket.create_server((host, 0), backlog=1)
        self.sendeprt(host, sock.getsockname()[1])
        sock.settimeout(self.timeout)
        return sock


class ExtFTP(ExtendedMixin, ftplib.FTP):
    pass


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose protected data connections resume the control
    connection's TLS session, as RFC 4217 servers may require."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


class ExtReusingFTP_TLS(ExtendedMixin, ReusingFTP_TLS):
    pass


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------------------
# raw control connection, for what ftplib refuses to send or hides


class Control:
    """A bare FTP control connection speaking bytes."""

    def __init__(self, host, port, source=None, timeout=NET_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self, timeout=NET_TIMEOUT):
        """One reply line without CRLF; EOFError when the server closed."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, timeout=NET_TIMEOUT):
        """A whole (possibly multi-line) reply as one string."""
        first = self.readline(timeout)
        lines = [first]
        if len(first) >= 4 and first[3] == "-":
            end = first[:3] + " "
            while True:
                line = self.readline(timeout)
                lines.append(line)
                if line.startswith(end):
                    break
        return "\n".join(lines)

    def cmd(self, line, timeout=NET_TIMEOUT):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def login(self, user="guest", password="guest"):
        r = self.cmd(f"USER {user}")
        assert r.startswith("331"), r
        r = self.cmd(f"PASS {password}")
        assert r.startswith("230"), r

    def is_closed(self, timeout=NET_TIMEOUT):
        """True once the server closed the connection (EOF or reset) before
        the deadline; data still arriving is discarded."""
        deadline = time.monotonic() + timeout
        self.buf = b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                return False
            except ConnectionError:
                return True
            if not chunk:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# nodes


class Node:
    def __init__(self, directory, host, port, proc, log_path, clients):
        self.dir = Path(directory)
        self.listen_host = host
        self.host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.port = port
        self.proc = proc
        self.pid = proc.pid
        self.log_path = log_path
        self._clients = clients
        self.stopped = False

    @property
    def url(self):
        return f"ftp://{self.host}:{self.port}"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.proc.poll() is None

    # clients --------------------------------------------------------------

    def _track(self, obj):
        self._clients.append(obj)
        return obj

    def ftp(self, user="guest", password="guest", cls=ftplib.FTP,
            timeout=NET_TIMEOUT, login=True):
        """An ftplib session; logged in unless login=False."""
        f = self._track(cls(timeout=timeout))
        f.connect(self.host, self.port)
        if login:
            f.login(user, password)
        return f

    def ftps(self, user="guest", password="guest", cls=ReusingFTP_TLS,
             prot_p=True, timeout=NET_TIMEOUT):
        """An FTPS session: AUTH TLS, login (PBSZ 0 + PROT P if prot_p)."""
        f = self._track(cls(context=tls_context(), timeout=timeout))
        f.connect(self.host, self.port)
        f.auth()
        f.login(user, password)
        if prot_p:
            f.prot_p()
        return f

    def control(self, source=None, timeout=NET_TIMEOUT):
        """A raw control connection whose 220 greeting was already read."""
        c = self._track(Control(self.host, self.port, source, timeout))
        greeting = c.reply()
        assert greeting.startswith("220"), greeting
        return c

    # process --------------------------------------------------------------

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the node and wait for it; return its exit code."""
        self.stopped = True
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
                pytest.fail(f"node pid {self.pid} ignored {sig.name} for "
                            f"{timeout}s and was killed; log:\n{self.log()}")
        return self.proc.returncode


def probe(host, port):
    """True when host:port accepts a TCP connection.  The probe session is
    ended politely (QUIT, wait for close) so it does not linger in the
    node's per-address counts."""
    try:
        s = socket.create_connection((host, port), timeout=1.0)
    except OSError:
        return False
    try:
        s.settimeout(2.0)
        s.recv(4096)
        s.sendall(b"QUIT\r\n")
        while s.recv(4096):
            pass
    except OSError:
        pass
    finally:
        s.close()
    return True


class NodeFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.nodes = []
        self.clients = []
        self.count = 0

    def new_dir(self, name=None):
        self.count += 1
        d = self.tmp_path / (name or f"node{self.count}")
        shoal_init(d)
        return d

    def spawn(self, directory, listen="127.0.0.1", port=None, options=(),
              log_level=None, args=()):
        """Start `shoal node` without waiting; return (proc, port, log)."""
        port = port or free_port("0.0.0.0" if listen == "0.0.0.0" else listen)
        self.count += 1
        log_path = self.tmp_path / f"node{self.count}.log"
        cmd = [str(SHOAL), "node", str(directory), "--ftp", f"{listen}:{port}",
               "-o", "ftp.login_delay_ms=0", *extra_listener_flags()]
        for o in options:
            cmd += ["-o", o]
        if log_level:
            cmd += ["--log-level", log_level]
        cmd += list(args)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.tmp_path)
        return proc, port, log_path

    def __call__(self, *options, directory=None, listen="127.0.0.1",
                 log_level=None, init=True):
        """Start a node serving `directory` (a fresh initialised one by
        default) with extra `-o` options; wait until it listens."""
        if directory is None:
            directory = self.new_dir()
        elif init and not (Path(directory) / ".shoal").exists():
            shoal_init(directory)
        proc, port, log_path = self.spawn(directory, listen, None, options,
                                          log_level)
        node = Node(directory, listen, port, proc, log_path, self.clients)
        self.nodes.append(node)
        deadline = time.monotonic() + START_TIMEOUT
        while not probe(node.host, port):
            if proc.poll() is not None:
                pytest.fail(f"node exited with {proc.returncode} before "
                            f"listening; log:\n{node.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"node not listening on {node.host}:{port} after "
                            f"{START_TIMEOUT}s; log:\n{node.log()}")
            time.sleep(0.02)
        return node

    def run_until_exit(self, directory, listen="127.0.0.1", options=(),
                       args=(), timeout=START_TIMEOUT):
        """Start a node that is expected to refuse to start; return
        (exit code, log).  Fails if it is still running at the deadline."""
        proc, port, log_path = self.spawn(directory, listen, None, options,
                                          None, args)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"node was expected to refuse to start but was still "
                        f"running after {timeout}s; log:\n"
                        f"{log_path.read_text(errors='replace')}")
        return rc, log_path.read_text(errors="replace")

    def stop_all(self):
        """Stop every node still running; return a list of problems (a node
        that exited by itself, exited non-zero on SIGTERM or hung)."""
        self.clients_close()
        problems = []
        for node in self.nodes:
            if node.stopped:
                continue
            node.stopped = True
            if node.proc.poll() is not None:
                problems.append(f"node pid {node.pid} exited by itself with "
                                f"{node.proc.returncode}; log tail:\n"
                                f"{node.log()[-3000:]}")
                continue
            os.kill(node.pid, signal.SIGTERM)
            try:
                node.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(node.pid, signal.SIGKILL)
                node.proc.wait()
                problems.append(f"node pid {node.pid} did not exit within "
                                f"{STOP_TIMEOUT}s of SIGTERM and was killed")
                continue
            if node.proc.returncode != 0:
                problems.append(f"node pid {node.pid} exited "
                                f"{node.proc.returncode} on SIGTERM; log "
                                f"tail:\n{node.log()[-3000:]}")
        return problems

    def clients_close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients.clear()


@pytest.fixture
def node(tmp_path):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    factory = NodeFactory(tmp_path)
    yield factory
    problems = factory.stop_all()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def shoal_dir(node):
    """A freshly initialised node directory (no node running)."""
    return node.new_dir()


HASH_RE = re.compile(r"^213 SHA-256 0-(\d+) ([0-9A-Fa-f]{64}) (.+)$")


def retr(ftp, name, rest=None):
    """Download `name` in binary mode; return its bytes."""
    out = bytearray()
    ftp.retrbinary(f"RETR {name}", out.extend, rest=rest)
    return bytes(out)


def stor(ftp, name, data, cmd="STOR", rest=None):
    """Upload bytes in binary mode; return the final reply."""
    import io
    return ftp.storbinary(f"{cmd} {name}", io.BytesIO(data), rest=rest)


def names(ftp, path=None):
    """NLST as a set of base names."""
    args = [path] if path else []
    return {n.rstrip("/").rsplit("/", 1)[-1] for n in ftp.nlst(*args)}
