"""Prometheus: the live /metrics endpoint and the Pushgateway push against Debian's real
`prometheus-pushgateway` (started here on a free loopback port with a private persistence file)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest

from harness.ports import free_port
from harness.servers import Server
from tests import promstack
from tests.bench_workloads import POINT_READ

METRIC = "sla_harness_bench_last_success_timestamp_seconds"


def _get(url: str) -> str:
    return urllib.request.urlopen(url, timeout=5).read().decode()


@pytest.fixture
def pushgateway(tmp_path) -> Iterator[str]:
    with promstack.pushgateway(tmp_path / "pgw") as url:
        yield url


def _samples(text: str, name: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(name + "{") or ln.startswith(name + " ")]


def test_push_success_then_failure_keeps_last_success(server: Server, loaded, cli, tmp_path, pushgateway) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)
    common = ("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload), "--requests",
              "200", "--no-index-check", "--no-metrics", "--pushgateway", pushgateway, "--out", str(tmp_path))
    ok = cli(*common, "--sla", "*=600000")
    assert ok.returncode == 0, ok.stderr
    assert "(PUT sla_harness_bench/masterx)" in ok.stderr
    first = _samples(_get(pushgateway + "/metrics"), METRIC)
    assert len(first) == 1, first
    labels = first[0].split("}")[0]
    assert 'job="sla_harness_bench"' in labels and 'system="masterx"' in labels
    assert not re.search(r'instance="[^"]', labels)  # batch job: no instance label of ours
    assert _samples(_get(pushgateway + "/metrics"), "sla_harness_bench_query_p95_seconds")
    bad = cli(*common, "--sla", "*=0.001")
    assert bad.returncode == 1
    assert "(POST sla_harness_bench/masterx)" in bad.stderr
    after = _get(pushgateway + "/metrics")
    assert _samples(after, METRIC) == first  # the last success survives a failed run
    assert _samples(after, "sla_harness_bench_last_failure_timestamp_seconds")
    failed = _samples(after, "sla_harness_bench_queries_failed")
    assert failed and float(failed[0].rsplit(" ", 1)[1]) >= 1


def test_unreachable_pushgateway_warns_and_keeps_the_verdict(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes")
    workload = tmp_path / "point.py"
    workload.write_text(POINT_READ)
    res = cli("bench", "masterx", "--uri", server.uri, "--db", db.name, "--workload", str(workload), "--requests",
              "200", "--no-index-check",
              "--no-metrics", "--sla", "*=600000", "--pushgateway", f"http://127.0.0.1:{free_port()}",
              "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr  # the verdict decides the exit code, not the monitoring
    assert "warning: metrics not pushed" in res.stderr and list(tmp_path.glob("bench-*.json"))


def test_sla_buckets_surround_the_target() -> None:
    from harness.bench.metrics import sla_buckets

    b = sla_buckets(50)
    assert b[0] == pytest.approx(0.005) and 0.05 in [pytest.approx(x) for x in b] and b[-1] == pytest.approx(0.5)
