"""Backups to S3 through a real HTTP endpoint (moto's server mode), and S3 faults."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.backup.manifest import ARCHIVE, MANIFEST
from harness.backup.restore import SCRATCH_PREFIX
from harness.servers import Server
from harness.tools import find_tool
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(not find_tool("mongodump") or not find_tool("mongorestore"),
                                reason="mongodump/mongorestore not built: run scripts/setup-tools.sh")

CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free loopback port; yields the env the CLI needs."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield {**CREDS, "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}"}
    finally:
        server.stop()


def _client(env: dict[str, str]):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_round_trip_through_s3_with_encryption_and_storage_class(server: Server, loaded, s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = loaded("masterx", 0.02)
    bucket = f"bk-{server.caps.kind}"
    client = _client(s3)
    client.create_bucket(Bucket=bucket)
    dest = f"s3://{bucket}/nightly"
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", dest, "--sse", "AES256",
                "--storage-class", "STANDARD_IA", "--json", env=s3)
    assert r.returncode == 0, r.stderr
    bid = json.loads(r.stdout)["id"]
    head = client.head_object(Bucket=bucket, Key=f"nightly/masterx/{bid}/{ARCHIVE}")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"nightly/masterx/{bid}/{MANIFEST}")["Body"].read())
    assert manifest["archive"]["bytes"] == head["ContentLength"]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    listed = run_cli("backup", "list", "--to", dest, "--json", env=s3)
    assert [(b["id"], b["state"]) for b in json.loads(listed.stdout)["backups"]] == [(bid, "complete")]
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", dest, "--out",
                str(tmp_path / "reports"), "--json", env=s3)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["backup"] == bid and all(c["ok"] for c in report["checks"])
    assert SCRATCH_PREFIX + db.name not in server.client().list_database_names()


def test_missing_bucket_is_one_clear_line(server: Server, loaded, s3) -> None:  # type: ignore[no-untyped-def]
    db = loaded("masterx", 0.02)
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", "s3://no-such-bucket/x", env=s3)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == ("error: S3 bucket 'no-such-bucket' does not exist — create it or "
                                                 "fix the --to URL")


def test_unreachable_s3_is_one_clear_line(server: Server, loaded) -> None:  # type: ignore[no-untyped-def]
    db = loaded("masterx", 0.02)
    env = {**CREDS, "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{_free_port()}", "AWS_MAX_ATTEMPTS": "1"}
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", "s3://b/x", env=env)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: S3 is unreachable while checking the bucket") and "Traceback" not in r.stderr


def test_access_denied_is_one_clear_line_and_keeps_secrets_out(server: Server, loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A moto server that enforces IAM auth: unknown credentials get 403."""
    db = loaded("masterx", 0.02)
    port = _free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        env = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_DEFAULT_REGION": "us-east-1"}
        r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", "s3://locked/x", env=env)
        assert r.returncode == 2
        assert r.stderr.strip().splitlines()[-1].startswith("error: access denied to S3 bucket 'locked'")
        assert secret not in r.stderr + r.stdout and "AKIAIOSFODNN7EXAMPLE" not in r.stderr + r.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
