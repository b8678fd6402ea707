"""Load a system's tables with COPY: the generator's documents are the rows (a table's columns
read from the document of the collection with the same name).

Bulk-load order, as PostgreSQL's manual advises: tables with their primary keys and UNIQUE
constraints first, rows COPYed by parallel workers (all tables at once), then the documented
indexes and the foreign keys (which validate every reference once). Each batch is COPYed in
one transaction together with its mark in `_harness_load`, so an interrupted load resumes
exactly where it stopped (`--resume`), never duplicating a row.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.engines.postgresql import ddl, schema
from harness.engines.postgresql.target import PgTarget, connect
from harness.errors import HarnessError
from harness.load import CollectionResult, LoadParams, LoadResult, build
from harness.relational import Table, Tables
from harness.spec import System, load_fixture
from harness.systems import source

META = schema.META
_W: dict[str, Any] = {}


def row_of(table: Table, doc: dict[str, Any]) -> tuple:
    """The table's row from its generated document (JSONB columns as JSON text)."""
    out = []
    for c in table.columns:
        v = doc.get(c.name)
        if v is not None and c.type.upper() == "JSONB":
            v = json.dumps(v, default=str)
        elif v is not None and c.type.upper().startswith("VARCHAR") and not isinstance(v, str):
            v = str(v)
        out.append(v)
    return tuple(out)


def rows(gen: Any, make: Any, table: Table, start: int, end: int) -> list[tuple]:
    return [row_of(table, d) for d in build(gen, make, table.name, start, end)]


def copy_rows(conn, table: Table, data: list[tuple]) -> None:
    cols = ", ".join(c.name for c in table.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN",
                                        ) as cp:
        for r in data:
            cp.write_row(r)


# ---------------------------------------------------------------------------------------------
# Worker side.


def _init_worker(fixture: str, system: str, seed: int, as_of: datetime, counts: dict[str, int], uri: str) -> None:
    from harness.datagen import Gen

    spec = load_fixture(Path(fixture), expect=system)
    _W["gen"] = Gen(spec, seed, as_of, counts)
    _W["makers"] = {c.name: c.make for c in spec.collections}
    _W["tables"] = spec.tables
    _W["conn"] = connect(uri, autocommit=False)


def _run_batch(task: tuple[str, int, int, int]) -> tuple[str, int, int, float]:
    name, batch, start, end = task
    began = time.perf_counter()
    table = _W["tables"].table(name)
    data = rows(_W["gen"], _W["makers"][name], table, start, end)
    conn = _W["conn"]
    with conn.transaction():
        copy_rows(conn, table, data)
        conn.execute(f"INSERT INTO {META} (kind, name, batch) VALUES ('batch', %s, %s)", (name, batch))
    return name, batch, len(data), time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# Parent side.


def _create_without_fks(conn, tables: Tables) -> None:
    with conn.transaction():
        for t in tables.tables:
            cols = ",\n    ".join(ddl.column_sql(_no_ref(c)) for c in t.columns)
            conn.execute(f"CREATE TABLE {t.name} (\n    {cols}\n)")


def _no_ref(c):
    from dataclasses import replace

    return replace(c, references=None, on_delete=None)


def _finish_schema(conn, tables: Tables) -> None:
    """Documented indexes, foreign keys (named as PostgreSQL names them) and sequences."""
    live = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'")}
    with conn.transaction():
        for t in tables.tables:
            for i in t.indexes:
                conn.execute(i.definition(t.name).replace("INDEX ", "INDEX IF NOT EXISTS ", 1))
            for c in t.columns:
                name = f"{t.name}_{c.name}_fkey"
                if c.references and name not in live:
                    action = f" ON DELETE {c.on_delete}" if c.on_delete else ""
                    conn.execute(f"ALTER TABLE {t.name} ADD CONSTRAINT {name} FOREIGN KEY ({c.name}) "
                                 f"REFERENCES {c.references[0]}({c.references[1]}){action}")
                if c.type.upper() == "BIGSERIAL":
                    conn.execute(f"SELECT setval(pg_get_serial_sequence('{t.name}', '{c.name}'), "
                                 f"GREATEST(COALESCE(MAX({c.name}), 0), 1)) FROM {t.name}")
    conn.execute("ANALYZE")


