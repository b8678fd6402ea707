"""`harness bench` end to end against real server processes: every system, all report formats,
SLA and index breaches, and the exit codes CI gates on."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.servers import Server
from harness.spec import system_names
from harness.systems import systems_with_workloads
from tests.bench_workloads import POINT_READ, POINT_WRITE

SYSTEMS = systems_with_workloads()  # every discovered system with a workload (systems path included)
SCALE = 0.02


def reports(out: Path) -> dict[str, Path]:
    found = {"json": sorted(out.glob("bench-*.json")), "html": sorted(out.glob("bench-*.html")),
             "junit": sorted(out.glob("bench-*.junit.xml"))}
    assert all(len(v) == 1 for v in found.values()), found
    return {k: v[0] for k, v in found.items()}


@pytest.mark.parametrize("system", SYSTEMS)
def test_each_system_benches_reads_and_writes_end_to_end(system, server: Server, loaded, cli, tmp_path) -> None:
    if system not in system_names():
        pytest.skip(f"fixtures/{system}.py does not exist yet")
    db = loaded(system, SCALE, purpose="writes")
    out = tmp_path / "r"
    res = cli("bench", system, "--uri", server.uri, "--db", db.name, "--duration", "5s", "--users", "4",
              "--warmup", "2", "--no-metrics", "--out", str(out))
    assert res.returncode in (0, 1), res.stderr
    paths = reports(out)
    record = json.loads(paths["json"].read_text())
    assert record["schema"] == "sla-harness/bench-run/2"
    assert record["verdict"]["exit_code"] == res.returncode
    assert record["server"] == server.caps.server
    ran = [q for q in record["queries"] if q["status"] != "not-run"]
    assert ran, "no query ran"
    assert any(q["writes"] for q in ran), "the workload has write operations and they ran"
    for q in record["queries"]:
        assert q["sla_source"].startswith("seed 004") or q["sla_source"] == "assumed"
        assert q["status"] in ("pass", "fail", "vacuous", "inconclusive", "not-run")
        if q["status"] == "not-run":  # a capability the server lacks: said, not faked
            assert ("lacks" in q["reason"] or "does not implement" in q["reason"]) and q["count"] == 0
        else:
            assert q["errors"] == 0, (q["name"], q["error_samples"])
            assert q["index"]["status"] in ("ok", "collscan", "not-honoured", "unknown", "not-applicable",
                                            "small-collection")
        if q["status"] != "pass":
            assert any(q["name"] in r for r in record["verdict"]["reasons"]), q
    suite = ET.parse(paths["junit"]).getroot()
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) >= {q["name"] for q in record["queries"]}
    for q in record["queries"]:
        if q["status"] in ("inconclusive", "not-run"):
            assert cases[q["name"]].find("skipped") is not None
        elif q["status"] in ("fail", "vacuous"):
            assert cases[q["name"]].find("failure") is not None
    assert ((len(suite.findall("testcase/failure")) > 0) == (res.returncode == 1)
            or record["verdict"]["sla"]["inconclusive"])
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html and record["title"] in html
    assert (out / "history" / f"{record['id']}.json").is_file()
    if system == "masterx":
        reads = [q for q in record["queries"] if not q["writes"]]
        assert {q["sla_source"] for q in reads} == {"seed 004 §3.1", "seed 004 §7.1"}
        assert record["verdict"]["sla"]["target_share"] == 0.95 and "seed 004" in record["targets_source"]
    else:
        assert record["verdict"]["sla"]["target_share"] is None  # neutral default: no aggregate KPI
    # writes never leave the data invalid
    val = cli("validate", system, "--uri", server.uri, "--db", db.name)
    assert val.returncode == 0, val.stdout + val.stderr


def test_writes_need_a_generated_database_or_the_flag(server: Server, loaded, cli, tmp_path) -> None:
    src = loaded("masterx", SCALE, purpose="writes")
    foreign = server.client()[f"foreign_{secrets.token_hex(3)}"]
    foreign.users.insert_many(list(src.users.find({}, {"_id": 0}).limit(50)))  # no harness_meta: not ours
    workload = tmp_path / "write.py"
    workload.write_text(POINT_WRITE)
    try:
        before = list(foreign.users.find({}, {"_id": 0}).sort("email", 1))
        res = cli("bench", "masterx", "--uri", server.uri, "--db", foreign.name, "--workload", str(workload),
                  "--requests", "40", "--no-metrics", "--no-index-check", "--out", str(tmp_path), "--json")
        assert res.returncode == 1, res.stderr  # nothing ran: not a pass
        [q] = json.loads(res.stdout)["queries"]
        assert q["status"] == "not-run" and "--allow-writes" in q["reason"]
        assert list(foreign.users.find({}, {"_id": 0}).sort("email", 1)) == before  # untouched
        res = cli("bench", "masterx", "--uri", server.uri, "--db", foreign.name, "--workload", str(workload),
                  "--requests", "40", "--no-metrics", "--no-index-check", "--allow-writes", "--out", str(tmp_path),
                  "--json")
        assert res.returncode in (0, 1), res.stderr
        [q] = json.loads(res.stdout)["queries"]
        assert q["status"] != "not-run" and q["count"] >= 20 and q["writes"]
    finally:
        server.client().drop_database(foreign.name)


VACUOUS = '''
from harness.workload import Operation, Workload, find


def sample(p):
    p.values("users", "users", ["email"])


def nobody(p):
    """an indexed lookup whose parameter never matches"""
    return find("users", {"email": "nobody-" + p.pick("users")["email"]}, limit=1)


WORKLOAD = Workload(system="masterx", sample=sample, operations=[Operation(nobody, sla_ms=1000, freq="high")])
Nobody = WORKLOAD.locust_user()
'''


def test_a_query_that_hits_no_data_is_vacuous_not_a_pass(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", SCALE, purpose="writes")
    workload = tmp_path / "vacuous.py"
    workload.write_text(VACUOUS)
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload),
              "--requests", "60", "--no-metrics", "--no-index-check", "--out", str(tmp_path), "--json")
    assert res.returncode == 1, res.stderr
    record = json.loads(res.stdout)
    [q] = record["queries"]
    assert q["status"] == "vacuous" and q["empty"] == q["count"] >= 20
    assert record["verdict"]["sla"]["vacuous"] == ["nobody"]


def test_default_run_extends_until_every_operation_has_its_samples(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", SCALE, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload),
              "--min-samples", "30", "--max-duration", "60s", "--no-metrics", "--no-index-check",
              "--out", str(tmp_path), "--json")
    assert res.returncode in (0, 1), res.stderr
    record = json.loads(res.stdout)
    [q] = record["queries"]
    assert q["count"] >= 30 and q["status"] != "inconclusive"
    assert record["config"]["min_samples"] == 30 and record["config"]["warmup"] >= 1
    assert record["config"]["stopped_because"] in ("every operation has 30 samples", "cap of 60s reached")
    # a long run says it is alive (a line every 10 s on stderr; stdout stays the JSON)
    assert "] bench: " in res.stderr and "fewest samples" in res.stderr, res.stderr


def test_tiny_sla_fails_with_exit_1(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", SCALE, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)  # fast on every server: enough samples for a p95
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload),
              "--requests", "200", "--no-metrics", "--no-index-check", "--sla", "*=0.001", "--out", str(tmp_path),
              "--json")
    assert res.returncode == 1, res.stderr
    record = json.loads(res.stdout)
    [q] = record["queries"]
    assert q["status"] == "fail" and "> SLA 0.001 ms" in q["reason"] and q["count"] >= 20
    assert record["verdict"]["sla"]["share_under_sla"] == 0.0
    assert any("login: p95" in r for r in record["verdict"]["reasons"])


UNINDEXED = '''
from harness.workload import Operation, Workload, find


def sample(p):
    p.values("users", "users", ["email", "profile"])


def by_email(p):
    """indexed"""
    return find("users", {"email": p.pick("users")["email"]}, limit=1)


def by_name(p):
    """profile.name has only a text index: an equality match scans"""
    return find("users", {"profile.name": p.pick("users")["profile"]["name"]})


WORKLOAD = Workload(system="masterx", sample=sample, operations=[
    Operation(by_email, sla_ms=1000, freq="high"), Operation(by_name, sla_ms=1000, freq="high")])
Probe = WORKLOAD.locust_user()
'''


@pytest.mark.needs("explain")
def test_index_check_catches_a_query_on_an_unindexed_field(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", SCALE, purpose="writes")
    workload = tmp_path / "probe.py"
    workload.write_text(UNINDEXED)
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload),
              "--duration", "2s", "--no-metrics", "--out", str(tmp_path / "r"), "--json")
    assert res.returncode == 1, res.stderr
    record = json.loads(res.stdout)
    by = {q["name"]: q for q in record["queries"]}
    assert by["by_name"]["index"]["status"] == "collscan"
    assert by["by_name"]["index"]["collection_scan"] is True
    assert "profile.name" in by["by_name"]["index"]["detail"]
    assert any("index check" in r and "by_name" in r for r in record["verdict"]["reasons"])
    junit = ET.parse(next((tmp_path / "r").glob("*.junit.xml"))).getroot()
    failed = {c.get("name") for c in junit.findall("testcase") if c.find("failure") is not None}
    assert "by_name" in failed


def test_bad_input_is_one_line_and_exit_2(server: Server, cli, tmp_path) -> None:
    for args, needle in ((["nosuchsystem"], "unknown system"),
                         (["masterx", "--duration", "soon"], "bad --duration"),
                         (["masterx", "--rate", "fast"], "bad --rate"),
                         (["masterx", "--sla", "nosuch=5", "--db", "t_masterx_0_02"], "unknown query")):
        res = cli("bench", *args, "--uri", server.uri, "--no-metrics", "--out", str(tmp_path))
        assert res.returncode == 2, (args, res.stderr)
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and needle in lines[0], res.stderr


def test_empty_database_is_a_usage_error(server: Server, cli, tmp_path) -> None:
    res = cli("bench", "masterx", "--uri", server.uri, "--db", "nothing_loaded_here", "--no-metrics",
              "--out", str(tmp_path))
    assert res.returncode == 2
    assert "harness load" in res.stderr
