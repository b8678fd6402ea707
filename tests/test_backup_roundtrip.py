"""Backup → restore-verify round trips with the real mongodump/mongorestore on real servers,
and the faults that must leave nothing marked good."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bson import CodecOptions
from bson.raw_bson import RawBSONDocument

from harness.backup import catalog
from harness.backup.archive import ArchiveError, ArchiveInspector
from harness.backup.checksum import collection_digest
from harness.backup.manifest import ARCHIVE, MANIFEST, Manifest
from harness.backup.restore import SCRATCH_PREFIX, parse_summary
from harness.backup.store import LocalStore
from harness.backup.verify import verify
from harness.servers import Server
from harness.tools import find_tool
from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.skipif(not find_tool("mongodump") or not find_tool("mongorestore"),
                                reason="mongodump/mongorestore not built: run scripts/setup-tools.sh")


def _backup(server: Server, db: str, dest: Path, *extra: str) -> Manifest:
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db, "--to", str(dest), "--json", *extra)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    raw = (dest / "masterx" / out["id"] / MANIFEST).read_text()
    return Manifest.from_json(raw)


@pytest.fixture
def backup_of(server: Server, loaded, tmp_path: Path):  # type: ignore[no-untyped-def]
    db = loaded("masterx", 0.02)
    return db, _backup(server, db.name, tmp_path / "store"), tmp_path / "store"


def test_manifest_matches_an_independent_read_of_the_source(server: Server, backup_of) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    mine = manifest.in_database(db.name)
    names = [n for n in db.list_collection_names() if not n.startswith("system.")]
    assert sorted(mine) == sorted(names)
    for name in names:
        digest = collection_digest(db[name])
        assert mine[name].count == db[name].count_documents({}) == digest.count
        assert mine[name].checksum == digest.hexdigest()
        assert {tuple(map(tuple, ix["key"])) for ix in mine[name].indexes} == {
            tuple(dict(ix["key"]).items()) for ix in db[name].list_indexes()}
    assert manifest.archive.bytes == (store / "masterx" / manifest.id / ARCHIVE).stat().st_size
    assert manifest.source.kind == server.caps.kind
    assert manifest.tools["mongodump"]
    assert manifest.started_at <= manifest.finished_at
    assert ("no --oplog" in manifest.consistency) == (not server.caps.replica_set)


def test_round_trip_local_verifies_and_drops_scratch(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    listed = run_cli("backup", "list", "--to", str(store), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(b["id"], b["state"]) for b in json.loads(listed.stdout)["backups"]] == [(manifest.id, "complete")]
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                str(tmp_path / "reports"), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] and report["archive_sha256_ok"] and report["within_rto"]
    assert report["documents_failed"] == 0
    assert report["documents_restored"] == sum(db[n].count_documents({}) for n in db.list_collection_names())
    assert {c["what"] for c in report["checks"]} == {"count", "checksum", "indexes"}
    assert all(c["ok"] for c in report["checks"])
    assert report["scratch_dropped"] and report["target_db"] == SCRATCH_PREFIX + db.name
    assert report["target_db"] not in server.client().list_database_names()
    if (REPO / "workloads" / "masterx.py").is_file():  # the bench's critical queries, run once on the restore
        assert report["queries"] and all(q["ok"] for q in report["queries"]), report["queries"]
    else:
        assert "not available" in report["query_note"]
    html = list((tmp_path / "reports").glob("restore-verify-masterx-*.html"))
    assert html and "VERIFIED" in html[0].read_text()


def test_corruption_in_restored_data_is_detected(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    scratch = SCRATCH_PREFIX + "corrupt"
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--target-db", scratch,
                "--keep", "--out", str(tmp_path / "reports"), "--json")
    assert r.returncode == 0, r.stderr
    target = server.client()[scratch]
    try:
        assert all(c.ok for c in verify(target, manifest))
        # a deleted document, a changed field, a dropped index - each in its own collection
        target["emotional_analytics"].delete_one({"_id": target["emotional_analytics"].find_one()["_id"]})
        user = target["users"].find_one()
        target["users"].update_one({"_id": user["_id"]}, {"$set": {"profile.name": user["profile"]["name"] + "x"}})
        victim = next(ix["name"] for ix in target["content_mastery"].list_indexes() if ix["name"] != "_id_")
        target["content_mastery"].drop_index(victim)
        bad = {(c.collection, c.what) for c in verify(target, manifest) if not c.ok}
        assert bad == {("emotional_analytics", "count"), ("emotional_analytics", "checksum"),
                       ("users", "checksum"), ("content_mastery", "indexes")}
    finally:
        server.client().drop_database(scratch)


def test_truncated_archive_is_rejected(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    archive = store / "masterx" / manifest.id / ARCHIVE
    data = archive.read_bytes()
    inspector = ArchiveInspector()
    inspector.feed(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="truncated"):
        inspector.finish()
    archive.write_bytes(data[: len(data) // 2])
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                str(tmp_path / "r"))
    assert r.returncode == 1
    assert "damaged" in r.stderr and "truncated" in r.stderr and "Traceback" not in r.stderr
    assert SCRATCH_PREFIX + db.name not in server.client().list_database_names()
    listed = json.loads(run_cli("backup", "list", "--to", str(store), "--json").stdout)
    assert [b["state"] for b in listed["backups"]] == ["damaged"]


def test_corrupted_archive_bytes_are_rejected(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    archive = store / "masterx" / manifest.id / ARCHIVE
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte
    archive.write_bytes(bytes(data))
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                str(tmp_path / "r"), "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert not report["ok"] and report["archive_sha256_ok"] is False
    assert SCRATCH_PREFIX + db.name not in server.client().list_database_names()


def test_restore_target_that_is_not_scratch_is_refused(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, manifest, store = backup_of
    before = {n: db[n].count_documents({}) for n in db.list_collection_names()}
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--target-db", db.name)
    assert r.returncode == 2 and "refusing to restore over the source database" in r.stderr
    busy = server.client()[SCRATCH_PREFIX + "busy"]
    busy["precious"].insert_one({"x": 1})
    try:
        r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--target-db", busy.name)
        assert r.returncode == 2 and "is not a scratch database" in r.stderr
        assert busy["precious"].count_documents({}) == 1
    finally:
        server.client().drop_database(busy.name)
    assert before == {n: db[n].count_documents({}) for n in db.list_collection_names()}


def test_mongorestore_failed_documents_are_counted(server: Server, backup_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """mongorestore exits 0 when documents fail; its summary line is what tells."""
    from harness.backup import relay
    from harness.backup.toolconfig import tool_config

    db, manifest, store = backup_of
    target = server.client()[SCRATCH_PREFIX + "dups"]
    target["users"].insert_many(list(db["users"].find().limit(3)))  # same _ids: duplicates on restore
    try:
        fixes = relay.needs(server.client())
        with relay.relayed(server.uri, server.client(), fixes) as uri, tool_config(uri) as config:
            out = subprocess.run([find_tool("mongorestore"), config.arg, "--gzip",
                                  f"--archive={store / 'masterx' / manifest.id / ARCHIVE}",
                                  f"--nsInclude={db.name}.users", f"--nsFrom={db.name}.*", f"--nsTo={target.name}.*"],
                                 capture_output=True, text=True, timeout=300, pass_fds=config.pass_fds)
        assert out.returncode == 0  # the trap
        restored, failed = parse_summary(out.stderr.splitlines())
        assert failed == 3 and restored == db["users"].count_documents({}) - 3
    finally:
        server.client().drop_database(target.name)


def test_no_complete_backup_is_one_clear_line(server: Server, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(tmp_path / "empty"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("error: no complete backup of masterx")


def _fake_tool(dir_: Path, name: str, script: str) -> None:
    path = dir_ / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_dump_cut_short_is_never_marked_good(server: Server, loaded, tmp_path: Path) -> None:
    """A mongodump whose stream ends early but exits 0 (a real process, its output cut)."""
    db = loaded("masterx", 0.02)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _fake_tool(bindir, "mongodump", f'"{find_tool("mongodump")}" "$@" | head -c 20000\n')
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(tmp_path / "store"),
                env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert r.returncode == 1 and "truncated" in r.stderr
    assert catalog.entries(LocalStore(tmp_path / "store")) == []
    assert not list((tmp_path / "store").rglob("*.gz*"))


def test_missing_tool_is_one_clear_line(server: Server, loaded, tmp_path: Path) -> None:
    db = loaded("masterx", 0.02)
    r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(tmp_path / "s"),
                env={"PATH": "/nonexistent", "HARNESS_TOOLS_DIR": str(tmp_path / "no-tools")})
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: mongodump not found on PATH or in {tmp_path / 'no-tools'} — install the MongoDB Database Tools "
        "on PATH (or into HARNESS_TOOLS_DIR); in a checkout, scripts/setup.sh builds them"]


def test_disk_full_leaves_nothing_behind(server: Server, loaded, tmp_path: Path) -> None:
    """A real file-size limit (RLIMIT_FSIZE: writes fail with EFBIG, as on a full disk)."""
    db = loaded("masterx", 0.02)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024)); "
            "from harness.cli import main; sys.argv[0] = 'harness'; main(sys.argv[1:])")
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    r = subprocess.run([sys.executable, "-c", code, "backup", "masterx", "--uri", server.uri, "--db", db.name,
                        "--to", str(tmp_path / "store")], capture_output=True, text=True, cwd=REPO, env=env,
                       timeout=300)
    assert r.returncode == 2, r.stderr
    assert "disk full" in r.stderr and "Traceback" not in r.stderr
    assert not [p for p in (tmp_path / "store").rglob("*") if p.is_file()]


def test_raw_bson_round_trip_is_byte_identical(server: Server, backup_of) -> None:  # type: ignore[no-untyped-def]
    """What the digest relies on: a document read back after restore has the same bytes."""
    db, manifest, store = backup_of
    raw = db["learning_sessions"].with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
    first = raw.find_one()
    assert first is not None and bytes(first.raw) == bytes(raw.find_one({"_id": first["_id"]}).raw)
