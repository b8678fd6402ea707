"""GFS rotation: the planner against an independent model, and `harness backup prune` on a store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.backup.manifest import ARCHIVE, FORMAT, MANIFEST, backup_id, iso
from harness.backup.rotation import Policy, plan
from tests.conftest import run_cli

START = datetime(2019, 1, 1, tzinfo=UTC)


def model(backups: list[tuple[str, datetime]], daily: int, monthly: int, yearly: int) -> set[str]:
    """The rule as stated: for each rule, the newest backup of each of its n most recent
    non-empty periods; union over rules; plus the newest backup."""
    keep: set[str] = set()
    for n, period in ((daily, lambda t: t.date()), (monthly, lambda t: (t.year, t.month)), (yearly, lambda t: t.year)):
        by_period: dict[object, list[tuple[datetime, str]]] = {}
        for bid, t in backups:
            by_period.setdefault(period(t), []).append((t, bid))
        for key in sorted(by_period, reverse=True)[:n]:
            keep.add(max(by_period[key])[1])
    if backups:
        keep.add(max((t, b) for b, t in backups)[1])
    return keep


calendars = st.lists(st.integers(min_value=0, max_value=6 * 365 * 24), min_size=0, max_size=120, unique=True)


@settings(max_examples=300, deadline=None)
@given(hours=calendars, daily=st.integers(0, 40), monthly=st.integers(0, 15), yearly=st.integers(0, 6))
def test_plan_matches_the_independent_model(hours: list[int], daily: int, monthly: int, yearly: int) -> None:
    backups = [(f"b{h:06d}", START + timedelta(hours=h)) for h in hours]
    reasons = plan(backups, Policy(daily=daily, monthly=monthly, yearly=yearly))
    assert {b for b, why in reasons.items() if why} == model(backups, daily, monthly, yearly)
    assert set(reasons) == {b for b, _ in backups}


def test_seed_policy_over_two_years_of_six_hourly_backups() -> None:
    """Seed 004: every 6 hours; 30 daily, 12 monthly, 5 yearly."""
    backups = [(f"b{i:05d}", START + timedelta(hours=6 * i)) for i in range(4 * 730)]
    kept = {b for b, why in plan(backups, Policy()).items() if why}
    newest = backups[-1][1]
    days = {t.date() for b, t in backups if b in kept}
    assert len([d for d in days if (newest.date() - d).days < 30]) == 30  # the last 30 days, newest of each
    assert len(kept) == len(model(backups, 30, 12, 5))
    last_of_2019 = max(b for b, t in backups if t.year == 2019)
    assert backups[-1][0] in kept and last_of_2019 in kept and backups[0][0] not in kept
    assert len(kept) == 30 + 11 + 1  # 30 days; 12 months (1 already a daily); 2019's yearly (2020 = monthly)


def _fake_backup(root: Path, started: datetime, complete: bool = True) -> str:
    bid = backup_id("masterx", started)
    d = root / "masterx" / bid
    d.mkdir(parents=True)
    (d / ARCHIVE).write_bytes(b"x" * 10)
    if complete:
        (d / MANIFEST).write_text(json.dumps({
            "format": FORMAT, "id": bid, "system": "masterx", "database": "masterx", "started_at": iso(started),
            "finished_at": iso(started + timedelta(seconds=5)), "duration_seconds": 5.0,
            "archive": {"key": ARCHIVE, "bytes": 10, "sha256": "0" * 64}, "collections": {},
            "source": {}, "tools": {}}))
    return bid


def test_prune_deletes_exactly_what_the_plan_forgets(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - timedelta(hours=6 * i + 1) for i in range(200)]
    ids = {_fake_backup(tmp_path, t): t for t in times}
    fresh_incomplete = _fake_backup(tmp_path, now - timedelta(minutes=5), complete=False)
    stale_incomplete = _fake_backup(tmp_path, now - timedelta(days=3, minutes=7), complete=False)
    expected = model(list(ids.items()), 7, 2, 1)

    dry = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "7", "--keep-monthly", "2",
                  "--keep-yearly", "1", "--json")
    assert dry.returncode == 0, dry.stderr
    would = set(json.loads(dry.stdout)["would_delete"])
    assert would == (set(ids) - expected) | {stale_incomplete}
    assert len(list((tmp_path / "masterx").iterdir())) == len(ids) + 2  # dry run deleted nothing

    r = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "7", "--keep-monthly", "2",
                "--keep-yearly", "1", "--execute", "--json")
    assert r.returncode == 0, r.stderr
    left = {p.name for p in (tmp_path / "masterx").iterdir()}
    assert left == expected | {fresh_incomplete}
    again = json.loads(run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "7", "--keep-monthly", "2",
                               "--keep-yearly", "1", "--execute", "--json").stdout)
    assert again["deleted"] == []


def test_prune_never_deletes_the_newest_complete_backup(tmp_path: Path) -> None:
    newest = _fake_backup(tmp_path, datetime(2026, 1, 2, tzinfo=UTC))
    _fake_backup(tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    r = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "0", "--keep-monthly", "0",
                "--keep-yearly", "0", "--execute", "--json")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "masterx").iterdir()} == {newest}


def test_prune_rejects_negative_counts(tmp_path: Path) -> None:
    r = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "-1")
    assert r.returncode == 2 and r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1
