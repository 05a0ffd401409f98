"""The tracker's PostgreSQL database out of reach for a while: holdings
written meanwhile are kept and written when it answers again, so the
tracker's listing (and `ls --all`) matches the nodes once more.

The outage is real: the tracker's connection is ended by the server
(pg_terminate_backend) and the server's socket is renamed away, so the
tracker cannot connect again until it is put back.  A second name for the
socket (a hard link in another folder) lets the test itself reach the
server meanwhile.
"""

import os
import urllib.parse

import pytest

pytest.register_assert_rewrite("cluster", "pg")

from cluster import sha256, stor, wait_for  # noqa: E402
from test_tracker import (TRACKED, Db, as_files, cli_json,  # noqa: E402
                          expected_listing, listing_matches, norm,
                          start_tracked, tracker_diag)

pytest_plugins = ["cluster", "pg"]


@pytest.fixture
def cluster(tmp_path):
    from cluster import Cluster
    c = Cluster(tmp_path)
    yield c
    problems = c.shutdown()
    if problems:
        pytest.fail("\n".join(problems))


class Outage:
    """Cuts the tracker off its database and brings it back."""

    def __init__(self, server, url, tmp_path):
        self.server = server
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.db = urllib.parse.urlsplit(url).path.lstrip("/")
        self.sock = os.path.join(q["host"][0], f".s.PGSQL.{q['port'][0]}")
        self.away = self.sock + ".away"
        # Where the server's user can reach it (not under the test's
        # folder, which only root may enter).
        self.alt = server.base / f"alt-{tmp_path.name}"
        self.alt.mkdir(mode=0o700)
        os.chown(self.alt, server.pw.pw_uid, server.pw.pw_gid)
        os.link(self.sock, self.alt / os.path.basename(self.sock))
        self.cut = False

    def begin(self):
        os.rename(self.sock, self.away)
        self.cut = True
        r = self.server.run(
            "psql", "-X", "-q", "-A", "-t", "-h", self.alt, "-p",
            self.server.port, "-d", self.db, "-c",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert int(r.stdout.strip()) >= 1, "the tracker had no connection"

    def end(self):
        if self.cut:
            os.rename(self.away, self.sock)
            self.cut = False
        link = self.alt / os.path.basename(self.sock)
        if link.exists():
            link.unlink()
        self.alt.rmdir()


def test_holdings_written_during_an_outage_are_kept(cluster, pg_db_url,
                                                     pg_server, tmp_path):
    db = Db("postgresql", pg_db_url)
    tracker, (n1, n2) = start_tracked(cluster, 2, db=db)
    with n1.ftp() as f:
        stor(f, "before.txt", b"written before the outage\n")
    cluster.wait_tree({"before.txt": sha256(b"written before the outage\n")},
                      timeout=60)
    ids = [n1.id, n2.id]
    wait_listing = lambda: listing_matches(  # noqa: E731
        tracker, expected_listing(n1), ids)
    wait_for(wait_listing, TRACKED, "the tracker to list before.txt",
             diag=tracker_diag(tracker))

    outage = Outage(pg_server, pg_db_url, tmp_path)
    log_at = len(tracker.log())
    try:
        outage.begin()
        with n1.ftp() as f:
            for i in range(5):
                stor(f, f"during-{i}.txt", f"written during {i}\n".encode())
        cluster.wait_converged(
            extra=lambda t: all(f"during-{i}.txt" in t for i in range(5)))
        # The tracker has tried to write them (and failed).
        wait_for(lambda: "tracker db: " in tracker.log()[log_at:], TRACKED,
                 "the tracker to meet the outage",
                 diag=lambda: tracker.log()[log_at:][-3000:])
    finally:
        outage.end()
    # Back: the listing matches the nodes again, on the tracker's API and
    # in `ls --all`, without any node registering again.
    wait_for(wait_listing, TRACKED,
             "the tracker to list what was written during the outage",
             diag=tracker_diag(tracker))
    got = {norm(f["path"]) for f in as_files(cli_json(n2, "ls", "--all"))}
    assert got == set(expected_listing(n1)), got
    assert "was dropped" not in tracker.log()
    assert "cannot reach the database" in tracker.log()[log_at:]
    tracker.stop()
