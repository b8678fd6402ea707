"""Contract tests: the harness's readers of MongoDB-only response shapes, on recorded responses.

No MongoDB server runs on this machine (the reference server is FerretDB 2 on DocumentDB, whose
explain, serverStatus and hello differ), so the code paths that read shapes only MongoDB
returns are tested here on responses taken from MongoDB's own documentation and source, one
JSON file each under tests/recorded/mongodb/. Every file names its source in `_source` (a
mongodb/docs or mongodb/mongo path, or a docs URL); where the docs elide fields with `...` they
are left out, and where the docs give placeholders (`<num>`) the values are illustrative and the
file says so in `_note`. These tests need no server: they test parsing functions on recorded
data, which the project allows for MongoDB-only shapes. The same paths run against real servers
in the other test modules.

Sources by group:
- explain, classic engine: mongodb/docs source/tutorial/analyze-query-plan.txt (COLLSCAN,
  FETCH > IXSCAN, compound hint, executionStats counters), source/reference/explain-results.txt
  (stage trees, aggregate `$cursor`, sharded `shards[].winningPlan`), mongodb/mongo
  src/mongo/db/query/plan_explainer_impl.cpp and plan_explainer_sbe.cpp (fields of SORT,
  IXSCAN, TEXT_MATCH, GEO_NEAR_2DSPHERE, IDHACK);
- explain, slot-based engine: https://www.mongodb.com/docs/manual/reference/explain-results/
  (`explainVersion: "2"`, `winningPlan.queryPlan`, `slotBasedPlan`) and mongodb/mongo
  jstests/libs/analyze_plan.js;
- `$collStats` storageStats: mongodb/docs source/reference/operator/aggregation/collStats.txt
  and source/reference/command/collStats.txt; dbStats: source/reference/command/dbStats.txt;
- `serverStatus.wiredTiger.cache`: mongodb/docs source/reference/command/serverStatus.txt;
- `hello`: mongodb/docs source/reference/command/hello.txt;
- `listIndexes` (read by harness/indexspec.py): mongodb/docs
  source/reference/command/listIndexes.txt and the index-type pages named in
  tests/recorded/mongodb/listindexes_every_kind.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.capacity.measure import db_sizes, storage_stats, wiredtiger_cache
from harness.capacity.units import GIB
from harness.capacity.units import wiredtiger_cache as default_cache
from harness.explain import detect_format, summarize
from harness.indexes import _find_live
from harness.indexspec import Shape, differences, from_index, from_live
from harness.servers.capabilities import Capabilities, replica_set_member
from harness.spec import idx, text

RECORDED = Path(__file__).parent / "recorded" / "mongodb"
MONGO_CAPS = Capabilities(kind="mongodb", server="MongoDB 7.0", descending_keys=True, unique_index_on_id=True,
                          index_names=True, text_index=True, text_index_listed=True)


def recorded(name: str) -> Any:
    doc = json.loads((RECORDED / f"{name}.json").read_text())
    assert doc["_source"], f"{name}: every recorded response names its source"
    return doc["response"]


def test_every_recorded_response_names_its_source() -> None:
    files = sorted(RECORDED.glob("*.json"))
    assert len(files) >= 20
    for f in files:
        doc = json.loads(f.read_text())
        assert set(doc) <= {"_source", "_note", "response"} and doc["_source"], f.name


# ---------------------------------------------------------------------------------------------
# explain (harness/explain.py, read by the bench index check)


@pytest.mark.parametrize("name, indexes, stages, scan, sort, counters", [
    ("explain_classic_collscan", [], ["COLLSCAN"], True, False, (0, 10, 3)),
    # the docs elide indexName: MongoDB's default name for keyPattern {quantity: 1}
    ("explain_classic_fetch_ixscan", ["quantity_1"], ["FETCH", "IXSCAN"], False, False, (3, 3, 3)),
    ("explain_classic_compound_hint", ["type_1_quantity_1"], ["FETCH", "IXSCAN"], False, False, (2, 2, 2)),
    ("explain_classic_sort_fetch_ixscan_desc", ["user_id_1_started_at_-1"], ["SORT", "FETCH", "IXSCAN"],
     False, True, (12, 12, 12)),
    # TEXT_MATCH and its IXSCAN name the same text index once
    ("explain_classic_text_match", ["subject_text"], ["TEXT_MATCH", "FETCH", "IXSCAN"], False, False,
     (None, None, None)),
    # GEO_NEAR_2DSPHERE is itself the index access: it has no IXSCAN child at queryPlanner verbosity
    ("explain_classic_geo_near_2dsphere", ["location_2dsphere"], ["FETCH", "GEO_NEAR_2DSPHERE"], False, False,
     (None, None, None)),
    ("explain_classic_idhack", ["_id_"], ["IDHACK"], False, False, (1, 1, 1)),
    ("explain_classic_aggregate_cursor", ["status_1"], ["PROJECTION_SIMPLE", "FETCH", "IXSCAN"], False, False,
     (30, 30, 30)),
    # a sharded find: each shard's winning plan under winningPlan.shards
    ("explain_sharded_single_shard", ["cust_id_1"], ["SINGLE_SHARD", "FETCH", "SHARDING_FILTER", "IXSCAN"],
     False, False, (4, 4, 4)),
    # slot-based engine: the stage tree is winningPlan.queryPlan (winningPlan itself has no stage)
    ("explain_sbe_fetch_ixscan", ["status_1"], ["FETCH", "IXSCAN"], False, False, (250, 250, 250)),
    ("explain_sbe_aggregate_group_collscan", [], ["GROUP", "COLLSCAN"], True, False, (0, 41079, 3)),
])
def test_mongodb_explain(name: str, indexes: list[str], stages: list[str], scan: bool, sort: bool,
                         counters: tuple[int | None, int | None, int | None]) -> None:
    plan = recorded(name)
    assert detect_format(plan) == "mongodb"
    s = summarize(plan)
    assert (s.indexes, s.stages, s.collection_scan, s.in_memory_sort) == (indexes, stages, scan, sort)
    assert (s.keys_examined, s.docs_examined, s.returned) == counters
    assert s.uses_index == (bool(indexes) and not scan) and not s.placeholder


# ---------------------------------------------------------------------------------------------
# $collStats storageStats and serverStatus.wiredTiger.cache (harness/capacity/measure.py)


def test_collstats_storage_stats() -> None:
    st = storage_stats(recorded("collstats_storage_stats"))
    assert (st.count, st.size, st.storage_size, st.free_storage_size) == (1104369, 608500363, 352878592, 2490380)
    assert st.index_sizes == {"_id_": 9891840, "_id_1_abc_1": 250445824}
    assert st.total_index_size == 260337664 == sum(st.index_sizes.values())
    assert st.compressor == "snappy"


def test_collstats_sharded_documents_are_summed() -> None:
    st = storage_stats(recorded("collstats_sharded"))
    assert st.count == 661705 + 442164 == 1103869  # the docs' per-shard counts
    assert st.size == 608500363 and st.storage_size == 352878592
    assert st.index_sizes == {"_id_": 9891840, "_id_1_abc_1": 250445824}


def test_collstats_scale_is_undone() -> None:
    st = storage_stats(recorded("collstats_scaled"))
    assert st.count == 1104369  # counts are never scaled
    assert st.size == 594238 * 1024 and st.index_sizes["_id_"] == 9660 * 1024


def test_collstats_command_reply_is_read_the_same_way() -> None:
    """The deprecated `collStats` command (the fallback) has the storageStats fields at the top."""
    command_reply = {**recorded("collstats_storage_stats")[0]["storageStats"], "ns": "test.matrices", "ok": 1}
    assert storage_stats([command_reply]) == storage_stats(recorded("collstats_storage_stats"))


def test_dbstats_scaled_reply_is_read_in_bytes() -> None:
    data, storage, index = db_sizes(recorded("dbstats_scaled"))
    assert (data, storage, index) == (round(86.7021484375 * 1024), 100 * 1024, 116 * 1024)
    assert db_sizes({"dataSize": 5, "storageSize": 0}) == (5, None, None)  # 0 is "not reported"


def test_serverstatus_wiredtiger_cache() -> None:
    status = recorded("serverstatus_wiredtiger_cache")
    cache = wiredtiger_cache(status)
    assert cache is not None
    assert (cache.max_bytes, cache.used_bytes, cache.dirty_bytes) == (7 * GIB, 2 * GIB, 1048576)
    # the configured cache is MongoDB's default for a 15 GiB machine, the formula the RAM fit uses
    assert default_cache(15 * GIB) == cache.max_bytes
    assert wiredtiger_cache({"ok": 1}) is None  # no wiredTiger section: another engine, DocumentDB, nx
    assert wiredtiger_cache({"wiredTiger": {"cache": {}}}) is None


# ---------------------------------------------------------------------------------------------
# hello (capability probe -> replica_set -> backup's --oplog default)


@pytest.mark.parametrize("name, member", [
    ("hello_replica_set_primary", True),
    ("hello_replica_set_secondary", True),  # mongodump --oplog reads a secondary's oplog too
    ("hello_replica_set_arbiter", False),  # an arbiter holds no data
    ("hello_standalone", False),
    ("hello_mongos", False),  # a mongos has no oplog to dump
])
def test_hello_replica_set(name: str, member: bool) -> None:
    hello = recorded(name)
    assert replica_set_member(hello) is member
    caps = Capabilities(kind="mongodb", server="MongoDB 7.0", replica_set=replica_set_member(hello))
    if member:
        caps.require("replica_set", purpose="dump with --oplog")
        assert hello["setName"] == "rs0" and hello["primary"] in hello["hosts"]
    else:
        with pytest.raises(Exception, match="replica set"):
            caps.require("replica_set", purpose="dump with --oplog")


# ---------------------------------------------------------------------------------------------
# listIndexes (harness/indexes.py and harness/indexspec.py compare live indexes with documented ones)


def _live() -> list[Shape]:
    return [from_live(spec) for spec in recorded("listindexes_every_kind")["cursor"]["firstBatch"]]


@pytest.mark.parametrize("documented, name", [
    (idx("a"), "a_1"),
    (idx(("user_id", 1), ("started_at", -1)), "user_id_1_started_at_-1"),  # descending kept
    (idx("email", unique=True), "email_1"),
    (text("title", "body", weights={"title": 10}), "title_text_body_text"),  # _fts/_ftsx + weights
    (idx("status", ("notes", "text")), "status_1_notes_text"),  # a compound text index with a prefix
    (idx(("location", "2dsphere")), "location_2dsphere"),
    (idx("created_at", ttl=3600), "created_at_1"),
    (idx("cuisine", "name", partial={"rating": {"$gt": 5}}), "cuisine_1_name_1"),
    (idx("score", sparse=True), "score_1"),
    (idx(("customer_id", "hashed")), "customer_id_hashed"),
    # declared collation: the server lists the full spec; the declared fields must agree
    (idx("category", collation={"locale": "fr", "strength": 2}), "category_1"),
    (idx(("day", -1)), "day_-1"),  # listed with a double -1.0 direction
])
def test_listindexes_every_kind_matches_its_documented_index(documented, name: str) -> None:
    match, how = _find_live(from_index(documented), _live(), MONGO_CAPS)
    assert match is not None and match.name == name and how == "exact", (match, how)


def test_listindexes_options_that_differ_are_reported() -> None:
    live = {shape.name: shape for shape in _live()}
    assert live["title_text_body_text"].key == (("body", "text"), ("title", "text"))
    assert live["title_text_body_text"].weights == (("body", 1), ("title", 10))
    assert live["created_at_1"].expire_after_seconds == 3600 and live["score_1"].sparse
    assert live["day_-1"].key == (("day", -1),)
    for documented, live_name, what in [
        (idx("a", unique=True), "a_1", "unique"),
        (idx("created_at", ttl=60), "created_at_1", "expire after seconds"),
        (idx("cuisine", "name"), "cuisine_1_name_1", "partial"),
        (text("title", "body"), "title_text_body_text", "weights"),
        (idx("category", collation={"locale": "de"}), "category_1", "collation"),
    ]:
        match, how = _find_live(from_index(documented), _live(), MONGO_CAPS)
        assert match is not None and match.name == live_name and how == "differs", (documented, how)
        assert any(d.startswith(what) for d in differences(from_index(documented), match)), what
    # an ascending documented index is not the live descending one
    assert _find_live(from_index(idx(("user_id", 1), ("started_at", 1))), _live(), MONGO_CAPS)[0] is None
