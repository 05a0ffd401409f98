"""A private PostgreSQL 15 server for end-to-end tests.

The server belongs to the test session: its data folder and its socket
folder live in a fresh temporary folder owned by the `postgres` user, it
listens only on a unix socket (listen_addresses=''), on a free port number
(the socket is SOCKDIR/.s.PGSQL.PORT), and it trusts every local
connection (initdb --auth=trust: nobody else can reach the socket, its
folder is mode 0700).  PostgreSQL refuses to run as root, so initdb,
pg_ctl, createdb and psql run as `postgres` through runuser when the tests
run as root.  The server is stopped with `pg_ctl stop -m fast` when the
session ends, and killed by its PID (from postmaster.pid) if that fails.

Fixtures (load this module with `pytest_plugins = ["pg"]`):

  pg_server      session: the PgServer
  postgres_url   session: libpq URL of its database `shoal`
                 (postgresql://postgres@/shoal?host=SOCKDIR&port=PORT)
  pg_db_url      function: URL of a fresh, empty database for one test

and `psql(url, sql)` runs SQL against any of those URLs and returns the
rows.  A missing PostgreSQL fails the tests (it is never a skip):
scripts/deps.sh installs the `postgresql` package.
"""

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("SHOAL_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
CMD_TIMEOUT = 60.0
FIELD_SEP = "\x1f"
RECORD_SEP = "\x1e"

_missing_hint = ("PostgreSQL 15 is needed for the tracker's postgresql "
                 "tests: run scripts/deps.sh as root (it installs the Debian "
                 "package `postgresql`)")


def _fail(msg):
    pytest.fail(msg, pytrace=False)


def _runuser():
    for cand in ("/usr/sbin/runuser", "/sbin/runuser",
                 shutil.which("runuser") or ""):
        if cand and os.access(cand, os.X_OK):
            return cand
    _fail("runuser (util-linux) not found: it is needed to run PostgreSQL "
          "as the `postgres` user")


class PgServer:
    """One postgres server, started by start(), stopped by stop()."""

    def __init__(self, base=None):
        for tool in ("initdb", "pg_ctl", "pg_isready", "createdb", "dropdb",
                     "psql"):
            if not os.access(PG_BIN / tool, os.X_OK):
                _fail(f"{PG_BIN / tool} not found. {_missing_hint}")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.pw = pwd.getpwnam(PG_USER)
            except KeyError:
                _fail(f"no `{PG_USER}` user on this machine. {_missing_hint}")
            self.prefix = [_runuser(), "-u", PG_USER, "--"]
        else:
            # Not root: run everything as ourselves.
            self.pw = pwd.getpwuid(os.geteuid())
            self.prefix = []
        # Not under pytest's tmp_path: that one is mode 0700 and owned by
        # root, so `postgres` could not reach inside.
        self.base = Path(tempfile.mkdtemp(
            prefix="shoal-pg-", dir=os.environ.get("SHOAL_PG_TMP", "/tmp")))
        os.chmod(self.base, 0o700)
        os.chown(self.base, self.pw.pw_uid, self.pw.pw_gid)
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.log_path = self.base / "postgres.log"
        self.port = None
        self.pid = None
        self._names = itertools.count(1)

    # -- running the tools --------------------------------------------------

    def _env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=str(self.base),
                   PGCONNECT_TIMEOUT="10")
        return env

    def run(self, tool, *args, check=True, timeout=CMD_TIMEOUT, input=None):
        """Run a PostgreSQL tool as `postgres`; return CompletedProcess."""
        cmd = [*self.prefix, str(PG_BIN / tool), *map(str, args)]
        try:
            proc = subprocess.run(cmd, cwd=self.base, env=self._env(),
                                  input=input, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            _fail(f"{' '.join(cmd)} did not finish in {timeout}s"
                  f"{self._log_tail()}")
        if check and proc.returncode != 0:
            _fail(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                  f"{proc.stdout}{proc.stderr}{self._log_tail()}")
        return proc

    def _log_tail(self):
        try:
            text = self.log_path.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""
        return f"\npostgres log:\n{text[-3000:]}"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- life ------------------------------------------------------------

    def start(self):
        from conftest import free_port
        self.sock.mkdir(mode=0o700)
        os.chown(self.sock, self.pw.pw_uid, self.pw.pw_gid)
        self.run("initdb", "-D", self.data, "-U", PG_USER, "--auth=trust",
                 "-E", "UTF8", "--locale=C", "--no-sync",
                 timeout=START_TIMEOUT)
        # A port picked as free can be taken by the time the server binds
        # (the socket file is per port): try a few.
        for attempt in range(5):
            self.port = free_port()
            opts = (f"-p {self.port} -k {self.sock} "
                    f"-c listen_addresses=''")
            proc = self.run("pg_ctl", "-D", self.data, "-o", opts,
                            "-l", self.log_path, "-w",
                            "-t", str(int(START_TIMEOUT)), "start",
                            check=False, timeout=START_TIMEOUT + 10)
            if proc.returncode == 0:
                break
            if "already in use" not in self.log() or attempt == 4:
                _fail(f"pg_ctl start exited {proc.returncode}:\n"
                      f"{proc.stdout}{proc.stderr}{self._log_tail()}")
        self.pid = self._postmaster_pid()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            r = self.run("pg_isready", "-h", self.sock, "-p", self.port,
                         "-d", "postgres", check=False)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                _fail(f"postgres not ready after {START_TIMEOUT}s: "
                      f"{r.stdout}{r.stderr}{self._log_tail()}")
            time.sleep(0.1)
        self.createdb("shoal")
        return self

    def _postmaster_pid(self):
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n")[0]
            return int(first)
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def _alive(self, pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # a zombie is not ours to reap (pg_ctl's child); count it gone
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ", 1)[1][:1] != "Z"
        except (OSError, IndexError):
            return True

    def stop(self):
        """pg_ctl stop -m fast; kill by PID if it is still there; remove
        the folder.  Returns a list of problems (empty when clean)."""
        problems = []
        pid = self.pid or self._postmaster_pid()
        if self.data.exists() and pid is not None:
            r = self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w",
                         "-t", str(int(STOP_TIMEOUT)), "stop", check=False,
                         timeout=STOP_TIMEOUT + 10)
            if r.returncode != 0:
                problems.append(f"pg_ctl stop exited {r.returncode}: "
                                f"{r.stdout}{r.stderr}")
            deadline = time.monotonic() + STOP_TIMEOUT
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._alive(pid):
                problems.append(f"postgres pid {pid} still running after "
                                f"pg_ctl stop: killed")
                os.kill(pid, signal.SIGQUIT)
                time.sleep(1)
                if self._alive(pid):
                    os.kill(pid, signal.SIGKILL)
        if not problems:
            shutil.rmtree(self.base, ignore_errors=True)
        return problems

    # -- databases -------------------------------------------------------

    def url(self, db="shoal"):
        return (f"postgresql://{PG_USER}@/{db}?host={self.sock}"
                f"&port={self.port}")

    def createdb(self, name):
        self.run("createdb", "-h", self.sock, "-p", self.port, name)
        return self.url(name)

    def dropdb(self, name):
        return self.run("dropdb", "-h", self.sock, "-p", self.port,
                        "--if-exists", "--force", name, check=False)

    def fresh_db(self, hint="t"):
        safe = "".join(c if c.isalnum() else "_" for c in hint.lower())
        name = f"{safe[:40]}_{os.getpid()}_{next(self._names)}"
        return name, self.createdb(name)

    def sql(self, db, query):
        """Run SQL in database db; return the rows as tuples of text
        (NULL reads as "")."""
        r = self.run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                     "-F", FIELD_SEP, "-R", RECORD_SEP, "-h", self.sock,
                     "-p", self.port, "-d", db, "-c", query)
        out = r.stdout
        if out.endswith("\n"):
            out = out[:-1]
        if not out:
            return []
        return [tuple(rec.split(FIELD_SEP)) for rec in out.split(RECORD_SEP)]


# ---------------------------------------------------------------------------
# URL helpers


def parse_url(url):
    """(socket dir, port, database) from a URL made by PgServer.url()."""
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qs(u.query)
    return q["host"][0], int(q["port"][0]), u.path.lstrip("/")


_servers = {}


def psql(url, query):
    """Run SQL against the database a URL from this module names; return
    the rows as tuples of text."""
    sock, port, db = parse_url(url)
    server = _servers.get((sock, port))
    assert server is not None, f"no server of this session at {url}"
    return server.sql(db, query)


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    _servers[(str(server.sock), server.port)] = server
    yield server
    _servers.pop((str(server.sock), server.port), None)
    problems = server.stop()
    if problems:
        pytest.fail("postgres did not stop cleanly: " + "; ".join(problems))


@pytest.fixture(scope="session")
def postgres_url(pg_server):
    return pg_server.url("shoal")


@pytest.fixture
def pg_db_url(pg_server, request):
    name, url = pg_server.fresh_db(request.node.name)
    yield url
    pg_server.dropdb(name)
