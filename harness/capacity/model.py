"""Projecting a measurement: to k× the users (same per-user history), or forward in time.

Every projected figure is a measured per-document figure times a projected document count,
plus modelled growth of embedded arrays and minus modelled retention; nothing else.

- Scaling (`scale`): counts follow the spec's Count model (k× users → the collection counts the
  spec gives at k× the scale), or, for a target user count, user-linked collections scale
  with users and catalogues stay put. Bytes per document, storage per data byte, index bytes
  per document, the hot share and per-user distributions stay as measured. This is the model
  `harness capacity --users N` uses and the one validated against a real 4× load.
- Growing (`grow`): users compound at System.user_growth_per_month. Per-user collections gain
  Growth.per_new_user documents per new user; activity collections gain docs_per_user_day ×
  daily_active_share × users documents a day; collections without a growth rule follow their
  parent (Count.per) or stay constant. Arrays gain array_items_per_day elements per document a
  day up to array_cap (or, with retention, items/day × the pull rule's days). Retention "delete"
  rules remove existing documents by their measured ages and new ones as they age; "pull"
  rules remove array elements by their measured ages.
- Working set = every index + the hot documents: those whose recency date (Growth.hot_field,
  else inferred) lies within the last 90 days (seed 004's hot storage tier).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.capacity.measure import CollectionStats, Measurement
from harness.spec import Collection, System

DAYS_PER_MONTH = 365.25 / 12


@dataclass
class CollectionProjection:
    name: str
    count: float
    data_bytes: float
    storage_bytes: float | None
    index_bytes: float | None
    hot_docs: float
    avg_doc_bytes: float  # server units
    max_doc_bytes: float | None  # BSON, largest sampled document grown
    array_items: dict[str, float] = field(default_factory=dict)  # average elements per document
    max_array_items: dict[str, float] = field(default_factory=dict)
    per_user_p99: float | None = None  # documents of a 99th-percentile user

    @property
    def hot_bytes(self) -> float:
        return self.hot_docs * self.avg_doc_bytes

    def as_dict(self) -> dict[str, Any]:
        return {"count": round(self.count), "data_bytes": round(self.data_bytes),
                "storage_bytes": _round(self.storage_bytes), "index_bytes": _round(self.index_bytes),
                "hot_docs": round(self.hot_docs), "hot_bytes": round(self.hot_bytes),
                "avg_doc_bytes": round(self.avg_doc_bytes, 1), "max_doc_bytes": _round(self.max_doc_bytes),
                "array_items": {k: round(v, 1) for k, v in self.array_items.items()},
                "max_array_items": {k: round(v, 1) for k, v in self.max_array_items.items()},
                "per_user_p99_docs": None if self.per_user_p99 is None else round(self.per_user_p99, 1)}


def _round(x: float | None) -> int | None:
    return None if x is None else round(x)


@dataclass
class Point:
    """The whole system at one horizon or user count."""

    label: str
    months: float | None
    users: float
    collections: dict[str, CollectionProjection]
    db_index_bytes: float | None = None  # when only a database-wide index size is known

    @property
    def data_bytes(self) -> float:
        return sum(c.data_bytes for c in self.collections.values())

    @property
    def storage_bytes(self) -> float | None:
        vals = [c.storage_bytes for c in self.collections.values()]
        return None if any(v is None for v in vals) else float(sum(vals))  # type: ignore[arg-type]

    @property
    def index_bytes(self) -> float | None:
        vals = [c.index_bytes for c in self.collections.values()]
        if all(v is not None for v in vals):
            return float(sum(vals))  # type: ignore[arg-type]
        return self.db_index_bytes

    @property
    def hot_bytes(self) -> float:
        return sum(c.hot_bytes for c in self.collections.values())

    @property
    def working_set(self) -> float:
        return self.hot_bytes + (self.index_bytes or 0.0)

    @property
    def disk_bytes(self) -> float:
        """What the data needs on disk: storage (data if storage is unknown) plus indexes."""
        return (self.storage_bytes if self.storage_bytes is not None else self.data_bytes) + (self.index_bytes or 0)

    @property
    def documents(self) -> float:
        return sum(c.count for c in self.collections.values())

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "months": self.months, "users": round(self.users),
                "documents": round(self.documents), "data_bytes": round(self.data_bytes),
                "storage_bytes": _round(self.storage_bytes), "index_bytes": _round(self.index_bytes),
                "index_bytes_scope": "database" if self.db_index_bytes is not None else "collections",
                "hot_bytes": round(self.hot_bytes), "working_set_bytes": round(self.working_set),
                "disk_bytes": round(self.disk_bytes),
                "collections": {k: c.as_dict() for k, c in self.collections.items()}}


# ---------------------------------------------------------------------------------------------
# Helpers shared by both projections.


def user_linked(system: System, coll: Collection) -> bool:
    """Does this collection grow with users (directly, by its growth rule, or via its parent)?"""
    if coll.name == system.user_collection or coll.growth.per_new_user > 0 or coll.growth.docs_per_user_day > 0:
        return True
    return coll.count.per is not None and user_linked(system, system.collection(coll.count.per))


def _per_doc_index(cs: CollectionStats) -> float | None:
    """Index bytes per document above the empty indexes' fixed allocation."""
    total = cs.total_index_bytes
    if total is None or cs.count <= 0:
        return None
    return max(0.0, total - cs.empty_index_bytes) / cs.count


