"""The embedded default server: started on first use, reused across commands, stopped cleanly.

Preference: a real `mongod` on PATH, then MongoDB 7 in Docker through testcontainers when an
engine answers, then `documentdb` (FerretDB 2 on PostgreSQL + DocumentDB, the reference server,
when scripts/setup.sh built it), then `nx-27017` (wire protocol on SQLite, installed with the
harness: the zero-build fallback). State lives in `$HARNESS_HOME/server.json`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from harness.errors import HarnessError
from harness.ports import free_port
from harness.processes import pid_alive, stop_group
from harness.servers import documentdb
from harness.tools import find_tool, state_dir

BACKENDS = ("mongod", "docker", "documentdb", "nx-27017")
PREFERENCE = BACKENDS


def _state_file() -> Path:
    return state_dir() / "server.json"


def _answers(uri: str, timeout_ms: int = 1500) -> bool:
    client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except OperationFailure as exc:
        return exc.code in (13, 18)  # it answers, but wants credentials first (FerretDB with auth)
    except PyMongoError:
        return False
    finally:
        client.close()


def read_state() -> dict[str, Any] | None:
    path = _state_file()
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def status() -> dict[str, Any] | None:
    """The running embedded server's state, or None. Stale state is cleared, and whatever of
    it still runs (a PostgreSQL whose FerretDB died) is stopped."""
    state = read_state()
    if state and _answers(state["uri"]):
        return state
    if state:
        terminate(state)
        _state_file().unlink(missing_ok=True)
    return None


def docker_engine_answers() -> bool:
    if not find_tool("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def available_backends() -> list[str]:
    out = []
    if find_tool("mongod"):
        out.append("mongod")
    if docker_engine_answers():
        out.append("docker")
    if documentdb.build() is not None:
        out.append("documentdb")
    if find_tool("nx-27017") or _nx_module():
        out.append("nx-27017")
    return out


def _nx_module() -> bool:
    import importlib.util

    return importlib.util.find_spec("nx_27017") is not None


def ensure_running(backend: str | None = None) -> dict[str, Any]:
    state = status()
    if state and (backend is None or state["backend"] == backend):
        return state
    if state:
        raise HarnessError(f"the embedded server already runs {state['backend']}",
                           "run `harness server stop` first to switch backends")
    return start(backend)


def start(backend: str | None = None, port: int | None = None) -> dict[str, Any]:
    """Start the chosen (or preferred available) backend and record its state."""
    if status():
        raise HarnessError("the embedded server is already running", "see `harness server status`")
    avail = available_backends()
    if backend is None:
        order = [b for b in PREFERENCE if b in avail]
        if not order:
            raise HarnessError("no embedded server available: no mongod, no Docker engine, no DocumentDB build, "
                               "no nx-27017",
                               "pip install nx-27017, or pass --uri to a running MongoDB")
        backend = order[0]
    elif backend not in BACKENDS:
        raise HarnessError(f"unknown backend {backend!r}", f"choose one of: {', '.join(BACKENDS)}")
    elif backend not in avail:
        raise HarnessError(f"backend {backend!r} is not available here",
                           "see `harness doctor`; scripts/setup.sh builds the documentdb backend")
    options = {"durable": True} if backend == "documentdb" else {}
    state = launch(backend, state_dir() / f"data-{backend}", port, **options)
    _state_file().write_text(json.dumps(state, indent=2))
    return state


def launch(backend: str, data: Path, port: int | None = None, **options: Any) -> dict[str, Any]:
    """Start `backend` as a separate process on a loopback port and wait until it answers.
    Tests use this directly with their own data directory; stop it with `terminate`.
    `options` go to the backend's launcher (documentdb: `auth=(user, password)`, `durable`)."""
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    state = {"backend": backend, "port": port, "data_dir": str(data), "started_at": time.time()}
    state.update(_LAUNCH[backend](port, data, **options))
    _wait_ready(state)
    return state


def _spawn(argv: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    return proc.pid


def _launch_nx(port: int, data: Path, **_: Any) -> dict[str, Any]:
    exe = find_tool("nx-27017")
    argv = [exe] if exe else [sys.executable, "-m", "nx_27017.nx_27017"]
    argv += ["--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port),
             "--log-file", str(data / "nx.log"), "--pid-file", str(data / "nx.pid")]
    pid = _spawn(argv, data / "stdout.log")
    return {"pid": pid, "uri": f"mongodb://127.0.0.1:{port}/"}


def _launch_mongod(port: int, data: Path, **_: Any) -> dict[str, Any]:
    exe = find_tool("mongod")
    assert exe
    argv = [exe, "--dbpath", str(data), "--port", str(port), "--bind_ip", "127.0.0.1",
            "--replSet", "rs0", "--logpath", str(data / "mongod.log")]
    pid = _spawn(argv, data / "stdout.log")
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    deadline = time.time() + 60
    while time.time() < deadline and not _answers(uri, 500):
        time.sleep(0.3)
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("replSetInitiate", {"_id": "rs0", "members": [
            {"_id": 0, "host": f"127.0.0.1:{port}"}]})
    except PyMongoError:
        pass  # already initiated on a reused data directory
    finally:
        client.close()
    return {"pid": pid, "uri": uri}


def _launch_docker(port: int, data: Path, **_: Any) -> dict[str, Any]:
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # outlive this command
    from testcontainers.mongodb import MongoDbContainer

    container = MongoDbContainer("mongo:7").with_bind_ports(27017, port)
    container.start()
    return {"pid": None, "container": container.get_wrapped_container().id,
            "uri": container.get_connection_url()}


_LAUNCH = {"nx-27017": _launch_nx, "documentdb": documentdb.launch, "mongod": _launch_mongod,
           "docker": _launch_docker}


def _wait_ready(state: dict[str, Any], timeout: float = 60.0) -> None:
    """Wait until the server answers; on failure stop everything that was started."""
    deadline = time.time() + timeout
    logs = state.get("logs") or [state["data_dir"]]
    while time.time() < deadline:
        if _answers(state["uri"], 500):
            return
        if state.get("pid") and not pid_alive(state["pid"]):
            terminate(state)
            raise HarnessError(f"embedded {state['backend']} exited during start-up", f"see {logs[0]}")
        time.sleep(0.2)
    terminate(state)
    raise HarnessError(f"embedded {state['backend']} did not answer within {timeout:.0f}s", f"see {logs[0]}")


def terminate(state: dict[str, Any]) -> None:
    if state.get("backend") == "documentdb":
        documentdb.terminate(state)
        return
    if state.get("container"):
        subprocess.run(["docker", "rm", "-f", state["container"]], capture_output=True)
        return
    stop_group(state.get("pid"), signal.SIGTERM, 10.0)


def stop() -> dict[str, Any] | None:
    """Stop the embedded server (data stays for the next start)."""
    state = read_state()
    if not state:
        return None
    terminate(state)
    _state_file().unlink(missing_ok=True)
    return state
