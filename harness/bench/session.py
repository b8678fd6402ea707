"""One bench session end to end: find the workload, sample parameters, check indexes, run,
judge, report, keep history, gate on a baseline, push metrics.

Shared by `harness bench` (in-process headless run) and by plain `locust -f workloads/x.py`
runs (the plugin calls `finish_cli` when the test stops).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import reporting
from harness.bench import history, report
from harness.bench.indexcheck import IndexFinding, check_query
from harness.bench.queries import Critical, criticals
from harness.bench.recorder import Recorder, encode
from harness.bench.user import MongoUser, Params, shared_client, unsupported
from harness.bench.verdict import RunVerdict, judge_query, judge_run
from harness.errors import HarnessError
from harness.redact import redact
from harness.servers.capabilities import Capabilities
from harness.spec import System, load_system

REPO = Path(__file__).resolve().parent.parent.parent


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


def load_workload(system: str, path: str | Path | None = None) -> tuple[type[MongoUser], Path]:
    """Import the locustfile and return its MongoUser subclass for `system`."""
    target = workload_path(system, path)
    name = f"harness_workload_{target.stem}"
    spec = importlib.util.spec_from_file_location(name, target)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(f"workload {target} failed to import: {type(exc).__name__}: {exc}") from exc
    classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, MongoUser)
               and v is not MongoUser and not v.__dict__.get("abstract", False) and v.__module__ == name]
    matching = [c for c in classes if c.system == system] or classes
    if len(matching) != 1:
        raise HarnessError(f"{target} must define exactly one MongoUser subclass for {system!r} "
                           f"(found {len(matching)})")
    return matching[0], target


def apply_sla_overrides(specs: list[Critical], overrides: list[str]) -> None:
    """`name=ms` or `*=ms` (every query)."""
    names = {s.name: s for s in specs}
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
        for spec in targets:
            spec.sla_ms, spec.sla_source = ms, "override"


@dataclass
class Prepared:
    system: System
    user_class: type[MongoUser]
    path: Path
    specs: list[Critical]
    params: Params
    skip: dict[str, str] = field(default_factory=dict)


def prepare(uri: str, system_name: str, database: str, caps: Capabilities, path: str | Path | None = None,
            seed: int | None = None) -> Prepared:
    system = load_system(system_name)
    user_class, target = load_workload(system_name, path)
    db = shared_client(uri)[database]
    params = user_class.shared_params(db, seed)
    specs = criticals(user_class)
    if not specs:
        raise HarnessError(f"{target} declares no @critical queries")
    skip = unsupported(specs, caps)
    skip.update(preflight(specs, params, skip))
    return Prepared(system, user_class, target, specs, params, skip)


NOT_IMPLEMENTED = (115, 168, 238, 31325, 40324)  # CommandNotSupported, InvalidPipelineOperator, NotImplemented…


def preflight(specs: list[Critical], params: Params, skip: dict[str, str]) -> dict[str, str]:
    """Run each query once: one the server does not implement (FerretDB's $group has no $avg)
    is reported as not run, with the server's words, instead of failing every request."""
    from pymongo.errors import OperationFailure

    from harness.bench.queries import as_ops, execute

    out = {}
    for spec in specs:
        if spec.name in skip:
            continue
        try:
            execute(params.db, as_ops(spec.build(None, params)))
        except OperationFailure as exc:
            if exc.code in NOT_IMPLEMENTED or "not implemented" in str(exc).lower():
                out[spec.name] = f"server does not implement it: {(exc.details or {}).get('errmsg', exc)}"[:200]
    return out


def index_check(prep: Prepared, caps: Capabilities) -> list[IndexFinding]:
    out = []
    for spec in prep.specs:
        reason = prep.skip.get(spec.name)
        ops = None if reason else spec.build(None, prep.params)
        out.append(check_query(prep.params.db, spec, ops, caps, prep.system, reason))
    return out


def judge(prep: Prepared, recorder: Recorder, findings: list[IndexFinding] | None) -> RunVerdict:
    by_name = {f.query: f for f in findings or []}
    verdicts = [judge_query(s, recorder.get(s.name), prep.skip.get(s.name), by_name.get(s.name))
                for s in prep.specs]
    return judge_run(verdicts, findings)


def build_record(prep: Prepared, verdict: RunVerdict, recorder: Recorder, server: str, server_kind: str,
                 uri: str, database: str, config: dict[str, Any], started_at: str, elapsed_s: float) -> dict[str, Any]:
    queries = []
    for v in verdict.queries:
        q = v.as_dict()
        stats = recorder.get(v.spec.name)
        q["collection_hint"] = v.spec.note
        q["hdr"] = {"service": encode(stats.service), "latency": encode(stats.latency)}
        queries.append(q)
    run_id = f"{reporting.stamp()}-{secrets.token_hex(2)}-{prep.system.name}"
    note = "" if server_kind == "mongodb" else (
        f"{server} is not MongoDB: its latencies and plans do not represent MongoDB's.")
    return {"schema": "sla-harness/bench-run/1", "id": run_id, "system": prep.system.name,
            "title": prep.system.title, "seed_doc": prep.system.seed_doc, "workload": str(prep.path),
            "server": server, "server_kind": server_kind, "server_note": note, "uri": redact(uri),
            "database": database, "data_as_of": prep.params.as_of.isoformat(), "config": config,
            "started_at": started_at, "elapsed_s": round(elapsed_s, 3),
            "verdict": verdict.as_dict(), "queries": queries}


def rows(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    def f(v: Any) -> str:
        return "—" if v is None else f"{v:.4g}"

    out = []
    for q in record["queries"]:
        lat = q["latency"]
        idx = q.get("index") or {}
        sla = f"{q['sla_ms']:g}" + ("*" if q["sla_source"] == "assumed" else "")
        out.append((q["name"], q["status"], q["count"], q["errors"], f(lat["p50_ms"]), f(lat["p95_ms"]),
                    f(lat["p99_ms"]), f(lat["max_ms"]), sla, idx.get("status", "—")))
    return out


def text_table(columns: list[str], body: list[tuple[Any, ...]]) -> str:
    """A plain fixed-width table: readable in CI logs at any terminal width."""
    cells = [list(map(str, columns))] + [[redact(str(c)) for c in row] for row in body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


COLUMNS = ["query", "verdict", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "SLA ms", "index"]


def finish_cli(environment: Any, st: Any) -> int:
    """Verdict for a plain `locust -f workloads/x.py` run (master or local)."""
    from harness.output import note
    from harness.servers.capabilities import probe

    classes = [c for c in environment.user_classes if issubclass(c, MongoUser)]
    if not classes:
        return 0
    user_class = classes[0]
    uri = environment.host
    database = user_class.database_name(environment)
    client = shared_client(uri)
    caps = probe(client)
    prep = prepare(uri, user_class.system, database, caps, Path(sys.modules[user_class.__module__].__file__ or ""))
    findings = index_check(prep, caps) if caps.explain else None
    verdict = judge(prep, st.recorder, findings)
    opts = environment.parsed_options
    config = {"mode": "open" if getattr(opts, "rate", 0) else "closed", "rate": getattr(opts, "rate", 0) or None,
              "users": getattr(opts, "num_users", None), "workers": None, "runner": "locust"}
    record = build_record(prep, verdict, st.recorder, caps.server, caps.kind, uri, database, config, "", 0.0)
    print(f"{prep.system.title}: {verdict.status.upper()}")
    print(text_table(COLUMNS, rows(record)))
    for reason in verdict.reasons:
        note(f"breach: {reason}")
    out = getattr(opts, "bench_out", None)
    if out:
        paths = report.write_all(record, reporting.out_dir(out))
        history.save(record, reporting.out_dir(out))
        note("reports: " + ", ".join(str(p) for p in paths.values()))
    return verdict.exit_code
