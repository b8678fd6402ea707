"""pytest-benchmark suite: every system's operations (reads and writes), one benchmark each.

    pytest benchmarks/test_critical_queries.py --benchmark-autosave          # record a baseline
    pytest benchmarks/test_critical_queries.py --benchmark-compare \\
        --benchmark-compare-fail=median:25%                                   # gate on it

Uses MONGODB_URI when set (with the systems' databases already loaded by `harness load`), else
starts its own embedded server (DocumentDB when built, else nx-27017) and loads each system at
scale 0.02. The SLA verdicts live in `harness bench`; this suite gives pytest-benchmark's
statistics and its --benchmark-compare-fail gate over the same workload objects, in-process
(no Locust, no gevent). Writes run only on databases `harness load` generated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.bench.prepare import capability_skips, prepare_in_process
from harness.servers import connect, embedded
from harness.servers.documentdb import build as documentdb_build
from harness.spec import load_system
from harness.systems import systems_with_workloads
from harness.workload import load_workload

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = systems_with_workloads()  # every discovered system with a workload (systems path included)


@pytest.fixture(scope="session")
def target():
    uri = os.environ.get("MONGODB_URI")
    state = None
    if not uri:
        backend = "documentdb" if documentdb_build() is not None else "nx-27017"
        state = embedded.launch(backend, Path(tempfile.mkdtemp(prefix="bench-queries-")))
        uri = state["uri"]
        for system in SYSTEMS:
            res = subprocess.run([sys.executable, "-m", "harness", "load", system, "--uri", uri, "--scale", "0.02",
                                  "--drop", "--no-progress"], cwd=REPO, capture_output=True, text=True)
            assert res.returncode == 0, res.stderr
    server = connect(uri)
    yield server
    server.close()
    if state:
        embedded.terminate(state)


_PREPARED: dict[str, object] = {}
CASES = [pytest.param(system, op.name, id=f"{system}.{op.name}")
         for system in SYSTEMS for op in load_workload(system).operations]


@pytest.mark.parametrize(("system", "operation"), CASES)
def test_operation(benchmark, target, system: str, operation: str) -> None:
    workload = load_workload(system)
    op = workload.operation(operation)
    reason = capability_skips(workload, target.caps).get(operation)
    if reason:
        pytest.skip(reason)
    db = target.client()[load_system(system).database]
    if system not in _PREPARED:
        _PREPARED[system] = prepare_in_process(workload, db, seed=1, caps=target.caps, warmup=1)
    prep = _PREPARED[system]
    if operation in prep.skip:  # type: ignore[attr-defined]
        pytest.skip(prep.skip[operation])  # type: ignore[attr-defined]
    benchmark.extra_info.update({"sla_ms": op.sla_ms, "sla_source": op.sla_source, "server": target.caps.server,
                                 "writes": op.writes})
    params = prep.params  # type: ignore[attr-defined]
    returned = benchmark.pedantic(lambda ops: sum(o.run(db) for o in ops),
                                  setup=lambda: ((op.ops(params),), {}), rounds=50, warmup_rounds=2)
    assert returned >= 0
