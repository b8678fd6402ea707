"""Normalise explain output from different servers into one summary.

Three dialects are read; anything else is format "unknown" and never counts as using an index.

- "mongodb": a stage tree (IXSCAN, COLLSCAN, FETCH, SORT, TEXT_MATCH…) under
  `queryPlanner.winningPlan`, for find and for aggregate (`stages[0].$cursor` or a top-level
  `queryPlanner`); the slot-based engine (`explainVersion: "2"`) nests the same stages under
  `winningPlan.queryPlan`. `executionStats` carries the examined/returned counters.
- "postgresql": FerretDB 2 on DocumentDB returns PostgreSQL's EXPLAIN JSON tree under
  `queryPlanner.Plan` (nodes with `Node Type`, children in `Plans`), the same for find, count
  and aggregate; explain of `distinct` is refused (code 238, NotImplemented). Its shapes, as
  FerretDB 2.5.0 on DocumentDB 0.106 / PostgreSQL 15 returns them:
  * index use: `Index Scan`, `Index Only Scan` or `Bitmap Index Scan` (under a `Bitmap Heap
    Scan`, or a `BitmapAnd`/`BitmapOr` for several indexes) with `Index Name`. DocumentDB's
    explain hook already reports the MongoDB index name (`user_id_1_started_at_-1`); without
    the hook PostgreSQL's own names show: `collection_pk_<collection id>` (the `_id_` index,
    mapped back here) and `documents_rum_index_<index id>` (kept: only the server's catalog
    knows its MongoDB name).
  * collection scan: a `Seq Scan` (or `Parallel Seq Scan`) of the collection's own table, or
    a `Bitmap Index Scan` of `_id_` whose only condition is `shard_key_value = <collection
    id>`: DocumentDB uses that before the table is analysed and it reads every document.
    An ordered `Index Scan` of `_id_` with only that condition walks the collection in `_id`
    order (a sort on `_id`): index use, as MongoDB's full-bounds IXSCAN on `_id_` is.
  * which table is the collection's own: DocumentDB names tables `documents_<collection id>`
    and aliases the queried collection `collection`; tables read by a `$lookup` or
    `$unionWith` are aliased `collection_<level>_<n>`. A scan of those is listed in `stages`
    but is not a scan of the collection itself.
  * in-memory sort: a `Sort` (or `Incremental Sort`) node; DocumentDB sorts after the scan
    even where a compound index could give the order (an equality + sort + limit shows
    `Limit > Sort > Index Scan`).
  * counters: none. `executionStats` verbosity is ignored (no ANALYZE); `Plan Rows` are the
    planner's estimates, so examined/returned stay unknown.
  Small collections: PostgreSQL's cost-based planner reads a table of a page or so
  sequentially even for a unique-key equality. Measured here (documents of ~130 bytes, a
  single-field and a compound index): at 60 documents or fewer every query is a `Seq Scan`;
  from 80 documents up equality, range and `$in` on an indexed field use the index, before and
  after ANALYZE, up to 100,000 documents. The summary reports what the planner did, so an
  index check on a tiny collection reports a collection scan truthfully.
- "sqlite" (nx-27017): SQLite plan lines in `queryPlanner.winningPlan[].detail`
  (`SEARCH users USING INDEX idx_users_email (<expr>=?)`, `SCAN users`); its executionStats
  are placeholders (all zero), so examined counts are reported as unknown.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_SQLITE_INDEX = re.compile(r"\bUSING (?:COVERING )?INDEX (\S+)")
_SQLITE_PK = re.compile(r"\bUSING (?:INTEGER )?PRIMARY KEY\b")
_SQLITE_SCAN = re.compile(r"^SCAN (\S+)")
_FTS_SCAN = re.compile(r"^SCAN (\S+_fts)\b.*VIRTUAL TABLE INDEX")
MONGO_INDEX_STAGES = ("IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN", "TEXT_MATCH", "TEXT_OR", "IDHACK", "EXPRESS_IXSCAN",
                      "EXPRESS_CLUSTERED_IXSCAN", "GEO_NEAR_2D", "GEO_NEAR_2DSPHERE")
PG_INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
PG_TABLE_SCANS = ("Seq Scan", "Parallel Seq Scan")
PG_SORTS = ("Sort", "Incremental Sort")
PG_OWN_ALIAS = "collection"  # DocumentDB's alias for the queried collection's table
_PG_PK = re.compile(r"^collection_pk_\d+$")  # PostgreSQL's name of DocumentDB's _id_ index
_PG_SHARD_KEY_ONLY = re.compile(r"^\(*shard_key_value = '?\d+'?(?:::bigint)?\)*$")


@dataclass
class PlanSummary:
    format: str  # mongodb | postgresql | sqlite | unknown
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
    root = qp.get("Plan")
    if isinstance(root, dict) and isinstance(root.get("Node Type"), str):
        return "postgresql"
    if isinstance(winning, list) and winning and all(isinstance(x, dict) and "detail" in x for x in winning):
        return "sqlite"
    return "unknown"


def _walk(stage: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stage of a MongoDB plan tree: children in `inputStage(s)`, the slot-based engine's
    `queryPlan`, join sides, and on a sharded cluster each shard's `winningPlan` under `shards`."""
    out = [stage] if "stage" in stage else []
    for key in ("inputStage", "queryPlan", "outerStage", "innerStage"):
        if isinstance(stage.get(key), dict):
            out += _walk(stage[key])
    for child in stage.get("inputStages", []) or []:
        if isinstance(child, dict):
            out += _walk(child)
    for shard in stage.get("shards", []) or []:
        if isinstance(shard, dict) and isinstance(shard.get("winningPlan"), dict):
            out += _walk(shard["winningPlan"])
    return out


