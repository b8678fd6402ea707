"""Find external programs: on PATH first, then in the harness's own tools directory.

Setup builds mongodump/mongorestore/bsondump and FerretDB from their Go modules into
`.tools/bin` (or `HARNESS_TOOLS_DIR`) when they are not installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def tools_dir() -> Path:
    """HARNESS_TOOLS_DIR, else .tools/bin of a checkout, else tools/bin in the state directory
    (an installed wheel has no checkout to build into)."""
    if os.environ.get("HARNESS_TOOLS_DIR"):
        return Path(os.environ["HARNESS_TOOLS_DIR"])
    if (REPO / "pyproject.toml").is_file():
        return REPO / ".tools" / "bin"
    return state_dir() / "tools" / "bin"


def find_tool(name: str) -> str | None:
    """Absolute path of `name`, or None when it is neither on PATH nor in the tools dir."""
    found = shutil.which(name)
    if found:
        return found
    local = tools_dir() / name
    return str(local) if local.is_file() and os.access(local, os.X_OK) else None


def state_dir() -> Path:
    """Where the embedded server keeps its data and state across commands."""
    base = os.environ.get("HARNESS_HOME") or os.path.join(
        os.environ.get("XDG_STATE_HOME", os.path.expanduser("~/.local/state")), "sla-harness")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path
