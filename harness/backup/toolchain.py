"""The mongo tools a backup needs: found on PATH or in the harness tools dir, or one clear line."""

from __future__ import annotations

import subprocess
from functools import cache

from harness.errors import HarnessError
from harness.tools import REPO, find_tool, tools_dir


def require(name: str) -> str:
    exe = find_tool(name)
    if not exe:
        raise HarnessError(f"{name} not found on PATH or in {tools_dir()}",
                           "install the MongoDB Database Tools on PATH (or into HARNESS_TOOLS_DIR); "
                           "in a checkout, scripts/setup.sh builds them")
    return exe


MODULES = {"ferretdb2": ("ferretdb2", "github.com/FerretDB/FerretDB/v2")}
DEFAULT_MODULE = ("mongo-tools", "github.com/mongodb/mongo-tools")


def pinned_build(exe: str) -> str | None:
    """For a tool that setup built into the tools dir: the pinned module version it came from
    (such builds report `built-without-version-string`)."""
    from pathlib import Path

    if Path(exe).resolve().parent != tools_dir().resolve():
        return None
    folder, module = MODULES.get(Path(exe).name, DEFAULT_MODULE)
    try:
        lines = (REPO / "tools" / folder / "go.mod").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if module in parts:
            return f"{module} {parts[parts.index(module) + 1]}"
    return None


@cache
def version(exe: str) -> str:
    """`exe --version`'s version and git lines, plus the pinned module for tools built by setup."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = [ln.strip() for ln in (out.stdout or out.stderr).splitlines() if ln.strip()]
    text = "; ".join(lines[:2]) if lines else "unknown"
    pin = pinned_build(exe)
    return f"{text} (built from {pin})" if pin else text
