"""One bench pipeline: prepare → run → conclude, returning the typed run record.

`run_bench` is what `harness bench` calls: it prepares in this process, runs Locust headless
(local users, or a master with local and/or remote workers) and concludes. A plain
`locust -f workloads/x.py` run prepares in each Locust process (`locust_user`) and concludes
through the same `conclude` when the test stops (the plugin). Either way the verdict is decided
once, by `harness.bench.verdict`, and everything else renders the `BenchRun`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness import reporting
from harness.bench import history
from harness.bench.indexcheck import IndexFinding, check_query
from harness.bench.prepare import Prepared, prepare_in_process
from harness.bench.record import BenchRun, RunConfigRecord, StoredRun
from harness.bench.recorder import Recorder
from harness.bench.verdict import P95_MIN, judge_query, judge_run
from harness.redact import redact
from harness.servers.capabilities import Capabilities
from harness.spec import System, load_system
from harness.workload import Workload, load_workload

DEFAULT_MIN_SAMPLES = 50  # per operation, when no --duration/--requests is given
DEFAULT_MIN_DURATION_S = 10.0
DEFAULT_MAX_DURATION_S = 120.0  # the cap when an operation cannot reach its samples


@dataclass
class BenchRequest:
    """Everything `harness bench` was asked to do (already validated)."""

    system: str
    uri: str
    database: str
    workload_path: str | None = None
    users: int = 4
    spawn_rate: float = 0.0
    duration_s: float | None = None  # fixed run time; None with requests None = run to min_samples
    requests: int | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    rate: float | None = None
    workers: int = 0
    expect_workers: int = 0
    master_port: int = 0
    seed: int | None = None
    sla: list[str] = field(default_factory=list)
    index_check: bool = True
    allow_writes: bool = False
    warmup: int = 10
    think_time: tuple[float, float] | None = None
    baseline: dict[str, Any] | None = None

    @property
    def extends(self) -> bool:
        return self.duration_s is None and self.requests is None

    @property
    def mode(self) -> str:
        return "open" if self.rate else "closed"


@dataclass
class Session:
    """A prepared bench: the workload (SLA overrides applied), its system and parameters."""

    system: System
    workload: Workload
    prep: Prepared
    caps: Capabilities
    findings: dict[str, IndexFinding] | None = None

    @property
    def skip(self) -> dict[str, str]:
        return self.prep.skip

    def runnable(self) -> list[str]:
        return [o.name for o in self.workload.operations if o.name not in self.prep.skip]


def open_session(workload: Workload, caps: Capabilities, db: Any, seed: int | None = None,
                 sla: list[str] | None = None, allow_writes: bool = False, warmup: int = 10,
                 index_check: bool = True) -> Session:
    system = load_system(workload.system)
    if sla:
        workload = workload.with_slas(sla)
    prep = prepare_in_process(workload, db, seed=seed, allow_writes=allow_writes, caps=caps, warmup=warmup)
    session = Session(system, workload, prep, caps)
    if index_check:
        session.findings = index_findings(session)
    return session


def index_findings(session: Session) -> dict[str, IndexFinding]:
    out = {}
    for op in session.workload.operations:
        reason = session.skip.get(op.name)
        ops = () if reason else op.ops(session.prep.params)
        out[op.name] = check_query(session.prep.db, op.name, ops, session.caps, session.system, reason)
    return out


def conclude(session: Session, recorder: Recorder, server: str, server_kind: str, uri: str,
             config: RunConfigRecord, started_at: str, elapsed_s: float,
             baseline: dict[str, Any] | None = None) -> BenchRun:
    """Judge the recorded run (the one place) and return the typed record."""
    findings = session.findings
    queries = []
    for op in session.workload.operations:
        kinds = sorted({o.kind for o in op.shape()})
        queries.append(judge_query(op, kinds, recorder.get(op.name), session.skip.get(op.name),
                                   findings.get(op.name) if findings else None,
                                   config.min_samples or P95_MIN))
    regressions, base_id = [], None
    if baseline is not None:
        stored = StoredRun.from_json(baseline)
        base_id = stored.id
        regressions = history.regressions_between(stored, session.system.name, queries)
    verdict = judge_run(queries, session.system.targets, findings is not None, regressions, base_id)
    run_id = f"{reporting.stamp()}-{secrets.token_hex(2)}-{session.system.name}"
    note = "" if server_kind == "mongodb" else (
        f"{server} is not MongoDB: its latencies and plans do not represent MongoDB's.")
    return BenchRun(run_id, session.system.name, session.system.title, session.system.seed_doc,
                    str(session.workload.path), server, server_kind, note, redact(uri), session.prep.db.name,
                    session.prep.params.as_of.isoformat(), session.system.targets.source, config,
                    started_at, elapsed_s, queries, verdict)


def run_bench(req: BenchRequest, server: Any, on_state: Any = None, progress: Any = None) -> tuple[Session, BenchRun]:
    """Prepare, run and conclude one bench (the `harness bench` path)."""
    from harness.bench.runner import RunConfig, RunOutcome, run

    db = server.client()[req.database]
    session = open_session(load_workload(req.system, req.workload_path), server.caps, db, req.seed, req.sla,
                           req.allow_writes, req.warmup, req.index_check)
    if progress:
        progress(session)
    cfg = RunConfig(uri=req.uri, database=req.database, users=req.users, spawn_rate=req.spawn_rate,
                    duration_s=req.duration_s, requests=req.requests,
                    min_samples=req.min_samples if req.extends else None, min_duration_s=req.min_duration_s,
                    max_duration_s=req.max_duration_s, rate=req.rate,
                    workers=req.workers, expect_workers=req.expect_workers, master_port=req.master_port,
                    seed=req.seed, skip=session.skip, workload_path=session.workload.path,
                    allow_writes=req.allow_writes, warmup=req.warmup, names=session.runnable(),
                    think_time=req.think_time)
    if session.runnable():
        outcome = run(cfg, session, on_state=on_state)
    else:  # nothing can run here: no load at all, every operation reported as not run
        outcome = RunOutcome(Recorder(), datetime.now(UTC).isoformat(timespec="seconds"), 0.0, 0, 0,
                             "no operation can run")
    config = RunConfigRecord(req.mode, req.rate, req.users, req.spawn_rate or req.users, req.duration_s,
                             req.min_samples if req.extends else None,
                             req.max_duration_s if req.duration_s is None else None, req.requests,
                             req.workers + req.expect_workers, "harness", req.seed, session.prep.warmup,
                             outcome.locust_requests, outcome.locust_failures, outcome.stopped_because)
    record = conclude(session, outcome.recorder, server.caps.server, server.caps.kind, req.uri, config,
                      outcome.started_at, outcome.elapsed_s, req.baseline)
    return session, record


def finish_locust(environment: Any, recorder: Recorder) -> BenchRun | None:
    """The verdict of a plain `locust -f workloads/x.py` run (local or master)."""
    from harness.bench.locust_user import WorkloadUser, option, shared_client
    from harness.servers.capabilities import probe

    classes = [c for c in environment.user_classes if issubclass(c, WorkloadUser)]
    if not classes:
        return None
    workload: Workload = classes[0].workload
    uri = environment.host
    database = option(environment, "mongo_db") or load_system(workload.system).database
    client = shared_client(uri)
    caps = probe(client)
    session = open_session(workload, caps, client[database], option(environment, "bench_seed"), None,
                           bool(option(environment, "allow_writes", False)), 1, True)
    opts = environment.parsed_options
    rate = getattr(opts, "rate", 0) or None
    stats = environment.stats.total
    config = RunConfigRecord("open" if rate else "closed", rate, getattr(opts, "num_users", None), None,
                             getattr(opts, "run_time", None), None, None, None,
                             len(getattr(environment.runner, "clients", {}) or {}) or None, "locust",
                             option(environment, "bench_seed"), int(option(environment, "warmup", 10)),
                             stats.num_requests, stats.num_failures, "locust stopped")
    started = datetime.fromtimestamp(stats.start_time, UTC).isoformat(timespec="seconds") if stats.start_time else ""
    elapsed = 0.0
    if stats.start_time:
        elapsed = max(0.0, (stats.last_request_timestamp or stats.start_time) - stats.start_time)
    return conclude(session, recorder, caps.server, caps.kind, uri, config, started, elapsed)
