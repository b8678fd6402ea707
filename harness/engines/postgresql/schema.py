"""Create the documented tables and indexes, and compare them with the live catalog:
`pg_indexes` (every index, including those PRIMARY KEY and UNIQUE create), `pg_constraint`
(primary keys, UNIQUE, foreign keys with their ON DELETE action) and `pg_attribute` (column
types, NOT NULL, defaults). Statuses are harness.indexes' (ok / missing / mismatch / extra)."""

from __future__ import annotations

from harness.engines.postgresql import ddl
from harness.engines.postgresql.target import PgTarget
from harness.errors import HarnessError
from harness.indexes import IndexStatus
from harness.relational import Tables
from harness.spec import System

META = "_harness_load"


def _tables(system: System) -> Tables:
    assert system.tables is not None  # harness.engines.select checked
    return system.tables


def live_tables(conn) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def create_all(conn, system: System) -> None:
    """Tables (in reference order), then the documented indexes, in one transaction."""
    with conn.transaction():
        for stmt in ddl.create_statements(_tables(system)):
            conn.execute(stmt)
        for stmt in ddl.index_statements(_tables(system)):
            conn.execute(stmt)


def drop_all(conn, system: System) -> None:
    names = [*reversed(_tables(system).names), META]
    conn.execute("DROP TABLE IF EXISTS " + ", ".join(names) + " CASCADE")


class PgIndexes:
    def create(self, target: PgTarget, system: System) -> list[IndexStatus]:
        """Create whatever documented table or index is missing (idempotent), then check."""
        with target.connect() as conn:
            live = set(live_tables(conn))
            tables = _tables(system)
            with conn.transaction():
                for t, stmt in zip(tables.tables, ddl.create_statements(tables), strict=True):
                    if t.name not in live:
                        conn.execute(stmt)
                for t in tables.tables:
                    for i in t.indexes:
                        conn.execute(i.definition(t.name).replace("INDEX ", "INDEX IF NOT EXISTS ", 1))
        return self.check(target, system)

    def check(self, target: PgTarget, system: System) -> list[IndexStatus]:
        with target.connect() as conn:
            return check(conn, _tables(system))


def check(conn, tables: Tables) -> list[IndexStatus]:
    out: list[IndexStatus] = []
    names = tables.names
    live_idx = {(r[0], r[1]): r[2] for r in conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)",
        (names,))}
    cons = {}
    for table, name, kind, cols, ftable, fcols, deltype in conn.execute(
            """SELECT c.conrelid::regclass::text, c.conname, c.contype,
                      ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a
                            ON a.attrelid = c.conrelid AND a.attnum = k),
                      c.confrelid::regclass::text,
                      ARRAY(SELECT a.attname::text FROM unnest(c.confkey) k JOIN pg_attribute a
                            ON a.attrelid = c.confrelid AND a.attnum = k),
                      c.confdeltype
               FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
               WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')"""):
        cons[(table, kind, tuple(cols))] = (name, ftable, tuple(fcols or ()), deltype)
    columns = {(r[0], r[1]): (r[2], r[3], r[4]) for r in conn.execute(
        """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
             AND c.relname = ANY(%s)""", (names,))}
    present = {t for t, _ in columns}
    for t in tables.tables:
        if t.name not in present:
            out.append(IndexStatus(t.name, "(table)", "missing", "table not created"))
            continue
        out += _check_columns(t, columns)
        out += _check_constraints(t, cons)
        expected = ddl.constraint_indexes(t) | {i.name: ddl.expected_indexdef(t, i) for i in t.indexes}
        for name, want in expected.items():
            got = live_idx.pop((t.name, name), None)
            if got is None:
                out.append(IndexStatus(t.name, name, "missing", want))
            elif got != want:
                out.append(IndexStatus(t.name, name, "mismatch", f"live: {got}"))
            else:
                out.append(IndexStatus(t.name, name, "ok", _short(want)))
    for (table, name), got in sorted(live_idx.items()):
        out.append(IndexStatus(table, name, "extra", got))
    return out


def _short(indexdef: str) -> str:
    return indexdef.split(" USING btree ", 1)[-1]


def _check_columns(t, columns) -> list[IndexStatus]:
    out = []
    wrong = []
    for c in t.columns:
        live = columns.get((t.name, c.name))
        if live is None:
            out.append(IndexStatus(t.name, f"column {c.name}", "missing", ddl.column_sql(c)))
            continue
        typ, notnull, default = live
        want_default = ddl.catalog_default(c)
        if want_default:
            want_default = want_default.replace("{table}", t.name)
        want_notnull = c.not_null or c.primary_key
        if typ != ddl.catalog_type(c):
            wrong.append(f"{c.name} type {typ} (documented {c.type})")
        if notnull != want_notnull:
            wrong.append(f"{c.name} {'NOT NULL' if notnull else 'nullable'} (documented the other)")
        if (default or None) != (want_default or None) and (default or "").lower() != (want_default or "").lower():
            wrong.append(f"{c.name} default {default} (documented {c.default})")
    if wrong:
        out.append(IndexStatus(t.name, "(columns)", "mismatch", "; ".join(wrong)))
    else:
        out.append(IndexStatus(t.name, "(columns)", "ok", f"{len(t.columns)} columns as documented"))
    return out


def _check_constraints(t, cons) -> list[IndexStatus]:
    out = []
    pk = t.primary_key
    if pk and (t.name, "p", pk) not in cons:
        out.append(IndexStatus(t.name, f"PRIMARY KEY ({', '.join(pk)})", "missing"))
    for c in t.columns:
        if c.unique and (t.name, "u", (c.name,)) not in cons:
            out.append(IndexStatus(t.name, f"UNIQUE ({c.name})", "missing"))
        if not c.references:
            continue
        what = f"FOREIGN KEY ({c.name}) REFERENCES {c.references[0]}({c.references[1]})"
        live = cons.get((t.name, "f", (c.name,)))
        if live is None:
            out.append(IndexStatus(t.name, what, "missing"))
            continue
        _, ftable, fcols, deltype = live
        action = ddl.ON_DELETE.get(deltype)
        if (ftable, fcols) != (c.references[0], (c.references[1],)) or action != c.on_delete:
            live_ref = f"live: {ftable}{fcols} ON DELETE {action or 'NO ACTION'}"
            out.append(IndexStatus(t.name, what, "mismatch", live_ref))
        else:
            out.append(IndexStatus(t.name, what, "ok", f"ON DELETE {c.on_delete or 'NO ACTION'}"))
    return out


def refuse_busy(conn, system: System) -> None:
    busy = [n for n in live_tables(conn) if n != META]
    if busy:
        raise HarnessError(f"database already holds tables ({', '.join(busy[:4])})",
                           "pass --drop to replace them, --resume to finish an interrupted load, or choose --db")
