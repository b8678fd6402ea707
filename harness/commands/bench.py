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


def parse_duration(value: str | None) -> float | None:
    if value is None:
        return None
    m = _DURATION.match(value.strip())
    if not m or float(m.group(1)) <= 0:
        raise HarnessError(f"bad --duration {value!r}", "use e.g. 30s, 2m, 1h")
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


@click.command(epilog=exit_codes("an SLA, index or regression breach"))
@click.argument("system_name", metavar="SYSTEM")
@click.option("--uri", envvar="MONGODB_URI", default=None, show_envvar=True,
              help="MongoDB URI; without it the embedded default server is used.")
@click.option("--db", "database", default=None, help="Database (default: the system's documented database).")
@click.option("--users", type=click.IntRange(1, 10_000), default=4, show_default=True, help="Locust users.")
@click.option("--think-time", default=None, help="Closed loop: wait between a user's requests, MIN,MAX seconds "
              "(default: the workload's).")
@click.option("--spawn-rate", type=float, default=0, help="Users started per second (default: all at once).")
@click.option("--duration", default=None, help="Run time, e.g. 30s or 2m (default 10s unless --requests).")
@click.option("--requests", "requests_", type=click.IntRange(1), default=None,
              help="Stop after this many critical requests.")
@click.option("--rate", default=None, help="Open loop: total intended requests per second, e.g. 200/s.")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Distributed: a Locust master here and this many local worker processes.")
@click.option("--workload", "workload", default=None, type=click.Path(dir_okay=False),
              help="Locustfile to run instead of workloads/SYSTEM.py.")
@click.option("--sla", "sla", multiple=True, help="Override an SLA: QUERY=MS or '*=MS' (repeatable).")
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
          spawn_rate: float,
          duration: str | None, requests_: int | None, rate: str | None, workers: int, workload: str | None,
          sla: tuple[str, ...], no_index_check: bool, out: str | None, baseline: str | None, metrics_port: int,
          no_metrics: bool, gateway: str | None, seed: int | None, as_json: bool) -> None:
    """Replay SYSTEM's critical queries with Locust and judge them against their SLAs.

    Exit 0 when every query passes, 1 on an SLA, index or regression breach, 2 on bad usage or
    broken infrastructure. Reports (JSON, HTML, JUnit XML) go to --out.
    """
    from gevent import monkey

    monkey.patch_all()  # before pymongo is imported: Locust runs users as greenlets
    from harness import reporting
    from harness.bench import history, metrics, report, session
    from harness.bench.runner import RunConfig, run
    from harness.options import server_from
    from harness.output import emit_json, note

    seconds = parse_duration(duration)
    if seconds is None and requests_ is None:
        seconds = 10.0
    rate_value = parse_rate(rate)
    out_path = reporting.out_dir(out)
    base = history.resolve(baseline, out_path) if baseline else None
    server = server_from(uri, quiet=as_json)
    db_name = database or _system_db(system_name)
    prep = session.prepare(server.uri, system_name, db_name, server.caps, workload, seed)
    session.apply_sla_overrides(prep.specs, list(sla))
    if think_time:
        prep.user_class.wait_time = parse_think_time(think_time)
    for name, reason in prep.skip.items():
        note(f"not run: {name} — {reason}")
    findings = None
    if not no_index_check:
        if server.caps.explain:
            findings = session.index_check(prep, server.caps)
        else:
            note(f"index check: {server.caps.server}'s explain output is not understood; every query reported "
                 "as unknown")
            findings = session.index_check(prep, server.caps)
    cfg = RunConfig(uri=server.uri, database=db_name, users=users, spawn_rate=spawn_rate, duration_s=seconds,
                    requests=requests_, rate=rate_value, workers=workers, seed=seed, skip=prep.skip,
                    workload_path=prep.path)
    collector_state: dict[str, Any] = {}
    metrics_server = None
    if not no_metrics:
        collector = metrics.BenchCollector(prep.system.name, prep.specs,
                                           lambda: collector_state["st"].recorder if "st" in collector_state
                                           else _empty())
        metrics_server, port = metrics.serve(metrics_port, collector)
        note(f"metrics: http://127.0.0.1:{port}/metrics")
    mode = f"open loop at {rate_value:g} req/s" if rate_value else "closed loop"
    limit = " and ".join(x for x in (f"{seconds:g}s" if seconds else "", f"{requests_} requests" if requests_
                                     else "") if x)
    spread = f"{workers} workers, " if workers else ""
    note(f"bench {prep.system.title}: {len(prep.specs)} critical queries, {users} users, {mode}, {spread}until {limit}")
    try:
        outcome = run(cfg, prep.user_class, on_state=lambda st: collector_state.__setitem__("st", st))
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
    verdict = session.judge(prep, outcome.recorder, findings)
    config = {"mode": cfg.mode, "rate": rate_value, "users": users, "spawn_rate": spawn_rate or users,
              "duration_s": seconds, "requests": requests_, "workers": workers, "runner": "harness",
              "seed": seed, "locust_requests": outcome.locust_requests, "locust_failures": outcome.locust_failures}
    record = session.build_record(prep, verdict, outcome.recorder, server.caps.server, server.caps.kind,
                                  server.uri, db_name, config, outcome.started_at, outcome.elapsed_s)
    if base is not None:
        comps = history.compare(base, record)
        regressed = history.regressions(comps)
        record["baseline"] = {"id": base["id"], "comparisons": [c.as_dict() for c in comps],
                              "regressed": [c.query for c in regressed]}
        for c in regressed:
            msg = (f"{c.query}: p95 regressed {c.p95_a:g} → {c.p95_b:g} ms (×{c.ratio_p95:.2f}, 95% CI "
                   f"×{c.ci_low:.2f}–×{c.ci_high:.2f}, Mann-Whitney p={c.p_value:.2g}) vs baseline {base['id']}")
            record["verdict"]["reasons"].append(msg)
        if regressed:
            record["verdict"]["status"], record["verdict"]["exit_code"] = "fail", EXIT_BREACH
    paths = report.write_all(record, out_path)
    history.save(record, out_path)
    metrics.push(gateway, prep.system.name, record)
    if as_json:
        emit_json({k: v for k, v in record.items() if k != "queries"} | {
            "queries": [{k: v for k, v in q.items() if k != "hdr"} for q in record["queries"]],
            "reports": {k: str(v) for k, v in paths.items()}})
    else:
        click.echo(f"{prep.system.title} — {record['verdict']['status'].upper()} ({mode}; * = assumed SLA)")
        click.echo(session.text_table(session.COLUMNS, session.rows(record)))
        v = record["verdict"]
        share = v["sla"]["share_under_sla"]
        note(f"under SLA: {share:.2%} of critical requests (target ≥ 95%)" if share is not None else
             "under SLA: no requests")
        if v["index"].get("checked") and v["index"].get("share") is not None:
            note(f"index check: {v['index']['using_index']} of {v['index']['queries_counted']} queries use an index "
                 f"(target > 90%)")
        for reason in v["reasons"]:
            note(f"breach: {reason}")
        note("reports: " + ", ".join(str(p) for p in paths.values()))
    sys.exit(record["verdict"]["exit_code"])


