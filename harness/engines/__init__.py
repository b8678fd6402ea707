"""Where a system's data lives: one `Engine` per database family, one object per concern.

Commands never branch on the engine: they call `select(system, uri)` and use the concerns it
returns (resolve a target, load, create/check the documented schema). MongoDB is the default;
a `postgresql://` (or `postgres://`) URI selects PostgreSQL for a system whose fixture
documents its tables (`System.tables`, harness.relational).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.indexes import IndexStatus
    from harness.load import LoadParams, LoadResult
    from harness.spec import System


class Target(Protocol):
    """One database on one server, resolved and reachable."""

    engine: str
    database: str
    label: str  # what the output calls the server (never with a password)


class Indexes(Protocol):
    def create(self, target: Any, system: System) -> list[IndexStatus]: ...

    def check(self, target: Any, system: System) -> list[IndexStatus]: ...


class Loader(Protocol):
    def run(self, target: Any, system: System, params: LoadParams, *, drop: bool, resume: bool,
            progress: bool) -> LoadResult: ...


@dataclass(frozen=True)
class Engine:
    name: str
    resolve: Callable[[str | None, str, bool], Any]  # (uri, database, quiet) -> Target
    indexes: Indexes
    loader: Loader


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_uri(uri: str | None) -> bool:
    return bool(uri) and uri.lower().startswith(POSTGRES_SCHEMES)  # type: ignore[union-attr]


def select(system: System, uri: str | None) -> Engine:
    """The engine a command uses for `system` at `uri` (MongoDB unless the URI is PostgreSQL's)."""
    if is_postgres_uri(uri):
        if system.tables is None:
            raise HarnessError(f"bad MongoDB URI for {system.name}: it documents no PostgreSQL tables",
                               "use a mongodb:// URI (or none) for this system")
        from harness.engines.postgresql import ENGINE as PG

        return PG
    from harness.engines.mongodb import ENGINE as MONGO

    return MONGO
