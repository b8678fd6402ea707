"""The reference server: FerretDB 2 on DocumentDB (PostgreSQL 15 + the DocumentDB extension).

Why this server: it keeps every index kind MongoDB has exactly, plans with PostgreSQL's
cost-based planner (compound indexes used for prefix equality and ranges), reports per-index
sizes in `$collStats`, and the real mongodump/mongorestore work against it unmodified. It is
built by `scripts/setup-documentdb.sh`; FIELD-NOTES ("FerretDB 2 on DocumentDB") lists what
differs from MongoDB.

Two processes are started and stopped together: a PostgreSQL cluster (its data directory is
kept across restarts) and FerretDB in front of it, each on a free loopback port. PostgreSQL
refuses to run as root, so under root the cluster runs as the system user `sla-harness`
(created by setup, or here when missing); when that user cannot reach the harness's state
directory (e.g. under /root) the cluster lives in /var/lib/sla-harness and the state directory
holds a link to it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.errors import HarnessError
from harness.processes import stop_group
from harness.tools import find_tool

SERVICE_USER = "sla-harness"
PG_BINDIRS = ("/usr/lib/postgresql/15/bin",)
FERRETDB = "ferretdb2"
RELOCATED_ROOT = Path("/var/lib/sla-harness")

# DocumentDB's settings (FIELD-NOTES, build step 5). Durability is relaxed only for tests.
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "shared_preload_libraries": "pg_cron,pg_documentdb_core,pg_documentdb",
    "cron.database_name": "postgres",
    "documentdb.enableCompact": "true",
    "documentdb.enableLetAndCollationForQueryMatch": "true",
    "documentdb.enableNowSystemVariable": "true",
    "documentdb.enableSortbyIdPushDownToPrimaryKey": "true",
    "documentdb.enableSchemaValidation": "true",
    "documentdb.enableBypassDocumentValidation": "true",
    "documentdb.enableUserCrud": "true",
    "documentdb.maxUserLimit": "100",
    "max_connections": "300",
    "shared_buffers": "256MB",
    # MongoDB acknowledges a default (w:1) write before its journal is flushed; PostgreSQL's
    # equivalent is an asynchronous commit. Crash safety of the data files is unaffected.
    "synchronous_commit": "off",
}
_FAST_UNSAFE = {"fsync": "off", "full_page_writes": "off"}  # tests only: a crash may corrupt the cluster


@dataclass(frozen=True)
class Build:
    """Where the built pieces are."""

    pg_bin: Path
    ferretdb: str


def build() -> Build | None:
    """The installed PostgreSQL + DocumentDB extension + FerretDB 2, or None when incomplete."""
    exe = find_tool(FERRETDB)
    for bindir in PG_BINDIRS:
        pg_bin = Path(bindir)
        if not (pg_bin / "postgres").is_file() or not exe:
            continue
        libdir = _pg_config(pg_bin, "--pkglibdir")
        if libdir and (Path(libdir) / "pg_documentdb.so").is_file():
            return Build(pg_bin=pg_bin, ferretdb=exe)
    return None


def _pg_config(pg_bin: Path, flag: str) -> str | None:
    try:
        out = subprocess.run([str(pg_bin / "pg_config"), flag], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _is_root() -> bool:
    return os.geteuid() == 0


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    made = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True)
    if made.returncode != 0:
        raise HarnessError(f"PostgreSQL refuses to run as root and user {SERVICE_USER!r} could not be created: "
                           f"{made.stderr.strip()}", "run scripts/setup.sh as root, or run the harness as a "
                           "non-root user")
    return pwd.getpwnam(SERVICE_USER)


def _reachable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Can `user` traverse every ancestor of `path` (other-execute or owner)?"""
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            continue
        if st.st_mode & 0o001:
            continue
        if st.st_gid == user.pw_gid and st.st_mode & 0o010:
            continue
        return False
    return True


def cluster_dir(data: Path) -> Path:
    """The PostgreSQL data directory for the backend whose state lives in `data`."""
    link = data / "pg"
    if link.is_symlink():
        return link.resolve()
    if not _is_root() or _reachable_by(_service_user(), data):
        return link
    key = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:16]
    target = RELOCATED_ROOT / key / "pg"
    link.symlink_to(target, target_is_directory=True)
    return target


def _demote(user: pwd.struct_passwd | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _prepare_dir(path: Path, user: pwd.struct_passwd | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        for p in [path, *[q for q in path.parents if str(q).startswith(str(RELOCATED_ROOT))]]:
            os.chown(p, user.pw_uid, user.pw_gid)
        os.chmod(path, 0o700)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spawn(argv: list[str], log: Path, user: pwd.struct_passwd | None, env: dict[str, str] | None = None) -> int:
    with open(log, "ab") as out:
        if user is not None:
            os.chown(log, user.pw_uid, user.pw_gid)
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd="/", env=env, **_demote(user))
    return proc.pid


def _fail(message: str, log: Path, started: list[int]) -> HarnessError:
    for pid in reversed(started):
        stop_group(pid, signal.SIGINT)
    return HarnessError(message, f"see {log}")


def _initdb(build_: Build, pgdata: Path, user: pwd.struct_passwd | None, log: Path,
            auth: tuple[str, str] | None) -> None:
    argv = [str(build_.pg_bin / "initdb"), "-D", str(pgdata), "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync"]
    pwfile = None
    if auth:
        # the password reaches initdb through a file only the service user reads, removed at once
        pwfile = pgdata.parent / ".pw"
        pwfile.write_text(auth[1] + "\n")
        os.chmod(pwfile, 0o600)
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        # clients authenticate over TCP; the local socket (only the service user reaches it) is
        # where DocumentDB's own internal connections log in
        argv += ["--auth-host=scram-sha-256", "--auth-local=trust", f"--pwfile={pwfile}", "-U", auth[0]]
    else:
        argv += ["--auth=trust"]
    try:
        with open(log, "ab") as out:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                                  **_demote(user))
    finally:
        if pwfile:
            pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise HarnessError("initdb failed for the embedded PostgreSQL cluster", f"see {log}")


