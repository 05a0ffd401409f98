"""End-to-end tests of the tracker (docs/TRACKER.md).

Each test starts a real `shoal tracker` and real nodes on 127.0.0.1 (see
cluster.py).  The nodes get no PEERS file and no --peer of another node:
they only know the tracker (`--tracker 127.0.0.1:P`), so whatever they know
of each other came through it.  The tracker's expiry is 4 s (nodes beat
every second) unless a test needs otherwise.

What is checked is what people and scripts see: the tracker's JSON API
(/v1/nodes, /v1/list, /v1/files, /v1/locks), the client commands (`peers`,
`ls --all`, `lock`, `unlock`), FTP and HTTP writes through the nodes, the
folders on disk, the processes' logs, and the tracker's database itself
(SQLite opened read-only with Python's sqlite3 module, PostgreSQL through
psql).  The tests where the backend matters run once with SQLite and once
with a private PostgreSQL server (pg.py).

Every wait has a deadline; nothing sleeps and hopes, except where a test
shows that something does NOT happen, and there a control event that must
happen (a free file replicating) bounds the wait.  The tail of every log
(the tracker's too) is attached to a failing test's report.
"""

import ftplib
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytest.register_assert_rewrite("cluster", "pg")

from cluster import (LOG_TAIL, NET_TIMEOUT, SHOAL, START_TIMEOUT,  # noqa: E402
                     STOP_TIMEOUT, Cluster, check_shoal, free_port, nets,
                     retr, sha256, stor, wait_for)
from pg import psql  # noqa: E402

pytest_plugins = ["cluster", "pg"]

EXPIRE = 4              # --expire for most tests; nodes beat every 1 s
REPLICATE = 60.0        # deadline for a change to reach every node
JOIN = 45.0             # deadline for nodes to find each other
TRACKED = 20.0          # deadline for the tracker to show a change
REGISTER = 30.0        # deadline to re-register after a tracker restart
HEX32 = re.compile(r"[0-9a-f]{32}")
HEX64 = re.compile(r"[0-9a-f]{64}")
VERSION_RE = re.compile(r"[0-9a-f]{8}:\d+(,[0-9a-f]{8}:\d+)*")
GUEST = ("guest", "guest")


# ---------------------------------------------------------------------------
# the tracker process


class Tracker:
    """One `shoal tracker` process and its folder T (initialised with the
    cluster's key).  The ports and the database stay the same across
    restarts.  Its output goes to BASE/tracker.log, so the cluster's
    failure hook attaches it."""

    def __init__(self, cluster, db=None, expire=EXPIRE, name="tracker"):
        assert cluster.key, "make a node first: the tracker joins its key"
        self.cluster = cluster
        self.name = name
        self.dir = cluster.base / name
        check_shoal("init", self.dir, "--join", cluster.key)
        self.port = free_port()
        self.http_port = free_port()
        self.db = db            # None: the default (sqlite in T/.shoal)
        self.expire = expire
        self.log_path = cluster.base / f"{name}.log"
        self.proc = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def http_addr(self):
        return f"127.0.0.1:{self.http_port}"

    @property
    def sqlite_path(self):
        return self.dir / ".shoal" / "tracker.db"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def command(self):
        cmd = [str(SHOAL), "tracker", str(self.dir), "--listen", self.addr,
               "--http", self.http_addr, "--expire", str(self.expire)]
        if self.db:
            cmd += ["--db", self.db]
        return cmd

    def start(self, wait=True):
        assert not self.running(), "the tracker is already running"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            start_at = self.log_path.stat().st_size \
                if self.log_path.exists() else 0
            with open(self.log_path, "ab") as log:
                log.write(b"=== test: starting the tracker\n")
                log.flush()
                self.proc = subprocess.Popen(
                    self.command(), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, cwd=self.cluster.base)
            try:
                self.proc.wait(0.3)
            except subprocess.TimeoutExpired:
                break
            # a restart on the same ports can find one still held
            if ("Address already in use" not in self.log()[start_at:] or
                    time.monotonic() > deadline):
                break
            time.sleep(0.2)
        self.cluster.procs.append(self.proc)
        if wait:
            self.wait_ready(start_at)
        return self

    def wait_ready(self, start_at=0):
        banner = (f"tracker: nodes on {self.addr}, http on "
                  f"{self.http_addr}, database ")

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the tracker exited {self.proc.returncode} "
                            f"while starting; log:\n"
                            f"{self.log()[start_at:][-LOG_TAIL:]}")
            if banner not in self.log()[start_at:]:
                return False
            try:
                return self.get("/v1/nodes")[0] == 200
            except OSError:
                return False
        wait_for(ready, START_TIMEOUT, "the tracker to start",
                 diag=lambda: self.log()[start_at:][-LOG_TAIL:])

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; the tracker must exit 0 within the timeout."""
        assert self.running(), "the tracker is not running"
        os.kill(self.proc.pid, signal.SIGTERM)
        self.cluster.reaped.add(self.proc.pid)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"the tracker ignored SIGTERM for {timeout}s; "
                        f"log:\n{self.log()[-LOG_TAIL:]}")
        assert rc == 0, (f"the tracker exited {rc} on SIGTERM; log:\n"
                         f"{self.log()[-LOG_TAIL:]}")

    def kill(self):
        assert self.running(), "the tracker is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.cluster.reaped.add(self.proc.pid)
        self.proc.wait()

    # the JSON API ----------------------------------------------------------

    def get(self, path):
        """GET path; (status, parsed JSON body or the raw bytes)."""
        req = urllib.request.Request(f"http://{self.http_addr}{path}")
        try:
            with urllib.request.urlopen(req, timeout=NET_TIMEOUT) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def json(self, path):
        status, body = self.get(path)
        assert status == 200, f"tracker GET {path}: {status} {body!r}"
        return body

    def nodes(self):
        return self.json("/v1/nodes")["nodes"]

    def node_ids(self):
        return sorted(n["id"] for n in self.nodes())

    def locks(self):
        return {norm(k["path"]): k for k in self.json("/v1/locks")["locks"]}

    def list_all(self, prefix="", limit=None):
        """Every page of /v1/list[/PREFIX]; checks path order and that
        `next` names the last path of a page."""
        out, after = [], None
        base = "/v1/list" + ("/" + quote(prefix) if prefix else "")
        for _ in range(10000):
            q = {}
            if after is not None:
                q["after"] = after
            if limit is not None:
                q["limit"] = str(limit)
            doc = self.json(base + ("?" + urllib.parse.urlencode(q)
                                    if q else ""))
            files = doc["files"]
            assert isinstance(files, list), doc
            if limit is not None:
                assert len({f["path"] for f in files}) <= limit, doc
            out += files
            if doc.get("next") is None:
                break
            assert files and doc["next"] == files[-1]["path"], doc
            after = doc["next"]
        paths = [f["path"] for f in out]
        assert paths == sorted(paths, key=lambda p: p.encode()), \
            f"/v1/list is not in path order: {paths}"
        return out


# ---------------------------------------------------------------------------
# the tracker's database


class Db:
    """The tracker's database as the test reads it: SQLite opened
    read-only with Python's sqlite3, or PostgreSQL through psql."""

    def __init__(self, kind, url=None):
        self.kind = kind
        self.url = url

    def __repr__(self):
        return self.kind

    def arg(self):
        """--db for the tracker (None: the default, sqlite in T/.shoal)."""
        return self.url

    def rows(self, tracker, sql):
        if self.kind == "postgresql":
            return [tuple(val(v) for v in r) for r in psql(self.url, sql)]
        path = tracker.sqlite_path
        assert path.exists(), f"no SQLite database at {path}"
        con = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True,
                              timeout=10)
        try:
            return [tuple(val(v) for v in r) for r in con.execute(sql)]
        finally:
            con.close()


