"""The S3 endpoint driven by s3cmd, rclone and restic as they are, each
through its normal flows; every object's content checked by hash on the
node's disk."""
import hashlib
import os
import subprocess

import pytest

from s3util import S3Node, file_sha256

S3CMD = "/usr/bin/s3cmd"
RCLONE = "/usr/bin/rclone"
RESTIC = "/usr/bin/restic"


@pytest.fixture
def s3(node):
    return S3Node(node)


def make_tree(root):
    files = {"top.txt": b"top level\n", "a/one.bin": os.urandom(150000),
             "a/b/two.txt": b"two\n" * 1000, "a/b/c/three": b"",
             "z/big.bin": os.urandom(3 * 1024 * 1024 + 5)}
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def check_on_disk(node_dir, prefix, files):
    for name, data in files.items():
        assert file_sha256(node_dir / prefix / name) == \
            hashlib.sha256(data).hexdigest(), name


def run(cmd, env=None, timeout=180, cwd=None):
    r = subprocess.run([str(x) for x in cmd], capture_output=True, text=True,
                       env=env, timeout=timeout, cwd=cwd)
    assert r.returncode == 0, f"{cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_s3cmd(s3, tmp_path):
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"""[default]
access_key = {s3.ak}
secret_key = {s3.sk}
host_base = 127.0.0.1:{s3.port}
host_bucket = 127.0.0.1:{s3.port}
use_https = False
signature_v2 = False
bucket_location = us-east-1
""")
    base = [S3CMD, "-c", cfg]
    run([*base, "mb", "s3://s3cmdb"])
    src = tmp_path / "src"
    files = make_tree(src)
    run([*base, "sync", f"{src}/", "s3://s3cmdb/tree/"])
    check_on_disk(s3.dir, "s3cmdb/tree", files)
    out = run([*base, "ls", "-r", "s3://s3cmdb/"]).stdout
    for name in files:
        assert f"s3://s3cmdb/tree/{name}" in out
    # A second sync finds nothing to do: the ETags are the MD5s s3cmd
    # computes itself.
    out = run([*base, "sync", "--dry-run", f"{src}/",
               "s3://s3cmdb/tree/"]).stdout
    assert "upload:" not in out, out
    back = tmp_path / "back"
    back.mkdir()
    run([*base, "sync", "s3://s3cmdb/tree/", f"{back}/"])
    for name, data in files.items():
        assert (back / name).read_bytes() == data
    run([*base, "put", src / "top.txt", "s3://s3cmdb/single.txt"])
    assert (s3.dir / "s3cmdb/single.txt").read_bytes() == files["top.txt"]
    run([*base, "get", "s3://s3cmdb/single.txt", tmp_path / "got.txt"])
    assert (tmp_path / "got.txt").read_bytes() == files["top.txt"]
    run([*base, "del", "--recursive", "--force", "s3://s3cmdb/"])
    assert not (s3.dir / "s3cmdb/tree").exists()
    run([*base, "rb", "s3://s3cmdb"])
    assert not (s3.dir / "s3cmdb").exists()


def rclone_env(s3, tmp_path):
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    env.update({
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_SHOAL_TYPE": "s3",
        "RCLONE_CONFIG_SHOAL_PROVIDER": "Other",
        "RCLONE_CONFIG_SHOAL_ACCESS_KEY_ID": s3.ak,
        "RCLONE_CONFIG_SHOAL_SECRET_ACCESS_KEY": s3.sk,
        "RCLONE_CONFIG_SHOAL_ENDPOINT": s3.url,
        "RCLONE_CONFIG_SHOAL_REGION": "us-east-1",
        "RCLONE_CONFIG_SHOAL_FORCE_PATH_STYLE": "true",
    })
    (tmp_path / "rclone.conf").write_text("")
    return env


