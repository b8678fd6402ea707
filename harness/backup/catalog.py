"""Listing backups in a store: complete ones (manifest present, archive of the recorded size)
and incomplete ones (never offered for restore)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from harness.backup.manifest import ARCHIVE, MANIFEST, Manifest, id_time
from harness.backup.store import Store
from harness.errors import HarnessError


@dataclass
class Entry:
    id: str
    system: str
    complete: bool
    started: datetime | None
    manifest: Manifest | None = None
    problem: str = ""  # why an entry is incomplete

    @property
    def prefix(self) -> str:
        return f"{self.system}/{self.id}"


def entries(store: Store, system: str | None = None) -> list[Entry]:
    """Every backup under the store (or one system's), newest first."""
    keys = store.list_keys(f"{system}/" if system else "")
    found: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) == 3:
            found.setdefault((parts[0], parts[1]), set()).add(parts[2])
    out = []
    for (sys_name, bid), files in found.items():
        out.append(_entry(store, sys_name, bid, files))
    out.sort(key=lambda e: (e.started.timestamp() if e.started else 0.0, e.id), reverse=True)
    return out


def _entry(store: Store, system: str, bid: str, files: set[str]) -> Entry:
    if MANIFEST not in files:
        why = "no manifest (interrupted or failed)" if ARCHIVE in files or any(
            f.endswith(".partial") for f in files) else "no archive, no manifest"
        return Entry(bid, system, False, id_time(bid), problem=why)
    raw = store.get_bytes(f"{system}/{bid}/{MANIFEST}")
    try:
        manifest = Manifest.from_json(raw or b"", f"{system}/{bid}/{MANIFEST}")
    except HarnessError as exc:
        return Entry(bid, system, False, id_time(bid), problem=exc.message)
    size = store.size(f"{system}/{bid}/{manifest.archive['key']}")
    if size is None:
        return Entry(bid, system, False, manifest.started, manifest, "archive missing")
    if size != manifest.archive["bytes"]:
        return Entry(bid, system, False, manifest.started, manifest,
                     f"archive is {size} bytes, the manifest says {manifest.archive['bytes']}")
    return Entry(bid, system, True, manifest.started, manifest)


def complete(store: Store, system: str) -> list[Entry]:
    return [e for e in entries(store, system) if e.complete]


def pick(store: Store, system: str, backup: str | None) -> Entry:
    """The newest complete backup, or the named one (which must be complete)."""
    all_entries = entries(store, system)
    if backup:
        for e in all_entries:
            if e.id == backup:
                if not e.complete:
                    raise HarnessError(f"backup {backup} is incomplete ({e.problem})",
                                       "it cannot be restored; pick another with `harness backup list`")
                return e
        raise HarnessError(f"no backup {backup!r} for {system} in {store.url}", "see `harness backup list`")
    for e in all_entries:
        if e.complete:
            return e
    raise HarnessError(f"no complete backup of {system} in {store.url}", f"take one with `harness backup {system}`")
