"""The one place a bench verdict is decided.

Per operation (in this order):
- not-run: the server lacks a capability it needs, or a write guard applies;
- fail: any error, or the p95 latency over the SLA (latency = service time in a closed loop,
  from the intended start in an open loop), or a collection scan although a documented index
  could serve it (the index exists but the plan does not use it);
- inconclusive: fewer than `min_samples` samples (a p95 needs at least 20, Rally's rule);
- vacuous: more than half of the requests returned or touched no document — its parameters do
  not hit data, so its latency says nothing; never a pass;
- pass.
Per run, the system's own targets (`System.targets`, neutral by default): the share of all
critical requests finishing under their own SLA, and the share of critical queries using an
index. A statistically significant regression against a baseline fails the run.
"""

from __future__ import annotations

from harness.bench.indexcheck import IndexFinding
from harness.bench.record import Kpi, Latency, QueryResult, Regression, Verdict
from harness.bench.recorder import MIN_SAMPLES, QueryStats, count_at_or_below, encode, percentile_ms, summary
from harness.spec import Targets
from harness.workload import Operation

P95_MIN = MIN_SAMPLES[95.0]
VACUOUS_SHARE = 0.5  # more than this share of requests touching nothing: vacuous


def latency(hist: object) -> Latency:
    return Latency(**summary(hist))  # type: ignore[arg-type]


def _p95_only(hist: object) -> Latency:
    n = hist.get_total_count()  # type: ignore[attr-defined]
    return Latency(n, None, None, None, percentile_ms(hist, 95.0), None, None, None)  # type: ignore[arg-type]


def judge_query(op: Operation, kinds: list[str], stats: QueryStats, skip_reason: str | None,
                index: IndexFinding | None, min_samples: int = P95_MIN, live: bool = False) -> QueryResult:
    """The verdict of one operation. `live` (a scrape, a web page during the run) computes only
    what the status needs — the p95 — and leaves the count under SLA and the histograms out."""
    if live:
        svc, lat = _p95_only(stats.service), _p95_only(stats.latency)
        under, hdr = 0, ("", "")
    else:
        svc, lat = latency(stats.service), latency(stats.latency)
        under = count_at_or_below(stats.latency, op.sla_ms * 1000.0) if lat.count else 0
        hdr = (encode(stats.service), encode(stats.latency))
    writes = any(k in ("insert", "update", "delete") for k in kinds)
    q = QueryResult(op.name, kinds, writes, op.description, op.sla_ms, op.sla_source, int(op.weight or 0), op.freq,
                    op.note, list(op.needs), "pass", "", stats.errors, stats.empty, under, svc, lat,
                    list(stats.error_samples), index, *hdr)
    need = max(P95_MIN, min_samples)
    p95 = lat.p95_ms
    if skip_reason:
        q.status, q.reason = "not-run", skip_reason
    elif stats.errors:
        q.status, q.reason = "fail", f"{stats.errors} error(s): {(stats.error_samples or ['?'])[0]}"
    elif lat.count < need:
        q.status, q.reason = "inconclusive", f"{lat.count} sample(s), {need} needed; run longer"
    elif stats.empty > VACUOUS_SHARE * lat.count:
        q.status = "vacuous"
        q.reason = (f"{stats.empty} of {lat.count} requests {'touched' if writes else 'returned'} no document: "
                    "its parameters do not hit the data")
    elif p95 is not None and p95 > op.sla_ms:
        q.status, q.reason = "fail", f"p95 {p95:g} ms > SLA {op.sla_ms:g} ms"
    elif index is not None and index.status == "collscan" and index.documented_index:
        q.status = "fail"
        q.reason = f"p95 {p95:g} ms ≤ SLA {op.sla_ms:g} ms but {index.documented_index} is not used"
    else:
        q.reason = f"p95 {p95:g} ms ≤ SLA {op.sla_ms:g} ms"
    return q


def judge_run(queries: list[QueryResult], targets: Targets, index_checked: bool,
              regressions: list[Regression] | None = None, baseline: str | None = None) -> Verdict:
    reasons: list[str] = []
    run = [q for q in queries if q.status != "not-run"]
    for q in run:
        if q.status == "fail":
            reasons.append(f"{q.name}: {q.reason}")
        elif q.status == "vacuous":
            reasons.append(f"{q.name}: vacuous ({q.reason})")
        elif q.status == "inconclusive":
            reasons.append(f"{q.name}: inconclusive ({q.reason})")
    if not run:
        reasons.append("no critical query ran")
    total = sum(q.count + q.errors for q in run)
    share = sum(q.under_sla for q in run) / total if total else None
    sla = Kpi("share of critical requests under their SLA", targets.sla_share, share, None, targets.source)
    if targets.sla_share is not None and share is not None:
        sla.passed = share >= targets.sla_share
        if not sla.passed:
            reasons.append(f"only {share:.1%} of critical requests finished under their SLA (target "
                           f"{targets.sla_share:.0%}, {targets.source})")
    counted = [q for q in queries if q.index is not None and q.index.counted]
    using = [q for q in counted if q.index is not None and q.index.status == "ok"]
    ishare = len(using) / len(counted) if counted and index_checked else None
    idx = Kpi("share of critical queries using an index", targets.index_share, ishare, None, targets.source,
              f"{len(using)} of {len(counted)}" if counted else "")
    if index_checked and targets.index_share is not None and ishare is not None:
        idx.passed = ishare > targets.index_share
        if not idx.passed:
            bad = [q.name for q in counted if q not in using]
            reasons.append(f"index check: {len(using)} of {len(counted)} queries use an index (target > "
                           f"{targets.index_share:.0%}, {targets.source}); not: {', '.join(bad)}")
    regs = list(regressions or [])
    reasons += [r.message(baseline or "?") for r in regs]
    return Verdict("fail" if reasons else "pass", reasons, sla, idx, index_checked,
                   sum(q.status == "pass" for q in run), len(run), [q.name for q in queries if q.status == "not-run"],
                   [q.name for q in run if q.status == "inconclusive"], [q.name for q in run if q.status == "vacuous"],
                   regs, baseline)
