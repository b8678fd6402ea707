"""Where systems come from: the systems path, then the five built into the package.

A systems directory holds `fixtures/<name>.py` (what the data is: `SYSTEM = System(...)`) and,
optionally, `workloads/<name>.py` (what load is run against it). The systems path lists such
directories, from `harness --systems-path DIR` (repeatable) and `HARNESS_SYSTEMS_PATH`
(os.pathsep-separated), searched in that order before the built-in directory, so a user's
system needs no edit of `harness/` and no fork of this repository. The first directory that
defines a name wins; `harness systems` shows which one did and what it shadows.

The built-in directory is the repository root in a checkout, and `harness/_systems` (copies of
fixtures/ and workloads/, through symlinks, made when the wheel is built) once installed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV = "HARNESS_SYSTEMS_PATH"
BUILTIN = "built-in"


@dataclass(frozen=True)
class SystemSource:
    """One discovered system: its fixture file, its workload file (if any), and where from."""

    name: str
    fixture: Path
    workload: Path | None
    origin: str  # the systems directory, or "built-in"
    shadows: tuple[str, ...] = field(default=())  # origins of same-named systems it hides


def builtin_dir() -> Path | None:
    """The directory holding the five shipped systems (fixtures/ and workloads/)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "fixtures").is_dir():
        return checkout
    shipped = Path(__file__).resolve().parent / "_systems"
    return shipped if (shipped / "fixtures").is_dir() else None


def systems_path() -> list[Path]:
    """User directories from HARNESS_SYSTEMS_PATH (which `--systems-path` extends), in order."""
    raw = os.environ.get(ENV, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def extend_path(directories: tuple[str, ...] | list[str]) -> None:
    """Put `directories` in front of the systems path for this process and its children (load
    workers, bench subprocesses inherit the environment)."""
    from harness.errors import HarnessError

    for d in directories:
        if not Path(d).expanduser().is_dir():
            raise HarnessError(f"systems directory {d!r} does not exist",
                               "pass a directory holding fixtures/<name>.py (and workloads/<name>.py)")
    current = [str(p) for p in systems_path()]
    merged = [str(Path(d).expanduser().resolve()) for d in directories] + current
    os.environ[ENV] = os.pathsep.join(dict.fromkeys(merged))


def _directories() -> list[tuple[Path, str]]:
    dirs = [(p, str(p)) for p in systems_path()]
    builtin = builtin_dir()
    if builtin is not None:
        dirs.append((builtin, BUILTIN))
    return dirs


def _modules(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.py")) if not p.stem.startswith("_")}


def discover() -> dict[str, SystemSource]:
    """Every system on the systems path and built in, by name (sorted)."""
    found: dict[str, SystemSource] = {}
    workloads: dict[str, Path] = {}
    for directory, origin in _directories():
        for name, path in _modules(directory / "workloads").items():
            workloads.setdefault(name, path)
        for name, path in _modules(directory / "fixtures").items():
            if name in found:
                prev = found[name]
                found[name] = SystemSource(prev.name, prev.fixture, prev.workload, prev.origin,
                                           prev.shadows + (origin,))
                continue
            found[name] = SystemSource(name, path, None, origin)
    out = {}
    for name in sorted(found):
        s = found[name]
        out[name] = SystemSource(s.name, s.fixture, _workload_for(name, s, workloads), s.origin, s.shadows)
    return out


def _workload_for(name: str, source: SystemSource, workloads: dict[str, Path]) -> Path | None:
    """The workload beside the fixture first (same systems directory), else the first on the path."""
    beside = source.fixture.parent.parent / "workloads" / f"{name}.py"
    return beside if beside.is_file() else workloads.get(name)


def system_names() -> list[str]:
    """Names of every discovered system, sorted: what tests parametrize over."""
    return list(discover())


def systems_with_workloads() -> list[str]:
    """Names of the discovered systems that have a workload: what bench tests parametrize over."""
    return [n for n, s in discover().items() if s.workload is not None]


def source(name: str) -> SystemSource:
    from harness.errors import HarnessError

    found = discover()
    if name not in found:
        known = ", ".join(found) or "none found"
        raise HarnessError(f"unknown system {name!r}",
                           f"known systems: {known}; add directories with --systems-path or {ENV}")
    return found[name]


def workload_path(name: str) -> Path | None:
    """The workload module of system `name`, or None when it has none."""
    return source(name).workload
