"""Run history, `harness compare`, and the statistically significant regression gate.

Every bench run's record is kept in `<reports>/history/`. Comparing two runs works on their
HDR histograms, not on summaries: per query the samples are rebuilt from the histogram (each
value at HDR resolution, thinned proportionally to at most MAX_SAMPLES), then
- Mann-Whitney U (one-sided: is B's latency stochastically greater than A's?), and
- a bootstrap 95% confidence interval of the p95 ratio B/A.
A query regresses only when the test is significant (p < alpha), the whole bootstrap CI lies
above 1, and the p95 grew by at least the minimum effect (relative and absolute): one noisy
run over a bare threshold is not a regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from harness import reporting
from harness.bench.record import SCHEMA, BenchRun, QueryResult, Regression, StoredQuery, StoredRun
from harness.bench.recorder import decode, percentile_ms, values_and_counts
from harness.errors import HarnessError

MAX_SAMPLES = 4000
BOOTSTRAP = 400
ALPHA = 0.01
MIN_EFFECT = 0.10  # p95 must grow at least 10% …
MIN_DELTA_MS = 0.25  # … and by at least this much
MIN_SAMPLES = 20


def history_dir(out: Path) -> Path:
    path = out / "history"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(run: BenchRun, out: Path) -> Path:
    return reporting.write_json(history_dir(out) / f"{run.id}.json", run.to_json())


def resolve(ref: str, out: Path) -> dict[str, Any]:
    """A run by path, by id in the history, or `latest[:SYSTEM]`."""
    path = Path(ref)
    if not path.is_file():
        hist = out / "history"
        if ref.startswith("latest"):
            system = ref.partition(":")[2]
            runs = sorted(hist.glob(f"*-{system}.json" if system else "*.json"))
            if not runs:
                raise HarnessError(f"no runs in {hist}" + (f" for {system}" if system else ""),
                                   "run `harness bench SYSTEM` first")
            path = runs[-1]
        else:
            path = hist / (ref if ref.endswith(".json") else f"{ref}.json")
    if not path.is_file():
        raise HarnessError(f"no bench run {ref!r}", f"give a run JSON path or an id from {out / 'history'}")
    try:
        record = reporting.read_json(path)
    except ValueError as exc:
        raise HarnessError(f"{path} is not a bench run record: {exc}") from exc
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise HarnessError(f"{path} is not a bench run record of this version ({SCHEMA})",
                           "pass the JSON `harness bench` wrote (re-run older baselines)")
    return record


def samples(encoded: str, rng: np.random.Generator) -> np.ndarray:
    """The histogram's values (ms), thinned proportionally to at most MAX_SAMPLES."""
    values, counts = values_and_counts(decode(encoded))
    if not values:
        return np.array([])
    vals = np.asarray(values, dtype=float) / 1000.0
    cnt = np.asarray(counts, dtype=np.int64)
    total = int(cnt.sum())
    if total > MAX_SAMPLES:
        return rng.choice(vals, size=MAX_SAMPLES, replace=True, p=cnt / total)
    return np.repeat(vals, cnt)


@dataclass
class QueryComparison:
    query: str
    count_a: int
    count_b: int
    p50_a: float | None
    p50_b: float | None
    p95_a: float | None
    p95_b: float | None
    p99_a: float | None
    p99_b: float | None
    ratio_p95: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str  # regressed | improved | no significant change | insufficient data

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))



def compare_query(name: str, enc_a: str, enc_b: str, seed: int = 1) -> QueryComparison:
    rng = np.random.default_rng(seed)
    a, b = samples(enc_a, rng), samples(enc_b, rng)
    ha, hb = decode(enc_a), decode(enc_b)
    na, nb = ha.get_total_count(), hb.get_total_count()
    out = QueryComparison(name, na, nb, percentile_ms(ha, 50), percentile_ms(hb, 50), percentile_ms(ha, 95),
                          percentile_ms(hb, 95), percentile_ms(ha, 99), percentile_ms(hb, 99),
                          None, None, None, None, "insufficient data")
    if len(a) < MIN_SAMPLES or len(b) < MIN_SAMPLES:
        return out
    out.p_value = float(stats.mannwhitneyu(b, a, alternative="greater").pvalue)
    p_less = float(stats.mannwhitneyu(b, a, alternative="less").pvalue)
    ia = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    ib = rng.integers(0, len(b), size=(BOOTSTRAP, len(b)))
    pa = np.percentile(a[ia], 95, axis=1, method="inverted_cdf")
    pb = np.percentile(b[ib], 95, axis=1, method="inverted_cdf")
    ratios = pb / np.maximum(pa, 1e-9)
    out.ci_low, out.ci_high = (float(x) for x in np.percentile(ratios, [2.5, 97.5]))
    assert out.p95_a is not None and out.p95_b is not None
    out.ratio_p95 = out.p95_b / max(out.p95_a, 1e-9)
    grew = out.p95_b - out.p95_a
    if (out.p_value < ALPHA and out.ci_low > 1.0 and out.ratio_p95 >= 1 + MIN_EFFECT and grew >= MIN_DELTA_MS):
        out.verdict = "regressed"
    elif p_less < ALPHA and out.ci_high < 1.0 and out.ratio_p95 <= 1 - MIN_EFFECT and -grew >= MIN_DELTA_MS:
        out.verdict = "improved"
    else:
        out.verdict = "no significant change"
    return out


def compare(a: StoredRun, b: StoredRun) -> list[QueryComparison]:
    if a.system != b.system:
        raise HarnessError(f"cannot compare runs of different systems ({a.system} vs {b.system})")
    by_a = {q.name: q for q in a.queries}
    out = []
    for q in b.queries:
        qa = by_a.get(q.name)
        if qa is None or q.status == "not-run" or qa.status == "not-run":
            continue
        out.append(compare_query(q.name, qa.hdr_latency, q.hdr_latency))
    return out


def regressions(comparisons: list[QueryComparison]) -> list[QueryComparison]:
    return [c for c in comparisons if c.verdict == "regressed"]


def regressions_between(baseline: StoredRun, system: str, queries: list[QueryResult]) -> list[Regression]:
    """The baseline gate: significant p95 regressions of this run's queries against `baseline`."""
    current = StoredRun("current", system, [StoredQuery(q.name, q.status, q.hdr_latency) for q in queries])
    out = []
    for c in regressions(compare(baseline, current)):
        assert c.p95_a is not None and c.p95_b is not None and c.ratio_p95 is not None
        out.append(Regression(c.query, c.p95_a, c.p95_b, c.ratio_p95, c.ci_low or 0.0, c.ci_high or 0.0,
                              c.p_value or 0.0))
    return out