def _mongo_index_name(stage: dict[str, Any]) -> str:
    """`indexName` (always present since MongoDB 3.0); else the default name its `keyPattern`
    would get (`{a: 1, b: -1}` -> `a_1_b_-1`)."""
    if stage.get("indexName"):
        return str(stage["indexName"])
    if stage.get("stage") == "IDHACK":
        return "_id_"
    key = stage.get("keyPattern")
    if isinstance(key, dict) and key:
        return "_".join(f"{k}_{v:g}" if isinstance(v, int | float) else f"{k}_{v}" for k, v in key.items())
    return str(stage.get("stage"))


def _mongodb(summary: PlanSummary, plan: dict[str, Any], qp: dict[str, Any]) -> None:
    stages = _walk(qp["winningPlan"])
    for stage in stages:
        name = stage.get("stage", "")
        summary.stages.append(name)
        if name in MONGO_INDEX_STAGES and _mongo_index_name(stage) not in summary.indexes:
            summary.indexes.append(_mongo_index_name(stage))  # TEXT_MATCH and its IXSCAN name one index
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


def _pg_nodes(node: dict[str, Any], alias: str | None = None) -> list[tuple[dict[str, Any], str | None]]:
    """Every node with the alias of the table it reads (a bitmap index scan inherits its heap
    scan's alias, which carries the `Alias`)."""
    alias = node.get("Alias", alias)
    out = [(node, alias)]
    for child in node.get("Plans", []) or []:
        if isinstance(child, dict):
            out += _pg_nodes(child, alias)
    return out


def pg_index_name(name: str) -> str:
    """The MongoDB name of an index named in a DocumentDB plan (`collection_pk_N` is `_id_`)."""
    return "_id_" if _PG_PK.match(name) else name


def _postgresql(summary: PlanSummary, root: dict[str, Any]) -> None:
    reads_table = False
    for node, alias in _pg_nodes(root):
        kind = str(node.get("Node Type", ""))
        own = alias in (None, PG_OWN_ALIAS)
        where = "" if own else f" ({alias})"
        if kind in PG_INDEX_NODES and node.get("Index Name"):
            reads_table = True
            name = pg_index_name(str(node["Index Name"]))
            summary.stages.append(f"{kind} {name}{where}")
            full_scan = name == "_id_" and _PG_SHARD_KEY_ONLY.match(str(node.get("Index Cond", "")).strip())
            if full_scan and kind == "Bitmap Index Scan":
                summary.collection_scan |= own  # every document of the collection, in no order
            else:
                summary.indexes.append(name)
            continue
        summary.stages.append(kind + (where if "Relation Name" in node else ""))
        if kind in PG_TABLE_SCANS:
            reads_table = True
            summary.collection_scan |= own
        elif "Relation Name" in node:
            reads_table = True
        if kind in PG_SORTS:
            summary.in_memory_sort = True
    # A plan that reads no table (DocumentDB's `Function Scan` for a collection that does not
    # exist, or a metadata count) describes no query execution.
    summary.placeholder = not reads_table


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
            if scan and "VIRTUAL TABLE" not in line and collection in (None, scan.group(1)):
                summary.collection_scan = True
        if "USE TEMP B-TREE FOR ORDER BY" in line:
            summary.in_memory_sort = True


def summarize(plan: dict[str, Any], collection: str | None = None) -> PlanSummary:
    """Summarise `plan`; `collection` tells which scanned SQLite table is the collection itself
    (scans of a text index's or a subquery's tables are not collection scans). DocumentDB's
    tables are named by collection id, so its own table is told by its alias instead."""
    fmt = detect_format(plan)
    summary = PlanSummary(format=fmt)
    qp = _query_planner(plan)
    if fmt == "mongodb":
        _mongodb(summary, plan, qp)
    elif fmt == "postgresql":
        _postgresql(summary, qp["Plan"])
    elif fmt == "sqlite":
        _sqlite_lines(summary, [x["detail"] for x in qp["winningPlan"]], collection)
        # nx-27017 reports executionStats with every counter 0: they measure nothing.
    return summary
