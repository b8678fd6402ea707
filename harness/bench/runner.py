"""Run a prepared workload headless with Locust in this process: local users, or a master with
local worker processes (`locust -f WORKLOAD --worker`, exactly what a distributed run uses)
and/or workers on other machines (`harness bench-worker HOST:PORT`).

When it stops: after `duration_s`; or once `requests` requests were recorded; or — the default,
when neither is given — once every runnable operation has `min_samples` timed samples (after at
least `min_duration_s`), or at the `max_duration_s` cap, whichever comes first. Users are
stopped at that moment; in a distributed run the workers' last histograms are then awaited
(they are counted, and Locust counts the same requests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
from locust import argument_parser, between
from locust.env import Environment

from harness.bench.locust_user import remember, user_class
from harness.bench.plugin import BenchState, attach
from harness.bench.recorder import Recorder
from harness.errors import HarnessError
from harness.ports import free_port

WORKER_READY_TIMEOUT = 60.0
FINAL_TIMEOUT = 15.0
POLL_S = 0.2  # how often the stop conditions are checked: rarely enough to cost the users nothing


@dataclass
class RunConfig:
    uri: str
    database: str
    users: int = 4
    spawn_rate: float = 0.0  # 0 = all users at once
    duration_s: float | None = 10.0
    requests: int | None = None
    min_samples: int | None = None  # extend until every operation has this many samples …
    min_duration_s: float = 10.0  # … but run at least this long …
    max_duration_s: float = 180.0  # … and at most this long
    rate: float | None = None  # open loop: total intended requests per second
    workers: int = 0  # local worker processes
    expect_workers: int = 0  # workers joining from elsewhere (harness bench-worker HOST:PORT)
    master_port: int = 0  # 0 = a free port
    master_bind: str = "127.0.0.1"
    seed: int | None = None
    skip: dict[str, str] = field(default_factory=dict)
    workload_path: Path | None = None
    allow_writes: bool = False
    warmup: int = 10
    names: list[str] = field(default_factory=list)
    think_time: tuple[float, float] | None = None

    @property
    def mode(self) -> str:
        return "open" if self.rate else "closed"

    @property
    def distributed(self) -> bool:
        return bool(self.workers or self.expect_workers)


@dataclass
class RunOutcome:
    recorder: Recorder
    started_at: str
    elapsed_s: float
    locust_requests: int
    locust_failures: int
    stopped_because: str


def _options(cfg: RunConfig) -> Any:
    parser = argument_parser.get_empty_argument_parser()
    argument_parser.setup_parser_arguments(parser)
    opts = parser.parse(args=[])
    opts.headless = True
    opts.num_users = cfg.users
    opts.mongo_db = cfg.database
    opts.bench_seed = cfg.seed
    opts.bench_skip = ",".join(sorted(cfg.skip))
    opts.rate = cfg.rate or 0.0
    opts.user_rate = (cfg.rate / cfg.users) if cfg.rate else 0.0
    opts.bench_out = None
    opts.allow_writes = cfg.allow_writes
    opts.warmup = cfg.warmup
    return opts


def run(cfg: RunConfig, session: Any, on_state: Any = None) -> RunOutcome:
    """Run and return the merged recorder. `on_state(state)` is called once the recorder
    exists (the metrics endpoint reads it live)."""
    cls = user_class(session.workload)
    if cfg.think_time is not None:
        cls.wait_time = between(*cfg.think_time)
    remember(session.prep, (id(session.workload), cfg.uri, cfg.database))  # local users reuse the warm sample
    env = Environment(user_classes=[cls], host=cfg.uri, parsed_options=_options(cfg))
    if cfg.workload_path is not None:
        env.parsed_locustfiles = [str(cfg.workload_path)]  # served to `locust -f - --worker` (bench-worker)
    procs: list[subprocess.Popen[bytes]] = []
    if cfg.distributed:
        port = cfg.master_port or free_port()
        runner = env.create_master_runner(cfg.master_bind, port)
        st = attach(env, cli=False)
        procs = _start_workers(cfg, port)
    else:
        runner = env.create_local_runner()
        st = attach(env, cli=False)
    if on_state:
        on_state(st)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        if cfg.distributed:
            _wait_workers(runner, cfg.workers + cfg.expect_workers, procs)
        t0 = time.perf_counter()
        runner.start(cfg.users, spawn_rate=cfg.spawn_rate or cfg.users)
        why = _wait_done(cfg, st, t0, runner, _Ticker(cfg, st))
        runner.stop()
        elapsed = time.perf_counter() - t0
        if cfg.distributed:
            _wait_finals(st, cfg.workers + cfg.expect_workers)
    finally:
        runner.quit()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    total = env.stats.total
    return RunOutcome(st.recorder, started_at, elapsed, total.num_requests, total.num_failures, why)


class _Ticker:
    """A progress line on stderr every `every` seconds of a run: a CI log shows the bench is
    alive and how close every operation is to its minimum sample count."""

    def __init__(self, cfg: RunConfig, st: BenchState, every: float = 10.0) -> None:
        self.cfg, self.st, self.every, self.next = cfg, st, every, every

    def __call__(self, elapsed: float) -> None:
        if elapsed < self.next:
            return
        self.next += self.every
        from harness.output import note

        line = f"[{elapsed:7.1f}s] bench: {self.st.recorder.total:,} requests"
        if self.cfg.min_samples is not None:
            line += (f", fewest samples {self.st.recorder.min_count(self.cfg.names)} of {self.cfg.min_samples} "
                     f"(cap {self.cfg.max_duration_s:g}s)")
        elif self.cfg.duration_s is not None:
            line += f" of a {self.cfg.duration_s:g}s run"
        note(line)


def _wait_done(cfg: RunConfig, st: BenchState, t0: float, runner: Any, tick: Any = None) -> str:
    while True:
        gevent.sleep(POLL_S)
        elapsed = time.perf_counter() - t0
        if tick is not None:
            tick(elapsed)
        if cfg.requests is not None and st.recorder.total >= cfg.requests:
            return f"{cfg.requests} requests"
        if cfg.min_samples is not None:
            if elapsed >= cfg.min_duration_s and st.recorder.min_count(cfg.names) >= cfg.min_samples:
                return f"every operation has {cfg.min_samples} samples"
            if elapsed >= cfg.max_duration_s:
                return f"cap of {cfg.max_duration_s:g}s reached"
        elif cfg.duration_s is not None and elapsed >= cfg.duration_s:
            return f"{cfg.duration_s:g}s run time"
        if cfg.duration_s is None and elapsed >= cfg.max_duration_s:
            return f"cap of {cfg.max_duration_s:g}s reached"
        if not cfg.distributed and elapsed > 5 and runner.user_count == 0:
            raise HarnessError("every Locust user stopped during the run", "see the errors above")
        if cfg.distributed and not runner.clients:
            raise HarnessError("every Locust worker exited during the run", "see the worker output above")


def _start_workers(cfg: RunConfig, port: int) -> list[subprocess.Popen[bytes]]:
    if not cfg.workers:
        return []
    if cfg.workload_path is None:
        raise HarnessError("distributed runs need the workload's file path")
    argv = worker_argv(str(cfg.workload_path), "127.0.0.1", port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return [subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL) for _ in range(cfg.workers)]


def worker_argv(locustfile: str, host: str, port: int) -> list[str]:
    """A Locust worker; locustfile `-` fetches it from the master (Locust ≥ 2.23)."""
    return [sys.executable, "-m", "locust", "-f", locustfile, "--worker", "--master-host", host,
            "--master-port", str(port), "--loglevel", "WARNING"]


def _wait_workers(runner: Any, n: int, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.perf_counter() + WORKER_READY_TIMEOUT
    while len(runner.clients.ready) < n:
        if any(p.poll() is not None for p in procs):
            raise HarnessError("a Locust worker exited before the run started", "see its output above")
        if time.perf_counter() > deadline:
            raise HarnessError(f"only {len(runner.clients.ready)} of {n} Locust workers connected within "
                               f"{WORKER_READY_TIMEOUT:.0f}s")
        gevent.sleep(0.1)


def _wait_finals(st: BenchState, n: int) -> None:
    deadline = time.perf_counter() + FINAL_TIMEOUT
    while len(st.final_from) < n and time.perf_counter() < deadline:
        gevent.sleep(0.1)
