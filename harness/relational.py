"""A system's documented relational schema (tables, columns, constraints, named indexes), for
systems whose documented engine is PostgreSQL (seed 001, BMD).

A fixture states its tables once with these dataclasses (`System.tables`); the PostgreSQL
engine renders them to DDL (harness.engines.postgresql.ddl) and compares them with the live
catalog (`pg_indexes`, `pg_constraint`) for `harness indexes --check`. Rows come from the
same generator as the documents: a table's columns are read from the document of the
collection with the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column as the DDL states it. `type` is PostgreSQL's spelling (`VARCHAR(255)`,
    `BIGSERIAL`, `JSONB`...); `default` is the SQL expression after DEFAULT."""

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    unique: bool = False
    primary_key: bool = False
    references: tuple[str, str] | None = None  # (table, column)
    on_delete: str | None = None  # CASCADE, SET NULL...; None = NO ACTION (the SQL default)


@dataclass(frozen=True)
class TableIndex:
    """A CREATE INDEX statement: its name and (column, "ASC"|"DESC") keys in order."""

    name: str
    keys: tuple[tuple[str, str], ...]
    unique: bool = False

    def definition(self, table: str) -> str:
        cols = ", ".join(c if d == "ASC" else f"{c} {d}" for c, d in self.keys)
        return f"CREATE {'UNIQUE ' if self.unique else ''}INDEX {self.name} ON {table}({cols})"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[TableIndex, ...] = ()
    assumed: str = ""  # why the table exists without DDL in the seed (what was derived from where)
    s3_keys: tuple[str, ...] = ()  # columns holding object keys in the system's bucket

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


@dataclass(frozen=True)
class Tables:
    """Every table in creation order (a table comes after the tables it references)."""

    tables: tuple[Table, ...]
    bucket_note: str = ""
    large_object_bytes: int = 1 << 20  # the seed's threshold: larger results go to object storage
    extra: dict[str, str] = field(default_factory=dict, hash=False)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]


def col(name: str, type_: str, *, not_null: bool = False, default: str | None = None, unique: bool = False,
        pk: bool = False, ref: str | None = None, on_delete: str | None = None) -> Column:
    """Shorthand: `ref="users.id"`."""
    references = tuple(ref.split(".", 1)) if ref else None
    return Column(name, type_, not_null, default, unique, pk, references, on_delete)  # type: ignore[arg-type]


def index(name: str, *keys: str) -> TableIndex:
    """`index("idx_projects_created", "created_at DESC")`."""
    parsed = []
    for k in keys:
        parts = k.split()
        parsed.append((parts[0], parts[1].upper() if len(parts) > 1 else "ASC"))
    return TableIndex(name, tuple(parsed))
