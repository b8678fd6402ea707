"""Index check: explain every critical query and say which index it uses, or why not.

Seed 004's KPI: more than 90% of queries use an appropriate index. Statuses:
- ok: an index serves the query, no collection scan;
- collscan: the collection is scanned (the finding names the filter fields lacking an index);
- unknown: the server's explain format is not understood — never a pass;
- not-honoured: scanned because the server cannot build the documented index (nx-27017 and
  an index on `id`): a server limit, reported and left out of the KPI;
- not-run: the server lacks a capability the query needs ($text, $lookup), left out too;
- error: explain failed.
In-memory sorts and many documents examined per document returned are warnings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from harness.bench.queries import Critical, Find, Op, as_ops
from harness.explain import PlanSummary, summarize
from harness.indexes import unsupported_reason
from harness.servers.capabilities import Capabilities
from harness.spec import System

KPI_TARGET = 0.90  # seed 004: ">90% of queries using appropriate indexes"
COUNTED = ("ok", "collscan", "unknown", "error")
EXAMINED_FACTOR = 10  # warn when a query examines this many documents per document returned …
EXAMINED_FLOOR = 100  # … and more than this many in all


@dataclass
class IndexFinding:
    query: str
    status: str
    indexes: list[str] = field(default_factory=list)
    format: str = "unknown"
    collection_scan: bool = False
    in_memory_sort: bool = False
    keys_examined: int | None = None
    docs_examined: int | None = None
    returned: int | None = None
    stages: list[str] = field(default_factory=list)
    detail: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def counted(self) -> bool:
        return self.status in COUNTED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _filter_fields(filter: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in filter.items():
        if key in ("$and", "$or") and isinstance(value, list):
            for sub in value:
                out += _filter_fields(sub)
        elif not key.startswith("$"):
            out.append(key)
    return out


def _explain(db: Database, op: Op) -> tuple[PlanSummary, str]:
    if isinstance(op, Find):
        plan = db.command("explain", op.command(), verbosity="executionStats")
        return summarize(plan, op.collection), ""
    plan = db.command("explain", op.command(), verbosity="executionStats")
    summary = summarize(plan, op.collection)
    if summary.format != "unknown" and not summary.placeholder:
        return summary, ""
    lead = op.leading_find()
    if lead is None:
        return summary, "the pipeline has no leading $match to explain"
    plan = db.command("explain", lead.command(), verbosity="executionStats")
    return summarize(plan, op.collection), "explained through the pipeline's leading $match"


def _not_honoured(op: Op, system: System | None, caps: Capabilities) -> str | None:
    """Why the server cannot build the documented index this op's filter would use, if so."""
    if system is None:
        return None
    find = op if isinstance(op, Find) else op.leading_find()
    if find is None:
        return None
    try:
        coll = system.collection(op.collection)
    except Exception:
        return None
    usable = _candidates(coll.indexes, find)
    reasons = [unsupported_reason(ix, caps) for ix in usable]
    if usable and all(reasons):
        return f"documented index {usable[0].describe()} not honoured: {reasons[0]}"
    return None


def _candidates(indexes: list[Any], find: Find, with_sort: bool = False) -> list[Any]:
    """Documented indexes that could serve `find`: text indexes for $text, else indexes led by
    a filtered (or sorted) field."""
    if "$text" in find.filter:
        return [ix for ix in indexes if ix.is_text]
    fields = set(_filter_fields(find.filter)) | ({k for k, _ in find.sort} if with_sort else set())
    return [ix for ix in indexes if not ix.is_text and ix.keys[0][0] in fields]


def _documented(op: Op, system: System | None, find: Find | None) -> str:
    """Is there a documented index the server could have used?"""
    if system is None or find is None:
        return "no index used"
    try:
        coll = system.collection(op.collection)
    except Exception:
        return "no index used"
    usable = _candidates(coll.indexes, find, with_sort=True)
    if usable:
        return f"documented index {usable[0].describe()} exists but the server's plan does not use it"
    return "no documented index covers it"


def check_query(db: Database, spec: Critical, ops: Any, caps: Capabilities, system: System | None = None,
                skip_reason: str | None = None) -> IndexFinding:
    if skip_reason:
        return IndexFinding(spec.name, "not-run", detail=skip_reason)
    finding = IndexFinding(spec.name, "ok")
    notes: list[str] = []
    for op in as_ops(ops):
        try:
            summary, how = _explain(db, op)
            returned = summary.returned if summary.returned is not None else op.run(db)
        except PyMongoError as exc:
            return IndexFinding(spec.name, "error", detail=f"explain failed: {exc}"[:300])
        if how:
            notes.append(f"{op.collection}: {how}")
        finding.format = summary.format
        finding.indexes += summary.indexes
        finding.stages += [f"{op.collection}: {s}" for s in summary.stages]
        finding.in_memory_sort |= summary.in_memory_sort
        finding.collection_scan |= summary.collection_scan
        finding.keys_examined = _add(finding.keys_examined, summary.keys_examined)
        finding.docs_examined = _add(finding.docs_examined, summary.docs_examined)
        finding.returned = (finding.returned or 0) + (returned or 0)
        if summary.format == "unknown":
            finding.status = "unknown"
            notes.append(f"{op.collection}: explain format not understood — not counted as using an index")
        elif summary.collection_scan or not summary.indexes:
            reason = _not_honoured(op, system, caps)
            if finding.status == "ok":
                finding.status = "not-honoured" if reason else "collscan"
            find = op if isinstance(op, Find) else op.leading_find()
            fields = ", ".join(_filter_fields(find.filter)) if find else "(no $match)"
            notes.append(reason or f"{op.collection}: collection scan for {fields} — {_documented(op, system, find)}")
        if summary.in_memory_sort:
            finding.warnings.append(f"{op.collection}: in-memory sort")
        if (summary.docs_examined is not None and returned is not None
                and summary.docs_examined > max(EXAMINED_FLOOR, EXAMINED_FACTOR * max(1, returned))):
            finding.warnings.append(f"{op.collection}: examined {summary.docs_examined} documents "
                                    f"for {returned} returned")
    finding.detail = "; ".join(notes)
    return finding


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def kpi(findings: list[IndexFinding]) -> dict[str, Any]:
    counted = [f for f in findings if f.counted]
    ok = sum(f.status == "ok" for f in counted)
    share = ok / len(counted) if counted else None
    return {"target": KPI_TARGET, "queries_counted": len(counted), "using_index": ok, "share": share,
            "passed": None if share is None else share > KPI_TARGET}