def val(v):
    """A column value as text (ids may be stored as text or bytes)."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, str) and v.startswith("\\x"):     # psql's bytea
        return v[2:]
    return str(v)


def check_db(tracker, db):
    """What must hold of the tracker's database at any time (for SQLite:
    with the tracker stopped, so nothing is in flight).  Returns {"ids":
    node ids in `nodes`, "token": meta's last token or None, "holdings":
    [(path, node_id)], "locks": {path: (node_id, token)}}."""
    if db.kind == "sqlite":
        assert not tracker.running(), "stop the tracker first"
        assert db.rows(tracker, "PRAGMA integrity_check") == [("ok",)]
        assert db.rows(tracker, "PRAGMA journal_mode") == [("wal",)], \
            "the SQLite database is not in WAL mode"
    ids = [r[0] for r in db.rows(tracker, "SELECT id FROM nodes")]
    assert len(ids) == len(set(ids)), f"duplicate node rows: {ids}"
    for i in ids:
        assert HEX32.fullmatch(i), f"node id {i!r} in the nodes table"
    holdings = db.rows(tracker, "SELECT path, node_id FROM holdings")
    assert len(holdings) == len(set(holdings)), \
        f"duplicate holdings rows: {sorted(holdings)}"
    orphans = {n for _, n in holdings} - set(ids)
    assert not orphans, f"holdings of nodes not in `nodes`: {orphans}"
    locks = db.rows(tracker, "SELECT path, node_id, token FROM locks")
    assert len({p for p, _, _ in locks}) == len(locks), \
        f"duplicate lock rows: {locks}"
    orphans = {n for _, n, _ in locks} - set(ids)
    assert not orphans, f"locks of nodes not in `nodes`: {orphans}"
    tok = db.rows(tracker, "SELECT value FROM meta WHERE key = 'token'")
    token = int(tok[0][0]) if tok else None
    for p, _, t in locks:
        assert token is not None and int(t) <= token, \
            f"lock {p} has token {t} beyond meta's last token {token}"
    return {"ids": ids, "token": token, "holdings": holdings,
            "locks": {p: (n, int(t)) for p, n, t in locks}}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request):
    if request.param == "sqlite":
        return Db("sqlite")
    return Db("postgresql", request.getfixturevalue("pg_db_url"))


@pytest.fixture
def cluster(tmp_path):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


# ---------------------------------------------------------------------------
# helpers


def norm(path):
    """A path as the tests compare them: without the leading slash."""
    return path.lstrip("/")


def quote(path):
    return urllib.parse.quote(norm(path), safe="/")


def start_tracked(cluster, n, db=None, expire=EXPIRE, options=()):
    """n nodes (made first: the tracker joins their key) and a tracker;
    the nodes know only the tracker.  Waits until each sees all n alive."""
    nodes = [cluster.new_node(peers=[], options=options) for _ in range(n)]
    tracker = Tracker(cluster, db=db.arg() if db else None, expire=expire)
    tracker.start()
    for x in nodes:
        assert not (x.dir / ".shoal" / "peers").exists()
        x.args = ["--tracker", tracker.addr]
        x.start()
    cluster.wait_alive(nodes, n, timeout=JOIN)
    return tracker, nodes


def files_of(tree_):
    """{path: sha256} of a tree()'s files (folders left out)."""
    return {k: v for k, v in tree_.items() if v != "dir"}


def expected_listing(node):
    """{path: (size, sha256)} of the files in a node's folder."""
    out = {}
    for path, digest in files_of(node.tree()).items():
        out[path] = ((node.dir / path).stat().st_size, digest)
    return out


def listing_matches(tracker, expected, holders, prefix=""):
    """The tracker's /v1/list when it shows exactly `expected` ({path:
    (size, sha256)}) with exactly `holders` (ids) for each path, once
    each; else None."""
    files = tracker.list_all(prefix)
    got = {}
    for f in files:
        p = norm(f["path"])
        if p in got:
            return None         # holders disagree (yet)
        got[p] = f
    if set(got) != set(expected):
        return None
    for p, f in got.items():
        if (f["size"], f["sha256"]) != expected[p]:
            return None
        if sorted(f["holders"]) != sorted(holders):
            return None
    return files


def tracker_diag(tracker):
    def diag():
        try:
            return {"nodes": tracker.nodes(),
                    "files": tracker.list_all()}
        except Exception as e:  # noqa: BLE001 (only for the message)
            return f"tracker not answering: {e!r}"
    return diag


def wait_listing(tracker, expected, holders, timeout=TRACKED, what=None):
    return wait_for(lambda: listing_matches(tracker, expected, holders),
                    timeout, what or "the tracker to list every file with "
                    "every holder", diag=tracker_diag(tracker))


def live_nodes_are(tracker, nodes):
    """True when /v1/nodes lists exactly `nodes`, each once, live, with
    its own addresses."""
    try:
        listed = tracker.nodes()
    except OSError:
        return False
    ids = [n["id"] for n in listed]
    if sorted(ids) != sorted(x.id for x in nodes):
        return False
    by_id = {n["id"]: n for n in listed}
    return all(by_id[x.id]["state"] == "live" and
               by_id[x.id]["peer_addr"] == x.peer_addr for x in nodes)


