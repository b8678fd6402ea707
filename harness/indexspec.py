"""One description and comparison of an index, shared by `load`, `indexes --check`, backup
manifests, restore verification and the capability probe.

A documented `spec.Index` and a live index (listIndexes, or mongodump's metadata) both become a
`Shape`: the keys (text fields as "text", after the other keys, sorted), and the options that
change what the index does (unique, sparse, TTL, partial filter, collation, text weights). Noise
servers add (version fields, `ns`, default text language, the full collation a server fills in)
is left out, so the same index compares equal wherever it was read. Which kinds a server keeps is
probed once (harness.servers.capabilities) with these same functions, so "cannot keep" means the
same thing to every command.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.servers.capabilities import Capabilities
    from harness.spec import Index

# every kind the harness declares, creates and checks; the capability flag that says the server
# keeps it exactly (None: every wire-compatible server keeps it)
KINDS: dict[str, str | None] = {
    "ascending": None,
    "compound": None,
    "unique": None,
    "descending": "descending_keys",
    "text": "text_index",
    "text weights": "text_weights",
    "2dsphere": "geo_index",
    "ttl": "ttl_index",
    "partial": "partial_index",
    "sparse": "sparse_index",
    "hashed": "hashed_index",
    "collation": "collation_index",
}
DIRECTIONS = (1, -1, "text", "2dsphere", "hashed")


def _plain(value: Any) -> Any:
    """JSON-comparable: mappings as dicts, integral floats as ints, other BSON types as strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _canon(value: Mapping[str, Any] | None) -> str | None:
    return None if not value else json.dumps(_plain(value), sort_keys=True)


@dataclass(frozen=True)
class Shape:
    """What an index is, independent of where it was read. Options are None/False/() when unset."""

    key: tuple[tuple[str, Any], ...]
    unique: bool = False
    sparse: bool = False
    expire_after_seconds: int | None = None
    partial: str | None = None  # canonical JSON of partialFilterExpression
    collation: str | None = None  # canonical JSON of the collation (as declared, or as listed)
    weights: tuple[tuple[str, int], ...] = ()  # text fields' weights, sorted; default 1
    name: str | None = None

    @property
    def kinds(self) -> list[str]:
        dirs = [d for _, d in self.key]
        out = ["compound"] if len(self.key) > 1 else []
        out += ["ascending"] if 1 in dirs else []
        out += ["descending"] if -1 in dirs else []
        out += [k for k in ("text", "2dsphere", "hashed") if k in dirs]
        out += ["text weights"] if any(w != 1 for _, w in self.weights) else []
        out += ["unique"] if self.unique else []
        out += ["sparse"] if self.sparse else []
        out += ["ttl"] if self.expire_after_seconds is not None else []
        out += ["partial"] if self.partial else []
        out += ["collation"] if self.collation else []
        return out

    def describe(self) -> str:
        keys = ", ".join(f"{k}: {d!r}" if isinstance(d, str) else f"{k}: {d}" for k, d in self.key)
        opts = [o for o, on in (("unique", self.unique), ("sparse", self.sparse)) if on]
        if self.expire_after_seconds is not None:
            opts.append(f"ttl {self.expire_after_seconds}s")
        if self.partial:
            opts.append(f"partial {self.partial}")
        if self.collation:
            opts.append(f"collation {self.collation}")
        if any(w != 1 for _, w in self.weights):
            opts.append("weights " + ",".join(f"{f}={w}" for f, w in self.weights))
        return f"{{{keys}}}" + (" " + " ".join(opts) if opts else "") + (f" ({self.name})" if self.name else "")

    def as_dict(self) -> dict[str, Any]:
        """For manifests and --json: plain JSON values."""
        out = asdict(self)
        out["key"] = [[k, d] for k, d in self.key]
        out["weights"] = [[f, w] for f, w in self.weights]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Shape:
        return cls(key=tuple((k, d) for k, d in data["key"]), unique=bool(data.get("unique")),
                   sparse=bool(data.get("sparse")), expire_after_seconds=data.get("expire_after_seconds"),
                   partial=data.get("partial"), collation=data.get("collation"),
                   weights=tuple((f, w) for f, w in data.get("weights", ())), name=data.get("name"))


