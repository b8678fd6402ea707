"""Normalise explain output from different servers into one summary.

- MongoDB: a stage tree (IXSCAN, COLLSCAN, FETCH, SORT, TEXT_MATCH…), for find and for
  aggregate (`stages[0].$cursor` or a top-level `queryPlanner`), with executionStats counters.
- nx-27017: SQLite plan lines in `queryPlanner.winningPlan[].detail`
  (`SEARCH users USING INDEX idx_users_email (<expr>=?)`, `SCAN users`); its executionStats
  are placeholders (all zero), so examined counts are reported as unknown.
- FerretDB (SQLite backend): `queryPlanner.Plan` rows `id=2 parent=0 notused=0 detail=SCAN
  users_5e7cc513` (tables carry a hash suffix), with `filterPushdown` flags.
Anything else is format "unknown": it never counts as using an index.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_SQLITE_INDEX = re.compile(r"\bUSING (?:COVERING )?INDEX (\S+)")
_SQLITE_PK = re.compile(r"\bUSING (?:INTEGER )?PRIMARY KEY\b")
_SQLITE_SCAN = re.compile(r"^SCAN (\S+)")
_FTS_SCAN = re.compile(r"^SCAN (\S+_fts)\b.*VIRTUAL TABLE INDEX")
_FERRET_ROW = re.compile(r"\bdetail=(.*)$")
MONGO_INDEX_STAGES = ("IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN", "TEXT_MATCH", "TEXT_OR", "IDHACK", "EXPRESS_IXSCAN",
                      "EXPRESS_CLUSTERED_IXSCAN")


@dataclass
class PlanSummary:
    format: str  # mongodb | sqlite | ferretdb | unknown
    indexes: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    collection_scan: bool = False
    in_memory_sort: bool = False
    keys_examined: int | None = None
    docs_examined: int | None = None
    returned: int | None = None
    placeholder: bool = False  # the server answered with a plan that describes nothing (nx's aggregate EOF)

    @property
    def uses_index(self) -> bool:
        return self.format != "unknown" and bool(self.indexes) and not self.collection_scan

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uses_index": self.uses_index}


def _query_planner(plan: dict[str, Any]) -> dict[str, Any]:
    qp = plan.get("queryPlanner")
    if isinstance(qp, dict):
        return qp
    stages = plan.get("stages")
    if isinstance(stages, list) and stages:  # aggregate explain: the first stage holds the cursor plan
        cursor = stages[0].get("$cursor") if isinstance(stages[0], dict) else None
        if isinstance(cursor, dict) and isinstance(cursor.get("queryPlanner"), dict):
            return cursor["queryPlanner"]
    shards = plan.get("shards")
    if isinstance(shards, dict) and shards:
        return _query_planner(next(iter(shards.values())))
    return {}


def _winning(plan: dict[str, Any]) -> Any:
    return _query_planner(plan).get("winningPlan")


def _execution_stats(plan: dict[str, Any]) -> dict[str, Any]:
    stats = plan.get("executionStats")
    if isinstance(stats, dict):
        return stats
    stages = plan.get("stages")
    if isinstance(stages, list) and stages and isinstance(stages[0], dict):
        cursor = stages[0].get("$cursor") or {}
        if isinstance(cursor.get("executionStats"), dict):
            return cursor["executionStats"]
    return {}


def detect_format(plan: dict[str, Any]) -> str:
    qp = _query_planner(plan)
    winning = qp.get("winningPlan")
    if isinstance(winning, dict) and ("stage" in winning or "queryPlan" in winning):
        return "mongodb"
    if isinstance(winning, list) and winning and all(isinstance(x, dict) and "detail" in x for x in winning):
        return "sqlite"
    rows = qp.get("Plan")
    if isinstance(rows, list) and rows and all(isinstance(r, str) and _FERRET_ROW.search(r) for r in rows):
        return "ferretdb"
    return "unknown"


def _walk(stage: dict[str, Any]) -> list[dict[str, Any]]:
    out = [stage]
    for key in ("inputStage", "queryPlan", "outerStage", "innerStage"):
        if isinstance(stage.get(key), dict):
            out += _walk(stage[key])
    for child in stage.get("inputStages", []) or []:
        out += _walk(child)
    return out


def _table_matches(table: str, collection: str | None) -> bool:
    """Is `table` the collection's own table? FerretDB suffixes a hash (users_5e7cc513)."""
    if collection is None:
        return True
    return table == collection or re.fullmatch(re.escape(collection) + r"_[0-9a-f]{8}", table) is not None


def _sqlite_lines(summary: PlanSummary, lines: list[str], collection: str | None) -> None:
    for line in lines:
        summary.stages.append(line)
        m = _SQLITE_INDEX.search(line)
        fts = _FTS_SCAN.match(line)
        if m:
            summary.indexes.append(m.group(1))
        elif fts:
            summary.indexes.append(fts.group(1))  # an FTS5 virtual table: the text index
        elif _SQLITE_PK.search(line) and collection is None:
            summary.indexes.append("rowid")
        else:
            scan = _SQLITE_SCAN.match(line)
            if scan and "VIRTUAL TABLE" not in line and _table_matches(scan.group(1), collection):
                summary.collection_scan = True
        if "USE TEMP B-TREE FOR ORDER BY" in line:
            summary.in_memory_sort = True


def summarize(plan: dict[str, Any], collection: str | None = None) -> PlanSummary:
    """Summarise `plan`; `collection` tells which scanned table is the collection itself
    (scans of a text index's or a subquery's tables are not collection scans)."""
    fmt = detect_format(plan)
    summary = PlanSummary(format=fmt)
    qp = _query_planner(plan)
    if fmt == "mongodb":
        stages = _walk(qp["winningPlan"])
        for stage in stages:
            name = stage.get("stage", "")
            summary.stages.append(name)
            if name in MONGO_INDEX_STAGES:
                summary.indexes.append(stage.get("indexName") or ("_id_" if name == "IDHACK" else name))
            if name == "COLLSCAN":
                summary.collection_scan = True
            if name == "SORT":
                summary.in_memory_sort = True
        summary.placeholder = [s.get("stage") for s in stages] == ["EOF"] and "namespace" not in qp
        stats = _execution_stats(plan)
        if stats:
            summary.keys_examined = stats.get("totalKeysExamined")
            summary.docs_examined = stats.get("totalDocsExamined")
            summary.returned = stats.get("nReturned")
    elif fmt == "sqlite":
        _sqlite_lines(summary, [x["detail"] for x in qp["winningPlan"]], collection)
        # nx-27017 reports executionStats with every counter 0: they measure nothing.
    elif fmt == "ferretdb":
        lines = []
        for row in qp["Plan"]:
            m = _FERRET_ROW.search(row)
            lines.append(m.group(1).strip() if m else row)
        _sqlite_lines(summary, lines, collection)
    return summary
