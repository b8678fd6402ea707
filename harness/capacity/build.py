"""Assemble a capacity plan: measure, project to horizons and user targets, fit, flag."""

from __future__ import annotations

from pymongo.database import Database

from harness.capacity.flags import DEFAULT_MAX_USER_DOCS, flags
from harness.capacity.measure import SAMPLE, measure
from harness.capacity.model import grow, months_to_reach, scale
from harness.capacity.plan import fit, recommend
from harness.capacity.report import Plan
from harness.errors import HarnessError
from harness.servers import Capabilities
from harness.spec import System


def check_inputs(horizons: list[float], users: list[int], ram: int | None, disk: int | None) -> None:
    if not horizons or any(not h > 0 for h in horizons):
        raise HarnessError(f"bad --horizons {','.join(f'{h:g}' for h in horizons)}: months must be positive",
                           "e.g. --horizons 6,12,24")
    if any(h > 240 for h in horizons):
        raise HarnessError("bad --horizons: more than 240 months is not planning", "e.g. --horizons 6,12,24")
    if any(u <= 0 for u in users):
        raise HarnessError("bad --users: a user count must be positive", "e.g. --users 100000")


def assumptions(system: System, retention: bool) -> list[str]:
    out = [f"users grow {system.user_growth_per_month:.1%} a month (compound); "
           f"{system.daily_active_share:.0%} of users are active on a given day (spec)"]
    for c in system.collections:
        g = c.growth
        parts = []
        if g.per_new_user:
            parts.append(f"{g.per_new_user:g} per new user")
        if g.docs_per_user_day:
            parts.append(f"{g.docs_per_user_day:g} per active user a day")
        parts += [f"{k} +{v:g} elements/document/day" + (f" (cap {g.array_cap[k]})" if k in g.array_cap else "")
                  for k, v in g.array_items_per_day.items()]
        if not parts:
            parts.append(f"follows {c.count.per}" if c.count.per else "held constant")
        out.append(f"{c.name}: " + "; ".join(parts))
    out.append("bytes per document, storage per data byte and index bytes per document stay as measured; "
               "array growth adds the sampled BSON size per element, converted to the server's units")
    if retention and system.retention:
        out.append("retention: delete rules remove measured documents by their measured ages and new documents "
                   "(in the measured matching share) once they age past the rule; pull rules remove array elements "
                   "by the sampled elements' ages; cascades and archive/unset rules are not modelled")
    elif system.retention:
        out.append("retention not applied (--ignore-retention): nothing is ever deleted")
    out.append("--users N: the measured data set with N users (user-linked collections scale with users, "
               "catalogues stay), i.e. the scaling model validated against a real 4× load")
    return out


def build(db: Database, system: System, caps: Capabilities, *, horizons: list[float], users: list[int],
          ram: int | None, disk: int | None, retention: bool = True, sample: int = SAMPLE,
          max_user_docs: int = DEFAULT_MAX_USER_DOCS) -> Plan:
    check_inputs(horizons, users, ram, disk)
    meas = measure(db, system, caps, caps.server, sample)
    now = scale(meas, system, 1.0, "now")
    points, monthly = grow(meas, system, sorted(set(horizons)), retention)
    targets = [(scale(meas, system, n / meas.users, f"{n:,} users"), months_to_reach(meas, system, n)) for n in users]
    everything = [now, *points, *(p for p, _ in targets)]
    return Plan(system, meas, now, points, targets, monthly, [fit(p, ram, disk) for p in everything],
                flags(meas, system, points, retention, max_user_docs),
                recommend(everything, ram, disk, meas.per_collection_indexes), ram, disk, retention,
                assumptions(system, retention))
