"""The backup manifest: what a backup holds, written after its archive is safely stored.

A backup without a manifest (a crash, a failed upload, a truncated stream) is incomplete and is
never offered for restore. The manifest describes the archive as dumped (counts, checksums and
index specs are read from the archive stream itself), so a restore is checked against exactly
what was stored.

Manifests are read back from stores that anyone can write to, so they are validated data (a
pydantic schema, strict types), never dicts read by key: one damaged manifest marks that one
backup `damaged` with the reason, and the other backups keep working.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    ValidationError,
    field_serializer,
    model_validator,
)

from harness.errors import EXIT_BREACH, HarnessError
from harness.redact import redact

FORMAT = "sla-harness-backup/1"
ARCHIVE = "dump.archive.gz"
MANIFEST = "manifest.json"
CLOCK_SKEW = timedelta(minutes=5)  # a manifest dated later than now + this lies in the future

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$", max_length=200)]


class ArchiveInfo(BaseModel):
    """The stored archive: its object name inside the backup folder, size and SHA-256."""

    model_config = ConfigDict(strict=True, extra="allow")
    key: FileName
    bytes: NonNegativeInt
    sha256: Hex64
    gzip: bool = True
    oplog: bool = False
    oplog_entries: NonNegativeInt | None = None
    uncompressed_bytes: NonNegativeInt | None = None
    format_version: str | None = None
    store: str | None = None


class CollectionInfo(BaseModel):
    """One namespace as read from the archive stream."""

    model_config = ConfigDict(strict=True, extra="allow")
    count: NonNegativeInt
    checksum: Hex64
    bytes: NonNegativeInt = 0
    indexes: list[dict[str, Any]] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    type: str = "collection"


class SourceInfo(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    server: str | None = None
    kind: str | None = None
    version: str | None = None
    archive_server_version: str | None = None
    uri: str | None = None  # redacted
    replica_set: bool | None = None


class Manifest(BaseModel):
    """Validated on every read; `from_json` turns any defect into one HarnessError line."""

    model_config = ConfigDict(strict=True, extra="ignore")
    format: Literal["sla-harness-backup/1"] = FORMAT
    id: str = Field(min_length=1)
    system: str = Field(min_length=1)
    database: str = Field(min_length=1)
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_seconds: NonNegativeFloat
    archive: ArchiveInfo
    collections: dict[str, CollectionInfo]
    source: SourceInfo = Field(default_factory=SourceInfo)
    tools: dict[str, str] = Field(default_factory=dict)
    consistency: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("started_at", "finished_at")
    def _iso(self, t: datetime) -> str:
        return iso(t)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if self.finished_at < self.started_at:
            raise ValueError(f"finished_at {iso(self.finished_at)} is before started_at {iso(self.started_at)}")
        expected = backup_id(self.system, self.started_at)
        if self.id != expected:
            raise ValueError(f"started_at {iso(self.started_at)} disagrees with the backup id {self.id} "
                             f"(expected id {expected})")
        return self

    @property
    def started(self) -> datetime:
        return self.started_at.astimezone(UTC)

    def in_database(self, database: str | None = None) -> dict[str, CollectionInfo]:
        """Collections of one database (the system's by default), keyed by collection name."""
        prefix = f"{database or self.database}."
        return {k[len(prefix):]: v for k, v in self.collections.items() if k.startswith(prefix)}

    @property
    def documents(self) -> int:
        return sum(c.count for c in self.collections.values())

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise HarnessError(f"{where} is not a valid backup manifest: {reason(exc)}",
                               "the backup is unusable; take a new one", EXIT_BREACH) from None

    def problems(self, system: str, backup: str, now: datetime | None = None) -> list[str]:
        """What makes this (schema-valid) manifest untrustworthy where it was found."""
        out = []
        if self.system != system or self.id != backup:
            out.append(f"manifest describes {self.system}/{self.id}, but it is stored as {system}/{backup}")
        now = now or datetime.now(UTC)
        if self.started_at > now + CLOCK_SKEW:
            out.append(f"started_at {iso(self.started_at)} lies in the future")
        return out


def reason(exc: ValidationError, limit: int = 3) -> str:
    """A pydantic error as one short line: `field: message (got value)` for the first few."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "manifest"
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) and len(str(got)) > 40 else f" (got {str(got)[:40]!r})"
        parts.append(f"{loc}: {err['msg']}{shown}")
    more = len(exc.errors()) - limit
    return redact("; ".join(parts) + (f"; and {more} more" if more > 0 else ""))


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
