"""`harness backup SYSTEM|list|prune` and `harness restore-verify`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from harness import pushgateway
from harness.backup import catalog, dump, rotation, toolchain
from harness.backup import restore as restoring
from harness.backup.store import S3Options, Store, open_store
from harness.backup.toolconfig import sweep_stale
from harness.errors import EXIT_BREACH, HarnessError
from harness.options import db_option, exit_codes, json_option, out_option, pushgateway_option, server_from, uri_option
from harness.output import Progress, emit_json, note, table
from harness.reporting import out_dir, stamp, write_html, write_json
from harness.servers import connect
from harness.spec import load_system


def store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where backups live, and how S3 objects are written."""
    fn = click.option("--storage-class", default=None, envvar="HARNESS_BACKUP_STORAGE_CLASS",
                      help="S3 storage class for archives (e.g. STANDARD_IA, GLACIER_IR).")(fn)
    fn = click.option("--sse-kms-key-id", default=None, help="KMS key for --sse aws:kms.")(fn)
    fn = click.option("--sse", type=click.Choice(["AES256", "aws:kms"]), default=None,
                      envvar="HARNESS_BACKUP_SSE", help="S3 server-side encryption.")(fn)
    fn = click.option("--s3-endpoint", default=None, envvar="AWS_ENDPOINT_URL_S3",
                      help="S3-compatible endpoint URL (default: AWS; AWS_ENDPOINT_URL also works).")(fn)
    fn = click.option("--store", "--to", "--from", "store_url", default="backups", show_default=True,
                      envvar="HARNESS_BACKUP_STORE", show_envvar=True,
                      help="Local directory or s3://bucket/prefix.")(fn)
    return fn


def make_store(store_url: str, s3_endpoint: str | None, sse: str | None, sse_kms_key_id: str | None,
               storage_class: str | None) -> Store:
    if sse_kms_key_id and sse != "aws:kms":
        raise HarnessError("--sse-kms-key-id needs --sse aws:kms")
    sweep_stale()  # tool configs a killed run of an earlier version left behind
    return open_store(store_url, S3Options(endpoint_url=s3_endpoint, sse=sse, kms_key_id=sse_kms_key_id,
                                           storage_class=storage_class))


class BackupGroup(click.Group):
    """`harness backup SYSTEM ...` runs a backup; `list` and `prune` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("harness backup", "SYSTEM [OPTIONS] | list [OPTIONS] | prune [OPTIONS]")


@click.group(cls=BackupGroup, epilog=exit_codes("a damaged backup or a verification mismatch"))
def backup() -> None:
    """Back up a system with mongodump (`harness backup SYSTEM`), list backups, prune them (GFS)."""


@backup.command("run", epilog=exit_codes("the dump stream was truncated or malformed (nothing marked good)"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@store_options
@click.option("--oplog/--no-oplog", default=None,
              help="Point-in-time dump with the oplog (default: on when the server is a replica set).")
@pushgateway_option
@json_option
def run(system_name: str, uri: str | None, database: str | None, store_url: str, s3_endpoint: str | None,
        sse: str | None, sse_kms_key_id: str | None, storage_class: str | None, oplog: bool | None,
        gateway: str | None, as_json: bool) -> None:
    """Dump SYSTEM's database (mongodump --archive --gzip) into the store, manifest last."""
    system = load_system(system_name)
    store = make_store(store_url, s3_endpoint, sse, sse_kms_key_id, storage_class)
    toolchain.require("mongodump")  # before connecting: a missing tool is the only line printed
    server = server_from(uri, quiet=as_json)
    t0 = time.perf_counter()
    try:
        with Progress(f"backup {system.name}", unit="bytes") as progress:
            manifest = dump.run(server, system, store, database, oplog, progress=progress.advance,
                                on_collection=progress.event)
    except HarnessError:
        pushgateway.push(pushgateway.gateway_url(gateway), pushgateway.Outcome(
            "backup", system.name, False, time.perf_counter() - t0))
        raise
    done = pushgateway.Outcome("backup", system.name, True, manifest.duration_seconds)
    done.add("size_bytes", "Size of the last backup archive (gzip)", manifest.archive.bytes)
    done.add("documents", "Documents in the last backup", manifest.documents)
    pushgateway.push(pushgateway.gateway_url(gateway), done)
    if as_json:
        emit_json({"id": manifest.id, "store": store.url, "manifest": manifest.as_dict()}, "backup")
        return
    rate = manifest.archive.bytes / manifest.duration_seconds / 1e6 if manifest.duration_seconds else 0.0
    table(f"backup {manifest.id} → {store.url}", ["collection", "docs", "checksum", "indexes"],
          [(k, f"{v.count:,}", v.checksum[:16], len(v.indexes)) for k, v in manifest.collections.items()])
    note(f"archive {manifest.archive.bytes:,} bytes (gzip) in {manifest.duration_seconds:.2f}s "
         f"({rate:.1f} MB/s), sha256 {manifest.archive.sha256[:16]}…; manifest written last")
    note(f"consistency: {manifest.consistency}")


