"""Purges that cannot skip: every `_id` type, batches smaller than the collection, an
after-check that counts what is left itself, and the refusals of a purge aimed wrong."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, ObjectId, encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.purge import Purger, matches
from harness.servers import Server
from harness.spec import Retention, load_system
from tests.conftest import AS_OF, run_cli

COLL = "t_purge_paging"
CUT = AS_OF - timedelta(days=30)

ids = st.one_of(
    st.binary(min_size=12, max_size=12).map(ObjectId),
    st.text(min_size=1, max_size=6),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.uuids().map(lambda u: Binary.from_uuid(u)),
)
ages = st.integers(min_value=1, max_value=60).map(lambda d: AS_OF - timedelta(days=d, seconds=1))
docs = st.lists(st.tuples(ids, ages, st.sampled_from(["x", "y"]), st.lists(ages, max_size=4)),
                min_size=2, max_size=40, unique_by=lambda t: encode({"v": t[0]}))

RULES = [
    Retention("r_unset", COLL, "t", 30, "unset", match={"kind": "y"}, fields=("detail",)),
    Retention("r_pull", COLL, "ts", 30, "pull", target="arr"),
    Retention("r_delete", COLL, "t", 30, "delete", match={"kind": "x"}),
]


def _model(rows: list[tuple[Any, datetime, str, list[datetime]]]) -> dict[bytes, dict[str, Any]]:
    out = {}
    for _id, t, kind, arr in rows:
        if kind == "x" and t < CUT:
            continue
        doc: dict[str, Any] = {"_id": _id, "t": t, "kind": kind, "arr": [{"ts": a} for a in arr if a >= CUT]}
        if not (kind == "y" and t < CUT):
            doc["detail"] = "d"
        out[encode({"v": _id})] = doc
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=docs, data=st.data())
def test_purge_with_mixed_id_types_and_small_batches_misses_nothing(server: Server, rows, data) -> None:  # type: ignore[no-untyped-def]
    """Either every rule leaves exactly the model's documents, or - on a server that cannot
    address some `_id` type - the purge stops with a HarnessError naming what is left. Never a
    silent skip."""
    batch = data.draw(st.integers(min_value=1, max_value=len(rows) - 1), label="batch size")
    db = server.client()["t_purge_prop"]
    db[COLL].drop()
    db[COLL].insert_many([{"_id": i, "t": t, "kind": k, "arr": [{"ts": a} for a in arr], "detail": "d"}
                          for i, t, k, arr in rows])
    unaddressable = [i for i, t, _k, arr in rows if (t < CUT or any(a < CUT for a in arr))
                     and db[COLL].count_documents({"_id": i}) != 1]
    dry = Purger(db, load_system("masterx"), AS_OF, execute=False, batch_size=batch).run(RULES)
    model = _model(rows)
    assert dry[0].documents == sum(1 for _i, t, k, _a in rows if k == "y" and t < CUT)
    assert dry[1].elements == sum(1 for _, _, _, arr in rows for a in arr if a < CUT)
    assert dry[2].documents == sum(1 for _i, t, k, _a in rows if k == "x" and t < CUT) == len(rows) - len(model)
    if unaddressable:  # nx-27017 cannot match UUID _ids: the purge must say so, loudly
        with pytest.raises(HarnessError) as err:
            Purger(db, load_system("masterx"), AS_OF, execute=True, batch_size=batch).run(RULES)
        assert err.value.exit_code == 1 and ("still match" in err.value.message or "left" in err.value.message)
        return
    results = Purger(db, load_system("masterx"), AS_OF, execute=True, batch_size=batch).run(RULES)
    assert [r.remaining for r in results] == [0, 0, 0]
    got = {encode({"v": d["_id"]}): d for d in db[COLL].find()}
    assert got.keys() == model.keys()
    for key, want in model.items():
        have = got[key]
        assert [e["ts"] for e in have["arr"]] == [e["ts"] for e in want["arr"]]
        assert ("detail" in have) == ("detail" in want)
    again = Purger(db, load_system("masterx"), AS_OF, execute=False, batch_size=batch).run(RULES)
    assert [(r.documents, r.elements) for r in again] == [(0, 0), (0, 0), (0, 0)]


def test_after_check_names_the_harness_count_and_the_ids(server: Server) -> None:
    """Something left past a cutoff (here: never purged) fails loudly with the harness's own
    count and the first _ids - no blaming the server."""
    db = server.client()["t_purge_left"]
    db[COLL].drop()
    db[COLL].insert_many([{"_id": 42, "t": CUT - timedelta(days=1), "kind": "x"},
                          {"_id": "bnd-ls", "t": CUT - timedelta(days=2), "kind": "x"},
                          {"_id": ObjectId(), "t": CUT + timedelta(days=1), "kind": "x"}])
    purger = Purger(db, load_system("masterx"), AS_OF, execute=True)
    count, first = purger.remaining(RULES[2])
    assert count == 2 and sorted(map(str, first)) == ["42", "bnd-ls"]
    with pytest.raises(HarnessError) as err:
        purger._check_done(RULES[2], _result(RULES[2]))
    assert "left 2 document(s)" in err.value.message and "the harness's own count" in err.value.message
    assert "42" in err.value.message and "'bnd-ls'" in err.value.message
    assert err.value.exit_code == 1


def _result(rule: Retention) -> Any:
    from harness.purge import RuleResult, cutoff

    return RuleResult(rule.name, rule.collection, rule.action, rule.policy, cutoff=cutoff(rule, AS_OF))


def test_matcher_evaluates_rule_filters_like_mongodb() -> None:
    doc = {"a": 1, "b": {"c": "z"}, "t": CUT - timedelta(days=1)}
    assert matches(doc, {"a": 1, "b.c": {"$in": ["z"]}, "t": {"$lt": CUT}})
    assert matches(doc, {"missing": {"$ne": "deleted"}, "archived": {"$nin": [True]}})
    assert not matches(doc, {"$or": [{"x": {"$exists": True}}, {"b.d": {"$exists": True}}]})
    assert not matches(doc, {"t": {"$lt": "2020"}})  # types are compared as MongoDB does: not at all


@pytest.fixture
def masterx_db(server: Server, loaded):  # type: ignore[no-untyped-def]
    """A private copy of the loaded masterx data (purges change it)."""
    src = loaded("masterx", 0.02)
    db = server.client()["t_purge_obs"]
    server.client().drop_database(db.name)
    for name in src.list_collection_names():
        if not name.startswith("system."):
            rows = list(src[name].find())
            if rows:
                db[name].insert_many(rows)
    yield db
    server.client().drop_database(db.name)


def _purge(server: Server, db_name: str, tmp_path: Path, *extra: str) -> Any:
    return run_cli("purge", "masterx", "--uri", server.uri, "--db", db_name, "--now", "2026-11-01",
                   "--out", str(tmp_path / "reports"), *extra)


def test_observed_string_and_integer_ids_are_purged(server: Server, masterx_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Observed: a session with _id "bnd-ls" kept an interaction past its 90-day cutoff through
    five --execute runs, dry runs then said 0; a delete rule left _id 42 behind."""
    db = masterx_db
    session = db["learning_sessions"].find_one({"interactions.0": {"$exists": True}})
    old = AS_OF - timedelta(days=91)
    session.update(_id="bnd-ls", session_id=str(uuid.uuid4()), started_at=AS_OF - timedelta(days=10),
                   interactions=[{**session["interactions"][0], "timestamp": old}])
    db["learning_sessions"].insert_one(session)
    emo = db["emotional_analytics"].find_one()
    emo.update(_id=42, data_source="daily_aggregation", analysis_date=old)
    db["emotional_analytics"].insert_one(emo)

    r = _purge(server, db.name, tmp_path, "--execute", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["schema"] == "sla-harness/purge/1"
    assert all(rule["remaining_after"] in (0, None) for rule in report["rules"])
    assert db["learning_sessions"].find_one({"_id": "bnd-ls"})["interactions"] == []
    assert db["emotional_analytics"].find_one({"_id": 42}) is None
    dry = json.loads(_purge(server, db.name, tmp_path, "--json").stdout)
    assert all(rule["documents"] == 0 and rule["elements"] == 0 for rule in dry["rules"]), dry["rules"]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("[")]
    assert any("rule ai_interaction_logs" in ln for ln in lines)  # no TTY: a line per rule with elapsed time


