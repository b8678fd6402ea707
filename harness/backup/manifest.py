"""The backup manifest: what a backup holds, written after its archive is safely stored.

A backup without a manifest (a crash, a failed upload, a truncated stream) is incomplete and is
never offered for restore. The manifest describes the archive as dumped (counts, checksums and
index specs are read from the archive stream itself), so a restore is checked against exactly
what was stored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.errors import EXIT_BREACH, HarnessError

FORMAT = "sla-harness-backup/1"
ARCHIVE = "dump.archive.gz"
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    id: str
    system: str
    database: str
    started_at: str  # ISO-8601 UTC
    finished_at: str
    duration_seconds: float
    archive: dict[str, Any]  # key, bytes, sha256, gzip, oplog, oplog_entries
    collections: dict[str, dict[str, Any]]  # "db.coll" -> count, checksum, bytes, indexes, options
    source: dict[str, Any]  # server, kind, version, uri (redacted), replica_set
    tools: dict[str, str]  # tool -> version line
    consistency: str = ""
    format: str = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> datetime:
        return parse_time(self.started_at)

    def in_database(self, database: str | None = None) -> dict[str, dict[str, Any]]:
        """Collections of one database (the system's by default), keyed by collection name."""
        prefix = f"{database or self.database}."
        return {k[len(prefix):]: v for k, v in self.collections.items() if k.startswith(prefix)}

    @property
    def documents(self) -> int:
        return sum(c["count"] for c in self.collections.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise HarnessError(f"{where} is not a valid backup manifest: {exc}",
                               "the backup is unusable; take a new one", EXIT_BREACH) from exc


def parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def backup_id(system: str, started: datetime) -> str:
    return f"{system}-{started.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def id_time(backup: str) -> datetime | None:
    """The start time encoded in a backup id, for incomplete backups that have no manifest."""
    try:
        return datetime.strptime(backup.rsplit("-", 1)[-1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
