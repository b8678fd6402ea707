"""The harness's Locust plugin: options, HDR recording, worker→master merging, verdict at exit.

Registered on Locust's global events when a workload file builds its Locust user
(`WORKLOAD.locust_user()`, which only happens when Locust is running it), so a plain
`locust -f workloads/x.py` (UI, headless, master/worker) records microsecond histograms
and prints the SLA verdict too. `harness bench` attaches the same state to its own in-process
Environment with `attach(env, cli=False)` and renders the verdict itself.

Distributed: each worker adds its histogram delta to Locust's periodic `report_to_master`
payload and sends its final delta in a custom `harness_hdr` message when it stops; the master
merges both into one Recorder (HDR histograms add exactly).
"""

from __future__ import annotations

import logging
from typing import Any

from locust import constant, events
from locust.runners import MasterRunner, WorkerRunner

from harness.bench.recorder import Recorder

log = logging.getLogger("harness.bench")
FINAL_MESSAGE = "harness_hdr"
REPORT_KEY = "harness_hdr"


class BenchState:
    """What the plugin keeps per Locust Environment."""

    def __init__(self, environment: Any, cli: bool) -> None:
        self.environment = environment
        self.cli = cli
        self.recorder = Recorder()
        self.final_from: set[str] = set()

    # every process that runs users records locally
    def on_request(self, request_type: str, name: str, response_time: float, response_length: int,
                   exception: BaseException | None = None, context: dict[str, Any] | None = None,
                   **_: Any) -> None:
        if not context or not context.get("harness") or not self.recorder.recording:
            return
        stats = self.recorder.get(name)
        if exception is not None:
            stats.error(f"{type(exception).__name__}: {exception}"[:300])
        else:
            stats.record(context["service_us"], context["latency_us"], response_length)

    # worker side
    def on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[REPORT_KEY] = self.recorder.take_delta()

    def on_worker_stop(self, environment: Any, **_: Any) -> None:
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.send_message(FINAL_MESSAGE, {"client_id": runner.client_id, "hdr": self.recorder.take_delta()})

    # master side
    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        self.recorder.merge_encoded(data.get(REPORT_KEY) or {})

    def on_final(self, environment: Any, msg: Any, **_: Any) -> None:
        self.recorder.merge_encoded(msg.data.get("hdr") or {})
        self.final_from.add(msg.data.get("client_id") or msg.node_id)


def state(environment: Any) -> BenchState | None:
    return getattr(environment, "harness_bench", None)


def attach(environment: Any, cli: bool = True) -> BenchState:
    """Attach recording (and, on master/worker runners, merging) to `environment`. Call it
    after the runner exists. Idempotent."""
    existing = state(environment)
    if existing is not None:
        return existing
    st = BenchState(environment, cli)
    environment.harness_bench = st
    ev = environment.events
    ev.request.add_listener(st.on_request)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        ev.report_to_master.add_listener(st.on_report_to_master)
        ev.test_stop.add_listener(st.on_worker_stop)
    elif isinstance(runner, MasterRunner):
        ev.worker_report.add_listener(st.on_worker_report)
        runner.register_message(FINAL_MESSAGE, st.on_final)
    _open_loop(environment, runner)
    if cli and not isinstance(runner, WorkerRunner):
        ev.test_stop.add_listener(_cli_verdict)
    return st


