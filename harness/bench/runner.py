"""Run a workload headless with Locust in this process: local users, or a master with local
worker processes (`locust -f WORKLOAD --worker`, exactly what a distributed run uses).

Stops after `duration_s` or once `requests` critical requests were recorded (whichever comes
first); distributed request counts are seen at the workers' 3 s report cadence.
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
from locust import argument_parser
from locust.env import Environment

from harness.bench.plugin import BenchState, attach
from harness.bench.recorder import Recorder
from harness.errors import HarnessError
from harness.servers.embedded import free_port

WORKER_READY_TIMEOUT = 60.0
FINAL_TIMEOUT = 15.0


@dataclass
class RunConfig:
    uri: str
    database: str
    users: int = 4
    spawn_rate: float = 0.0  # 0 = all users at once
    duration_s: float | None = 10.0
    requests: int | None = None
    rate: float | None = None  # open loop: total intended requests per second
    workers: int = 0  # 0 = users run in this process
    seed: int | None = None
    skip: dict[str, str] = field(default_factory=dict)
    workload_path: Path | None = None

    @property
    def mode(self) -> str:
        return "open" if self.rate else "closed"


@dataclass
class RunOutcome:
    recorder: Recorder
    started_at: str
    elapsed_s: float
    locust_requests: int
    locust_failures: int


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
    return opts


def run(cfg: RunConfig, user_class: type, on_state: Any = None) -> RunOutcome:
    """Run and return the merged recorder. `on_state(state)` is called once the recorder
    exists (the metrics endpoint reads it live)."""
    env = Environment(user_classes=[user_class], host=cfg.uri, parsed_options=_options(cfg))
    procs: list[subprocess.Popen[bytes]] = []
    if cfg.workers:
        port = free_port()
        runner = env.create_master_runner("127.0.0.1", port)
        st = attach(env, cli=False)
        procs = _start_workers(cfg, port)
    else:
        runner = env.create_local_runner()
        st = attach(env, cli=False)
    if on_state:
        on_state(st)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    try:
        if cfg.workers:
            _wait_workers(runner, cfg.workers, procs)
        t0 = time.perf_counter()
        runner.start(cfg.users, spawn_rate=cfg.spawn_rate or cfg.users)
        _wait_done(cfg, st, t0, runner)
        runner.stop()
        if cfg.workers:
            _wait_finals(st, cfg.workers)
        elapsed = time.perf_counter() - t0
    finally:
        runner.quit()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    total = env.stats.total
    return RunOutcome(st.recorder, started_at, elapsed, total.num_requests, total.num_failures)


def _wait_done(cfg: RunConfig, st: BenchState, t0: float, runner: Any) -> None:
    while True:
        gevent.sleep(0.05)
        if cfg.duration_s is not None and time.perf_counter() - t0 >= cfg.duration_s:
            return
        if cfg.requests is not None and st.recorder.total >= cfg.requests:
            return
        if cfg.workers and not runner.clients:
            raise HarnessError("every Locust worker exited during the run", "see the worker output above")


def _start_workers(cfg: RunConfig, port: int) -> list[subprocess.Popen[bytes]]:
    if cfg.workload_path is None:
        raise HarnessError("distributed runs need the workload's locustfile path")
    argv = [sys.executable, "-m", "locust", "-f", str(cfg.workload_path), "--worker", "--master-host", "127.0.0.1",
            "--master-port", str(port), "--loglevel", "WARNING"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return [subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL) for _ in range(cfg.workers)]


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
