"""`harness load`: fill every collection of a system, then create its documented indexes.

Batches of documents are generated and inserted by worker processes (unordered bulk inserts,
each worker with its own connection) while the parent tracks progress. Every finished batch is
recorded in the target database's `harness_meta` collection, and `_id`s are deterministic, so a
load interrupted at any point resumes with `--resume`: finished batches are skipped, unfinished
ones are re-inserted and duplicate `_id`s from their partial first attempt are ignored.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from harness import loadrecord
from harness.datagen import Gen
from harness.errors import HarnessError
from harness.indexes import IndexStatus
from harness.indexes import create as build_indexes
from harness.servers import Server
from harness.spec import System, load_fixture
from harness.systems import source

META = loadrecord.META
DUPLICATE_KEY = 11000


@dataclass
class LoadParams:
    system: str
    database: str
    seed: int
    scale: float
    as_of: datetime
    batch_size: int = 1000
    workers: int = max(1, os.cpu_count() or 1)
    force_drop: bool = False  # --drop --force: also drop a database without a harness_meta record

    def identity(self) -> dict[str, Any]:
        """What must match for a resume to continue the same data set."""
        return {"system": self.system, "seed": self.seed, "scale": self.scale, "as_of": self.as_of}


@dataclass
class CollectionResult:
    name: str
    expected: int
    inserted: int = 0
    skipped: int = 0  # already present from an interrupted run
    seconds: float = 0.0  # worker-seconds spent generating and inserting this collection's batches

    @property
    def rate(self) -> float:
        return self.inserted / self.seconds if self.seconds > 0 else 0.0


@dataclass
class LoadResult:
    params: LoadParams
    server: str
    collections: list[CollectionResult] = field(default_factory=list)
    indexes: list[IndexStatus] = field(default_factory=list)
    seconds: float = 0.0
    data_seconds: float = 0.0  # generation + inserts + count check, without index builds
    resumed: bool = False

    @property
    def documents(self) -> int:
        return sum(c.inserted for c in self.collections)

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.params.system, "database": self.params.database, "seed": self.params.seed,
            "scale": self.params.scale, "as_of": self.params.as_of.isoformat(), "server": self.server,
            "resumed": self.resumed, "seconds": round(self.seconds, 3), "documents": self.documents,
            "docs_per_second": round(self.rate, 1),
            "collections": [{"name": c.name, "expected": c.expected, "inserted": c.inserted,
                             "already_present": c.skipped, "seconds": round(c.seconds, 3),
                             "docs_per_second": round(c.rate, 1)} for c in self.collections],
            "indexes": [vars(i) for i in self.indexes],
        }


# ---------------------------------------------------------------------------------------------
# Worker side.

_W: dict[str, Any] = {}


def _init_worker(fixture: str, system: str, seed: int, as_of: datetime, counts: dict[str, int],
                 uri: str, database: str) -> None:
    spec = load_fixture(Path(fixture), expect=system)
    from pymongo import MongoClient

    _W["gen"] = Gen(spec, seed, as_of, counts)
    _W["makers"] = {c.name: c.make for c in spec.collections}
    _W["db"] = MongoClient(uri, serverSelectionTimeoutMS=10000, tz_aware=False)[database]
    _W["io"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="insert")


def build(gen: Gen, make: Any, collection: str, start: int, end: int) -> list[dict[str, Any]]:
    docs = []
    for i in range(start, end):
        gen.begin(collection, i)
        docs.append(make(gen, i))
    return docs


def _insert(db: Database, collection: str, docs: list[dict[str, Any]], tolerate_dups: bool) -> tuple[int, int]:
    """Insert unordered; returns (inserted, already present)."""
    try:
        result = db[collection].insert_many(docs, ordered=False)
        return len(result.inserted_ids), 0
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        dups = [e for e in errors if e.get("code") == DUPLICATE_KEY]
        if tolerate_dups and len(dups) == len(errors):
            return exc.details.get("nInserted", 0), len(dups)
        first = errors[0] if errors else {}
        raise HarnessError(f"insert into {collection} failed: {first.get('errmsg', exc)}",
                           "if a unique key collided, this is a fixture bug; report it") from exc


PIPELINE_CHUNK = 500


def _run_batch(task: tuple[str, int, int, int, bool]) -> tuple[str, int, int, int, float]:
    """Generate and insert one batch in chunks, generating chunk k+1 while chunk k's insert is
    in flight (pymongo releases the GIL while it waits on the server)."""
    collection, batch, start, end, tolerate = task
    began = time.perf_counter()
    gen, make, db = _W["gen"], _W["makers"][collection], _W["db"]
    inserted = present = 0
    pending = None
    for lo in range(start, end, PIPELINE_CHUNK):
        docs = build(gen, make, collection, lo, min(end, lo + PIPELINE_CHUNK))
        if pending is not None:
            done, dup = pending.result()
            inserted, present = inserted + done, present + dup
        pending = _W["io"].submit(_insert, db, collection, docs, tolerate)
    if pending is not None:
        done, dup = pending.result()
        inserted, present = inserted + done, present + dup
    return collection, batch, inserted, present, time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# Parent side.


def _has_data(db: Database) -> list[str]:
    names = [n for n in db.list_collection_names() if n != META and not n.startswith("system.")]
    return [n for n in names if _estimated(db, n) > 0]


def _estimated(db: Database, name: str) -> int:
    """The metadata count, or an exact count where the server cannot give it (DocumentDB with
    authentication fails `count` without a filter: its helper connection has no password)."""
    try:
        return db[name].estimated_document_count()
    except OperationFailure:
        return db[name].count_documents({})


def _contents(db: Database) -> str:
    names = sorted(n for n in db.list_collection_names() if not n.startswith("system."))
    shown = ", ".join(f"{n} ({_estimated(db, n):,} docs)" for n in names[:5])
    return shown + (f" and {len(names) - 5} more collection(s)" if len(names) > 5 else "")


def prepare(db: Database, params: LoadParams, counts: dict[str, int], drop: bool, resume: bool,
            force: bool = False) -> tuple[dict[str, set[int]], bool]:
    """Decide what to do with the target database; returns (done batches, resumed)."""
    meta = db[META].find_one({"_id": "load"})
    if drop:
        if meta is None and not force and [n for n in db.list_collection_names() if not n.startswith("system.")]:
            raise HarnessError(f"refusing to drop {db.name}: it has no {META} record, so the harness did not create "
                               f"it; it holds {_contents(db)}",
                               "check --db/--uri; pass --drop --force to drop it anyway")
        db.client.drop_database(db.name)
        meta = None
    elif resume and meta:
        params.batch_size = meta.get("batch_size", params.batch_size)  # batches are numbered in its units
        stored = {k: meta.get(k) for k in params.identity()}
        if stored != params.identity():
            diff = ", ".join(f"{k}={stored[k]!r} (now {v!r})" for k, v in params.identity().items()
                             if stored[k] != v)
            raise HarnessError(f"cannot resume {db.name}: it was loaded with {diff}",
                               "rerun with the original --seed/--scale/--as-of, or use --drop")
        done: dict[str, set[int]] = {}
        for mark in db[META].find({"kind": "batch"}):
            done.setdefault(mark["collection"], set()).add(mark["batch"])
        return done, True
    else:
        busy = _has_data(db)
        if busy:
            raise HarnessError(f"database {db.name} already holds data ({', '.join(busy[:4])})",
                               "pass --drop to replace it or --resume to finish an interrupted load")
    db[META].drop()
    db[META].insert_one({"_id": "load", **params.identity(), "database": params.database, "counts": counts,
                         "batch_size": params.batch_size, "status": "running", "started_at": datetime.utcnow()})
    return {}, False


def tasks(params: LoadParams, counts: dict[str, int], done: dict[str, set[int]], system: System,
          resumed: bool) -> list[tuple[str, int, int, int, bool]]:
    out = []
    for coll in system.collections:
        n, size = counts[coll.name], params.batch_size
        for batch, start in enumerate(range(0, n, size)):
            if batch not in done.get(coll.name, set()):
                out.append((coll.name, batch, start, min(n, start + size), resumed))
    return out


def run(server: Server, system: System, params: LoadParams, drop: bool = False, resume: bool = False,
        progress: bool = True, create_indexes: bool = True, force: bool = False) -> LoadResult:
    """Load `system` as `params` say; `create_indexes=False` only for benchmarks of the data phase."""
    counts = system.counts(params.scale)
    db = server.client()[params.database]
    try:
        done, resumed = prepare(db, params, counts, drop, resume, force or params.force_drop)
    except PyMongoError as exc:
        raise HarnessError(f"cannot prepare {params.database}: {exc}") from exc
    result = LoadResult(params, server.caps.server, resumed=resumed)
    by_name = {c.name: CollectionResult(c.name, counts[c.name]) for c in system.collections}
    result.collections = list(by_name.values())
    work = tasks(params, counts, done, system, resumed)
    for coll in system.collections:  # batches already finished count as present
        finished = done.get(coll.name, set())
        by_name[coll.name].skipped = sum(min(params.batch_size, counts[coll.name] - b * params.batch_size)
                                         for b in finished)
    started = time.perf_counter()
    bars = _bars(system, counts, by_name) if progress else {}
    # forkserver: workers start without re-importing everything (about 0.4 s less than spawn per
    # load) and, unlike fork, safely from a process whose pymongo client runs background threads.
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    init = (str(source(system.name).fixture), system.name, params.seed, params.as_of, counts, server.uri,
            params.database)
    try:
        with ctx.Pool(params.workers, initializer=_init_worker, initargs=init) as pool:
            for coll_name, batch, inserted, present, busy in pool.imap_unordered(_run_batch, work, chunksize=1):
                res = by_name[coll_name]
                res.inserted += inserted
                res.skipped += present
                res.seconds += busy
                _mark_done(db, coll_name, batch)
                if coll_name in bars:
                    bars[coll_name].update(inserted + present)
    except KeyboardInterrupt:
        raise HarnessError(f"load of {params.database} interrupted",
                           "rerun the same command with --resume to finish it") from None
    except PyMongoError as exc:  # e.g. the server went away mid-load
        raise HarnessError(f"load of {params.database} failed: {type(exc).__name__}: {exc}",
                           "fix the server, then rerun the same command with --resume") from exc
    finally:
        for bar in bars.values():
            bar.close()
    _verify_counts(db, counts)
    result.data_seconds = time.perf_counter() - started
    if create_indexes:
        result.indexes = build_indexes(db, system, server.caps)
    result.seconds = time.perf_counter() - started
    db[META].update_one({"_id": "load"}, {"$set": {"status": "complete", "finished_at": datetime.utcnow(),
                                                   "seconds": result.seconds}})
    return result


def _mark_done(db: Database, collection: str, batch: int) -> None:
    """One document per finished batch: plain inserts work on every wire-compatible server
    (nx-27017 silently ignores $addToSet on nested paths)."""
    with contextlib.suppress(DuplicateKeyError):
        db[META].insert_one({"_id": f"batch:{collection}:{batch}", "kind": "batch", "collection": collection,
                             "batch": batch})


def _verify_counts(db: Database, counts: dict[str, int]) -> None:
    """Every collection holds exactly its expected count. The metadata count is checked first
    (O(1) on MongoDB); a collection whose metadata disagrees is counted exactly."""
    wrong = {}
    for name, n in counts.items():
        if _estimated(db, name) != n:
            have = db[name].count_documents({})
            if have != n:
                wrong[name] = (have, n)
    if wrong:
        detail = ", ".join(f"{k}: {have} of {want}" for k, (have, want) in wrong.items())
        raise HarnessError(f"load of {db.name} ended with wrong counts: {detail}",
                           "rerun with --resume; if it persists, rerun with --drop")


def _bars(system: System, counts: dict[str, int], by_name: dict[str, CollectionResult]) -> dict[str, Any]:
    from tqdm import tqdm

    width = max(len(c.name) for c in system.collections)
    return {c.name: tqdm(total=counts[c.name], initial=by_name[c.name].skipped, desc=c.name.ljust(width),
                         unit="doc", position=n, leave=True, dynamic_ncols=True, mininterval=0.3)
            for n, c in enumerate(system.collections)}


# ---------------------------------------------------------------------------------------------
# How much this machine can take.

LAYOUT_BYTES = 48  # a Python int in a list: each 1:N parent costs this much in every process
TASK_BYTES = 200  # one batch in the parent's work list
MEMORY_SHARE = 0.5  # of the memory available now
DISK_SHARE = 0.9  # of the free disk where the embedded server keeps its data
STORAGE_FACTOR = 2.0  # stored bytes per BSON byte, with indexes (MongoDB's WiredTiger compresses; SQL backends do not)


def bson_sizes(system: System, seed: int, as_of: datetime, sample: int = 20) -> dict[str, float]:
    """Average BSON bytes of each collection's documents, from a sample generated at scale 1."""
    import bson

    counts = system.counts(1.0)
    gen = Gen(system, seed, as_of, counts)
    sizes = {}
    for c in system.collections:
        n = min(sample, counts[c.name])
        docs = build(gen, c.make, c.name, 0, n)
        sizes[c.name] = sum(len(bson.encode(d)) for d in docs) / max(1, n)
    return sizes


