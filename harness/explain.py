"""Normalise explain output from different servers into one summary.

Real MongoDB returns a stage tree (IXSCAN, COLLSCAN, FETCH, SORT...); nx-27017 returns SQLite
plan lines (`SEARCH users USING INDEX idx_users_email (email=?)`, `SCAN users`). Anything else
is reported as format "unknown" and never counts as using an index.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_SQLITE_INDEX = re.compile(r"\bUSING (?:COVERING )?INDEX (\S+)")
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)(?!.*USING)")


@dataclass
class PlanSummary:
    format: str  # mongodb | sqlite | unknown
    indexes: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    collection_scan: bool = False
    in_memory_sort: bool = False
    keys_examined: int | None = None
    docs_examined: int | None = None
    returned: int | None = None

    @property
    def uses_index(self) -> bool:
        return self.format != "unknown" and bool(self.indexes) and not self.collection_scan

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uses_index": self.uses_index}


def _winning(plan: dict[str, Any]) -> Any:
    qp = plan.get("queryPlanner") or {}
    if not qp and "stages" in plan:  # aggregate explain: first stage holds the cursor plan
        first = plan["stages"][0] if plan["stages"] else {}
        qp = (first.get("$cursor") or {}).get("queryPlanner") or {}
    return qp.get("winningPlan")


def detect_format(plan: dict[str, Any]) -> str:
    winning = _winning(plan)
    if isinstance(winning, dict) and ("stage" in winning or "queryPlan" in winning):
        return "mongodb"
    if isinstance(winning, list) and winning and all(isinstance(x, dict) and "detail" in x for x in winning):
        return "sqlite"
    return "unknown"


def _walk(stage: dict[str, Any]) -> list[dict[str, Any]]:
    out = [stage]
    for key in ("inputStage", "queryPlan"):
        if isinstance(stage.get(key), dict):
            out += _walk(stage[key])
    for child in stage.get("inputStages", []) or []:
        out += _walk(child)
    return out


def summarize(plan: dict[str, Any]) -> PlanSummary:
    fmt = detect_format(plan)
    summary = PlanSummary(format=fmt)
    winning = _winning(plan)
    if fmt == "mongodb":
        for stage in _walk(winning):
            name = stage.get("stage", "")
            summary.stages.append(name)
            if name in ("IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN", "TEXT_MATCH", "TEXT_OR", "IDHACK"):
                summary.indexes.append(stage.get("indexName") or ("_id_" if name == "IDHACK" else name))
            if name == "COLLSCAN":
                summary.collection_scan = True
            if name == "SORT":
                summary.in_memory_sort = True
        stats = plan.get("executionStats") or {}
        if stats:
            summary.keys_examined = stats.get("totalKeysExamined")
            summary.docs_examined = stats.get("totalDocsExamined")
            summary.returned = stats.get("nReturned")
    elif fmt == "sqlite":
        for line in (x["detail"] for x in winning):
            summary.stages.append(line)
            m = _SQLITE_INDEX.search(line)
            if m:
                summary.indexes.append(m.group(1))
            elif _SQLITE_SCAN.match(line) and "VIRTUAL TABLE" not in line:
                summary.collection_scan = True
            if "USE TEMP B-TREE FOR ORDER BY" in line:
                summary.in_memory_sort = True
    return summary
