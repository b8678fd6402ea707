"""Distributed: a Locust master in `harness bench` with local worker processes, and workers
joining from elsewhere (`harness bench-worker HOST:PORT`, separate processes on loopback). The
workers' HDR histograms are merged exactly on the master, the report's counts equal Locust's,
and the load stops at the run time."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from harness.ports import free_port
from harness.servers import Server
from tests.bench_workloads import POINT_READ

RUN_S = 6


def _check(record: dict, workers: int) -> None:
    cfg = record["config"]
    assert cfg["workers"] == workers
    recorded = sum(q["count"] + q["errors"] for q in record["queries"])
    assert recorded > 20
    # every request Locust's own (worker-aggregated) stats saw is in the merged HDR histograms
    assert recorded == cfg["locust_requests"], (recorded, cfg["locust_requests"])
    assert sum(q["errors"] for q in record["queries"]) == cfg["locust_failures"]
    assert record["elapsed_s"] < RUN_S + 3, record["elapsed_s"]  # the load stops at the run time


def test_master_and_two_local_workers_merge_histograms(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)
    t0 = time.monotonic()
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload), "--workers", "2",
              "--users", "4", "--duration", f"{RUN_S}s", "--no-index-check", "--no-metrics", "--out", str(tmp_path),
              "--json", timeout=180)
    assert res.returncode in (0, 1), res.stderr
    _check(json.loads(res.stdout), 2)
    assert time.monotonic() - t0 < 90


def test_remote_workers_join_with_only_the_master_address(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)
    port = free_port()
    env_cwd = tmp_path / "elsewhere"  # the worker has no copy of the workload: it gets it from the master
    env_cwd.mkdir()
    workers = [subprocess.Popen([sys.executable, "-m", "harness", "bench-worker", f"127.0.0.1:{port}"],
                                cwd=env_cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(2)]
    try:
        res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload),
                  "--expect-workers", "2", "--master-port", str(port), "--users", "4", "--duration", f"{RUN_S}s",
                  "--no-index-check", "--no-metrics", "--out", str(tmp_path), "--json", timeout=180)
        assert res.returncode in (0, 1), res.stderr
        _check(json.loads(res.stdout), 2)
        for w in workers:
            w.wait(timeout=30)  # they quit with the master
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
