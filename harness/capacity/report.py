"""One capacity plan, rendered three ways: terminal tables, JSON, and an HTML page with charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.capacity.flags import Flag
from harness.capacity.measure import Measurement
from harness.capacity.model import Point
from harness.capacity.plan import Fit
from harness.capacity.units import human, wiredtiger_cache
from harness.output import table
from harness.reporting import figure_uri, new_figure, stamp, write_html, write_json
from harness.spec import System

WORKING_SET = ("working set = every index + the hot documents: those whose recency date lies within the last "
               "{days} days (seed 004's hot storage tier); WiredTiger's default cache is 50% of (RAM - 1 GiB), "
               "at least 256 MiB")


@dataclass
class Plan:
    system: System
    measurement: Measurement
    now: Point
    horizons: list[Point]
    targets: list[tuple[Point, float | None]]  # (point at N users, months until growth reaches N)
    monthly: list[Point]
    fits: list[Fit]
    flags: list[Flag]
    recommendations: list[str]
    ram: int | None
    disk: int | None
    retention: bool
    assumptions: list[str] = field(default_factory=list)

    @property
    def points(self) -> list[Point]:
        return [self.now, *self.horizons, *(p for p, _ in self.targets)]

    @property
    def breach(self) -> bool:
        return any(f.ram_fits is False or f.disk_fits is False for f in self.fits) or \
            any(f.severity == "critical" for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        m = self.measurement
        return {
            "system": self.system.name, "title": self.system.title, "database": m.database, "server": m.server,
            "as_of": m.as_of, "loaded_scale": m.loaded_scale, "users": m.users,
            "growth": {"user_growth_per_month": self.system.user_growth_per_month,
                       "daily_active_share": self.system.daily_active_share, "retention_applied": self.retention},
            "working_set_definition": WORKING_SET.format(days=m.hot_days),
            "ram_bytes": self.ram, "disk_bytes": self.disk,
            "cache_bytes": wiredtiger_cache(self.ram) if self.ram else None,
            "measured": m.as_dict(),
            "now": self.now.as_dict(),
            "horizons": [p.as_dict() for p in self.horizons],
            "targets": [p.as_dict() | {"months_to_reach": None if t is None else round(t, 1)} for p, t in self.targets],
            "fits": [f.as_dict() for f in self.fits],
            "flags": [f.as_dict() for f in self.flags],
            "recommendations": self.recommendations,
            "assumptions": self.assumptions,
            "breach": self.breach,
        }


# ---------------------------------------------------------------------------------------------
# Terminal.


def print_summary(plan: Plan) -> None:
    m = plan.measurement
    rows = []
    for name, c in m.collections.items():
        idx = human(c.total_index_bytes) if c.total_index_bytes is not None else "n/a"
        rows.append((name, f"{c.count:,}", human(c.bytes_per_doc), human(c.data_bytes), human(c.storage_bytes), idx,
                     "n/a" if c.hot_share is None else f"{c.hot_share:.0%}"))
    db_idx = f" (database-wide index size {human(m.db_index_bytes)})" if not m.per_collection_indexes else ""
    table(f"{plan.system.title} measured in {m.database} ({m.users:,} users){db_idx}",
          ["collection", "docs", "avg doc", "data", "storage", "indexes", "hot (90 d)"], rows)
    fits = {f.label: f for f in plan.fits}
    prow = []
    for p in plan.points:
        f = fits.get(p.label)
        ram = "" if f is None or f.ram_fits is None else ("fits" if f.ram_fits else "TOO SMALL")
        disk = "" if f is None or f.disk_fits is None else ("fits" if f.disk_fits else "TOO SMALL")
        prow.append((p.label, f"{p.users:,.0f}", f"{p.documents:,.0f}", human(p.data_bytes), human(p.storage_bytes),
                     human(p.index_bytes), human(p.working_set), ram, disk))
    table("projection" + ("" if plan.retention else " (retention not applied)"),
          ["point", "users", "docs", "data", "storage", "indexes", "working set", "RAM", "disk"], prow)
    if plan.flags:
        table("growth risks", ["severity", "collection", "risk"],
              [(f.severity, f.collection, f.message) for f in plan.flags])
    for line in plan.recommendations:
        print(f"• {line}")
    print(f"note: {WORKING_SET.format(days=m.hot_days)}")
    for n in m.notes:
        print(f"note: {n}")


# ---------------------------------------------------------------------------------------------
# HTML.


def _growth_chart(plan: Plan) -> str:
    fig, ax = new_figure(7.5, 3.6)
    months = [p.months or 0 for p in plan.monthly]
    for name in plan.measurement.collections:
        ax.plot(months, [p.collections[name].data_bytes / 2**20 for p in plan.monthly], label=name)
    ws = [p.working_set / 2**20 for p in plan.monthly]
    ax.plot(months, ws, "k--", label="working set")
    if plan.ram and wiredtiger_cache(plan.ram) / 2**20 <= 2 * max(ws):  # off-scale lines flatten the curves
        ax.axhline(wiredtiger_cache(plan.ram) / 2**20, color="#b3261e", lw=1, label="WiredTiger cache")
    ax.set_xlabel("months from the measured data")
    ax.set_ylabel("MiB")
    ax.set_title("data size per collection")
    ax.legend(fontsize=7, ncols=2)
    ax.grid(alpha=0.3)
    return figure_uri(fig)


def _breakdown_chart(plan: Plan) -> str:
    fig, ax = new_figure(7.5, 3.6)
    pts = [plan.now, *plan.horizons]  # user targets get their own chart: they dwarf the horizons
    labels = [p.label for p in pts]
    bottom = [0.0] * len(pts)
    for name in plan.measurement.collections:
        vals = [p.collections[name].data_bytes / 2**20 for p in pts]
        ax.bar(labels, vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    idx = [(p.index_bytes or 0) / 2**20 for p in pts]
    ax.bar(labels, idx, bottom=bottom, label="indexes", color="#555", hatch="//")
    ax.set_ylabel("MiB")
    ax.set_title("size breakdown: data per collection + indexes")
    ax.legend(fontsize=7, ncols=2)
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    return figure_uri(fig)


def _working_set_chart(plan: Plan) -> str:
    fig, ax = new_figure(7.5, 3.2)
    pts = plan.points
    labels = [p.label for p in pts]
    idx = [(p.index_bytes or 0) / 2**20 for p in pts]
    hot = [p.hot_bytes / 2**20 for p in pts]
    total = [i + h for i, h in zip(idx, hot, strict=True)]  # log scale: overlay, not stack
    ax.bar(labels, total, label="working set (indexes + hot documents)", color="#e8a33d")
    ax.bar(labels, idx, width=0.4, label="of which indexes", color="#555")
    if plan.ram:
        ax.axhline(wiredtiger_cache(plan.ram) / 2**20, color="#b3261e", lw=1,
                   label=f"WiredTiger cache of {human(plan.ram)} RAM")
    ax.set_yscale("log")
    ax.set_ylabel("MiB (log)")
    ax.set_title("working set at every point")
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    return figure_uri(fig)


def write(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write capacity-<system>-<stamp>.json and .html into `out`."""
    base = out / f"capacity-{plan.system.name}-{stamp()}"
    data = {"schema": "sla-harness/capacity/1", **plan.as_dict()}
    js = write_json(base.with_suffix(".json"), data)
    html = write_html(base.with_suffix(".html"), "capacity.html.j2", title=f"Capacity plan — {plan.system.title}",
                      plan=data, human=human, charts={"growth": _growth_chart(plan),
                                                      "breakdown": _breakdown_chart(plan),
                                                      "working_set": _working_set_chart(plan)})
    return js, html
