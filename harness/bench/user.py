"""MongoUser: the Locust User every workload subclasses (a normal locustfile, Locust UI included).

Each critical query becomes a Locust task. Parameters come from the loaded data (sampled once
per process, outside the timed region). The timed region runs the operation with cursors
drained and fires Locust's `request` event with the latency in ms for Locust's own stats and
the exact microseconds in the event context for the harness's HDR histograms.

Closed loop (default): the next request starts after the previous one and the user's wait
time. Open loop (`--rate`): each user follows a fixed schedule of intended start times and the
latency is measured from the intended start, so a stalled server is charged for every request
it delayed (coordinated omission corrected).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

import gevent
from gevent.lock import Semaphore
from locust import User, between
from pymongo import MongoClient
from pymongo.database import Database

from harness.bench.queries import Critical, as_ops, criticals, execute
from harness.errors import HarnessError

_CLIENTS: dict[str, MongoClient] = {}
_PARAMS: dict[tuple[str, str, str], Params] = {}
_SKIPS: dict[tuple[str, str], dict[str, str]] = {}
_LOCK = Semaphore()


def shared_client(uri: str) -> MongoClient:
    """One client per process and URI; the pool is large enough for every user of the process."""
    client = _CLIENTS.get(uri)
    if client is None:
        client = _CLIENTS[uri] = MongoClient(uri, maxPoolSize=1000, serverSelectionTimeoutMS=10000, tz_aware=False)
    return client


class Params:
    """Values sampled from the loaded data; `pick` draws one at random per request."""

    def __init__(self, db: Database, as_of: datetime, seed: int | None = None) -> None:
        self.db = db
        self.as_of = as_of
        self.rng = random.Random(seed)
        self.pools: dict[str, list[Any]] = {}

    def days_ago(self, days: float) -> datetime:
        return self.as_of - timedelta(days=days)

    def values(self, name: str, collection: str, fields: list[str], filter: dict[str, Any] | None = None,
               limit: int = 2000, fallback: bool = True) -> list[Any]:
        """Sample documents (only `fields`) of `collection` matching `filter` into pool `name`.
        With `fallback`, an empty filtered sample falls back to the unfiltered collection."""
        proj = {f: 1 for f in fields}
        proj.setdefault("_id", 0)
        docs = list(self.db[collection].find(filter or {}, proj).limit(limit))
        if not docs and filter and fallback:
            docs = list(self.db[collection].find({}, proj).limit(limit))
        docs = [d for d in docs if all(_get(d, f) is not None for f in fields)]
        if not docs:
            raise HarnessError(f"no documents in {self.db.name}.{collection} to sample {name!r} from",
                               f"load the system first: harness load <system> --db {self.db.name}")
        self.pools[name] = docs
        return docs

    def add(self, name: str, values: list[Any]) -> None:
        if not values:
            raise HarnessError(f"parameter pool {name!r} is empty")
        self.pools[name] = list(values)

    def pick(self, name: str) -> Any:
        return self.rng.choice(self.pools[name])


def _get(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def data_as_of(db: Database) -> datetime:
    """The day the loaded history ends (recorded by `harness load`), else today."""
    from harness.datagen import utc_day
    from harness.load import read_meta

    meta = read_meta(db) or {}
    value = meta.get("as_of")
    return value if isinstance(value, datetime) else utc_day()


def option(environment: Any, name: str, default: Any = None) -> Any:
    opts = getattr(environment, "parsed_options", None)
    value = getattr(opts, name, None) if opts is not None else None
    return default if value is None else value


class MongoUser(User):
    """Base class of every workload. Subclasses set `system` and declare `@critical` methods,
    and may override `sample(params)` to fill parameter pools from the data."""

    abstract = True
    system: ClassVar[str] = ""
    wait_time = between(0.0, 0.005)  # a short think time; --think-time or a workload may set its own

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        host = environment.host or self.host
        if not host:
            raise HarnessError("no MongoDB URI: pass --host mongodb://… to locust (or --uri to harness bench)")
        self.db = shared_client(host)[self.database_name(environment)]
        self.params = self.shared_params(self.db, option(environment, "bench_seed"))
        rate = float(option(environment, "user_rate", 0.0) or 0.0)
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._intended: float | None = None
        skips = self.skipped(environment, self.db)
        if skips:
            self.tasks = [t for t in type(self).tasks if getattr(t, "__name__", "") not in skips]

    # -- configuration shared by all users of a process -----------------------------------
    @classmethod
    def database_name(cls, environment: Any) -> str:
        name = option(environment, "mongo_db")
        if name:
            return str(name)
        from harness.spec import load_system

        return load_system(cls.system).database

    @classmethod
    def sample(cls, params: Params) -> None:
        """Fill parameter pools (override in workloads)."""

    @classmethod
    def shared_params(cls, db: Database, seed: int | None = None) -> Params:
        key = (cls.__qualname__, db.client.address and str(db.client.address) or "", db.name)
        with _LOCK:
            params = _PARAMS.get(key)
            if params is None:
                params = Params(db, data_as_of(db), seed)
                cls.sample(params)
                _PARAMS[key] = params
        return params

    @classmethod
    def skipped(cls, environment: Any, db: Database) -> dict[str, str]:
        """Queries this server cannot run: {name: reason}. The harness passes them in
        `bench_skip`; under plain Locust the server's capabilities are probed once."""
        given = option(environment, "bench_skip")
        if given is not None:
            return {n: "server lacks a capability it needs" for n in str(given).split(",") if n}
        key = (cls.__qualname__, db.name)
        with _LOCK:
            if key not in _SKIPS:
                from harness.servers.capabilities import probe

                caps = probe(db.client)
                _SKIPS[key] = unsupported(criticals(cls), caps)
        return _SKIPS[key]

    # -- the timed region -----------------------------------------------------------------
    def run_query(self, spec: Critical) -> None:
        ops = as_ops(spec.build(self, self.params))
        intended = self._next_intended()
        start = time.perf_counter()
        exc: BaseException | None = None
        returned = 0
        try:
            returned = execute(self.db, ops)
        except Exception as err:  # report every failure as the query's error, keep the user alive
            exc = err
        end = time.perf_counter()
        service_us = (end - start) * 1e6
        latency_us = (end - intended) * 1e6 if intended is not None else service_us
        self.environment.events.request.fire(
            request_type="mongodb", name=spec.name, response_time=latency_us / 1000.0,
            response_length=returned, exception=exc,
            context={"harness": True, "service_us": service_us, "latency_us": latency_us})

    def _next_intended(self) -> float | None:
        """Open loop: sleep until this request's intended start and return it (never later
        than now: a late schedule is not reset, so the backlog is charged to the server)."""
        if not self._interval:
            return None
        now = time.perf_counter()
        if self._intended is None:
            self._intended = now + random.uniform(0, self._interval)
        intended = self._intended
        self._intended += self._interval
        if intended > now:
            gevent.sleep(intended - now)
        return intended


def unsupported(specs: list[Critical], caps: Any) -> dict[str, str]:
    """{query: reason} for queries needing capabilities the server lacks."""
    from harness.servers.capabilities import DESCRIPTIONS

    out = {}
    for spec in specs:
        missing = [n for n in spec.needs if not caps.has(n)]
        if missing:
            out[spec.name] = f"{caps.server} lacks " + "; ".join(DESCRIPTIONS.get(n, n) for n in missing)
    return out
