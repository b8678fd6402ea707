"""`harness restore-verify`: restore a backup into a scratch namespace and prove it is good.

Steps: pick the newest backup with a manifest (or a named one); refuse a target that is not a
scratch database unless forced; stream the archive from the store into `mongorestore --archive
--gzip --nsFrom/--nsTo` (SHA-256 checked on the way); parse mongorestore's "N document(s)
restored successfully. M document(s) failed to restore." (it exits 0 even when documents
fail); compare counts, digests and index specs with the manifest; run the critical queries once;
time the restore against the RTO; drop the scratch database.

`--oplogReplay` cannot be combined with --nsFrom/--nsTo, so the oplog slice of an --oplog
backup is not replayed here: the check covers the collection data the manifest describes.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import PyMongoError

from harness.backup import relay, toolchain
from harness.backup.catalog import Entry
from harness.backup.manifest import Manifest, iso
from harness.backup.queries import QueryResult, run_critical
from harness.backup.store import Store
from harness.backup.toolconfig import tool_config
from harness.backup.verify import SCRATCH_MARKER, Check, verify
from harness.errors import HarnessError
from harness.output import Progress
from harness.redact import redact
from harness.servers import Server
from harness.spec import System

RTO_SECONDS = 15 * 60  # seed 004: recovery_time_objective "15 minutes"
SCRATCH_PREFIX = "harness_scratch_"
_RESULT = re.compile(r"(\d+) document\(s\) restored successfully\. (\d+) document\(s\) failed to restore\.")


@dataclass
class Outcome:
    system: str
    backup: str
    store: str
    source_server: str
    target_server: str
    target_db: str
    started_at: str
    rto_seconds: float
    restore_seconds: float = 0.0
    verify_seconds: float = 0.0
    total_seconds: float = 0.0
    restored: int | None = None
    failed: int | None = None
    archive_sha256_ok: bool | None = None
    checks: list[Check] = field(default_factory=list)
    queries: list[QueryResult] = field(default_factory=list)
    query_note: str = ""
    relay: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "system": self.system, "backup": self.backup, "store": self.store,
            "source_server": self.source_server, "target_server": self.target_server,
            "target_db": self.target_db, "started_at": self.started_at,
            "rto_seconds": self.rto_seconds, "restore_seconds": round(self.restore_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3), "total_seconds": round(self.total_seconds, 3),
            "within_rto": self.restore_seconds <= self.rto_seconds,
            "documents_restored": self.restored, "documents_failed": self.failed,
            "archive_sha256_ok": self.archive_sha256_ok, "problems": self.problems, "notes": self.notes,
            "compatibility_relay": self.relay, "scratch_dropped": self.dropped,
            "checks": [c.as_dict() for c in self.checks],
            "queries": [vars(q) for q in self.queries], "query_note": self.query_note,
        }


def parse_summary(lines: list[str]) -> tuple[int, int] | None:
    """(restored, failed) from mongorestore's last summary line, or None when it printed none."""
    found = [m for ln in lines if (m := _RESULT.search(ln))]
    return (int(found[-1][1]), int(found[-1][2])) if found else None


def is_scratch(server: Server, name: str) -> bool:
    """A scratch database: named harness_scratch_* and either absent/empty or made by us."""
    if not name.startswith(SCRATCH_PREFIX):
        return False
    names = server.client()[name].list_collection_names()
    return not names or SCRATCH_MARKER in names


def prepare_target(server: Server, name: str, source_db: str, same_server: bool, force: bool, backup: str) -> bool:
    """Check and reset the target; returns whether it is a scratch database (dropped afterwards)."""
    if same_server and name == source_db and not force:
        raise HarnessError(f"refusing to restore over the source database {name}",
                           "restore into a scratch database (the default) or pass --force")
    scratch = is_scratch(server, name)
    if not scratch and not force:
        raise HarnessError(f"target database {name} is not a scratch database",
                           f"use a name starting with {SCRATCH_PREFIX} that is empty or made by the harness, "
                           "or pass --force to restore over it")
    if scratch:
        client = server.client()
        client.drop_database(name)
        client[name][SCRATCH_MARKER].insert_one({"_id": "scratch", "backup": backup,
                                                 "created_at": datetime.now(UTC)})
    return scratch


def _feed(store: Store, key: str, sink: Any, sha: Any, errors: list[BaseException],
          progress: Callable[[int], None] | None = None) -> None:
    try:
        for chunk in store.read_chunks(key):
            sha.update(chunk)
            sink.write(chunk)
            if progress:
                progress(len(chunk))
    except BrokenPipeError:
        pass  # mongorestore stopped reading; its own output says why
    except BaseException as exc:  # noqa: BLE001 - reported by the caller
        errors.append(exc)
    finally:
        with contextlib.suppress(OSError):
            sink.close()


