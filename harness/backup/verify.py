"""Compare a restored database with a backup manifest: counts, content digests, index specs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pymongo.database import Database

from harness.backup.archive import normalize_index
from harness.backup.checksum import collection_digest
from harness.backup.manifest import Manifest
from harness.indexspec import cannot_keep_reason, differences, from_live
from harness.output import Progress
from harness.servers.capabilities import Capabilities

SCRATCH_MARKER = "harness_scratch"


@dataclass
class Check:
    collection: str
    what: str  # collection | count | checksum | indexes
    ok: bool
    expected: Any = None
    actual: Any = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_indexes(expected: list[dict[str, Any]], actual: list[dict[str, Any]],
                    caps: Capabilities | None = None) -> tuple[list[str], list[str], list[str]]:
    """(missing, unexpected, not kept) index descriptions, compared as `indexes --check` compares
    (harness.indexspec). An index the target server cannot keep (its capability profile) is
    "not kept", with the same reason load and --check give, not a failure."""
    want = [from_live(s) for s in expected]
    have = [from_live(s) for s in actual]
    missing, kept_out = [], []
    for w in want:
        if any(not differences(w, h) for h in have):
            continue
        reason = cannot_keep_reason(w, caps) if caps is not None else None
        (kept_out if reason else missing).append(f"{w.describe()}" + (f": {reason}" if reason else ""))
    extra = [h.describe() for h in have if not any(not differences(w, h) for w in want)]
    return missing, extra, kept_out


def verify(db: Database, manifest: Manifest, caps: Capabilities | None = None,
           progress: Progress | None = None) -> list[Check]:
    """Every collection of the manifest's database against the restored `db` (on a server with
    capability profile `caps`)."""
    expected = manifest.in_database()
    present = {n for n in db.list_collection_names() if not n.startswith("system.") and n != SCRATCH_MARKER}
    checks: list[Check] = []
    for name in sorted(present - set(expected)):
        checks.append(Check(name, "collection", False, "absent", "present", "not in the backup"))
    for name, want in expected.items():
        if name not in present:
            if want.count == 0 and not want.indexes:
                continue
            checks.append(Check(name, "collection", False, "present", "absent", "not restored"))
            continue
        digest = collection_digest(db[name])
        checks.append(Check(name, "count", digest.count == want.count, want.count, digest.count,
                            "" if digest.count == want.count else f"{digest.count - want.count:+d} documents"))
        same = digest.hexdigest() == want.checksum
        checks.append(Check(name, "checksum", same, want.checksum[:16], digest.hexdigest()[:16],
                            "" if same else "content differs (a changed, missing or extra document)"))
        actual = [normalize_index(dict(ix)) for ix in db[name].list_indexes()]
        missing, extra, kept_out = compare_indexes(want.indexes, actual, caps)
        detail = "; ".join([f"missing {m}" for m in missing] + [f"unexpected {e}" for e in extra]
                           + [f"not kept {k}" for k in kept_out])
        checks.append(Check(name, "indexes", not missing and not extra, len(want.indexes), len(actual),
                            detail))
        if progress:
            progress.advance()
            progress.event(f"{name}: {digest.count:,} documents, "
                           + ("ok" if all(c.ok for c in checks[-3:]) else "MISMATCH"))
    return checks
