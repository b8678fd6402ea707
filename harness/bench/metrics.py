"""Prometheus metrics: a live /metrics endpoint during a run, and a Pushgateway push at the end.

Live: a collector reads the run's HDR histograms at scrape time (no second recording path).
Each query's histogram gets buckets around its own SLA (0.1×…10× the target), so
`histogram_quantile` is precise where the verdict is decided; a gauge says whether the query
currently breaches its SLA (p95 over target, once 20 samples support a p95).

Pushgateway (batch-job conventions): grouping key `job` + `system`, no `instance` label. A
passing run replaces its group (PUT) including `…_last_success_timestamp_seconds`; a failing
run only adds failure and duration metrics (POST), so the last success survives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway, start_http_server
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from harness.bench.queries import Critical
from harness.bench.recorder import Recorder, count_at_or_below, percentile_ms
from harness.errors import HarnessError
from harness.redact import redact

PREFIX = "sla_harness_bench"
PUSH_JOB = "sla_harness_bench"
SLA_FACTORS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 5.0, 10.0)


def sla_buckets(sla_ms: float) -> list[float]:
    """Bucket bounds in seconds around an SLA."""
    return [sla_ms * f / 1000.0 for f in SLA_FACTORS]


class BenchCollector(Collector):
    def __init__(self, system: str, specs: list[Critical], recorder: Callable[[], Recorder]) -> None:
        self.system = system
        self.specs = specs
        self.recorder = recorder

    def collect(self) -> Iterable[Any]:
        rec = self.recorder()
        hist = HistogramMetricFamily(f"{PREFIX}_query_latency_seconds",
                                     "Critical query latency (from intended start in open loop), buckets around "
                                     "the query's SLA", labels=["system", "query"])
        svc = HistogramMetricFamily(f"{PREFIX}_query_service_seconds", "Critical query service time",
                                    labels=["system", "query"])
        sla = GaugeMetricFamily(f"{PREFIX}_query_sla_seconds", "SLA target (p95)", labels=["system", "query"])
        breach = GaugeMetricFamily(f"{PREFIX}_query_sla_breach",
                                   "1 when the query's p95 latency is over its SLA (needs 20 samples)",
                                   labels=["system", "query"])
        errors = GaugeMetricFamily(f"{PREFIX}_query_errors", "Failed requests so far", labels=["system", "query"])
        for spec in self.specs:
            q = rec.get(spec.name)
            labels = [self.system, spec.name]
            for family, h in ((hist, q.latency), (svc, q.service)):
                bounds = sla_buckets(spec.sla_ms)
                buckets = [(_fmt(b), float(count_at_or_below(h, b * 1e6))) for b in bounds]
                total = h.get_total_count()
                buckets.append(("+Inf", float(total)))
                family.add_metric(labels, buckets, h.get_mean_value() * total / 1e6 if total else 0.0)
            sla.add_metric(labels, spec.sla_ms / 1000.0)
            p95 = percentile_ms(q.latency, 95.0)
            breach.add_metric(labels, 1.0 if p95 is not None and p95 > spec.sla_ms else 0.0)
            errors.add_metric(labels, float(q.errors))
        yield from (hist, svc, sla, breach, errors)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def serve(port: int, collector: BenchCollector) -> tuple[Any, int]:
    """Start /metrics on 127.0.0.1:`port` (0 = any free port); returns (server, port)."""
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        raise HarnessError(f"cannot serve metrics on port {port}: {exc}", "choose another --metrics-port") from exc
    return server, server.server_port


def push(url: str, system: str, result: dict[str, Any]) -> str:
    """Push the run's outcome; returns "put" or "post". `result` is the run record."""
    registry = CollectorRegistry()
    verdict = result["verdict"]
    passed = verdict["status"] == "pass"
    grouping = {"system": system}
    g = Gauge(f"{PREFIX}_duration_seconds", "Wall time of the bench run", registry=registry)
    g.set(result["elapsed_s"])
    failed = Gauge(f"{PREFIX}_queries_failed", "Critical queries failing their SLA", registry=registry)
    failed.set(sum(q["status"] in ("fail", "inconclusive") for q in result["queries"]))
    if passed:
        Gauge(f"{PREFIX}_last_success_timestamp_seconds", "When the bench last passed",
              registry=registry).set(time.time())
        share = Gauge(f"{PREFIX}_sla_share", "Share of critical requests under their SLA", registry=registry)
        share.set(verdict["sla"]["share_under_sla"] or 0.0)
        p95 = Gauge(f"{PREFIX}_query_p95_seconds", "p95 latency per query", ["query"], registry=registry)
        for q in result["queries"]:
            if q["latency"]["p95_ms"] is not None:
                p95.labels(query=q["name"]).set(q["latency"]["p95_ms"] / 1000.0)
    else:
        Gauge(f"{PREFIX}_last_failure_timestamp_seconds", "When the bench last failed",
              registry=registry).set(time.time())
    try:
        if passed:
            push_to_gateway(url, job=PUSH_JOB, registry=registry, grouping_key=grouping)
            return "put"
        pushadd_to_gateway(url, job=PUSH_JOB, registry=registry, grouping_key=grouping)
        return "post"
    except OSError as exc:
        raise HarnessError(f"push to Pushgateway {redact(url)} failed: {exc}",
                           "check --pushgateway; the reports were written") from exc
