"""Microsecond latency histograms per query (HdrHistogram), mergeable across Locust workers.

Locust buckets response times (whole ms below 100 ms), so sub-millisecond reads collapse to 0
or 1 ms. Every query keeps two HDR histograms at 1 µs resolution with 3 significant digits:
service time (request end − actual start) and latency (request end − intended start; the same
as service time in a closed loop). Histograms travel between processes as HDR's compressed
base64 encoding, so a worker's delta merges exactly into the master's totals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: a stalled server must not overflow the histogram
SIGNIFICANT_DIGITS = 3

# Rally's rule: a percentile is shown only when the sample supports it.
MIN_SAMPLES = {50.0: 2, 90.0: 10, 95.0: 20, 99.0: 100, 99.9: 1000}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def encode(hist: HdrHistogram) -> str:
    return hist.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    hist = new_histogram()
    if text:
        hist.decode_and_add(text.encode("ascii"))
    return hist


def supported(percentile: float, count: int) -> bool:
    need = MIN_SAMPLES.get(percentile, int(100 / max(1e-9, 100 - percentile)) + 1)
    return count >= need


def percentile_ms(hist: HdrHistogram, percentile: float) -> float | None:
    """The nearest-rank percentile in ms (the value of rank ⌈p·n⌉), or None when the sample is
    too small to support it. The one estimator of the harness: table, verdict, Prometheus,
    `harness compare`. HDR's own `get_value_at_percentile` rounds the rank to nearest (one rank
    low at the tail of a small sample), so it is asked for exactly the nearest rank."""
    count = hist.get_total_count()
    if not supported(percentile, count):
        return None
    rank = max(1, math.ceil(percentile * count / 100.0 - 1e-9))
    return hist.get_value_at_percentile(100.0 * rank / count) / 1000.0


def count_at_or_below(hist: HdrHistogram, value_us: float) -> int:
    """Recorded values ≤ value_us (at HDR resolution)."""
    total = 0
    for item in hist.get_recorded_iterator():
        if item.value_iterated_to > value_us and not hist.values_are_equivalent(item.value_iterated_to, value_us):
            break
        total += item.count_added_in_this_iter_step
    return total


def values_and_counts(hist: HdrHistogram) -> tuple[list[int], list[int]]:
    """Distinct recorded values (µs, each a bucket's highest equivalent) and their counts."""
    values, counts = [], []
    for item in hist.get_recorded_iterator():
        values.append(hist.get_highest_equivalent_value(item.value_iterated_to))
        counts.append(item.count_added_in_this_iter_step)
    return values, counts


def summary(hist: HdrHistogram) -> dict[str, Any]:
    """count, mean and the supported percentiles in ms (None where unsupported)."""
    n = hist.get_total_count()
    return {
        "count": n,
        "mean_ms": round(hist.get_mean_value() / 1000.0, 4) if n else None,
        "p50_ms": _r(percentile_ms(hist, 50.0)), "p90_ms": _r(percentile_ms(hist, 90.0)),
        "p95_ms": _r(percentile_ms(hist, 95.0)), "p99_ms": _r(percentile_ms(hist, 99.0)),
        "p999_ms": _r(percentile_ms(hist, 99.9)),
        "max_ms": round(hist.get_max_value() / 1000.0, 4) if n else None,
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


@dataclass
class QueryStats:
    """Service time, latency and error count of one query."""

    service: HdrHistogram = field(default_factory=new_histogram)
    latency: HdrHistogram = field(default_factory=new_histogram)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    empty: int = 0  # requests that returned or touched no document

    def record(self, service_us: float, latency_us: float, rows: int = 1) -> None:
        self.service.record_value(min(HIGHEST_US, max(LOWEST_US, int(service_us + 0.5))))
        self.latency.record_value(min(HIGHEST_US, max(LOWEST_US, int(latency_us + 0.5))))
        if not rows:
            self.empty += 1

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5 and message not in self.error_samples:
            self.error_samples.append(message)

    @property
    def count(self) -> int:
        return self.latency.get_total_count()

    def merge(self, other: QueryStats) -> None:
        self.service.add(other.service)
        self.latency.add(other.latency)
        self.errors += other.errors
        self.empty += other.empty
        for m in other.error_samples:
            if len(self.error_samples) < 5 and m not in self.error_samples:
                self.error_samples.append(m)

    def encode(self) -> dict[str, Any]:
        return {"service": encode(self.service), "latency": encode(self.latency), "errors": self.errors,
                "error_samples": list(self.error_samples), "empty": self.empty}

    @classmethod
    def decode(cls, data: dict[str, Any]) -> QueryStats:
        return cls(decode(data.get("service", "")), decode(data.get("latency", "")), int(data.get("errors", 0)),
                   list(data.get("error_samples", [])), int(data.get("empty", 0)))


class Recorder:
    """All queries' stats in one process: recorded locally, or merged from workers' deltas."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.queries: dict[str, QueryStats] = {n: QueryStats() for n in names}
        self.recording = True  # off during warm-up phases: nothing is recorded

    def min_count(self, names: Iterable[str]) -> int:
        """The smallest sample count among `names` (errors count as samples: they are judged)."""
        return min((self.get(n).count + self.get(n).errors for n in names), default=0)

    def get(self, name: str) -> QueryStats:
        stats = self.queries.get(name)
        if stats is None:
            stats = self.queries[name] = QueryStats()
        return stats

    @property
    def total(self) -> int:
        return sum(q.count + q.errors for q in self.queries.values())

    def take_delta(self) -> dict[str, Any]:
        """Encode everything recorded since the last call and start afresh (worker side)."""
        out = {n: q.encode() for n, q in self.queries.items() if q.count or q.errors}
        self.queries = {n: QueryStats() for n in self.queries}
        return out

    def merge_encoded(self, data: dict[str, Any]) -> None:
        for name, enc in data.items():
            self.get(name).merge(QueryStats.decode(enc))
