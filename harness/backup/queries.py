"""Run a system's critical queries once on restored data, through the bench's workload API.

The bench owns the query definitions (workloads/<system>.py, harness.bench). Its modules import
Locust, which monkey-patches the process with gevent, so the queries run in a child process
(`python -m harness.backup.queries SYSTEM URI DB`) that prints JSON. A system without a workload
gets the collection-level checks only, and the report says so. A query that fails to run on
the restored data fails the verification, except a server's NotImplemented error (a capability
gap, reported as "not run" with the server's words); its latency is reported, not judged (SLAs are the
bench's business, and a scratch restore is not a production-like measurement).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from harness.redact import redact
from harness.spec import System

NOT_IMPLEMENTED = 238  # the server's NotImplemented error code


@dataclass
class QueryResult:
    name: str
    ok: bool
    ms: float = 0.0
    rows: int | None = None
    detail: str = ""


def _workload_exists(system: str) -> bool:
    from harness.systems import discover

    found = discover().get(system)
    return found is not None and found.workload is not None


def run_critical(system: System, uri: str, database: str, timeout: float = 600) -> tuple[list[QueryResult], str]:
    """(results, note). An empty list with a note when the query check is not available."""
    try:
        import harness.bench.queries  # noqa: F401
    except ImportError:
        return [], "critical-query check not available (no harness.bench); collection-level checks only"
    if not _workload_exists(system.name):
        return [], f"critical-query check not available (no workloads/{system.name}.py); collection-level checks only"
    try:
        out = subprocess.run([sys.executable, "-m", "harness.backup.queries", system.name, uri, database],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [QueryResult("critical queries", False, detail=f"did not finish within {timeout:.0f}s")], ""
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        return [QueryResult("critical queries", False, detail=redact(lines[-1] if lines else "failed"))], ""
    data = json.loads(out.stdout)
    results = [QueryResult(**r) for r in data["results"]]
    skipped = data.get("skipped", {})
    note = f"{sum(r.ok for r in results)}/{len(results)} critical queries ran once on the restored data"
    if skipped:
        note += "; not run (server lacks a capability): " + ", ".join(f"{k} ({v})" for k, v in skipped.items())
    return results, note


def _child(system_name: str, uri: str, database: str) -> dict[str, Any]:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    from harness.bench.queries import as_ops, criticals, execute
    from harness.bench.session import load_workload
    from harness.bench.user import Params, data_as_of, unsupported
    from harness.servers.capabilities import probe

    client = MongoClient(uri, serverSelectionTimeoutMS=10000, tz_aware=False)
    db = client[database]
    cls, _ = load_workload(system_name)
    params = Params(db, data_as_of(db), seed=1)
    cls.sample(params)
    specs = criticals(cls)
    skipped = unsupported(specs, probe(client))
    user = object.__new__(cls)  # the query builders only read their parameters
    results = []
    for spec in specs:
        if spec.name in skipped:
            continue
        t0 = time.perf_counter()
        try:
            rows = execute(db, as_ops(spec.build(user, params)))
            results.append({"name": spec.name, "ok": True, "ms": (time.perf_counter() - t0) * 1000, "rows": rows,
                            "detail": f"SLA {spec.sla_ms:g} ms (not judged here)"})
        except OperationFailure as exc:
            if exc.code == NOT_IMPLEMENTED:  # a server capability gap, not a defect of the restore
                skipped[spec.name] = f"server: {exc.details.get('errmsg') if exc.details else exc}"
                continue
            results.append({"name": spec.name, "ok": False, "ms": (time.perf_counter() - t0) * 1000, "rows": None,
                            "detail": f"{type(exc).__name__}: {exc}"})
        except Exception as exc:  # noqa: BLE001 - a query that cannot run on the restore is a failed check
            results.append({"name": spec.name, "ok": False, "ms": (time.perf_counter() - t0) * 1000, "rows": None,
                            "detail": f"{type(exc).__name__}: {exc}"})
    return {"results": results, "skipped": skipped}


if __name__ == "__main__":
    print(json.dumps(_child(*sys.argv[1:4])))
