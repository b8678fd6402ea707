"""Output without a terminal (CI logs, cron): progress as plain lines with the elapsed time and a
heartbeat, tables that keep full ids at 80 columns, JSON that names its schema."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.output import Progress
from tests.conftest import run_cli
from tests.test_backup_manifests import fake


def test_progress_without_a_tty_prints_lines_with_elapsed_time_and_a_heartbeat(capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:
    with Progress("backup masterx", unit="bytes", heartbeat=1.0, tty=False) as p:
        p.advance(1_500_000)
        time.sleep(2.5)  # no events: the heartbeat says the job is alive
        p.event("collection users done")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[") and lines[0].endswith("backup masterx: started")
    assert any("1.5 MB so far" in ln for ln in lines[1:-2]), lines  # heartbeat
    assert any(ln.endswith("collection users done") for ln in lines)
    assert lines[-1].endswith("done: 1.5 MB")
    for ln in lines:
        elapsed = float(ln[1:ln.index("s]")])
        assert 0 <= elapsed < 10


def test_progress_with_a_known_total_counts_to_it(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("verify x", total=6, unit="collections", tty=False) as p:
        for _ in range(6):
            p.advance()
    assert capsys.readouterr().err.splitlines()[-1].endswith("done: 6 of 6 collections (100%)")


def test_tables_keep_full_ids_and_reasons_at_80_columns(tmp_path: Path) -> None:
    """Observed: rich tables truncated names and ids at 80 columns in CI logs."""
    now = datetime.now(UTC).replace(microsecond=0)
    good = fake(tmp_path, now - timedelta(hours=1))
    bad = fake(tmp_path, now - timedelta(days=2), started_at="2026-13-45T00:00:00Z")
    r = run_cli("backup", "list", "--to", str(tmp_path), env={"COLUMNS": "80"})
    assert r.returncode == 1, r.stderr
    assert good in r.stdout and bad in r.stdout
    assert "month value is outside expected range of 1-12" in r.stdout.replace("\n    ", " ")
    assert "…" not in r.stdout
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 80 or "problem:" in r.stdout


@pytest.mark.parametrize("args", [["systems", "--json"], ["backup", "list", "--json"],
                                  ["backup", "prune", "--json"]])
def test_json_outputs_name_their_schema(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "store").mkdir()
    extra = ["--to", str(tmp_path / "store")] if args[0] == "backup" else []
    r = run_cli(*args, *extra)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data, dict) and data["schema"].startswith("sla-harness/") and data["schema"].endswith("/1")
    assert next(iter(data)) == "schema"
