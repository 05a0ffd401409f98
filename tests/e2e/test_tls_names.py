"""The certificate `shoal init` makes names localhost, 127.0.0.1, ::1 and
the names given with --tls-names, so clients verify it with --cacert."""

import json
import shutil
import subprocess

import pytest

from conftest import run_shoal, wait_for

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")),
    reason="curl and openssl are needed")


def control(directory):
    """DIR/.shoal/control as a dict, or None while it is not written."""
    try:
        text = (directory / ".shoal" / "control").read_text()
    except FileNotFoundError:
        return None
    fields = dict(line.split(" ", 1) for line in text.splitlines()
                  if " " in line)
    return fields if "http" in fields else None


def test_cert_names_verified_by_curl(node, tmp_path):
    """curl --cacert verifies the node by 127.0.0.1 and by localhost."""
    d = tmp_path / "n1"
    r = run_shoal("init", d, "--tls-names", "host1,10.0.0.5,node.example.org")
    assert r.returncode == 0, r
    cert = d / ".shoal" / "tls" / "cert.pem"
    text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    for want in ("DNS:localhost", "IP Address:127.0.0.1",
                 "IP Address:0:0:0:0:0:0:0:1", "DNS:host1",
                 "IP Address:10.0.0.5", "DNS:node.example.org"):
        assert want in text, (want, text)

    n = node("http.tls=yes", directory=d)
    ctl = wait_for(lambda: control(d), what=f"{d}/.shoal/control")
    assert ctl.get("scheme", "http").strip() == "https", ctl
    port = int(ctl["http"].strip().rsplit(":", 1)[1])
    token = (d / ".shoal" / "api_token").read_text().strip()
    for host in ("127.0.0.1", "localhost"):
        p = subprocess.run(
            ["curl", "-sS", "--fail", "--max-time", "20", "--cacert", cert,
             "--resolve", f"localhost:{port}:127.0.0.1",
             "-H", f"Authorization: Bearer {token}",
             f"https://{host}:{port}/v1/status"],
            capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (host, p.stderr)
        assert "id" in json.loads(p.stdout)


@pytest.mark.parametrize("names", [
    "bad_name", "host1,,x", "-lead.example", "trail-.example", "a..b",
    "x" * 64 + ".example", "host1,10.0.0.5,has space", ",", "1.2.3.4/24",
])
def test_bad_tls_names_refused(tmp_path, names):
    d = tmp_path / "bad"
    r = run_shoal("init", d, "--tls-names", names)
    assert r.returncode != 0, r
    assert "--tls-names" in r.stderr, r.stderr
    assert not (d / ".shoal").exists()


def test_default_cert_names_loopback(tmp_path):
    d = tmp_path / "plain"
    run_shoal("init", d, check=True)
    text = subprocess.run(
        ["openssl", "x509", "-in", d / ".shoal" / "tls" / "cert.pem",
         "-noout", "-ext", "subjectAltName"],
        capture_output=True, text=True, check=True).stdout
    assert "DNS:localhost" in text, text
    assert "IP Address:127.0.0.1" in text, text
    assert "IP Address:0:0:0:0:0:0:0:1" in text, text
