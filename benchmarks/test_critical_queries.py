"""pytest-benchmark suite: every system's critical queries, one benchmark each.

    pytest benchmarks/test_critical_queries.py --benchmark-autosave          # record a baseline
    pytest benchmarks/test_critical_queries.py --benchmark-compare \\
        --benchmark-compare-fail=median:25%                                   # gate on it

Uses MONGODB_URI when set (with BENCH_DB_PREFIX-less system databases already loaded by
`harness load`), else starts its own nx-27017 and loads each system at scale 0.02.
The SLA verdicts live in `harness bench`; this suite gives pytest-benchmark's statistics
and its --benchmark-compare-fail gate over the same query builders.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # the workloads import Locust; patch before pymongo is imported

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from harness.bench import session  # noqa: E402
from harness.bench.queries import as_ops, criticals, execute  # noqa: E402
from harness.bench.user import unsupported  # noqa: E402
from harness.servers import connect, embedded  # noqa: E402
from harness.spec import load_system, system_names  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = [s for s in ("masterx", "zygotrix", "bmd", "medical_twin", "doit") if s in system_names()]


@pytest.fixture(scope="session")
def target():
    uri = os.environ.get("MONGODB_URI")
    state = None
    if not uri:
        state = embedded.launch("nx-27017", Path(tempfile.mkdtemp(prefix="bench-queries-")))
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


CASES = []
for _system in SYSTEMS:
    _cls, _ = session.load_workload(_system)
    CASES += [pytest.param(_system, spec.name, id=f"{_system}.{spec.name}") for spec in criticals(_cls)]


@pytest.mark.parametrize(("system", "query"), CASES)
def test_critical_query(benchmark, target, system: str, query: str) -> None:
    cls, _ = session.load_workload(system)
    spec = next(s for s in criticals(cls) if s.name == query)
    reason = unsupported([spec], target.caps).get(query)
    if reason:
        pytest.skip(reason)
    db = target.client()[load_system(system).database]
    params = cls.shared_params(db, seed=1)
    skip = session.preflight([spec], params, {})
    if skip:
        pytest.skip(skip[query])
    benchmark.extra_info.update({"sla_ms": spec.sla_ms, "sla_source": spec.sla_source, "server": target.caps.server})
    returned = benchmark(lambda: execute(db, as_ops(spec.build(None, params))))
    assert returned >= 0
