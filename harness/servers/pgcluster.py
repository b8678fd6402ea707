"""A plain PostgreSQL cluster on a free loopback port: the engine under the reference server
(harness.servers.documentdb starts FerretDB in front of one) and, on its own, the embedded
server of systems whose documented engine is PostgreSQL (seed 001, BMD).

The cluster's data directory is kept across restarts. Under root it runs as the system user
`sla-harness` (PostgreSQL refuses root), with the relocation rules of harness.servers.documentdb.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.processes import pid_alive, stop_group
from harness.servers import documentdb as dd

PLAIN_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "synchronous_commit": "off",
}


@dataclass(frozen=True)
class PgBuild:
    """Where PostgreSQL's binaries are (pg_ctl, initdb, pg_dump...)."""

    pg_bin: Path


def pg_build() -> PgBuild | None:
    """The installed PostgreSQL 15 server binaries, or None."""
    for bindir in dd.PG_BINDIRS:
        if (Path(bindir) / "postgres").is_file():
            return PgBuild(Path(bindir))
    return None


@dataclass(frozen=True)
class Cluster:
    pid: int
    port: int
    pgdata: Path
    log: Path
    user: str

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        stop_group(self.pid, signal.SIGINT)


def start(data: Path, settings: dict[str, str], *, pg_bin: Path, auth: tuple[str, str] | None = None,
          durable: bool = False, timeout: float = 60.0, port: int | None = None) -> Cluster:
    """Start PostgreSQL with `settings` (initialising the cluster in `data` on first use).

    Without `durable`, fsync and full-page writes are off (throwaway test clusters). On
    failure whatever was started is stopped and the error names the log file.
    """
    user = dd._service_user() if dd._is_root() else None
    data.mkdir(parents=True, exist_ok=True)
    pgdata = dd.cluster_dir(data)
    log = data / "postgresql.log"
    build_ = PgBuild(pg_bin)
    if not (pgdata / "PG_VERSION").is_file():
        if pgdata.exists():
            shutil.rmtree(pgdata)  # a half-initialised cluster from an interrupted first start
        dd._prepare_dir(pgdata.parent, user)
        dd._initdb(build_, pgdata, user, log, auth)  # type: ignore[arg-type]
    dd._stop_orphan(pgdata)
    pg_port = port or dd._free_port()
    merged = {**settings, **({} if durable else dd._FAST_UNSAFE), "port": str(pg_port)}
    argv = [str(pg_bin / "postgres"), "-D", str(pgdata)]
    for key, value in merged.items():
        argv += ["-c", f"{key}={value}"]
    pid = dd._spawn(argv, log, user)
    pg_user = auth[0] if auth else "postgres"
    deadline = time.time() + timeout
    while not dd._pg_ready(build_, pg_port, pg_user):  # type: ignore[arg-type]
        if not pid_alive(pid) or time.time() > deadline:
            raise dd._fail("the embedded PostgreSQL cluster did not start", log, [pid])
        time.sleep(0.2)
    return Cluster(pid=pid, port=pg_port, pgdata=pgdata, log=log, user=pg_user)


def launch_plain(data: Path, *, timeout: float = 60.0) -> Cluster:
    """A plain PostgreSQL 15 (no extensions) in `data`: for PostgreSQL-engine systems and tests."""
    build_ = pg_build()
    if build_ is None:
        raise HarnessError("PostgreSQL 15 is not installed here",
                           "run scripts/setup.sh as root, or pass --uri postgresql://...")
    return start(data, PLAIN_SETTINGS, pg_bin=build_.pg_bin, timeout=timeout)


@contextlib.contextmanager
def given_or_throwaway(uri: str | None, prefix: str = "harness-pg-") -> Iterator[str]:
    """`uri` as it is, else a plain cluster in a temporary directory for the block, then stopped
    (the benchmarks' "--uri or a cluster of their own")."""
    if uri is not None:
        yield uri
        return
    cluster = launch_plain(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        yield f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/"
    finally:
        cluster.stop()
