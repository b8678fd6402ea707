"""What a loaded system occupies now, per collection, as the server reports it.

From `$collStats` storageStats (the `collStats` command, deprecated since MongoDB 6.2, where
the stage is missing) and dbStats: document count, data size, storage size, per-index sizes,
WiredTiger's block compressor; from serverStatus: WiredTiger's cache size (what holds the
working set: RAM fit is judged against it). From a
sample of documents encoded client-side: BSON document size (average, maximum), the length
and per-element size of every array the growth model says grows, and the ages of array
elements a retention rule pulls. From the data itself: how old documents are (for retention
and for the "hot" share of the working set) and how many documents each user owns.

Servers differ in what they report (nx-27017 reports no per-collection index sizes; FerretDB
rounds everything to 4 KiB pages). A figure the server does not report is None, with the
reason in `notes` — never an estimate passed off as a measurement.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import bson
import numpy as np
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database
from pymongo.errors import PyMongoError

from harness import indexes
from harness.capacity.units import human
from harness.errors import HarnessError
from harness.loadrecord import META, read_meta
from harness.servers import Capabilities
from harness.spec import DAY, ISO, Collection, Retention, System

HOT_DAYS = 90  # seed 004: hot storage = the last 90 days
SAMPLE = 500
PAGE = 4096
_RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=False)
_RECENCY_HINTS = ("last", "updated", "modified", "started", "analysis", "date", "created", "timestamp")


@dataclass
class ArrayStats:
    """An embedded array the growth model grows, as found in the sample."""

    path: str
    avg_len: float
    max_len: int
    item_bytes: float  # average BSON bytes one element adds to its document

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "avg_len": round(self.avg_len, 2), "max_len": self.max_len,
                "item_bytes": round(self.item_bytes, 1)}


@dataclass
class PullStats:
    """Elements a retention "pull" rule removes from an array: their ages and BSON sizes."""

    rule: str
    target: str
    days: int
    docs: int  # sampled documents
    ages: np.ndarray  # days before as_of, one per element
    sizes: np.ndarray  # BSON bytes, one per element

    def bytes_older_than(self, days_before_as_of: float) -> float:
        """Average bytes per document held in elements older than the given age."""
        if not self.docs:
            return 0.0
        return float(self.sizes[self.ages > days_before_as_of].sum()) / self.docs

    @property
    def avg_bytes(self) -> float:
        return float(self.sizes.sum()) / self.docs if self.docs else 0.0


@dataclass
class PerUser:
    """Documents per user (users owning at least one)."""

    field: str
    owners: int
    mean: float
    p50: float
    p99: float
    max: int

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "owners": self.owners, "mean": round(self.mean, 2), "p50": self.p50,
                "p99": round(self.p99, 1), "max": self.max}


@dataclass
class StorageStats:
    """A collection's sizes as the server reports them (bytes; None where it reports none)."""

    count: int | None = None
    size: int | None = None  # uncompressed BSON of the documents (WiredTiger: in-cache size)
    storage_size: int | None = None  # on disk, after block compression
    free_storage_size: int | None = None  # reusable bytes inside storage_size
    index_sizes: dict[str, int] = field(default_factory=dict)
    total_index_size: int | None = None
    compressor: str | None = None  # WiredTiger block_compressor (snappy, zstd, zlib, none)