def _rows(entries: list[catalog.Entry], keep: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        m = e.manifest
        out.append({"id": e.id, "system": e.system, "state": e.state,
                    "started": e.started.isoformat() if e.started else None,
                    "bytes": m.archive.bytes if m else None, "documents": m.documents if m else None,
                    "server": m.source.server if m else None, "problem": e.problem,
                    "keep": (keep or {}).get(e.id, [])})
    return out


@backup.command("list", epilog=exit_codes("a damaged backup is in the list"))
@store_options
@click.option("--system", "system_name", default=None, help="Only this system's backups.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Also write backups.html into this report folder.")
@json_option
def list_(store_url: str, s3_endpoint: str | None, sse: str | None, sse_kms_key_id: str | None,
          storage_class: str | None, system_name: str | None, out: str | None, as_json: bool) -> None:
    """List backups, newest first: complete ones are restorable; incomplete and damaged ones are not
    (a damaged one is listed with the reason, and the others still work)."""
    store = make_store(store_url, s3_endpoint, sse, sse_kms_key_id, storage_class)
    store.require_existing()
    rows = _rows(catalog.entries(store, system_name))
    damaged = [r for r in rows if r["state"] == "damaged"]
    if out:
        page = write_html(out_dir(out) / "backups.html", "backup_list.html.j2", title="Backups", store=store.url,
                          policy="", backups=rows)
        note(f"report: {page}")
    if as_json:
        emit_json({"store": store.url, "backups": rows}, "backup-list")
    else:
        table(f"backups in {store.url}", ["backup", "state", "started (UTC)", "bytes", "docs", "server / problem"],
              [(r["id"], r["state"], r["started"] or "", f"{r['bytes']:,}" if r["bytes"] is not None else "",
                f"{r['documents']:,}" if r["documents"] is not None else "", r["problem"] or r["server"] or "")
               for r in rows])
        if not rows:
            note(f"no backups in {store.url}")
    if damaged:
        for r in damaged:
            click.echo(f"damaged: {r['system']}/{r['id']}: {r['problem']}", err=True)
        sys.exit(EXIT_BREACH)


@backup.command("prune", epilog=exit_codes())
@store_options
@click.option("--system", "system_name", default=None, help="Only this system (default: every system in the store).")
@click.option("--keep-last", type=click.IntRange(0), default=0, show_default=True)
@click.option("--keep-daily", type=click.IntRange(0), default=None,
              help="Default: the system's documented policy (masterx: seed 004's 30 daily / 12 monthly / 5 yearly).")
@click.option("--keep-weekly", type=click.IntRange(0), default=0, show_default=True)
@click.option("--keep-monthly", type=click.IntRange(0), default=None,
              help="Default: the system's documented policy (masterx: seed 004's 30 daily / 12 monthly / 5 yearly).")
@click.option("--keep-yearly", type=click.IntRange(0), default=None,
              help="Default: the system's documented policy (masterx: seed 004's 30 daily / 12 monthly / 5 yearly).")
@click.option("--incomplete-grace-hours", type=click.FloatRange(0), default=24.0, show_default=True,
              help="Delete incomplete backups (no manifest) older than this; younger ones may still be running.")
@click.option("--execute", is_flag=True, help="Really delete (default: dry run, shows the plan, nothing changes).")
@json_option
def prune(store_url: str, s3_endpoint: str | None, sse: str | None, sse_kms_key_id: str | None,
          storage_class: str | None, system_name: str | None, keep_last: int, keep_daily: int | None,
          keep_weekly: int, keep_monthly: int | None, keep_yearly: int | None, incomplete_grace_hours: float,
          execute: bool, as_json: bool) -> None:
    """Forget backups outside the GFS policy (seed 004: 30 daily, 12 monthly, 5 yearly).
    A dry run unless --execute (like `harness purge`): the plan is shown either way. The newest
    complete backup is always kept; damaged backups are reported, never deleted or counted."""
    dry_run = not execute
    store = make_store(store_url, s3_endpoint, sse, sse_kms_key_id, storage_class)
    store.require_existing()
    explicit = None not in (keep_daily, keep_monthly, keep_yearly)
    if not explicit and any(k is not None for k in (keep_daily, keep_monthly, keep_yearly)):
        raise HarnessError("give all of --keep-daily, --keep-monthly and --keep-yearly, or none of them",
                           "with none, each system's documented policy applies")

    def policy_for(name: str) -> rotation.Policy | None:
        if explicit:
            return rotation.Policy(daily=keep_daily, monthly=keep_monthly, yearly=keep_yearly, weekly=keep_weekly,
                                   last=keep_last)
        documented = _documented_policy(name)
        if documented is None:
            return None
        return rotation.Policy(daily=documented.keep_daily, monthly=documented.keep_monthly,
                               yearly=documented.keep_yearly, weekly=keep_weekly, last=keep_last)

    entries = catalog.entries(store, system_name)
    policies = {name: policy_for(name) for name in {e.system for e in entries}}
    unpolicied = sorted(n for n, p in policies.items() if p is None)
    if unpolicied:
        note(f"no rotation policy documented for {', '.join(unpolicied)}: their backups are kept "
             "(pass --keep-daily/--keep-monthly/--keep-yearly to prune them)")
    now = datetime.now(UTC)
    keep: dict[str, list[str]] = {}
    doomed: list[catalog.Entry] = []
    for sys_name in sorted({e.system for e in entries}):
        mine = [e for e in entries if e.system == sys_name]
        good = [e for e in mine if e.complete]
        policy = policies[sys_name]
        if policy is None:
            keep.update({e.id: ["no documented rotation policy"] for e in good})
            continue
        plan = rotation.plan([(e.id, e.started) for e in good if e.started], policy)
        keep.update({k: v for k, v in plan.items() if v})
        doomed += [e for e in good if not plan.get(e.id)]
        for e in mine:
            if e.state == "incomplete":
                old = e.started is None or now - e.started > timedelta(hours=incomplete_grace_hours)
                if old:
                    doomed.append(e)
                else:
                    keep[e.id] = ["incomplete, within the grace period (may be running)"]
            elif e.state == "damaged":
                keep[e.id] = ["damaged: kept for investigation"]
    if not dry_run:
        for e in doomed:
            store.delete_prefix(e.prefix + "/")
    rows = _rows(entries, keep)
    gone = {e.id for e in doomed}
    for r in rows:
        r["action"] = ("would delete" if dry_run else "deleted") if r["id"] in gone else "keep"
    if as_json:
        emit_json({"store": store.url, "policies": {k: vars(v) if v else None for k, v in policies.items()},
                   "dry_run": dry_run, "backups": rows,
                   "deleted": [] if dry_run else sorted(gone), "would_delete": sorted(gone) if dry_run else []},
                  "backup-prune")
        return
    described = "; ".join(f"{k}: {v.describe() if v else 'no policy'}" for k, v in sorted(policies.items()))
    table(f"prune {store.url} ({described}){' — dry run' if dry_run else ''}",
          ["backup", "state", "started (UTC)", "action", "why kept"],
          [(r["id"], r["state"], r["started"] or "", r["action"], ", ".join(r["keep"])) for r in rows])
    note(f"{len(gone)} backup(s) {'would be ' if dry_run else ''}deleted, {len(rows) - len(gone)} kept")
    if dry_run and gone:
        note("dry run: nothing deleted; rerun with --execute to delete")


@click.command("restore-verify", epilog=exit_codes(
    "the restored data does not match its manifest, the restore missed the RTO, or newer backups are damaged"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@store_options
@click.option("--backup", "backup_id", default=None, help="A backup id (default: the newest).")
@click.option("--target-uri", default=None, help="Restore into this (scratch) server instead of the source server.")
@click.option("--target-db", default=None, help=f"Scratch database (default: {restoring.SCRATCH_PREFIX}<db>).")
@click.option("--force", is_flag=True, help="Allow restoring over a database that is not scratch.")
@click.option("--keep", is_flag=True, help="Keep the scratch database afterwards (for inspection).")
@click.option("--rto-seconds", type=click.FloatRange(min=1), default=None,
              help="Recovery time objective. Default: the system's documented RTO (masterx: seed 004's 15 minutes), "
                   "else 15 minutes.")
@out_option
@pushgateway_option
@json_option
def restore_verify(  # noqa: C901 - one linear script
system_name: str, uri: str | None, store_url: str, s3_endpoint: str | None, sse: str | None,
                   sse_kms_key_id: str | None, storage_class: str | None, backup_id: str | None,
                   target_uri: str | None, target_db: str | None, force: bool, keep: bool, rto_seconds: float | None,
                   out: str | None, gateway: str | None, as_json: bool) -> None:
    """Restore a backup into a scratch database, verify it against its manifest, time it against the RTO."""
    system = load_system(system_name)
    if rto_seconds is None:
        documented = system.backup.rto_seconds if system.backup else None
        rto_seconds = documented or restoring.RTO_SECONDS
    store = make_store(store_url, s3_endpoint, sse, sse_kms_key_id, storage_class)
    url = pushgateway.gateway_url(gateway)
    t0 = time.perf_counter()
    try:
        toolchain.require("mongorestore")
        store.require_existing()
        entry, newer_damaged = catalog.pick(store, system.name, backup_id)
        source = server_from(uri, quiet=as_json)
        target = connect(target_uri, "uri") if target_uri else source
        outcome = restoring.restore_verify(system, store, entry, source, target, target_db, force, keep, rto_seconds)
        for e in newer_damaged:
            outcome.problems.append(f"newer backup {e.id} is damaged ({e.problem}); verified the newest complete "
                                    f"one, {entry.id}, instead")
    except HarnessError:
        pushgateway.push(url, pushgateway.Outcome("restore_verify", system.name, False, time.perf_counter() - t0))
        raise
    data = {"schema": "sla-harness/restore-verify/1", **outcome.as_dict()}
    directory = out_dir(out)
    base = directory / f"restore-verify-{system.name}-{stamp()}"
    write_json(base.with_suffix(".json"), data)
    write_html(base.with_suffix(".html"), "restore_verify.html.j2", title=f"Restore verification: {system.title}",
               r=data)
    pushed = pushgateway.Outcome("restore_verify", system.name, outcome.ok, outcome.total_seconds)
    pushed.add("restore_duration_seconds", "mongorestore wall time of the last restore (compare with the RTO)",
               outcome.restore_seconds)
    pushed.add("rto_seconds", "Recovery time objective the last restore was judged against", rto_seconds)
    pushed.add("documents", "Documents restored by the last verification", float(outcome.restored or 0))
    pushgateway.push(url, pushed)
    if as_json:
        emit_json(data)
    else:
        bad = [c for c in outcome.checks if not c.ok]
        table(f"restore-verify {system.name}: backup {outcome.backup} → {outcome.target_db}",
              ["collection", "check", "expected", "actual", "result"],
              [(c.collection, c.what, c.expected, c.actual, "ok" if c.ok else "MISMATCH")
               for c in (bad or outcome.checks)])
        note(f"restored {outcome.restored} document(s), {outcome.failed} failed, in {outcome.restore_seconds:.1f}s "
             f"(RTO {rto_seconds:.0f}s); verified in {outcome.verify_seconds:.1f}s")
        note(outcome.query_note)
        for n in outcome.notes:
            note(f"note: {n}")
        note(f"report: {base.with_suffix('.html')}")
    if not outcome.ok:
        for p in outcome.problems:
            click.echo(f"mismatch: {p}", err=True)
        sys.exit(EXIT_BREACH)


def _documented_policy(system_name: str):
    """The system's BackupPolicy from its fixture, or None (also for systems no longer in fixtures/)."""
    from harness.spec import system_names

    return load_system(system_name).backup if system_name in system_names() else None
