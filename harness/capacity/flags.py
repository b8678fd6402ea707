"""Collections whose growth will push a critical query past its SLA assumptions.

Three risks, each from measured figures grown by the model:
- an embedded array that grows without a bound (no array_cap, no retention pulling it):
  every read of the document carries it, and it ends at the 16 MiB BSON limit;
- documents approaching the BSON limit (the largest sampled document, grown);
- a per-user result set (a 99th-percentile user's documents) growing past what one
  SLA-bound query can return in a single batch of reasonable size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.capacity.measure import Measurement
from harness.capacity.model import Point, array_bound
from harness.capacity.units import BSON_LIMIT, MIB, human
from harness.spec import System

DOC_WARN = 1 * MIB  # a document this large makes every point read of it slow and cache-hungry
DOC_CRITICAL = BSON_LIMIT // 2
DEFAULT_MAX_USER_DOCS = 1000


@dataclass
class Flag:
    collection: str
    kind: str  # unbounded_array | document_size | per_user_results | no_growth_model
    severity: str  # critical | warn | info
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "kind": self.kind, "severity": self.severity,
                "message": self.message}


def flags(meas: Measurement, system: System, points: list[Point], retention: bool = True,
          max_user_docs: int = DEFAULT_MAX_USER_DOCS) -> list[Flag]:
    """Risks at the given points (the last one is the farthest horizon)."""
    out: list[Flag] = []
    if not points:
        return out
    far = points[-1]
    for coll in system.collections:
        cs = meas.collections[coll.name]
        proj = far.collections[coll.name]
        for path, rate in coll.growth.array_items_per_day.items():
            bound = array_bound(coll, path, system, retention)
            a = cs.arrays.get(path)
            item = a.item_bytes if a else 0.0
            if bound is None and rate > 0:
                years = (BSON_LIMIT - (cs.bson_max_bytes or 0)) / (rate * item) / 365.25 if item else None
                soon = (proj.max_doc_bytes or 0) >= DOC_CRITICAL or (years is not None and years < 5)
                sev = "critical" if soon else "warn" if years is None or years < 50 else "info"
                reach = "" if years is None else (f"; the largest document reaches 16 MiB in about {years:.1f} years"
                                                  if years < 1000 else "; 16 MiB is over 1,000 years away")
                out.append(Flag(coll.name, "unbounded_array", sev,
                                f"{path} grows {rate:g} elements/document/day with no array_cap and no retention: "
                                f"{proj.array_items.get(path, 0):.0f} on average and "
                                f"{proj.max_array_items.get(path, 0):.0f} in the largest document at {far.label} "
                                f"({human(item)} each){reach}"))
            elif bound is not None and a is not None:
                out.append(Flag(coll.name, "bounded_array", "info",
                                f"{path} is bounded at {bound:.0f} elements "
                                f"(≈{human(bound * item)} of array per document)"))
        if proj.max_doc_bytes is not None and proj.max_doc_bytes >= DOC_WARN:
            sev = "critical" if proj.max_doc_bytes >= DOC_CRITICAL else "warn"
            out.append(Flag(coll.name, "document_size", sev,
                            f"largest document ≈{human(proj.max_doc_bytes)} at {far.label} (now "
                            f"{human(cs.bson_max_bytes)} in a sample of {cs.sampled}); the BSON limit is 16 MiB"))
        if proj.per_user_p99 is not None:
            p99_bytes = proj.per_user_p99 * proj.avg_doc_bytes
            if proj.per_user_p99 > max_user_docs or p99_bytes > BSON_LIMIT:
                out.append(Flag(coll.name, "per_user_results", "warn",
                                f"a 99th-percentile user owns ≈{proj.per_user_p99:,.0f} documents "
                                f"(≈{human(p99_bytes)}) at {far.label} (now {cs.per_user.p99:,.0f}): a per-user "  # type: ignore[union-attr]
                                f"query without a time bound or limit returns more than {max_user_docs:,} documents"))
        if not any((coll.growth.docs_per_user_day, coll.growth.per_new_user, coll.growth.array_items_per_day,
                    coll.count.per, coll.name == system.user_collection)):
            out.append(Flag(coll.name, "no_growth_model", "info",
                            "no growth rule in the spec: held constant"))
    order = {"critical": 0, "warn": 1, "info": 2}
    return sorted(out, key=lambda f: (order[f.severity], f.collection))
