"""`harness purge` on generated data: exactly what is past each cutoff goes, nothing else, and a
second run removes nothing. The expectation is an independent plain-Python model of seed 004's
retention table (numbers written out here, not read from the fixture)."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import ObjectId
from pymongo.database import Database

from harness import load as loader
from harness.servers import Server
from harness.spec import load_system
from tests.conftest import AS_OF, TEST_SEED, run_cli

C30, C90, C730, C1095, C1826 = (AS_OF - timedelta(days=d) for d in (30, 90, 730, 1095, 1826))
SECOND = timedelta(seconds=1)
DETAIL = ("interactions", "learning_progress.mastery_demonstrations", "emotional_journey.emotional_states_timeline",
          "emotional_journey.interventions_applied", "performance_metrics.difficulty_progression",
          "ai_usage_analytics.quality_scores")
CHILDREN = ("learning_sessions", "learning_dna", "content_mastery", "emotional_analytics")


def _clone(db: Database, coll: str, doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    new["_id"] = ObjectId()
    new.update(changes)
    db[coll].insert_one(new)
    return new


def _with_children(db: Database, user: dict[str, Any], **changes: Any) -> None:
    """A copy of `user` (new user_id) with one copy of each of its child documents."""
    uid = str(uuid.uuid4())
    _clone(db, "users", user, user_id=uid, email=f"{uid}@example.org", **changes)
    for child in CHILDREN:
        doc = db[child].find_one({"user_id": user["user_id"]}) or db[child].find_one()
        extra = {"session_id": str(uuid.uuid4())} if child == "learning_sessions" else {}
        _clone(db, child, doc, user_id=uid, **extra)


def add_boundaries(db: Database) -> None:
    """Documents one second either side of every cutoff."""
    user = db["users"].find_one({"account_status": "active"})
    for delta in (-SECOND, SECOND):
        _with_children(db, user, account_status="deleted", updated_at=C30 + delta, last_login=C30 - timedelta(days=5))
        _with_children(db, user, account_status="active", last_login=C1826 + delta, updated_at=C1826 + delta)
        _with_children(db, user, account_status="active", last_login=C730 + delta, updated_at=C730 + delta)
        emo = db["emotional_analytics"].find_one()
        _clone(db, "emotional_analytics", emo, data_source="daily_aggregation", analysis_date=C90 + delta)
        _clone(db, "emotional_analytics", emo, data_source="weekly_summary", analysis_date=C1826 + delta)
        session = db["learning_sessions"].find_one({"interactions.1": {"$exists": True}}) or \
            db["learning_sessions"].find_one()
        inter = copy.deepcopy(session["interactions"][:2])
        inter[0]["timestamp"], inter[1]["timestamp"] = C90 - SECOND, C90 + SECOND
        _clone(db, "learning_sessions", session, started_at=C730 + delta, interactions=inter,
               session_id=str(uuid.uuid4()))
        mastery = db["content_mastery"].find_one()
        hist = copy.deepcopy(mastery["learning_history"][:1]) * 2
        hist[0] = {**hist[0], "date": C1095 - SECOND}
        hist[1] = {**hist[1], "date": C1095 + SECOND}
        _clone(db, "content_mastery", mastery, learning_history=hist)


def fresh(server: Server, name: str) -> Database:
    db_name = f"t_purge_{name}"
    params = loader.LoadParams(system="masterx", database=db_name, seed=TEST_SEED, scale=0.02, as_of=AS_OF,
                               batch_size=200, workers=2)
    loader.run(server, load_system("masterx"), params, drop=True, progress=False)
    db = server.client()[db_name]
    add_boundaries(db)
    return db


def snapshot(db: Database) -> dict[str, dict[Any, dict[str, Any]]]:
    return {c: {d["_id"]: d for d in db[c].find()} for c in ("users", *CHILDREN, "harness_meta")}


def _unset(doc: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        doc = doc.get(p, {})
    doc.pop(leaf, None)


def model(before: dict[str, dict[Any, dict[str, Any]]]) -> dict[str, dict[Any, dict[str, Any]]]:
    """Seed 004's table, applied in plain Python."""
    after = copy.deepcopy(before)
    users = after["users"]
    gone = {u["user_id"] for u in users.values()
            if (u["account_status"] == "deleted" and u["updated_at"] < C30) or u["last_login"] < C1826}
    after["users"] = {k: u for k, u in users.items() if u["user_id"] not in gone}
    for u in after["users"].values():
        if u["account_status"] != "deleted" and u["last_login"] < C730:
            u["archived"] = True
    for child in CHILDREN:
        after[child] = {k: d for k, d in after[child].items() if d["user_id"] not in gone}
    for s in after["learning_sessions"].values():
        if "interactions" in s:
            s["interactions"] = [e for e in s["interactions"] if e["timestamp"] >= C90]
        if s["started_at"] < C730:
            for path in DETAIL:
                _unset(s, path)
    after["emotional_analytics"] = {
        k: d for k, d in after["emotional_analytics"].items()
        if not (d["data_source"] == "daily_aggregation" and d["analysis_date"] < C90)
        and not (d["data_source"] in ("weekly_summary", "monthly_report") and d["analysis_date"] < C1826)}
    for m in after["content_mastery"].values():
        m["learning_history"] = [e for e in m["learning_history"] if e["date"] >= C1095]
    return after


