"""`make run` (scripts/run.sh): a tracker and three nodes on loopback, on
ports and in a folder of the test's own (PORT_BASE, RUN_DIR), so it never
meets another cluster on this machine.  The banner comes only once the
cluster answers; a node that cannot start is named, with the reason, and
the script exits non-zero; SIGINT stops every process it started."""

import ftplib
import io
import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SHOAL, wait_for

RUN = ROOT / "scripts" / "run.sh"
SPAN = 33  # PORT_BASE .. PORT_BASE+32


def free_base():
    """A PORT_BASE whose whole span binds now, below the ephemeral range."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - SPAN, 100)
        socks = []
        try:
            for p in range(base, base + SPAN):
                s = socket.socket()
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port span")


def pids_under(run_dir):
    """Processes whose command line names run_dir (the script's children)."""
    found = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(run_dir).encode() in a for a in cmd) and \
                b"run.sh" not in b" ".join(cmd):
            found.add(int(d.name))
    return found


def start(run_dir, base):
    env = dict(os.environ, RUN_DIR=str(run_dir), PORT_BASE=str(base),
               SHOAL_BIN=str(SHOAL), RUN_WAIT="30")
    return subprocess.Popen([str(RUN)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def read_until(proc, marker, timeout):
    """stdout up to the line holding marker, or until the script exits."""
    out = []
    done = threading.Event()

    def reader():
        for line in proc.stdout:
            out.append(line)
            if marker in line:
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    text = "".join(out)
    return text, marker in text


def stop(proc, run_dir):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pid in pids_under(run_dir):
        os.kill(pid, signal.SIGKILL)


def ftp_names(port):
    f = ftplib.FTP(timeout=10)
    try:
        f.connect("127.0.0.1", port)
        f.login("guest", "guest")
        return f.nlst()
    finally:
        f.close()


def test_make_run_own_ports_upload_and_sigint(tmp_path):
    run_dir = tmp_path / "shoal-run"
    base = free_base()
    proc = start(run_dir, base)
    try:
        banner, seen = read_until(proc, "Ctrl-C stops", 60)
        assert seen, f"no banner; exit {proc.poll()}\n{banner}" \
            f"{proc.stderr.read() if proc.poll() is not None else ''}"
        n1, n2 = base + 10, base + 20
        # Every address a user needs is in the banner.
        for addr in (f"127.0.0.1:{base}", f"127.0.0.1:{base + 1}",
                     f"ftp://guest:guest@127.0.0.1:{n1}/",
                     f"ftp://guest:guest@127.0.0.1:{n2}/",
                     f"ftp://guest:guest@127.0.0.1:{base + 30}/",
                     f"http://127.0.0.1:{base + 12}/",
                     f"http://127.0.0.1:{base + 22}/",
                     f"http://127.0.0.1:{base + 32}/", "ls --all"):
            assert addr in banner, (addr, banner)
        assert str(run_dir) in banner
        # The banner means it answers: n1 takes an upload at once.
        f = ftplib.FTP(timeout=10)
        f.connect("127.0.0.1", n1)
        f.login("guest", "guest")
        f.storbinary("STOR hello.txt", io.BytesIO(b"hello from n1\n"))
        f.quit()
        wait_for(lambda: "hello.txt" in ftp_names(n2), 60,
                 what="hello.txt to reach n2")
        assert (run_dir / "n2" / "hello.txt").read_bytes() == \
            b"hello from n1\n"
        children = pids_under(run_dir)
        assert len(children) == 4, children
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(20)
        assert rc == 0
        assert "cluster stopped" in proc.stdout.read()
        wait_for(lambda: not (children & pids_under(run_dir)), 10,
                 what="every child of run.sh to exit")
    finally:
        stop(proc, run_dir)


def test_make_run_busy_port_names_the_node(tmp_path):
    run_dir = tmp_path / "shoal-run"
    base = free_base()
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", base + 20))  # n2's FTP port
    busy.listen()
    proc = start(run_dir, base)
    try:
        out, _ = read_until(proc, "Ctrl-C stops", 60)
        rc = proc.wait(40)
        err = proc.stderr.read()
        assert rc != 0, out + err
        assert "Ctrl-C stops" not in out, out
        assert "n2" in err and "Address already in use" in err, err
        assert str(base + 20) in err, err
        assert not pids_under(run_dir), "run.sh left processes behind"
    finally:
        busy.close()
        stop(proc, run_dir)
