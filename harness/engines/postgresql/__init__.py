"""The PostgreSQL engine (systems that document tables: seed 001, BMD): resolve a database,
create and check the documented schema against the catalog, load with parallel COPY."""

from __future__ import annotations

from harness.engines import Engine
from harness.engines.postgresql.copyload import PgLoader
from harness.engines.postgresql.schema import PgIndexes
from harness.engines.postgresql.target import resolve

ENGINE = Engine("postgresql", resolve, PgIndexes(), PgLoader())
