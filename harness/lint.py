"""`harness lint`: check a system's description offline, before any server sees it.

What a live test would otherwise find late (a dangling reference, an index on a field nobody
generates, a unique key that collides at production scale) is found here by generating documents
in-process: every document of the smallest preset, and a spread-out sample at the largest.
Each finding is one line; `harness lint` exits 1 when there is any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.datagen import Gen
from harness.errors import HarnessError
from harness.schema import check_document, values
from harness.spec import Collection, System, load_fixture

LINT_SEED = 7
LINT_AS_OF = datetime(2026, 1, 1)
UNIQUE_SAMPLE = 2000  # documents per collection drawn at the largest preset (birthday bound: a key
# space below ~2M values shows a collision in such a sample)


@dataclass(frozen=True)
class Finding:
    system: str
    where: str  # collection, collection.field, workload operation, or the file
    check: str  # names | reference | unique | field | schema | needs | index
    message: str

    def line(self) -> str:
        return f"{self.system}: {self.where}: {self.message} [{self.check}]"


def _plain_paths(fields: dict[str, Any]) -> set[str]:
    """Schema paths as queries and indexes name them: `a[].b` -> `a.b`, plus every prefix."""
    out: set[str] = set()
    for path in fields:
        plain = path.replace("[]", "")
        parts = plain.split(".")
        out.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return out | {"_id"}


def _documented_paths(coll: Collection) -> set[str]:
    from harness.shape import documented

    fields, variants = documented(coll)
    paths = _plain_paths(fields)
    for own in variants.values():
        paths |= _plain_paths(own)
    return paths


def _generate(system: System, scale: float, seed: int = LINT_SEED) -> Iterator[tuple[Collection, list[dict]]]:
    counts = system.counts(scale)
    g = Gen(system, seed, LINT_AS_OF, counts)
    for coll in system.collections:
        docs = []
        for i in range(counts[coll.name]):
            g.begin(coll.name, i)
            docs.append(coll.make(g, i))
        yield coll, docs


def _smallest_and_largest(system: System) -> tuple[float, float]:
    scales = sorted(p.scale for p in system.presets.values()) or [1.0]
    return scales[0], scales[-1]


def _unique_keys(coll: Collection) -> list[tuple[str, ...]]:
    keys = [(f,) for f in coll.unique]
    keys += [tuple(k for k, _ in ix.keys) for ix in coll.indexes if ix.unique and not ix.partial]
    return list(dict.fromkeys(keys))


def lint_system(system: System, name: str | None = None, path: Path | None = None) -> list[Finding]:
    """Every finding for `system` (looked up as `name`, from fixture `path`)."""
    out: list[Finding] = []
    sysname = system.name

    def add(where: str, check: str, message: str) -> None:
        out.append(Finding(sysname, where, check, message))

    if path is not None and path.stem != system.name:
        add(path.name, "names", f"file is named {path.stem!r} but SYSTEM.name is {system.name!r}")
    if name is not None and name != system.name and (path is None or path.stem != name):
        add(name, "names", f"looked up as {name!r} but SYSTEM.name is {system.name!r}")
    try:
        system.counts(1.0)
    except HarnessError as exc:
        add("counts", "reference", str(exc))
        return out
    names = {c.name for c in system.collections}
    dup = [n for n, k in Counter(c.name for c in system.collections).items() if k > 1]
    for n in dup:
        add(n, "names", "collection declared twice")

    paths = {c.name: _documented_paths(c) for c in system.collections}
    for coll in system.collections:
        for ix in coll.indexes:
            fields = [k for k, _ in ix.keys] + list(_filter_fields(ix.partial or {}))
            for f in fields:
                if f not in paths[coll.name]:
                    add(f"{coll.name}.{f}", "field", f"index {ix.describe()} names a field no generated document has")
        for ref in coll.refs:
            if ref.target not in names:
                add(f"{coll.name}.{ref.field}", "reference", f"refers to unknown collection {ref.target!r}")
        for r in system.retention:
            if r.collection == coll.name and r.age_field and r.action != "pull" \
                    and r.age_field not in paths[coll.name]:
                add(f"{coll.name}.{r.age_field}", "field", f"retention rule {r.name!r} ages by a field no "
                                                           "generated document has")
    for r in system.retention:
        if r.collection not in names:
            add(r.collection, "reference", f"retention rule {r.name!r} names an unknown collection")

    # every document of the smallest preset: references resolve and have values; schema holds
    small, large = _smallest_and_largest(system)
    docs = dict((c.name, d) for c, d in _generate(system, small))
    for coll in system.collections:
        problems = Counter(p for d in docs[coll.name] for p in check_document(d, coll))
        for problem, n in problems.most_common(5):
            add(coll.name, "schema", f"{problem} ({n} of {len(docs[coll.name])} documents at scale {small:g})")
        for ref in coll.refs:
            if ref.target not in docs:
                continue
            target = {v for d in docs[ref.target] for v in values(d, ref.target_field)}
            used = {v for d in docs[coll.name] for v in values(d, ref.field)}
            where = f"{coll.name}.{ref.field}"
            if not used:
                add(where, "reference", f"no document has a value at scale {small:g} (the smallest preset)")
            dangling = used - target
            if dangling:
                add(where, "reference", f"{len(dangling)} value(s) point at no {ref.target}.{ref.target_field}, "
                                        f"e.g. {next(iter(dangling))!r}")
    out += _unique_at_largest(system, large)
    out += lint_workload(system)
    return out


def _filter_fields(flt: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for k, v in flt.items():
        if k in ("$and", "$or", "$nor") and isinstance(v, list):
            for sub in v:
                found += _filter_fields(sub)
        elif not k.startswith("$"):
            found.append(k)
    return found


def _unique_at_largest(system: System, scale: float) -> list[Finding]:
    """Unique keys on a sample spread over the largest preset: a key drawn from a space much
    smaller than the count collides within a few thousand draws (the birthday bound)."""
    out = []
    counts = system.counts(scale)
    g = Gen(system, LINT_SEED, LINT_AS_OF, counts)
    for coll in system.collections:
        keys = _unique_keys(coll)
        if not keys:
            continue
        n = counts[coll.name]
        step = max(1, n // UNIQUE_SAMPLE)
        seen: dict[tuple[str, ...], Counter] = {k: Counter() for k in keys}
        for i in range(0, n, step):
            g.begin(coll.name, i)
            doc = coll.make(g, i)
            for key in keys:
                combo = tuple(tuple(values(doc, f)) for f in key)
                if all(combo):
                    seen[key][repr(combo)] += 1
        for key, tally in seen.items():
            dups = [v for v, k in tally.items() if k > 1]
            if dups:
                add = f"{coll.name}.{'+'.join(key)}"
                out.append(Finding(system.name, add, "unique",
                                   f"collides at the largest preset (scale {scale:g}, {n:,} documents): "
                                   f"{len(dups)} repeated value(s) in a sample of {sum(tally.values()):,}, "
                                   f"e.g. {dups[0][:60]}"))
    return out


def lint_workload(system: System) -> list[Finding]:
    """The workload beside the system: it names this system, its `needs=` are capabilities the
    probe knows, and every field an operation filters or sorts on exists in generated documents."""
    from harness.servers.capabilities import DESCRIPTIONS
    from harness.systems import discover

    found = discover().get(system.name)
    if found is None or found.workload is None:
        return []
    try:
        from harness.workload import load_workload  # type: ignore[import-not-found]
    except ImportError:  # workloads as plain objects (harness.workload) are not installed here
        return []
    out: list[Finding] = []
    try:
        workload = load_workload(system.name, found.workload)
    except HarnessError as exc:
        return [Finding(system.name, found.workload.name, "names", exc.line())]
    if getattr(workload, "system", system.name) != system.name:
        out.append(Finding(system.name, found.workload.name, "names",
                           f"workload names system {workload.system!r}, not {system.name!r}"))
    for op in workload.operations:
        for need in op.needs:
            if need not in DESCRIPTIONS:
                out.append(Finding(system.name, f"workload {op.name}", "needs",
                                   f"needs={need!r} is not a known capability (known: {', '.join(DESCRIPTIONS)})"))
    paths = {c.name: _documented_paths(c) for c in system.collections}
    for shape in workload.shapes():
        if shape.collection not in paths:
            out.append(Finding(system.name, f"workload {shape.operation}", "field",
                               f"uses unknown collection {shape.collection!r}"))
            continue
        for f in (*shape.filter_fields, *shape.sort_fields):
            plain = ".".join(part for part in f.split(".") if not part.isdigit() and part != "$")  # a.0.b -> a.b
            if plain not in paths[shape.collection]:
                out.append(Finding(system.name, f"workload {shape.operation}", "field",
                                   f"filters or sorts on {shape.collection}.{f}, which no generated document has"))
    return out


def lint(target: str) -> list[Finding]:
    """Findings for a system name, or a fixture file (`path/to/fixtures/x.py`)."""
    from harness.systems import source

    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise HarnessError(f"no fixture file {target}", "give a system name or a path to fixtures/<name>.py")
        return lint_system(load_fixture(path), path=path)
    src = source(target)
    return lint_system(load_fixture(src.fixture), name=target, path=src.fixture)
