"""Explain normalisation: real plans from the test servers, and MongoDB's stage trees."""

from __future__ import annotations

import pytest

from harness.bench.indexcheck import check_query, kpi
from harness.bench.queries import Critical, aggregate, find
from harness.explain import detect_format, summarize
from harness.servers import Server
from harness.spec import load_system


def _spec(name: str) -> Critical:
    return Critical(name, lambda *_: None, 50.0, 1, "high", "assumed", name)


def test_server_plans_are_normalised(server: Server, loaded) -> None:
    db = loaded("masterx", 0.02)
    email = db.users.find_one({}, {"email": 1})["email"]
    plan = db.command("explain", {"find": "users", "filter": {"email": email}}, verbosity="executionStats")
    fmt = detect_format(plan)
    assert fmt == server.caps.explain_format
    if server.caps.kind == "nx-27017":
        assert fmt == "sqlite"
        s = summarize(plan, "users")
        assert s.uses_index and s.indexes == ["idx_users_email"] and not s.collection_scan
    elif server.caps.kind == "ferretdb":
        assert fmt == "ferretdb"  # SQLite rows in queryPlanner.Plan; FerretDB 1.x pushes no filter down
        assert summarize(plan, "users").collection_scan
    unindexed = db.command("explain", {"find": "users", "filter": {"profile.timezone": "UTC"}},
                           verbosity="executionStats")
    s = summarize(unindexed, "users")
    assert s.collection_scan and not s.uses_index


@pytest.mark.needs("explain")
def test_index_check_on_real_queries(server: Server, loaded) -> None:
    db = loaded("masterx", 0.02)
    system = load_system("masterx")
    email = db.users.find_one({}, {"email": 1})["email"]
    good = check_query(db, _spec("login"), find("users", {"email": email}, limit=1), server.caps, system)
    bad = check_query(db, _spec("tz"), find("users", {"profile.timezone": "UTC"}), server.caps, system)
    assert bad.status == "collscan" and "no documented index" in bad.detail
    assert bad.returned is not None
    if server.caps.kind == "nx-27017":
        assert good.status == "ok" and good.indexes == ["idx_users_email"]
    assert kpi([good, bad])["passed"] is False
    # an aggregate is explained through its leading $match where the server has no pipeline plan
    agg = check_query(db, _spec("agg"), aggregate("users", [{"$match": {"email": email}},
                                                            {"$project": {"email": 1}}]), server.caps, system)
    assert agg.status in ("ok", "collscan") and agg.format == server.caps.explain_format
    skipped = check_query(db, _spec("t"), None, server.caps, system, skip_reason="no $text")
    assert skipped.status == "not-run" and not skipped.counted


@pytest.mark.needs("explain")
def test_documented_index_the_server_cannot_honour_is_not_a_design_finding(server: Server, loaded) -> None:
    if server.caps.unique_index_on_id:
        pytest.skip(f"{server.caps.server} honours unique indexes on `id`")
    db = loaded("doit", 0.02)
    uid = db.users.find_one({}, {"id": 1})["id"]
    f = check_query(db, _spec("by_id"), find("users", {"id": uid}, limit=1), server.caps, load_system("doit"))
    assert f.status == "not-honoured" and "id" in f.detail and not f.counted


MONGO_FIND = {
    "queryPlanner": {"namespace": "masterx.learning_sessions", "winningPlan": {
        "stage": "SORT", "sortPattern": {"started_at": -1}, "inputStage": {
            "stage": "FETCH", "inputStage": {"stage": "IXSCAN", "indexName": "user_id_1_started_at_-1",
                                             "keyPattern": {"user_id": 1, "started_at": -1}}}}},
    "executionStats": {"nReturned": 12, "totalKeysExamined": 12, "totalDocsExamined": 12},
}
MONGO_COLLSCAN = {"queryPlanner": {"namespace": "x.users", "winningPlan": {"stage": "COLLSCAN"}},
                  "executionStats": {"nReturned": 1, "totalKeysExamined": 0, "totalDocsExamined": 1500}}
MONGO_AGG = {"stages": [{"$cursor": {"queryPlanner": {"namespace": "x.e", "winningPlan": {
    "stage": "PROJECTION_SIMPLE", "inputStage": {"stage": "FETCH", "inputStage": {
        "stage": "IXSCAN", "indexName": "user_id_1_analysis_date_-1"}}}},
    "executionStats": {"nReturned": 30, "totalKeysExamined": 30, "totalDocsExamined": 30}}},
    {"$group": {}}]}


def test_mongodb_stage_trees() -> None:
    s = summarize(MONGO_FIND, "learning_sessions")
    assert s.format == "mongodb" and s.uses_index and s.in_memory_sort
    assert s.stages == ["SORT", "FETCH", "IXSCAN"] and s.indexes == ["user_id_1_started_at_-1"]
    assert (s.keys_examined, s.docs_examined, s.returned) == (12, 12, 12)
    c = summarize(MONGO_COLLSCAN, "users")
    assert c.collection_scan and not c.uses_index and c.docs_examined == 1500
    a = summarize(MONGO_AGG, "e")
    assert a.uses_index and a.indexes == ["user_id_1_analysis_date_-1"] and a.returned == 30


def test_unknown_formats_never_pass() -> None:
    for plan in ({"queryPlanner": {"winningPlan": "SEQ SCAN"}}, {"ok": 1}, {"queryPlanner": {"Plan": [1, 2]}}):
        s = summarize(plan, "users")
        assert s.format == "unknown" and not s.uses_index


def test_text_index_tables_are_not_collection_scans() -> None:
    plan = {"queryPlanner": {"winningPlan": [{"detail": d} for d in (
        "MATERIALIZE fts", "SCAN users_profile_name_fts VIRTUAL TABLE INDEX 0:M1", "SCAN f",
        "USE TEMP B-TREE FOR GROUP BY", "SCAN fts", "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)")]}}
    s = summarize(plan, "users")
    assert s.uses_index and not s.collection_scan and s.indexes == ["users_profile_name_fts"]
