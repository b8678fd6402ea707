"""The mongo tools a backup needs: found on PATH or in the harness tools dir, or one clear line."""

from __future__ import annotations

import subprocess
from functools import cache

from harness.errors import HarnessError
from harness.tools import find_tool, tools_dir


def require(name: str) -> str:
    exe = find_tool(name)
    if not exe:
        raise HarnessError(f"{name} not found on PATH or in {tools_dir()}",
                           "install the MongoDB Database Tools or run scripts/setup-tools.sh")
    return exe


@cache
def version(exe: str) -> str:
    """First line of `exe --version` (the pinned build says `built-without-version-string`), plus
    the git line when it says more."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = [ln.strip() for ln in (out.stdout or out.stderr).splitlines() if ln.strip()]
    return "; ".join(lines[:3]) if lines else "unknown"
