"""The harness's network faults do what they say, checked with plain
sockets between the namespaces (no shoal): a one-way partition drops what
one side sends and nothing it is sent; a slow link still carries traffic;
each is undone by clearing it."""

import os
import random
import subprocess

import pytest

import chaos

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

PORT = 47001

# Run inside a namespace: "udp-recv IP" prints "ready" once bound, then how
# many datagrams came until none for 1.5 s; "udp-send IP" sends 5; "tcp IP" connects and
# prints how many bytes it read (with a listener there: "tcp-listen IP",
# which accepts one connection within 5 s and sends that many).
PROBE = r"""
import socket, sys
mode, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "udp-recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(1.5)
    print("ready", flush=True)
    n = 0
    try:
        while True:
            s.recv(100)
            n += 1
    except socket.timeout:
        pass
    print(n)
elif mode == "udp-send":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(5):
        s.sendto(b"x", (ip, port))
elif mode == "tcp-listen":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen()
    print("ready", flush=True)
    s.settimeout(5)
    try:
        c, _ = s.accept()
        c.sendall(b"y" * int(sys.argv[4]))
        c.close()
    except socket.timeout:
        pass
elif mode == "tcp":
    try:
        c = socket.create_connection((ip, port), timeout=3)
        got = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += len(b)
        print(got)
    except OSError:
        print("failed")
"""


@pytest.fixture
def net():
    n = chaos.Net(3, random.Random(1))
    try:
        n.up()
        yield n
    finally:
        n.down()


def inside(net, i, *args):
    return ["ip", "netns", "exec", net.ns(i), "/usr/bin/python3", "-c", PROBE,
            *map(str, args)]


def udp(net, src, dst):
    """Datagrams from node src that node dst received (of 5)."""
    rx = subprocess.Popen(inside(net, dst, "udp-recv", net.peer_ip(dst),
                                 PORT), stdout=subprocess.PIPE, text=True)
    # Bound before anything is sent (it then waits 1.5 s for datagrams).
    assert rx.stdout.readline().strip() == "ready"
    subprocess.run(inside(net, src, "udp-send", net.peer_ip(dst), PORT),
                   check=True, timeout=30)
    out, _ = rx.communicate(timeout=30)
    return int(out)


def tcp(net, src, dst, size=1):
    """Bytes node src read from a connection to node dst, or "failed"."""
    ls = subprocess.Popen(inside(net, dst, "tcp-listen", net.peer_ip(dst),
                                 PORT + 1, size), stdout=subprocess.PIPE,
                          text=True)
    assert ls.stdout.readline().strip() == "ready"
    out = subprocess.run(inside(net, src, "tcp", net.peer_ip(dst), PORT + 1),
                         capture_output=True, text=True, timeout=60).stdout
    ls.wait(timeout=30)
    return out.strip()


def test_oneway_out_drops_what_the_node_sends_only(net):
    assert udp(net, 0, 1) == 5 and tcp(net, 1, 0) == "1"
    net.oneway(0, outward=True)
    assert udp(net, 0, 1) == 0
    assert udp(net, 1, 0) == 5          # still heard
    assert tcp(net, 1, 0) == "failed"   # its answers are lost
    assert tcp(net, 2, 1) == "1"        # the others are not touched
    net.clear(0)
    assert udp(net, 0, 1) == 5 and tcp(net, 1, 0) == "1"


def test_oneway_in_drops_what_the_node_is_sent_only(net):
    net.oneway(0, outward=False)
    assert udp(net, 1, 0) == 0
    assert udp(net, 0, 1) == 5
    assert tcp(net, 0, 1) == "failed"
    net.clear(0)
    assert udp(net, 1, 0) == 5 and tcp(net, 0, 1) == "1"


def test_slow_link_still_carries_traffic(net):
    net.slow(0)
    assert tcp(net, 1, 0, size=64 << 10) == str(64 << 10)
    assert tcp(net, 0, 1, size=64 << 10) == str(64 << 10)
    net.clear(0)
    assert tcp(net, 1, 0, size=64 << 10) == str(64 << 10)