def test_rclone(s3, tmp_path):
    env = rclone_env(s3, tmp_path)
    src = tmp_path / "src"
    files = make_tree(src)
    run([RCLONE, "mkdir", "shoal:rcb"], env=env)
    run([RCLONE, "copy", src, "shoal:rcb/2026"], env=env)
    check_on_disk(s3.dir, "rcb/2026", files)
    # check compares sizes and the MD5s (ETags) with its own.
    run([RCLONE, "check", src, "shoal:rcb/2026"], env=env)
    (src / "top.txt").write_bytes(b"changed\n")
    (src / "a/one.bin").unlink()
    files["top.txt"] = b"changed\n"
    del files["a/one.bin"]
    run([RCLONE, "sync", src, "shoal:rcb/2026"], env=env)
    check_on_disk(s3.dir, "rcb/2026", files)
    assert not (s3.dir / "rcb/2026/a/one.bin").exists()
    run([RCLONE, "check", src, "shoal:rcb/2026"], env=env)
    back = tmp_path / "back"
    run([RCLONE, "sync", "shoal:rcb/2026", back], env=env)
    for name, data in files.items():
        assert (back / name).read_bytes() == data
    out = run([RCLONE, "lsf", "-R", "shoal:rcb"], env=env).stdout
    assert "2026/a/b/two.txt" in out.splitlines()


def test_restic(s3, tmp_path):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": s3.ak, "AWS_SECRET_ACCESS_KEY": s3.sk,
                "RESTIC_PASSWORD": "correct horse battery",
                "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
                "HOME": str(tmp_path)})
    env.pop("AWS_CA_BUNDLE", None)
    repo = f"s3:{s3.url}/backup"
    work = tmp_path / "work"
    files = make_tree(work)
    run([RESTIC, "-r", repo, "init"], env=env)
    run([RESTIC, "-r", repo, "backup", "."], env=env, cwd=work)
    run([RESTIC, "-r", repo, "check", "--read-data"], env=env)
    out = tmp_path / "restored"
    run([RESTIC, "-r", repo, "restore", "latest", "--target", out], env=env)
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name
    # What restic stored is files in the bucket, each named by its hash.
    datas = [p for p in (s3.dir / "backup/data").rglob("*") if p.is_file()]
    assert datas
    for p in datas:
        assert file_sha256(p) == p.name


ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
NPM_CACHE = ROOT / "build" / "npm" / "s3sdk"


def js_sdk():
    """node_modules with @aws-sdk/client-s3 (installed once into build/)."""
    r = subprocess.run([ROOT / "tests/e2e/npm_cache.sh", NPM_CACHE,
                        "@aws-sdk/client-s3"], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"npm install @aws-sdk/client-s3 failed:\n{r.stderr}")
    return r.stdout.strip()


def test_js_sdk_v3_aws_chunked(s3, tmp_path):
    import json
    modules = js_sdk()
    files = {"small.txt": b"hello from the js sdk\n",
             "mid.bin": os.urandom(1024 * 1024 + 3),
             "empty": b""}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    script = tmp_path / "s3_sdk.mjs"
    script.write_text((ROOT / "tests/e2e/js/s3_sdk.mjs").read_text())
    (tmp_path / "node_modules").symlink_to(modules)
    r = run(["/usr/bin/node", script, s3.url, s3.ak, s3.sk, "jsbucket",
             *paths], cwd=tmp_path)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for name, data in files.items():
        # The framing never ends up in the object.
        sha = hashlib.sha256(data).hexdigest()
        assert out["got"][name] == sha
        assert out["etags"][name] == f'"{hashlib.md5(data).hexdigest()}"'
        if name != "small.txt":
            assert file_sha256(s3.dir / "jsbucket/js" / name) == sha
    assert sorted(out["keys"]) == sorted(f"js/{n}" for n in files)
    assert out["head_etag"] == out["etags"]["small.txt"]
    assert not (s3.dir / "jsbucket/js/small.txt").exists()