def test_future_cutoff_is_refused_and_names_what_it_would_remove(server: Server, masterx_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Observed: `purge --execute --as-of 2099-01-01` (now --now) would delete every user and exit 0."""
    db = masterx_db
    before = {n: db[n].count_documents({}) for n in db.list_collection_names()}
    r = run_cli("purge", "masterx", "--uri", server.uri, "--db", db.name, "--execute", "--now", "2099-01-01",
                "--out", str(tmp_path / "r"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing --now 2099-01-01: it lies in the future")
    assert "users: deleted_accounts" in lines[0] and "Traceback" not in r.stderr
    assert before == {n: db[n].count_documents({}) for n in db.list_collection_names()}
    forecast = _purge(server, db.name, tmp_path, "--json")  # a dry run may look ahead, and says so
    assert forecast.returncode == 0


def test_database_without_the_systems_collections_is_refused(server: Server, tmp_path: Path) -> None:
    db = server.client()["t_purge_wrongdb"]
    db["users"].insert_one({"name": "not masterx", "updated_at": datetime(2000, 1, 1), "account_status": "deleted"})
    try:
        r = run_cli("purge", "masterx", "--uri", server.uri, "--db", db.name, "--execute", "--out",
                    str(tmp_path / "r"))
        assert r.returncode == 2
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: database {db.name} lacks masterx's collections") and "learning_sessions" in line
        assert db["users"].count_documents({}) == 1
    finally:
        server.client().drop_database(db.name)