def _key(pairs: list[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    plain = [(k, _plain(d)) for k, d in pairs]
    text = sorted(k for k, d in plain if d == "text")
    return tuple(p for p in plain if p[1] != "text") + tuple((k, "text") for k in text)


def from_index(index: Index) -> Shape:
    """The shape of a documented index."""
    text_fields = sorted(k for k, d in index.keys if d == "text")
    given = dict(index.weights)
    return Shape(key=_key(list(index.keys)), unique=index.unique, sparse=index.sparse,
                 expire_after_seconds=index.expire_after_seconds, partial=_canon(index.partial),
                 collation=_canon(index.collation),
                 weights=tuple((f, int(given.get(f, 1))) for f in text_fields), name=index.name)


def from_live(spec: Mapping[str, Any]) -> Shape:
    """The shape of a listed index (listIndexes output, or an index in mongodump metadata)."""
    raw = [(k, v) for k, v in dict(spec["key"]).items()]
    weights: tuple[tuple[str, int], ...] = ()
    if any(k == "_fts" for k, _ in raw):  # MongoDB stores text indexes as _fts/_ftsx + weights
        w = dict(spec.get("weights", {}))
        raw = [(k, v) for k, v in raw if k not in ("_fts", "_ftsx")] + [(f, "text") for f in w]
        weights = tuple(sorted((f, int(_plain(v))) for f, v in w.items()))
    elif any(v == "text" for _, v in raw):  # servers that list text keys plainly
        weights = tuple(sorted((k, 1) for k, v in raw if v == "text"))
    ttl = spec.get("expireAfterSeconds")
    return Shape(key=_key(raw), unique=bool(spec.get("unique")), sparse=bool(spec.get("sparse")),
                 expire_after_seconds=None if ttl is None else int(ttl),
                 partial=_canon(spec.get("partialFilterExpression")), collation=_canon(spec.get("collation")),
                 weights=weights, name=spec.get("name"))


def differences(want: Shape, have: Shape) -> list[str]:
    """How `have` differs from `want` in what the index does (names aside); empty when equal.
    A declared collation need only agree on the fields it sets (servers fill in the rest)."""
    out = []
    if want.key != have.key:
        out.append(f"keys {list(have.key)}")
    for attr in ("unique", "sparse", "expire_after_seconds", "partial", "weights"):
        if getattr(want, attr) != getattr(have, attr):
            out.append(f"{attr.replace('_', ' ')} {getattr(have, attr)!r}")
    if want.collation != have.collation:
        declared = json.loads(want.collation) if want.collation else {}
        listed = json.loads(have.collation) if have.collation else {}
        if not declared or any(listed.get(k) != v for k, v in declared.items()):
            out.append(f"collation {have.collation!r}")
    return out


def same_fields(want: Shape, have: Shape) -> bool:
    return {k for k, _ in want.key} == {k for k, _ in have.key}


def not_kept(shape: Shape, caps: Capabilities) -> list[str]:
    """The kinds of `shape` this server cannot keep exactly (descending keys aside: those are
    created and reported degraded, as the server stores them ascending)."""
    out = []
    for kind in shape.kinds:
        flag = KINDS.get(kind)
        if kind != "descending" and flag and not getattr(caps, flag, False):
            out.append(kind)
    return out


def cannot_keep_reason(shape: Shape, caps: Capabilities) -> str | None:
    """Why this server cannot keep `shape`, or None: the one wording load, --check, backup and
    restore verification all print."""
    fields = [k for k, _ in shape.key]
    if "id" in fields and not caps.unique_index_on_id:
        return f"{caps.server} silently drops indexes on a field named `id`"
    kinds = not_kept(shape, caps)
    if kinds:
        return f"{caps.server} cannot keep {' / '.join(kinds)} indexes"
    return None