def wait_nodes(tracker, nodes, timeout=TRACKED, what=None):
    wait_for(lambda: live_nodes_are(tracker, nodes), timeout,
             what or f"the tracker to list exactly "
             f"{[x.name for x in nodes]} as live",
             diag=lambda: tracker.get("/v1/nodes"))


def cli_json(node, *args):
    r = node.cli(*args, "--json")
    assert r.returncode == 0, \
        f"{node.name}: shoal {' '.join(args)} --json exited " \
        f"{r.returncode}:\n{r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def as_files(doc):
    """The file entries of a listing: a bare list or {"files": [...]}."""
    if isinstance(doc, dict):
        doc = doc["files"]
    assert isinstance(doc, list), doc
    return doc


def lock(node, path, *args):
    """`shoal -C node lock PATH [args] --json`: the lock object."""
    return cli_json(node, "lock", path, *args)


def check_lock_object(lk, path, holder, owner="(node)", ttl=600):
    assert norm(lk["path"]) == norm(path), lk
    assert lk["holder"] == holder.id, lk
    assert lk["owner"] == owner, lk
    assert isinstance(lk["token"], int) and lk["token"] >= 1, lk
    assert isinstance(lk["expires_ms"], int), lk
    assert abs(lk["expires_ms"] / 1000 - time.time() - lk["remaining_s"]) \
        < 30, lk
    assert 0 < lk["remaining_s"] <= ttl, lk
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                        lk["expires"]), lk
    return lk


def node_locks(node):
    """{path: lock} as a node knows them (its GET /v1/locks)."""
    return {norm(k["path"]): k for k in node.api("/v1/locks")["locks"]}


def http_as(node, method, path, data=None, headers=(), user=GUEST):
    """One request to a node's HTTP API with curl, as an FTP user
    (Basic auth); returns (status, body)."""
    with tempfile.TemporaryDirectory() as d:
        body = Path(d, "body")
        cmd = ["curl", "-sS", "--max-time", str(int(NET_TIMEOUT)),
               "-o", str(body), "-w", "%{http_code}", "-X", method]
        if user:
            cmd += ["-u", f"{user[0]}:{user[1]}"]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            cmd += ["--data-binary", "@-"]
        cmd.append(f"http://{node.http_addr}{path}")
        p = subprocess.run(cmd, input=data, capture_output=True,
                           timeout=NET_TIMEOUT + 30)
        code = int(p.stdout.decode() or 0)
        return code, body.read_bytes() if body.exists() else b""


def put_as(node, path, data, headers=()):
    return http_as(node, "PUT", "/v1/files/" + quote(path), data, headers)


def refused_450(ftp, name, data, pattern):
    """STOR must be refused with a 450 reply matching pattern."""
    with pytest.raises(ftplib.error_temp) as e:
        stor(ftp, name, data)
    msg = str(e.value)
    assert msg.startswith("450"), msg
    assert re.search(pattern, msg), msg
    return msg


# ---------------------------------------------------------------------------
# 1. discovery through the tracker


def test_nodes_find_each_other_through_the_tracker(db, cluster):
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    if db.kind == "sqlite":
        assert "database sqlite:" in tracker.log()
        assert tracker.sqlite_path.exists(), \
            "the default database is not T/.shoal/tracker.db"
    else:
        assert "database postgresql" in tracker.log()

    # members of each other, learnt from the tracker alone
    for x in nodes:
        states = x.member_states()
        for y in nodes:
            if y is not x:
                assert states.get(y.id) == "alive", (x.name, states)
        assert nets(x.ftp()) == 3

    data = os.urandom(200000)
    assert stor(n1.ftp(), "hello.bin", data).startswith("226")
    cluster.wait_tree({"hello.bin": sha256(data)}, nodes, REPLICATE)

    # the tracker's view
    wait_nodes(tracker, nodes)
    wait_for(lambda: all(n["files"] == 1 for n in tracker.nodes()),
             TRACKED, "every node to count 1 file at the tracker",
             diag=lambda: tracker.nodes())
    listed = {n["id"]: n for n in tracker.nodes()}
    for x in nodes:
        n = listed[x.id]
        assert n["peer_addr"] == x.peer_addr, n
        assert n["http_addr"] == x.http_addr, n
        assert isinstance(n["last_heartbeat_s"], (int, float)), n
        assert 0 <= n["last_heartbeat_s"] <= EXPIRE, n

    # `peers --json`: the members, with what the tracker knows of them
    def peers_show_files(x):
        by_id = {p["id"]: p for p in x.peers()}
        for y in nodes:
            if y is x and y.id not in by_id:
                continue        # a node need not list itself
            p = by_id.get(y.id)
            if p is None or p.get("files") != 1:
                return False
            if not isinstance(p.get("last_heartbeat_s"), (int, float)):
                return False
        return by_id
    for x in nodes:
        by_id = wait_for(lambda: peers_show_files(x), TRACKED,
                         f"{x.name}'s peers to show files and heartbeats",
                         diag=x.peers)
        for y in nodes:
            if y.id in by_id:
                assert 0 <= by_id[y.id]["last_heartbeat_s"] <= EXPIRE, \
                    by_id[y.id]
            if y is not x:
                assert by_id[y.id]["state"] == "alive", by_id[y.id]
    r = n1.cli("peers")
    assert r.returncode == 0, r.stderr
    assert "FILES" in r.stdout and "BEAT" in r.stdout, r.stdout

    # the database holds each node once
    ids = sorted(x.id for x in nodes)
    wait_for(lambda: sorted(check_db_running(tracker, db)) == ids, TRACKED,
             "the nodes table to hold the three nodes",
             diag=lambda: check_db_running(tracker, db))
    tracker.stop()
    check_db(tracker, db)


def check_db_running(tracker, db):
    """Node ids in the `nodes` table while the tracker runs."""
    return [r[0] for r in db.rows(tracker, "SELECT id FROM nodes")]


# ---------------------------------------------------------------------------
# 2. the files listing


