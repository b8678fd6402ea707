"""`harness purge SYSTEM`: apply the system's retention rules (dry run unless --execute)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import click
from pymongo.database import Database

from harness import purge as purging
from harness import pushgateway
from harness.errors import HarnessError
from harness.options import db_option, exit_codes, json_option, out_option, pushgateway_option, server_from, uri_option
from harness.output import Progress, emit_json, note, table
from harness.reporting import out_dir, stamp, write_json
from harness.spec import System, load_system


def parse_now(value: str | None) -> datetime:
    """YYYY-MM-DD or an ISO-8601 time, read as UTC; default now. Naive UTC, like stored dates."""
    if not value:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HarnessError(f"bad --now {value!r}", "use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)") from None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


CLOCK_SKEW = timedelta(minutes=5)


def refuse_future(system: System, when: datetime, raw: str | None) -> None:
    """A reference time in the future moves every cutoff forward: data still inside its
    retention would go. Named with what it would remove."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if when <= now + CLOCK_SKEW:
        return
    rules = [r for r in system.retention if r.purges]
    doomed = "; ".join(f"{r.collection}: {r.name} ({r.action} older than {purging.cutoff(r, when):%Y-%m-%d})"
                       for r in rules)
    raise HarnessError(f"refusing --now {raw}: it lies in the future (now {now:%Y-%m-%d %H:%M} UTC), so the purge "
                       f"would remove data still inside its retention — {doomed}",
                       "use a time up to now (the default), or a dry run to forecast")


def require_collections(db: Database, system: System) -> None:
    """Purging a database that is not the system's (a wrong --db) must fail before any write."""
    names = set(db.list_collection_names())
    wanted: list[str] = []
    for r in system.retention:
        if r.purges:
            wanted += [r.collection, *(child for child, _, _ in r.cascade)]
    missing = sorted(set(wanted) - names)
    if missing:
        have = ", ".join(sorted(n for n in names if not n.startswith("system."))[:6]) or "nothing"
        raise HarnessError(f"database {db.name} lacks {system.name}'s collections {', '.join(missing)} "
                           f"(it holds {have}): it is not a {system.name} database, nothing was touched",
                           "check --db / --uri")


