"""Index check: explain every critical query and say which index it uses, or why not.

Each operation is explained with one sampled set of parameters (writes through a find with
the same filter: explaining never writes). Statuses:
- ok: an index serves the query, no collection scan;
- collscan: the collection is scanned (the finding names the filter fields lacking an index);
- unknown: the server's explain format is not understood — never a pass;
- not-honoured: scanned because the server cannot build the documented index (nx-27017 and
  an index on `id`): a server limit, reported and left out of the KPI;
- not-run: the server lacks a capability the query needs ($text, $lookup), left out too;
- not-applicable: nothing to look up (an insert);
- small-collection: scanned although a documented index exists, on a collection of at most
  SMALL_COLLECTION documents, which PostgreSQL's cost-based planner (DocumentDB) reads
  sequentially by choice; reported, left out of the KPI, not a failure;
- error: explain failed.
A collection scan where a documented index could serve the filter names that index
(`documented_index`): the verdict fails the query. The run's index KPI is the system's target.
In-memory sorts and many documents examined per document returned are warnings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from harness.explain import PlanSummary, summarize
from harness.indexes import unsupported_reason
from harness.servers.capabilities import Capabilities
from harness.spec import System
from harness.workload import Aggregate, Find, Op, as_ops, filter_fields

COUNTED = ("ok", "collscan", "unknown", "error")
SMALL_COLLECTION = 100
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
    documented_index: str = ""  # a documented index that could serve it, when the plan scans

    @property
    def counted(self) -> bool:
        return self.status in COUNTED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_filter_fields = filter_fields


def _explain(db: Database, op: Op) -> tuple[PlanSummary, str]:
    if not isinstance(op, Aggregate):
        target = op.as_find()
        assert target is not None
        how = "" if isinstance(op, Find) else f"explained as a find with the {op.kind}'s filter"
        plan = db.command("explain", target.command(), verbosity="executionStats")
        return summarize(plan, op.collection), how
    plan = db.command("explain", op.command(), verbosity="executionStats")
    summary = summarize(plan, op.collection)
    if summary.format != "unknown" and not summary.placeholder:
        return summary, ""
    lead = op.as_find()
    if lead is None:
        return summary, "the pipeline has no leading $match to explain"
    plan = db.command("explain", lead.command(), verbosity="executionStats")
    return summarize(plan, op.collection), "explained through the pipeline's leading $match"


def _not_honoured(op: Op, system: System | None, caps: Capabilities) -> str | None:
    """Why the server cannot build the documented index this op's filter would use, if so."""
    if system is None:
        return None
    find = op.as_find()
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
    """A documented index the server could have used ("" when none)."""
    if system is None or find is None:
        return ""
    try:
        coll = system.collection(op.collection)
    except Exception:
        return ""
    usable = _candidates(coll.indexes, find, with_sort=True)
    return f"documented index {usable[0].describe()}" if usable else ""


def check_query(db: Database, name: str, ops: Any, caps: Capabilities, system: System | None = None,
                skip_reason: str | None = None) -> IndexFinding:
    if skip_reason:
        return IndexFinding(name, "not-run", detail=skip_reason)
    finding = IndexFinding(name, "ok")
    notes: list[str] = []
    lookups = [op for op in as_ops(ops) if op.as_find() is not None]
    if not lookups:
        return IndexFinding(name, "not-applicable", detail="nothing to look up (insert)")
    for op in lookups:
        try:
            summary, how = _explain(db, op)
            returned = summary.returned if summary.returned is not None or op.write else op.run(db)
        except PyMongoError as exc:
            return IndexFinding(name, "error", detail=f"explain failed: {exc}"[:300])
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
            find = op.as_find()
            fields = ", ".join(_filter_fields(find.filter)) if find else "(no $match)"
            documented = "" if reason else _documented(op, system, find)
            small = bool(documented) and db[op.collection].estimated_document_count() <= SMALL_COLLECTION
            if finding.status in ("ok", "small-collection"):
                finding.status = "not-honoured" if reason else "small-collection" if small else "collscan"
            if small:
                notes.append(f"{op.collection}: read sequentially by the planner ({documented} exists; the "
                             f"collection holds at most {SMALL_COLLECTION} documents)")
                continue
            if documented and not finding.documented_index:
                finding.documented_index = documented
            why = (f"{documented} exists but the server's plan does not use it" if documented
                   else "no documented index covers it (a finding about the seed)")
            notes.append(reason or f"{op.collection}: collection scan for {fields or '(no filter)'} — {why}")
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
