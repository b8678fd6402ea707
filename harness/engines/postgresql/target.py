"""Resolve and connect to a PostgreSQL database; every failure is one line, password redacted."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from harness.errors import HarnessError
from harness.output import note
from harness.redact import redact


@dataclass
class PgTarget:
    uri: str  # of the database itself (may hold a password: never print it unredacted)
    database: str
    engine: str = "postgresql"

    @property
    def label(self) -> str:
        parts = urlsplit(self.uri)
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432}"

    def connect(self, autocommit: bool = True):  # -> psycopg.Connection
        return connect(self.uri, autocommit=autocommit)


def with_database(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{database}"))


def connect(uri: str, autocommit: bool = True):  # -> psycopg.Connection
    import psycopg

    try:
        return psycopg.connect(uri, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["connection failed"])[-1]
        raise HarnessError(f"cannot connect to PostgreSQL at {redact(uri)}: {redact(first)}",
                           "check host, port, database, user and password (or PGPASSWORD)") from None


def resolve(uri: str | None, database: str, quiet: bool) -> PgTarget:
    """The database `database` on the server of `uri` (created when missing), checked reachable."""
    if not uri:
        raise HarnessError("no PostgreSQL URI", "pass --uri postgresql://user@host:port/")
    server_uri = with_database(uri, "postgres")
    with connect(server_uri) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            from psycopg import sql

            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    target = PgTarget(with_database(uri, database), database)
    if not quiet:
        note(f"server: {target.label} (PostgreSQL {version}), database {database}")
    return target
