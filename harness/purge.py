"""Retention purges: apply a system's declared retention rules (harness.spec.Retention).

Every write re-applies the rule's filter, including its cutoff (`age_field < as_of - days`),
so no document newer than its cutoff is touched, and everything is driven by that filter: a
second run finds nothing, and an interrupted run is finished by rerunning the same command.
Work goes in batches (sorted by `_id`) with a throttle: a documents-per-second budget and a
latency guard that backs off when the server's write latency rises, so live SLAs survive.
With an archive store, every batch is copied there (gzip'd BSON, cold storage class) before it
is deleted or modified; an archive failure stops the purge before anything is removed.

Array rules ("pull") use the server's `$pull` with a condition where the server applies it
correctly (probed on a scratch collection); otherwise the kept elements are computed here and
written back with `$set` - safe only without concurrent writers to the same documents, which
is why it is chosen only on servers that lack `$pull` (FerretDB v1), and said so.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import bson
from pymongo.database import Database
from pymongo.errors import PyMongoError

from harness.errors import EXIT_BREACH, HarnessError
from harness.redact import redact
from harness.servers.capabilities import Capabilities, probe
from harness.spec import Retention, System

ID_CHUNK = 1000  # values per $in when cascading


# ---------------------------------------------------------------------------------------------
# What the server can do with arrays.


@dataclass
class ArraySupport:
    path_query: bool = False  # {"arr.t": {"$lt": x}} finds documents with an old element
    pull_condition: bool = False  # $pull: {arr: {t: {$lt: x}}} removes exactly those elements

    def notes(self, server: str) -> list[str]:
        out = []
        if not self.path_query:
            out.append(f"{server} does not match dotted paths into arrays: array rules scan their collection")
        if not self.pull_condition:
            out.append(f"{server} does not apply $pull with a condition: kept elements are computed client-side "
                       "and written with $set (not safe against concurrent writers to the same documents)")
        return out


def array_support(caps: Capabilities) -> ArraySupport:
    """From the server's capability profile (probed once on connect)."""
    return ArraySupport(path_query=caps.array_path_query, pull_condition=caps.array_pull_condition)


# ---------------------------------------------------------------------------------------------
# Throttle.


@dataclass
class Throttle:
    """Keep under `ops_per_sec` documents per second, and back off while a write takes longer
    than `max_latency_ms` (doubling the pause up to `max_pause`, halving it once healthy)."""

    ops_per_sec: float | None = None
    max_latency_ms: float | None = None
    max_pause: float = 5.0
    _start: float = field(default_factory=time.perf_counter)
    _done: int = 0
    _pause: float = 0.0
    backoffs: int = 0
    slept: float = 0.0

    def after(self, docs: int, write_seconds: float) -> None:
        self._done += docs
        wait = 0.0
        if self.ops_per_sec:
            wait = max(wait, self._done / self.ops_per_sec - (time.perf_counter() - self._start))
        if self.max_latency_ms is not None:
            if write_seconds * 1000 > self.max_latency_ms:
                self._pause = min(self.max_pause, max(0.05, self._pause * 2))
                self.backoffs += 1
            else:
                self._pause /= 2
            wait = max(wait, self._pause)
        if wait > 0:
            time.sleep(wait)
            self.slept += wait


# ---------------------------------------------------------------------------------------------
# Archive before delete.


class Archiver:
    """Copies documents to a store (gzip'd BSON, readable with `gunzip | bsondump`) before
    they are removed. Keys are deterministic per batch so a rerun overwrites, not duplicates."""

    def __init__(self, store: Any, system: str, as_of: datetime, storage_class: str | None) -> None:
        self.store, self.system, self.as_of, self.storage_class = store, system, as_of, storage_class
        self.objects = 0
        self.documents = 0

    def put(self, rule: str, collection: str, docs: list[dict[str, Any]]) -> None:
        if not docs:
            return
        payload = gzip.compress(b"".join(bson.encode(d) for d in docs), mtime=0)
        digest = hashlib.sha256(payload).hexdigest()[:12]
        key = (f"{self.system}/purge/{self.as_of:%Y%m%d}/{rule}/{collection}-{docs[0].get('_id')}-"
               f"{docs[-1].get('_id')}-{digest}.bson.gz")
        from harness.backup.store import S3Store

        if isinstance(self.store, S3Store):
            self.store.put_bytes(key, payload, storage_class=self.storage_class)
        else:
            self.store.put_bytes(key, payload)
        self.objects += 1
        self.documents += len(docs)