def test_listing_shows_every_file_and_holder(db, cluster):
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    ids = [x.id for x in nodes]
    f = n1.ftp()
    f.mkd("docs")
    a, b = b"alpha\n" * 7, os.urandom(100003)
    assert stor(f, "a.txt", a).startswith("226")
    assert stor(f, "docs/b.bin", b).startswith("226")
    c = b"written on n2\n"
    assert stor(n2.ftp(), "c.txt", c).startswith("226")
    assert stor(n3.ftp(), "empty.txt", b"").startswith("226")
    tree_ = {"a.txt": sha256(a), "docs/": "dir", "docs/b.bin": sha256(b),
             "c.txt": sha256(c), "empty.txt": sha256(b"")}
    cluster.wait_tree(tree_, nodes, REPLICATE)
    expected = expected_listing(n1)
    assert expected == {"a.txt": (len(a), sha256(a)),
                        "docs/b.bin": (len(b), sha256(b)),
                        "c.txt": (len(c), sha256(c)),
                        "empty.txt": (0, sha256(b""))}

    files = wait_listing(tracker, expected, ids)
    by_path = {norm(x["path"]): x for x in files}
    for p, x in by_path.items():
        assert HEX64.fullmatch(x["sha256"]), x
        assert isinstance(x["size"], int), x
        assert VERSION_RE.fullmatch(x["version"]), x
    # the version vector names the node that wrote the file
    assert n1.id[:8] + ":" in by_path["a.txt"]["version"], by_path["a.txt"]
    assert n2.id[:8] + ":" in by_path["c.txt"]["version"], by_path["c.txt"]
    assert n3.id[:8] + ":" in by_path["empty.txt"]["version"]

    # pages: limit and after
    assert tracker.list_all(limit=1) == files
    assert tracker.list_all(limit=3) == files
    page = tracker.json("/v1/list?limit=2")
    assert [x["path"] for x in page["files"]] == \
        [x["path"] for x in files[:2]]
    assert page["next"] == files[1]["path"], page
    after = tracker.json("/v1/list?" + urllib.parse.urlencode(
        {"after": files[1]["path"]}))
    assert after["files"] == files[2:] and after["next"] is None, after
    # a prefix
    docs = tracker.list_all("docs")
    assert [norm(x["path"]) for x in docs] == ["docs/b.bin"], docs

    # one path
    one = tracker.json("/v1/files/docs/b.bin")
    assert norm(one["path"]) == "docs/b.bin", one
    assert len(one["versions"]) == 1, one
    v = one["versions"][0]
    assert (v["size"], v["sha256"]) == (len(b), hashlib.sha256(b).hexdigest())
    assert sorted(v["holders"]) == sorted(ids), v
    assert v["version"] == by_path["docs/b.bin"]["version"], (v, by_path)
    status, body = tracker.get("/v1/files/missing.txt")
    assert status == 404, body
    status, body = tracker.get("/v1/files/docs/nope.bin")
    assert status == 404, body

    # through a node: `ls --all --json`, its text form and GET /v1/all
    for x in (n1, n3):
        got = as_files(cli_json(x, "ls", "--all"))
        assert {norm(e["path"]): (e["size"], e["sha256"], e["version"],
                                  sorted(e["holders"])) for e in got} == \
            {norm(e["path"]): (e["size"], e["sha256"], e["version"],
                               sorted(e["holders"])) for e in files}, got
    got = as_files(cli_json(n2, "ls", "--all", "docs"))
    assert [norm(e["path"]) for e in got] == ["docs/b.bin"], got
    r = n2.cli("ls", "--all")
    assert r.returncode == 0, r.stderr
    for p, (size, digest) in expected.items():
        line = next((ln for ln in r.stdout.splitlines() if p in ln), None)
        assert line is not None, f"`ls --all` misses {p}:\n{r.stdout}"
        assert str(size) in line and digest[:12] in line, line
    code, body = n2.http("GET", "/v1/all")
    assert code == 200, body
    assert as_files(json.loads(body)) == files
    code, body = n2.http("GET", "/v1/all/docs")
    assert code == 200, body
    assert [norm(e["path"]) for e in as_files(json.loads(body))] == \
        ["docs/b.bin"]

    # a change moves the version on and keeps one entry per path
    a2 = b"alpha, changed on n3\n"
    assert stor(n3.ftp(), "a.txt", a2).startswith("226")
    tree_["a.txt"] = sha256(a2)
    cluster.wait_tree(tree_, nodes, REPLICATE)
    expected["a.txt"] = (len(a2), sha256(a2))
    files = wait_listing(tracker, expected, ids)
    va = next(x for x in files if norm(x["path"]) == "a.txt")["version"]
    assert n3.id[:8] + ":" in va, va

    # the database: one holdings row per (path, node)
    want = sorted((p, i) for p in expected for i in ids)

    def holdings():
        return sorted((norm(p), n) for p, n in db.rows(
            tracker, "SELECT path, node_id FROM holdings"))
    wait_for(lambda: holdings() == want, TRACKED,
             "holdings to be one row per file and node", diag=holdings)
    rows = db.rows(tracker, "SELECT path, size, sha256 FROM holdings")
    for p, size, digest in rows:
        assert (int(size), digest.lower()) == expected[norm(p)], (p, size)
    tracker.stop()
    check_db(tracker, db)


# ---------------------------------------------------------------------------
# 3. locks


