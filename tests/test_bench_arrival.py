"""Open loop vs closed loop on a server stalled for a second (SIGSTOP/SIGCONT).

Runs on its OWN nx-27017 process (never the shared session server). In the open loop every
request scheduled during the stall is charged from its intended start, so the latency
percentiles grow; the closed loop only sees the few requests in flight (coordinated omission):
its percentiles barely move while its maximum shows the stall.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.servers import embedded
from tests.bench_workloads import POINT_READ
from tests.conftest import REPO, run_cli

STALL_S = 1.0


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("stall-nx")
    state = embedded.launch("nx-27017", data)
    try:
        res = run_cli("load", "masterx", "--uri", state["uri"], "--scale", "0.01", "--drop", "--no-progress")
        assert res.returncode == 0, res.stderr
        yield state
    finally:
        embedded.terminate(state)


def _requests_so_far(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("sla_harness_bench_query_latency_seconds_count"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _bench_with_stall(state: dict, tmp: Path, *mode: str) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    workload = tmp / "point.py"
    workload.write_text(POINT_READ)
    port = free_port()
    out = tmp / "r"
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "bench", "masterx", "--uri", state["uri"],
                             "--workload", str(workload), "--no-index-check", "--metrics-port", str(port),
                             "--duration", "6s", "--out", str(out), "--json", *mode],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while _requests_so_far(port) < 50:  # the run is under way (and /metrics serves it live)
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        os.kill(state["pid"], signal.SIGSTOP)
        time.sleep(STALL_S)
        os.kill(state["pid"], signal.SIGCONT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        os.kill(state["pid"], signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 1), stderr
    return json.loads(stdout)["queries"][0]


def test_open_loop_latency_grows_closed_loop_shows_coordinated_omission(own_server, tmp_path) -> None:
    closed = _bench_with_stall(own_server, tmp_path / "closed", "--users", "4", "--think-time", "0,0")
    open_ = _bench_with_stall(own_server, tmp_path / "open", "--users", "20", "--rate", "100/s")
    stall_ms = STALL_S * 1000
    # both saw the stall …
    assert closed["latency"]["max_ms"] >= 0.8 * stall_ms
    assert open_["latency"]["max_ms"] >= 0.8 * stall_ms
    # … the closed loop hides it: only the requests in flight waited (coordinated omission)
    assert closed["latency"] == closed["service"]
    assert closed["latency"]["p95_ms"] < 0.2 * stall_ms
    # … the open loop charges every request scheduled during the stall from its intended start
    assert open_["latency"]["p95_ms"] >= 0.25 * stall_ms
    assert open_["latency"]["p95_ms"] > 3 * open_["service"]["p95_ms"]
    assert open_["latency"]["p95_ms"] > 2 * closed["latency"]["p95_ms"]
    print(f"\nstall {stall_ms:.0f} ms: closed p95 {closed['latency']['p95_ms']:.1f} ms (max "
          f"{closed['latency']['max_ms']:.0f}); open latency p95 {open_['latency']['p95_ms']:.1f} ms vs "
          f"service p95 {open_['service']['p95_ms']:.1f} ms")
