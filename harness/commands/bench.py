"""`harness bench SYSTEM` (Locust headless in-process, SLA verdict) and `harness compare A B`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from harness.errors import EXIT_BREACH, HarnessError
from harness.options import exit_codes, out_option, pushgateway_option

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def parse_duration(value: str | None, option: str = "--duration") -> float | None:
    if value is None:
        return None
    m = _DURATION.match(value.strip())
    if not m or float(m.group(1)) <= 0:
        raise HarnessError(f"bad {option} {value!r}", "use e.g. 30s, 2m, 1h")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def parse_rate(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip().removesuffix("/s")
    try:
        rate = float(text)
    except ValueError:
        raise HarnessError(f"bad --rate {value!r}", "use requests per second, e.g. --rate 200/s") from None
    if not rate > 0:
        raise HarnessError(f"bad --rate {value!r}: it must be positive")
    return rate


@click.command(epilog=exit_codes("an SLA, index, vacuous, inconclusive, target or regression finding"))
@click.argument("system_name", metavar="SYSTEM")
@click.option("--uri", envvar="MONGODB_URI", default=None, show_envvar=True,
              help="MongoDB URI; without it the embedded default server is used.")
@click.option("--db", "database", default=None, help="Database (default: the system's documented database).")
@click.option("--users", type=click.IntRange(1, 10_000), default=4, show_default=True, help="Locust users.")
@click.option("--think-time", default=None, help="Closed loop: wait between a user's requests, MIN,MAX seconds "
              "(default: the workload's).")
@click.option("--spawn-rate", type=float, default=0, help="Users started per second (default: all at once).")
@click.option("--duration", default=None, help="Fixed run time, e.g. 30s or 2m. Default: run until every "
              "operation has --min-samples samples (at least 10s, at most --max-duration).")
@click.option("--min-samples", type=click.IntRange(20), default=50, show_default=True,
              help="Without --duration/--requests: timed samples every operation needs.")
@click.option("--max-duration", default="120s", show_default=True,
              help="Without --duration/--requests: the cap on the extended run.")
@click.option("--requests", "requests_", type=click.IntRange(1), default=None,
              help="Stop after this many requests.")
@click.option("--warmup", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="Untimed runs of each operation before timing starts (excluded from the statistics).")
@click.option("--rate", default=None, help="Open loop: total intended requests per second, e.g. 200/s.")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Distributed: a Locust master here and this many local worker processes.")
@click.option("--expect-workers", type=click.IntRange(0, 1024), default=0, show_default=True,
              help="Distributed: wait for this many workers started elsewhere with `harness bench-worker HOST:PORT`.")
@click.option("--master-port", type=click.IntRange(0, 65535), default=0,
              help="Port of the Locust master (default: a free port, printed).")
@click.option("--master-bind", default="127.0.0.1", show_default=True,
              help="Address the Locust master listens on (remote workers need an address they can reach).")
@click.option("--workload", "workload", default=None, type=click.Path(dir_okay=False),
              help="Workload file to run instead of workloads/SYSTEM.py.")
@click.option("--sla", "sla", multiple=True, help="Override an SLA: QUERY=MS or '*=MS' (repeatable).")
@click.option("--allow-writes", is_flag=True,
              help="Let write operations run on a database `harness load` did not generate.")
@click.option("--no-index-check", is_flag=True, help="Skip explaining the critical queries.")
@out_option
@click.option("--baseline", default=None,
              help="Gate: fail on a statistically significant latency regression against this run "
                   "(JSON path, history id, or latest[:SYSTEM]).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Serve Prometheus /metrics on 127.0.0.1 during the run (0 = a free port).")
@click.option("--no-metrics", is_flag=True, help="No /metrics endpoint.")
@pushgateway_option
@click.option("--seed", type=int, default=None, help="Seed for parameter sampling.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record summary as JSON.")
def bench(system_name: str, uri: str | None, database: str | None, users: int, think_time: str | None,
          spawn_rate: float, duration: str | None, min_samples: int, max_duration: str, requests_: int | None,
          warmup: int, rate: str | None, workers: int, expect_workers: int, master_port: int, master_bind: str,
          workload: str | None, sla: tuple[str, ...], allow_writes: bool, no_index_check: bool, out: str | None,
          baseline: str | None, metrics_port: int, no_metrics: bool, gateway: str | None, seed: int | None,
          as_json: bool) -> None:
    """Run SYSTEM's workload (reads and writes) with Locust and judge it against its SLAs.

    Exit 0 when every operation passes, 1 on an SLA, index, vacuous, inconclusive or regression
    finding, 2 on bad usage or broken infrastructure. Reports (JSON, HTML, JUnit XML) go to --out.
    """
    from gevent import monkey

    monkey.patch_all()  # before pymongo is imported: Locust runs users as greenlets
    from harness import reporting
    from harness.bench import history, metrics, report
    from harness.bench.pipeline import BenchRequest, Session, run_bench
    from harness.options import server_from
    from harness.output import emit_json, note

    seconds = parse_duration(duration)
    cap = parse_duration(max_duration, "--max-duration")
    assert cap is not None
    rate_value = parse_rate(rate)
    think = parse_think_time(think_time) if think_time else None
    out_path = reporting.out_dir(out)
    base = history.resolve(baseline, out_path) if baseline else None
    from harness.workload import load_workload

    db_name = database or _system_db(system_name)  # an unknown system first, then its workload
    load_workload(system_name, workload)  # a broken workload is bad input: say so before connecting
    server = server_from(uri, quiet=as_json)
    req = BenchRequest(system_name, server.uri, db_name, workload, users, spawn_rate, seconds, requests_,
                       min_samples, min(10.0, cap), cap, rate_value, workers, expect_workers, master_port,
                       seed, list(sla), not no_index_check, allow_writes, warmup, think, base)
    collector_state: dict[str, Any] = {}
    metrics_server: list[Any] = []

    def started(session: Session) -> None:
        for name, reason in session.skip.items():
            note(f"not run: {name} — {reason}")
        if not no_metrics:
            collector = metrics.BenchCollector(session.system.name, session.workload.operations,
                                               lambda: collector_state["st"].recorder if "st" in collector_state
                                               else _empty())
            srv, port = metrics.serve(metrics_port, collector)
            metrics_server.append(srv)
            note(f"metrics: http://127.0.0.1:{port}/metrics")
        mode = f"open loop at {rate_value:g} req/s" if rate_value else "closed loop"
        if req.extends:
            limit = f"every operation has {min_samples} samples (at least {req.min_duration_s:g}s, cap {cap:g}s)"
        else:
            limit = " or ".join(x for x in (f"{seconds:g}s" if seconds else "",
                                            f"{requests_} requests" if requests_ else "") if x)
        spread = f"{workers + expect_workers} workers, " if workers or expect_workers else ""
        writes = sum(o.writes for o in session.workload.operations)
        note(f"bench {session.system.title}: {len(session.workload.operations)} operations ({writes} writing), "
             f"{users} users, {mode}, {spread}warm-up {warmup}× each, until {limit}")
        if expect_workers:
            note(f"waiting for {expect_workers} worker(s): harness bench-worker {master_bind}:{master_port or '?'}")

    try:
        session, record = run_bench(req, server, on_state=lambda st: collector_state.__setitem__("st", st),
                                    progress=started)
    finally:
        for srv in metrics_server:
            srv.shutdown()
    paths = report.write_all(record, out_path)
    history.save(record, out_path)
    metrics.push(gateway, record)
    if as_json:
        data = record.to_json()
        emit_json({k: v for k, v in data.items() if k != "queries"} | {
            "queries": [{k: v for k, v in q.items() if k != "hdr"} for q in data["queries"]],
            "reports": {k: str(v) for k, v in paths.items()}})
    else:
        table, notes = report.terminal_parts(record)
        click.echo(table)
        for line in notes:
            note(line)
        note("reports: " + ", ".join(str(p) for p in paths.values()))
    sys.exit(record.verdict.exit_code)


@click.command("bench-worker", epilog=exit_codes(None) + " The verdict is the master's.")
@click.argument("master", metavar="HOST:PORT")
def bench_worker(master: str) -> None:
    """Join a `harness bench --expect-workers N` run as a Locust worker (the workload file is
    fetched from the master; the harness must be installed here)."""
    import os

    host, sep, port = master.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise HarnessError(f"bad master address {master!r}", "use HOST:PORT, e.g. 127.0.0.1:5557")
    from harness.bench.runner import worker_argv

    argv = worker_argv("-", host, int(port))
    os.execv(argv[0], argv)


def parse_think_time(value: str) -> tuple[float, float]:
    try:
        low, _, high = value.partition(",")
        lo, hi = float(low), float(high or low)
        if lo < 0 or hi < lo:
            raise ValueError
    except ValueError:
        raise HarnessError(f"bad --think-time {value!r}", "use MIN,MAX seconds, e.g. 0,0.01") from None
    return lo, hi


def _empty() -> Any:
    from harness.bench.recorder import Recorder

    return Recorder()


def _system_db(name: str) -> str:
    from harness.spec import load_system

    return load_system(name).database


@click.command(epilog=exit_codes("run B regressed significantly, or there is too little data to judge"))
@click.argument("run_a")
@click.argument("run_b")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Report folder holding history/ (default ./reports).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def compare(run_a: str, run_b: str, out: str | None, as_json: bool) -> None:
    """Compare two bench runs query by query; exit 1 when B regressed significantly.

    RUN_A / RUN_B: a run JSON path, an id from reports/history, or latest[:SYSTEM].
    """
    from harness.bench import history
    from harness.bench.record import StoredRun
    from harness.output import emit_json, note, table

    out_path = Path(out) if out else Path("reports")
    a = StoredRun.from_json(history.resolve(run_a, out_path))
    b = StoredRun.from_json(history.resolve(run_b, out_path))
    if a.id == b.id:
        raise HarnessError("both arguments name the same run", "compare two different runs")
    comps = history.compare(a, b)
    regressed = history.regressions(comps)
    unjudged = [c.query for c in comps if c.verdict == "insufficient data"]
    if as_json:
        emit_json({"a": a.id, "b": b.id, "queries": [c.as_dict() for c in comps],
                   "regressed": [c.query for c in regressed], "insufficient_data": unjudged})
    else:
        def f(v: Any, fmt: str = "{:g}") -> str:
            return "—" if v is None else fmt.format(v)

        table(f"{a.system}: {a.id} → {b.id}",
              ["query", "p50 A", "p50 B", "p95 A", "p95 B", "p99 A", "p99 B", "p95 ×", "95% CI", "p (MWU)",
               "verdict"],
              [(c.query, f(c.p50_a), f(c.p50_b), f(c.p95_a), f(c.p95_b), f(c.p99_a), f(c.p99_b),
                f(c.ratio_p95, "{:.2f}"), f"{f(c.ci_low, '{:.2f}')}–{f(c.ci_high, '{:.2f}')}",
                f(c.p_value, "{:.2g}"), c.verdict) for c in comps])
        if regressed:
            note(f"{len(regressed)} significant regression(s)")
        if unjudged:
            note(f"insufficient data to judge: {', '.join(unjudged)} (fewer than {history.MIN_SAMPLES} samples)")
        if not regressed and not unjudged:
            note("no significant regression")
    if regressed or unjudged or not comps:
        sys.exit(EXIT_BREACH)
