"""Child processes the harness starts and stops (servers, clusters, tools): one notion of
"still running" and one way to stop a process group, so no caller reinvents either."""

from __future__ import annotations

import os
import signal
import time


def pid_alive(pid: int | None) -> bool:
    """Does `pid` run? Reaps it first when it is our exited child (a zombie answers kill(0))."""
    if not pid:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pid: int | None, first: signal.Signals = signal.SIGTERM, wait: float = 15.0) -> None:
    """Stop the process group led by `pid`: `first` (PostgreSQL: SIGINT = fast shutdown), then
    SIGKILL after `wait` seconds."""
    if not pid_alive(pid):
        return
    for sig, limit in ((first, wait), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)  # type: ignore[arg-type]
        except ProcessLookupError:
            return
        deadline = time.time() + limit
        while time.time() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)
