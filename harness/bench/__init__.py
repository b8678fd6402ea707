"""`harness bench`: Locust workloads replaying each system's critical queries, with SLA verdicts.

The workload API is deliberately tiny (Locust's is: User, task, events): subclass `MongoUser`,
set `system`, fill parameter pools in `sample`, and declare `@critical` methods returning
`find(...)` / `aggregate(...)`. `MongoUser` and `Params` are imported lazily: importing them
imports Locust (which monkey-patches with gevent) and registers the harness's Locust plugin;
the operation builders alone (`find`, `aggregate`, `critical`) do neither.
"""

from __future__ import annotations

from typing import Any

from harness.bench.queries import Critical, aggregate, critical, find

__all__ = ["Critical", "MongoUser", "Params", "aggregate", "critical", "find"]


def __getattr__(name: str) -> Any:
    if name in ("MongoUser", "Params"):
        from harness.bench import (
            plugin,  # noqa: F401  (registers the Locust plugin)
            user,
        )

        return getattr(user, name)
    raise AttributeError(name)
