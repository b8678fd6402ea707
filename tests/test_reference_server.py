"""The embedded reference server (FerretDB 2 on DocumentDB): lifecycle, bad input, and the
index kinds no seed uses yet but MongoDB users rely on (geo, TTL), tested on the real server."""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.servers import Server, documentdb

pytestmark = pytest.mark.skipif(documentdb.build() is None,
                                reason="the DocumentDB reference server is not built (scripts/setup.sh as root)")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A private harness home; the cluster it creates is removed afterwards, wherever it lives."""
    path = tmp_path / "home"
    path.mkdir()
    yield path
    link = path / "data-documentdb" / "pg"
    if link.is_symlink():
        shutil.rmtree(link.resolve().parent, ignore_errors=True)


def _running_under(path: Path) -> list[str]:
    """Processes whose command line names `path` (a cluster or FerretDB left running)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    real = str(path.resolve())
    return [line for line in out.splitlines() if str(path) in line or real in line]


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_start_stop_keeps_data_and_names_backend(cli, home: Path) -> None:
    env = {"HARNESS_HOME": str(home)}
    started = cli("server", "start", "--backend", "documentdb", env=env, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        status = cli("server", "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        assert '"embedded:documentdb"' in status.stdout and "FerretDB 2.5" in status.stdout
        uri = next(tok for tok in started.stdout.split() + started.stderr.split() if tok.startswith("mongodb://"))
        from pymongo import MongoClient

        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            client.keep.me.insert_one({"_id": "survives-restart"})
        assert cli("server", "stop", env=env).returncode == 0
        assert not _running_under(home / "data-documentdb")
        again = cli("server", "start", env=env, timeout=120)  # preference picks documentdb again
        assert again.returncode == 0, again.stderr
        uri = next(tok for tok in again.stdout.split() + again.stderr.split() if tok.startswith("mongodb://"))
        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            assert client.keep.me.find_one({"_id": "survives-restart"}) is not None
    finally:
        cli("server", "stop", env=env)
    assert not _running_under(home / "data-documentdb")


def test_port_in_use_is_one_line_and_starts_nothing(cli, home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("server", "start", "--backend", "documentdb", "--port", str(port),
                      env={"HARNESS_HOME": str(home)})
    assert result.returncode == 2
    assert f"port {port}" in _one_line(result) and "in use" in _one_line(result)
    assert not _running_under(home)


def test_cluster_that_fails_to_start_names_its_log_and_leaves_nothing_running(cli, home: Path) -> None:
    env = {"HARNESS_HOME": str(home)}
    assert cli("server", "start", "--backend", "documentdb", env=env, timeout=120).returncode == 0
    assert cli("server", "stop", env=env).returncode == 0
    pg_version = (home / "data-documentdb" / "pg").resolve() / "PG_VERSION"
    pg_version.write_text("9\n")  # a cluster of another major version: postgres refuses to start
    result = cli("server", "start", "--backend", "documentdb", env=env, timeout=120)
    assert result.returncode == 2
    line = _one_line(result)
    assert "PostgreSQL" in line and "postgresql.log" in line
    assert not _running_under(home / "data-documentdb")


@pytest.mark.needs("ttl_index")
def test_ttl_index_removes_expired_documents(server: Server) -> None:
    """A TTL index is kept and enforced: an expired document disappears (MongoDB's monitor runs
    every 60 s, DocumentDB's pg_cron job more often); bounded at 120 s."""
    db = server.client()["t_ttl"]
    server.client().drop_database("t_ttl")
    db.events.create_index("at", expireAfterSeconds=1, name="at_ttl")
    now = datetime.now(UTC).replace(tzinfo=None)
    db.events.insert_many([{"_id": "old", "at": now - timedelta(hours=1)},
                           {"_id": "new", "at": now + timedelta(days=1)}])
    deadline = time.time() + 120
    while db.events.find_one({"_id": "old"}) is not None and time.time() < deadline:
        time.sleep(2)
    remaining = sorted(d["_id"] for d in db.events.find())
    server.client().drop_database("t_ttl")
    assert remaining == ["new"]


def _haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6378100 * math.asin(math.sqrt(h))


@pytest.mark.needs("geo")
def test_geo_near_orders_by_distance_with_correct_distances(server: Server) -> None:
    db = server.client()["t_geo"]
    server.client().drop_database("t_geo")
    places = {"a": (13.40, 52.52), "b": (2.35, 48.86), "c": (-0.13, 51.51), "d": (12.50, 41.90)}
    db.places.insert_many([{"_id": k, "loc": {"type": "Point", "coordinates": list(v)}} for k, v in places.items()])
    db.places.create_index([("loc", "2dsphere")], name="loc_2dsphere")
    origin = (8.68, 50.11)
    near = [d["_id"] for d in db.places.find({"loc": {"$near": {"$geometry": {"type": "Point",
                                                                             "coordinates": list(origin)}}}})]
    expected = sorted(places, key=lambda k: _haversine_m(origin, places[k]))
    rows = list(db.places.aggregate([{"$geoNear": {"near": {"type": "Point", "coordinates": list(origin)},
                                                   "distanceField": "m", "spherical": True}}]))
    server.client().drop_database("t_geo")
    assert near == expected
    for row in rows:
        truth = _haversine_m(origin, places[row["_id"]])
        assert abs(row["m"] - truth) / truth < 0.01, (row, truth)


def test_postgres_orphaned_by_a_killed_run_is_stopped_at_next_start(home: Path) -> None:
    """kill -9 of FerretDB (or of the harness mid-start) leaves PostgreSQL holding the cluster's
    lock; the next start stops that orphan instead of failing on the lock."""
    import signal

    from harness.processes import pid_alive
    from harness.servers import embedded

    data = home / "data-documentdb"
    first = embedded.launch("documentdb", data)
    os.killpg(first["pid"], signal.SIGKILL)
    second = embedded.launch("documentdb", data)
    try:
        assert second["pg_pid"] != first["pg_pid"]
        assert not pid_alive(first["pg_pid"])
    finally:
        embedded.terminate(second)
    assert not _running_under(data)


def test_workload_naming_an_unknown_capability_is_one_line_at_load_time(cli, tmp_path: Path) -> None:
    """A `needs=` typo fails when the workload is loaded, with the valid names, not mid-run."""
    example = Path(__file__).resolve().parent.parent / "examples" / "systems"
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "workloads").mkdir()
    shutil.copy(example / "fixtures" / "foodcourt.py", tmp_path / "fixtures" / "foodcourt.py")
    text = (example / "workloads" / "foodcourt.py").read_text()
    text = text.replace('Operation(login, sla_ms=50,', 'Operation(login, needs=("teleportation",), sla_ms=50,')
    assert "teleportation" in text
    (tmp_path / "workloads" / "foodcourt.py").write_text(text)
    result = cli("--systems-path", str(tmp_path), "bench", "foodcourt", "--uri", "mongodb://127.0.0.1:1/")
    assert result.returncode == 2
    line = _one_line(result)
    assert "unknown capability 'teleportation'" in line and "text_index" in line