# ---------------------------------------------------------------------------------------------
# Rules.


@dataclass
class RuleResult:
    name: str
    collection: str
    action: str
    policy: str
    cutoff: datetime | None = None
    documents: int = 0  # deleted / modified (or would be)
    elements: int = 0  # array elements pulled (or would be)
    cascaded: dict[str, int] = field(default_factory=dict)
    note: str = ""
    remaining: int | None = None  # after --execute: what the after-check found still past the cutoff

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.name, "collection": self.collection, "action": self.action,
                "cutoff": self.cutoff.isoformat() if self.cutoff else None, "documents": self.documents,
                "elements": self.elements, "cascaded": self.cascaded, "policy": self.policy, "note": self.note,
                "remaining_after": self.remaining}


def cutoff(rule: Retention, as_of: datetime) -> datetime:
    return as_of - timedelta(days=rule.days)


def rule_filter(rule: Retention, as_of: datetime) -> dict[str, Any]:
    """Documents the rule applies to (for "pull": the documents it scans)."""
    filt: dict[str, Any] = dict(rule.match)
    if rule.action == "pull":
        return filt
    filt[rule.age_field] = {"$lt": cutoff(rule, as_of)}
    if rule.action == "archive" and rule.target:
        # $nin, not $ne: same meaning, but nx-27017's find() drops documents lacking the field on $ne
        filt.setdefault(rule.target, {"$nin": [rule.value]})
    if rule.action == "unset":
        filt["$or"] = [{f: {"$exists": True}} for f in rule.fields]
    return filt


def _key(value: Any) -> bytes:
    """A hashable, type-exact key for any `_id` (ObjectId, str, int, UUID, documents...)."""
    return bson.encode({"v": value})


def _batches(db: Database, collection: str, filt: dict[str, Any], size: int,
             projection: dict[str, Any] | None, shrinking: bool) -> Iterator[list[dict[str, Any]]]:
    """Matching documents, one batch at a time, over every `_id` type.

    Never `_id > last`: MongoDB's range operators compare within one BSON type, so paging by it
    skips every `_id` of another type (a string `_id` after ObjectIds). When the caller's write
    takes each batch out of the filter (`shrinking`: a delete, or an update the filter excludes
    afterwards) the filter is simply queried again until it matches nothing; a document that
    comes back after its write was not changed, and that stops the purge loudly instead of
    looping. Otherwise (dry runs, array rules that scan) one server-side cursor walks the
    filter once, which is total over every type."""
    coll = db[collection]
    if not shrinking:
        batch: list[dict[str, Any]] = []
        for doc in coll.find(filt, projection, batch_size=size).sort("_id", 1):
            batch.append(doc)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    previous: set[bytes] = set()
    while True:
        docs = list(coll.find(filt, projection).sort("_id", 1).limit(size))
        if not docs:
            return
        again = [d["_id"] for d in docs if _key(d["_id"]) in previous]
        if again:
            raise HarnessError(f"{collection}: {len(again)} document(s) still match the rule after being written "
                               f"(first _id {again[0]!r})", "nothing past this batch was touched; rerun the same "
                               "command, and if it stops here again report these _ids", EXIT_BREACH)
        previous = {_key(d["_id"]) for d in docs}
        yield docs


def _get(doc: Any, path: str) -> tuple[bool, Any]:
    """(present, value) of a dotted path through sub-documents."""
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return False, None
        doc = doc[part]
    return True, doc


def matches(doc: dict[str, Any], filt: dict[str, Any]) -> bool:
    """The harness's own evaluation of a rule filter (equality, $ne, $in, $nin, $exists, $lt,
    $and, $or on plain fields): the after-check counts with it, so a server that evaluates a
    filter differently cannot hide what is left."""
    for key, cond in filt.items():
        if key == "$and":
            if not all(matches(doc, c) for c in cond):
                return False
            continue
        if key == "$or":
            if not any(matches(doc, c) for c in cond):
                return False
            continue
        present, value = _get(doc, key)
        ops = cond if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond) else {"$eq": cond}
        for op, arg in ops.items():
            if op == "$eq":
                ok = present and value == arg
            elif op == "$ne":
                ok = not present or value != arg
            elif op == "$in":
                ok = present and value in arg
            elif op == "$nin":
                ok = not present or value not in arg
            elif op == "$exists":
                ok = present == bool(arg)
            elif op == "$lt":
                ok = present and type(value) is type(arg) and value < arg
            else:
                raise HarnessError(f"retention filter operator {op} is not supported by the after-check",
                                   "use equality, $ne, $in, $nin or $exists in Retention.match")
            if not ok:
                return False
    return True


