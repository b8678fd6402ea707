"""Before the first timed request: sample parameters, decide what cannot run, warm up.

Shared by `harness bench` (in its own process), every Locust process of a plain
`locust -f workloads/x.py` run (local, master or worker) and the pytest-benchmark suite.
Nothing here imports Locust.

- Capabilities: an operation needing something the server lacks is not run, with the reason.
- Write guard: write operations run only on a database `harness load` generated (its
  `harness_meta` record), unless `allow_writes` is given.
- Preflight + warm-up: each operation runs `warmup` times untimed (at least once): a server
  that does not implement it (FerretDB's `$group` without `$avg`) is reported as not run with
  the server's words; the timed statistics start warm (caches, connection pool).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pymongo.database import Database
from pymongo.errors import OperationFailure

from harness.workload import Params, Workload, params_for

NOT_IMPLEMENTED = (115, 168, 238, 31325, 40324)  # CommandNotSupported, InvalidPipelineOperator, NotImplemented…


@dataclass
class Prepared:
    workload: Workload
    db: Database
    params: Params
    skip: dict[str, str] = field(default_factory=dict)
    warmup: int = 0
    warmup_empty: dict[str, int] = field(default_factory=dict)  # operations returning nothing in warm-up

    @property
    def generated(self) -> bool:
        return bool(self.params.meta)


def capability_skips(workload: Workload, caps: object) -> dict[str, str]:
    """{operation: reason} for operations needing capabilities the server lacks."""
    from harness.servers.capabilities import DESCRIPTIONS

    out = {}
    for op in workload.operations:
        missing = [n for n in op.needs if not caps.has(n)]  # type: ignore[attr-defined]
        if missing:
            out[op.name] = f"{caps.server} lacks " + "; ".join(DESCRIPTIONS.get(n, n) for n in missing)  # type: ignore[attr-defined]
    return out


def write_skips(workload: Workload, generated: bool, allow_writes: bool) -> dict[str, str]:
    if generated or allow_writes:
        return {}
    return {op.name: "writes only touch a database `harness load` generated (no harness_meta here); "
                     "pass --allow-writes to write anyway" for op in workload.operations if op.writes}


def prepare_in_process(workload: Workload, db: Database, *, seed: int | None = None, allow_writes: bool = False,
                       skip: str | dict[str, str] | None = None, caps: object | None = None,
                       warmup: int = 10) -> Prepared:
    """Sample, skip and warm up. `skip` given as a comma list (from `harness bench` to its
    workers) replaces the capability probe."""
    params = params_for(workload, db, seed)
    prep = Prepared(workload, db, params, warmup=max(1, warmup))
    if isinstance(skip, dict):
        prep.skip.update(skip)
    elif skip is not None:
        prep.skip.update({n: "server lacks a capability it needs" for n in str(skip).split(",") if n})
    else:
        if caps is None:
            from harness.servers.capabilities import probe

            caps = probe(db.client)
        prep.skip.update(capability_skips(workload, caps))
    for name, reason in write_skips(workload, prep.generated, allow_writes).items():
        prep.skip.setdefault(name, reason)
    warm(prep)
    return prep


WARMUP_BUDGET_S = 1.0  # per operation: a slow operation is warmed fewer times (at least once)


def warm(prep: Prepared) -> None:
    """Run each operation `prep.warmup` times untimed (within WARMUP_BUDGET_S each, at least
    once); the first run is the preflight."""
    for op in prep.workload.operations:
        if op.name in prep.skip:
            continue
        empty = 0
        deadline = time.perf_counter() + WARMUP_BUDGET_S
        for n in range(prep.warmup):
            if n and time.perf_counter() > deadline:
                break
            try:
                rows = sum(o.run(prep.db) for o in op.ops(prep.params))
            except OperationFailure as exc:
                if n == 0 and (exc.code in NOT_IMPLEMENTED or "not implemented" in str(exc).lower()):
                    errmsg = (exc.details or {}).get("errmsg", exc)
                    prep.skip[op.name] = f"server does not implement it: {errmsg}"[:200]
                    break
                break  # the timed run reports it as the operation's error
            except Exception:  # noqa: BLE001 - likewise (duplicate key, network): judged in the run
                break
            empty += rows == 0
        prep.warmup_empty[op.name] = empty
