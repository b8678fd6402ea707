"""The harness as a user gets it: a wheel built from this checkout, installed into a fresh venv,
run from outside the repository with a system kept outside it (systems path: option,
environment variable, several directories)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from harness.servers import Server
from tests.conftest import REPO

STEP_TIMEOUT = 300


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the built wheel installed (no editable checkout on its path); its
    third-party dependencies come from this test environment's site-packages through a .pth file,
    so the test needs no network and stays bounded in time."""
    base = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(base / "dist")], cwd=base)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("sla_harness-*.whl"))
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=base).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # deps, not the editable harness
    pip = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                str(wheel)], cwd=base)
    assert pip.returncode == 0, pip.stderr
    return env_dir


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_SYSTEMS_PATH", "PYTHONPATH", "MONGODB_URI")}
    return {**env, **extra}


def test_installed_wheel_runs_a_system_kept_outside_the_repository(installed: Path, server: Server,
                                                                   tmp_path: Path) -> None:
    harness = str(installed / "bin" / "harness")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    shutil.copytree(REPO / "examples" / "systems", mine)
    (theirs / "fixtures").mkdir(parents=True)
    example = (REPO / "examples" / "systems" / "fixtures" / "foodcourt.py").read_text()
    (theirs / "fixtures" / "kiosk.py").write_text(example.replace('name="foodcourt"', 'name="kiosk"'))
    env = _env({"HARNESS_SYSTEMS_PATH": str(theirs), "HARNESS_HOME": str(tmp_path / "home")})
    cwd = tmp_path  # outside the repository: nothing found through the working directory

    where = _run([str(installed / "bin" / "python"), "-c", "import harness; print(harness.__file__)"], cwd, env)
    assert str(installed) in where.stdout, where.stdout + where.stderr  # the wheel, not the checkout

    listed = _run([harness, "--systems-path", str(mine), "systems", "--json"], cwd, env)
    assert listed.returncode == 0, listed.stderr
    systems = {s["name"]: s for s in json.loads(listed.stdout)["systems"]}
    assert {"bmd", "doit", "masterx", "medical_twin", "zygotrix"} <= set(systems)  # shipped in the wheel
    assert str(installed) in systems["masterx"]["fixture"] and systems["masterx"]["workload"]
    assert systems["foodcourt"]["origin"] == str(mine) and systems["kiosk"]["origin"] == str(theirs)

    lint = _run([harness, "--systems-path", str(mine), "lint", "foodcourt", "kiosk"], cwd, env)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    db = "t_wheel_foodcourt"
    load = _run([harness, "--systems-path", str(mine), "load", "foodcourt", "--uri", server.uri, "--db", db,
                 "--preset", "tiny", "--drop", "--json"], cwd, env)
    assert load.returncode == 0, load.stderr
    assert sum(c["inserted"] for c in json.loads(load.stdout)["collections"]) > 0
    check = _run([harness, "--systems-path", str(mine), "indexes", "foodcourt", "--uri", server.uri, "--db", db,
                  "--check"], cwd, env)
    assert check.returncode == 0, check.stdout + check.stderr

    bench = _run([harness, "--systems-path", str(mine), "bench", "foodcourt", "--uri", server.uri, "--db", db,
                  "--duration", "2s", "--requests", "100", "--users", "1", "--no-metrics", "--out",
                  str(tmp_path / "r")], cwd, env)
    assert bench.returncode in (0, 1), bench.stderr
    assert list((tmp_path / "r").glob("bench-*.json"))

    store = tmp_path / "store"
    backup = _run([harness, "--systems-path", str(mine), "backup", "foodcourt", "--uri", server.uri, "--db", db,
                   "--to", str(store)], cwd, env)
    if backup.returncode == 2 and "not found on PATH" in backup.stderr:
        print(f"backup from the wheel not run: {backup.stderr.strip()}")
    else:
        assert backup.returncode == 0, backup.stderr
        verified = _run([harness, "--systems-path", str(mine), "restore-verify", "foodcourt", "--uri", server.uri,
                         "--from", str(store), "--out", str(tmp_path / "rv"), "--json"], cwd, env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert json.loads(verified.stdout)["ok"]

    unknown = _run([harness, "load", "nosuch", "--uri", server.uri], cwd, env)
    assert unknown.returncode == 2 and "unknown system 'nosuch'" in unknown.stderr
    assert "--systems-path" in unknown.stderr
