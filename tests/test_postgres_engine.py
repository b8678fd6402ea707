"""BMD on its documented engine: a real PostgreSQL 15 cluster (started here, as the reference
server's is), the documented tables loaded with COPY and checked against pg_indexes and
pg_constraint by `harness indexes --check`; bad PostgreSQL input fails in one line."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[test]' installs it")
from harness.servers import pgcluster  # noqa: E402
from harness.spec import load_system  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

pytestmark = pytest.mark.skipif(pgcluster.pg_build() is None,
                                reason="PostgreSQL 15 is not installed (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def pg() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.launch_plain(Path(tempfile.mkdtemp(prefix="harness-pg-")))
    yield cluster
    cluster.stop()


def _server_uri(pg: pgcluster.Cluster) -> str:
    return f"postgresql://{pg.user}@127.0.0.1:{pg.port}/"


@pytest.fixture(scope="module")
def loaded_bmd(pg: pgcluster.Cluster) -> str:
    done = run_cli("load", "bmd", "--uri", _server_uri(pg), "--db", "bmd_load", "--preset", "tiny",
                   "--no-progress", "--workers", "2", "--batch-size", "50")
    assert done.returncode == 0, done.stderr
    return "bmd_load"


def test_load_fills_every_documented_table_with_the_generated_rows(pg, loaded_bmd) -> None:
    system = load_system("bmd")
    counts = system.counts(0.02)
    with psycopg.connect(pg.uri(loaded_bmd)) as conn:
        for t in system.tables.tables:
            assert conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] == counts[t.name], t.name
        info = conn.execute("SELECT analysis_info FROM bmd_results WHERE analysis_info IS NOT NULL LIMIT 1").fetchone()
        assert isinstance(info[0], dict) and "bmr_type" in info[0]  # JSONB, not text
        key = conn.execute("SELECT project_id, id, expression_matrix_s3_key FROM dose_response_experiments "
                           "WHERE expression_matrix_s3_key IS NOT NULL LIMIT 1").fetchone()
        assert key[2] == f"projects/{key[0]}/experiments/{key[1]}/matrix.bin"
        # the sequences continue after the loaded ids
        nxt = conn.execute("SELECT nextval(pg_get_serial_sequence('users', 'id'))").fetchone()[0]
        assert nxt == counts["users"] + 1


def test_indexes_check_matches_the_documented_schema(pg, loaded_bmd) -> None:
    done = run_cli("indexes", "bmd", "--check", "--uri", _server_uri(pg), "--db", loaded_bmd, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["drift"] == 0
    by_name = {(i["collection"], i["index"]): i for i in report["indexes"]}
    assert by_name[("bmd_projects", "idx_projects_created")]["detail"] == "(created_at DESC)"
    assert by_name[("users", "users_username_key")]["status"] == "ok"
    assert by_name[("users", "idx_users_username")]["status"] == "ok"  # kept beside the UNIQUE index
    fk = by_name[("bmd_projects", "FOREIGN KEY (user_id) REFERENCES users(id)")]
    assert fk["detail"] == "ON DELETE CASCADE"


def test_indexes_check_reports_drift_and_exits_1(pg) -> None:
    db = "bmd_drift"
    assert run_cli("indexes", "bmd", "--uri", _server_uri(pg), "--db", db).returncode == 0
    with psycopg.connect(pg.uri(db), autocommit=True) as conn:
        conn.execute("DROP INDEX idx_jobs_created")
        conn.execute("CREATE INDEX idx_jobs_created ON jobs(created_at)")  # ascending: not as documented
        conn.execute("DROP INDEX idx_bmd_results_method")
        conn.execute("ALTER TABLE bmd_projects DROP CONSTRAINT bmd_projects_user_id_fkey")
        conn.execute("ALTER TABLE bmd_projects ADD CONSTRAINT bmd_projects_user_id_fkey FOREIGN KEY (user_id) "
                     "REFERENCES users(id)")
        conn.execute("CREATE INDEX idx_extra ON jobs(job_type)")
    done = run_cli("indexes", "bmd", "--check", "--uri", _server_uri(pg), "--db", db)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 drifted (1 missing, 2 mismatched, 1 extra)" in done.stderr.replace("\n", " ")


def test_load_refuses_a_database_that_holds_tables(pg, loaded_bmd) -> None:
    done = run_cli("load", "bmd", "--uri", _server_uri(pg), "--db", loaded_bmd, "--preset", "tiny", "--no-progress")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: database already holds tables") and "Traceback" not in done.stderr


def test_interrupted_load_resumes_without_duplicates(pg) -> None:
    db = "bmd_resume"
    args = ("load", "bmd", "--uri", _server_uri(pg), "--db", db, "--preset", "tiny", "--no-progress",
            "--batch-size", "50", "--workers", "2")
    assert run_cli(*args).returncode == 0
    with psycopg.connect(pg.uri(db), autocommit=True) as conn:  # as if the last batches never committed
        before = conn.execute("SELECT count(*) FROM probe_stat_results").fetchone()[0]
        conn.execute("DELETE FROM probe_stat_results WHERE id > 50")
        conn.execute("DELETE FROM _harness_load WHERE name = 'probe_stat_results' AND batch >= 1")
    done = run_cli(*args, "--resume")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(pg.uri(db)) as conn:
        assert conn.execute("SELECT count(*) FROM probe_stat_results").fetchone()[0] == before
        assert conn.execute("SELECT count(DISTINCT id) FROM probe_stat_results").fetchone()[0] == before


def test_a_postgresql_uri_that_cannot_authenticate_is_one_line_without_the_password(pg) -> None:
    with psycopg.connect(pg.uri(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS bmd_app")
        conn.execute("CREATE ROLE bmd_app LOGIN PASSWORD 'right-secret'")
    # trust authentication accepts any password: a role that does not exist is refused
    for uri in (f"postgresql://nobody:s3cret-pw@127.0.0.1:{pg.port}/",
                "postgresql://bmd_app:s3cret-pw@127.0.0.1:1/"):
        done = run_cli("indexes", "bmd", "--check", "--uri", uri)
        assert done.returncode == 2, done.stderr
        assert "s3cret-pw" not in done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines[-1].startswith("error: cannot connect to PostgreSQL at postgresql://") and len(lines) == 1


def test_a_system_without_tables_refuses_a_postgresql_uri(pg) -> None:
    done = run_cli("indexes", "masterx", "--uri", _server_uri(pg))
    assert done.returncode == 2
    assert "bad MongoDB URI for masterx: it documents no PostgreSQL tables" in done.stderr
