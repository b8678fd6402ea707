"""The documented fields of a collection, stated once: read off the generator, completed by the
fixture's declarations.

A fixture's `make(g, i)` already says every field, its nesting and its type; writing the same
again as a `fields` dict is what made fixtures 500-800 lines. So the schema is inferred from a
deterministic sample of generated documents (types; uuid / YYYY-MM-DD / ISO-8601 strings;
optional when absent or null in some; arrays and their elements; per discriminator variant), and
`Collection.fields` holds only what a sample cannot tell: enums, patterns, and anything a
fixture wants stricter or looser. Declarations win over inference, path by path.

The sample spreads over the whole collection at the system's default preset (fixed seed and
day, so the schema never depends on a run's --seed), up to SAMPLE documents per collection.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from harness.spec import ANY, BOOL, DATE, DAY, DICT, FLOAT, INT, ISO, LIST, NUM, OID, STR, UUID, T

if TYPE_CHECKING:
    from harness.spec import Collection, System

SAMPLE = 800
SAMPLE_SEED = 1
SAMPLE_AS_OF = datetime(2026, 1, 1)

class _Chosen(str):
    """A string drawn by choice/weighted/some from a tuple of strings, remembering the tuple:
    how the sample tells an enum from free text without the fixture repeating its values."""

    choices: tuple[str, ...] = ()


def _tracing_gen() -> type:
    from harness.datagen import Gen

    class TracingGen(Gen):
        """Gen whose choices of tuples of strings come back marked (same draws, same values)."""

        @staticmethod
        def _mark(value: Any, seq: Any) -> Any:
            if isinstance(seq, tuple) and isinstance(value, str) and all(isinstance(v, str) for v in seq):
                marked = _Chosen(value)
                marked.choices = seq
                return marked
            return value

        def choice(self, seq):  # type: ignore[no-untyped-def]
            return self._mark(super().choice(seq), seq)

        def weighted(self, seq, weights):  # type: ignore[no-untyped-def]
            return self._mark(super().weighted(seq, weights), seq)

        def some(self, seq, lo, hi):  # type: ignore[no-untyped-def]
            return [self._mark(v, seq) for v in super().some(seq, lo, hi)]

    return TracingGen


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class _Seen:
    kinds: set[str] = field(default_factory=set)
    container: str = ""  # the enclosing object's path ("" for the document, "a[]" for elements of a)
    present: int = 0  # containers in which the path holds a non-null value
    strings: list[str] = field(default_factory=list)  # up to a few hundred, for pattern detection
    choices: dict[str, None] = field(default_factory=dict)  # enum values the generator drew from
    unmarked: set[str] = field(default_factory=set)  # strings not drawn from a tuple


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, ObjectId):
        return "oid"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    return "any"


class _Observer:
    def __init__(self) -> None:
        self.seen: dict[str, _Seen] = {}
        self.containers: dict[str, int] = {"": 0}  # path of an object -> how many were seen
        self.elements: dict[str, int] = {}  # "a[]" -> how many elements arrays at a held

    def document(self, doc: dict[str, Any]) -> None:
        self._object(doc, "")

    def _object(self, obj: dict[str, Any], prefix: str) -> None:
        self.containers[prefix] = self.containers.get(prefix, 0) + 1
        for key, value in obj.items():
            self._value(value, f"{prefix}.{key}" if prefix else key, prefix)

    def _value(self, value: Any, path: str, container: str) -> None:
        s = self.seen.get(path)
        if s is None:
            s = self.seen[path] = _Seen(container=container)
        if value is None:
            return
        s.present += 1
        kind = _kind(value)
        s.kinds.add(kind)
        if kind == "str":
            if len(s.strings) < 400:
                s.strings.append(value)
            if isinstance(value, _Chosen):
                s.choices.update(dict.fromkeys(value.choices))
            elif len(s.unmarked) < 64:
                s.unmarked.add(value)
        if kind == "dict":
            self._object(value, path)
        elif kind == "list":
            self.elements[f"{path}[]"] = self.elements.get(f"{path}[]", 0) + len(value)
            for item in value:
                self._value(item, f"{path}[]", f"{path}[]")

    def fields(self) -> dict[str, T]:
        out: dict[str, T] = {}
        for path, s in self.seen.items():
            t = _type(s)
            if path.endswith("[]"):  # an element: optional when some elements are null
                optional = s.present < self.elements.get(path, 0)
            else:  # a member: optional when absent or null in some of its enclosing objects
                optional = s.present < self.containers.get(s.container, 0)
            out[path] = t.opt() if optional else t
        return _maps_opaque(out)


def _maps_opaque(fields: dict[str, T]) -> dict[str, T]:
    """An object whose members are all optional (three or more) is a map keyed by data (emotion
    -> stats, date -> count): keep it as a dict and drop the paths under it, which a sample
    cannot enumerate."""
    children: dict[str, list[T]] = {}
    for path, t in fields.items():
        parent = path.rpartition(".")[0]
        if parent in fields and fields[parent].kind == "dict":
            children.setdefault(parent, []).append(t)
    maps = [p for p, ts in children.items() if len(ts) >= 3 and all(t.optional for t in ts)]
    return {path: t for path, t in fields.items()
            if not any(path.startswith(m + ".") or path.startswith(m + "[]") for m in maps)}


def _type(s: _Seen) -> T:
    kinds = s.kinds
    if not kinds:
        return ANY
    if kinds == {"int"}:
        return INT
    if kinds == {"float"}:
        return FLOAT
    if kinds <= {"int", "float"}:
        return NUM
    if kinds == {"str"}:
        if s.choices and s.unmarked <= set(s.choices):
            return T("str", tuple(s.choices))
        if s.strings and all(_UUID.fullmatch(v) for v in s.strings):
            return UUID
        for typed in (DAY, ISO):
            if s.strings and all(re.fullmatch(typed.pattern or "", v) for v in s.strings):
                return typed
        return STR
    if len(kinds) == 1:
        return {"bool": BOOL, "date": DATE, "oid": OID, "uuid": UUID, "dict": DICT, "list": LIST}.get(
            next(iter(kinds)), ANY)
    return ANY


def infer(docs: Iterable[dict[str, Any]]) -> dict[str, T]:
    """The fields, types and optionality a set of documents shows."""
    obs = _Observer()
    for doc in docs:
        obs.document(doc)
    return obs.fields()


def sample(system: System, collection: Collection, size: int = SAMPLE) -> list[dict[str, Any]]:
    """Up to `size` generated documents of `collection`, evenly spread over its indices at the
    default preset, with the fixed schema seed and day."""
    scale = system.presets["default"].scale if "default" in system.presets else 1.0
    counts = system.counts(scale)
    g = _tracing_gen()(system, SAMPLE_SEED, SAMPLE_AS_OF, counts)
    n = counts[collection.name]
    step = max(1, n // size)
    out = []
    for i in range(0, n, step):
        g.begin(collection.name, i)
        out.append(collection.make(g, i))
    return out[:size]


_DOCUMENTED: dict[int, tuple[dict[str, T], dict[str, dict[str, T]]]] = {}


def inferred(collection: Collection) -> tuple[dict[str, T], dict[str, dict[str, T]]]:
    """(fields, variants) read off generated documents, before the fixture's declarations
    (nothing for a collection outside any System: there is nothing to generate from)."""
    if collection.system is None:
        return {}, {}
    docs = sample(collection.system, collection)
    if not collection.discriminator:
        return infer(docs), {}
    groups: dict[Any, list[dict[str, Any]]] = {}
    for doc in docs:
        groups.setdefault(doc.get(collection.discriminator), []).append(doc)
    per = {kind: infer(group) for kind, group in groups.items()}
    common = set.intersection(*(set(f) for f in per.values())) if per else set()
    base: dict[str, T] = {}
    for path in sorted(common):
        types = {per[k][path] for k in per}
        if len(types) == 1:  # the same in every variant; otherwise each variant keeps its own
            base[path] = types.pop()
    variants = {k: {p: t for p, t in f.items() if p not in base} for k, f in per.items()}
    return base, variants


def documented(collection: Collection) -> tuple[dict[str, T], dict[str, dict[str, T]]]:
    """(fields, variants) that validation checks: inferred, then the fixture's declarations."""
    key = id(collection)
    hit = _DOCUMENTED.get(key)
    if hit is not None:
        return hit
    fields, variants = inferred(collection)
    fields = {**fields, **collection.fields}
    names = list(dict.fromkeys([*collection.variants, *variants]))
    merged = {k: {**variants.get(k, {}), **collection.variants.get(k, {})} for k in names}
    # a path declared for the whole collection is not also a variant's own
    merged = {k: {p: t for p, t in v.items() if p not in collection.fields} for k, v in merged.items()}
    _DOCUMENTED[key] = (fields, merged)
    return fields, merged