def _num(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def storage_stats(docs: list[dict[str, Any]]) -> StorageStats:
    """Read `$collStats: {storageStats: {}}` output (one document, or one per shard on a sharded
    collection: summed) or a `collStats` command reply (the same fields at the top level).
    Sizes are scaled back to bytes when the server reports a `scaleFactor` above 1."""
    out = StorageStats()
    for doc in docs:
        st = doc.get("storageStats", doc)
        if not isinstance(st, dict):
            continue
        scale = _num(st.get("scaleFactor")) or 1
        scale = scale if scale > 1 else 1

        def add(total: int | None, key: str, scaled: bool = True, st: dict[str, Any] = st,
                scale: int = scale) -> int | None:
            v = _num(st.get(key))
            if v is None:
                return total
            return (total or 0) + v * (scale if scaled else 1)

        out.count = add(out.count, "count", scaled=False)
        out.size = add(out.size, "size")
        out.storage_size = add(out.storage_size, "storageSize")
        out.free_storage_size = add(out.free_storage_size, "freeStorageSize")
        out.total_index_size = add(out.total_index_size, "totalIndexSize")
        for name, v in (st.get("indexSizes") or {}).items():
            if _num(v) is not None:
                out.index_sizes[name] = out.index_sizes.get(name, 0) + _num(v) * scale
        wt = st.get("wiredTiger")
        if isinstance(wt, dict) and isinstance(wt.get("creationString"), str):
            m = re.search(r"(?:^|,)block_compressor=([^,]*)", wt["creationString"])
            if m:
                out.compressor = m.group(1) or "none"
    return out


@dataclass
class CacheStats:
    """WiredTiger's cache from serverStatus: its configured size and what it holds now."""

    max_bytes: int
    used_bytes: int | None = None
    dirty_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"max_bytes": self.max_bytes, "used_bytes": self.used_bytes, "dirty_bytes": self.dirty_bytes}


def wiredtiger_cache(server_status: dict[str, Any]) -> CacheStats | None:
    """`serverStatus.wiredTiger.cache`: "maximum bytes configured", "bytes currently in the
    cache", "tracked dirty bytes in the cache". None when the server has no WiredTiger section
    (another storage engine, FerretDB/DocumentDB, nx-27017)."""
    wt = server_status.get("wiredTiger")
    cache = wt.get("cache") if isinstance(wt, dict) else None
    if not isinstance(cache, dict) or _num(cache.get("maximum bytes configured")) is None:
        return None
    return CacheStats(_num(cache["maximum bytes configured"]) or 0, _num(cache.get("bytes currently in the cache")),
                      _num(cache.get("tracked dirty bytes in the cache")))


@dataclass
class CollectionStats:
    name: str
    count: int
    data_bytes: int | None  # collStats `size`: the server's own measure of its documents
    storage_bytes: int | None
    index_bytes: dict[str, int] | None  # per index; None when the server does not report them
    bson_avg_bytes: float | None = None
    bson_max_bytes: int | None = None
    sampled: int = 0
    arrays: dict[str, ArrayStats] = field(default_factory=dict)
    pulls: list[PullStats] = field(default_factory=list)
    hot_field: str | None = None
    hot_ages: np.ndarray | None = None  # days before as_of of `hot_field`, per document having it
    deletions: dict[str, np.ndarray] = field(default_factory=dict)  # delete rule -> ages of matching docs
    per_user: PerUser | None = None
    page_granular: bool = False
    # what the server allocates for this collection and its documented indexes when it is empty
    # (a relation's first pages, an index's meta and root pages): fixed, not per document
    empty_storage_bytes: int = 0
    empty_index_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total_index_bytes(self) -> int | None:
        return sum(self.index_bytes.values()) if self.index_bytes is not None else None

    @property
    def bytes_per_doc(self) -> float | None:
        """Data bytes per document in the server's units (BSON from the sample if it has none)."""
        if self.count <= 0:
            return None
        if self.data_bytes is not None:
            return self.data_bytes / self.count
        return self.bson_avg_bytes

    @property
    def server_per_bson(self) -> float:
        """Server bytes per BSON byte: converts BSON growth (array elements) to server units."""
        per_doc = self.bytes_per_doc
        if per_doc and self.bson_avg_bytes:
            return per_doc / self.bson_avg_bytes
        return 1.0

    @property
    def hot_share(self) -> float | None:
        if self.hot_ages is None or self.count <= 0:
            return None
        return float((self.hot_ages <= HOT_DAYS).sum()) / self.count

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count, "data_bytes": self.data_bytes, "avg_obj_bytes": _r(self.bytes_per_doc),
            "storage_bytes": self.storage_bytes, "index_bytes": self.index_bytes,
            "total_index_bytes": self.total_index_bytes, "bson_avg_bytes": _r(self.bson_avg_bytes),
            "bson_max_bytes": self.bson_max_bytes, "sampled": self.sampled,
            "arrays": {k: a.as_dict() for k, a in self.arrays.items()},
            "hot_field": self.hot_field, "hot_share": _r(self.hot_share, 4),
            "per_user": self.per_user.as_dict() if self.per_user else None,
            "page_granular": self.page_granular, "empty_storage_bytes": self.empty_storage_bytes,
            "empty_index_bytes": self.empty_index_bytes, "notes": self.notes,
        }