def prepare(conn, system: System, params: LoadParams, counts: dict[str, int], drop: bool, resume: bool
            ) -> tuple[dict[str, set[int]], bool]:
    tables = system.tables
    assert tables is not None
    identity = json.dumps({**params.identity(), "as_of": params.as_of.isoformat(), "batch_size": params.batch_size},
                          sort_keys=True, default=str)
    if drop:
        schema.drop_all(conn, system)
    present = schema.live_tables(conn)
    if resume and META in present:
        row = conn.execute(f"SELECT identity FROM {META} WHERE kind = 'load'").fetchone()
        if row and row[0] != identity:
            raise HarnessError(f"cannot resume {params.database}: it was loaded with other parameters ({row[0]})",
                               "rerun with the original --seed/--scale/--as-of/--batch-size, or use --drop")
        done: dict[str, set[int]] = {}
        for name, batch in conn.execute(f"SELECT name, batch FROM {META} WHERE kind = 'batch'"):
            done.setdefault(name, set()).add(batch)
        return done, True
    schema.refuse_busy(conn, system)
    conn.execute(f"DROP TABLE IF EXISTS {META}")
    conn.execute(f"CREATE TABLE {META} (kind TEXT NOT NULL, name TEXT, batch INTEGER, identity TEXT, "
                 "status TEXT, UNIQUE (kind, name, batch))")
    conn.execute(f"INSERT INTO {META} (kind, identity, status) VALUES ('load', %s, 'running')", (identity,))
    _create_without_fks(conn, tables)
    return {}, False


class PgLoader:
    def run(self, target: PgTarget, system: System, params: LoadParams, *, drop: bool, resume: bool,
            progress: bool) -> LoadResult:
        tables = system.tables
        assert tables is not None
        counts = system.counts(params.scale)
        started = time.perf_counter()
        with target.connect() as conn:  # before any worker starts: a refusal leaves nothing running
            done, resumed = prepare(conn, system, params, counts, drop, resume)
        # fork: this process holds no client threads (no pymongo client on this path, psycopg
        # connections are opened after), and forked workers start without re-importing anything
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        init = (str(source(system.name).fixture), system.name, params.seed, params.as_of, counts, target.uri)
        pool = ctx.Pool(params.workers, initializer=_init_worker, initargs=init)
        try:
            return self._run(pool, target, system, params, counts, started, done, resumed)
        finally:
            pool.terminate()
            pool.join()

    def _run(self, pool, target: PgTarget, system: System, params: LoadParams, counts: dict[str, int],
             started: float, done: dict[str, set[int]], resumed: bool) -> LoadResult:
        tables = system.tables
        assert tables is not None
        result = LoadResult(params, target.label, resumed=resumed)
        by_name = {t.name: CollectionResult(t.name, counts[t.name]) for t in tables.tables}
        result.collections = list(by_name.values())
        work = []
        for t in tables.tables:
            n, size = counts[t.name], params.batch_size
            for batch, start in enumerate(range(0, n, size)):
                if batch in done.get(t.name, set()):
                    by_name[t.name].skipped += min(size, n - start)
                else:
                    work.append((t.name, batch, start, min(n, start + size)))
        try:
            for name, _batch, inserted, busy in pool.imap_unordered(_run_batch, work, chunksize=1):
                by_name[name].inserted += inserted
                by_name[name].seconds += busy
        except KeyboardInterrupt:
            raise HarnessError(f"load of {params.database} interrupted",
                               "rerun the same command with --resume to finish it") from None
        result.data_seconds = time.perf_counter() - started
        with target.connect() as conn:
            _verify_counts(conn, counts, tables)
            _finish_schema(conn, tables)
            conn.execute(f"UPDATE {META} SET status = 'complete' WHERE kind = 'load'")
            result.indexes = schema.check(conn, tables)
        result.seconds = time.perf_counter() - started
        return result


def _verify_counts(conn, counts: dict[str, int], tables: Tables) -> None:
    wrong = []
    for t in tables.tables:
        n = conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
        if n != counts[t.name]:
            wrong.append(f"{t.name} {n} (expected {counts[t.name]})")
    if wrong:
        raise HarnessError("row counts after load differ: " + ", ".join(wrong), "rerun with --drop")
