"""Pushgateway conventions: success replaces the group (PUT) with the last-success time; a
failure only adds failure time and duration (POST), so the last success survives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.backup.manifest import ARCHIVE
from harness.servers import Server
from harness.tools import find_tool
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(not find_tool("mongodump") or not find_tool("mongorestore"),
                                reason="mongodump/mongorestore not built: run scripts/setup-tools.sh")


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    seen: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            seen.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        do_PUT = do_POST = _record  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()


def test_success_puts_last_success_and_failure_posts_only_failure(server: Server, loaded, gateway,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    url, seen = gateway
    db = loaded("masterx", 0.02)
    store = tmp_path / "store"
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(store), "--pushgateway", url)
    assert r.returncode == 0, r.stderr
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--pushgateway", url,
                "--out", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    (method1, path1, body1), (method2, path2, body2) = seen
    assert (method1, path1) == ("PUT", "/metrics/job/harness_backup/system/masterx")
    assert "harness_backup_last_success_timestamp_seconds" in body1 and "harness_backup_bytes" in body1
    assert (method2, path2) == ("PUT", "/metrics/job/harness_restore_verify/system/masterx")
    assert "harness_restore_verify_last_success_timestamp_seconds" in body2
    assert "harness_restore_verify_restore_seconds" in body2 and "instance" not in body2

    archive = next(store.rglob(ARCHIVE))
    archive.write_bytes(archive.read_bytes()[:1000])
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--pushgateway", url,
                "--out", str(tmp_path / "r"))
    assert r.returncode == 1
    method3, path3, body3 = seen[2]
    assert (method3, path3) == ("POST", "/metrics/job/harness_restore_verify/system/masterx")
    assert "harness_restore_verify_last_failure_timestamp_seconds" in body3
    assert "harness_restore_verify_duration_seconds" in body3 and "last_success" not in body3


@pytest.mark.skipif(not find_tool("prometheus-pushgateway"), reason="prometheus-pushgateway not installed")
def test_real_pushgateway_keeps_last_success_after_a_failure(server: Server, loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([find_tool("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        db = loaded("masterx", 0.02)
        store = tmp_path / "store"
        assert run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(store)).returncode == 0
        ok = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--pushgateway", url,
                     "--out", str(tmp_path / "r"))
        assert ok.returncode == 0, ok.stderr
        archive = next(store.rglob(ARCHIVE))
        archive.write_bytes(archive.read_bytes()[:1000])
        bad = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--pushgateway", url,
                      "--out", str(tmp_path / "r"))
        assert bad.returncode == 1
        text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        mine = [ln for ln in text.splitlines() if ln.startswith("harness_restore_verify_") and 'system="masterx"' in ln]
        names = {ln.split("{")[0] for ln in mine}
        assert {"harness_restore_verify_last_success_timestamp_seconds",
                "harness_restore_verify_last_failure_timestamp_seconds"} <= names
        assert all('job="harness_restore_verify"' in ln and 'instance=""' in ln for ln in mine)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
