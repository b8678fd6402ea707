"""Probe what a server really honours, once per connection, on a scratch collection.

Wire-compatible servers differ: nx-27017 silently drops an index on a field named `id` and
descending directions, FerretDB has no `$text`. Commands consult this profile and say plainly
when they need something the server lacks, instead of failing obscurely or passing falsely.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from harness.errors import CapabilityMissing

DESCRIPTIONS = {
    "unique_index_on_id": "a unique index on a field named `id` is created and enforced",
    "descending_keys": "descending index keys keep their direction",
    "index_names": "index names given at creation are kept",
    "text_index": "text indexes can be created and `$text` queries use them",
    "text_index_listed": "text indexes appear in listIndexes",
    "lookup": "$lookup joins",
    "group": "$group aggregation",
    "date_to_string": "$dateToString",
    "explain": "explain returns a plan the harness can read",
    "replica_set": "replica set (oplog, --oplog dumps, point-in-time restore)",
    "coll_stats": "collStats with sizes",
    "group_avg": "$avg in $group",
    "sample_stage": "$sample",
    "array_path_query": "dotted paths into arrays match elements ({'a.t': {'$lt': x}})",
    "array_pull_condition": "$pull with a condition removes exactly the matching elements",
    "geo": "2dsphere indexes with $near/$geoNear (nearest first)",
    "objectid_equality": "equality on an ObjectId-valued field other than _id matches",
    "ttl_index": "TTL indexes (expireAfterSeconds kept and listed)",
    "partial_index": "partial indexes (partialFilterExpression kept and listed)",
    "transactions": "multi-document transactions (an aborted write is undone)",
    "coll_stats_index_sizes": "$collStats storageStats with per-index sizes",
    # index kinds kept exactly (created and listed back as declared; harness.indexspec compares)
    "text_weights": "text indexes keep their field weights",
    "geo_index": "2dsphere indexes kept and listed",
    "sparse_index": "sparse indexes",
    "hashed_index": "hashed indexes",
    "collation_index": "indexes with a collation",
}


@dataclass
class Capabilities:
    kind: str = "unknown"  # mongodb | nx-27017 | ferretdb (FerretDB 2 on DocumentDB) | unknown
    server: str = "unknown server"  # human-readable name and version
    version: str | None = None
    unique_index_on_id: bool = False
    descending_keys: bool = False
    index_names: bool = False
    text_index: bool = False
    text_index_listed: bool = False
    lookup: bool = False
    group: bool = False
    date_to_string: bool = False
    explain: bool = False
    explain_format: str = "unknown"  # harness.explain.detect_format: mongodb | postgresql | sqlite | unknown
    replica_set: bool = False
    coll_stats: bool = False
    group_avg: bool = False
    sample_stage: bool = False
    array_path_query: bool = False
    array_pull_condition: bool = False
    geo: bool = False
    objectid_equality: bool = False
    ttl_index: bool = False
    partial_index: bool = False
    transactions: bool = False
    coll_stats_index_sizes: bool = False
    text_weights: bool = False
    geo_index: bool = False
    sparse_index: bool = False
    hashed_index: bool = False
    collation_index: bool = False
    notes: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return bool(getattr(self, name))

    def require(self, *names: str, purpose: str) -> None:
        missing = [n for n in names if not self.has(n)]
        if missing:
            what = "; ".join(DESCRIPTIONS.get(n, n) for n in missing)
            raise CapabilityMissing(f"{self.server} cannot {purpose}: it lacks {what}",
                                    "run against real MongoDB (see README) for this")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> list[tuple[str, str]]:
        rows = [("server", self.server), ("explain format", self.explain_format)]
        rows += [(DESCRIPTIONS[k], "yes" if getattr(self, k) else "NO") for k in DESCRIPTIONS]
        return rows


def _flavour(client: MongoClient) -> tuple[str, str, str | None]:
    info = client.admin.command("buildInfo")
    if info.get("process") == "nx_27017":
        return "nx-27017", "nx-27017", info.get("version")
    ferret = info.get("ferretdb")
    if isinstance(ferret, dict) or "ferretdbVersion" in info:
        version = str((ferret or {}).get("version") or info.get("ferretdbVersion") or "?").lstrip("v")
        return "ferretdb", f"FerretDB {version} on DocumentDB", version
    version = info.get("version")
    return "mongodb", f"MongoDB {version}", version


def replica_set_member(hello: dict[str, Any]) -> bool:
    """Does `hello` come from a data-bearing replica set member (primary or secondary), whose
    oplog `mongodump --oplog` can read? A standalone and a mongos (`msg: "isdbgrid"`) have no
    `setName`; an arbiter has one but holds no data."""
    return bool(hello.get("setName")) and not hello.get("arbiterOnly")


def _attempt(fn: Any) -> Any:
    try:
        return fn()
    except (PyMongoError, KeyError, TypeError, ValueError):
        return None


def probe(client: MongoClient) -> Capabilities:
    """Exercise each capability on a scratch database that is dropped afterwards."""
    kind, server, version = _flavour(client)
    caps = Capabilities(kind=kind, server=server, version=version)
    caps.replica_set = replica_set_member(client.admin.command("hello"))
    db = client[f"harness_probe_{secrets.token_hex(4)}"]
    try:
        _probe_db(db, caps)
    finally:
        _attempt(lambda: client.drop_database(db.name))
    if not caps.unique_index_on_id:
        caps.notes.append("unique indexes on `id` are not honoured (DoIt's id_index, BMD's primary keys)")
    if not caps.descending_keys:
        caps.notes.append("descending index keys are stored ascending")
    if not caps.text_index:
        caps.notes.append("no $text: text-search queries cannot run")
    if not caps.geo:
        caps.notes.append("no 2dsphere/$near: geo queries cannot run")
    if not caps.objectid_equality:
        caps.notes.append("equality on ObjectId-valued fields matches nothing: such queries would be vacuous")
    if not caps.transactions:
        caps.notes.append("no multi-document transactions")
    lost = [DESCRIPTIONS[k] for k in _INDEX_KINDS if not getattr(caps, k)]
    if lost:
        caps.notes.append("index kinds not kept exactly: " + "; ".join(lost))
    return caps


def _listed(coll: Any) -> list[dict[str, Any]]:
    return [dict(ix) for ix in coll.list_indexes()]


def _probe_db(db: Any, caps: Capabilities) -> None:
    t = db["probe"]
    t.insert_many([{"id": "a", "a": 1, "b": 2, "n": "alpha beta", "d": "gamma", "at": _now()},
                   {"id": "b", "a": 2, "b": 3, "n": "delta", "d": "epsilon", "at": _now()}])
    db["other"].insert_one({"a": 1, "x": "joined"})

    # unique index on a field named `id`: listed and enforced
    if _attempt(lambda: t.create_index("id", unique=True, name="probe_id")):
        listed = any(dict(ix["key"]) == {"id": 1} and ix.get("unique") for ix in _listed(t))
        try:
            t.insert_one({"id": "a"})
            enforced = False
        except DuplicateKeyError:
            enforced = True
        except PyMongoError:
            enforced = False
        caps.unique_index_on_id = listed and enforced
        caps.index_names = any(ix.get("name") == "probe_id" for ix in _listed(t))

    # a compound index with a descending key keeps its direction
    if _attempt(lambda: t.create_index([("a", 1), ("b", -1)], name="probe_desc")):
        caps.descending_keys = any(list(dict(ix["key"]).items()) == [("a", 1), ("b", -1)]
                                   for ix in _listed(t))
        caps.index_names = caps.index_names or any(ix.get("name") == "probe_desc" for ix in _listed(t))

    # text index and $text
    if _attempt(lambda: t.create_index([("n", "text"), ("d", "text")])):
        hits = _attempt(lambda: list(t.find({"$text": {"$search": "alpha"}})))
        caps.text_index = bool(hits) and len(hits) == 1
        caps.text_index_listed = any("_fts" in dict(ix["key"]) or "text" in dict(ix["key"]).values()
                                     for ix in _listed(t))

    joined = _attempt(lambda: list(t.aggregate([
        {"$match": {"a": 1}},
        {"$lookup": {"from": "other", "localField": "a", "foreignField": "a", "as": "j"}}])))
    caps.lookup = bool(joined) and len(joined[0].get("j", [])) == 1
    grouped = _attempt(lambda: list(db["other"].aggregate([{"$group": {"_id": "$x", "n": {"$sum": 1}}}])))
    caps.group = bool(grouped) and grouped[0].get("n") == 1 and grouped[0].get("_id") == "joined"
    days = _attempt(lambda: list(t.aggregate([
        {"$project": {"d": {"$dateToString": {"format": "%Y-%m-%d", "date": "$at"}}}}])))
    caps.date_to_string = bool(days) and isinstance(days[0].get("d"), str) and len(days[0]["d"]) == 10

    plan = _attempt(lambda: db.command("explain", {"find": "probe", "filter": {"a": 1}},
                                       verbosity="queryPlanner"))
    if plan:
        from harness.explain import detect_format

        caps.explain_format = detect_format(plan)
        caps.explain = caps.explain_format != "unknown"
    stats = _attempt(lambda: db.command("collStats", "probe"))
    caps.coll_stats = bool(stats) and "size" in stats and "count" in stats
    avg = _attempt(lambda: list(t.aggregate([{"$match": {"b": {"$in": [2, 3]}}},
                                             {"$group": {"_id": None, "m": {"$avg": "$b"}}}])))
    caps.group_avg = bool(avg) and avg[0].get("m") == 2.5
    sampled = _attempt(lambda: list(t.aggregate([{"$sample": {"size": 1}}])))
    caps.sample_stage = bool(sampled) and len(sampled) == 1
    _probe_arrays(db["arrays"], caps)
    _probe_index_kinds(db["kinds"], caps)
    _probe_geo(db["places"], caps)
    _probe_transactions(db["txn"], caps)
    _probe_index_fidelity(db["fidelity"], caps)


def _probe_index_kinds(coll: Any, caps: Capabilities) -> None:
    """ObjectId equality, TTL and partial indexes, per-index sizes in $collStats."""
    ref = ObjectId()
    coll.insert_many([{"ref": ref, "at": _now(), "s": "a"}, {"ref": ObjectId(), "at": _now(), "s": "b"}])
    found = _attempt(lambda: coll.count_documents({"ref": ref}))
    caps.objectid_equality = found == 1
    if _attempt(lambda: coll.create_index("at", expireAfterSeconds=3600, name="probe_ttl")):
        caps.ttl_index = any(ix.get("name") == "probe_ttl" and ix.get("expireAfterSeconds") == 3600
                             for ix in _listed(coll))
    partial = {"s": {"$eq": "a"}}
    if _attempt(lambda: coll.create_index("s", partialFilterExpression=partial, name="probe_partial")):
        caps.partial_index = any(ix.get("name") == "probe_partial" and ix.get("partialFilterExpression")
                                 for ix in _listed(coll))
    stats = _attempt(lambda: list(coll.aggregate([{"$collStats": {"storageStats": {}}}])))
    sizes = ((stats or [{}])[0].get("storageStats") or {}).get("indexSizes") if stats else None
    caps.coll_stats_index_sizes = isinstance(sizes, dict) and "_id_" in sizes


def _probe_geo(coll: Any, caps: Capabilities) -> None:
    coll.insert_many([{"n": "far", "loc": {"type": "Point", "coordinates": [10.0, 10.0]}},
                      {"n": "near", "loc": {"type": "Point", "coordinates": [0.01, 0.01]}}])
    if not _attempt(lambda: coll.create_index([("loc", "2dsphere")])):
        return
    listed = any(dict(ix["key"]).get("loc") == "2dsphere" for ix in _listed(coll))
    near = _attempt(lambda: [d["n"] for d in coll.find({"loc": {"$near": {
        "$geometry": {"type": "Point", "coordinates": [0.0, 0.0]}}}})])
    caps.geo = listed and near == ["near", "far"]


def _probe_transactions(coll: Any, caps: Capabilities) -> None:
    """An aborted transaction must leave nothing behind (FerretDB keeps the write)."""
    coll.insert_one({"_id": "seed"})

    def aborted() -> bool:
        with coll.database.client.start_session() as session:
            session.start_transaction()
            coll.insert_one({"_id": "in-txn"}, session=session)
            session.abort_transaction()
        return coll.count_documents({"_id": "in-txn"}) == 0

    caps.transactions = bool(_attempt(aborted))


# kinds probed here (TTL and partial are probed above, with the same "listed back" meaning)
_INDEX_KINDS: dict[str, tuple[list[tuple[str, Any]], dict[str, Any]]] = {
    "text_weights": ([("n", "text"), ("d", "text")], {"weights": {"n": 5}}),
    "geo_index": ([("loc", "2dsphere")], {}),
    "sparse_index": ([("b", 1)], {"sparse": True}),
    "hashed_index": ([("n", "hashed")], {}),
    "collation_index": ([("n", 1)], {"collation": {"locale": "en", "strength": 2}}),
}


def _probe_index_fidelity(coll: Any, caps: Capabilities) -> None:
    """Each index kind is kept when it is created and listed back exactly as declared, compared
    the way `indexes --check` compares (harness.indexspec); one index at a time, dropped after."""
    from harness.indexspec import differences, from_index, from_live
    from harness.spec import Index

    coll.insert_one({"a": 1, "b": 2, "n": "alpha", "d": "beta", "loc": {"type": "Point", "coordinates": [13.4, 52.5]}})
    for flag, (keys, options) in _INDEX_KINDS.items():
        if flag == "text_weights" and not caps.text_index_listed:
            continue
        index = Index(tuple(keys), sparse=bool(options.get("sparse")), collation=options.get("collation"),
                      weights=tuple(options.get("weights", {}).items()))
        if not _attempt(lambda keys=keys, options=options: coll.create_index(keys, **options)):
            continue
        want = from_index(index)
        setattr(caps, flag, any(not differences(want, from_live(ix)) for ix in _listed(coll)))
        _attempt(lambda: coll.drop_indexes())


def _probe_arrays(coll: Any, caps: Capabilities) -> None:
    """Array semantics retention purges rely on (nx-27017 lacks the first, FerretDB 1.x the second)."""
    old, new, cut = datetime(2000, 1, 1), datetime(2020, 1, 1), datetime(2010, 1, 1)
    coll.insert_many([{"_id": 1, "a": [{"t": old, "x": 1}, {"t": new, "x": 2}]}, {"_id": 2, "a": [{"t": new}]}])
    found = _attempt(lambda: [d["_id"] for d in coll.find({"a.t": {"$lt": cut}}, {"_id": 1})])
    caps.array_path_query = found == [1]
    if _attempt(lambda: coll.update_many({"_id": {"$in": [1, 2]}}, {"$pull": {"a": {"t": {"$lt": cut}}}})):
        after = _attempt(lambda: {d["_id"]: [e.get("x") for e in d.get("a", [])] for d in coll.find()})
        caps.array_pull_condition = after == {1: [2], 2: [None]}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)