def parse_think_time(value: str) -> Any:
    from locust import between

    try:
        low, _, high = value.partition(",")
        lo, hi = float(low), float(high or low)
        if lo < 0 or hi < lo:
            raise ValueError
    except ValueError:
        raise HarnessError(f"bad --think-time {value!r}", "use MIN,MAX seconds, e.g. 0,0.01") from None
    return between(lo, hi)


def _empty() -> Any:
    from harness.bench.recorder import Recorder

    return Recorder()


def _system_db(name: str) -> str:
    from harness.spec import load_system

    return load_system(name).database


@click.command(epilog=exit_codes("run B regressed significantly"))
@click.argument("run_a")
@click.argument("run_b")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Report folder holding history/ (default ./reports).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def compare(run_a: str, run_b: str, out: str | None, as_json: bool) -> None:
    """Compare two bench runs query by query; exit 1 when B regressed significantly.

    RUN_A / RUN_B: a run JSON path, an id from reports/history, or latest[:SYSTEM].
    """
    from harness import reporting
    from harness.bench import history
    from harness.output import emit_json, note, table

    out_path = Path(out) if out else Path("reports")
    a, b = history.resolve(run_a, out_path), history.resolve(run_b, out_path)
    if a["id"] == b["id"]:
        raise HarnessError("both arguments name the same run", "compare two different runs")
    comps = history.compare(a, b)
    regressed = history.regressions(comps)
    if as_json:
        emit_json({"a": a["id"], "b": b["id"], "queries": [c.as_dict() for c in comps],
                   "regressed": [c.query for c in regressed]})
    else:
        def f(v: Any, fmt: str = "{:g}") -> str:
            return "—" if v is None else fmt.format(v)

        table(f"{a['system']}: {a['id']} → {b['id']}",
              ["query", "p50 A", "p50 B", "p95 A", "p95 B", "p99 A", "p99 B", "p95 ×", "95% CI", "p (MWU)",
               "verdict"],
              [(c.query, f(c.p50_a), f(c.p50_b), f(c.p95_a), f(c.p95_b), f(c.p99_a), f(c.p99_b),
                f(c.ratio_p95, "{:.2f}"), f"{f(c.ci_low, '{:.2f}')}–{f(c.ci_high, '{:.2f}')}",
                f(c.p_value, "{:.2g}"), c.verdict) for c in comps])
        note(f"{len(regressed)} significant regression(s)" if regressed else "no significant regression")
    _ = reporting
    if regressed:
        sys.exit(EXIT_BREACH)
