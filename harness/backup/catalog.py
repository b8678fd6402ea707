"""Listing backups in a store. States:
- complete: a valid manifest and the archive has the recorded size;
- incomplete: no manifest (interrupted or failed; never offered for restore);
- damaged: a manifest that fails validation (schema, a date that disagrees with the backup id or
  lies in the future, stored under another id), or an archive that is missing or of the wrong
  size. A damaged backup is listed with its reason, never restored, never counted as newest.

Restore verification takes the newest complete backup; damaged backups newer than it are
reported as a finding (exit 1) rather than hidden, and older damaged ones do not stop anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from harness.backup.manifest import ARCHIVE, CLOCK_SKEW, MANIFEST, Manifest, id_time
from harness.backup.store import Store
from harness.errors import EXIT_BREACH, HarnessError


@dataclass
class Entry:
    id: str
    system: str
    state: str  # complete | incomplete | damaged
    started: datetime | None
    manifest: Manifest | None = None
    problem: str = ""  # why an entry is not complete

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    @property
    def prefix(self) -> str:
        return f"{self.system}/{self.id}"


def entries(store: Store, system: str | None = None, now: datetime | None = None) -> list[Entry]:
    """Every backup under the store (or one system's), newest first."""
    now = now or datetime.now(UTC)
    keys = store.list_keys(f"{system}/" if system else "")
    found: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) == 3:
            found.setdefault((parts[0], parts[1]), set()).add(parts[2])
    out = [_entry(store, sys_name, bid, files, now) for (sys_name, bid), files in found.items()]
    out.sort(key=lambda e: (e.started.timestamp() if e.started else 0.0, e.id), reverse=True)
    return out


def _entry(store: Store, system: str, bid: str, files: set[str], now: datetime) -> Entry:
    if MANIFEST not in files:
        why = "no manifest (interrupted or failed)" if ARCHIVE in files or any(
            f.endswith(".partial") for f in files) else "no archive, no manifest"
        return Entry(bid, system, "incomplete", id_time(bid), problem=why)
    raw = store.get_bytes(f"{system}/{bid}/{MANIFEST}")
    try:
        manifest = Manifest.from_json(raw or b"", f"{system}/{bid}/{MANIFEST}")
    except HarnessError as exc:
        return Entry(bid, system, "damaged", id_time(bid), problem=exc.message)
    problems = manifest.problems(system, bid, now)
    if problems:
        return Entry(bid, system, "damaged", id_time(bid), manifest, "; ".join(problems))
    size = store.size(f"{system}/{bid}/{manifest.archive.key}")
    if size is None:
        return Entry(bid, system, "damaged", manifest.started, manifest, "archive missing")
    if size != manifest.archive.bytes:
        return Entry(bid, system, "damaged", manifest.started, manifest,
                     f"archive is {size} bytes, the manifest says {manifest.archive.bytes} (truncated or replaced)")
    return Entry(bid, system, "complete", manifest.started, manifest)


def complete(store: Store, system: str) -> list[Entry]:
    return [e for e in entries(store, system) if e.complete]


def _usable(e: Entry) -> Entry:
    if e.state == "damaged":
        raise HarnessError(f"backup {e.id} is damaged: {e.problem}",
                           "it cannot be restored; take a new backup and investigate the store", EXIT_BREACH)
    if e.state == "incomplete":
        raise HarnessError(f"backup {e.id} is incomplete ({e.problem})",
                           "it cannot be restored; pick another with `harness backup list`")
    return e


def newer_damaged(all_entries: list[Entry], chosen: Entry, now: datetime | None = None) -> list[Entry]:
    """Damaged backups that claim (by their id) to be newer than `chosen` and not in the future:
    the newest backups are broken, which a nightly verification must not hide."""
    limit = (now or datetime.now(UTC)) + CLOCK_SKEW
    base = chosen.started
    return [e for e in all_entries if e.state == "damaged" and e.started and base
            and base < e.started <= limit]


def pick(store: Store, system: str, backup: str | None) -> tuple[Entry, list[Entry]]:
    """The named backup, or the newest complete one; with the damaged backups newer than it."""
    all_entries = entries(store, system)
    if backup:
        for e in all_entries:
            if e.id == backup:
                return _usable(e), []
        raise HarnessError(f"no backup {backup!r} for {system} in {store.url}", "see `harness backup list`")
    for e in all_entries:
        if e.complete:
            return e, newer_damaged(all_entries, e)
    damaged = [e for e in all_entries if e.state == "damaged"]
    if damaged:
        raise HarnessError(f"no complete backup of {system} in {store.url}: {len(damaged)} damaged, the newest "
                           f"{damaged[0].id}: {damaged[0].problem}",
                           "take a new backup and investigate the store (`harness backup list`)", EXIT_BREACH)
    raise HarnessError(f"no complete backup of {system} in {store.url}", f"take one with `harness backup {system}`")