def _pg_ready(build_: Build, port: int, user: str) -> bool:
    done = subprocess.run([str(build_.pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                           "-d", "postgres", "-q"], capture_output=True)
    return done.returncode == 0


def _psql(build_: Build, port: int, sql: str, log: Path, auth: tuple[str, str] | None) -> bool:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    user = auth[0] if auth else "postgres"
    if auth:
        env["PGPASSWORD"] = auth[1]
    with open(log, "ab") as out:
        done = subprocess.run([str(build_.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                               "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                              stdout=out, stderr=subprocess.STDOUT, env=env)
    return done.returncode == 0


def launch(port: int, data: Path, *, auth: tuple[str, str] | None = None, durable: bool = False,
           timeout: float = 60.0) -> dict[str, Any]:
    """Start PostgreSQL (initialising the cluster on first use) and FerretDB on `port`.

    `auth` = (user, password) enables SCRAM authentication (PostgreSQL keeps the users;
    FerretDB passes the client's credentials through). Without `durable`, fsync and full-page
    writes are off too, as suits throwaway test clusters.
    Any failure stops whatever was started and names the log file.
    """
    build_ = build()
    if build_ is None:
        raise HarnessError("the DocumentDB reference server is not built here",
                           "run scripts/setup.sh as root (it builds PostgreSQL 15 + DocumentDB + FerretDB 2)")
    if not _port_free(port):
        raise HarnessError(f"port {port} on 127.0.0.1 is already in use", "choose another --port or omit it")
    from harness.servers import pgcluster

    settings = dict(_SETTINGS)
    if auth:
        # DocumentDB runs some commands (dropDatabase, count estimates) over a second, internal
        # libpq connection without a password ("host=localhost" by default): point it at a
        # private socket directory whose connections the cluster trusts.
        sock = _socket_dir(data, _service_user() if _is_root() else None)
        settings["unix_socket_directories"] = str(sock)
        settings["documentdb.localhost_connection_string"] = f"host={sock}"
    cluster = pgcluster.start(data, settings, pg_bin=build_.pg_bin, auth=auth, durable=durable, timeout=timeout)
    pgdata, pg_port, pg_log, pg_user = cluster.pgdata, cluster.port, cluster.log, cluster.user
    ferret_log = data / "ferretdb.log"
    started = [cluster.pid]
    marker = pgdata / "documentdb.created"
    if not marker.is_file():
        if not _psql(build_, pg_port, "CREATE EXTENSION IF NOT EXISTS documentdb CASCADE", pg_log, auth):
            raise _fail("CREATE EXTENSION documentdb failed in the embedded PostgreSQL", pg_log, started)
        marker.touch()
    state_dir = data / "ferretdb-state"
    state_dir.mkdir(exist_ok=True)
    # FerretDB's own pool logs in as the cluster's superuser; with auth its password goes through
    # the environment (never argv, which `ps` shows, nor a file)
    secret = f":{quote(auth[1], safe='')}" if auth else ""
    env = {**os.environ, "FERRETDB_POSTGRESQL_URL": f"postgres://{pg_user}{secret}@127.0.0.1:{pg_port}/postgres"}
    ferret_argv = [build_.ferretdb, f"--listen-addr=127.0.0.1:{port}",
                   f"--debug-addr=127.0.0.1:{_free_port()}", "--telemetry=disable", "--log-level=warn",
                   f"--state-dir={state_dir}"]
    if not auth:
        ferret_argv.append("--no-auth")
    started.append(_spawn(ferret_argv, ferret_log, None, env))
    return {"pid": started[1], "pg_pid": started[0], "pg_port": pg_port, "pg_data": str(pgdata),
            "logs": [str(ferret_log), str(pg_log)], "uri": f"mongodb://127.0.0.1:{port}/"}


def _socket_dir(data: Path, user: pwd.struct_passwd | None) -> Path:
    """A short, private directory for the cluster's Unix socket (socket paths are limited to
    about 100 bytes, which a data directory under a test's tmp path can exceed)."""
    key = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:12]
    sock = Path("/tmp") / f".sla-harness-pg-{key}"
    sock.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        os.chown(sock, user.pw_uid, user.pw_gid)
    os.chmod(sock, 0o700)
    return sock


def _stop_orphan(pgdata: Path) -> None:
    """A postmaster left running by a killed harness holds the cluster's lock: stop it."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if any(arg.decode(errors="replace") == str(pgdata) for arg in cmdline):
        stop_group(pid, signal.SIGINT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(state: dict[str, Any]) -> None:
    """FerretDB first (it holds PostgreSQL connections), then the cluster."""
    stop_group(state.get("pid"))
    stop_group(state.get("pg_pid"), signal.SIGINT)
