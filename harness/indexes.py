"""Create exactly the documented indexes, idempotently, and report drift from them.

Statuses per documented index:
- ok: present as documented;
- missing / mismatch: drift (exit 1 on --check);
- unsupported: the server cannot honour it (from the capability profile), not drift;
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
    """Why this server cannot honour `index`, or None."""
    fields = [k for k, _ in index.keys]
    if "id" in fields and not caps.unique_index_on_id:
        return f"{caps.server} silently drops indexes on a field named `id`"
    if index.is_text and not caps.text_index:
        return f"{caps.server} has no text indexes"
    return None


def _live_key(ix: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    key = dict(ix["key"])
    if "_fts" in key:  # MongoDB stores text indexes as _fts/_ftsx plus weights
        text_fields = tuple((f, "text") for f in sorted(ix.get("weights", {})))
        rest = tuple((k, v) for k, v in key.items() if k not in ("_fts", "_ftsx"))
        return rest + text_fields
    return tuple((k, int(v) if isinstance(v, int | float) else v) for k, v in key.items())


def _doc_key(index: Index) -> tuple[tuple[str, Any], ...]:
    if index.is_text:
        rest = tuple(p for p in index.keys if p[1] != "text")
        return rest + tuple(sorted(p for p in index.keys if p[1] == "text"))
    return index.keys


def _fields(key: tuple[tuple[str, Any], ...]) -> tuple[str, ...]:
    return tuple(k for k, _ in key)


def _model(index: Index) -> IndexModel:
    kwargs: dict[str, Any] = {}
    if index.unique:
        kwargs["unique"] = True
    if index.name:
        kwargs["name"] = index.name
    return IndexModel(list(index.keys), **kwargs)


def _find_live(index: Index, live: list[dict[str, Any]], caps: Capabilities) -> tuple[dict | None, str]:
    """The live index matching `index`, and 'exact' or 'degraded'."""
    want = _doc_key(index)
    for ix in live:
        if _live_key(ix) == want:
            return ix, "exact"
    if index.has_descending and not caps.descending_keys:
        for ix in live:
            if _fields(_live_key(ix)) == _fields(want):
                return ix, "degraded"
    return None, ""


def create(db: Database, system: System, caps: Capabilities) -> list[IndexStatus]:
    """Create every documented index the server can honour. All or nothing: if one fails, the
    indexes this call created are dropped again and the error is raised."""
    created: list[tuple[str, str]] = []
    results: list[IndexStatus] = []
    try:
        for coll in system.collections:
            live = [dict(ix) for ix in db[coll.name].list_indexes()]
            for index in coll.indexes:
                reason = unsupported_reason(index, caps)
                if reason:
                    results.append(IndexStatus(coll.name, index.describe(), "unsupported", reason))
                    continue
                match, how = _find_live(index, live, caps)
                if match is not None:
                    if bool(match.get("unique")) != index.unique:
                        raise HarnessError(
                            f"{db.name}.{coll.name} has index {match['name']} on the documented keys "
                            f"with unique={bool(match.get('unique'))}, documented unique={index.unique}",
                            "drop that index (or reload with --drop) and rerun")
                    results.append(IndexStatus(coll.name, index.describe(), "ok" if how == "exact"
                                               else "degraded", "already present"))
                    continue
                name = db[coll.name].create_indexes([_model(index)])[0]
                live = [dict(ix) for ix in db[coll.name].list_indexes()]
                match, _ = _find_live(index, live, caps)  # some servers rename what they create
                created.append((coll.name, match["name"] if match else name))
                if index.has_descending and not caps.descending_keys:
                    results.append(IndexStatus(coll.name, index.describe(), "degraded",
                                               f"created; {caps.server} keeps descending keys ascending"))
                else:
                    results.append(IndexStatus(coll.name, index.describe(), "ok", "created"))
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
        live = [dict(ix) for ix in db[coll.name].list_indexes()] if coll.name in existing else []
        matched: set[str] = {"_id_"}
        for index in coll.indexes:
            reason = unsupported_reason(index, caps)
            if reason:
                out.append(IndexStatus(coll.name, index.describe(), "unsupported", reason))
                continue
            if index.is_text and not caps.text_index_listed:
                out.append(IndexStatus(coll.name, index.describe(), "unverifiable",
                                       f"{caps.server} does not list text indexes"))
                continue
            match, how = _find_live(index, live, caps)
            if match is None:
                same_fields = [ix for ix in live if set(_fields(_live_key(ix))) == set(_fields(_doc_key(index)))]
                status = "mismatch" if same_fields else "missing"
                detail = (f"live {same_fields[0]['name']} has keys {list(_live_key(same_fields[0]))}"
                          if same_fields else "not found")
                out.append(IndexStatus(coll.name, index.describe(), status, detail))
                continue
            matched.add(match["name"])
            if bool(match.get("unique")) != index.unique:
                out.append(IndexStatus(coll.name, index.describe(), "mismatch",
                                       f"live {match['name']} unique={bool(match.get('unique'))}"))
            elif how == "degraded":
                out.append(IndexStatus(coll.name, index.describe(), "degraded",
                                       f"{caps.server} keeps descending keys ascending"))
            elif index.name and caps.index_names and match["name"] != index.name:
                out.append(IndexStatus(coll.name, index.describe(), "mismatch",
                                       f"named {match['name']}, documented {index.name}"))
            else:
                out.append(IndexStatus(coll.name, index.describe(), "ok", match["name"]))
        for ix in live:
            if ix["name"] not in matched:
                out.append(IndexStatus(coll.name, f"{ix['name']} {list(_live_key(ix))}", "extra",
                                       "live but not documented"))
    return out
