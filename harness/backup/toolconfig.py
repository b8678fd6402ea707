"""Hand a URI with credentials to mongodump/mongorestore without it touching disk or `ps`.

The tools read `--config=FILE` (YAML with `uri:`). The harness gives them a pipe instead of a
file: the config is written into an anonymous pipe whose read end the tool inherits as
`/dev/fd/N`, so nothing is ever on disk and a `kill -9` leaves nothing behind. Where `/dev/fd`
does not exist (or `HARNESS_TOOL_CONFIG=file`), a 0600 file named with the harness's pid is
used instead, deleted on every exit path the process can see (normal exit, exceptions,
SIGTERM through the CLI's handler), and a stale one left by a killed run is removed by the next
run's `sweep_stale()`.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.processes import pid_alive

PREFIX = "harness-tool-"
_NAMED = re.compile(rf"^{PREFIX}(\d+)-[^/]*\.yaml$")
_OLD = re.compile(rf"^{PREFIX}[^/]*\.yaml$")
OLD_FORMAT_AGE = 600.0  # seconds; files of earlier versions carry no pid


@dataclass
class ToolConfig:
    arg: str  # "--config=..."
    pass_fds: tuple[int, ...] = ()
    path: Path | None = None  # only in file mode


def _yaml_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pipe_mode() -> bool:
    return os.environ.get("HARNESS_TOOL_CONFIG", "pipe") != "file" and os.path.isdir("/dev/fd")


@contextlib.contextmanager
def tool_config(uri: str) -> Iterator[ToolConfig]:
    """A `--config` argument carrying `uri`; pass `pass_fds` to subprocess.Popen."""
    body = ("uri: " + _yaml_quote(uri) + "\n").encode()
    if _pipe_mode() and len(body) < 60_000:  # fits in the pipe buffer: written before the tool starts
        r, w = os.pipe()
        try:
            os.write(w, body)
        finally:
            os.close(w)
        try:
            yield ToolConfig(f"--config=/dev/fd/{r}", (r,))
        finally:
            os.close(r)
        return
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".yaml")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        yield ToolConfig(f"--config={path}", (), path)
    finally:
        path.unlink(missing_ok=True)


def sweep_stale(directory: str | None = None) -> list[Path]:
    """Remove config files left by killed runs (their pid is gone; earlier versions' files once
    they are older than any tool start-up). Returns what was removed."""
    removed = []
    base = Path(directory or tempfile.gettempdir())
    try:
        candidates = list(base.glob(f"{PREFIX}*.yaml"))
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        m = _NAMED.match(path.name)
        try:
            if m:
                stale = not pid_alive(int(m[1]))
            elif _OLD.match(path.name):
                stale = now - path.stat().st_mtime > OLD_FORMAT_AGE
            else:
                stale = False
            if stale and path.stat().st_uid == os.getuid():
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
