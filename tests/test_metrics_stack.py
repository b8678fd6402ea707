"""The monitoring path end to end, the next best thing to Grafana (not installable here):
Debian's Prometheus scrapes a bench's live /metrics and a Pushgateway fed by a real backup,
restore-verify, executed purge and bench; then every PromQL expression of the Grafana dashboard
(deploy/dashboards/sla-harness.json) must return data from Prometheus's HTTP API, and both
expositions pass `promtool check metrics` (naming lint: `_total`, units, …).

Bounded: one load (shared), one backup, two restores, one purge of the restored copy, a 6 s
bench at a 1 s scrape interval; every wait has a deadline.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.backup.manifest import ARCHIVE
from harness.backup.restore import SCRATCH_PREFIX
from harness.servers import Server
from harness.servers.embedded import free_port
from harness.tools import find_tool
from tests import promstack
from tests.bench_workloads import POINT_READ
from tests.conftest import REPO, run_cli

DASHBOARD = REPO / "deploy" / "dashboards" / "sla-harness.json"
RATE_INTERVAL = "4s"  # what Grafana's $__rate_interval is at a 1 s scrape interval (4 × scrape)


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard's panels, with Grafana's variables filled in."""
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    return [e.replace("$__rate_interval", RATE_INTERVAL).replace("$system", "masterx") for e in exprs]


def _bench(uri: str, db: str, workload: Path, port: int, gateway: str, out: Path) -> tuple[int, str, str]:
    """Run a bench as a subprocess and read its /metrics while it runs; (exit code, stderr, last exposition)."""
    argv = [sys.executable, "-m", "harness", "bench", "masterx", "--uri", uri, "--db", db, "--workload", str(workload),
            "--duration", "6s", "--no-index-check", "--metrics-port", str(port), "--pushgateway", gateway,
            "--out", str(out), "--sla", "*=600000"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = ""
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            text = promstack.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            if "_query_latency_seconds_count" in text:
                last = text
        except OSError:
            pass
        time.sleep(0.5)
    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err, last


def _wait_for(prom: str, expr: str, start: float, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not promstack.query_range(prom, expr, start, time.time()):
        assert time.monotonic() < deadline, f"Prometheus never had {expr}"
        time.sleep(0.5)


def _has_data(series: list[dict]) -> bool:
    return any(v != "NaN" for s in series for _, v in s["values"])


@pytest.mark.slow
@pytest.mark.skipif(not find_tool("mongodump") or not find_tool("mongorestore"),
                    reason="mongodump/mongorestore not built: run scripts/setup-tools.sh")
def test_dashboard_queries_return_data_from_real_prometheus(server: Server, loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    promstack.need("prometheus", "prometheus-pushgateway", "promtool")
    db = loaded("masterx", 0.02, purpose="ops")
    scratch = f"{SCRATCH_PREFIX}metrics_stack"
    store, out = tmp_path / "store", tmp_path / "reports"
    bench_port = free_port()
    t0 = time.time()
    with promstack.pushgateway(tmp_path / "pgw") as gw:
        target = gw.removeprefix("http://")
        with promstack.prometheus(tmp_path / "prom", {"pushgateway": (target, True),
                                                      "harness-bench": (f"127.0.0.1:{bench_port}", False)}) as prom:
            try:
                r = run_cli("backup", "masterx", "--uri", server.uri, "--db", db.name, "--to", str(store),
                            "--pushgateway", gw)
                assert r.returncode == 0, r.stderr
                assert "metrics pushed" in r.stderr and "(PUT sla_harness_backup/masterx)" in r.stderr
                r = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--target-db",
                            scratch, "--keep", "--out", str(out), "--pushgateway", gw)
                assert r.returncode == 0, r.stderr
                r = run_cli("purge", "masterx", "--uri", server.uri, "--db", scratch, "--now", "2026-11-01",
                            "--execute", "--out", str(out), "--pushgateway", gw, "--json")
                assert r.returncode == 0, r.stderr
                purged = json.loads(r.stdout)
                print("purge: " + ", ".join(f"{x['rule']}={x['documents']}" for x in purged["rules"]))
                workload = tmp_path / "point.py"
                workload.write_text(POINT_READ)
                rc, err, live = _bench(server.uri, db.name, workload, bench_port, gw, out)
                assert rc in (0, 1), err
                print("bench: " + " | ".join(err.strip().splitlines()[-3:]))
                assert "metrics pushed" in err, err

                # promtool: the bench's live exposition and everything the four jobs pushed
                assert live, "the bench's /metrics never answered during the run"
                pushed = promstack.families(promstack.get(gw + "/metrics"), "sla_harness_")
                for what, text in (("bench /metrics", live), ("pushgateway", pushed)):
                    check = promstack.promtool_check(text)
                    print(f"promtool check metrics ({what}): rc={check.returncode} {check.stdout}{check.stderr}")
                    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr
                names = sorted({re.split(r"[{\s]", ln, maxsplit=1)[0] for ln in (live + pushed).splitlines()
                                if ln.startswith("sla_harness_")})
                print(f"{len(names)} metric names: " + " ".join(names))
                assert not [n for n in names if not n.startswith("sla_harness_")]

                # Prometheus scraped both; every dashboard expression returns data
                _wait_for(prom, "sla_harness_bench_passed", t0)
                _wait_for(prom, "sla_harness_purge_documents", t0)
                exprs = dashboard_exprs()
                empty = [e for e in exprs if not _has_data(promstack.query_range(prom, e, t0, time.time()))]
                print(f"dashboard: {len(exprs) - len(empty)}/{len(exprs)} PromQL expressions returned data")
                assert not empty, f"no data for: {empty}"
                values = promstack.get(f"{prom}/api/v1/label/system/values?match[]="
                                       + '%7B__name__%3D~%22sla_harness_.%2B%22%7D')
                assert "masterx" in json.loads(values)["data"]  # the dashboard's $system variable

                # a failed restore-verify adds its failure (POST); the last success survives
                archive = next(store.rglob(ARCHIVE))
                archive.write_bytes(archive.read_bytes()[:1000])
                bad = run_cli("restore-verify", "masterx", "--uri", server.uri, "--from", str(store), "--out",
                              str(out), "--pushgateway", gw)
                assert bad.returncode == 1, bad.stderr
                assert "(POST sla_harness_restore_verify/masterx)" in bad.stderr
                text = promstack.get(gw + "/metrics")
                mine = [ln for ln in text.splitlines() if ln.startswith("sla_harness_restore_verify_")]
                names = {ln.split("{")[0] for ln in mine}
                assert {"sla_harness_restore_verify_last_success_timestamp_seconds",
                        "sla_harness_restore_verify_last_failure_timestamp_seconds"} <= names
                assert any(ln.startswith("sla_harness_restore_verify_passed{") and ln.endswith(" 0") for ln in mine)
                assert all('job="sla_harness_restore_verify"' in ln and 'system="masterx"' in ln
                           and 'instance=""' in ln for ln in mine)  # grouping: job + system, no instance
            finally:
                server.client().drop_database(scratch)
    print(f"metrics stack test: {time.time() - t0:.0f}s")


def test_unreachable_pushgateway_warns_and_keeps_the_exit_code() -> None:
    """One failure policy: a push that fails is one warning on stderr, never a failed job."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code = ("import sys; from harness import pushgateway as p; o = p.Outcome('backup', 'masterx', True, 1.0); "
            f"sys.exit(0 if p.push({url!r}, o) is False else 3)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: metrics not pushed to {url}"), lines
    assert "result stands" in lines[0]