def _purge(server: Server, db: Database, tmp_path: Path, *extra: str) -> dict[str, Any]:
    r = run_cli("purge", "masterx", "--uri", server.uri, "--db", db.name, "--now", "2026-11-01", "--json",
                "--out", str(tmp_path / "reports"), *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_purge_removes_exactly_what_is_past_each_cutoff(server: Server, tmp_path: Path) -> None:
    db = fresh(server, "exact")
    before = snapshot(db)
    expected = model(before)
    assert expected != before  # the data has something on both sides of every cutoff

    dry = _purge(server, db, tmp_path)
    assert dry["mode"] == "dry-run"
    assert snapshot(db) == before  # a dry run changes nothing
    rules = {r["rule"]: r for r in dry["rules"]}
    deleted = {u["user_id"] for u in before["users"].values() if u["account_status"] == "deleted"
               and u["updated_at"] < C30}
    assert rules["deleted_accounts"]["documents"] == len(deleted) >= 1
    assert rules["deleted_accounts"]["cascaded"]["learning_sessions"] == sum(
        s["user_id"] in deleted for s in before["learning_sessions"].values())
    assert rules["raw_emotional_data"]["documents"] == sum(
        d["data_source"] == "daily_aggregation" and d["analysis_date"] < C90
        for d in before["emotional_analytics"].values())
    assert rules["ai_interaction_logs"]["elements"] == sum(
        e["timestamp"] < C90 for s in before["learning_sessions"].values() for e in s.get("interactions", []))
    assert {r["rule"] for r in dry["rules"] if r["cutoff"] is None} == {
        "active_accounts", "aggregated_session_data", "sensitive_emotional_patterns", "mastery_data",
        "prerequisite_relationships"}

    done = _purge(server, db, tmp_path, "--execute", "--batch-size", "7")
    assert done["mode"] == "execute"
    after = snapshot(db)
    for coll in expected:
        assert set(after[coll]) == set(expected[coll]), coll
        for key, doc in expected[coll].items():
            assert after[coll][key] == doc, (coll, key)

    again = _purge(server, db, tmp_path, "--execute")
    assert all(r["documents"] == 0 and r["elements"] == 0 and not any(r["cascaded"].values()) for r in again["rules"])
    assert snapshot(db) == after
    server.client().drop_database(db.name)


def test_archive_before_delete_keeps_a_copy_of_everything_removed(server: Server, tmp_path: Path) -> None:
    db = fresh(server, "archive")
    before = snapshot(db)
    out = _purge(server, db, tmp_path, "--execute", "--archive-to", str(tmp_path / "cold"), "--max-ops", "5000")
    archived: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path in (tmp_path / "cold" / "masterx" / "purge" / "20261101").rglob("*.bson.gz"):
        rule, name = path.parent.name, path.name.split("-")[0]
        archived.setdefault((rule, name), []).extend(bson.decode_all(gzip.decompress(path.read_bytes())))
    after = snapshot(db)
    for coll in ("users", *CHILDREN):
        gone = set(before[coll]) - set(after[coll])
        copies = {d["_id"] for (rule, name), docs in archived.items() if name == coll
                  and rule in ("deleted_accounts", "inactive_accounts_delete", "raw_emotional_data",
                               "aggregated_emotional_data") for d in docs}
        assert gone == copies, coll
    pulled = archived[("ai_interaction_logs", "learning_sessions")]
    assert sum(len(d["interactions"]) for d in pulled) == next(
        r["elements"] for r in out["rules"] if r["rule"] == "ai_interaction_logs")
    assert out["archive"]["objects"] == sum(1 for _ in (tmp_path / "cold").rglob("*.bson.gz"))
    server.client().drop_database(db.name)


def test_system_without_a_policy_says_so(tmp_path: Path) -> None:
    names = [n for n in ("doit", "medical_twin", "zygotrix") if (Path(__file__).parent.parent / "fixtures" /
                                                                  f"{n}.py").is_file()]
    if not names:
        pytest.skip("no fixture without a retention policy is present")
    r = run_cli("purge", names[0], "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rules"] == [] and "no retention policy" in out["note"]


def test_bad_now_is_one_clear_line() -> None:
    r = run_cli("purge", "masterx", "--now", "yesterday-ish")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: bad --now 'yesterday-ish' — use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"]