def _old(element: Any, age_field: str, cut: datetime) -> bool:
    value = element.get(age_field) if isinstance(element, dict) else None
    return isinstance(value, datetime) and value < cut


@dataclass
class Purger:
    db: Database
    system: System
    as_of: datetime
    execute: bool = False
    batch_size: int = 500
    throttle: Throttle = field(default_factory=Throttle)
    archiver: Archiver | None = None
    arrays: ArraySupport | None = None
    progress: Any = None  # harness.output.Progress: a line per rule, a heartbeat in between

    def run(self, rules: list[Retention] | None = None) -> list[RuleResult]:
        results = []
        for rule in rules if rules is not None else self.system.retention:
            res = RuleResult(rule.name, rule.collection, rule.action, rule.policy)
            if not rule.purges:
                res.note = "kept indefinitely" if rule.action == "keep" else "not automated (manual / user-controlled)"
            else:
                res.cutoff = cutoff(rule, self.as_of)
                getattr(self, f"_{rule.action}")(rule, res)
                if self.execute:
                    self._check_done(rule, res)
                if self.progress:
                    what = f"{res.documents:,} document(s)" + (f", {res.elements:,} element(s)"
                                                              if rule.action == "pull" else "")
                    self.progress.event(f"rule {rule.name} ({rule.collection}, {rule.action}): {what} "
                                        + ("done" if self.execute else "would be affected"))
            results.append(res)
        return results

    def remaining(self, rule: Retention) -> tuple[int, list[Any]]:
        """The harness's own count of what is still past the rule's cutoff: documents (for
        "pull": documents holding an old element), and the first few `_id`s. The server is only
        asked for documents older than the cutoff (or, for arrays, every document); the rule's
        conditions are evaluated here."""
        cut = cutoff(rule, self.as_of)
        coll = self.db[rule.collection]
        left: list[Any] = []
        count = 0
        if rule.action == "pull":
            target = rule.target or ""
            docs = coll.find(dict(rule.match), {target: 1, **{k: 1 for k in rule.match}}, batch_size=1000)
            for d in docs:
                arr = d.get(target)
                if isinstance(arr, list) and any(_old(e, rule.age_field, cut) for e in arr):
                    count += 1
                    if len(left) < 3:
                        left.append(d["_id"])
            return count, left
        filt = rule_filter(rule, self.as_of)
        for d in coll.find({rule.age_field: {"$lt": cut}}, batch_size=1000):
            if matches(d, filt):
                count += 1
                if len(left) < 3:
                    left.append(d["_id"])
        return count, left

    def _check_done(self, rule: Retention, res: RuleResult) -> None:
        """After a rule ran, nothing may be left past its cutoff, counted by the harness itself."""
        count, first = self.remaining(rule)
        res.remaining = count
        if count:
            raise HarnessError(
                f"purge rule {rule.name} left {count} document(s) in {rule.collection} past the cutoff "
                f"{res.cutoff:%Y-%m-%d} (the harness's own count after the run; it processed {res.documents}; "
                f"first _id: {', '.join(repr(i) for i in first)})",
                "nothing is reported as done; rerun the same command, and if these stay, report the _ids", EXIT_BREACH)

    # -- actions -------------------------------------------------------------------------------
    def _write(self, fn: Any, docs: int) -> Any:
        t0 = time.perf_counter()
        out = fn()
        self.throttle.after(docs, time.perf_counter() - t0)
        return out

    def _delete(self, rule: Retention, res: RuleResult) -> None:
        filt = rule_filter(rule, self.as_of)
        coll = self.db[rule.collection]
        need = {"_id": 1, **{parent: 1 for _, _, parent in rule.cascade}}
        projection = None if self.archiver else need
        if not self.execute:
            res.documents = coll.count_documents(filt)
            if rule.cascade:
                parents = list(coll.find(filt, need))
                for child, fld, parent in rule.cascade:
                    values = [p.get(parent) for p in parents if p.get(parent) is not None]
                    res.cascaded[child] = sum(self.db[child].count_documents({fld: {"$in": values[i:i + ID_CHUNK]}})
                                              for i in range(0, len(values), ID_CHUNK))
            return
        for batch in _batches(self.db, rule.collection, filt, self.batch_size, projection, shrinking=True):
            ids = [d["_id"] for d in batch]
            for child, fld, parent in rule.cascade:  # children first: a rerun still finds the parent
                values = [d.get(parent) for d in batch if d.get(parent) is not None]
                if not values:
                    continue
                if self.archiver:
                    children = list(self.db[child].find({fld: {"$in": values}}).sort("_id", 1))
                    self.archiver.put(rule.name, child, children)
                n = self._write(lambda c=child, f=fld, v=values: self.db[c].delete_many({f: {"$in": v}}).deleted_count,
                                len(values))
                res.cascaded[child] = res.cascaded.get(child, 0) + n
            if self.archiver:
                self.archiver.put(rule.name, rule.collection, batch)
            res.documents += self._write(
                lambda ids=ids: coll.delete_many({"$and": [filt, {"_id": {"$in": ids}}]}).deleted_count, len(ids))
            if self.progress:
                self.progress.advance(len(ids))

    def _archive(self, rule: Retention, res: RuleResult) -> None:
        filt = rule_filter(rule, self.as_of)
        coll = self.db[rule.collection]
        if not self.execute:
            res.documents = coll.count_documents(filt)
            return
        for batch in _batches(self.db, rule.collection, filt, self.batch_size, None if self.archiver else {"_id": 1},
                              shrinking=True):
            ids = [d["_id"] for d in batch]
            if self.archiver:
                self.archiver.put(rule.name, rule.collection, batch)
            res.documents += self._write(lambda ids=ids: coll.update_many(
                {"$and": [filt, {"_id": {"$in": ids}}]}, {"$set": {rule.target: rule.value}}).modified_count, len(ids))
            if self.progress:
                self.progress.advance(len(ids))

    def _unset(self, rule: Retention, res: RuleResult) -> None:
        filt = rule_filter(rule, self.as_of)
        coll = self.db[rule.collection]
        if not self.execute:
            res.documents = coll.count_documents(filt)
            return
        projection = {"_id": 1, **{f: 1 for f in rule.fields}} if self.archiver else {"_id": 1}
        for batch in _batches(self.db, rule.collection, filt, self.batch_size, projection, shrinking=True):
            ids = [d["_id"] for d in batch]
            if self.archiver:
                self.archiver.put(rule.name, rule.collection, batch)
            res.documents += self._write(lambda ids=ids: coll.update_many(
                {"$and": [filt, {"_id": {"$in": ids}}]}, {"$unset": {f: "" for f in rule.fields}}).modified_count,
                len(ids))
            if self.progress:
                self.progress.advance(len(ids))

    def _pull(self, rule: Retention, res: RuleResult) -> None:
        if self.arrays is None:
            self.arrays = array_support(probe(self.db.client))
        cut = cutoff(rule, self.as_of)
        target, age = rule.target or "", rule.age_field
        coll = self.db[rule.collection]
        filt = dict(rule.match)
        if self.arrays.path_query:
            filt[f"{target}.{age}"] = {"$lt": cut}
        # one cursor pass, also when executing: a matched document without an old element (the
        # server matched a path the harness does not count as an array element) would not leave
        # the filter, and the after-check counts what is left anyway
        for batch in _batches(self.db, rule.collection, filt, self.batch_size, {"_id": 1, target: 1}, False):
            if self.progress:
                self.progress.advance(len(batch))
            hits = []
            for d in batch:
                arr = d.get(target)
                if isinstance(arr, list):
                    old = [e for e in arr if _old(e, age, cut)]
                    if old:
                        hits.append((d, old, [e for e in arr if not _old(e, age, cut)]))
            res.documents += len(hits)
            res.elements += sum(len(old) for _, old, _ in hits)
            if not self.execute or not hits:
                continue
            if self.archiver:
                self.archiver.put(rule.name, rule.collection, [{"_id": d["_id"], target: old} for d, old, _ in hits])
            ids = [d["_id"] for d, _, _ in hits]
            if self.arrays.pull_condition:
                self._write(lambda ids=ids: coll.update_many({"_id": {"$in": ids}},
                                                             {"$pull": {target: {age: {"$lt": cut}}}}), len(ids))
            else:
                for d, _, kept in hits:
                    self._write(lambda d=d, kept=kept: coll.update_one({"_id": d["_id"]}, {"$set": {target: kept}}), 1)


def run(db: Database, system: System, as_of: datetime, execute: bool, **kwargs: Any) -> list[RuleResult]:
    try:
        return Purger(db, system, as_of, execute, **kwargs).run()
    except PyMongoError as exc:
        raise HarnessError(f"purge of {db.name} failed: {redact(str(exc))}",
                           "nothing past a failed batch was touched; rerun the same command to continue") from exc
