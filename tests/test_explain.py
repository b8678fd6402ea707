"""Explain normalisation: real plans from the test servers, DocumentDB plans recorded from
FerretDB 2.5 on this machine (tests/recorded/documentdb, shapes hard to provoke on demand, e.g.
a table not yet analysed), and MongoDB's stage trees."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from harness.bench.indexcheck import check_query
from harness.explain import detect_format, summarize
from harness.servers import Server
from harness.spec import load_system
from harness.workload import aggregate, find


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
    elif fmt == "postgresql":  # FerretDB 2 on DocumentDB: the MongoDB index name in `Index Name`
        s = summarize(plan, "users")
        assert s.uses_index and s.indexes == ["email_1"] and not s.in_memory_sort, s.stages
    unindexed = db.command("explain", {"find": "users", "filter": {"profile.timezone": "UTC"}},
                           verbosity="executionStats")
    s = summarize(unindexed, "users")
    assert not s.uses_index
    assert s.collection_scan or fmt == "unknown"  # a plan not understood (FerretDB 1.x) is never a pass


@pytest.mark.needs("explain")
def test_index_check_on_real_queries(server: Server, loaded) -> None:
    db = loaded("masterx", 0.02)
    system = load_system("masterx")
    email = db.users.find_one({}, {"email": 1})["email"]
    good = check_query(db, "login", find("users", {"email": email}, limit=1), server.caps, system)
    bad = check_query(db, "tz", find("users", {"profile.timezone": "UTC"}), server.caps, system)
    assert bad.status == "collscan" and "no documented index" in bad.detail
    assert bad.returned is not None
    if server.caps.kind == "nx-27017":
        assert good.status == "ok" and good.indexes == ["idx_users_email"]
    elif server.caps.explain_format == "postgresql":
        assert good.status == "ok" and good.indexes == ["email_1"], good.stages
    assert good.counted and bad.counted and bad.status != "ok"
    # an aggregate is explained through its leading $match where the server has no pipeline plan
    agg = check_query(db, "agg", aggregate("users", [{"$match": {"email": email}},
                                                            {"$project": {"email": 1}}]), server.caps, system)
    assert agg.status in ("ok", "collscan") and agg.format == server.caps.explain_format
    skipped = check_query(db, "t", None, server.caps, system, skip_reason="no $text")
    assert skipped.status == "not-run" and not skipped.counted


@pytest.mark.needs("explain")
def test_documented_index_the_server_cannot_honour_is_not_a_design_finding(server: Server, loaded) -> None:
    if server.caps.unique_index_on_id:
        pytest.skip(f"{server.caps.server} honours unique indexes on `id`")
    db = loaded("doit", 0.02)
    uid = db.users.find_one({}, {"id": 1})["id"]
    f = check_query(db, "by_id", find("users", {"id": uid}, limit=1), server.caps, load_system("doit"))
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


# ---------------------------------------------------------------------------------------------
# DocumentDB (FerretDB 2.5): PostgreSQL EXPLAIN JSON under queryPlanner.Plan.

RECORDED = Path(__file__).parent / "recorded" / "documentdb"


def _recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


@pytest.mark.parametrize("name, indexes, scan, sort", [
    ("find_equality_compound_prefix", ["user_id_1_started_at_-1"], False, False),  # Bitmap Index Scan
    ("find_equality_range_sort_limit", ["user_id_1_started_at_-1"], False, True),  # Limit > Sort > Index Scan
    ("find_unique_equality", ["email_unique"], False, False),
    ("find_unindexed_seq_scan", [], True, False),
    ("find_unindexed_before_analyze", [], True, False),  # Bitmap Index Scan of _id_ by shard_key_value only
    ("find_sort_by_id", ["_id_"], False, False),  # ordered Index Scan of _id_: the order comes from the index
    ("find_tiny_collection_unique_eq", [], True, False),  # 20 documents: the planner reads the table
    ("find_text", ["bio_text"], False, False),  # Custom Scan > Bitmap Heap Scan > Bitmap Index Scan
    ("find_near_2dsphere", ["loc_geo"], False, False),
    ("find_id", ["_id_"], False, False),
    ("find_or_two_indexes", ["email_unique", "user_id_1_started_at_-1"], False, False),  # BitmapOr
    ("find_partial_and_descending", ["status_partial", "n_desc"], False, False),  # BitmapAnd
    ("aggregate_match_group", ["user_id_1_started_at_-1"], False, False),
    ("aggregate_group_sort_unindexed", [], True, True),
    ("aggregate_lookup_indexed", ["uid_1", "user_id_1_started_at_-1"], False, False),
    ("aggregate_lookup_foreign_scan", ["uid_1"], False, False),  # the joined table's Seq Scan is not ours
    ("aggregate_geonear", ["loc_geo"], False, False),
    ("count_indexed", ["user_id_1_started_at_-1"], False, False),
    ("count_unindexed", [], True, False),
])
def test_documentdb_recorded_plans(name: str, indexes: list[str], scan: bool, sort: bool) -> None:
    s = summarize(_recorded(name), "s")
    assert s.format == "postgresql" and not s.placeholder
    assert (s.indexes, s.collection_scan, s.in_memory_sort) == (indexes, scan, sort), s.stages
    assert s.uses_index == (bool(indexes) and not scan)
    assert (s.keys_examined, s.docs_examined, s.returned) == (None, None, None)  # no ANALYZE: unknown


def test_documentdb_plan_details() -> None:
    lookup = summarize(_recorded("aggregate_lookup_foreign_scan"), "o")
    assert "Seq Scan (collection_0_1)" in lookup.stages  # the joined collection's scan stays visible
    missing = summarize(_recorded("find_missing_collection"), "nope")
    assert missing.placeholder and missing.stages == ["Function Scan"] and not missing.uses_index
    refused = _recorded("distinct_refused")  # explain of distinct: refused, the index check reports an error
    assert refused["code"] == 238 and refused["codeName"] == "NotImplemented"
    # Without DocumentDB's explain hook PostgreSQL's own index names show; the primary key maps back.
    raw = _recorded("find_id")
    raw["queryPlanner"]["Plan"]["Index Name"] = "collection_pk_2"
    assert summarize(raw).indexes == ["_id_"]


def test_documentdb_live_plans(server: Server) -> None:
    """On a server answering in PostgreSQL's dialect: every index kind the seeds use, read back
    from a real plan by its MongoDB name."""
    if server.caps.explain_format != "postgresql":
        pytest.skip(f"{server.caps.server} answers explain in the {server.caps.explain_format!r} format, "
                    "not DocumentDB's PostgreSQL plans")
    client = server.client()
    db = client[f"t_explain_{secrets.token_hex(3)}"]
    try:
        start = datetime(2024, 1, 1)
        db.s.insert_many([{"user_id": i % 100, "at": start + timedelta(hours=i), "email": f"u{i}@x.org",
                           "bio": ["alpha beta", "gamma delta"][i % 2], "n": i, "status": "abc"[i % 3],
                           "loc": {"type": "Point", "coordinates": [i % 20 - 10, 40 + i % 10]}}
                          for i in range(2000)])
        db.o.insert_many([{"uid": i, "x": "a"} for i in range(200)])
        db.s.create_index([("user_id", 1), ("at", -1)], name="user_id_1_at_-1")
        db.s.create_index("email", unique=True, name="email_1")
        db.s.create_index([("bio", "text")], name="bio_text")
        db.s.create_index([("loc", "2dsphere")], name="loc_2dsphere")
        db.s.create_index([("n", -1)], name="n_-1")
        db.o.create_index("uid", name="uid_1")

        def plan(cmd: dict, coll: str = "s"):
            return summarize(db.command("explain", cmd, verbosity="executionStats"), coll)

        eq = plan({"find": "s", "filter": {"user_id": 5}})
        assert eq.format == "postgresql" and eq.indexes == ["user_id_1_at_-1"] and eq.uses_index, eq.stages
        ranged = plan({"find": "s", "filter": {"user_id": 5, "at": {"$gte": start}}, "sort": {"at": -1}, "limit": 5})
        assert ranged.indexes == ["user_id_1_at_-1"] and ranged.in_memory_sort, ranged.stages
        assert plan({"find": "s", "filter": {"email": "u7@x.org"}}).indexes == ["email_1"]
        assert plan({"find": "s", "filter": {"n": {"$gt": 1990}}}).indexes == ["n_-1"]
        assert plan({"find": "s", "filter": {"$text": {"$search": "alpha"}}}).indexes == ["bio_text"]
        near = {"$near": {"$geometry": {"type": "Point", "coordinates": [0, 45]}, "$maxDistance": 5000}}
        assert plan({"find": "s", "filter": {"loc": near}}).indexes == ["loc_2dsphere"]
        scan = plan({"find": "s", "filter": {"status": "a"}})
        assert scan.collection_scan and not scan.uses_index, scan.stages
        agg = plan({"aggregate": "s", "pipeline": [{"$match": {"user_id": 5}}, {"$group": {"_id": "$status"}}],
                    "cursor": {}})
        assert agg.indexes == ["user_id_1_at_-1"] and not agg.collection_scan, agg.stages
        lookup = plan({"aggregate": "o", "pipeline": [
            {"$match": {"uid": 3}},
            {"$lookup": {"from": "s", "localField": "uid", "foreignField": "user_id", "as": "j"}}], "cursor": {}}, "o")
        assert lookup.indexes[0] == "uid_1" and lookup.uses_index, lookup.stages
        count = plan({"count": "s", "query": {"user_id": 5}})
        assert count.indexes == ["user_id_1_at_-1"], count.stages
        # 20 documents: PostgreSQL reads the table even for a unique key; the summary says so
        db.tiny.insert_many([{"k": i} for i in range(20)])
        db.tiny.create_index("k", unique=True, name="k_1")
        tiny = plan({"find": "tiny", "filter": {"k": 7}}, "tiny")
        assert tiny.collection_scan and not tiny.uses_index and tiny.stages == ["Seq Scan"], tiny.stages
    finally:
        client.drop_database(db.name)
