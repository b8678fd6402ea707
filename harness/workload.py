"""Workloads as plain objects: operations, SLAs, weights, needs and parameter sampling.

A workload file (`workloads/<system>.py`) defines `WORKLOAD = Workload(...)` whose operations
are plain functions of the sampled parameters returning operation descriptions (`find`,
`insert_one`, `update_one`, ...). Nothing here imports Locust or gevent: restore verification,
the index check, preflight and the pytest-benchmark suite call the same object in-process, and
`harness.bench` builds a Locust user from it (so `locust -f workloads/x.py` keeps working).

Describing an operation instead of running it lets the harness time it (cursors drained inside
the timed region), explain it for the index check, list the (collection, filter fields) it
touches without a server (`Workload.shapes()`), and skip it with a reason when the server lacks
a capability it needs.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import os
import random
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from bson import ObjectId
from pymongo.database import Database

from harness.errors import HarnessError

# Expected frequency (seed 004's words) → task weight.
FREQ_WEIGHT = {"very high": 8, "high": 5, "medium": 3, "low": 2, "daily": 2}
POOL_SIZE = 2000  # values kept per parameter pool, drawn uniformly over the whole collection


# -- operations -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Find:
    collection: str
    filter: dict[str, Any]
    projection: dict[str, Any] | None = None
    sort: tuple[tuple[str, int], ...] = ()
    limit: int = 0
    kind: ClassVar[str] = "find"
    write: ClassVar[bool] = False

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

    def as_find(self) -> Find | None:
        return self


@dataclass(frozen=True)
class Aggregate:
    collection: str
    pipeline: tuple[dict[str, Any], ...]
    kind: ClassVar[str] = "aggregate"
    write: ClassVar[bool] = False

    @property
    def filter(self) -> dict[str, Any]:
        stages = list(self.pipeline)
        return stages[0]["$match"] if stages and "$match" in stages[0] else {}

    def run(self, db: Database) -> int:
        return len(list(db[self.collection].aggregate(list(self.pipeline))))

    def command(self) -> dict[str, Any]:
        return {"aggregate": self.collection, "pipeline": list(self.pipeline), "cursor": {}}

    def as_find(self) -> Find | None:
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


@dataclass(frozen=True)
class Count:
    collection: str
    filter: dict[str, Any]
    kind: ClassVar[str] = "count"
    write: ClassVar[bool] = False

    def run(self, db: Database) -> int:
        return db[self.collection].count_documents(self.filter)

    def command(self) -> dict[str, Any]:
        return {"count": self.collection, "query": self.filter}

    def as_find(self) -> Find | None:
        return Find(self.collection, self.filter)


@dataclass(frozen=True)
class Distinct:
    collection: str
    key: str
    filter: dict[str, Any]
    kind: ClassVar[str] = "distinct"
    write: ClassVar[bool] = False

    def run(self, db: Database) -> int:
        return len(db[self.collection].distinct(self.key, self.filter))

    def command(self) -> dict[str, Any]:
        return {"distinct": self.collection, "key": self.key, "query": self.filter}

    def as_find(self) -> Find | None:
        return Find(self.collection, self.filter)


@dataclass(frozen=True)
class Insert:
    """insert_one (one document) or insert_many; `run` returns the documents inserted."""

    collection: str
    documents: tuple[dict[str, Any], ...]
    kind: ClassVar[str] = "insert"
    write: ClassVar[bool] = True

    @property
    def filter(self) -> dict[str, Any]:
        return {}

    def run(self, db: Database) -> int:
        if len(self.documents) == 1:
            db[self.collection].insert_one(dict(self.documents[0]))
            return 1
        return len(db[self.collection].insert_many([dict(d) for d in self.documents]).inserted_ids)

    def command(self) -> dict[str, Any]:
        return {"insert": self.collection, "documents": list(self.documents)}

    def as_find(self) -> Find | None:
        return None


@dataclass(frozen=True)
class Update:
    """update_one / update_many (optionally upsert); `run` returns documents matched (or upserted)."""

    collection: str
    filter: dict[str, Any]
    update: dict[str, Any]
    many: bool = False
    upsert: bool = False
    kind: ClassVar[str] = "update"
    write: ClassVar[bool] = True

    def run(self, db: Database) -> int:
        coll = db[self.collection]
        res = (coll.update_many if self.many else coll.update_one)(self.filter, self.update, upsert=self.upsert)
        return res.matched_count + (1 if res.upserted_id is not None else 0)

    def command(self) -> dict[str, Any]:
        return {"update": self.collection, "updates": [{"q": self.filter, "u": self.update, "multi": self.many,
                                                        "upsert": self.upsert}]}

    def as_find(self) -> Find | None:
        return Find(self.collection, self.filter)


@dataclass(frozen=True)
class Delete:
    collection: str
    filter: dict[str, Any]
    many: bool = False
    kind: ClassVar[str] = "delete"
    write: ClassVar[bool] = True

    def run(self, db: Database) -> int:
        coll = db[self.collection]
        return (coll.delete_many if self.many else coll.delete_one)(self.filter).deleted_count

    def command(self) -> dict[str, Any]:
        return {"delete": self.collection, "deletes": [{"q": self.filter, "limit": 0 if self.many else 1}]}

    def as_find(self) -> Find | None:
        return Find(self.collection, self.filter)


Op = Find | Aggregate | Count | Distinct | Insert | Update | Delete
OP_TYPES = (Find, Aggregate, Count, Distinct, Insert, Update, Delete)


def find(collection: str, filter: dict[str, Any], *, projection: dict[str, Any] | None = None,
         sort: Sequence[tuple[str, int]] = (), limit: int = 0) -> Find:
    return Find(collection, filter, projection, tuple(sort), limit)


def aggregate(collection: str, pipeline: Sequence[dict[str, Any]]) -> Aggregate:
    return Aggregate(collection, tuple(pipeline))


def count(collection: str, filter: dict[str, Any]) -> Count:
    return Count(collection, filter)


def distinct(collection: str, key: str, filter: dict[str, Any] | None = None) -> Distinct:
    return Distinct(collection, key, filter or {})


def insert_one(collection: str, document: dict[str, Any]) -> Insert:
    return Insert(collection, (document,))


def insert_many(collection: str, documents: Sequence[dict[str, Any]]) -> Insert:
    return Insert(collection, tuple(documents))


def update_one(collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> Update:
    return Update(collection, filter, update, False, upsert)


def update_many(collection: str, filter: dict[str, Any], update: dict[str, Any]) -> Update:
    return Update(collection, filter, update, True, False)


def push(collection: str, filter: dict[str, Any], path: str, value: Any, *, keep_last: int | None = None,
         set: dict[str, Any] | None = None) -> Update:
    """Append `value` to the array at `path` (`$push`, with `$slice: -keep_last` when given)."""
    spec: Any = {"$each": [value], "$slice": -keep_last} if keep_last else value
    update: dict[str, Any] = {"$push": {path: spec}}
    if set:
        update["$set"] = set
    return Update(collection, filter, update)


def delete_one(collection: str, filter: dict[str, Any]) -> Delete:
    return Delete(collection, filter)


def delete_many(collection: str, filter: dict[str, Any]) -> Delete:
    return Delete(collection, filter, many=True)


def as_ops(result: Op | Sequence[Op]) -> tuple[Op, ...]:
    return (result,) if isinstance(result, OP_TYPES) else tuple(result)  # type: ignore[arg-type]


def execute(db: Database, ops: Sequence[Op]) -> int:
    """Run every operation (cursors drained); returns the documents returned or affected."""
    return sum(op.run(db) for op in ops)


def filter_fields(filter: dict[str, Any]) -> list[str]:
    """The field paths a filter tests ($and/$or/$nor descended)."""
    out: list[str] = []
    for key, value in filter.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            for sub in value:
                out += [f for f in filter_fields(sub) if f not in out]
        elif not key.startswith("$") and key not in out:
            out.append(key)
    return out


# -- operations of a workload ------------------------------------------------------------------------
@dataclass
class Operation:
    """One timed operation: how to build it from parameters, its SLA (p95, ms) and weight.

    `source` names where the SLA comes from ("seed 004 §3.1"); "assumed" means the harness chose
    it and the note says on what basis. `needs` names server capabilities (text_index, lookup).
    """

    build: Callable[[Params], Op | Sequence[Op]]
    sla_ms: float
    freq: str = "medium"
    source: str = "assumed"
    note: str = ""
    needs: tuple[str, ...] = ()
    weight: int | None = None
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.freq not in FREQ_WEIGHT and self.weight is None:
            raise HarnessError(f"unknown frequency {self.freq!r}",
                               f"use one of {', '.join(FREQ_WEIGHT)} or give weight=")
        if not self.sla_ms > 0:
            raise HarnessError(f"operation {self.name or self.build.__name__}: SLA must be > 0 ms")
        self.name = self.name or self.build.__name__
        self.description = self.description or (self.build.__doc__ or "").strip().split("\n")[0]
        self.weight = int(self.weight or FREQ_WEIGHT[self.freq])
        self.needs = tuple(self.needs)
        from harness.servers.capabilities import DESCRIPTIONS

        unknown = [n for n in self.needs if n not in DESCRIPTIONS]
        if unknown:
            raise HarnessError(f"operation {self.name}: unknown capability {', '.join(map(repr, unknown))} in needs=",
                               f"use names from `harness server status`: {', '.join(sorted(DESCRIPTIONS))}")
        self.sla_ms = float(self.sla_ms)

    @property
    def sla_source(self) -> str:
        return self.source

    def ops(self, params: Params) -> tuple[Op, ...]:
        return as_ops(self.build(params))

    def shape(self) -> list[Op]:
        """The operations built from placeholder parameters: what it touches, without a server."""
        return list(as_ops(self.build(ShapeParams())))

    @property
    def writes(self) -> bool:
        return any(op.write for op in self.shape())


@dataclass(frozen=True)
class OpShape:
    operation: str
    kind: str
    collection: str
    filter_fields: tuple[str, ...]
    sort_fields: tuple[str, ...]


@dataclass
class Workload:
    """A system's operations and how their parameters are sampled from the loaded data."""

    system: str
    operations: list[Operation]
    sample: Callable[[Params], None] = lambda p: None
    think_time: tuple[float, float] = (0.0, 0.005)
    description: str = ""
    path: Path | None = None  # set by load_workload

    def __post_init__(self) -> None:
        names = [o.name for o in self.operations]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise HarnessError(f"workload {self.system}: operation names repeat: {', '.join(sorted(dup))}")

    def operation(self, name: str) -> Operation:
        for op in self.operations:
            if op.name == name:
                return op
        raise HarnessError(f"unknown operation {name!r}", f"operations: {', '.join(o.name for o in self.operations)}")

    def shapes(self) -> list[OpShape]:
        """(operation, kind, collection, filter fields, sort fields) for every operation, built
        from placeholder parameters: for linting a workload against the system's indexes."""
        out = []
        for o in self.operations:
            for op in o.shape():
                f = op.as_find()
                out.append(OpShape(o.name, op.kind, op.collection, tuple(filter_fields(op.filter)),
                                   tuple(k for k, _ in f.sort) if f else ()))
        return out

    def with_slas(self, overrides: Sequence[str]) -> Workload:
        """A copy with `name=ms` / `*=ms` SLA overrides applied (source becomes "override")."""
        out = dataclasses.replace(self, operations=[dataclasses.replace(o) for o in self.operations])
        names = {o.name: o for o in out.operations}
        for item in overrides:
            name, sep, value = item.partition("=")
            try:
                ms = float(value)
                if not sep or not ms > 0:
                    raise ValueError
            except ValueError:
                raise HarnessError(f"bad --sla {item!r}",
                                   "use QUERY=MS or *=MS with MS > 0, e.g. --sla '*=0.001'") from None
            targets = list(names.values()) if name == "*" else [names[name]] if name in names else []
            if not targets:
                raise HarnessError(f"--sla names unknown query {name!r}", f"queries: {', '.join(names)}")
            for o in targets:
                o.sla_ms, o.source = ms, "override"
        return out

    def locust_user(self) -> type | None:
        """The Locust user class for this workload when Locust is running this file (`locust -f`),
        else None: importing a workload never imports Locust."""
        if "locust" not in sys.modules:
            return None
        if self.path is None:  # the locustfile that called us
            caller = sys._getframe(1).f_globals.get("__file__")
            self.path = Path(caller).resolve() if caller else None
        from harness.bench.locust_user import user_class

        return user_class(self)