@dataclass
class Measurement:
    system: str
    database: str
    server: str
    server_kind: str
    as_of: datetime
    loaded_scale: float | None
    seed: int | None
    users: int  # documents in the system's user collection
    collections: dict[str, CollectionStats]
    db_data_bytes: int | None = None
    db_storage_bytes: int | None = None
    db_index_bytes: int | None = None  # dbStats indexSize (all collections, harness_meta included)
    cache: CacheStats | None = None  # the measured server's WiredTiger cache
    hot_days: int = HOT_DAYS
    notes: list[str] = field(default_factory=list)

    @property
    def per_collection_indexes(self) -> bool:
        return all(c.index_bytes is not None for c in self.collections.values())

    @property
    def documents(self) -> int:
        return sum(c.count for c in self.collections.values())

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "database": self.database, "server": self.server,
                "server_kind": self.server_kind, "as_of": self.as_of, "loaded_scale": self.loaded_scale,
                "seed": self.seed, "users": self.users, "documents": self.documents,
                "db_data_bytes": self.db_data_bytes, "db_storage_bytes": self.db_storage_bytes,
                "db_index_bytes": self.db_index_bytes, "hot_days": self.hot_days,
                "wiredtiger_cache": self.cache.as_dict() if self.cache else None,
                "per_collection_index_sizes": self.per_collection_indexes, "notes": self.notes,
                "collections": {k: c.as_dict() for k, c in self.collections.items()}}


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


# ---------------------------------------------------------------------------------------------
# Dates: documented as BSON dates or as ISO/YYYY-MM-DD strings.


def _is_date(t: Any) -> bool:
    return t.kind == "date" or (t.kind == "str" and t.pattern in (DAY.pattern, ISO.pattern))


def _days_before(value: Any, as_of: datetime) -> float | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return (as_of - value).total_seconds() / 86400.0


def _get(doc: Any, path: str) -> Any:
    if isinstance(doc, dict) and path in doc:  # nx-27017 returns a dotted projection as a flat key
        return doc[path]
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def hot_field(coll: Collection, system: System) -> str | None:
    """The date that says a document is in recent use: Growth.hot_field, else inferred from the
    documented required non-array dates (least nested; last_*/updated_* before others; indexed)."""
    if coll.growth.hot_field:
        return coll.growth.hot_field
    dates = [f for f, t in coll.fields.items() if _is_date(t) and "[]" not in f and not t.optional]
    if not dates:
        return None
    indexed = {k for ix in coll.indexes for k, _ in ix.keys}

    def rank(f: str) -> tuple[int, int, int]:  # document-level dates first, then by name, then indexed
        leaf = f.rsplit(".", 1)[-1]
        hint = next((n for n, h in enumerate(_RECENCY_HINTS) if h in leaf), len(_RECENCY_HINTS))
        return (f.count("."), hint, 0 if f in indexed else 1)

    return min(dates, key=rank)


# ---------------------------------------------------------------------------------------------


def _read_storage(db: Database, name: str) -> StorageStats:
    """`$collStats` first (the command is deprecated since MongoDB 6.2), then `collStats`."""
    try:
        return storage_stats(list(db[name].aggregate([{"$collStats": {"storageStats": {}}}])))
    except PyMongoError:
        return storage_stats([db.command("collStats", name)])