def _index_bytes(cs: CollectionStats, n: float) -> float | None:
    idx = _per_doc_index(cs)
    return None if idx is None else cs.empty_index_bytes + n * idx


def _storage_ratio(cs: CollectionStats) -> float | None:
    """Storage bytes per data byte above the empty collection's fixed allocation."""
    if cs.storage_bytes is None or not cs.data_bytes:
        return None
    return max(0.0, cs.storage_bytes - cs.empty_storage_bytes) / cs.data_bytes


def _storage_bytes(cs: CollectionStats, data: float) -> float | None:
    ratio = _storage_ratio(cs)
    return None if ratio is None else cs.empty_storage_bytes + data * ratio


def _index_entries(system: System, counts: dict[str, float]) -> float:
    """A proxy for index entries: documents × (documented indexes + _id)."""
    return sum(n * (len(system.collection(name).indexes) + 1) for name, n in counts.items())


def _db_index(meas: Measurement, system: System, counts: dict[str, float]) -> float | None:
    if meas.per_collection_indexes or meas.db_index_bytes is None:
        return None
    now = _index_entries(system, {k: c.count for k, c in meas.collections.items()})
    return meas.db_index_bytes * _index_entries(system, counts) / now if now else None


# ---------------------------------------------------------------------------------------------
# Scaling: k× users with the same per-user history.


def count_factors(meas: Measurement, system: System, factor: float, by_spec: bool) -> dict[str, float]:
    """Per-collection count multipliers for `factor`× users: from the spec's Count model at the
    loaded scale (`by_spec`, needs the load record), else users-linked collections × factor."""
    if by_spec and meas.loaded_scale:
        s = float(meas.loaded_scale)
        now, then = system.counts(s), system.counts(s * factor)
        return {c.name: then[c.name] / now[c.name] for c in system.collections}
    return {c.name: factor if user_linked(system, c) else 1.0 for c in system.collections}


def scale(meas: Measurement, system: System, factor: float, label: str, by_spec: bool = False) -> Point:
    """The measured data set with `factor`× the users (see module docstring)."""
    mult = count_factors(meas, system, factor, by_spec)
    out: dict[str, CollectionProjection] = {}
    for name, cs in meas.collections.items():
        n = cs.count * mult[name]
        bpd = cs.bytes_per_doc or 0.0
        hot = n if cs.hot_share is None else n * cs.hot_share
        out[name] = CollectionProjection(
            name, n, n * bpd, _storage_bytes(cs, n * bpd), _index_bytes(cs, n), hot, bpd,
            cs.bson_max_bytes, {k: a.avg_len for k, a in cs.arrays.items()},
            {k: float(a.max_len) for k, a in cs.arrays.items()},
            cs.per_user.p99 if cs.per_user else None)
    counts = {k: c.count for k, c in out.items()}
    return Point(label, None, meas.users * factor, out, _db_index(meas, system, counts))


