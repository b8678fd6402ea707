"""Distributed: a Locust master in `harness bench` and two local worker processes; the
workers' HDR histograms are merged exactly on the master."""

from __future__ import annotations

import json

from harness.servers import Server
from tests.bench_workloads import POINT_READ


def test_master_and_two_workers_merge_histograms(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02)
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)  # fast on every server (FerretDB scans big documents slowly)
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload), "--workers", "2",
              "--users", "4", "--duration", "7s", "--no-index-check", "--no-metrics", "--out", str(tmp_path), "--json")
    assert res.returncode in (0, 1), res.stderr
    record = json.loads(res.stdout)
    cfg = record["config"]
    assert cfg["workers"] == 2
    recorded = sum(q["count"] + q["errors"] for q in record["queries"])
    assert recorded > 50
    # every request Locust's own (worker-aggregated) stats saw is in the merged HDR histograms
    assert recorded == cfg["locust_requests"], (recorded, cfg["locust_requests"])
    assert sum(q["errors"] for q in record["queries"]) == cfg["locust_failures"]
