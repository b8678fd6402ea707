"""Prometheus metrics: a live /metrics endpoint during a run, and a Pushgateway push at the end.

Live: a collector reads the run's HDR histograms at scrape time (no second recording path).
Each query's histogram gets buckets around its own SLA (0.1×…10× the target), so
`histogram_quantile` is precise where the verdict is decided; a gauge says whether the query
currently breaches its SLA (p95 over target, once 20 samples support a p95).

Pushgateway: the run's outcome goes through `harness.pushgateway` (shared with backup,
restore-verify and purge: same prefix, grouping, PUT/POST and failure policy). The live names
(`…_query_*` histograms and gauges, `…_query_errors_total`) and the pushed ones (`…_passed`,
`…_under_sla_ratio`, `…_query_p95_seconds`, `…_query_passed`) never share a name, so a PromQL
expression never mixes a live series with a pushed one.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from harness import pushgateway
from harness.bench.record import BenchRun
from harness.bench.recorder import Recorder, new_histogram
from harness.bench.verdict import judge_query
from harness.errors import HarnessError
from harness.workload import Operation

JOB = "bench"
PREFIX = f"{pushgateway.PREFIX}_{JOB}"
SLA_FACTORS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 5.0, 10.0)


def sla_buckets(sla_ms: float) -> list[float]:
    """Bucket bounds in seconds around an SLA."""
    return [sla_ms * f / 1000.0 for f in SLA_FACTORS]


class BenchCollector(Collector):
    def __init__(self, system: str, specs: list[Operation], recorder: Callable[[], Recorder]) -> None:
        self.system = system
        self.specs = specs
        self.recorder = recorder
        sum_seconds(new_histogram())  # import numpy and build the slot values now, not in the first scrape

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
        errors = CounterMetricFamily(f"{PREFIX}_query_errors", "Failed requests of this run",
                                     labels=["system", "query"])
        for spec in self.specs:
            q = rec.get(spec.name)
            labels = [self.system, spec.name]
            for family, h in ((hist, q.latency), (svc, q.service)):
                bounds = sla_buckets(spec.sla_ms)
                counts = cumulative_counts(h, [b * 1e6 for b in bounds])
                buckets = [(_fmt(b), float(n)) for b, n in zip(bounds, counts, strict=True)]
                total = h.get_total_count()
                buckets.append(("+Inf", float(total)))
                family.add_metric(labels, buckets, sum_seconds(h) if total else 0.0)
            sla.add_metric(labels, spec.sla_ms / 1000.0)
            live = judge_query(spec, [], q, None, None, live=True)  # the one verdict function, so far
            breach.add_metric(labels, 1.0 if live.status in ("fail", "vacuous") else 0.0)
            errors.add_metric(labels, float(q.errors))
        yield from (hist, svc, sla, breach, errors)


# A scrape runs on the run's event loop (gevent): while it computes, every simulated user
# waits. So it reads the HDR histograms' counts arrays with numpy (well under a millisecond)
# instead of hdrh's Python iterators (get_mean_value alone took ~0.4 s per histogram, and
# two scrapers cut a run's requests from ~1,600 to ~90 in 6 s).


def _counts(hist: Any) -> Any:
    import numpy as np

    width = ctypes.sizeof(hist.counts._type_)  # the counts array is a ctypes array of unsigned ints
    return np.frombuffer(hist.counts, dtype=np.dtype(f"u{width}"))[: hist.counts_len]


@functools.lru_cache(maxsize=8)
def _median_values(layout: tuple[int, int, int]) -> Any:
    """Each counts-array slot's median equivalent value (µs), once per histogram layout."""
    import numpy as np
    from hdrh.histogram import HdrHistogram

    h = HdrHistogram(*layout[:3])
    return np.array([h._hdr_median_equiv_value(h.get_value_from_index(i)) for i in range(h.counts_len)],
                    dtype=np.float64)


def sum_seconds(hist: Any) -> float:
    """Sum of the recorded values in seconds (what hdrh's mean × count gives, at HDR resolution)."""
    layout = (hist.lowest_trackable_value, hist.highest_trackable_value, hist.significant_figures)
    return float((_counts(hist) * _median_values(layout)).sum()) / 1e6


def cumulative_counts(hist: Any, bounds_us: list[float]) -> list[int]:
    """Recorded values ≤ each bound (µs, at HDR resolution: a value in the bound's bucket counts)."""
    import numpy as np

    counts = np.cumsum(_counts(hist))
    top = hist.get_counts_array_index(hist.highest_trackable_value)
    return [int(counts[min(hist.get_counts_array_index(int(b)), top, len(counts) - 1)]) for b in bounds_us]


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


def outcome(run: BenchRun) -> pushgateway.Outcome:
    """The run's outcome for the Pushgateway, read from the typed run record. Per-query p95 and
    verdicts are pushed on failure too (POST keeps the last success's timestamp)."""
    verdict = run.verdict
    done = pushgateway.Outcome(JOB, run.system, verdict.passed, float(run.elapsed_s))
    ran = [q for q in run.queries if q.status != "not-run"]
    done.add("queries_failed", "Critical operations failing, vacuous or inconclusive in the last run",
             sum(q.status in ("fail", "vacuous", "inconclusive") for q in ran))
    if verdict.sla_kpi.value is not None:
        done.add("under_sla_ratio", "Share of the last run's critical requests under their SLA", verdict.sla_kpi.value)
    for q in ran:
        done.add("query_passed", "1 when the operation passed in the last run, else 0 (fail, vacuous or inconclusive)",
                 1.0 if q.status == "pass" else 0.0, query=q.name)
        if q.latency.p95_ms is not None:
            done.add("query_p95_seconds", "p95 latency per operation in the last run", q.latency.p95_ms / 1000.0,
                     query=q.name)
    return done


def push(url: str | None, run: BenchRun) -> bool:
    """Push the run's outcome (see harness.pushgateway for the failure policy)."""
    return pushgateway.push(url, outcome(run))
