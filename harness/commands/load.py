"""`harness load`, `harness indexes`, `harness validate`, `harness systems`."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from harness import engines, schema
from harness import load as loader
from harness.errors import EXIT_BREACH, HarnessError
from harness.options import db_option, exit_codes, json_option, server_from, uri_option
from harness.output import emit_json, note, table
from harness.schema import sample_documents
from harness.spec import load_system

DEFAULT_AS_OF = "2026-11-01"


def _as_of(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise HarnessError(f"bad --as-of {value!r}", "use YYYY-MM-DD") from None


@click.command(epilog=exit_codes())
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@click.option("--preset", default=None, help="Named scale preset (see `harness systems`).")
@click.option("--scale", type=float, default=None, help="Numeric scale factor (multiplies the preset).")
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same data.")
@click.option("--as-of", default=DEFAULT_AS_OF, show_default=True,
              help="The data's end date: the generated history reaches back from this day "
                   "(purge's reference time is --now).")
@click.option("--drop", is_flag=True, help="Drop the target database first (only one the harness loaded, "
                                            "i.e. with a harness_meta record, unless --force).")
@click.option("--force", is_flag=True, help="With --drop: also drop a database the harness did not create.")
@click.option("--resume", is_flag=True, help="Finish an interrupted load with the same parameters.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Generator processes.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Documents per resumable batch; each is inserted in pipelined chunks of 500.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@json_option
def load(system_name: str, uri: str | None, database: str | None, preset: str | None, scale: float | None,
         seed: int, as_of: str, drop: bool, force: bool, resume: bool, workers: int | None, batch_size: int,
         no_progress: bool, as_json: bool) -> None:
    """Fill every documented collection of SYSTEM and create its documented indexes."""
    system = load_system(system_name)
    factor = system.resolve_scale(preset, scale)
    if drop and resume:
        raise HarnessError("--drop and --resume contradict each other", "choose one")
    if force and not drop:
        raise HarnessError("--force only applies with --drop", "add --drop, or leave out --force")
    engine = engines.select(system, uri)
    params = loader.LoadParams(system=system.name, database=database or system.database, seed=seed,
                               scale=factor, as_of=_as_of(as_of), batch_size=batch_size)
    if workers:
        params.workers = workers
    params.force_drop = force
    loader.check_scale(system, params, None)  # memory: before any server is started or reached
    target = engine.resolve(uri, database or system.database, False)
    server = getattr(target, "server", None)
    if server is not None and server.origin.startswith("embedded:"):
        from harness.servers import embedded

        state = embedded.read_state() or {}
        if state.get("data_dir"):
            loader.check_scale(system, params, Path(state["data_dir"]))
    counts = system.counts(factor)
    note(f"loading {system.title} into {params.database}: {sum(counts.values()):,} documents "
         f"(scale {factor:g}, seed {seed}, as of {as_of}, {params.workers} workers)")
    result = engine.loader.run(target, system, params, drop=drop, resume=resume,
                               progress=not no_progress and sys.stderr.isatty())
    if as_json:
        emit_json(result.as_dict())
        return
    rows = [(c.name, f"{c.expected:,}", f"{c.inserted:,}", f"{c.skipped:,}", f"{c.seconds:.1f}",
             f"{c.rate:,.0f}") for c in result.collections]
    rows.append(("total (wall clock)", f"{sum(counts.values()):,}", f"{result.documents:,}",
                 f"{sum(c.skipped for c in result.collections):,}", f"{result.seconds:.1f}",
                 f"{result.rate:,.0f}"))
    table(f"{system.title} → {params.database}", ["collection", "docs", "inserted", "already present",
                                                   "worker-seconds (s)", "docs/s per worker"], rows)
    exceptions = [s for s in result.indexes if s.status != "ok"]
    tally = Counter(s.status for s in result.indexes)
    note(f"indexes: {len(result.indexes)} documented — " + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())))
    if exceptions:
        _index_table(exceptions, "indexes this server does not keep exactly as documented")


def _index_table(statuses: list, title: str = "indexes") -> None:
    table(title, ["collection", "index", "status", "detail"],
          [(s.collection, s.index, s.status, s.detail) for s in statuses])


@click.command(epilog=exit_codes("index drift found by --check"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@click.option("--check", is_flag=True, help="Report drift between live and documented indexes; exit 1 on drift.")
@json_option
def indexes(system_name: str, uri: str | None, database: str | None, check: bool, as_json: bool) -> None:
    """Create (default) or --check the documented indexes of SYSTEM (on PostgreSQL: its tables,
    constraints and indexes, compared with pg_indexes/pg_constraint)."""
    system = load_system(system_name)
    engine = engines.select(system, uri)
    target = engine.resolve(uri, database or system.database, as_json)
    statuses = engine.indexes.check(target, system) if check else engine.indexes.create(target, system)
    drift = [s for s in statuses if s.is_drift]
    if as_json:
        emit_json({"system": system.name, "database": target.database, "server": target.label,
                   "drift": len(drift), "indexes": [vars(s) | {"drift": s.is_drift} for s in statuses]})
    else:
        _index_table(statuses)
        if check:
            tally = Counter(s.status for s in statuses)
            note(f"{len(drift)} drifted ({tally['missing']} missing, {tally['mismatch']} mismatched, "
                 f"{tally['extra']} extra); {tally['ok']} ok; limits of {target.label}: "
                 f"{tally['unsupported']} not honoured, {tally['degraded']} degraded, "
                 f"{tally['unverifiable']} not listed")
    if check and drift:
        sys.exit(EXIT_BREACH)


@click.command(epilog=exit_codes("documents that break the documented schema"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@click.option("--sample", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="Documents per collection, spread over the whole collection.")
@json_option
def validate(system_name: str, uri: str | None, database: str | None, sample: int, as_json: bool) -> None:
    """Check a sample of each collection against the documented fields, types and enums."""
    system = load_system(system_name)
    server = server_from(uri, quiet=as_json)
    db = server.client()[database or system.database]
    report = {}
    for coll in system.collections:
        problems: list[str] = []
        docs = sample_documents(db[coll.name], sample)
        if not docs:
            problems.append("collection is empty")
        for doc in docs:
            problems += [f"{doc.get('_id')}: {p}" for p in schema.check_document(doc, coll)]
        report[coll.name] = {"sampled": len(docs), "problems": problems[:20], "problem_count": len(problems)}
    bad = sum(r["problem_count"] for r in report.values())
    if as_json:
        emit_json({"system": system.name, "database": db.name, "collections": report, "problems": bad})
    else:
        table(f"schema check of {db.name}", ["collection", "sampled", "problems", "first problem"],
              [(k, v["sampled"], v["problem_count"], (v["problems"] or [""])[0]) for k, v in report.items()])
    if bad:
        sys.exit(EXIT_BREACH)


@click.command(epilog=exit_codes())
@json_option
def systems(as_json: bool) -> None:
    """List every discovered system (systems path, then built in): collections, presets, origin."""
    from harness.systems import discover

    out = []
    for name, src in discover().items():
        s = load_system(name)
        out.append({"name": name, "title": s.title, "seed": s.seed_doc, "database": s.database,
                    "collections": len(s.collections), "indexes": sum(len(c.indexes) for c in s.collections),
                    "origin": src.origin, "fixture": str(src.fixture),
                    "workload": str(src.workload) if src.workload else None, "shadows": list(src.shadows),
                    "presets": {k: {"scale": p.scale, "documents": sum(s.counts(p.scale).values()),
                                    "description": p.description} for k, p in s.presets.items()}})
    if as_json:
        emit_json({"schema_version": 1, "systems": out})
        return
    table("systems (documents per preset: harness systems --json)",
          ["system", "seed", "colls", "indexes", "workload", "from", "default docs"],
          [(o["name"], o["seed"].split()[0], o["collections"], o["indexes"], "yes" if o["workload"] else "no",
            o["origin"], f"{o['presets'].get('default', {}).get('documents', 0):,}") for o in out])
    for o in out:
        if o["shadows"]:
            note(f"{o['name']} from {o['origin']} hides the one in {', '.join(o['shadows'])}")