def scale_limit(system: System, params: LoadParams, data_dir: Path | None) -> tuple[float, str]:
    """The largest scale this machine can load: the generator's per-parent layouts (in every
    worker) and the batch list must fit in half the available memory, and, for the embedded
    server, the data (with indexes) in the free disk of its data directory."""
    import psutil

    base = system.counts(1.0)
    parents = {c.count.per for c in system.collections if c.count.per}
    per_unit = (sum(base[p] for p in parents) * LAYOUT_BYTES * (params.workers + 1)
                + sum(base.values()) / params.batch_size * TASK_BYTES)
    available = psutil.virtual_memory().available * MEMORY_SHARE
    limits = [(available / max(per_unit, 1.0),
               f"memory: {available / 2**30:,.1f} GiB usable of what is free now, about {per_unit:,.0f} bytes per "
               "unit of scale")]
    if data_dir is not None:
        sizes = bson_sizes(system, params.seed, params.as_of)
        disk_per_unit = sum(base[n] * size for n, size in sizes.items()) * STORAGE_FACTOR
        free = shutil.disk_usage(data_dir).free * DISK_SHARE
        limits.append((free / max(disk_per_unit, 1.0),
                       f"disk: {free / 2**30:,.1f} GiB free at {data_dir}, about {disk_per_unit / 2**20:,.1f} MiB "
                       "stored per unit of scale"))
    return min(limits)


def check_scale(system: System, params: LoadParams, data_dir: Path | None) -> None:
    """Refuse a scale this machine cannot take, with the limit and why, before anything is written."""
    limit, why = scale_limit(system, params, data_dir)
    if params.scale > limit:
        docs = sum(system.counts(params.scale).values())
        shown = f"{limit:,.0f}" if limit >= 10 else f"{limit:.3g}"
        raise HarnessError(f"--scale {params.scale:g} implies {docs:,} documents; this machine takes at most scale "
                           f"{shown} (limited by {why})", f"choose --scale {shown} or less")


read_meta = loadrecord.read_meta  # the load record is a shared contract: harness.loadrecord