def _empty_overhead(db: Database, system: System, caps: Capabilities, result: dict[str, CollectionStats],
                    notes: list[str]) -> None:
    """Measure the fixed allocation of each collection with its documented indexes, empty, on a
    scratch database that is dropped afterwards. Projections scale only what lies above it, so
    a small load does not multiply a relation's first pages (PostgreSQL: heap, free-space and
    visibility maps, TOAST; each index's meta and root pages; WiredTiger: a 4 KiB file each)."""
    if not caps.coll_stats:
        return
    scratch = db.client[f"harness_capacity_empty_{secrets.token_hex(4)}"]
    try:
        for coll in system.collections:
            scratch.create_collection(coll.name)
        indexes.create(scratch, system, caps)
        for coll in system.collections:
            st = _read_storage(scratch, coll.name)
            cs = result[coll.name]
            cs.empty_storage_bytes = int(st.storage_size or 0)
            cs.empty_index_bytes = int(sum((st.index_sizes or {}).values()))
    except (PyMongoError, HarnessError) as exc:
        notes.append(f"the empty-collection baseline could not be measured ({exc}): fixed allocation is "
                     "projected as if it grew with the documents")
    finally:
        with contextlib.suppress(PyMongoError):
            db.client.drop_database(scratch.name)


def _stats(db: Database, name: str, caps: Capabilities, out: CollectionStats) -> int | None:
    """Fill sizes from the server's storage statistics; returns its document count (None if it
    gives none)."""
    if not caps.coll_stats:
        out.notes.append(f"{caps.server} has no collStats: data size is the BSON size of sampled documents; "
                         "storage and index sizes unavailable")
        return None
    try:
        st = _read_storage(db, name)
    except PyMongoError as exc:
        out.notes.append(f"collStats failed ({exc}): storage and index sizes unavailable")
        return None
    out.data_bytes = st.size
    out.storage_bytes = st.storage_size
    if st.storage_size is None:
        out.notes.append("collStats reports no storageSize")
    sizes = st.index_sizes
    if sizes and sum(sizes.values()) > 0:
        out.index_bytes = dict(sizes)
    else:
        out.notes.append(f"{caps.server} reports no per-index sizes for {name} (indexSizes "
                         f"{'empty' if not sizes else 'all 0'}): index size unavailable per collection")
    if st.compressor:
        out.notes.append(f"storage sizes are after WiredTiger {st.compressor} block compression")
    # Storage and index sizes in whole pages (SQLite's 4 KiB, PostgreSQL's 8 KiB; the logical
    # data size never is): a small collection's per-document figures are overstated.
    figures = [v for v in (out.storage_bytes, *(sizes.values())) if v]
    if figures and all(v % PAGE == 0 for v in figures):
        out.page_granular = True
        out.notes.append(f"storage and index sizes are whole {PAGE // 1024} KiB (or larger) pages: per-document "
                         "figures of small collections are overstated")
    return st.count


def _sample(db: Database, coll: Collection, n: int, out: CollectionStats, system: System,
            as_of: datetime) -> None:
    raw = db.get_collection(coll.name, codec_options=_RAW)
    try:
        docs = list(raw.aggregate([{"$sample": {"size": n}}]))
    except PyMongoError:
        docs = list(raw.find().limit(n))
        out.notes.append("no $sample: the first documents in natural order were sampled")
    out.sampled = len(docs)
    if not docs:
        return
    sizes = np.array([len(d.raw) for d in docs])
    out.bson_avg_bytes = float(sizes.mean())
    out.bson_max_bytes = int(sizes.max())
    decoded = [bson.decode(d.raw) for d in docs]
    for path in coll.growth.array_items_per_day:
        lens, item = [], []
        for d in decoded:
            arr = _get(d, path)
            if isinstance(arr, list):
                lens.append(len(arr))
                if arr:
                    full = len(bson.encode({"a": arr}))
                    item.append((full - len(bson.encode({"a": []}))) / len(arr))
            else:
                lens.append(0)
        out.arrays[path] = ArrayStats(path, float(np.mean(lens)) if lens else 0.0, max(lens, default=0),
                                      float(np.mean(item)) if item else 0.0)
        if not item:
            out.notes.append(f"array {path}: no sampled document has elements; element size unknown (0)")
    for rule in system.retention:
        if rule.collection != coll.name or rule.action != "pull" or not rule.target:
            continue
        ages, esz = [], []
        for d in decoded:
            for el in _get(d, rule.target) or []:
                age = _days_before(_get(el, rule.age_field), as_of) if isinstance(el, dict) else None
                if age is not None:
                    ages.append(age)
                    esz.append(len(bson.encode({"0": el})) - 5)
        out.pulls.append(PullStats(rule.name, rule.target, rule.days, len(decoded), np.array(ages, dtype=float),
                                   np.array(esz, dtype=float)))