# ---------------------------------------------------------------------------------------------
# Growing forward in time.


@dataclass
class _Series:
    """Daily series for one collection (index = day from as_of)."""

    count: np.ndarray
    cum_new: np.ndarray
    existing_left: np.ndarray  # measured documents not yet deleted by retention


def _order(system: System) -> list[Collection]:
    done: list[Collection] = []
    pending = list(system.collections)
    while pending:
        for c in list(pending):
            if c.count.per is None or c.count.per in {d.name for d in done} or c.growth.per_new_user > 0 \
                    or c.growth.docs_per_user_day > 0:
                done.append(c)
                pending.remove(c)
                break
        else:
            done += pending
            break
    return done


def _deleted_existing(cs: CollectionStats, days: np.ndarray, retention: bool, system: System) -> np.ndarray:
    gone = np.zeros(len(days))
    if not retention:
        return gone
    for rule in system.retention:
        ages = cs.deletions.get(rule.name)
        if rule.collection != cs.name or ages is None:
            continue
        # a document goes once its age (measured age + elapsed days) passes the rule's days
        gone += len(ages) - np.searchsorted(ages, rule.days - days, side="right")
    return np.minimum(gone, cs.count)


def _deleted_new(cs: CollectionStats, cum_new: np.ndarray, retention: bool, system: System) -> np.ndarray:
    gone = np.zeros(len(cum_new))
    if not retention or cs.count <= 0:
        return gone
    for rule in system.retention:
        ages = cs.deletions.get(rule.name)
        if rule.collection != cs.name or ages is None:
            continue
        share = min(1.0, len(ages) / cs.count)  # share of documents the rule's match selects
        lag = rule.days + 1
        if lag < len(cum_new):
            gone[lag:] += share * cum_new[: len(cum_new) - lag]
    return np.minimum(gone, cum_new)


def _series(meas: Measurement, system: System, days: np.ndarray, retention: bool) -> dict[str, _Series]:
    g = system.user_growth_per_month
    users = meas.users * (1 + g) ** (days / DAYS_PER_MONTH)
    new_users = np.diff(users, prepend=meas.users)
    out: dict[str, _Series] = {}
    for coll in _order(system):
        cs = meas.collections[coll.name]
        gr = coll.growth
        if coll.name == system.user_collection or gr.per_new_user > 0:
            per = 1.0 if coll.name == system.user_collection and gr.per_new_user <= 0 else gr.per_new_user
            new = per * new_users
        elif gr.docs_per_user_day > 0:
            new = gr.docs_per_user_day * system.daily_active_share * users
            new[0] = 0.0
        elif coll.count.per is not None and coll.count.per in out:
            parent = out[coll.count.per].count
            p0 = meas.collections[coll.count.per].count or 1
            new = np.diff(cs.count * parent / p0, prepend=cs.count)
        else:
            new = np.zeros(len(days))
        cum = np.cumsum(new)
        left = cs.count - _deleted_existing(cs, days, retention, system)
        count = np.maximum(0.0, left + cum - _deleted_new(cs, cum, retention, system))
        out[coll.name] = _Series(count, cum, left)
    return out


def array_bound(coll: Collection, path: str, system: System, retention: bool) -> float | None:
    """Most elements one document can hold: the documented cap, or what a pull rule keeps."""
    bounds = []
    if path in coll.growth.array_cap:
        bounds.append(float(coll.growth.array_cap[path]))
    rate = coll.growth.array_items_per_day.get(path, 0.0)
    if retention:
        bounds += [rate * r.days for r in system.retention
                   if r.collection == coll.name and r.action == "pull" and r.target == path]
    return min(bounds) if bounds else None