def _open_loop(environment: Any, runner: Any) -> None:
    """`--rate N`: per-user pacing (forwarded to workers as `user_rate`), no think time."""
    opts = environment.parsed_options
    if opts is None or isinstance(runner, WorkerRunner):
        return
    rate = float(getattr(opts, "rate", 0) or 0)
    users = int(getattr(opts, "num_users", 0) or 0)
    if rate > 0 and users > 0 and not getattr(opts, "user_rate", 0):
        opts.user_rate = rate / users
    if getattr(opts, "user_rate", 0):
        for cls in environment.user_classes:
            cls.wait_time = constant(0)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("SLA harness")
    group.add_argument("--rate", type=float, default=0.0,
                       help="Open loop: total intended requests per second (latency from the intended start).")
    group.add_argument("--mongo-db", default=None, help="Database (default: the system's documented database).")
    group.add_argument("--bench-out", default=None, help="Write the harness's JSON/HTML/JUnit reports here.")
    group.add_argument("--bench-seed", type=int, default=None, help="Seed for parameter sampling.")
    group.add_argument("--warmup", type=int, default=10,
                       help="Untimed runs of each operation per process before timing starts.")
    group.add_argument("--allow-writes", action="store_true", default=False,
                       help="Let write operations run on a database `harness load` did not generate.")
    # internal: forwarded from the master to its workers, hidden from the web UI's form
    parser.add_argument("--user-rate", type=float, default=0.0, include_in_web_ui=False,
                        help="(internal) requests per second per user.")
    parser.add_argument("--bench-skip", default=None, include_in_web_ui=False,
                        help="(internal) queries this server cannot run.")


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    attach(environment, cli=True)
    web = getattr(environment, "web_ui", None)
    if web is not None and not isinstance(environment.runner, WorkerRunner):
        _web_pages(environment, web)


def live_verdicts(environment: Any) -> list[dict[str, Any]]:
    """Each operation's SLA and live verdict (the one verdict function on what is recorded)."""
    from harness.bench.verdict import judge_query

    st = state(environment)
    out = []
    for cls in environment.user_classes:
        workload = getattr(cls, "workload", None)
        if workload is None or st is None:
            continue
        for op in workload.operations:
            q = judge_query(op, [], st.recorder.get(op.name), None, None, live=True)
            out.append({"operation": op.name, "writes": op.writes, "sla_ms": op.sla_ms, "sla_source": op.sla_source,
                        "count": q.count, "errors": q.errors, "empty": q.empty, "p95_ms": q.latency.p95_ms,
                        "verdict": q.status, "reason": q.reason})
    return out


def _web_pages(environment: Any, web: Any) -> None:
    """`/harness` (HTML) and `/harness.json` on Locust's web UI: SLA and live verdict per operation."""
    import html

    @web.app.route("/harness.json")
    def harness_json() -> Any:
        from flask import jsonify

        return jsonify(live_verdicts(environment))

    def row(v: dict[str, Any]) -> str:
        p95 = "—" if v["p95_ms"] is None else f"{v['p95_ms']:g}"
        cells = [v["operation"] + (" (writes)" if v["writes"] else ""), f"{v['sla_ms']:g} ms ({v['sla_source']})",
                 str(v["count"]), p95, v["verdict"], v["reason"]]
        return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"

    @web.app.route("/harness")
    def harness_page() -> str:
        rows = "".join(row(v) for v in live_verdicts(environment))
        return ("<!doctype html><meta http-equiv='refresh' content='3'><title>SLA harness</title>"
                "<h1>SLA harness: live verdict per operation</h1><table border=1 cellpadding=4>"
                "<tr><th>operation</th><th>SLA (p95)</th><th>count</th><th>p95 ms</th><th>verdict</th>"
                f"<th>why</th></tr>{rows}</table>")


def _cli_verdict(environment: Any, **_: Any) -> None:
    """Under plain Locust: print the verdict (and write reports with --bench-out); the verdict
    decides Locust's exit code."""
    st = state(environment)
    if st is None or not st.cli:
        return
    from harness import reporting
    from harness.bench import history, report
    from harness.bench.pipeline import finish_locust

    try:
        record = finish_locust(environment, st.recorder)
        if record is None:
            return
        print(report.terminal(record))
        out = getattr(environment.parsed_options, "bench_out", None)
        if out:
            paths = report.write_all(record, reporting.out_dir(out))
            history.save(record, reporting.out_dir(out))
            print("reports: " + ", ".join(str(p) for p in paths.values()))
        environment.process_exit_code = record.verdict.exit_code
    except Exception as exc:  # never lose Locust's own shutdown over a report problem
        log.error("harness verdict failed: %s", exc)
        environment.process_exit_code = 2