def _ages(db: Database, name: str, paths: list[str], match: dict[str, Any], as_of: datetime
          ) -> dict[str, np.ndarray]:
    """Ages in days (before as_of) of each of `paths` over the documents matching `match`, sorted;
    one scan for all paths (full scans are slow on SQLite-backed servers)."""
    found: dict[str, list[float]] = {p: [] for p in paths}
    for d in db[name].find(match, {**{p: 1 for p in paths}, "_id": 0}):
        for p in paths:
            age = _days_before(_get(d, p), as_of)
            if age is not None:
                found[p].append(age)
    return {p: np.sort(np.array(v, dtype=float)) for p, v in found.items()}


def _per_user(db: Database, coll: Collection, system: System, caps: Capabilities) -> PerUser | None:
    ref = next((r for r in coll.refs if r.target == system.user_collection and "[]" not in r.field), None)
    if ref is None or coll.name == system.user_collection or not caps.group:
        return None
    try:
        rows = list(db[coll.name].aggregate([{"$group": {"_id": f"${ref.field}", "n": {"$sum": 1}}}],
                                            allowDiskUse=True))
    except PyMongoError:
        return None
    counts = np.array([r["n"] for r in rows if r.get("_id") is not None], dtype=float)
    if not len(counts):
        return None
    return PerUser(ref.field, len(counts), float(counts.mean()), float(np.percentile(counts, 50)),
                   float(np.percentile(counts, 99)), int(counts.max()))