def test_locks(db, cluster):
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    f1, f2 = n1.ftp(), n2.ftp()
    f1.mkd("docs")
    assert stor(f1, "a.txt", b"one\n").startswith("226")
    assert stor(f1, "docs/f.txt", b"f\n").startswith("226")
    tree_ = {"a.txt": sha256(b"one\n"), "docs/": "dir",
             "docs/f.txt": sha256(b"f\n")}
    cluster.wait_tree(tree_, nodes, REPLICATE)

    # n1 locks a.txt
    lk = check_lock_object(lock(n1, "/a.txt"), "a.txt", n1)
    t1 = lk["token"]
    t = tracker.locks()["a.txt"]
    assert (t["holder"], t["owner"], t["token"]) == (n1.id, "(node)", t1), t
    wait_for(lambda: "a.txt" in node_locks(n2), TRACKED,
             "n2 to learn of the lock", diag=lambda: node_locks(n2))
    assert node_locks(n2)["a.txt"]["token"] == t1

    # renewing keeps the token
    again = check_lock_object(lock(n1, "/a.txt"), "a.txt", n1)
    assert again["token"] == t1, (lk, again)
    assert again["expires_ms"] >= lk["expires_ms"], (lk, again)

    # writes through n2 are refused: FTP 450, HTTP 423
    msg = refused_450(f2, "a.txt", b"from n2\n", r"locked by")
    assert n1.id[:8] in msg, msg
    with pytest.raises(ftplib.error_temp, match=r"^450.*locked by"):
        f2.delete("a.txt")
    with pytest.raises(ftplib.error_temp, match=r"^450.*locked by"):
        f2.rename("a.txt", "b.txt")
    code, body = put_as(n2, "a.txt", b"http from n2\n")
    assert code == 423, body
    code, body = http_as(n2, "DELETE", "/v1/files/a.txt")
    assert code == 423, body
    assert n2.tree() == tree_ and n1.tree() == tree_

    # ... and so are writes to what holds it (folders above a lock)
    lock(n1, "/docs/f.txt")
    wait_for(lambda: "docs/f.txt" in node_locks(n2), TRACKED,
             "n2 to learn of the lock on docs/f.txt")
    refused_450(f2, "docs/f.txt", b"x", r"locked by")
    with pytest.raises(ftplib.error_temp, match=r"^450.*locked by"):
        f2.rename("docs", "docs2")
    code, body = http_as(n2, "POST", "/v1/move",
                         json.dumps({"from": "docs", "to": "docs2"}).encode(),
                         headers=["Content-Type: application/json"])
    assert code == 423, body
    # a sibling is free
    assert stor(f2, "docs/g.txt", b"g").startswith("226")
    tree_["docs/g.txt"] = sha256(b"g")

    # the holder's node writes (any of its users: a (node) lock)
    assert stor(f1, "a.txt", b"two, by n1\n").startswith("226")
    code, body = put_as(n1, "a.txt", b"three, by n1\n")
    assert 200 <= code < 300, body
    tree_["a.txt"] = sha256(b"three, by n1\n")
    cluster.wait_tree(tree_, nodes, REPLICATE)

    # n2 cannot take it: the CLI and the API name the holder
    r = n2.cli("lock", "/a.txt")
    assert r.returncode != 0, r.stdout
    assert n1.id[:8] in r.stdout + r.stderr, r.stdout + r.stderr
    code, body = n2.http("POST", "/v1/locks/a.txt", body={})
    assert code == 423, body
    assert json.loads(body)["lock"]["holder"] == n1.id, body
    code, body = n2.http("DELETE", "/v1/locks/a.txt")
    assert code == 409, body
    assert tracker.locks()["a.txt"]["token"] == t1

    # unlock: n2 may write again
    r = n1.cli("unlock", "/a.txt")
    assert r.returncode == 0, r.stderr
    assert re.search(r"unlocked /?a\.txt", r.stdout), r.stdout
    wait_for(lambda: "a.txt" not in tracker.locks(), 5,
             "the tracker to drop the lock", diag=tracker.locks)
    wait_for(lambda: "a.txt" not in node_locks(n2), TRACKED,
             "n2 to learn of the unlock", diag=lambda: node_locks(n2))
    assert stor(f2, "a.txt", b"four, by n2\n").startswith("226")
    code, body = put_as(n2, "a.txt", b"five, by n2\n")
    assert 200 <= code < 300, body
    tree_["a.txt"] = sha256(b"five, by n2\n")
    cluster.wait_tree(tree_, nodes, REPLICATE)
    code, body = n1.http("DELETE", "/v1/locks/a.txt")
    assert code == 404, body

    # a new grant has a larger token; a stale token is refused
    lk2 = check_lock_object(lock(n1, "/a.txt"), "a.txt", n1)
    t2 = lk2["token"]
    assert t2 > t1, (t1, t2)
    code, body = put_as(n1, "a.txt", b"stale\n",
                        headers=[f"Shoal-Lock-Token: {t1}"])
    assert code == 409, body
    f1 = n1.ftp()
    assert f1.sendcmd(f"SITE LOCKTOKEN {t1}").startswith("2")
    refused_450(f1, "a.txt", b"stale over ftp\n",
                rf"stale fencing token {t1} for /?a\.txt")
    assert n1.tree() == tree_
    code, body = put_as(n1, "a.txt", b"fenced\n",
                        headers=[f"Shoal-Lock-Token: {t2}"])
    assert 200 <= code < 300, body
    f1 = n1.ftp()
    assert f1.sendcmd(f"SITE LOCKTOKEN {t2}").startswith("2")
    assert stor(f1, "a.txt", b"fenced over ftp\n").startswith("226")
    tree_["a.txt"] = sha256(b"fenced over ftp\n")
    cluster.wait_tree(tree_, nodes, REPLICATE)

    # the lock API of a node, with a user as owner
    code, body = http_as(n3, "POST", "/v1/locks/c.txt",
                         json.dumps({"ttl": 60}).encode(),
                         headers=["Content-Type: application/json"])
    assert code == 200, body
    lk3 = check_lock_object(json.loads(body), "c.txt", n3, owner="guest",
                            ttl=60)
    assert lk3["token"] > t2
    code, body = http_as(n3, "DELETE", "/v1/locks/c.txt")
    assert code == 200, body
    doc = json.loads(body)
    assert norm(doc["path"]) == "c.txt" and doc["released"] is True, doc

    # a short lease ends by itself
    lk4 = check_lock_object(lock(n1, "/b.txt", "--ttl", "2"), "b.txt", n1,
                            ttl=2)
    assert lk4["token"] > lk3["token"]
    wait_for(lambda: "b.txt" not in tracker.locks(), 15,
             "the 2 s lock to expire", diag=tracker.locks)

    def n2_writes_b():
        try:
            return stor(n2.ftp(), "b.txt", b"b by n2\n").startswith("226")
        except ftplib.error_temp:
            return False
    wait_for(n2_writes_b, 15, "n2 to write b.txt once the lease ended")

    # the tracker's and the database's view of the tokens
    held = tracker.locks()
    assert set(held) == {"a.txt", "docs/f.txt"}, held
    assert held["a.txt"]["token"] == t2
    want = {"a.txt": (n1.id, str(t2)),
            "docs/f.txt": (n1.id, str(held["docs/f.txt"]["token"]))}

    def lock_rows():
        return {norm(p): (n, t) for p, n, t in db.rows(
            tracker, "SELECT path, node_id, token FROM locks")}
    wait_for(lambda: lock_rows() == want, TRACKED,
             "the locks table to hold the two locks", diag=lock_rows)
    tracker.stop()
    st = check_db(tracker, db)
    assert st["token"] == lk4["token"], st

    # a node without a tracker cannot lock
    lone = cluster.new_node(name="lone", join=False, peers=[])
    lone.start()
    r = lone.cli("lock", "/a.txt")
    assert r.returncode != 0, r.stdout
    assert "locking needs a tracker" in r.stdout + r.stderr, \
        r.stdout + r.stderr


