"""Byte sizes: parsing `--ram 16GB`, printing sizes, and WiredTiger's default cache size.

Units are binary (16GB = 16 GiB): that is how RAM is sold and how MongoDB's cache formula
is usually quoted; disks sold in decimal units differ by about 7%, which the headroom absorbs.
"""

from __future__ import annotations

import math
import re

from harness.errors import HarnessError

KIB, MIB, GIB, TIB = 1024, 1024**2, 1024**3, 1024**4
BSON_LIMIT = 16 * MIB  # MongoDB's maximum document size
_UNITS = {"": 1, "b": 1, "k": KIB, "m": MIB, "g": GIB, "t": TIB}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.I)


def parse_size(text: str, what: str) -> int:
    """'16GB', '512 MiB', '2t' -> bytes. Bad or non-positive sizes are one clear error."""
    m = _SIZE.match(str(text))
    if not m:
        raise HarnessError(f"bad {what} {text!r}: not a size", "use e.g. 16GB, 512MB or 2TB")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not value > 0 or not math.isfinite(value):
        raise HarnessError(f"bad {what} {text!r}: it must be positive", "use e.g. 16GB, 512MB or 2TB")
    return int(value)


def human(n: float | None) -> str:
    """1536 -> '1.5 KiB'; None -> 'n/a'."""
    if n is None:
        return "n/a"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, size in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{sign}{n / size:.1f} {unit}"
    return f"{sign}{n:.0f} B"


def wiredtiger_cache(ram: int) -> int:
    """MongoDB's default WiredTiger cache: 50% of (RAM - 1 GiB), at least 256 MiB."""
    return int(max(256 * MIB, 0.5 * (ram - GIB)))


def ram_for_cache(cache: float) -> int:
    """The smallest RAM whose default WiredTiger cache holds `cache` bytes."""
    return int(math.ceil(2 * cache + GIB)) if cache > 256 * MIB else GIB


STANDARD_RAM_GIB = (1, 2, 4, 8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


def round_up_ram(n: float) -> int:
    """The next common machine RAM size (GiB steps) at or above n bytes."""
    for g in STANDARD_RAM_GIB:
        if g * GIB >= n:
            return g * GIB
    return int(math.ceil(n / (512 * GIB)) * 512 * GIB)
