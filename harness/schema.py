"""Check documents against a collection's documented fields (types, enums, nesting).

Used by tests on generated data, by `harness validate`, and by restore verification.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bson import ObjectId

from harness.spec import Collection, T

_MISSING = object()


_ABSENT_PARENT = object()  # an intermediate object or array on the path is absent


def _values(doc: Any, path: list[str]) -> Iterator[Any]:
    """Yield every value at `path`; `x[]` steps into each element of array x."""
    if not path:
        yield doc
        return
    head, rest = path[0], path[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(doc, dict):
        return
    value = doc.get(key, _MISSING)
    if value is _MISSING or value is None:
        if not many:  # an absent array has no elements to check; declare the array to require it
            yield _ABSENT_PARENT if rest else _MISSING
        return
    if many:
        if not isinstance(value, list):
            yield TypeError(f"{key} is not an array")
            return
        for item in value:
            yield from _values(item, rest)
        return
    yield from _values(value, rest)


def _ancestors(path: str) -> list[str]:
    """'a.b[].c' -> ['a', 'a.b[]', 'a.b']: the forms in which enclosing fields are declared."""
    parts, out = path.split("."), []
    for n in range(1, len(parts)):
        prefix = ".".join(parts[:n])
        out += [prefix, prefix[:-2]] if prefix.endswith("[]") else [prefix]
    return out


def _is_uuid(value: Any) -> bool:
    if isinstance(value, uuid.UUID):
        return True
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, datetime),
    "oid": lambda v: isinstance(v, ObjectId),
    "uuid": _is_uuid,
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


def check(doc: dict[str, Any], fields: dict[str, T]) -> list[str]:
    """Problems with `doc` against `fields`; empty when the document matches the schema."""
    problems: list[str] = []
    for path, t in fields.items():
        optional_parent = any(fields[a].optional for a in _ancestors(path) if a in fields)
        for value in _values(doc, path.split(".")):
            if isinstance(value, TypeError):
                problems.append(f"{path}: {value}")
                continue
            if value is _ABSENT_PARENT:
                if not (t.optional or optional_parent):
                    problems.append(f"{path}: missing (an enclosing field is absent)")
                continue
            if value is _MISSING or value is None:
                if not t.optional:
                    problems.append(f"{path}: missing")
                continue
            if not _CHECKS[t.kind](value):
                problems.append(f"{path}: expected {t.kind}, got {type(value).__name__} {value!r:.40}")
            elif t.enum and value not in t.enum:
                problems.append(f"{path}: {value!r} not in {list(t.enum)}")
            elif t.pattern and not re.fullmatch(t.pattern, value):
                problems.append(f"{path}: {value!r} does not match {t.pattern}")
    return problems


def values(doc: dict[str, Any], path: str) -> list[Any]:
    """All present values at a dotted path (for reference and uniqueness checks)."""
    return [v for v in _values(doc, path.split(".")) if v is not _MISSING and v is not _ABSENT_PARENT
            and v is not None and not isinstance(v, TypeError)]


def sample_documents(collection: Any, size: int) -> list[dict[str, Any]]:
    """About `size` documents spread over the whole collection: `$sample` where the server has
    it, else every k-th document of a scan (not just the first `size` in natural order)."""
    from pymongo.errors import OperationFailure

    total = collection.estimated_document_count()
    if total <= size:
        return list(collection.find())
    try:
        docs = list(collection.aggregate([{"$sample": {"size": size}}]))
        if len(docs) >= min(size, total) * 0.9:
            return docs
    except OperationFailure:
        pass
    step = max(1, total // size)
    return [doc for n, doc in enumerate(collection.find()) if n % step == 0][:size]


def check_document(doc: dict[str, Any], collection: Collection) -> list[str]:
    """`check` against the collection's documented fields (harness.shape: inferred from the
    generator, completed by the fixture's declarations), plus its variant's fields when it has a
    discriminator; fields only other variants declare must be absent."""
    from harness.shape import documented

    fields, variants = documented(collection)
    if not collection.discriminator:
        return check(doc, fields)
    kind = doc.get(collection.discriminator)
    if kind not in variants:
        return [f"{collection.discriminator}: {kind!r} not in {list(variants)}"]
    own = variants[kind]
    problems = check(doc, {**fields, **own})
    foreign = {path.split(".")[0].removesuffix("[]") for other, other_fields in variants.items()
               if other != kind for path in other_fields} - {p.split(".")[0].removesuffix("[]") for p in own}
    problems += [f"{f}: belongs to another {collection.discriminator}, not {kind!r}" for f in sorted(foreign)
                 if doc.get(f) is not None]
    return problems
