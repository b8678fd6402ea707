"""The MongoDB engine: the concerns as they always worked (harness.load, harness.indexes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.engines import Engine
from harness.indexes import IndexStatus
from harness.load import LoadParams, LoadResult
from harness.spec import System


@dataclass
class MongoTarget:
    server: Any  # harness.servers.Server
    database: str
    engine: str = "mongodb"

    @property
    def label(self) -> str:
        return self.server.caps.server

    @property
    def db(self) -> Any:
        return self.server.client()[self.database]


def resolve(uri: str | None, database: str, quiet: bool) -> MongoTarget:
    from harness.options import server_from

    return MongoTarget(server_from(uri, quiet=quiet), database)


class MongoIndexes:
    def create(self, target: MongoTarget, system: System) -> list[IndexStatus]:
        from harness.indexes import create

        return create(target.db, system, target.server.caps)

    def check(self, target: MongoTarget, system: System) -> list[IndexStatus]:
        from harness.indexes import check

        return check(target.db, system, target.server.caps)


class MongoLoader:
    def run(self, target: MongoTarget, system: System, params: LoadParams, *, drop: bool, resume: bool,
            progress: bool) -> LoadResult:
        from harness import load as loader

        return loader.run(target.server, system, params, drop=drop, resume=resume, progress=progress)


ENGINE = Engine("mongodb", resolve, MongoIndexes(), MongoLoader())
