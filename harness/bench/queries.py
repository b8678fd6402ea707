"""The workload API: a critical query is a method that builds the operation to time.

A workload method decorated with `@critical(sla_ms=…, freq=…)` receives the user's sampled
parameters and returns one operation (`find(...)`, `aggregate(...)`) or a tuple of them (a
profile page reading two collections). Returning a description instead of running it lets the
harness time it (cursors drained inside the timed region), explain it for the index check, and
skip it with a reason when the server lacks a capability it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

# Expected frequency (seed 004's words) → Locust task weight.
FREQ_WEIGHT = {"very high": 8, "high": 5, "medium": 3, "low": 2, "daily": 2}


@dataclass(frozen=True)
class Find:
    collection: str
    filter: dict[str, Any]
    projection: dict[str, Any] | None = None
    sort: tuple[tuple[str, int], ...] = ()
    limit: int = 0

    def run(self, db: Database) -> int:
        cursor = db[self.collection].find(self.filter, self.projection, sort=list(self.sort) or None,
                                          limit=self.limit)
        return len(list(cursor))  # drain: find() alone does no I/O

    def command(self) -> dict[str, Any]:
        cmd: dict[str, Any] = {"find": self.collection, "filter": self.filter}
        if self.projection:
            cmd["projection"] = self.projection
        if self.sort:
            cmd["sort"] = dict(self.sort)
        if self.limit:
            cmd["limit"] = self.limit
        return cmd


@dataclass(frozen=True)
class Aggregate:
    collection: str
    pipeline: tuple[dict[str, Any], ...]

    def run(self, db: Database) -> int:
        return len(list(db[self.collection].aggregate(list(self.pipeline))))

    def command(self) -> dict[str, Any]:
        return {"aggregate": self.collection, "pipeline": list(self.pipeline), "cursor": {}}

    def leading_find(self) -> Find | None:
        """The pipeline's leading $match (+ $sort/$limit) as a find: what the query layer runs."""
        stages = list(self.pipeline)
        if not stages or "$match" not in stages[0]:
            return None
        sort: tuple[tuple[str, int], ...] = ()
        limit = 0
        rest = stages[1:]
        if rest and "$sort" in rest[0]:
            sort = tuple(rest[0]["$sort"].items())
            rest = rest[1:]
            if rest and "$limit" in rest[0]:
                limit = int(rest[0]["$limit"])
        return Find(self.collection, stages[0]["$match"], sort=sort, limit=limit)


Op = Find | Aggregate


def find(collection: str, filter: dict[str, Any], *, projection: dict[str, Any] | None = None,
         sort: Sequence[tuple[str, int]] = (), limit: int = 0) -> Find:
    return Find(collection, filter, projection, tuple(sort), limit)


def aggregate(collection: str, pipeline: Sequence[dict[str, Any]]) -> Aggregate:
    return Aggregate(collection, tuple(pipeline))


def as_ops(result: Op | Sequence[Op]) -> tuple[Op, ...]:
    return (result,) if isinstance(result, Find | Aggregate) else tuple(result)


def execute(db: Database, ops: Sequence[Op]) -> int:
    """Run every operation, draining cursors; returns the documents returned."""
    return sum(op.run(db) for op in ops)


@dataclass
class Critical:
    """One critical query: how to build it, its SLA and weight, and what it needs."""

    name: str
    build: Callable[..., Op | Sequence[Op]]
    sla_ms: float
    weight: int
    freq: str
    sla_source: str  # "seed 004" or "assumed"
    description: str
    needs: tuple[str, ...] = ()
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sla_ms": self.sla_ms, "weight": self.weight, "freq": self.freq,
                "sla_source": self.sla_source, "description": self.description, "needs": list(self.needs),
                "note": self.note}


def critical(sla_ms: float, freq: str = "medium", *, weight: int | None = None, source: str = "assumed",
             needs: Sequence[str] = (), note: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a workload method as a critical query and a Locust task.

    `source` says where the SLA comes from ("seed 004"); anything else is an assumption and
    is reported as one. `needs` names server capabilities (text_index, lookup, ...).
    """
    if freq not in FREQ_WEIGHT and weight is None:
        raise ValueError(f"unknown frequency {freq!r}: one of {', '.join(FREQ_WEIGHT)} or pass weight=")

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = Critical(name=fn.__name__, build=fn, sla_ms=float(sla_ms), weight=weight or FREQ_WEIGHT[freq],
                        freq=freq, sla_source=source, description=(fn.__doc__ or "").strip().split("\n")[0],
                        needs=tuple(needs), note=note)

        def task(user: Any) -> None:
            user.run_query(spec)

        task.__name__ = fn.__name__
        task.__doc__ = fn.__doc__
        task.critical = spec  # type: ignore[attr-defined]
        task.locust_task_weight = spec.weight  # type: ignore[attr-defined]  # Locust's @task marker
        return task

    return wrap


def criticals(user_class: type) -> list[Critical]:
    """The critical queries of a workload class, in declaration order (base classes first)."""
    out: dict[str, Critical] = {}
    for klass in reversed(user_class.__mro__):
        for value in vars(klass).values():
            spec = getattr(value, "critical", None)
            if isinstance(spec, Critical):
                out[spec.name] = spec
    return list(out.values())
