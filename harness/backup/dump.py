"""`harness backup SYSTEM`: stream `mongodump --archive --gzip` into a store, manifest last.

The dump is never staged on local disk: mongodump's stdout is read in 1 MiB chunks, each chunk
hashed (SHA-256 of the archive), inspected (per-collection counts, digests and index specs from
the archive itself) and handed to the store writer (a local file, or S3 multipart parts).
Only when mongodump exited 0, the stream parsed as a complete archive and the store committed
the archive is the manifest written; any failure aborts the writer and removes the partial
backup, so nothing incomplete is ever listed as restorable.
"""

from __future__ import annotations

import collections
import hashlib
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from harness.backup import toolchain
from harness.backup.archive import ArchiveInspector
from harness.backup.manifest import ARCHIVE, MANIFEST, ArchiveInfo, CollectionInfo, Manifest, SourceInfo, backup_id
from harness.backup.store import Store
from harness.backup.toolconfig import tool_config
from harness.errors import CapabilityMissing, HarnessError
from harness.redact import redact
from harness.servers import Server
from harness.spec import System

CHUNK = 1 << 20

CONSISTENCY_OPLOG = (
    "--oplog: the archive carries the oplog written during the dump ({entries} entries); restored with "
    "--oplogReplay on a scratch server it is consistent as of the dump's end. Counts and checksums describe "
    "the collection data as dumped, before replay.")
CONSISTENCY_PLAIN = (
    "no --oplog ({why}): collections are read one after another without a common snapshot, so writes during "
    "the dump can leave collections inconsistent with each other. Counts and checksums are computed from "
    "the dump stream itself, so they describe exactly what was stored and verification stays exact.")


class _StderrTail(threading.Thread):
    """Keep the last lines of a tool's stderr (progress lines would fill memory otherwise)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream, self.lines = stream, collections.deque(maxlen=200)
        self.start()

    def run(self) -> None:
        for raw in self.stream:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def failure(self) -> str:
        for line in reversed(self.lines):
            if "Failed:" in line or "error" in line.lower():
                return line.split("\t")[-1].strip()
        return (self.lines[-1].split("\t")[-1].strip() if self.lines else "no output")


def run(server: Server, system: System, store: Store, database: str | None = None,
        oplog: bool | None = None, progress: Callable[[int], None] | None = None,
        on_collection: Callable[[str], None] | None = None) -> Manifest:
    """Take one backup of `system` into `store`; returns the manifest (already written)."""
    mongodump = toolchain.require("mongodump")
    database = database or system.database
    if oplog and not server.caps.replica_set:
        raise CapabilityMissing(f"{server.caps.server} is not a replica set: --oplog needs an oplog",
                                "omit --oplog (the manifest then records a non-point-in-time dump)")
    use_oplog = server.caps.replica_set if oplog is None else oplog
    client = server.client()
    names = [n for n in client[database].list_collection_names() if not n.startswith("system.")]
    if not names:
        raise HarnessError(f"database {database} is empty or missing on {server.caps.server}",
                           f"load it first: harness load {system.name}")
    store.check()

    started = datetime.now(UTC)
    bid = backup_id(system.name, started)
    while store.list_keys(f"{system.name}/{bid}/"):
        time.sleep(1.0)
        started = datetime.now(UTC)
        bid = backup_id(system.name, started)
    prefix = f"{system.name}/{bid}"

    t0 = time.perf_counter()
    writer = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        writer = store.writer(f"{prefix}/{ARCHIVE}")
        with tool_config(server.uri) as config:
            argv = [mongodump, config.arg, "--archive", "--gzip"]
            argv += ["--oplog"] if use_oplog else [f"--db={database}"]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                    pass_fds=config.pass_fds)
            assert proc.stdout is not None and proc.stderr is not None
            tail = _StderrTail(proc.stderr)
            sha, inspector = hashlib.sha256(), ArchiveInspector(gzip=True)
            reported: set[str] = set()
            while chunk := proc.stdout.read(CHUNK):
                sha.update(chunk)
                inspector.feed(chunk)
                writer.write(chunk)
                if progress:
                    progress(len(chunk))
                if on_collection:
                    for ns in inspector.namespaces.values():
                        if ns.eof and ns.name not in reported:
                            reported.add(ns.name)
                            on_collection(f"{ns.name}: {ns.digest.count:,} documents dumped")
        rc = proc.wait()
        tail.join(timeout=10)
        if rc != 0:
            raise HarnessError(f"mongodump failed (exit {rc}): {redact(tail.failure())}",
                               "nothing was marked good; fix the cause and rerun")
        inspector.finish()
        size = writer.commit()
        writer = None
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if writer is not None:
            writer.abort()
        store.delete_prefix(prefix + "/")
        raise
    finished = datetime.now(UTC)
    duration = time.perf_counter() - t0

    collections_ = inspector.summary()
    if not use_oplog:
        why = "not a replica set" if not server.caps.replica_set else "disabled with --no-oplog"
        consistency = CONSISTENCY_PLAIN.format(why=why)
    else:
        consistency = CONSISTENCY_OPLOG.format(entries=inspector.oplog_entries() or 0)
    version = inspector.header.get("version")
    manifest = Manifest(
        id=bid, system=system.name, database=database, started_at=started, finished_at=finished,
        duration_seconds=round(duration, 3),
        archive=ArchiveInfo(key=ARCHIVE, bytes=size, sha256=sha.hexdigest(), gzip=True, oplog=use_oplog,
                            oplog_entries=inspector.oplog_entries(), uncompressed_bytes=inspector.raw_bytes,
                            format_version=None if version is None else str(version), store=store.url),
        collections={k: CollectionInfo.model_validate(v, strict=False) for k, v in collections_.items()},
        source=SourceInfo(server=server.caps.server, kind=server.caps.kind, version=server.caps.version,
                          archive_server_version=_str(inspector.header.get("server_version")), uri=server.safe_uri,
                          replica_set=server.caps.replica_set),
        tools={"mongodump": toolchain.version(mongodump),
               "archive_tool_version": str(inspector.header.get("tool_version"))},
        consistency=consistency,
        extra={"indexes_not_kept": _not_kept(system, server)},
    )
    try:
        store.put_bytes(f"{prefix}/{MANIFEST}", manifest.to_json().encode())
    except BaseException:
        store.delete_prefix(prefix + "/")
        raise
    return manifest


def _not_kept(system: System, server: Server) -> dict[str, list[dict[str, str]]]:
    """Documented indexes the source server cannot keep (so the archive cannot hold them), with
    the reason load and `indexes --check` give (harness.indexspec)."""
    from harness.indexspec import cannot_keep_reason, from_index

    out: dict[str, list[dict[str, str]]] = {}
    for coll in system.collections:
        for index in coll.indexes:
            shape = from_index(index)
            reason = cannot_keep_reason(shape, server.caps)
            if reason:
                out.setdefault(coll.name, []).append({"index": shape.describe(), "reason": reason})
    return out


def _str(value: object) -> str | None:
    return None if value is None else str(value)
