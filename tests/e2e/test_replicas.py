"""End-to-end tests of the replication factor (docs/REPLICAS.md).

A cluster made with `shoal init DIR --replicas 2` keeps each file on two
nodes chosen for it, while every node lists and serves the whole namespace.
Each test starts real nodes on 127.0.0.1 (see cluster.py) with fast
heartbeats and a repair delay of a few seconds, writes files through FTP,
and checks what a user would see:

- copies on disk: a copy is the file under its name in a node's folder with
  the right SHA-256 (DIR/.shoal, where transfers are staged, is not looked
  at), and no file is ever present under its name with other content;
- FTP listings and reads, HTTP GET (curl with the node's API token) and
  `shoal get` on nodes with and without a copy;
- `shoal ls --all --json`, `status --json` and `GET /metrics`.

Every wait has a deadline; nothing asserts how long something took.
"""

import ftplib
import io
import json
import os
import re
import subprocess
import threading
import time
import urllib.parse

import pytest

pytest.register_assert_rewrite("cluster")

from cluster import (SHOAL, Cluster, file_sha256, ftp_tree,  # noqa: E402
                     retr, sha256, stor, wait_for)

from conftest import ReusingFTP_TLS, tls_context  # noqa: E402

pytest_plugins = ["cluster"]

KiB = 1 << 10
MiB = 1 << 20
REPLICAS = 2
REPAIR_DELAY = 3            # seconds (--repair-delay)
# A copy fetched to serve a read is kept this long (sync.read_keep).
NODE_ARGS = ["--repair-delay", str(REPAIR_DELAY), "-o", "sync.read_keep=1"]
INIT_ARGS = ["--replicas", str(REPLICAS)]
SETTLE = 90.0               # deadline for copies to reach their holders
DEAD = 15.0                 # deadline for a killed member to show as dead
HOLD = 4.5                  # seconds a settled state must last
HASH_RE = re.compile(r"^213 SHA-256 0-(\d+) ([0-9A-Fa-f]{64}) (.+)$")


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    if not SHOAL.exists():
        pytest.fail(f"{SHOAL} does not exist: build it with `ninja -C build`")
    # `shoal get` keeps a download cache under XDG_CACHE_HOME: one per test
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


def start(cluster, n, replicas=REPLICAS, **kw):
    """n nodes of a new cluster made with --replicas, all with a short
    repair delay; returns the nodes once each sees all n alive."""
    return cluster.start(n, args=NODE_ARGS,
                         init_args=["--replicas", str(replicas)], **kw)


# ---------------------------------------------------------------------------
# helpers


def norm(path):
    """A path as the tests compare them: without the leading slash."""
    return path.lstrip("/")


_sums = {}


