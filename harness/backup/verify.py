"""Compare a restored database with a backup manifest: counts, content digests, index specs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pymongo.database import Database

from harness.backup.archive import normalize_index
from harness.backup.checksum import collection_digest
from harness.backup.manifest import Manifest

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


def _index_key(spec: dict[str, Any]) -> str:
    import json

    return json.dumps(spec, sort_keys=True, default=str)


def compare_indexes(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(missing, unexpected) index descriptions."""
    want = {_index_key(s): s for s in expected}
    have = {_index_key(s): s for s in actual}
    missing = [f"{want[k].get('name')} {want[k]['key']}" for k in want if k not in have]
    extra = [f"{have[k].get('name')} {have[k]['key']}" for k in have if k not in want]
    return missing, extra


def verify(db: Database, manifest: Manifest) -> list[Check]:
    """Every collection of the manifest's database against the restored `db`."""
    expected = manifest.in_database()
    present = {n for n in db.list_collection_names() if not n.startswith("system.") and n != SCRATCH_MARKER}
    checks: list[Check] = []
    for name in sorted(present - set(expected)):
        checks.append(Check(name, "collection", False, "absent", "present", "not in the backup"))
    for name, want in expected.items():
        if name not in present:
            if want["count"] == 0 and not want.get("indexes"):
                continue
            checks.append(Check(name, "collection", False, "present", "absent", "not restored"))
            continue
        digest = collection_digest(db[name])
        checks.append(Check(name, "count", digest.count == want["count"], want["count"], digest.count,
                            "" if digest.count == want["count"] else f"{digest.count - want['count']:+d} documents"))
        same = digest.hexdigest() == want["checksum"]
        checks.append(Check(name, "checksum", same, want["checksum"][:16], digest.hexdigest()[:16],
                            "" if same else "content differs (a changed, missing or extra document)"))
        actual = [normalize_index(dict(ix)) for ix in db[name].list_indexes()]
        missing, extra = compare_indexes(want.get("indexes", []), actual)
        detail = "; ".join(([f"missing {m}" for m in missing]) + [f"unexpected {e}" for e in extra])
        checks.append(Check(name, "indexes", not missing and not extra, len(want.get("indexes", [])), len(actual),
                            detail))
    return checks