def test_lock_text_output(cluster):
    """`lock` and `unlock` for people: "locked PATH: token N, held by node
    NODE until TIME" (a lock taken with the node's token), "unlocked
    PATH"."""
    tracker, nodes = start_tracked(cluster, 2)
    n1, n2 = nodes
    r = n1.cli("lock", "/t.txt")
    assert r.returncode == 0, r.stderr
    text_re = re.compile(r"locked /?t\.txt: token (\d+), held by node (\S+) "
                         r"until (\S+)")
    m = text_re.search(r.stdout)
    assert m, r.stdout
    token = int(m.group(1))
    assert n1.id.startswith(m.group(2)), r.stdout
    assert tracker.locks()["t.txt"]["token"] == token
    # renewing: the same line, the same token
    r = n1.cli("lock", "/t.txt", "--ttl", "30")
    assert r.returncode == 0, r.stderr
    m = text_re.search(r.stdout)
    assert m and int(m.group(1)) == token, r.stdout
    # someone else: a failure naming the holder
    r = n2.cli("lock", "/t.txt")
    assert r.returncode != 0, r.stdout
    assert n1.id[:8] in r.stdout + r.stderr, r.stdout + r.stderr
    r = n1.cli("unlock", "/t.txt")
    assert r.returncode == 0, r.stderr
    assert re.search(r"unlocked /?t\.txt", r.stdout), r.stdout


def test_lock_holds_back_other_nodes_changes(cluster):
    """A change to a locked path made by another node is not applied
    while the lock lasts; it is taken up once the lock ends."""
    tracker, nodes = start_tracked(cluster, 3)
    n1, n2, n3 = nodes
    assert stor(n1.ftp(), "a.txt", b"one\n").startswith("226")
    cluster.wait_tree({"a.txt": sha256(b"one\n")}, nodes, REPLICATE)
    lock(n1, "/a.txt")
    wait_for(lambda: all("a.txt" in node_locks(x) for x in nodes), TRACKED,
             "every node to learn of the lock")

    # n2 changes a.txt behind FTP's back, and a free file as a control
    (n2.dir / "a.txt").write_bytes(b"changed on n2's disk\n")
    (n2.dir / "free.txt").write_bytes(b"free\n")
    cluster.wait_tree({"a.txt": sha256(b"one\n"),
                       "free.txt": sha256(b"free\n")}, [n1, n3], REPLICATE,
                      "free.txt to reach n1 and n3")
    time.sleep(2)       # a.txt had every chance free.txt had
    for x in (n1, n3):
        assert (x.dir / "a.txt").read_bytes() == b"one\n", \
            f"{x.name} applied n2's change to a locked path"

    r = n1.cli("unlock", "/a.txt")
    assert r.returncode == 0, r.stderr
    cluster.wait_tree({"a.txt": sha256(b"changed on n2's disk\n"),
                       "free.txt": sha256(b"free\n")}, nodes, REPLICATE,
                      "n2's change to be taken up after the unlock")


# ---------------------------------------------------------------------------
# 4. the tracker killed and restarted