def disk_sha(path):
    """SHA-256 of a regular file, or None when there is none; cached by
    inode, size and mtime (the files are hashed on every poll)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not os.path.isfile(path):
        return None
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _sums:
        try:
            _sums[key] = file_sha256(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
    return _sums[key]


def placement(nodes, expected):
    """{path: set of node names holding a copy with the right content}."""
    return {p: {x.name for x in nodes if disk_sha(x.path(p)) == digest}
            for p, digest in expected.items()}


def check_no_wrong_copy(nodes, expected):
    """Fail at once when a node's folder has one of the files under its
    name with other content (a partial or stale copy)."""
    bad = {}
    for x in nodes:
        for p, digest in expected.items():
            got = disk_sha(x.path(p))
            if got is not None and got != digest:
                bad.setdefault(x.name, []).append((p, got[:12],
                                                   digest[:12]))
    assert not bad, f"files present with wrong content: {bad}"


def copies_total(place):
    return {p: len(v) for p, v in place.items()}


def cli_json(node, *args):
    r = node.cli(*args, "--json")
    assert r.returncode == 0, \
        f"{node.name}: shoal {' '.join(args)} --json exited " \
        f"{r.returncode}:\n{r.stdout}{r.stderr}"
    return json.loads(r.stdout)


def ls_all(node):
    """`shoal ls --all --json` as {path: entry}."""
    doc = cli_json(node, "ls", "--all")
    files = doc["files"] if isinstance(doc, dict) else doc
    assert isinstance(files, list), doc
    return {norm(e["path"]): e for e in files}


def listed_holders(node, names):
    """{path: set of holder names} from `ls --all` (ids of nodes the test
    does not know are kept as they are)."""
    out = {}
    for p, e in ls_all(node).items():
        out[p] = {names.get(h, h) for h in e.get("holders") or []}
    return out


def wait_stable(cond, timeout, what, diag=None, hold=None, interval=0.3):
    """Like wait_for, but cond() must return the same truthy value on
    every poll for `hold` seconds (more than two repair walks, which run
    every 2 s): a state on its way elsewhere (a writer's copy not yet
    dropped, a count computed before a change) does not count."""
    hold = HOLD if hold is None else hold
    state = {"value": None, "since": 0.0}

    def stable():
        value = cond()
        now = time.monotonic()
        if not value:
            state["value"] = None
            return None
        if value != state["value"]:
            state["value"], state["since"] = value, now
        return value if now - state["since"] >= hold else None
    return wait_for(stable, timeout + hold, f"{what} (for {hold}s)",
                    diag=diag, interval=interval)


def wait_placed(cluster, expected, nodes=None, n=REPLICAS, timeout=SETTLE,
                listing=None, want=None, what=None, hold=None):
    """Wait until every file has exactly n copies on `nodes` (default: the
    running ones), or exactly the placement `want` when given, and keeps
    them for `hold` seconds; with listing (a node), also until that node's
    `ls --all` names the same holders.  Fails at once if a wrong copy shows
    anywhere.  Returns the placement."""
    nodes = nodes or cluster.running()
    names = {x.id: x.name for x in cluster.nodes}
    seen = {}

    def placed():
        check_no_wrong_copy(cluster.nodes, expected)
        place = placement(nodes, expected)
        seen["disk"] = place
        if want is not None:
            if place != want:
                return None
        elif any(len(v) != n for v in place.values()):
            return None
        if listing is not None:
            lh = listed_holders(listing, names)
            seen["listed"] = {p: lh.get(p) for p in expected}
            if any(lh.get(p) != v for p, v in place.items()):
                return None
        return place
    return wait_stable(placed, timeout,
                       what or f"every file to have exactly "
                       f"{'the old holders' if want else n} copies",
                       diag=lambda: seen, hold=hold)


def write_files(node, files):
    """STOR every {name: bytes} through node's FTP."""
    f = node.ftp()
    for name, data in files.items():
        reply = stor(f, name, data)
        assert reply.startswith("226"), (name, reply)
    f.quit()


def some_files(count, big=(), prefix="f"):
    """count files of assorted sizes; the indexes in big are 3 MiB."""
    sizes = [1, 100, 4 * KiB, 64 * KiB + 3, 300 * KiB, MiB + 1,
             2 * MiB - 7, 17, 128 * KiB, 5000, 700 * KiB, 33]
    out = {}
    for i in range(count):
        size = 3 * MiB + 12345 if i in big else sizes[i % len(sizes)]
        out[f"{prefix}{i:02d}.bin"] = os.urandom(size)
    return out


def digests(files):
    return {p: sha256(d) for p, d in files.items()}


def ftp_read(node, name):
    f = node.ftp()
    try:
        return retr(f, name)
    finally:
        f.close()


def api_token(node):
    return (node.dir / ".shoal" / "api_token").read_text().strip()


def curl_get(node, name, out):
    """GET /v1/files/NAME with curl into `out`; returns (status, curl
    process)."""
    url = f"http://{node.http_addr}/v1/files/" + \
        urllib.parse.quote(norm(name), safe="/")
    p = subprocess.run(
        ["curl", "-sS", "--max-time", "60", "-o", str(out),
         "-w", "%{http_code}", "-H",
         f"Authorization: Bearer {api_token(node)}", url],
        capture_output=True, text=True, timeout=90)
    code = p.stdout.strip()
    return (int(code) if code.isdigit() else None), p


def shoal_get(node, name, outdir):
    outdir.mkdir(parents=True, exist_ok=True)
    return node.cli("get", "/" + norm(name), "-o", outdir, timeout=90)


def metrics(node):
    code, body = node.http("GET", "/metrics")
    assert code == 200, (code, body[:300])
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


