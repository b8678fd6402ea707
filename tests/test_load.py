"""`harness load` on real servers: every system's collections, fields, references, unique keys,
indexes, determinism and resumability."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import bson
import pytest

from harness import load as loader
from harness import schema
from harness.indexes import check as check_indexes
from harness.indexes import unsupported_reason
from harness.servers import Server
from harness.spec import load_system, system_names
from tests.conftest import AS_OF, REPO, TEST_SEED

SYSTEMS = system_names()


@pytest.mark.smoke
@pytest.mark.parametrize("name", SYSTEMS)
def test_every_documented_collection_is_filled(server: Server, loaded, name: str) -> None:
    system = load_system(name)
    db = loaded(name)
    counts = system.counts(0.02)
    for coll in system.collections:
        assert db[coll.name].count_documents({}) == counts[coll.name] > 0, coll.name


@pytest.mark.parametrize("name", SYSTEMS)
def test_documented_fields_types_and_enums(server: Server, loaded, name: str) -> None:
    system = load_system(name)
    db = loaded(name)
    for coll in system.collections:
        docs = list(db[coll.name].find().limit(300))
        problems = [p for d in docs for p in schema.check_document(d, coll)]
        assert not problems, f"{coll.name}: {problems[:5]}"
        # every documented top-level field appears somewhere in the sample (optional ones included)
        top = {path.split(".")[0].removesuffix("[]") for path in coll.fields}
        seen = {k for d in docs for k in d}
        assert top <= seen, f"{coll.name} never generates {sorted(top - seen)}"


@pytest.mark.parametrize("name", SYSTEMS)
def test_no_dangling_references_and_unique_keys_unique(server: Server, loaded, name: str) -> None:
    system = load_system(name)
    db = loaded(name)
    for coll in system.collections:
        docs = list(db[coll.name].find())
        for ref in coll.refs:
            target = {v for d in db[ref.target].find({}, {ref.target_field: 1})
                      for v in schema.values(d, ref.target_field)}
            used = {v for d in docs for v in schema.values(d, ref.field)}
            dangling = used - target
            assert used and not dangling, f"{coll.name}.{ref.field} → {ref.target}: {list(dangling)[:3]}"
        for field in coll.unique:
            values = Counter(v for d in docs for v in schema.values(d, field))
            dups = [v for v, n in values.items() if n > 1]
            assert not dups, f"{coll.name}.{field} duplicated: {dups[:3]}"


@pytest.mark.smoke
@pytest.mark.parametrize("name", SYSTEMS)
def test_documented_indexes_present(server: Server, loaded, name: str) -> None:
    """No drift; anything else is either exact or a limitation the capability profile explains."""
    system = load_system(name)
    statuses = check_indexes(loaded(name), system, server.caps)
    assert not [s for s in statuses if s.is_drift], [vars(s) for s in statuses if s.is_drift]
    for s in statuses:
        assert s.status in ("ok", "degraded", "unsupported", "unverifiable"), vars(s)
        if s.status != "ok":
            assert s.detail and server.caps.server in s.detail, vars(s)


@pytest.mark.needs("unique_index_on_id", "descending_keys", "index_names")
@pytest.mark.parametrize("name", SYSTEMS)
def test_index_fidelity_exact(server: Server, loaded, name: str) -> None:
    """On a server that honours them, every non-text documented index is exactly as documented,
    names included (DoIt's id_index on `id`, BMD's named indexes, descending keys)."""
    system = load_system(name)
    statuses = check_indexes(loaded(name), system, server.caps)
    by_index = {(s.collection, s.index): s for s in statuses}
    for coll in system.collections:
        for index in coll.indexes:
            s = by_index[(coll.name, index.describe())]
            reason = unsupported_reason(index, server.caps)  # a kind this server cannot keep (collation)
            assert (s.status, s.detail) == ("unsupported", reason) if reason else s.status == "ok", vars(s)


def _digest(db, system) -> dict[str, str]:
    out = {}
    for coll in system.collections:
        h = hashlib.sha256()
        for doc in db[coll.name].find().sort("_id", 1):
            h.update(bson.encode(doc))
        out[coll.name] = h.hexdigest()
    return out


def test_same_seed_same_data_other_seed_other_data(server: Server) -> None:
    system = load_system("doit")
    digests = []
    for db_name, seed in (("t_det_a", 11), ("t_det_b", 11), ("t_det_c", 12)):
        params = loader.LoadParams("doit", db_name, seed, 0.02, AS_OF, batch_size=37, workers=2)
        loader.run(server, system, params, drop=True, progress=False)
        digests.append(_digest(server.client()[db_name], system))
        server.client().drop_database(db_name)
    assert digests[0] == digests[1]
    assert all(digests[0][c] != digests[2][c] for c in digests[0])


def test_generation_is_independent_of_batching_and_workers() -> None:
    """Documents are a pure function of (seed, index): batch boundaries cannot change them."""
    from harness.datagen import Gen

    system = load_system("masterx")
    counts = system.counts(0.02)
    gen_a, gen_b = Gen(system, TEST_SEED, AS_OF, counts), Gen(system, TEST_SEED, AS_OF, counts)
    coll = system.collection("learning_sessions")
    forward = loader.build(gen_a, coll.make, coll.name, 0, 40)
    backward = [loader.build(gen_b, coll.make, coll.name, i, i + 1)[0] for i in reversed(range(40))][::-1]
    assert [bson.encode(d) for d in forward] == [bson.encode(d) for d in backward]


def _done_batches(db) -> int:
    return db[loader.META].count_documents({"kind": "batch"})


def test_resume_after_kill_mid_load(server: Server) -> None:
    system = load_system("masterx")
    db_name, scale = "t_resume", 0.05
    db = server.client()[db_name]
    server.client().drop_database(db_name)
    argv = [sys.executable, "-m", "harness", "load", "masterx", "--uri", server.uri, "--db", db_name,
            "--scale", str(scale), "--seed", str(TEST_SEED), "--batch-size", "20", "--workers", "2",
            "--as-of", AS_OF.strftime("%Y-%m-%d"), "--no-progress"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "MONGODB_URI": ""})
    deadline = time.time() + 120
    while time.time() < deadline and _done_batches(db) < 8 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the load finished before it could be interrupted; raise the scale"
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its worker processes, mid-batch
    proc.wait(timeout=30)
    counts = system.counts(scale)
    partial = sum(db[c].count_documents({}) for c in counts)
    assert 0 < partial < sum(counts.values())

    refused = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env={**os.environ, "MONGODB_URI": ""})
    assert refused.returncode == 2 and "--resume" in refused.stderr

    resumed = subprocess.run([*argv, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "MONGODB_URI": ""})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for coll, n in counts.items():
        assert db[coll].count_documents({}) == n, coll
        ids = [d["_id"] for d in db[coll].find({}, {"_id": 1})]
        assert len(ids) == len(set(ids)) == n, coll
    # and the resumed data equals an uninterrupted load
    params = loader.LoadParams("masterx", "t_resume_ref", TEST_SEED, scale, AS_OF, batch_size=500, workers=2)
    loader.run(server, system, params, drop=True, progress=False)
    assert _digest(db, system) == _digest(server.client()["t_resume_ref"], system)
    assert db[loader.META].find_one({"_id": "load"})["status"] == "complete"
    server.client().drop_database(db_name)
    server.client().drop_database("t_resume_ref")


def test_server_lost_mid_load_then_resume(tmp_path) -> None:
    """The server dies mid-load: one error line with a resume hint; once it is back, --resume
    finishes with exact counts. Uses its own nx-27017 process (the shared one stays up)."""
    from harness.servers import connect, embedded

    state = embedded.launch("nx-27017", tmp_path / "nx")
    uri, db_name, scale = state["uri"], "t_lost", 0.05
    argv = [sys.executable, "-m", "harness", "load", "masterx", "--uri", uri, "--db", db_name, "--scale",
            str(scale), "--seed", str(TEST_SEED), "--batch-size", "20", "--workers", "2", "--no-progress",
            "--as-of", AS_OF.strftime("%Y-%m-%d")]
    env = {**os.environ, "MONGODB_URI": "", "HARNESS_CONNECT_TIMEOUT_MS": "2000"}
    try:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        db = connect(uri).client()[db_name]
        deadline = time.time() + 120
        while time.time() < deadline and _done_batches(db) < 6 and proc.poll() is None:
            time.sleep(0.05)
        embedded.terminate(state)  # the server goes away mid-load
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "--resume" in errors[0] and "Traceback" not in err, err

        state = embedded.launch("nx-27017", tmp_path / "nx", port=state["port"])  # same data, same port
        resumed = subprocess.run([*argv, "--resume"], cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        db = connect(uri).client()[db_name]
        for coll, n in load_system("masterx").counts(scale).items():
            assert db[coll].count_documents({}) == n, coll
            assert len({d["_id"] for d in db[coll].find({}, {"_id": 1})}) == n, coll
    finally:
        embedded.terminate(state)
