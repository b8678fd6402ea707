"""Manifests are validated data: one damaged manifest marks that one backup `damaged` with the
reason; it is listed, never restored, never counted as newest, and the other backups work."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.backup.manifest import ARCHIVE, FORMAT, MANIFEST, backup_id, iso
from harness.servers import Server
from harness.tools import find_tool
from tests.conftest import run_cli

NOW = datetime.now(UTC).replace(microsecond=0)


def manifest_for(bid: str, started: datetime, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT, "id": bid, "system": "masterx", "database": "masterx", "started_at": iso(started),
        "finished_at": iso(started + timedelta(seconds=5)), "duration_seconds": 5.0,
        "archive": {"key": ARCHIVE, "bytes": 10, "sha256": "0" * 64}, "collections": {}, "source": {}, "tools": {}}
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


_DROP = object()


def fake(root: Path, started: datetime, **changes: Any) -> str:
    bid = backup_id("masterx", started)
    d = root / "masterx" / bid
    d.mkdir(parents=True)
    (d / ARCHIVE).write_bytes(b"x" * 10)
    (d / MANIFEST).write_text(json.dumps(manifest_for(bid, started, **changes)))
    return bid


DAMAGES: dict[str, tuple[dict[str, Any], str]] = {
    "started_at yesterday": ({"started_at": "yesterday"}, "started_at"),
    "started_at 12345": ({"started_at": 12345}, "started_at"),
    "started_at []": ({"started_at": []}, "started_at"),
    "started_at null": ({"started_at": None}, "started_at"),
    "started_at 2026-13-45": ({"started_at": "2026-13-45T00:00:00Z"}, "month"),
    "no archive.bytes": ({"archive": {"key": ARCHIVE, "sha256": "0" * 64}}, "archive.bytes"),
    "collections as a list": ({"collections": ["masterx.users"]}, "collections"),
    "archive key escapes": ({"archive": {"key": "../../etc/passwd", "bytes": 10, "sha256": "0" * 64}},
                            "archive.key"),
    "date disagrees with id": ({"started_at": iso(NOW - timedelta(days=400))}, "disagrees with the backup id"),
    "no id, no format": ({"format": _DROP, "id": _DROP}, "id: Field required"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_one_damaged_manifest_is_listed_and_the_others_work(tmp_path: Path, damage: str) -> None:
    changes, reason = DAMAGES[damage]
    newest = fake(tmp_path, NOW - timedelta(hours=1))
    older = fake(tmp_path, NOW - timedelta(days=3))
    broken = fake(tmp_path, NOW - timedelta(days=2), **changes)

    listed = run_cli("backup", "list", "--to", str(tmp_path), "--json")
    assert listed.returncode == 1, listed.stderr  # a finding, not a crash
    assert "Traceback" not in listed.stderr
    out = json.loads(listed.stdout)
    assert out["schema"] == "sla-harness/backup-list/1"
    states = {b["id"]: (b["state"], b["problem"]) for b in out["backups"]}
    assert states[newest][0] == states[older][0] == "complete"
    assert states[broken][0] == "damaged" and reason in states[broken][1]
    assert [ln for ln in listed.stderr.splitlines() if ln.startswith("damaged:")] == [
        f"damaged: masterx/{broken}: {states[broken][1]}"]

    prune = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "0", "--keep-monthly", "0",
                    "--keep-yearly", "0", "--execute", "--json")
    assert prune.returncode == 0, prune.stderr
    assert json.loads(prune.stdout)["deleted"] == [older]  # the damaged one is kept, never deleted or counted
    assert {p.name for p in (tmp_path / "masterx").iterdir()} == {newest, broken}


def test_whole_manifest_not_an_object(tmp_path: Path) -> None:
    newest = fake(tmp_path, NOW - timedelta(hours=1))
    for i, raw in enumerate(("[]", "null", "12345", "{", "")):
        bid = backup_id("masterx", NOW - timedelta(days=2 + i))
        (tmp_path / "masterx" / bid).mkdir(parents=True)
        (tmp_path / "masterx" / bid / ARCHIVE).write_bytes(b"x" * 10)
        (tmp_path / "masterx" / bid / MANIFEST).write_text(raw)
    out = json.loads(run_cli("backup", "list", "--to", str(tmp_path), "--json").stdout)
    assert [b["state"] for b in out["backups"]] == ["complete"] + ["damaged"] * 5
    assert out["backups"][0]["id"] == newest


def test_manifest_in_the_future_is_damaged_and_never_newest(tmp_path: Path) -> None:
    """Observed: a manifest dated in the future was kept as "newest" and let prune delete the
    real newest backup."""
    real_newest = fake(tmp_path, NOW - timedelta(hours=1))
    older = fake(tmp_path, NOW - timedelta(days=1))
    future = fake(tmp_path, datetime(2099, 1, 1, tzinfo=UTC))  # id and date agree, both in the future
    liar_id = backup_id("masterx", NOW - timedelta(days=5))  # an old id whose manifest claims 2099
    (tmp_path / "masterx" / liar_id).mkdir()
    (tmp_path / "masterx" / liar_id / ARCHIVE).write_bytes(b"x" * 10)
    (tmp_path / "masterx" / liar_id / MANIFEST).write_text(json.dumps(
        manifest_for(backup_id("masterx", datetime(2099, 1, 1, tzinfo=UTC)), datetime(2099, 1, 1, tzinfo=UTC))))

    out = json.loads(run_cli("backup", "list", "--to", str(tmp_path), "--json").stdout)
    states = {b["id"]: (b["state"], b["problem"]) for b in out["backups"]}
    assert states[future][0] == "damaged" and "lies in the future" in states[future][1]
    assert states[liar_id][0] == "damaged" and "stored as" in states[liar_id][1]
    prune = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "0", "--keep-monthly", "0",
                    "--keep-yearly", "0", "--execute", "--json")
    assert prune.returncode == 0, prune.stderr
    assert json.loads(prune.stdout)["deleted"] == [older]
    assert real_newest in {p.name for p in (tmp_path / "masterx").iterdir()}


def test_prune_is_a_dry_run_unless_execute(tmp_path: Path) -> None:
    """Observed: `backup prune` deleted by default while `purge` was a dry run by default."""
    keep = fake(tmp_path, NOW - timedelta(hours=1))
    doomed = fake(tmp_path, NOW - timedelta(days=1))
    r = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "0", "--keep-monthly", "0",
                "--keep-yearly", "0")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "masterx").iterdir()} == {keep, doomed}
    assert "would delete" in r.stdout and "--execute" in r.stderr
    gone = run_cli("backup", "prune", "--to", str(tmp_path), "--keep-daily", "0", "--keep-monthly", "0",
                   "--keep-yearly", "0", "--execute")
    assert gone.returncode == 0, gone.stderr
    assert {p.name for p in (tmp_path / "masterx").iterdir()} == {keep}
    assert "--dry-run" not in run_cli("backup", "prune", "--help").stdout  # one flag, as in purge


@pytest.mark.parametrize("command", [["backup", "list"], ["backup", "prune"], ["restore-verify", "masterx",
                                                                                  "--uri", "mongodb://127.0.0.1:1/"]])
def test_store_that_does_not_exist_is_an_error(tmp_path: Path, command: list[str]) -> None:
    """Observed: `backup list --to /nonexistent` said "no backups found" and exited 0."""
    missing = tmp_path / "nonexistent"
    flag = "--from" if command[0] == "restore-verify" else "--to"
    r = run_cli(*command, flag, str(missing))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: backup store {missing} does not exist — check --to/--from (or HARNESS_BACKUP_STORE); "
        "`harness backup SYSTEM` creates it"]
    assert not missing.exists()


needs_tools = pytest.mark.skipif(not find_tool("mongodump") or not find_tool("mongorestore"),
                                 reason="mongodump/mongorestore not built: run scripts/setup-tools.sh")


@needs_tools
def test_restore_verify_skips_damaged_older_and_reports_damaged_newer(server: Server, loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Observed: an older backup with started_at 2026-13-45 stopped verification of the intact
    newest one. Now it is ignored; a damaged backup newer than the verified one is a finding."""
    db = loaded("masterx", 0.02)
    store = tmp_path / "store"
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(store), "--json")
    assert r.returncode == 0, r.stderr
    good = json.loads(r.stdout)["id"]
    fake(store, NOW - timedelta(days=3), started_at="2026-13-45T00:00:00Z")
    ok = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                 str(tmp_path / "reports"), "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] and report["backup"] == good and report["schema"] == "sla-harness/restore-verify/1"

    newer = backup_id("masterx", datetime.now(UTC) + timedelta(minutes=1))
    shutil.copytree(store / "masterx" / good, store / "masterx" / newer)
    bad = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                  str(tmp_path / "reports"), "--json")
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["backup"] == good and not report["ok"]
    assert any(f"newer backup {newer} is damaged" in p for p in report["problems"])
    assert all(c["ok"] for c in report["checks"])  # the older complete backup itself verified fine
