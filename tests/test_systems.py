"""Systems from anywhere: discovery through the systems path, `harness lint` on every system,
the docs/systems.md example loaded, indexed (every kind), benched, backed up and verified."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.indexes import unsupported_reason
from harness.lint import lint
from harness.servers import Server
from harness.spec import load_system
from harness.systems import discover, system_names
from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "systems"
FOODCOURT = (EXAMPLE / "fixtures" / "foodcourt.py").read_text()


@pytest.mark.parametrize("name", system_names())
def test_lint_finds_nothing(name: str) -> None:
    """Every discovered system (the five built in, the example, anything on the systems path)."""
    findings = lint(name)
    assert not findings, "\n".join(f.line() for f in findings)


def _bad_systems(tmp_path: Path) -> Path:
    """A copy of the example with one of each mistake lint must report."""
    d = tmp_path / "bad"
    (d / "fixtures").mkdir(parents=True)
    text = (FOODCOURT.replace('name="foodcourt"', 'name="foodcourt_renamed"')
            .replace('"tenant": enum("north", "south", "east", "west")', '"tenant": enum("north", "south")')
            .replace('idx("email", unique=True)', 'idx("email", unique=True), idx("phone")')
            .replace('Ref("restaurant_id", "restaurants", "restaurant_id")',
                     'Ref("restaurant_id", "restaurants", "name"), Ref("coupon", "restaurants")')
            .replace('"email": g.email(i)', '"email": g.email()'))
    (d / "fixtures" / "badcourt.py").write_text(text)
    return d


def test_lint_reports_one_line_per_finding_and_exit_1(tmp_path: Path) -> None:
    bad = _bad_systems(tmp_path)
    r = run_cli("--systems-path", str(bad), "lint", "badcourt")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.strip().splitlines()
    expected = {
        "names": "file is named 'badcourt' but SYSTEM.name is 'foodcourt_renamed'",
        "field": "customers.phone: index {phone: 1} names a field no generated document has",
        "schema": "tenant: 'west' not in ['north', 'south']",
        "reference": "orders.coupon: no document has a value at scale 0.02",
        "unique": "customers.email: collides at the largest preset",
    }
    for check, text in expected.items():
        assert any(text in line and line.endswith(f"[{check}]") for line in lines), (check, lines)
    assert any("orders.restaurant_id" in line and "point at no restaurants.name" in line for line in lines)
    assert "Traceback" not in r.stderr


def test_lint_checks_the_workload(tmp_path: Path) -> None:
    """A workload naming another system, filtering on a field no document has, or needing an
    unknown capability: one line each, exit 1."""
    original = (EXAMPLE / "workloads" / "foodcourt.py").read_text()
    variants = {
        "wrong": (original.replace('Workload(system="foodcourt"', 'Workload(system="kiosk"')
                  .replace('{"email": p.pick("customers")["email"]}', '{"e_mail": p.pick("customers")["email"]}')),
        "needs": original.replace('index")', 'index", needs=("warp_drive",))'),
    }
    out = {}
    for key, text in variants.items():
        d = tmp_path / key
        shutil.copytree(EXAMPLE, d)
        (d / "workloads" / "foodcourt.py").write_text(text)
        r = run_cli("--systems-path", str(d), "lint", "foodcourt")
        assert r.returncode == 1, r.stdout + r.stderr
        out[key] = r.stdout
    assert "workload names system 'kiosk', not 'foodcourt' [names]" in out["wrong"]
    assert "filters or sorts on customers.e_mail, which no generated document has [field]" in out["wrong"]
    assert "unknown capability 'warp_drive'" in out["needs"]


def test_systems_path_option_env_several_directories_and_shadowing(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for d in (first, second):
        (d / "fixtures").mkdir(parents=True)
    (first / "fixtures" / "foodcourt.py").write_text(FOODCOURT.replace('title="Foodcourt (example)"',
                                                                       'title="Foodcourt (mine)"'))
    (second / "fixtures" / "kiosk.py").write_text(FOODCOURT.replace('name="foodcourt"', 'name="kiosk"'))
    (second / "workloads").mkdir()
    (second / "workloads" / "kiosk.py").write_text("")
    r = run_cli("--systems-path", str(first), "systems", "--json",
                env={"HARNESS_SYSTEMS_PATH": f"{second}:{EXAMPLE}"})
    assert r.returncode == 0, r.stderr
    out = {s["name"]: s for s in json.loads(r.stdout)["systems"]}
    assert {"bmd", "doit", "masterx", "medical_twin", "zygotrix", "foodcourt", "kiosk"} <= set(out)
    assert out["foodcourt"]["title"] == "Foodcourt (mine)" and out["foodcourt"]["origin"] == str(first)
    assert out["foodcourt"]["shadows"] == [str(EXAMPLE)]
    assert out["kiosk"]["origin"] == str(second) and out["kiosk"]["workload"].endswith("kiosk.py")
    assert out["masterx"]["origin"] == "built-in"


def test_a_fixture_named_unlike_its_system_is_refused(tmp_path: Path) -> None:
    bad = _bad_systems(tmp_path)
    r = run_cli("--systems-path", str(bad), "load", "badcourt", "--uri", "mongodb://127.0.0.1:1/")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "badcourt.py defines SYSTEM.name 'foodcourt_renamed'" in lines[0], lines


def test_missing_systems_directory_is_one_clear_line(tmp_path: Path) -> None:
    r = run_cli("--systems-path", str(tmp_path / "nope"), "systems")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_docs_example_is_the_example_files() -> None:
    """docs/systems.md shows the example in full; it must be the files the suite runs."""
    doc = (REPO / "docs" / "systems.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert FOODCOURT in blocks
    assert (EXAMPLE / "workloads" / "foodcourt.py").read_text() in blocks


def test_every_system_is_discovered_with_its_workload() -> None:
    found = discover()
    assert found["foodcourt"].workload == EXAMPLE / "workloads" / "foodcourt.py"
    assert all(found[n].workload is not None for n in ("bmd", "doit", "masterx", "medical_twin", "zygotrix"))


def test_every_index_kind_agrees_across_load_check_and_restore(server: Server, tmp_path: Path) -> None:
    """The example declares one index of every kind: load, indexes --check and restore-verify
    give each the same verdict, decided by the server's capability profile."""
    system = load_system("foodcourt")
    db = "t_foodcourt_kinds"
    r = run_cli("load", "foodcourt", "--uri", server.uri, "--db", db, "--preset", "tiny", "--drop", "--json")
    assert r.returncode == 0, r.stderr
    loaded = {(s["collection"], s["index"]): s for s in json.loads(r.stdout)["indexes"]}
    c = run_cli("indexes", "foodcourt", "--uri", server.uri, "--db", db, "--check", "--json")
    assert c.returncode == 0, c.stdout + c.stderr
    checked = {(s["collection"], s["index"]): s for s in json.loads(c.stdout)["indexes"]}
    for coll in system.collections:
        for index in coll.indexes:
            key = (coll.name, index.describe())
            reason = unsupported_reason(index, server.caps)
            if reason:
                assert loaded[key]["status"] == checked[key]["status"] == "unsupported", key
                assert loaded[key]["detail"] == checked[key]["detail"] == reason
            else:
                assert loaded[key]["status"] in ("ok", "degraded"), loaded[key]
                assert checked[key]["status"] in ("ok", "degraded", "unverifiable"), checked[key]
    if server.caps.kind == "ferretdb":  # the reference server keeps every kind but collation
        kept = [k for k, s in checked.items() if s["status"] == "ok"]
        assert len(kept) == sum(len(c.indexes) for c in system.collections) - 1
        assert [k for k, s in checked.items() if s["status"] == "unsupported"] == [
            ("customers", "{name: 1} collation {\"locale\": \"en\", \"strength\": 2}")]
    store = tmp_path / "store"
    b = run_cli("backup", "foodcourt", "--uri", server.uri, "--db", db, "--to", str(store), "--json")
    if b.returncode == 2 and "mongodump" in b.stderr:
        pytest.skip(f"backup tools not available here: {b.stderr.strip()}")
    assert b.returncode == 0, b.stderr
    manifest = json.loads(next(store.glob("foodcourt/*/manifest.json")).read_text())
    not_kept = {(c, x["index"]): x["reason"] for c, xs in manifest["extra"]["indexes_not_kept"].items() for x in xs}
    assert not_kept == {k: s["detail"] for k, s in checked.items() if s["status"] == "unsupported"}
    v = run_cli("restore-verify", "foodcourt", "--uri", server.uri, "--from", str(store), "--out",
                str(tmp_path / "reports"), "--json")
    assert v.returncode == 0, v.stdout + v.stderr
    report = json.loads(v.stdout)
    index_checks = [x for x in report["checks"] if x["what"] == "indexes"]
    assert index_checks and all(x["ok"] for x in index_checks), index_checks


def test_the_example_benches(server: Server, loaded, tmp_path: Path) -> None:
    db = loaded("foodcourt", 0.02, purpose="writes")
    out = tmp_path / "r"
    r = run_cli("bench", "foodcourt", "--uri", server.uri, "--db", db.name, "--duration", "3s", "--requests",
                "300", "--users", "2", "--no-metrics", "--out", str(out))
    assert r.returncode in (0, 1), r.stderr
    record = json.loads(next(out.glob("bench-*.json")).read_text())
    ran = [q for q in record["queries"] if q["status"] != "not-run"]
    assert {q["name"] for q in ran} == {"login", "order_history", "open_orders", "place_order"}
    assert all(q["errors"] == 0 and q["count"] > 0 for q in ran), ran