def json_strings(doc):
    """Every string in a JSON document (pins lists of any shape)."""
    if isinstance(doc, str):
        return {doc}
    if isinstance(doc, dict):
        return set().union(set(), *(json_strings(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(set(), *(json_strings(v) for v in doc))
    return set()


def pinned(node):
    code, body = node.http("GET", "/v1/pins")
    assert code == 200, (code, body[:300])
    return {norm(s) for s in json_strings(json.loads(body))}


def wait_dead(observers, victims, timeout=DEAD):
    ids = {v.id for v in victims}
    wait_for(lambda: all(all(x.member_states(True).get(i) == "dead"
                             for i in ids)
                         for x in observers), timeout,
             f"{[x.name for x in observers]} to see "
             f"{[v.name for v in victims]} dead",
             diag=lambda: {x.name: x.member_states(True)
                           for x in observers})


def status_counts(node):
    st = node.status()
    return {k: st.get(k) for k in ("replicas", "held_files",
                                   "under_replicated", "repair_bytes",
                                   "unavailable", "disk_full")}


def read_all_everywhere(nodes, files):
    """Every file read over FTP on every node gives its exact bytes."""
    for x in nodes:
        f = x.ftp()
        for name, data in files.items():
            got = retr(f, name)
            assert sha256(got) == sha256(data), \
                f"{x.name}: RETR {name} gave {len(got)} bytes, other " \
                f"content (expected {len(data)})"
        f.quit()


# ---------------------------------------------------------------------------
# 1. placement


def test_placement_two_copies_listed_everywhere(cluster):
    nodes = start(cluster, 4)
    n1 = nodes[0]
    for x in nodes:
        assert x.status()["replicas"] == REPLICAS
        assert (x.dir / ".shoal" / "replicas").read_text().strip() == \
            str(REPLICAS)

    files = some_files(12, big=(0, 5))
    files["docs/inner.bin"] = os.urandom(MiB + 77)
    f = n1.ftp()
    f.mkd("docs")
    f.quit()
    write_files(n1, files)
    expected = digests(files)

    place = wait_placed(cluster, expected, listing=n1)
    for p, holders in place.items():
        assert len(holders) == REPLICAS, (p, holders)
    # the writer kept a copy only where it is one of the two holders
    names = {x.id: x.name for x in nodes}
    listed = listed_holders(n1, names)
    for p in expected:
        if n1.name not in listed[p]:
            assert disk_sha(n1.path(p)) is None, \
                f"writer n1 still has {p} though its holders are {listed[p]}"
    # the copies are spread: more than two nodes hold something
    assert len(set().union(*place.values())) > REPLICAS, place

    # every node lists every file, and names the same holders
    for x in nodes:
        f = x.ftp()
        nlst = {norm(n) for n in f.nlst()}
        assert {p for p in expected if "/" not in p} | {"docs"} <= nlst, \
            f"{x.name}: NLST {sorted(nlst)}"
        tree = ftp_tree(f)
        assert {p for p, kind in tree.items() if kind == "file"} == \
            set(expected), f"{x.name}: MLSD {tree}"
        for name, facts in f.mlsd("/"):
            if name in files:
                assert int(facts["size"]) == len(files[name]), \
                    (x.name, name, facts)
        f.quit()
        wait_placed(cluster, expected, listing=x, timeout=30, hold=0,
                    what=f"{x.name}'s ls --all to name the holders on disk")
        entries = ls_all(x)
        for p, data in files.items():
            e = entries[p]
            assert e["size"] == len(data), (x.name, e)
            assert e["sha256"] == sha256(data), (x.name, e)
            assert len(e["holders"]) == REPLICAS, (x.name, e)

    # held_files counts the copies each node holds
    for x in nodes:
        held = sum(1 for v in place.values() if x.name in v)
        wait_for(lambda: x.status().get("held_files") == held, 30,
                 f"{x.name} to report held_files = {held}",
                 diag=lambda: status_counts(x))
    assert sum(x.status()["held_files"] for x in nodes) == \
        REPLICAS * len(files)


# ---------------------------------------------------------------------------
# 2. reads on a node without a copy


def test_reads_on_a_node_without_a_copy(cluster, tmp_path):
    nodes = start(cluster, 4)
    files = {"big.bin": os.urandom(3 * MiB + 4321),
             "mid.bin": os.urandom(MiB + 1),
             "small.txt": b"small file\n" * 7}
    files.update(some_files(6, prefix="x"))
    write_files(nodes[0], files)
    expected = digests(files)
    place = wait_placed(cluster, expected)

    for name in ("big.bin", "mid.bin", "small.txt"):
        data = files[name]
        readers = [x for x in nodes if x.name not in place[name]]
        assert readers, (name, place[name])
        # a different non-holder for each kind of read where possible
        ftp_node = readers[0]
        http_node = readers[1 % len(readers)]
        cli_node = readers[-1]

        # SIZE, MDTM and HASH answer without a copy
        f = ftp_node.ftp()
        assert f.size(name) == len(data)
        assert f.sendcmd(f"MDTM {name}").startswith("213")
        m = HASH_RE.match(f.sendcmd(f"HASH {name}"))
        assert m and m.group(2).lower() == sha256(data), m
        got = retr(f, name)
        f.quit()
        assert len(got) == len(data) and sha256(got) == sha256(data), \
            f"{ftp_node.name}: RETR {name} gave other bytes"

        out = tmp_path / f"curl-{name}"
        code, p = curl_get(http_node, name, out)
        assert code == 200, (http_node.name, name, code, p.stderr)
        assert file_sha256(out) == sha256(data), \
            f"{http_node.name}: GET {name} gave other bytes"

        outdir = tmp_path / f"get-{cli_node.name}-{name}"
        r = shoal_get(cli_node, name, outdir)
        assert r.returncode == 0, (cli_node.name, r.stdout, r.stderr)
        assert file_sha256(outdir / name) == sha256(data), \
            f"{cli_node.name}: shoal get {name} gave other bytes"

    # the copies made for those reads are dropped again: back to the
    # holders alone, and nothing wrong showed meanwhile
    wait_placed(cluster, expected, want=place)


def test_append_and_resume_on_a_node_without_a_copy(cluster):
    """APPE, and REST + STOR, on a node that holds no copy of the file
    extend the file, not an empty one: before, the node started the upload
    from nothing and the file, on every node, became the appended bytes
    alone (an acknowledged version lost)."""
    nodes = start(cluster, 3, replicas=1)
    # Enough files that at least two land away from the writer whatever
    # the node ids (with 7, about one run in 150 had a single one).
    files = {f"a{i}.bin": os.urandom(5000 + i) for i in range(16)}
    files["big.bin"] = os.urandom(2 * MiB + 17)
    write_files(nodes[0], files)
    place = wait_placed(cluster, digests(files), n=1)
    writer = nodes[0]
    away = [n for n in files if writer.name not in place[n]]
    assert len(away) >= 2, place
    expected = dict(files)
    f = writer.ftp()
    for i, name in enumerate(away):
        extra = os.urandom(300 + i)
        if i % 2 == 0:
            reply = stor(f, name, extra, cmd="APPE")
            expected[name] = files[name] + extra
        else:
            # REST n + STOR keeps the first n bytes and writes the rest.
            keep = len(files[name]) // 2
            reply = f.storbinary(f"STOR {name}", io.BytesIO(extra),
                                 rest=keep)
            expected[name] = files[name][:keep] + extra
        assert reply.startswith("226"), (name, reply)
    f.quit()
    want = digests(expected)
    # Every node reads the extended file, and the holders store it.
    for x in nodes:
        for name in away:
            wait_for(lambda: sha256(ftp_read(x, name)) == want[name], 30,
                     f"{x.name} to read the extended {name}",
                     diag=lambda: (len(ftp_read(x, name)),
                                   len(expected[name]), len(files[name])))
    wait_placed(cluster, want, n=1)


def test_rename_on_a_node_without_a_copy(cluster):
    """A rename made on a node that holds no copy of the file: the nodes
    holding it took the new name as a file to fetch and the old name's
    deletion as a file to remove; the deletion went first, and the renamer
    had no bytes to give, so the content was gone from every node (an
    acknowledged write lost).  Now a holder hands its copy to the new name
    before it removes the old one."""
    nodes = start(cluster, 3, replicas=1)
    files = {f"r{i}.bin": os.urandom(3000 + 977 * i) for i in range(16)}
    files["rbig.bin"] = os.urandom(2 * MiB + 5)
    write_files(nodes[0], files)
    place = wait_placed(cluster, digests(files), n=1)
    renamer = nodes[0]
    away = [n for n in files if renamer.name not in place[n]]
    assert len(away) >= 2, place
    expected = {n: d for n, d in files.items() if n not in away}
    f = renamer.ftp()
    for name in away:
        f.rename(name, "moved-" + name)
        expected["moved-" + name] = files[name]
    f.quit()
    want = digests(expected)

    def reads(x, name):
        # 450 while the holders have not yet taken the new name
        try:
            return sha256(ftp_read(x, name)) == want[name]
        except ftplib.error_temp:
            return False
    wait_placed(cluster, want, n=1)
    for x in nodes:
        for name in away:
            new = "moved-" + name
            wait_for(lambda: reads(x, new), 30,
                     f"{x.name} to read the renamed {new}")
    for x in nodes:
        for name in away:
            assert disk_sha(x.path(name)) is None, (x.name, name)


def test_tls_reads_on_a_node_without_a_copy(cluster, tmp_path):
    """FTPS and HTTPS send a file held elsewhere in chunks that pool jobs
    read while its blocks still arrive on the loop: what was sent is the
    file (the ThreadSanitizer run of make test also sees that the jobs and
    the loop share nothing)."""
    nodes = start(cluster, 3, options=["http.tls=yes"])
    files = {"ftps.bin": os.urandom(6 * MiB + 4321),
             "https.bin": os.urandom(6 * MiB + 1234)}
    write_files(nodes[0], files)
    place = wait_placed(cluster, digests(files))

    name = "ftps.bin"
    x = next(y for y in nodes if y.name not in place[name])
    f = ReusingFTP_TLS(context=tls_context(), timeout=60)
    cluster.clients.append(f)
    f.connect("127.0.0.1", x.ftp_port)
    f.auth()
    f.login("guest", "guest")
    f.prot_p()
    got = retr(f, name)
    f.quit()
    assert sha256(got) == sha256(files[name]), \
        f"{x.name}: FTPS RETR {name} gave other bytes"

    name = "https.bin"
    x = next(y for y in nodes if y.name not in place[name])
    out = tmp_path / name
    p = subprocess.run(
        ["curl", "-sS", "--max-time", "60", "-k", "-o", str(out),
         "-w", "%{http_code}", "-H",
         f"Authorization: Bearer {api_token(x)}",
         f"https://{x.http_addr}/v1/files/{name}"],
        capture_output=True, text=True, timeout=90)
    assert p.stdout.strip() == "200", (x.name, p.stdout, p.stderr)
    assert file_sha256(out) == sha256(files[name]), \
        f"{x.name}: HTTPS GET {name} gave other bytes"


# ---------------------------------------------------------------------------
# 3. pin / unpin


def test_pin_keeps_a_copy_unpin_drops_it(cluster):
    nodes = start(cluster, 4)
    files = some_files(8, big=(1,))
    write_files(nodes[0], files)
    expected = digests(files)
    place = wait_placed(cluster, expected)

    # a file and a node without its copy
    name, x = next((p, y) for p in sorted(files) for y in nodes
                   if y.name not in place[p] and y is not nodes[0])
    r = x.cli("pin", "/" + name)
    assert r.returncode == 0, (r.stdout, r.stderr)
    wait_for(lambda: disk_sha(x.path(name)) == expected[name], SETTLE,
             f"a copy of {name} on {x.name} after pin",
             diag=lambda: placement(nodes, {name: expected[name]}))
    assert name in pinned(x), pinned(x)
    # it stays: two repair rounds (every 2 s) later it is still there
    time.sleep(2 * 2 + 1)
    check_no_wrong_copy(nodes, expected)
    now = placement(nodes, expected)
    assert now[name] == place[name] | {x.name}, now[name]
    for p in files:
        if p != name:
            assert now[p] == place[p], (p, now[p], place[p])

    r = x.cli("unpin", "/" + name)
    assert r.returncode == 0, (r.stdout, r.stderr)
    wait_placed(cluster, expected, want=place,
                what=f"{name} to leave {x.name} after unpin, the holders "
                f"keeping theirs")
    assert name not in pinned(x), pinned(x)

    # the same through the HTTP API
    name2, y = next((p, z) for p in sorted(files) for z in nodes
                    if z.name not in place[p] and p != name)
    quoted = urllib.parse.quote(name2)
    code, body = y.http("POST", f"/v1/pins/{quoted}")
    assert 200 <= code < 300, (code, body)
    wait_for(lambda: disk_sha(y.path(name2)) == expected[name2], SETTLE,
             f"a copy of {name2} on {y.name} after POST /v1/pins",
             diag=lambda: placement(nodes, {name2: expected[name2]}))
    assert name2 in pinned(y)
    code, body = y.http("DELETE", f"/v1/pins/{quoted}")
    assert 200 <= code < 300, (code, body)
    wait_placed(cluster, expected, want=place,
                what=f"{name2} to leave {y.name} after DELETE /v1/pins")


# ---------------------------------------------------------------------------
# 4. one holder killed: reads go on, copies are made again, and dropped
#    again when it comes back


def test_kill_one_holder_repair_and_return(cluster):
    nodes = start(cluster, 4)
    files = some_files(12, big=(2, 7))
    write_files(nodes[0], files)
    expected = digests(files)
    place = wait_placed(cluster, expected)

    victim = max(nodes, key=lambda x: sum(x.name in v
                                          for v in place.values()))
    lost = sorted(p for p, v in place.items() if victim.name in v)
    assert lost, place
    survivors = [x for x in nodes if x is not victim]
    # best effort: watch a survivor's under_replicated from the kill on
    seen_under = []
    stop_watch = threading.Event()

    def watch():
        while not stop_watch.is_set():
            try:
                seen_under.append(survivors[0].api("/v1/status")
                                  .get("under_replicated") or 0)
            except Exception:
                pass
            stop_watch.wait(0.2)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    victim.kill()
    wait_dead(survivors, [victim])

    # The files it held still read, on a survivor that has no copy.  A
    # read leaves a copy on the reader for a while, which would stand in
    # for a repair: half of them are read now, the others (which only a
    # repair can give a second copy) once the repair is done.
    read_now, read_later = lost[1::2], lost[::2]
    assert read_later
    for p in read_now:
        reader = next(x for x in survivors if x.name not in place[p])
        got = ftp_read(reader, p)
        assert sha256(got) == expected[p], \
            f"{reader.name}: RETR {p} gave {len(got)} bytes, other content"
    check_no_wrong_copy(cluster.nodes, expected)

    # after the repair delay every file has two copies on the survivors
    # (or more for a while: a copy read on a node is kept there a while)
    def repaired():
        check_no_wrong_copy(cluster.nodes, expected)
        counts = [status_counts(x) for x in survivors]
        place2 = placement(survivors, expected)
        if any(len(v) < REPLICAS for v in place2.values()):
            return None
        return all(c["under_replicated"] == 0 and c["unavailable"] == 0
                   for c in counts)
    wait_stable(repaired, SETTLE + REPAIR_DELAY,
                "two copies of every file on the survivors and "
                "under_replicated = 0 on each",
                diag=lambda: (placement(survivors, expected),
                              [status_counts(x) for x in survivors]))
    place2 = placement(survivors, expected)
    for p in read_later:
        # only a repair made its second copy on the survivors
        assert len(place2[p]) >= REPLICAS, (p, place2[p])
    stop_watch.set()
    watcher.join()
    # best effort (not asserted): a status poll usually catches the files
    # short of a copy during the repair delay
    print(f"under_replicated seen on {survivors[0].name} while repairing: "
          f"max {max(seen_under, default=0)} of {len(lost)} files")
    for p in files:
        if p not in lost:
            assert place2[p] == place[p], (p, place2[p], place[p])
    m = metrics(survivors[0])
    assert m.get("shoal_files_under_replicated") == 0, m
    assert m.get("shoal_files_unavailable") == 0, m
    for p in read_later:
        reader = next((x for x in survivors if x.name not in place2[p]),
                      survivors[0])
        got = ftp_read(reader, p)
        assert sha256(got) == expected[p], \
            f"{reader.name}: RETR {p} gave {len(got)} bytes, other content"

    # the victim comes back with its copies: the extra ones are dropped
    victim.start()
    cluster.wait_alive(nodes, 4)
    wait_placed(cluster, expected, want=place,
                what="the copies to return to the old holders (extra "
                "copies dropped)")
    wait_for(lambda: all(status_counts(x)["under_replicated"] == 0
                         for x in nodes), 30,
             "under_replicated = 0 everywhere",
             diag=lambda: [status_counts(x) for x in nodes])
    read_all_everywhere(nodes, files)
    check_no_wrong_copy(nodes, expected)


# ---------------------------------------------------------------------------
# 5. both holders killed: the file is unavailable, clearly, and comes back


def test_both_holders_killed_file_unavailable(cluster, tmp_path):
    nodes = start(cluster, 4)
    files = some_files(20, big=(3,))
    write_files(nodes[1], files)
    expected = digests(files)
    place = wait_placed(cluster, expected)

    # the two nodes holding the most files together
    pairs = {}
    for p, v in place.items():
        pairs.setdefault(frozenset(v), []).append(p)
    pair, gone = max(pairs.items(), key=lambda kv: len(kv[1]))
    gone = sorted(gone)
    killed = [x for x in nodes if x.name in pair]
    survivors = [x for x in nodes if x.name not in pair]
    assert len(killed) == 2 and len(survivors) == 2, place
    for x in killed:
        x.kill()
    wait_dead(survivors, killed)

    name = gone[0]
    s1, s2 = survivors
    f = s1.ftp()
    got = bytearray()
    with pytest.raises(ftplib.error_temp) as e:
        f.retrbinary(f"RETR {name}", got.extend)
    reply = str(e.value)
    assert reply.startswith("450") and "unavailable" in reply, reply
    assert name in reply, reply
    assert not got, f"{len(got)} bytes sent before the 450"
    # the control connection still works afterwards
    assert f.size(name) == len(files[name])
    f.quit()

    code, p = curl_get(s2, name, tmp_path / "unavailable.out")
    assert code == 503, (code, p.stderr)
    body = json.loads((tmp_path / "unavailable.out").read_text())
    assert "unavailable" in body["error"], body

    outdir = tmp_path / "get-out"
    r = shoal_get(s1, name, outdir)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "unavailable" in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert not (outdir / name).exists(), "shoal get wrote a file"

    def listed():
        st = s1.status()
        paths = {norm(q) for q in st.get("unavailable_paths") or []}
        return st if (st.get("unavailable", 0) >= len(gone) and
                      set(gone) <= paths) else None
    st = wait_for(listed, 30, f"status to list {gone} as unavailable",
                  diag=lambda: status_counts(s1), interval=0.3)
    assert st["unavailable"] >= 1
    wait_for(lambda: metrics(s2).get("shoal_files_unavailable", 0)
             >= len(gone), 30, "shoal_files_unavailable on s2",
             diag=lambda: metrics(s2))

    # files with a surviving holder read fine on both survivors
    for x in survivors:
        f = x.ftp()
        for p, data in files.items():
            if p in gone:
                continue
            got = retr(f, p)
            assert sha256(got) == expected[p], \
                f"{x.name}: RETR {p} gave other bytes"
        f.quit()
    check_no_wrong_copy(cluster.nodes, expected)

    # both come back: the file reads again, exactly
    for x in killed:
        x.start()
    cluster.wait_alive(nodes, 4)

    def reads_again():
        try:
            got = ftp_read(s1, name)
        except ftplib.error_temp:
            return None
        assert sha256(got) == expected[name], \
            f"RETR {name} gave {len(got)} bytes, other content"
        return True
    wait_for(reads_again, 60, f"{name} to read again on {s1.name}",
             interval=0.5)
    wait_for(lambda: all(status_counts(x)["unavailable"] == 0
                         for x in nodes), 30, "unavailable = 0 everywhere",
             diag=lambda: [status_counts(x) for x in nodes])
    wait_placed(cluster, expected, want=place,
                what="the copies to return to the old holders")
    read_all_everywhere(survivors, {p: files[p] for p in gone})


# ---------------------------------------------------------------------------
# 6. a full node gets no new copies


@pytest.fixture
def tmpfs():
    """mount(path, size): a tmpfs on path, unmounted at the end (after the
    cluster's nodes stopped: request this fixture before `cluster`)."""
    mounted = []

    def mount(path, size="24m"):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        path.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                            "tmpfs", str(path)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs on {path}: "
                        f"{p.stderr.strip() or p.returncode}")
        mounted.append(path)
        return path
    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", str(path)]).returncode != 0:
            subprocess.run(["umount", "-l", str(path)])


def test_full_node_gets_no_new_copies(tmpfs, cluster, tmp_path):
    tmpfs(tmp_path / "n2", "24m")
    nodes = []
    for i in range(4):
        opts = ["store.min_free_mb=16"] if i == 1 else []
        nodes.append(cluster.new_node(options=opts, args=NODE_ARGS,
                                      init_args=INIT_ARGS if i == 0
                                      else ()))
    n1, n2, n3, n4 = nodes
    assert n2.dir == tmp_path / "n2"
    # 12 MiB of ballast leaves less than the 16 MiB store.min_free_mb
    with open(n2.dir / ".shoal" / "ballast", "wb") as f:
        f.write(os.urandom(12 * MiB))
    for x in nodes:
        x.start()
    cluster.wait_alive(nodes, 4)

    st = wait_for(lambda: n2.status() if n2.status().get("disk_full")
                  is True else None, 30, "n2 to report disk_full: true",
                  diag=lambda: status_counts(n2))
    assert st["disk_free_bytes"] < 16 * MiB, st
    m = metrics(n2)
    assert m.get("shoal_disk_full") == 1, m
    assert m.get("shoal_disk_free_bytes", -1) < 16 * MiB, m
    for x in (n1, n3, n4):
        assert x.status().get("disk_full") is False, x.status()
    # heartbeats (every 200 ms) carry it to the others
    time.sleep(2)

    files = {f"full{i:02d}.bin": os.urandom(size) for i, size in
             enumerate([200 * KiB, 1, 64 * KiB, 500 * KiB, 3000, 100 * KiB,
                        17, 256 * KiB, 40 * KiB, 512 * KiB, 9, 80 * KiB])}
    writers = [n1, n3, n4]
    for i, (name, data) in enumerate(files.items()):
        write_files(writers[i % 3], {name: data})
    expected = digests(files)

    place = wait_placed(cluster, expected, nodes=[n1, n3, n4],
                        what="two copies of every file on n1, n3, n4")
    assert all(len(v) == REPLICAS for v in place.values()), place
    held_by_n2 = [p for p in expected if disk_sha(n2.path(p)) is not None]
    assert not held_by_n2, f"the full node holds {held_by_n2}"
    assert n2.status()["disk_full"] is True
    assert n2.status().get("held_files") == 0, status_counts(n2)

    # nothing lost: every file reads back exactly, on every node
    read_all_everywhere(nodes, files)
    check_no_wrong_copy(nodes, expected)


# ---------------------------------------------------------------------------
# 7. replicas learned on join


def test_replicas_learned_on_join(cluster):
    n1 = cluster.new_node(args=NODE_ARGS, init_args=INIT_ARGS)
    n2 = cluster.new_node(args=NODE_ARGS)      # --join KEY, no --replicas
    assert (n1.dir / ".shoal" / "replicas").read_text().strip() == "2"
    n1.start()
    n2.start()
    cluster.wait_alive([n1, n2], 2)
    wait_for(lambda: n2.status().get("replicas") == REPLICAS, 30,
             "n2 to learn replicas = 2", diag=lambda: status_counts(n2))
    assert n1.status()["replicas"] == REPLICAS
    wait_for(lambda: (n2.dir / ".shoal" / "replicas").exists() and
             (n2.dir / ".shoal" / "replicas").read_text().strip() == "2",
             30, "n2's DIR/.shoal/replicas to say 2")
    # and keeps it: alone after a restart it still says 2
    n1.stop()
    n2.restart()
    assert n2.status()["replicas"] == REPLICAS


def test_differing_replicas_refuse_each_other(cluster):
    n1 = cluster.new_node(args=NODE_ARGS, init_args=INIT_ARGS)
    n2 = cluster.new_node(args=NODE_ARGS, init_args=["--replicas", "3"])
    assert (n2.dir / ".shoal" / "replicas").read_text().strip() == "3"
    n1.start()
    n2.start()

    def says_why(x):
        # a line naming both values (the folder names left out: the
        # test's own name has "replicas" in it)
        for line in x.log().replace(str(cluster.base), "").splitlines():
            line = line.split(" shoal ", 1)[-1]     # not the time stamp
            if "replica" in line.lower() and re.search(r"\b2\b", line) \
                    and re.search(r"\b3\b", line):
                return True
        return False
    wait_for(lambda: says_why(n1) and says_why(n2), 30,
             "both logs to say the replicas values differ",
             diag=lambda: (n1.log()[-1500:], n2.log()[-1500:]))
    assert n1.alive() == 1 and n2.alive() == 1, (n1.alive(), n2.alive())
    assert n1.status()["replicas"] == 2
    assert n2.status()["replicas"] == 3
