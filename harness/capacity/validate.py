"""How well does the model predict a load it never saw? Project a measurement at scale s to
k·s and compare with a real measurement at k·s, figure by figure.

Only figures both servers really report are compared: document counts and data sizes always;
storage where reported; index sizes per collection where reported, else the database-wide
figure. Page-granular figures (nx-27017's 4 KiB SQLite pages, DocumentDB's 8 KiB PostgreSQL
pages) of tiny collections are reported but not gated: at a few dozen documents one page more
or less, or a relation's fixed first pages, is a large relative error that says nothing about
the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.capacity.measure import Measurement
from harness.capacity.model import scale
from harness.errors import HarnessError
from harness.spec import System

TARGET = 0.10
GATED = ("count", "data_bytes", "storage_bytes")
MIN_PAGES = 256  # below this many 8 KiB pages (2 MiB) a page-granular figure is not gated
PAGE_BYTES = 8192


@dataclass
class Error:
    collection: str  # or "total"
    figure: str  # count | data_bytes | storage_bytes | index_bytes
    projected: float
    measured: float
    gated: bool
    why_not_gated: str = ""

    @property
    def error(self) -> float:
        return (self.projected - self.measured) / self.measured if self.measured else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "figure": self.figure, "projected": round(self.projected),
                "measured": round(self.measured), "error": round(self.error, 4), "gated": self.gated,
                "why_not_gated": self.why_not_gated}


@dataclass
class Validation:
    system: str
    server: str
    small_scale: float | None
    large_scale: float | None
    factor: float
    errors: list[Error] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    target: float = TARGET

    @property
    def worst(self) -> Error | None:
        gated = [e for e in self.errors if e.gated]
        return max(gated, key=lambda e: abs(e.error)) if gated else None

    @property
    def passed(self) -> bool:
        w = self.worst
        return w is not None and abs(w.error) <= self.target

    def total(self, figure: str) -> Error | None:
        return next((e for e in self.errors if e.collection == "total" and e.figure == figure), None)

    def as_dict(self) -> dict[str, Any]:
        w = self.worst
        return {"system": self.system, "server": self.server, "small_scale": self.small_scale,
                "large_scale": self.large_scale, "factor": self.factor, "target": self.target,
                "passed": self.passed, "worst": w.as_dict() if w else None,
                "errors": [e.as_dict() for e in self.errors], "unavailable": self.unavailable}


def _gate(figure: str, measured: float, page_granular: bool) -> tuple[bool, str]:
    if figure == "count":
        return True, ""
    if page_granular and measured < MIN_PAGES * PAGE_BYTES:
        return False, f"page-granular figure under {MIN_PAGES} pages"
    if figure == "index_bytes" and page_granular:
        return False, "page-granular index sizes"
    return True, ""


def validate(small: Measurement, large: Measurement, system: System) -> Validation:
    """Project `small` to `large`'s user count and compare with `large`."""
    if small.system != large.system:
        raise HarnessError(f"cannot compare {small.system} with {large.system}")
    factor = large.users / small.users
    if small.loaded_scale and large.loaded_scale:
        factor = float(large.loaded_scale) / float(small.loaded_scale)
    proj = scale(small, system, factor, f"projected ×{factor:g}", by_spec=True)
    v = Validation(system.name, large.server, small.loaded_scale, large.loaded_scale, factor)
    sums: dict[str, list[tuple[float, float] | None]] = {}
    for name, m in large.collections.items():
        p, s = proj.collections[name], small.collections[name]
        gran = m.page_granular or s.page_granular
        figures = {"count": (p.count, m.count), "data_bytes": (p.data_bytes, m.data_bytes),
                   "storage_bytes": (p.storage_bytes, m.storage_bytes),
                   "index_bytes": (p.index_bytes, m.total_index_bytes)}
        for fig, (pv, mv) in figures.items():
            if pv is None or mv is None:
                v.unavailable.append(f"{name}.{fig}")
                sums.setdefault(fig, []).append(None)
                continue
            gated, why = _gate(fig, float(mv), gran)
            v.errors.append(Error(name, fig, float(pv), float(mv), gated, why))
            sums.setdefault(fig, []).append((float(pv), float(mv)))
    any_gran = any(c.page_granular for c in large.collections.values())
    for fig, pairs in sums.items():
        if any(x is None for x in pairs):
            continue  # a total over some collections only would mislead
        pv, mv = sum(x[0] for x in pairs), sum(x[1] for x in pairs)  # type: ignore[index]
        if mv > 0:
            gated, why = _gate(fig, mv, any_gran and fig == "index_bytes")
            v.errors.append(Error("total", fig, pv, mv, gated, why))
    if not large.per_collection_indexes and proj.db_index_bytes is not None and large.db_index_bytes:
        v.errors.append(Error("total", "index_bytes (database-wide)", proj.db_index_bytes,
                              float(large.db_index_bytes), False,
                              "dbStats indexSize: whole database, SQLite pages; reported only"))
    return v