def measure(db: Database, system: System, caps: Capabilities, server: str = "", sample: int = SAMPLE
            ) -> Measurement:
    """Measure every documented collection of `system` in `db`. Nothing loaded is an error."""
    try:
        present = set(db.list_collection_names())
        meta = read_meta(db) if META in present else None
        counts = {c.name: db[c.name].estimated_document_count() if c.name in present else 0
                  for c in system.collections}
    except PyMongoError as exc:
        raise HarnessError(f"cannot read database {db.name}: {exc}") from exc
    if not any(counts.values()):
        raise HarnessError(f"nothing loaded: database {db.name} holds no {system.name} documents",
                           f"run `harness load {system.name}` first, or pass --db")
    notes: list[str] = []
    as_of = meta.get("as_of") if meta else None
    if not isinstance(as_of, datetime):
        as_of = datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        notes.append(f"no harness load record in {db.name}: ages are measured from today ({as_of:%Y-%m-%d})")
    if meta and meta.get("status") != "complete":
        notes.append(f"the load of {db.name} did not finish (status {meta.get('status')!r}): figures describe a "
                     "partial data set")
    result: dict[str, CollectionStats] = {}
    try:
        for coll in system.collections:
            cs = CollectionStats(coll.name, int(counts[coll.name]), None, None, None)
            if cs.count:
                cs.count = _stats(db, coll.name, caps, cs)
                if cs.count is None:
                    cs.count = db[coll.name].count_documents({})
                _sample(db, coll, sample, cs, system, as_of)
                per_doc = cs.bytes_per_doc
                if per_doc and cs.bson_avg_bytes and not 0.8 <= per_doc / cs.bson_avg_bytes <= 1.25:
                    cs.notes.append(f"the server counts {per_doc:,.0f} bytes per document where the sampled BSON is "
                                    f"{cs.bson_avg_bytes:,.0f}: it measures its own format, and projections are in "
                                    "its units")
                if cs.data_bytes is None and cs.bson_avg_bytes is not None:
                    cs.notes.append("data size estimated from the BSON size of sampled documents")
                cs.hot_field = hot_field(coll, system)
                deletes = [r for r in system.retention if r.collection == coll.name and r.action == "delete"]
                unfiltered = [r.age_field for r in deletes if not r.match]
                paths = list(dict.fromkeys(([cs.hot_field] if cs.hot_field else []) + unfiltered))
                ages = _ages(db, coll.name, paths, {}, as_of) if paths else {}
                if cs.hot_field:
                    cs.hot_ages = ages[cs.hot_field]
                else:
                    cs.notes.append("no documented date field: the whole collection counts as hot")
                for rule in deletes:
                    cs.deletions[rule.name] = ages[rule.age_field] if not rule.match else \
                        _ages(db, coll.name, [rule.age_field], rule.match, as_of)[rule.age_field]
                cs.per_user = _per_user(db, coll, system, caps)
            result[coll.name] = cs
        _empty_overhead(db, system, caps, result, notes)
        dbs = _db_stats(db, caps, notes)
        cache = _server_cache(db, caps, notes)
    except PyMongoError as exc:
        raise HarnessError(f"measuring {db.name} failed: {exc}") from exc
    users = result[system.user_collection].count if system.user_collection in result else 0
    if users <= 0:
        raise HarnessError(f"nothing loaded: {db.name}.{system.user_collection} is empty, so there is no user base "
                           "to grow", f"run `harness load {system.name}` first")
    if not all(c.index_bytes is not None for c in result.values()) and dbs[2]:
        notes.append("index sizes are known only for the whole database (dbStats indexSize), not per collection")
    return Measurement(system.name, db.name, server, caps.kind, as_of,
                       meta.get("scale") if meta else None, meta.get("seed") if meta else None,
                       users, result, *dbs, cache=cache, notes=notes)


def db_sizes(st: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """dbStats' dataSize, storageSize and indexSize in bytes (scaled back when the reply carries
    a `scaleFactor` above 1); None for a figure missing or 0."""
    scale = _num(st.get("scaleFactor")) or 1
    scale = scale if scale > 1 else 1

    def pick(key: str) -> int | None:
        v = st.get(key)
        return round(v * scale) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None

    return pick("dataSize"), pick("storageSize"), pick("indexSize")


def _db_stats(db: Database, caps: Capabilities, notes: list[str]) -> tuple[int | None, int | None, int | None]:
    st: dict[str, Any] = {}
    with contextlib.suppress(PyMongoError):
        st = db.command("dbStats")
    if not st:
        notes.append(f"{caps.server} answers no dbStats")
    return db_sizes(st)


def _server_cache(db: Database, caps: Capabilities, notes: list[str]) -> CacheStats | None:
    status: dict[str, Any] = {}
    with contextlib.suppress(PyMongoError):
        status = db.client.admin.command("serverStatus")
    cache = wiredtiger_cache(status)
    if cache is None:
        notes.append(f"{caps.server} reports no WiredTiger cache (serverStatus.wiredTiger.cache): RAM fit assumes "
                     "MongoDB's default cache of 50% of (RAM - 1 GiB)")
    else:
        used = f", {human(cache.used_bytes)} in use" if cache.used_bytes is not None else ""
        notes.append(f"the measured server's WiredTiger cache is {human(cache.max_bytes)}{used}: the working set "
                     "must fit the cache of the machine you plan for")
    return cache


def retention_rules(system: System, collection: str, action: str) -> list[Retention]:
    return [r for r in system.retention if r.collection == collection and r.action == action]


def cutoff(as_of: datetime, days: float) -> datetime:
    return as_of - timedelta(days=days)
