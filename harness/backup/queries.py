"""Run a system's critical read queries once on restored data, in this process.

The query definitions are the system's workload (`workloads/<system>.py`, a plain
`harness.workload.Workload`: no Locust, no gevent), so they run here directly. A system without
a workload gets the collection-level checks only, and the report says so. Write operations are
not run (verification reads the restore; it does not change it). A query that fails to run on
the restored data fails the verification, except a server's NotImplemented error (a capability
gap, reported as "not run" with the server's words); its latency is reported, not judged (SLAs
are the bench's business, and a scratch restore is not a production-like measurement).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.redact import redact
from harness.spec import System

NOT_IMPLEMENTED = (115, 168, 238, 31325, 40324)  # CommandNotSupported, InvalidPipelineOperator, NotImplemented…


@dataclass
class QueryResult:
    name: str
    ok: bool
    ms: float = 0.0
    rows: int | None = None
    detail: str = ""


def run_critical(system: System, uri: str, database: str, timeout: float = 600) -> tuple[list[QueryResult], str]:
    """(results, note). An empty list with a note when the query check is not available."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    from harness.servers.capabilities import DESCRIPTIONS, probe
    from harness.workload import load_workload, params_for, workload_exists

    if not workload_exists(system.name):
        return [], f"critical-query check not available (no workloads/{system.name}.py); collection-level checks only"
    client = MongoClient(uri, serverSelectionTimeoutMS=10000, tz_aware=False)
    try:
        try:
            workload = load_workload(system.name)
            params = params_for(workload, client[database], seed=1)
        except HarnessError as exc:
            return [QueryResult("critical queries", False, detail=redact(exc.message))], ""
        caps = probe(client)
        skipped: dict[str, str] = {}
        results = []
        deadline = time.perf_counter() + timeout
        reads = [op for op in workload.operations if not op.writes]
        for op in reads:
            missing = [n for n in op.needs if not caps.has(n)]
            if missing:
                skipped[op.name] = f"{caps.server} lacks " + "; ".join(DESCRIPTIONS.get(n, n) for n in missing)
                continue
            if time.perf_counter() > deadline:
                results.append(QueryResult(op.name, False, detail=f"not reached within {timeout:.0f}s"))
                continue
            t0 = time.perf_counter()
            try:
                rows = sum(o.run(client[database]) for o in op.ops(params))
                results.append(QueryResult(op.name, True, (time.perf_counter() - t0) * 1000, rows,
                                           f"SLA {op.sla_ms:g} ms (not judged here)"))
            except OperationFailure as exc:
                if exc.code in NOT_IMPLEMENTED:  # a server capability gap, not a defect of the restore
                    skipped[op.name] = f"server: {exc.details.get('errmsg') if exc.details else exc}"
                    continue
                results.append(QueryResult(op.name, False, (time.perf_counter() - t0) * 1000, None,
                                           redact(f"{type(exc).__name__}: {exc}")))
            except Exception as exc:  # noqa: BLE001 - a query that cannot run on the restore is a failed check
                results.append(QueryResult(op.name, False, (time.perf_counter() - t0) * 1000, None,
                                           redact(f"{type(exc).__name__}: {exc}")))
    finally:
        client.close()
    note = f"{sum(r.ok for r in results)}/{len(results)} critical queries ran once on the restored data"
    writes = len(workload.operations) - len(reads)
    if writes:
        note += f" ({writes} write operation(s) not run: verification does not change the restore)"
    if skipped:
        note += "; not run (server lacks a capability): " + ", ".join(f"{k} ({v})" for k, v in skipped.items())
    return results, note
