"""The documented tables as DDL, and the same statements' expected catalog form (what
`pg_indexes.indexdef`, `format_type` and `pg_get_expr` print) for the drift check."""

from __future__ import annotations

from harness.relational import Column, Table, TableIndex, Tables

ON_DELETE = {"a": None, "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
CATALOG_TYPE = {"BIGSERIAL": "bigint", "BIGINT": "bigint", "INTEGER": "integer", "TEXT": "text",
                "BOOLEAN": "boolean", "JSONB": "jsonb", "TIMESTAMP": "timestamp without time zone",
                "DOUBLE PRECISION": "double precision", "DOUBLE PRECISION[]": "double precision[]"}


def column_sql(c: Column) -> str:
    out = f"{c.name} {c.type}"
    if c.primary_key:
        out += " PRIMARY KEY"
    if c.unique:
        out += " UNIQUE"
    if c.not_null:
        out += " NOT NULL"
    if c.default is not None:
        out += f" DEFAULT {c.default}"
    if c.references:
        out += f" REFERENCES {c.references[0]}({c.references[1]})"
        if c.on_delete:
            out += f" ON DELETE {c.on_delete}"
    return out


def create_statements(tables: Tables) -> list[str]:
    out = []
    for t in tables.tables:
        cols = ",\n    ".join(column_sql(c) for c in t.columns)
        out.append(f"CREATE TABLE {t.name} (\n    {cols}\n)")
    return out


def index_statements(tables: Tables) -> list[str]:
    return [i.definition(t.name) for t in tables.tables for i in t.indexes]


def catalog_type(c: Column) -> str:
    if c.type.upper().startswith("VARCHAR("):
        return "character varying" + c.type[7:]
    return CATALOG_TYPE[c.type.upper()]


def catalog_default(c: Column) -> str | None:
    if c.type.upper() == "BIGSERIAL":
        return f"nextval('{{table}}_{c.name}_seq'::regclass)"
    return c.default


def expected_indexdef(table: Table, index: TableIndex) -> str:
    cols = ", ".join(c if d == "ASC" else f"{c} {d}" for c, d in index.keys)
    return f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {index.name} ON public.{table.name} USING btree ({cols})"


def constraint_indexes(table: Table) -> dict[str, str]:
    """The indexes PRIMARY KEY and UNIQUE create: name -> expected indexdef."""
    out = {}
    pk = table.primary_key
    if pk:
        out[f"{table.name}_pkey"] = (f"CREATE UNIQUE INDEX {table.name}_pkey ON public.{table.name} "
                                     f"USING btree ({', '.join(pk)})")
    for c in table.columns:
        if c.unique:
            name = f"{table.name}_{c.name}_key"
            out[name] = f"CREATE UNIQUE INDEX {name} ON public.{table.name} USING btree ({c.name})"
    return out
