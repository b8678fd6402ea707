"""Bad input to `harness load` / `harness indexes`: one clear line, a non-zero exit, nothing
half-written kept."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.servers import Server, documentdb, embedded


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_unknown_system(cli) -> None:
    result = cli("load", "nosuch", "--uri", "mongodb://127.0.0.1:1")
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "unknown system 'nosuch'" in line and "masterx" in line


@pytest.mark.parametrize("args", [["--scale", "-1"], ["--scale", "abc"], ["--scale", "0"], ["--scale", "nan"],
                                  ["--preset", "galactic"]])
def test_bad_scale(cli, args: list[str]) -> None:
    result = cli("load", "masterx", "--uri", "mongodb://127.0.0.1:1", *args)
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "scale" in line or "preset" in line


def test_unreachable_server(cli) -> None:
    port = embedded.free_port()
    result = cli("load", "masterx", "--uri", f"mongodb://127.0.0.1:{port}/")
    assert result.returncode == 2
    assert f"cannot reach MongoDB at 127.0.0.1:{port}" in _one_error_line(result)


def test_malformed_uri(cli) -> None:
    result = cli("load", "masterx", "--uri", "postgres://nope")
    assert result.returncode == 2
    assert "bad MongoDB URI" in _one_error_line(result)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The reference server with authentication enabled (the only local server that has it)."""
    if documentdb.build() is None:
        pytest.skip("the DocumentDB reference server is not built (scripts/setup.sh as root): no local server "
                    "with authentication")
    data: Path = tmp_path_factory.mktemp("docdb-auth")
    os.chmod(data.parent, 0o711)
    state = embedded.launch("documentdb", data, auth=("admin", "Sup3rSecret"))
    yield f"127.0.0.1:{state['port']}"
    embedded.terminate(state)


def test_auth_failure_names_no_password(cli, auth_server: str) -> None:
    result = cli("load", "doit", "--uri", f"mongodb://admin:WrongPassw0rd@{auth_server}/?authSource=admin")
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "authentication failed" in line
    assert "WrongPassw0rd" not in result.stderr + result.stdout


def test_database_with_data_is_refused_unless_drop(cli, server: Server) -> None:
    db_name = "t_busy"
    server.client()[db_name]["users"].insert_one({"precious": True})
    result = cli("load", "doit", "--uri", server.uri, "--db", db_name, "--preset", "tiny", "--no-progress")
    assert result.returncode == 2
    assert "already holds data" in _one_error_line(result)
    assert server.client()[db_name]["users"].count_documents({"precious": True}) == 1  # untouched
    ok = cli("load", "doit", "--uri", server.uri, "--db", db_name, "--preset", "tiny", "--drop", "--force",
             "--no-progress", "--json")  # not the harness's database: --drop needs --force
    assert ok.returncode == 0, ok.stderr
    assert server.client()[db_name]["users"].count_documents({"precious": True}) == 0
    server.client().drop_database(db_name)


def test_failed_index_build_keeps_no_half_created_indexes(cli, server: Server) -> None:
    """Duplicate session ids make a unique index fail after the users and learning_dna indexes
    were built; the run rolls back every index it created."""
    db = server.client()["t_halfidx"]
    server.client().drop_database("t_halfidx")
    db["learning_sessions"].insert_many([{"session_id": "same", "user_id": "a"},
                                         {"session_id": "same", "user_id": "b"}])
    result = cli("indexes", "masterx", "--uri", server.uri, "--db", "t_halfidx")
    assert result.returncode == 2, result.stderr
    assert "rolled back" in _one_error_line(result)
    for coll in db.list_collection_names():
        assert [ix["name"] for ix in db[coll].list_indexes()] == ["_id_"], coll
    server.client().drop_database("t_halfidx")


def test_drift_is_reported_with_exit_1(cli, server: Server, loaded) -> None:
    db = loaded("medical_twin")
    db["events"].create_index("notes", name="undocumented_notes")
    live_name = next(ix["name"] for ix in db["events"].list_indexes() if dict(ix["key"]) == {"notes": 1})
    try:
        result = cli("indexes", "medical_twin", "--uri", server.uri, "--db", db.name, "--check", "--json")
        assert result.returncode == 1, result.stderr
        extra = [s for s in json.loads(result.stdout)["indexes"] if s["status"] == "extra"]
        assert len(extra) == 1 and "notes" in extra[0]["index"] and extra[0]["drift"]
    finally:
        db["events"].drop_index(live_name)
    clean = cli("indexes", "medical_twin", "--uri", server.uri, "--db", db.name, "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_scale_beyond_this_machine_is_refused_with_the_limit(cli) -> None:
    """Observed: `--scale 1e12` was accepted and ran the machine out of memory."""
    result = cli("load", "masterx", "--uri", "mongodb://127.0.0.1:1", "--scale", "1e12")
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "--scale 1e+12 implies 36,000,000,000,000,000 documents" in line
    assert "this machine takes at most scale" in line and "limited by memory" in line


def test_drop_refuses_a_database_the_harness_did_not_create(cli, server: Server) -> None:
    """Observed: `load --drop` silently dropped a database the harness never created."""
    db = server.client()["t_not_ours"]
    db["invoices"].insert_many([{"n": i} for i in range(3)])
    try:
        result = cli("load", "doit", "--uri", server.uri, "--db", db.name, "--preset", "tiny", "--drop",
                     "--no-progress")
        assert result.returncode == 2
        line = _one_error_line(result)
        assert f"refusing to drop {db.name}: it has no harness_meta record" in line and "invoices (3 docs)" in line
        assert "--force" in line
        assert db["invoices"].count_documents({}) == 3
        forced = cli("load", "doit", "--uri", server.uri, "--db", db.name, "--preset", "tiny", "--drop", "--force",
                     "--no-progress", "--json")
        assert forced.returncode == 0, forced.stderr
        assert "invoices" not in db.list_collection_names()
        again = cli("load", "doit", "--uri", server.uri, "--db", db.name, "--preset", "tiny", "--drop",
                    "--no-progress", "--json")  # now it is the harness's own: --drop alone is enough
        assert again.returncode == 0, again.stderr
    finally:
        server.client().drop_database(db.name)


@pytest.mark.smoke
def test_wrong_password_is_one_line_on_every_server(cli, server: Server) -> None:
    """Observed: a wrong password against nx-27017 ended in a traceback."""
    host = server.uri.split("://", 1)[1].rsplit("@", 1)[-1].split("/")[0]
    result = cli("load", "doit", "--uri", f"mongodb://nobody:WrongPassw0rd@{host}/")
    assert result.returncode == 2
    line = _one_error_line(result)
    assert "authentication failed" in line and "WrongPassw0rd" not in result.stderr + result.stdout