def run_mongorestore(target: Server, store: Store, manifest: Manifest, target_db: str, drop: bool,
                     outcome: Outcome, progress: Callable[[int], None] | None = None) -> None:
    mongorestore = toolchain.require("mongorestore")
    fixes = relay.needs(target.client())
    outcome.relay = fixes.reasons
    src = manifest.database
    with relay.relayed(target.uri, target.client(), fixes) as uri, tool_config(uri) as config:
        argv = [mongorestore, config.arg, "--archive", "--gzip", f"--nsInclude={src}.*",
                f"--nsFrom={src}.*", f"--nsTo={target_db}.*"] + (["--drop"] if drop else [])
        sha, errors = hashlib.sha256(), []  # type: ignore[var-annotated]
        lines: collections.deque[str] = collections.deque(maxlen=400)
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                pass_fds=config.pass_fds)
        try:
            assert proc.stdin is not None and proc.stderr is not None
            feeder = threading.Thread(target=_feed, args=(store, f"{manifest.system}/{manifest.id}/"
                                                          f"{manifest.archive.key}", proc.stdin, sha, errors,
                                                          progress), daemon=True)
            feeder.start()
            for raw in proc.stderr:
                lines.append(raw.decode(errors="replace").rstrip())
            rc = proc.wait()
            feeder.join()
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        outcome.restore_seconds = time.perf_counter() - t0
    if errors:
        exc = errors[0]
        raise exc if isinstance(exc, HarnessError) else HarnessError(f"reading the archive failed: {exc}")
    outcome.archive_sha256_ok = sha.hexdigest() == manifest.archive.sha256
    if not outcome.archive_sha256_ok:
        outcome.problems.append("archive SHA-256 differs from the manifest: the stored archive is corrupt")
    summary = parse_summary(list(lines))
    failed_line = next((ln.split("\t")[-1] for ln in reversed(lines) if "Failed:" in ln), "")
    if summary:
        outcome.restored, outcome.failed = summary
        if outcome.failed:
            outcome.problems.append(f"mongorestore: {outcome.failed} document(s) failed to restore "
                                    "(it exits 0 regardless)")
    if rc != 0 or failed_line:
        last = failed_line or (lines[-1] if lines else "")
        outcome.problems.append(f"mongorestore failed (exit {rc}): {redact(last)}")
    elif not summary:
        outcome.problems.append("mongorestore printed no restore summary line")


def restore_verify(system: System, store: Store, entry: Entry, source: Server, target: Server,
                   target_db: str | None = None, force: bool = False, keep: bool = False,
                   rto_seconds: float = RTO_SECONDS, show_progress: bool = True) -> Outcome:
    manifest = entry.manifest
    assert manifest is not None
    name = target_db or f"{SCRATCH_PREFIX}{manifest.database}"
    t0 = time.perf_counter()
    outcome = Outcome(system.name, manifest.id, store.url, source.caps.server, target.caps.server, name,
                      iso(datetime.now(UTC)), rto_seconds)
    same = target.uri == source.uri
    try:
        scratch = prepare_target(target, name, manifest.database, same, force, manifest.id)
    except PyMongoError as exc:
        raise HarnessError(f"cannot prepare target database {name}: {redact(str(exc))}") from exc
    try:
        with Progress(f"restore {manifest.id}", total=manifest.archive.bytes, unit="bytes",
                      enabled=show_progress) as progress:
            run_mongorestore(target, store, manifest, name, drop=not scratch, outcome=outcome,
                             progress=progress.advance)
        t1 = time.perf_counter()
        db = target.client()[name]
        with Progress(f"verify {manifest.id}", total=len(manifest.in_database()), unit="collections",
                      enabled=show_progress) as progress:
            outcome.checks = verify(db, manifest, target.caps, progress)
            progress.event("running the critical queries once")
            outcome.queries, outcome.query_note = run_critical(system, target.uri, name)
        bad = [c for c in outcome.checks if not c.ok]
        for c in bad:
            outcome.problems.append(f"{c.collection}: {c.what} mismatch (expected {c.expected}, got {c.actual})"
                                    + (f": {c.detail}" if c.detail else ""))
        for q in outcome.queries:
            if not q.ok:
                outcome.problems.append(f"critical query {q.name} failed on the restored data: {q.detail}")
        outcome.verify_seconds = time.perf_counter() - t1
    finally:
        if scratch and not keep:
            try:
                target.client().drop_database(name)
                outcome.dropped = True
            except PyMongoError as exc:
                outcome.notes.append(f"could not drop scratch database {name}: {redact(str(exc))}")
    outcome.total_seconds = time.perf_counter() - t0
    if outcome.restore_seconds > rto_seconds:
        outcome.problems.append(f"restore took {outcome.restore_seconds:.1f}s, over the RTO of {rto_seconds:.0f}s")
    if manifest.archive.oplog:
        outcome.notes.append("the backup's oplog slice was not replayed (--oplogReplay cannot be combined with "
                             "--nsFrom/--nsTo); the collection data as dumped was verified")
    if outcome.relay:
        outcome.notes.append("mongorestore ran through the harness's wire relay because the target server "
                             + "; ".join(outcome.relay))
    if not scratch:
        outcome.notes.append(f"{name} is not a scratch database (--force): it was restored over and kept")
    elif keep:
        outcome.notes.append(f"scratch database {name} kept (--keep)")
    return outcome
