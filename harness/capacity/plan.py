"""Does a projection fit a machine? Working set against WiredTiger's cache, data against disk.

RAM: the default WiredTiger cache is 50% of (RAM - 1 GiB), at least 256 MiB; the working set
(all indexes + hot documents) should fit in it, or reads of hot data go to disk. Disk: storage
plus indexes should stay under 70% of the disk, leaving room for compaction, index builds and
a local dump.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.capacity.model import Point
from harness.capacity.units import human, ram_for_cache, round_up_ram, wiredtiger_cache

DISK_FILL = 0.7


@dataclass
class Fit:
    label: str
    working_set: float
    cache: int | None
    ram_fits: bool | None
    disk_need: float  # disk for this point at DISK_FILL
    disk_fits: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "working_set_bytes": round(self.working_set), "cache_bytes": self.cache,
                "ram_fits": self.ram_fits, "disk_needed_bytes": round(self.disk_need), "disk_fits": self.disk_fits}


def fit(point: Point, ram: int | None, disk: int | None) -> Fit:
    cache = wiredtiger_cache(ram) if ram else None
    need = point.disk_bytes / DISK_FILL
    return Fit(point.label, point.working_set, cache, None if cache is None else point.working_set <= cache,
               need, None if disk is None else need <= disk)


def recommend(points: list[Point], ram: int | None, disk: int | None, index_known: bool) -> list[str]:
    """Plain-language recommendations for the largest point."""
    if not points:
        return []
    far = max(points, key=lambda p: p.working_set)
    out = []
    need_ram = round_up_ram(ram_for_cache(far.working_set))
    what = "indexes + hot data" if index_known else "hot data (index sizes unavailable on this server)"
    if ram:
        fits = [p.label for p in points if p.working_set <= wiredtiger_cache(ram)]
        bad = [p.label for p in points if p.working_set > wiredtiger_cache(ram)]
        if bad:
            out.append(f"RAM {human(ram)} (cache {human(wiredtiger_cache(ram))}) is too small from {bad[0]}: "
                       f"the working set ({what}) reaches {human(far.working_set)}; plan for {human(need_ram)} RAM")
        else:
            out.append(f"RAM {human(ram)} (cache {human(wiredtiger_cache(ram))}) holds the working set at every point "
                       f"({', '.join(fits)}); largest {human(far.working_set)}")
    else:
        out.append(f"working set ({what}) reaches {human(far.working_set)} at {far.label}: "
                   f"at least {human(need_ram)} RAM (pass --ram to check a machine)")
    big = max(points, key=lambda p: p.disk_bytes)
    need_disk = big.disk_bytes / DISK_FILL
    if disk:
        bad = [p.label for p in points if p.disk_bytes / DISK_FILL > disk]
        if bad:
            out.append(f"disk {human(disk)} is too small from {bad[0]}: {human(big.disk_bytes)} of storage + indexes "
                       f"needs {human(need_disk)} at {DISK_FILL:.0%} fill")
        else:
            out.append(f"disk {human(disk)} holds {human(big.disk_bytes)} at {big.label} within {DISK_FILL:.0%} fill")
    else:
        out.append(f"disk: {human(big.disk_bytes)} of storage + indexes at {big.label}; provision at least "
                   f"{human(need_disk)} (≤{DISK_FILL:.0%} full; pass --disk to check a machine)")
    return out
