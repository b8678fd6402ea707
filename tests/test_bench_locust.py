"""Plain Locust and `harness bench` run the same pipeline: the same workload file under
`locust -f` gives the same verdicts as `harness bench` for the same seed, and Locust's web UI
serves each operation's SLA and live verdict."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from harness.ports import free_port
from harness.servers import Server
from tests.conftest import REPO

GENEROUS = '''
from harness.workload import Operation, Workload, find


def sample(p):
    p.values("users", "users", ["email"])


def login(p):
    """one indexed point read"""
    return find("users", {"email": p.pick("users")["email"]}, limit=1)


def nobody(p):
    """an indexed lookup whose parameter never matches"""
    return find("users", {"email": "nobody-" + p.pick("users")["email"]}, limit=1)


WORKLOAD = Workload(system="masterx", sample=sample, operations=[
    Operation(login, sla_ms=60000, freq="high"), Operation(nobody, sla_ms=60000, freq="high")])
Generous = WORKLOAD.locust_user()
'''


def _locust(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "locust", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_plain_locust_and_harness_bench_agree(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "generous.py"
    workload.write_text(GENEROUS)
    out_l, out_h = tmp_path / "locust", tmp_path / "harness"
    res_l = _locust("-f", str(workload), "--headless", "-u", "2", "-r", "2", "-t", "6s", "--host", server.uri,
                    "--mongo-db", db.name, "--bench-seed", "7", "--bench-out", str(out_l), "--loglevel", "WARNING")
    res_h = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload), "--users", "2",
                "--duration", "6s", "--seed", "7", "--no-metrics", "--out", str(out_h))
    assert res_h.returncode == 1, res_h.stderr  # `nobody` is vacuous: never a pass
    assert res_l.returncode == res_h.returncode, res_l.stderr[-2000:]
    [rec_l] = [json.loads(p.read_text()) for p in out_l.glob("bench-*.json")]
    [rec_h] = [json.loads(p.read_text()) for p in out_h.glob("bench-*.json")]
    assert rec_l["schema"] == rec_h["schema"]
    assert rec_l["config"]["runner"] == "locust" and rec_h["config"]["runner"] == "harness"
    assert rec_l["started_at"]  # a real start time, not ""
    status = {q["name"]: q["status"] for q in rec_h["queries"]}
    assert status == {q["name"]: q["status"] for q in rec_l["queries"]} == {"login": "pass", "nobody": "vacuous"}
    assert ({q["name"]: q["index"]["status"] for q in rec_l["queries"]}
            == {q["name"]: q["index"]["status"] for q in rec_h["queries"]})
    recorded = sum(q["count"] + q["errors"] for q in rec_l["queries"])
    assert recorded == rec_l["config"]["locust_requests"] > 0


def test_locust_web_ui_serves_sla_and_live_verdict(server: Server, loaded, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "generous.py"
    workload.write_text(GENEROUS)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(workload), "--host", server.uri, "--mongo-db",
                             db.name, "--web-host", "127.0.0.1", "--web-port", str(port), "-u", "1", "-r", "1",
                             "--autostart", "--run-time", "20s", "--loglevel", "WARNING"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        rows: list[dict] = []
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/harness.json", timeout=5) as r:
                    rows = json.loads(r.read())
            except OSError:
                continue
            if rows and all(v["count"] >= 20 for v in rows):
                break
        by = {v["operation"]: v for v in rows}
        assert set(by) == {"login", "nobody"}, rows
        assert by["login"]["sla_ms"] == 60000 and by["login"]["sla_source"] == "assumed"
        assert by["login"]["verdict"] == "pass" and by["nobody"]["verdict"] == "vacuous"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/harness", timeout=5) as r:
            page = r.read().decode()
        assert "live verdict" in page and "vacuous" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
