"""What a system's data is: collections, fields, references, indexes, scale, growth, retention.

A fixture module (`fixtures/<name>.py`) builds one `System` from these dataclasses and exposes
it as `SYSTEM`. The harness never imports a fixture by name: adding a sixth system means
adding a file to `fixtures/` (and a locustfile to `workloads/`), nothing in `harness/`.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.datagen import Gen
    from harness.relational import Tables

# ---------------------------------------------------------------------------------------------
# Field types: the documented schema, checked against generated (and restored) documents.


@dataclass(frozen=True)
class T:
    """A documented field type. `kind` is one of: str, int, float, number, bool, date, oid,
    uuid, dict, list, any. `enum` restricts values; `optional` allows absence or null."""

    kind: str
    enum: tuple[Any, ...] = ()
    optional: bool = False
    pattern: str | None = None  # a regular expression a str must match in full

    def opt(self) -> T:
        return T(self.kind, self.enum, True, self.pattern)


def enum(*values: Any, optional: bool = False) -> T:
    kind = "str" if all(isinstance(v, str) for v in values) else "any"
    return T(kind, tuple(values), optional)


STR, INT, FLOAT, NUM, BOOL, DATE = T("str"), T("int"), T("float"), T("number"), T("bool"), T("date")
OID, UUID, DICT, LIST, ANY = T("oid"), T("uuid"), T("dict"), T("list"), T("any")
DAY = T("str", pattern=r"\d{4}-\d{2}-\d{2}")  # YYYY-MM-DD strings
ISO = T("str", pattern=r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")  # ISO-8601 strings


# ---------------------------------------------------------------------------------------------
# Indexes and references.


@dataclass(frozen=True)
class Index:
    """A documented index. `keys` keep their documented order; a direction is 1, -1, "text",
    "2dsphere" or "hashed". Options: `unique`, `sparse`, `ttl` (expireAfterSeconds, on one date
    field), `partial` (partialFilterExpression), `collation`, `weights` (text fields -> weight).
    How it compares with a live index: harness.indexspec."""

    keys: tuple[tuple[str, int | str], ...]
    unique: bool = False
    name: str | None = None  # only when the seed names the index
    note: str = ""  # where the seed is ambiguous, what we decided and why
    sparse: bool = False
    expire_after_seconds: int | None = None
    partial: dict[str, Any] | None = field(default=None, hash=False)
    collation: dict[str, Any] | None = field(default=None, hash=False)
    weights: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        from harness.indexspec import DIRECTIONS

        what = f"index {self.name or [k for k, _ in self.keys]}"
        bad = [d for _, d in self.keys if d not in DIRECTIONS]
        problems = [f"direction {bad[0]!r} (use one of {', '.join(map(repr, DIRECTIONS))})"] if bad else []
        if not self.keys:
            problems.append("no keys")
        if sum(d == "hashed" for _, d in self.keys) > 1:
            problems.append("more than one hashed key")
        if self.unique and any(d in ("hashed", "2dsphere", "text") for _, d in self.keys):
            problems.append("unique on a hashed, 2dsphere or text key")
        if self.expire_after_seconds is not None and (len(self.keys) != 1 or self.expire_after_seconds < 0):
            problems.append("ttl needs exactly one (date) key and seconds >= 0")
        if self.weights and (not self.is_text or {f for f, _ in self.weights} - {k for k, d in self.keys
                                                                                   if d == "text"}):
            problems.append("weights name fields that are not text keys of this index")
        if problems:
            raise HarnessError(f"{what}: " + "; ".join(problems), "see docs/systems.md, section Indexes")

    @property
    def is_text(self) -> bool:
        return any(d == "text" for _, d in self.keys)

    @property
    def has_descending(self) -> bool:
        return any(d == -1 for _, d in self.keys)

    def describe(self) -> str:
        from harness.indexspec import from_index

        return from_index(self).describe()


def idx(*keys: str | tuple[str, int | str], unique: bool = False, name: str | None = None, note: str = "",
        sparse: bool = False, ttl: int | None = None, partial: dict[str, Any] | None = None,
        collation: dict[str, Any] | None = None) -> Index:
    """Shorthand: idx("email", unique=True), idx(("user_id", 1), ("updated_at", -1)),
    idx("expires_at", ttl=0), idx("sku", unique=True, partial={"active": True}),
    idx(("loc", "2dsphere")), idx(("tenant", "hashed")), idx("name", collation={"locale": "en", "strength": 2})."""
    pairs = tuple((k, 1) if isinstance(k, str) else (k[0], k[1]) for k in keys)
    return Index(pairs, unique, name, note, sparse, ttl, partial, collation)


def text(*fields: str, name: str | None = None, note: str = "", weights: dict[str, int] | None = None) -> Index:
    """A text index over `fields`; `weights` gives some fields more weight (default 1)."""
    return Index(tuple((f, "text") for f in fields), False, name, note,
                 weights=tuple(sorted((weights or {}).items())))


def geo(field_name: str, *more: str | tuple[str, int | str], name: str | None = None, note: str = "") -> Index:
    """A 2dsphere index on a GeoJSON field (optionally compound with `more` keys)."""
    pairs = ((field_name, "2dsphere"),) + tuple((k, 1) if isinstance(k, str) else k for k in more)
    return Index(pairs, name=name, note=note)


def hashed(field_name: str, name: str | None = None, note: str = "") -> Index:
    """A hashed index (equality lookups, hashed sharding)."""
    return Index(((field_name, "hashed"),), name=name, note=note)


@dataclass(frozen=True)
class Ref:
    """`field` (dotted; `[]` marks array elements, e.g. "members[]") holds values of
    `target.target_field`. Every value must point at an existing document."""

    field: str
    target: str
    target_field: str = "_id"


# ---------------------------------------------------------------------------------------------
# Counts, growth and retention.


@dataclass(frozen=True)
class Count:
    """How many documents at scale 1: `base` for a root collection, or `ratio` per document of
    `per` (1:1 when `one_to_one`, child i belongs to parent i)."""

    base: int = 0
    per: str | None = None
    ratio: float = 1.0
    one_to_one: bool = False


@dataclass(frozen=True)
class Growth:
    """Growth model for capacity planning: new documents per active user per day (or per new
    user for per-user collections), and how embedded arrays grow per document per day."""

    docs_per_user_day: float = 0.0
    per_new_user: float = 0.0  # documents created once per new user (profiles, 1:1 documents)
    array_items_per_day: dict[str, float] = field(default_factory=dict)  # "messages" -> items/day
    array_cap: dict[str, int] = field(default_factory=dict)  # documented bound, if any
    # the date that makes a document "hot" (recently used) for working-set estimates, e.g.
    # "last_login"; when unset, capacity planning infers it from the documented date fields
    hot_field: str | None = None


RETENTION_ACTIONS = ("delete", "pull", "unset", "archive", "keep", "manual")


@dataclass(frozen=True)
class Retention:
    """One data-retention rule (a row of the seed's lifecycle table), applied by `harness purge`.

    A document is past the rule's cutoff when its `age_field` is older than `as_of - days`.
    `action`:
    - "delete": delete matching documents past the cutoff, and with each the documents of
      `cascade` ((collection, field, parent_field): collection.field == parent.parent_field);
    - "pull": remove the elements of array `target` whose `age_field` (inside the element) is
      past the cutoff; the document stays;
    - "unset": remove `fields` (the detail) from matching documents past the cutoff;
    - "archive": set `target` to `value` on matching documents past the cutoff;
    - "keep" / "manual": documented, nothing to purge ("retain indefinitely", or "user-controlled"
      retention the harness cannot decide); listed so the seed's table is shown in full.
    `match` is a MongoDB filter of plain equality / $ne / $in conditions on top-level fields."""

    name: str
    collection: str
    age_field: str = ""
    days: int = 0
    action: str = "delete"
    match: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    value: Any = None
    fields: tuple[str, ...] = ()
    cascade: tuple[tuple[str, str, str], ...] = ()
    policy: str = ""  # the seed's own words

    def __post_init__(self) -> None:
        if self.action not in RETENTION_ACTIONS:
            raise HarnessError(f"retention rule {self.name!r}: unknown action {self.action!r}",
                               f"choose one of: {', '.join(RETENTION_ACTIONS)}")
        needs = {"pull": self.target and self.age_field, "archive": self.target, "unset": self.fields,
                 "delete": self.age_field}
        if self.action in needs and not needs[self.action]:
            raise HarnessError(f"retention rule {self.name!r}: action {self.action!r} is incomplete",
                               "delete needs age_field; pull needs target and age_field; archive needs "
                               "target; unset needs fields")
        if self.action in ("delete", "pull", "unset", "archive") and self.days <= 0:
            raise HarnessError(f"retention rule {self.name!r}: days must be positive")

    @property
    def purges(self) -> bool:
        """Whether `harness purge` changes data for this rule."""
        return self.action not in ("keep", "manual")


@dataclass(frozen=True)
class BackupPolicy:
    """A seed's backup policy: snapshot frequency, GFS retention, recovery objectives."""

    keep_daily: int
    keep_monthly: int
    keep_yearly: int
    every_hours: float | None = None
    rto_seconds: float | None = None  # recovery time objective
    rpo_seconds: float | None = None  # recovery point objective
    policy: str = ""  # the seed's own words


@dataclass(frozen=True)
class Targets:
    """A system's service-level targets, with where they come from.

    Neutral defaults: no aggregate KPI (every critical query is judged on its own SLA), no
    hot-data window. The recovery time objective lives in `BackupPolicy.rto_seconds`.
    """

    sla_share: float | None = None  # share of critical requests that must finish under their SLA
    index_share: float | None = None  # share of critical queries that must use an index (strictly more)
    hot_days: int | None = None  # documents used within this many days are "hot"
    source: str = "harness default: no target documented by the seed"


# ---------------------------------------------------------------------------------------------
# Collections and systems.

Maker = Callable[["Gen", int], dict[str, Any]]
KeyMaker = Callable[["Gen", int], dict[str, Any]]


@dataclass
class Collection:
    name: str
    count: Count
    make: Maker  # builds document i; must be a pure function of (seed, i)
    # what generated documents cannot show (harness.shape infers the rest from `make`): enums,
    # patterns, or a stricter/looser type; dotted path ("a.b", "arr[].x") -> type
    fields: dict[str, T] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    unique: list[str] = field(default_factory=list)  # unique fields, indexed or not
    keys: KeyMaker | None = None  # attributes other collections reference (ids, dates)
    growth: Growth = field(default_factory=Growth)
    note: str = ""
    # Polymorphic collections (one collection, several documented document types): the value of
    # `discriminator` selects the variant whose fields apply on top of `fields`; fields of the
    # other variants must be absent.
    discriminator: str | None = None
    variants: dict[str, dict[str, T]] = field(default_factory=dict)
    system: System | None = field(default=None, repr=False, compare=False)  # set by System


@dataclass
class Preset:
    scale: float
    description: str


DEFAULT_PRESETS: dict[str, Preset] = {
    "tiny": Preset(0.02, "smoke tests: a few hundred documents"),
    "default": Preset(1.0, "about a minute on the embedded sandbox server"),
    "staging": Preset(25.0, "a staging-sized data set"),
    "production": Preset(500.0, "production-sized: needs a real MongoDB and disk"),
}


@dataclass
class System:
    name: str
    title: str
    seed_doc: str  # e.g. "004 MasterX" — where the design comes from
    database: str
    collections: list[Collection]
    history_years: float = 6.0  # timestamps spread back this far from --as-of
    retention: list[Retention] = field(default_factory=list)
    retention_note: str = ""  # e.g. "the seed documents no retention policy"
    backup: BackupPolicy | None = None  # None: the seed documents no rotation policy
    assumptions: list[str] = field(default_factory=list)
    presets: dict[str, Preset] = field(default_factory=lambda: dict(DEFAULT_PRESETS))
    user_collection: str = "users"  # the collection whose count is "users" in growth models
    user_growth_per_month: float = 0.05  # assumed user growth for capacity planning
    daily_active_share: float = 0.2  # assumed share of users active on a given day
    targets: Targets = field(default_factory=Targets)
    engine: str = "mongodb"  # the seed's own engine (BMD is PostgreSQL); the default target stays MongoDB
    # the documented relational schema, for a PostgreSQL target (harness.engines): None = MongoDB only
    tables: Tables | None = None

    def __post_init__(self) -> None:
        for c in self.collections:
            c.system = self

    def collection(self, name: str) -> Collection:
        for c in self.collections:
            if c.name == name:
                return c
        raise HarnessError(f"system {self.name!r} has no collection {name!r}",
                           f"known: {', '.join(c.name for c in self.collections)}")

    def counts(self, scale: float) -> dict[str, int]:
        """Documents per collection at `scale`, resolving per-parent ratios in order."""
        out: dict[str, int] = {}
        pending = list(self.collections)
        while pending:
            progressed = False
            for c in list(pending):
                if c.count.per is None:
                    out[c.name] = max(1, round(c.count.base * scale))
                elif c.count.per in out:
                    parent = out[c.count.per]
                    out[c.name] = parent if c.count.one_to_one else max(1, round(parent * c.count.ratio))
                else:
                    continue
                pending.remove(c)
                progressed = True
            if not progressed:
                names = ", ".join(c.name for c in pending)
                raise HarnessError(f"system {self.name!r}: count cycle or unknown parent in {names}")
        return out

    def resolve_scale(self, preset: str | None, scale: float | None) -> float:
        if scale is not None:
            if not (math.isfinite(scale) and scale > 0):
                raise HarnessError(f"bad scale {scale!r}: it must be a positive number",
                                   "e.g. --scale 0.5 or --preset default")
            if preset is None:
                return float(scale)
        name = preset or "default"
        if name not in self.presets:
            raise HarnessError(f"unknown preset {name!r}",
                               f"choose one of: {', '.join(self.presets)}")
        return self.presets[name].scale * (scale if scale is not None else 1.0)


# ---------------------------------------------------------------------------------------------
# Loading a fixture (discovery: harness.systems).

_CACHE: dict[Path, System] = {}


def system_names() -> list[str]:
    """Every discovered system (the systems path, then the built-in five)."""
    from harness.systems import system_names as names

    return names()


def load_system(name: str) -> System:
    """The SYSTEM of the fixture that discovery finds for `name`; its name must be `name`."""
    from harness.systems import source

    return load_fixture(source(name).fixture, expect=name)


def load_fixture(path: Path, expect: str | None = None) -> System:
    """Import one fixture file and return its SYSTEM. `expect`: the name it was looked up by,
    which SYSTEM.name must equal (else it would be listed under one name, loaded under another)."""
    path = Path(path).resolve()
    system = _CACHE.get(path)
    if system is None:
        module_name = f"harness_fixture_{path.stem}_{abs(hash(str(path))):x}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise HarnessError(f"cannot import fixture {path}", "a fixture is a Python file defining SYSTEM")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except HarnessError:
            raise
        except Exception as exc:  # a user's fixture: say which file and what, not a traceback
            raise HarnessError(f"fixture {path} failed to import: {type(exc).__name__}: {exc}",
                               f"run `python {path}` to see the full error") from exc
        system = getattr(module, "SYSTEM", None)
        if not isinstance(system, System):
            raise HarnessError(f"{path} defines no SYSTEM", "a fixture must set SYSTEM = System(...)")
        _CACHE[path] = system
    if expect is not None and system.name != expect:
        raise HarnessError(f"fixture {path.name} defines SYSTEM.name {system.name!r}",
                           f"rename the file to {system.name}.py or set name={expect!r}")
    return system


def all_indexes(system: System) -> Iterable[tuple[str, Index]]:
    for c in system.collections:
        for i in c.indexes:
            yield c.name, i