@click.command(epilog=exit_codes("documents past a cutoff remain after --execute (the harness's own count)"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@click.option("--now", default=None,
              help="Reference time (UTC; default the real now): each rule's cutoff is this minus its "
                   "retention. Not load's --as-of, which is the data's end date.")
@click.option("--execute", is_flag=True, help="Really delete/modify (default: dry run, nothing changes).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--max-ops", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Throttle: at most this many documents per second.")
@click.option("--max-latency-ms", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Latency guard: back off while a batch write takes longer than this.")
@click.option("--archive-to", default=None, help="Copy everything removed to this store first (s3://bucket/prefix "
                                                 "or a directory), gzip'd BSON.")
@click.option("--archive-storage-class", default="GLACIER", show_default=True,
              help="S3 storage class of archived data (cold storage).")
@click.option("--s3-endpoint", default=None, envvar="AWS_ENDPOINT_URL_S3", help="S3-compatible endpoint URL.")
@click.option("--sse", type=click.Choice(["AES256", "aws:kms"]), default=None, help="S3 server-side encryption.")
@out_option
@pushgateway_option
@json_option
def purge(system_name: str, uri: str | None, database: str | None, now: str | None, execute: bool,
          batch_size: int, max_ops: float | None, max_latency_ms: float | None, archive_to: str | None,
          archive_storage_class: str, s3_endpoint: str | None, sse: str | None, out: str | None,
          gateway: str | None, as_json: bool) -> None:
    """Apply SYSTEM's retention rules; a dry run (the default) says what each rule would remove.
    --execute applies them, then counts what is left past each cutoff and fails if anything is.
    Refused: a reference time in the future with --execute; a database without the system's
    collections.

    With --pushgateway (or PUSHGATEWAY_URL) an --execute run pushes its counts per rule; a dry run
    pushes nothing."""
    system = load_system(system_name)
    when = parse_now(now)
    future = when > datetime.now(UTC).replace(tzinfo=None) + CLOCK_SKEW
    if execute:
        refuse_future(system, when, now)
    if not system.retention:
        msg = system.retention_note or "the seed documents no retention policy"
        if as_json:
            emit_json({"system": system.name, "rules": [], "note": msg}, "purge")
        else:
            note(f"{system.title}: {msg}; nothing to purge")
        return
    archiver = None
    if archive_to:
        from harness.backup.store import S3Options, open_store

        store = open_store(archive_to, S3Options(endpoint_url=s3_endpoint, sse=sse))
        store.check()
        archiver = purging.Archiver(store, system.name, when, archive_storage_class)
    server = server_from(uri, quiet=as_json)
    db = server.client()[database or system.database]
    if db.name not in server.client().list_database_names():
        raise HarnessError(f"database {db.name} does not exist on {server.caps.server}",
                           "check --db / --uri")
    require_collections(db, system)
    arrays = purging.array_support(server.caps) if any(r.action == "pull" for r in system.retention) else None
    throttle = purging.Throttle(max_ops, max_latency_ms)
    url = pushgateway.gateway_url(gateway) if execute else None  # a dry run changes nothing: nothing to report
    if not execute and pushgateway.gateway_url(gateway) and not as_json:
        note("metrics: a dry run pushes nothing (only --execute runs do)")
    t0 = time.perf_counter()
    try:
        with Progress(f"purge {db.name}" + ("" if execute else " (dry run)"), unit="documents") as progress:
            results = purging.run(db, system, when, execute, batch_size=batch_size, throttle=throttle,
                                  archiver=archiver, arrays=arrays, progress=progress)
    except HarnessError:
        pushgateway.push(url, pushgateway.Outcome("purge", system.name, False, time.perf_counter() - t0))
        raise
    except KeyboardInterrupt:
        pushgateway.push(url, pushgateway.Outcome("purge", system.name, False, time.perf_counter() - t0))
        raise HarnessError(f"purge of {db.name} interrupted", "rerun the same command (same --now) to finish; "
                                                               "finished batches stay done") from None
    pushgateway.push(url, _outcome(system.name, results, time.perf_counter() - t0))
    notes = arrays.notes(server.caps.server) if arrays else []
    if future:
        notes.append(f"--now {now} lies in the future: this dry run is a forecast; --execute refuses it")
    report = {"schema": "sla-harness/purge/1", "system": system.name, "database": db.name, "server": server.caps.server,
              "now": when.isoformat() + "Z", "mode": "execute" if execute else "dry-run",
              "rules": [r.as_dict() for r in results], "notes": notes,
              "throttle": {"max_ops": max_ops, "max_latency_ms": max_latency_ms, "backoffs": throttle.backoffs,
                           "slept_seconds": round(throttle.slept, 3)},
              "archive": {"store": archiver.store.url, "objects": archiver.objects,
                          "documents": archiver.documents} if archiver else None}
    path = write_json(out_dir(out) / f"purge-{system.name}-{stamp()}.json", report)
    if as_json:
        emit_json(report)
        return
    verb = "removed/changed" if execute else "would remove/change"
    table(f"purge {system.title} ({db.name}) as of {when:%Y-%m-%d %H:%M} UTC — "
          f"{'EXECUTE' if execute else 'dry run'}",
          ["rule", "collection", "action", "cutoff", f"docs {verb}", "elements", "cascade"],
          [(r.name, r.collection, r.action, f"{r.cutoff:%Y-%m-%d}" if r.cutoff else "—",
            f"{r.documents:,}" if r.cutoff else r.note, f"{r.elements:,}" if r.action == "pull" else "",
            ", ".join(f"{k}: {v:,}" for k, v in r.cascaded.items())) for r in results])
    for line in notes:
        note(f"note: {line}")
    if not execute:
        note("dry run: nothing changed; rerun with --execute to apply")
    if archiver:
        note(f"archived {archiver.documents:,} document(s) in {archiver.objects} object(s) to {archiver.store.url}")
    note(f"report: {path}")


def _outcome(system: str, results: list[purging.RuleResult], seconds: float) -> pushgateway.Outcome:
    """An executed purge's counts per rule, for the Pushgateway."""
    done = pushgateway.Outcome("purge", system, True, seconds)
    for r in results:
        if r.cutoff is None:  # kept indefinitely or manual: nothing to count
            continue
        done.add("documents", "Documents deleted or changed by the last executed purge, per rule", r.documents,
                 rule=r.name, collection=r.collection, action=r.action)
        done.add("elements", "Array elements pulled by the last executed purge, per rule", r.elements,
                 rule=r.name, collection=r.collection, action=r.action)
        for child, n in r.cascaded.items():
            done.add("cascaded_documents", "Documents deleted with their parent by the last executed purge",
                     n, rule=r.name, collection=child)
    return done