class Writer(threading.Thread):
    """Stores small files through the given nodes in turn until told to
    stop; remembers what it wrote and any error."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.halt = threading.Event()
        self.written = {}
        self.errors = []

    def run(self):
        try:
            ftps = [x.ftp() for x in self.nodes]
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"login: {e!r}")
            return
        i = 0
        while not self.halt.is_set():
            name = f"w{i:04d}.txt"
            data = f"written while the tracker may be down: {i}\n".encode()
            try:
                r = stor(ftps[i % len(ftps)], name, data)
                if not r.startswith("226"):
                    self.errors.append(f"{name}: {r}")
                else:
                    self.written[name] = sha256(data)
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"{name}: {e!r}")
            i += 1
            time.sleep(0.03)

    def wait_count(self, n, timeout=30):
        start = len(self.written)
        wait_for(lambda: len(self.written) >= start + n or self.errors,
                 timeout, f"{n} more files written")
        assert not self.errors, self.errors

    def finish(self):
        self.halt.set()
        self.join(NET_TIMEOUT * 2)
        assert not self.is_alive(), "the writer thread hangs"
        assert not self.errors, self.errors


def test_tracker_killed_and_restarted(db, cluster):
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    la = check_lock_object(lock(n1, "/held-by-n1.txt"), "held-by-n1.txt", n1)
    lb = check_lock_object(lock(n2, "/held-by-n2.txt"), "held-by-n2.txt", n2)
    assert lb["token"] > la["token"]

    writer = Writer(nodes)
    writer.start()
    try:
        writer.wait_count(10)
        # granted means committed: this one must outlive the kill
        lc = check_lock_object(lock(n3, "/last.txt"), "last.txt", n3)
        assert lc["token"] > lb["token"]
        tracker.kill()
        writer.wait_count(25)       # the nodes keep taking writes
        for x in nodes:
            assert x.alive() == 3, x.name
        tracker.start()
        wait_nodes(tracker, nodes, REGISTER,
                   "every node to register again after the restart")
        writer.wait_count(10)
    finally:
        writer.finish()

    tree_ = dict(writer.written)
    cluster.wait_tree(tree_, nodes, REPLICATE)
    expected = expected_listing(n1)
    wait_listing(tracker, expected, [x.id for x in nodes],
                 what="the tracker to list every file with every holder "
                 "after the restart")
    listed = tracker.nodes()
    assert sorted(n["id"] for n in listed) == sorted(x.id for x in nodes)

    # the locks outlived the crash, same holders, same tokens
    held = tracker.locks()
    for path, lk, x in (("held-by-n1.txt", la, n1), ("held-by-n2.txt", lb, n2),
                        ("last.txt", lc, n3)):
        assert path in held, held
        assert held[path]["holder"] == x.id, held[path]
        assert held[path]["token"] == lk["token"], held[path]
        assert 0 < held[path]["remaining_s"] <= lk["remaining_s"], held[path]
    # ... and are still enforced
    wait_for(lambda: "held-by-n1.txt" in node_locks(n2), TRACKED,
             "n2 to know n1's lock after the restart")
    refused_450(n2.ftp(), "held-by-n1.txt", b"x", r"locked by")
    # no token is granted twice
    ld = check_lock_object(lock(n1, "/after.txt"), "after.txt", n1)
    assert ld["token"] > lc["token"], (lc, ld)

    def db_ids():
        return sorted(check_db_running(tracker, db))
    wait_for(lambda: db_ids() == sorted(x.id for x in nodes), TRACKED,
             "the nodes table to hold each node once", diag=db_ids)
    tracker.stop()
    st = check_db(tracker, db)
    assert st["token"] == ld["token"], st


def test_node_that_does_not_return_after_a_restart_is_dropped(db, cluster):
    """After a restart the tracker reloads the nodes ("returning"); one
    that does not register again within an expiry interval is dropped,
    with its holdings and its locks."""
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    assert stor(n3.ftp(), "from-n3.txt", b"n3").startswith("226")
    cluster.wait_tree({"from-n3.txt": sha256(b"n3")}, nodes, REPLICATE)
    expected = expected_listing(n1)
    wait_listing(tracker, expected, [x.id for x in nodes])
    lk = check_lock_object(lock(n3, "/from-n3.txt"), "from-n3.txt", n3)

    tracker.kill()
    n3.kill()           # no goodbye reaches anyone
    tracker.start()

    def n3_returning():
        entry = [n for n in tracker.nodes() if n["id"] == n3.id]
        return entry and entry[0]["state"] == "returning"
    wait_for(n3_returning, EXPIRE / 2, "the tracker to list n3 as "
             "returning after reloading it", diag=tracker_diag(tracker))
    assert tracker.locks()["from-n3.txt"]["token"] == lk["token"]
    wait_nodes(tracker, [n1, n2], 2 * EXPIRE + 2,
               "n3 to be dropped one expiry after the restart")
    wait_listing(tracker, expected, [n1.id, n2.id])
    assert "from-n3.txt" not in tracker.locks()
    # n3's lock ended: n1 may write the file and lock it
    wait_for(lambda: "from-n3.txt" not in node_locks(n1), TRACKED,
             "n1 to learn that n3's lock ended")
    assert stor(n1.ftp(), "from-n3.txt", b"n1").startswith("226")
    lk2 = check_lock_object(lock(n1, "/from-n3.txt"), "from-n3.txt", n1)
    assert lk2["token"] > lk["token"]

    def db_ids():
        return sorted(check_db_running(tracker, db))
    wait_for(lambda: db_ids() == sorted([n1.id, n2.id]), TRACKED,
             "n3's row to be deleted", diag=db_ids)
    tracker.stop()
    st = check_db(tracker, db)
    assert n3.id not in {n for _, n in st["holdings"]}, st


# ---------------------------------------------------------------------------
# 5. nodes leaving


def test_killed_node_expires(cluster):
    tracker, nodes = start_tracked(cluster, 3)
    n1, n2, n3 = nodes
    assert stor(n1.ftp(), "a.txt", b"a").startswith("226")
    assert stor(n3.ftp(), "b.txt", b"b").startswith("226")
    cluster.wait_tree({"a.txt": sha256(b"a"), "b.txt": sha256(b"b")},
                      nodes, REPLICATE)
    expected = expected_listing(n1)
    wait_listing(tracker, expected, [x.id for x in nodes])
    lock(n3, "/b.txt")
    assert "b.txt" in tracker.locks()
    wait_nodes(tracker, nodes)

    n3.kill()

    def n3_gone():
        if n3.id in tracker.node_ids():
            return False
        if any(n3.id in f["holders"] for f in tracker.list_all()):
            return False
        return "b.txt" not in tracker.locks()
    # expiry (4 s) + one heartbeat (1 s), generously
    wait_for(n3_gone, 2 * EXPIRE + 2, "n3 to be dropped by the tracker",
             diag=tracker_diag(tracker))
    assert live_nodes_are(tracker, [n1, n2])
    assert listing_matches(tracker, expected, [n1.id, n2.id])
    status, doc = tracker.get("/v1/files/b.txt")
    assert status == 200 and n3.id not in doc["versions"][0]["holders"]


def test_bye_and_sigterm_leave_the_tracker_at_once(cluster):
    # expiry is a minute: what the test sees must come from the leaving
    tracker, nodes = start_tracked(cluster, 3, expire=60)
    n1, n2, n3 = nodes
    assert stor(n1.ftp(), "a.txt", b"a").startswith("226")
    cluster.wait_tree({"a.txt": sha256(b"a")}, nodes, REPLICATE)
    expected = expected_listing(n1)
    wait_listing(tracker, expected, [x.id for x in nodes])
    lock(n3, "/a.txt")

    r = n3.cli("bye")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: n3.id not in tracker.node_ids() and
             listing_matches(tracker, expected, [n1.id, n2.id]) and
             "a.txt" not in tracker.locks(), 5,
             "n3 to leave the tracker on `bye`", diag=tracker_diag(tracker))
    try:
        rc = n3.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("n3 still runs 10 s after `bye`")
    assert rc == 0
    cluster.reaped.add(n3.proc.pid)

    n2.stop()       # SIGTERM: a clean shutdown says goodbye too
    wait_for(lambda: n2.id not in tracker.node_ids() and
             listing_matches(tracker, expected, [n1.id]), 5,
             "n2 to leave the tracker on SIGTERM",
             diag=tracker_diag(tracker))
    assert live_nodes_are(tracker, [n1])


# ---------------------------------------------------------------------------
# 6. the tracker down


def test_nodes_work_while_the_tracker_is_down(cluster):
    tracker, nodes = start_tracked(cluster, 3)
    n1, n2, n3 = nodes
    assert stor(n1.ftp(), "before.txt", b"before").startswith("226")
    tree_ = {"before.txt": sha256(b"before")}
    cluster.wait_tree(tree_, nodes, REPLICATE)

    tracker.stop()
    down_at = time.monotonic()
    assert stor(n2.ftp(), "down-1.txt", b"down 1").startswith("226")
    tree_["down-1.txt"] = sha256(b"down 1")
    cluster.wait_tree(tree_, nodes, REPLICATE)
    # longer than the expiry the nodes were told
    while time.monotonic() < down_at + EXPIRE + 2:
        time.sleep(0.1)
    for x in nodes:
        assert x.running(), f"{x.name} died without its tracker"
        assert x.alive() == 3, x.name
        assert nets(x.ftp()) == 3
    assert stor(n3.ftp(), "down-2.txt", b"down 2").startswith("226")
    f = n1.ftp()
    assert f.delete("before.txt").startswith("250")
    del tree_["before.txt"]
    tree_["down-2.txt"] = sha256(b"down 2")
    cluster.wait_tree(tree_, nodes, REPLICATE)
    assert retr(n1.ftp(), "down-2.txt") == b"down 2"

    tracker.start()
    wait_nodes(tracker, nodes, REGISTER,
               "every node to register again when the tracker returns")
    wait_listing(tracker, expected_listing(n1), [x.id for x in nodes])


# ---------------------------------------------------------------------------
# 7. bad input


SQL_NAMES = ["x'; DROP TABLE holdings; --.txt", '100%_"q".txt',
             "pct%_dir/inner.txt", "pctXYdir/other.txt",
             "back\\slash 'n' \"quotes\".txt"]


def test_sql_metacharacters_in_names(db, cluster):
    tracker, nodes = start_tracked(cluster, 3, db)
    n1, n2, n3 = nodes
    f = n1.ftp()
    f.mkd("pct%_dir")
    f.mkd("pctXYdir")
    tree_ = {"pct%_dir/": "dir", "pctXYdir/": "dir"}
    for i, name in enumerate(SQL_NAMES):
        data = f"{i}: {name}\n".encode()
        assert stor(f, name, data).startswith("226")
        tree_[name] = sha256(data)
    cluster.wait_tree(tree_, nodes, REPLICATE)
    expected = expected_listing(n1)
    assert set(expected) == set(SQL_NAMES)
    ids = [x.id for x in nodes]
    wait_listing(tracker, expected, ids)

    for name in SQL_NAMES:
        doc = tracker.json("/v1/files/" + quote(name))
        assert norm(doc["path"]) == name, doc
        assert doc["versions"][0]["sha256"] == expected[name][1], doc
    # LIKE's wildcards are not wildcards in a prefix
    assert [norm(x["path"]) for x in tracker.list_all("pct%_dir")] == \
        ["pct%_dir/inner.txt"]
    status, _ = tracker.get("/v1/files/" + quote("x'; DROP TABLE x.txt"))
    assert status == 404
    got = as_files(cli_json(n2, "ls", "--all"))
    assert sorted(norm(e["path"]) for e in got) == sorted(SQL_NAMES), got

    # locks on such a path
    lk = check_lock_object(lock(n1, "/" + SQL_NAMES[0]), SQL_NAMES[0], n1)
    assert tracker.locks()[SQL_NAMES[0]]["token"] == lk["token"]
    wait_for(lambda: SQL_NAMES[0] in node_locks(n3), TRACKED,
             "n3 to learn of the lock")
    refused_450(n3.ftp(), SQL_NAMES[0], b"no", "locked by")
    r = n1.cli("unlock", "/" + SQL_NAMES[0])
    assert r.returncode == 0, r.stderr
    wait_for(lambda: SQL_NAMES[0] not in tracker.locks(), 5,
             "the tracker to drop the lock", diag=tracker.locks)

    # the tables are all there and hold the names literally
    paths = sorted({norm(p) for p, _ in db.rows(
        tracker, "SELECT path, node_id FROM holdings")})
    assert paths == sorted(SQL_NAMES), paths
    # and the tracker still works
    assert stor(n2.ftp(), "after.txt", b"after").startswith("226")
    tree_["after.txt"] = sha256(b"after")
    cluster.wait_tree(tree_, nodes, REPLICATE)
    wait_listing(tracker, expected_listing(n1), ids)
    tracker.stop()
    check_db(tracker, db)


def test_node_id_in_use_is_refused(cluster):
    tracker, nodes = start_tracked(cluster, 2)
    n1, n2 = nodes
    wait_nodes(tracker, nodes)

    # a fresh node of the cluster with n1's id
    dup = cluster.new_node(name="dup", peers=[])
    cluster.nodes.remove(dup)
    (dup.dir / ".shoal" / "node_id").write_text(n1.id)
    dup.id = n1.id
    dup.args = ["--tracker", tracker.addr]
    dup.start(wait=False)

    line_re = re.compile(r"node id \S* ?is in use by a live node at "
                         + re.escape(n1.peer_addr))
    wait_for(lambda: line_re.search(dup.log()) or
             line_re.search(tracker.log()), TRACKED,
             "the tracker to refuse the second n1 (a log line of the "
             "tracker or the node naming n1's address)",
             diag=lambda: {"dup": dup.log()[-2000:],
                           "tracker": tracker.log()[-2000:]})
    # n1 stays, with its own address, through several heartbeats
    for _ in range(3):
        listed = tracker.nodes()
        mine = [n for n in listed if n["id"] == n1.id]
        assert len(mine) == 1, listed
        assert mine[0]["peer_addr"] == n1.peer_addr, mine
        assert mine[0]["http_addr"] == n1.http_addr, mine
        assert mine[0]["state"] == "live", mine
        time.sleep(1)
    assert live_nodes_are(tracker, [n1, n2])
    assert n2.member_states().get(n1.id) == "alive"
    assert stor(n2.ftp(), "still.txt", b"still").startswith("226")
    cluster.wait_tree({"still.txt": sha256(b"still")}, [n1, n2], REPLICATE)
    if not dup.running():
        cluster.reaped.add(dup.proc.pid)     # refusing to run is allowed
    tracker.stop()
    st = check_db(tracker, Db("sqlite"))
    assert st["ids"].count(n1.id) <= 1, st


def test_bad_query_parameters_are_refused(cluster):
    """A listing's query string is read strictly, at the tracker and
    through a node: a limit that is not a number and a parameter given
    twice are 400 with an error, not a guess."""
    tracker, nodes = start_tracked(cluster, 1)
    n1 = nodes[0]
    wait_nodes(tracker, nodes)

    bad = ["limit=abc", "limit=-1", "limit=1x", "limit=",
           "after=a&after=b", "limit=1&limit=2", "after=%zz", "=1"]
    for q in bad:
        status, body = tracker.get("/v1/list?" + q)
        assert status == 400, (q, status, body)
        assert isinstance(body, dict) and body.get("error"), (q, body)
        code, raw = n1.http("GET", "/v1/all?" + q)
        assert code == 400, (q, code, raw)
        assert json.loads(raw).get("error"), (q, raw)

    # good ones still answer
    assert tracker.get("/v1/list?limit=2&after=a+b")[0] == 200
    assert tracker.get("/v1/list?limit=99999999999999")[0] == 200
    code, raw = n1.http("GET", "/v1/all?limit=2&after=x%2Fy")
    assert code == 200, raw
