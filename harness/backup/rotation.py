"""GFS rotation with restic's `forget` semantics, computed in UTC.

Backups are taken newest first; each rule (last n, daily YYYY-MM-DD, weekly ISO year-week,
monthly YYYY-MM, yearly YYYY) keeps the newest backup of each of its n most recent periods
that contain a backup. Rules are ORed and empty periods use up nothing. The newest backup is
always kept, whatever the policy says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.errors import HarnessError


@dataclass(frozen=True)
class Policy:
    """Seed 004: "30 daily, 12 monthly, 5 yearly" is the default."""

    daily: int = 30
    monthly: int = 12
    yearly: int = 5
    weekly: int = 0
    last: int = 0

    def __post_init__(self) -> None:
        if min(self.daily, self.monthly, self.yearly, self.weekly, self.last) < 0:
            raise HarnessError("keep counts must be zero or positive")

    def describe(self) -> str:
        parts = [f"{n} {name}" for name, n in (("last", self.last), ("daily", self.daily), ("weekly", self.weekly),
                                                 ("monthly", self.monthly), ("yearly", self.yearly)) if n]
        return ", ".join(parts) or "keep only the newest"


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


PERIODS: dict[str, Callable[[datetime, int], object]] = {
    "last": lambda t, i: i,  # every backup is its own period
    "daily": lambda t, i: _utc(t).strftime("%Y-%m-%d"),
    "weekly": lambda t, i: _utc(t).isocalendar()[:2],
    "monthly": lambda t, i: _utc(t).strftime("%Y-%m"),
    "yearly": lambda t, i: _utc(t).year,
}


def plan(backups: Sequence[tuple[str, datetime]], policy: Policy) -> dict[str, list[str]]:
    """Map each backup id to why it is kept (empty list: it is forgotten)."""
    ordered = sorted(backups, key=lambda b: (_utc(b[1]), b[0]), reverse=True)
    reasons: dict[str, list[str]] = {bid: [] for bid, _ in ordered}
    for rule, count in (("last", policy.last), ("daily", policy.daily), ("weekly", policy.weekly),
                        ("monthly", policy.monthly), ("yearly", policy.yearly)):
        left, last_key = count, None
        for i, (bid, t) in enumerate(ordered):
            if left <= 0:
                break
            key = PERIODS[rule](t, i)
            if key != last_key:
                reasons[bid].append(f"{rule} {key}" if rule != "last" else "last")
                last_key = key
                left -= 1
    if ordered and not reasons[ordered[0][0]]:
        reasons[ordered[0][0]].append("newest")
    return reasons
