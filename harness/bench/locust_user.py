"""The Locust adapter: a Locust `User` built from a plain `Workload` (a normal locustfile, web UI
and distributed runs included).

Each operation becomes a weighted task. Parameters are sampled once per process from the loaded
data (outside the timed region) and every operation is run a few times untimed (warm-up,
excluded from the statistics) before the first timed request. The timed region runs the
operation with cursors drained and fires Locust's `request` event with the latency in ms for
Locust's own stats and the exact microseconds in the event context for the harness's HDR
histograms.

Closed loop (default): the next request starts after the previous one and the user's wait
time. Open loop (`--rate`): each user follows a fixed schedule of intended start times and the
latency is measured from the intended start, so a stalled server is charged for every request
it delayed (coordinated omission corrected).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.lock import Semaphore
from locust import User, between
from pymongo import MongoClient
from pymongo.database import Database

from harness.bench import plugin  # noqa: F401  (registers the harness's Locust options and listeners)
from harness.bench.prepare import Prepared, prepare_in_process
from harness.errors import HarnessError
from harness.workload import Operation, Workload

_CLIENTS: dict[str, MongoClient] = {}
_PREPARED: dict[tuple[int, str, str], Prepared] = {}
_CLASSES: dict[int, type] = {}
_LOCK = Semaphore()


def shared_client(uri: str) -> MongoClient:
    """One client per process and URI; the pool is large enough for every user of the process."""
    client = _CLIENTS.get(uri)
    if client is None:
        client = _CLIENTS[uri] = MongoClient(uri, maxPoolSize=1000, serverSelectionTimeoutMS=10000, tz_aware=False)
    return client


def option(environment: Any, name: str, default: Any = None) -> Any:
    opts = getattr(environment, "parsed_options", None)
    value = getattr(opts, name, None) if opts is not None else None
    return default if value is None else value


def shared_prepared(workload: Workload, environment: Any, uri: str) -> Prepared:
    """Sampling, capability skips, the write guard and the warm-up: once per process."""
    from harness.spec import load_system

    database = option(environment, "mongo_db") or load_system(workload.system).database
    key = (id(workload), uri, database)
    with _LOCK:
        prep = _PREPARED.get(key)
        if prep is None:
            prep = prepare_in_process(workload, shared_client(uri)[database],
                                      seed=option(environment, "bench_seed"),
                                      allow_writes=bool(option(environment, "allow_writes", False)),
                                      skip=option(environment, "bench_skip"),
                                      warmup=int(option(environment, "warmup", 10)))
            _PREPARED[key] = prep
    return prep


def remember(prep: Prepared, key: tuple[int, str, str]) -> None:
    """Register a Prepared made by `harness bench` so in-process users reuse it."""
    _PREPARED[key] = prep


class WorkloadUser(User):
    """Base of the generated users; `workload` is set on each generated subclass."""

    abstract = True
    workload: Workload

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        host = environment.host or self.host
        if not host:
            raise HarnessError("no MongoDB URI: pass --host mongodb://… to locust (or --uri to harness bench)")
        self.prep = shared_prepared(self.workload, environment, host)
        self.db: Database = self.prep.db
        self.params = self.prep.params
        rate = float(option(environment, "user_rate", 0.0) or 0.0)
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._intended: float | None = None
        if self.prep.skip:
            self.tasks = [t for t in type(self).tasks if getattr(t, "__name__", "") not in self.prep.skip]
        self._fire = environment.events.request.fire

    # -- the timed region -----------------------------------------------------------------------------
    def run_operation(self, op: Operation) -> None:
        ops = op.ops(self.params)
        intended = self._next_intended() if self._interval else None
        exc: BaseException | None = None
        returned = 0
        start = time.perf_counter()
        try:
            for o in ops:
                returned += o.run(self.db)
        except Exception as err:  # report every failure as the operation's error, keep the user alive
            exc = err
        end = time.perf_counter()
        service_us = (end - start) * 1e6
        latency_us = (end - intended) * 1e6 if intended is not None else service_us
        self._fire(request_type="mongodb", name=op.name, response_time=latency_us / 1000.0,
                   response_length=returned, exception=exc,
                   context={"harness": True, "service_us": service_us, "latency_us": latency_us})

    def _next_intended(self) -> float | None:
        """Open loop: sleep until this request's intended start and return it (never later
        than now: a late schedule is not reset, so the backlog is charged to the server)."""
        now = time.perf_counter()
        if self._intended is None:
            self._intended = now + random.uniform(0, self._interval)
        intended = self._intended
        self._intended += self._interval
        if intended > now:
            gevent.sleep(intended - now)
        return intended


def _task(op: Operation) -> Callable[[WorkloadUser], None]:
    def task(user: WorkloadUser) -> None:
        user.run_operation(op)

    task.__name__ = op.name
    task.__doc__ = op.description
    return task


def user_class(workload: Workload) -> type[WorkloadUser]:
    """The Locust user for `workload` (one class per workload object)."""
    cls = _CLASSES.get(id(workload))
    if cls is None:
        name = "".join(p.capitalize() for p in workload.system.split("_")) + "User"
        tasks = {_task(op): op.weight for op in workload.operations}
        cls = type(name, (WorkloadUser,), {"abstract": False, "workload": workload, "tasks": tasks,
                                           "wait_time": between(*workload.think_time),
                                           "__module__": WorkloadUser.__module__})
        _CLASSES[id(workload)] = cls
    return cls
