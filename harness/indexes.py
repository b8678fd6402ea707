"""Create exactly the documented indexes, idempotently, and report drift from them.

Statuses per documented index:
- ok: present as documented;
- missing / mismatch: drift (exit 1 on --check);
- unsupported: the server cannot keep it (its kind, per the capability profile), not drift;
- degraded: present, but the server stored it differently in a way it always does
  (descending keys kept ascending, names replaced);
- unverifiable: the server does not list it (nx-27017 hides text indexes).
Live indexes that are not documented are reported as `extra` (drift).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from pymongo import IndexModel
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from harness.errors import HarnessError
from harness.indexspec import Shape, cannot_keep_reason, differences, from_index, from_live, same_fields
from harness.servers.capabilities import Capabilities
from harness.spec import Index, System

DRIFT = ("missing", "mismatch", "extra")


@dataclass
class IndexStatus:
    collection: str
    index: str  # description of the documented (or extra live) index
    status: str
    detail: str = ""

    @property
    def is_drift(self) -> bool:
        return self.status in DRIFT


def unsupported_reason(index: Index, caps: Capabilities) -> str | None:
    """Why this server cannot keep `index`, or None (harness.indexspec decides, for every command)."""
    return cannot_keep_reason(from_index(index), caps)


def _ascending(shape: Shape) -> tuple[tuple[str, Any], ...]:
    return tuple((k, 1 if d == -1 else d) for k, d in shape.key)


def _find_live(want: Shape, live: list[Shape], caps: Capabilities) -> tuple[Shape | None, str]:
    """The live index matching `want`: ('exact'), stored with descending keys ascending by a
    server that always does so ('degraded'), or on the same keys with other options ('differs')."""
    for have in live:
        if not differences(want, have):
            return have, "exact"
    if -1 in (d for _, d in want.key) and not caps.descending_keys:
        for have in live:
            if have.key == _ascending(want) and not differences(Shape(**{**vars(want), "key": have.key}), have):
                return have, "degraded"
    for have in live:
        if have.key == want.key or (not caps.descending_keys and have.key == _ascending(want)):
            return have, "differs"
    return None, ""


def _model(index: Index) -> IndexModel:
    kwargs: dict[str, Any] = {}
    if index.unique:
        kwargs["unique"] = True
    if index.name:
        kwargs["name"] = index.name
    if index.sparse:
        kwargs["sparse"] = True
    if index.expire_after_seconds is not None:
        kwargs["expireAfterSeconds"] = index.expire_after_seconds
    if index.partial:
        kwargs["partialFilterExpression"] = index.partial
    if index.collation:
        kwargs["collation"] = index.collation
    if index.weights:
        kwargs["weights"] = dict(index.weights)
    return IndexModel(list(index.keys), **kwargs)


def _live(db: Database, collection: str) -> list[Shape]:
    return [from_live(ix) for ix in db[collection].list_indexes()]


def create(db: Database, system: System, caps: Capabilities) -> list[IndexStatus]:
    """Create every documented index the server can keep. All or nothing: if one fails, the
    indexes this call created are dropped again and the error is raised."""
    created: list[tuple[str, str]] = []
    results: list[IndexStatus] = []
    try:
        for coll in system.collections:
            live = _live(db, coll.name)
            for index in coll.indexes:
                want = from_index(index)
                reason = cannot_keep_reason(want, caps)
                if reason:
                    results.append(IndexStatus(coll.name, want.describe(), "unsupported", reason))
                    continue
                match, how = _find_live(want, live, caps)
                if how == "differs":
                    raise HarnessError(
                        f"{db.name}.{coll.name} has index {match.name} on the documented keys but "
                        f"{'; '.join(differences(want, match))}, documented {want.describe()}",
                        "drop that index (or reload with --drop) and rerun")
                if match is not None:
                    results.append(IndexStatus(coll.name, want.describe(), "ok" if how == "exact"
                                               else "degraded", "already present"))
                    continue
                name = db[coll.name].create_indexes([_model(index)])[0]
                live = _live(db, coll.name)
                match, how = _find_live(want, live, caps)  # some servers rename what they create
                created.append((coll.name, match.name if match and match.name else name))
                if how == "degraded":
                    results.append(IndexStatus(coll.name, want.describe(), "degraded",
                                               f"created; {caps.server} keeps descending keys ascending"))
                else:
                    results.append(IndexStatus(coll.name, want.describe(), "ok", "created"))
    except (OperationFailure, PyMongoError, HarnessError) as exc:
        for coll_name, name in created:
            with contextlib.suppress(PyMongoError):
                db[coll_name].drop_index(name)
        if isinstance(exc, HarnessError):
            raise
        raise HarnessError(f"index creation failed on {db.name}: {exc}",
                           f"rolled back the {len(created)} index(es) this run created; fix the data "
                           "or the server and rerun") from exc
    return results


def check(db: Database, system: System, caps: Capabilities) -> list[IndexStatus]:
    """Compare live indexes with the documented ones."""
    out: list[IndexStatus] = []
    existing = set(db.list_collection_names())
    for coll in system.collections:
        live = _live(db, coll.name) if coll.name in existing else []
        matched: set[str | None] = {"_id_"}
        for index in coll.indexes:
            want = from_index(index)
            reason = cannot_keep_reason(want, caps)
            if reason:
                out.append(IndexStatus(coll.name, want.describe(), "unsupported", reason))
                continue
            if index.is_text and not caps.text_index_listed:
                out.append(IndexStatus(coll.name, want.describe(), "unverifiable",
                                       f"{caps.server} does not list text indexes"))
                continue
            match, how = _find_live(want, live, caps)
            if match is None:
                similar = [have for have in live if same_fields(want, have)]
                status = "mismatch" if similar else "missing"
                detail = (f"live {similar[0].name}: {'; '.join(differences(want, similar[0]))}"
                          if similar else "not found")
                out.append(IndexStatus(coll.name, want.describe(), status, detail))
                continue
            matched.add(match.name)
            if how == "differs":
                out.append(IndexStatus(coll.name, want.describe(), "mismatch",
                                       f"live {match.name}: {'; '.join(differences(want, match))}"))
            elif how == "degraded":
                out.append(IndexStatus(coll.name, want.describe(), "degraded",
                                       f"{caps.server} keeps descending keys ascending"))
            elif index.name and caps.index_names and match.name != index.name:
                out.append(IndexStatus(coll.name, want.describe(), "mismatch",
                                       f"named {match.name}, documented {index.name}"))
            else:
                out.append(IndexStatus(coll.name, want.describe(), "ok", match.name or ""))
        for have in live:
            if have.name not in matched:
                out.append(IndexStatus(coll.name, have.describe(), "extra", "live but not documented"))
    return out