def _at(meas: Measurement, system: System, d: int, days: np.ndarray, series: dict[str, _Series],
        retention: bool, label: str) -> Point:
    users = meas.users * (1 + system.user_growth_per_month) ** (d / DAYS_PER_MONTH)
    out: dict[str, CollectionProjection] = {}
    for coll in system.collections:
        cs, s = meas.collections[coll.name], series[coll.name]
        n = float(s.count[d])
        conv = cs.server_per_bson
        bpd = cs.bytes_per_doc or 0.0
        items, max_items, extra_bytes, max_extra = {}, {}, 0.0, 0.0
        for path, rate in coll.growth.array_items_per_day.items():
            a = cs.arrays.get(path)
            if a is None:
                continue
            bound = array_bound(coll, path, system, retention)
            doc_days = float(s.count[: d + 1].sum()) if d > 0 else 0.0
            added = rate * doc_days / n if n else 0.0
            if bound is not None:
                added = min(added, max(0.0, bound - a.avg_len))
            added_max = rate * d if bound is None else min(rate * d, max(0.0, bound - a.max_len))
            items[path], max_items[path] = a.avg_len + added, a.max_len + added_max
            extra_bytes += added * a.item_bytes * conv
            max_extra += added_max * a.item_bytes
        pulled = 0.0
        if retention:
            for p in cs.pulls:
                old_new = float(s.cum_new[d - p.days - 1]) if d > p.days else 0.0
                pulled += (p.bytes_older_than(p.days - d) * float(s.existing_left[d]) + p.avg_bytes * old_new) * conv
        data = max(0.0, n * (bpd + extra_bytes) - pulled)
        avg = data / n if n else bpd
        hot = _hot(cs, coll, system, s, d, n, meas.hot_days)
        per_user = None
        if cs.per_user and cs.count:
            per_user = cs.per_user.p99 * (n / users) / (cs.count / meas.users)
        out[coll.name] = CollectionProjection(
            coll.name, n, data, _storage_bytes(cs, data), _index_bytes(cs, n), hot, avg,
            None if cs.bson_max_bytes is None else cs.bson_max_bytes + max_extra, items, max_items, per_user)
    counts = {k: c.count for k, c in out.items()}
    return Point(label, d / DAYS_PER_MONTH, users, out, _db_index(meas, system, counts))


def _hot(cs: CollectionStats, coll: Collection, system: System, s: _Series, d: int, n: float, window: int) -> float:
    if cs.hot_ages is None:
        return n
    if coll.growth.docs_per_user_day > 0 and not coll.growth.array_items_per_day:
        # append-only activity: hot = what was created in the last `window` days (documents that
        # keep growing arrays keep being touched, so they keep their measured hot share instead)
        still = float(np.searchsorted(cs.hot_ages, window - d, side="right")) if d <= window else 0.0
        recent = float(s.cum_new[d] - (s.cum_new[d - window] if d > window else 0.0))
        return min(n, still + recent)
    return n * (cs.hot_share or 0.0)


def grow(meas: Measurement, system: System, months: list[float], retention: bool = True
         ) -> tuple[list[Point], list[Point]]:
    """Points at each horizon (months) and a monthly series from month 0 for charts."""
    horizon = max(months)
    last = int(math.ceil(horizon * DAYS_PER_MONTH))
    days = np.arange(last + 1, dtype=float)
    series = _series(meas, system, days, retention)
    points = [_at(meas, system, int(round(m * DAYS_PER_MONTH)), days, series, retention, f"{m:g} months")
              for m in months]
    monthly = [_at(meas, system, int(round(m * DAYS_PER_MONTH)), days, series, retention, f"month {m}")
               for m in range(int(math.ceil(horizon)) + 1)]
    return points, monthly


def months_to_reach(meas: Measurement, system: System, users: float) -> float | None:
    """Months until compound user growth reaches `users` (None if it never does)."""
    g = system.user_growth_per_month
    if users <= meas.users:
        return 0.0
    if g <= 0:
        return None
    return math.log(users / meas.users) / math.log(1 + g)