# -- parameters ---------------------------------------------------------------------------------------
def get_path(doc: Any, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Params:
    """Values sampled from the loaded data; `pick` draws one at random per request.

    Pools are drawn uniformly over every matching document (a reservoir over a projected scan),
    not from the first documents in natural order, so a bench touches the whole collection.
    Sampling child documents uniformly keeps the data's skew: a heavy user with many sessions
    is picked as often as its sessions are.
    """

    def __init__(self, db: Database, as_of: datetime, seed: int | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.db = db
        self.as_of = as_of
        self.rng = random.Random(seed)
        self.seed = seed
        self.meta = meta
        self.pools: dict[str, list[Any]] = {}
        self.created: dict[str, list[Any]] = {}
        self._gen: Any = None
        self._makers: dict[str, Any] = {}

    def days_ago(self, days: float) -> datetime:
        return self.as_of - timedelta(days=days)

    def now(self) -> datetime:
        """'Now' for written documents: the data's as-of day plus the wall-clock time of day, so
        new writes land at the live end of the generated history."""
        t = datetime.now(UTC)
        return self.as_of + timedelta(hours=t.hour, minutes=t.minute, seconds=t.second,
                                      microseconds=t.microsecond - t.microsecond % 1000)

    def values(self, name: str, collection: str, fields: list[str], filter: dict[str, Any] | None = None,
               size: int = POOL_SIZE, fallback: bool = True) -> list[Any]:
        """Sample documents (only `fields`) of `collection` matching `filter` into pool `name`,
        uniformly over all matches. With `fallback`, an empty filtered sample falls back to the
        unfiltered collection."""
        proj = {f: 1 for f in fields}
        proj.setdefault("_id", 0)
        docs = self._reservoir(collection, filter or {}, proj, fields, size)
        if not docs and filter and fallback:
            docs = self._reservoir(collection, {}, proj, fields, size)
        if not docs:
            raise HarnessError(f"no documents in {self.db.name}.{collection} to sample {name!r} from",
                               f"load the system first: harness load <system> --db {self.db.name}")
        self.pools[name] = docs
        return docs

    def _reservoir(self, collection: str, filter: dict[str, Any], proj: dict[str, Any], fields: list[str],
                   size: int) -> list[Any]:
        out: list[Any] = []
        seen = 0
        rng = self.rng
        for doc in self.db[collection].find(filter, proj, batch_size=10_000):
            if any(get_path(doc, f) is None for f in fields):
                continue
            seen += 1
            if len(out) < size:
                out.append(doc)
            else:
                j = rng.randrange(seen)
                if j < size:
                    out[j] = doc
        return out

    def add(self, name: str, values: list[Any]) -> None:
        if not values:
            raise HarnessError(f"parameter pool {name!r} is empty")
        self.pools[name] = list(values)

    def pick(self, name: str) -> Any:
        return self.rng.choice(self.pools[name])

    # -- writes ------------------------------------------------------------------------------------
    def new_document(self, collection: str, **overrides: Any) -> dict[str, Any]:
        """A document of `collection` made by the system's own generator (so it passes
        `harness validate`) with a fresh `_id` and the given fields replaced. It is the twin of
        a random loaded document: the caller replaces its unique keys (the generator's
        references only exist for loaded indices). Needs the `harness_meta` record."""
        if self._gen is None:
            if not self.meta:
                raise HarnessError(f"{self.db.name} was not generated by `harness load` (no harness_meta)",
                                   "write operations build documents with the system's generator")
            from harness.datagen import Gen
            from harness.spec import load_system

            system = load_system(self.meta["system"])
            self._gen = Gen(system, int(self.meta["seed"]), self.meta["as_of"], dict(self.meta["counts"]))
            self._makers = {c.name: c.make for c in system.collections}
        n = int(self.meta["counts"][collection]) if self.meta else 0
        i = self.rng.randrange(max(1, n))
        self._gen.begin(collection, i)
        doc = self._makers[collection](self._gen, i)
        doc["_id"] = ObjectId()
        doc.update(overrides)
        return doc

    @property
    def generated(self) -> bool:
        """Was this database generated by `harness load` (a harness_meta record)?"""
        return bool(self.meta)

    def templates(self, name: str, collection: str, path: str = "", n: int = 20) -> None:
        """Pool `name` of new documents of `collection` (or the elements of the array at `path`
        of such documents), made by the system's generator: what write operations insert or
        append. Left empty on a database `harness load` did not generate (its writes do not run)."""
        if not self.meta:
            return
        out: list[Any] = []
        for _ in range(10 * n):  # arrays may be empty in some documents
            if len(out) >= n:
                break
            doc = self.new_document(collection)
            value = get_path(doc, path) if path else doc
            out += value if isinstance(value, list) else [] if value is None else [value]
        if out:
            self.pools[name] = out

    def fresh(self, name: str, **overrides: Any) -> dict[str, Any]:
        """A copy of a random template from pool `name` with `overrides` applied."""
        doc = copy.deepcopy(self.pick(name))
        if "_id" in doc:
            doc["_id"] = ObjectId()
        doc.update(overrides)
        return doc

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    @staticmethod
    def iso(t: datetime) -> str:
        """ISO-8601 with microseconds and Z (the generator's string timestamps)."""
        return t.isoformat(timespec="microseconds") + "Z"

    def remember(self, collection: str, value: Any, keep: int = 500) -> None:
        """Keep a created document's key so later operations (update, delete) can reach it."""
        bucket = self.created.setdefault(collection, [])
        bucket.append(value)
        if len(bucket) > keep:
            del bucket[: len(bucket) - keep]

    def take(self, key: str) -> Any | None:
        """Remove and return the oldest remembered value under `key` (a work queue), or None."""
        bucket = self.created.get(key)
        return bucket.pop(0) if bucket else None

    def recent(self, collection: str) -> Any | None:
        bucket = self.created.get(collection)
        return self.rng.choice(bucket) if bucket else None


class Placeholder:
    """Stands for any sampled value when a workload is built without data (`shapes()`)."""

    def __getitem__(self, key: Any) -> Placeholder:
        return self

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *a: Any, **k: Any) -> Placeholder:
        return self

    def __iter__(self) -> Iterator[Placeholder]:
        return iter([self])

    def __len__(self) -> int:
        return 1

    def __add__(self, other: Any) -> Placeholder:
        return self

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __add__

    def __lt__(self, other: Any) -> bool:
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __repr__(self) -> str:
        return "<sampled>"


class ShapeParams(Params):
    """Params whose every value is a Placeholder: builds operations without a server."""

    def __init__(self) -> None:  # noqa: D107 - no database
        self.as_of = datetime(2000, 1, 1)
        self.rng = random.Random(0)
        self.pools = {}
        self.created = {}
        self.meta = None
        self.seed = 0

    def pick(self, name: str) -> Any:
        return Placeholder()

    def recent(self, collection: str) -> Any:
        return Placeholder()

    def take(self, key: str) -> Any:
        return Placeholder()

    def new_document(self, collection: str, **overrides: Any) -> dict[str, Any]:
        return {"_id": Placeholder(), **overrides}

    def fresh(self, name: str, **overrides: Any) -> dict[str, Any]:
        return {"_id": Placeholder(), **overrides}

    def remember(self, collection: str, value: Any, keep: int = 500) -> None:
        return None


def data_as_of(db: Database) -> tuple[datetime, dict[str, Any] | None]:
    """The day the loaded history ends (recorded by `harness load`) and the load record."""
    from harness.datagen import utc_day
    from harness.loadrecord import read_meta

    meta = read_meta(db)
    value = (meta or {}).get("as_of")
    return (value if isinstance(value, datetime) else utc_day()), meta


def params_for(workload: Workload, db: Database, seed: int | None = None) -> Params:
    as_of, meta = data_as_of(db)
    params = Params(db, as_of, seed, meta)
    workload.sample(params)
    return params


# -- finding workload files ------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent


def workloads_dir() -> Path:
    """`HARNESS_WORKLOADS`, else ./workloads, else the repository's workloads/."""
    env = os.environ.get("HARNESS_WORKLOADS")
    if env:
        return Path(env)
    here = Path.cwd() / "workloads"
    return here if here.is_dir() else REPO / "workloads"


def workload_path(system: str, path: str | Path | None = None) -> Path:
    from harness.systems import discover

    found = discover().get(system)
    beside = found.workload if found else None  # the systems path, then the built-in workloads
    target = Path(path) if path else beside or workloads_dir() / f"{system}.py"
    if not target.is_file():
        known = ", ".join(sorted(p.stem for p in workloads_dir().glob("*.py") if not p.stem.startswith("_")))
        raise HarnessError(f"no workload for {system!r} at {target}", f"workloads: {known or 'none found'}")
    return target.resolve()


def workload_exists(system: str) -> bool:
    try:
        workload_path(system)
    except HarnessError:
        return False
    return True


def load_workload(system: str, path: str | Path | None = None) -> Workload:
    """Import a workload file and return its `WORKLOAD`."""
    target = workload_path(system, path)
    name = f"harness_workload_{target.stem}"
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(target):
        spec = importlib.util.spec_from_file_location(name, target)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except HarnessError:
            sys.modules.pop(name, None)
            raise
        except Exception as exc:
            sys.modules.pop(name, None)
            raise HarnessError(f"workload {target} failed to import: {type(exc).__name__}: {exc}") from exc
    workload = getattr(module, "WORKLOAD", None)
    if not isinstance(workload, Workload):
        raise HarnessError(f"{target} must define WORKLOAD = Workload(...)")
    if workload.system != system and path is None:
        raise HarnessError(f"{target} is a workload for {workload.system!r}, not {system!r}")
    if not workload.operations:
        raise HarnessError(f"{target} declares no operations")
    workload.path = target
    return workload
