"""SLA verdicts, following seed 004's KPIs.

Per query: the p95 latency must be under the query's SLA target (latency = service time in a
closed loop, measured from the intended start in an open loop). A p95 needs at least 20
samples (Rally's rule); fewer make the query inconclusive, which is not a pass.
Overall: "95% of critical queries under SLA targets" — the share of all critical requests that
finished under their own SLA must reach 95%; and "more than 90% of queries using appropriate
indexes" (see indexcheck). Errors are failures: a query with errors does not pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.bench.indexcheck import IndexFinding
from harness.bench.indexcheck import kpi as index_kpi
from harness.bench.queries import Critical
from harness.bench.recorder import MIN_SAMPLES, QueryStats, count_at_or_below, summary
from harness.errors import EXIT_BREACH, EXIT_OK

SLA_SHARE_TARGET = 0.95  # seed 004: "95% of critical queries under SLA targets"
P95_MIN = MIN_SAMPLES[95.0]


@dataclass
class QueryVerdict:
    spec: Critical
    status: str  # pass | fail | inconclusive | not-run
    reason: str
    service: dict[str, Any]
    latency: dict[str, Any]
    errors: int
    under_sla: int
    error_samples: list[str] = field(default_factory=list)
    index: IndexFinding | None = None

    @property
    def count(self) -> int:
        return int(self.latency["count"])

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.as_dict(), "status": self.status, "reason": self.reason, "count": self.count,
                "errors": self.errors, "under_sla": self.under_sla,
                "under_sla_share": round(self.under_sla / self.count, 4) if self.count else None,
                "service": self.service, "latency": self.latency, "error_samples": self.error_samples,
                "index": self.index.as_dict() if self.index else None}


def judge_query(spec: Critical, stats: QueryStats, skip_reason: str | None = None,
                index: IndexFinding | None = None) -> QueryVerdict:
    svc, lat = summary(stats.service), summary(stats.latency)
    under = count_at_or_below(stats.latency, spec.sla_ms * 1000.0) if lat["count"] else 0
    v = QueryVerdict(spec, "pass", "", svc, lat, stats.errors, under, list(stats.error_samples), index)
    p95 = lat["p95_ms"]
    if skip_reason:
        v.status, v.reason = "not-run", skip_reason
    elif stats.errors:
        v.status = "fail"
        v.reason = f"{stats.errors} error(s): {(stats.error_samples or ['?'])[0]}"
    elif lat["count"] < P95_MIN:
        v.status = "inconclusive"
        v.reason = f"{lat['count']} sample(s): a p95 needs at least {P95_MIN}; run longer"
    elif p95 is not None and p95 > spec.sla_ms:
        v.status, v.reason = "fail", f"p95 {p95:g} ms > SLA {spec.sla_ms:g} ms"
    else:
        v.reason = f"p95 {p95:g} ms ≤ SLA {spec.sla_ms:g} ms"
    return v


@dataclass
class RunVerdict:
    queries: list[QueryVerdict]
    sla_share: float | None
    index: dict[str, Any]
    reasons: list[str]
    check_index: bool = True

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_BREACH

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"

    def as_dict(self) -> dict[str, Any]:
        run = [q for q in self.queries if q.status != "not-run"]
        return {"status": self.status, "exit_code": self.exit_code, "reasons": self.reasons,
                "sla": {"target_share": SLA_SHARE_TARGET, "share_under_sla": self.sla_share,
                        "queries_passed": sum(q.status == "pass" for q in run), "queries_run": len(run),
                        "queries_not_run": [q.spec.name for q in self.queries if q.status == "not-run"]},
                "index": self.index}


def judge_run(verdicts: list[QueryVerdict], findings: list[IndexFinding] | None) -> RunVerdict:
    reasons: list[str] = []
    run = [q for q in verdicts if q.status != "not-run"]
    total = sum(q.count + q.errors for q in run)
    under = sum(q.under_sla for q in run)
    share = under / total if total else None
    for q in run:
        if q.status == "fail":
            reasons.append(f"{q.spec.name}: {q.reason}")
        elif q.status == "inconclusive":
            reasons.append(f"{q.spec.name}: inconclusive ({q.reason})")
    if share is None:
        reasons.append("no critical query ran")
    elif share < SLA_SHARE_TARGET:
        reasons.append(f"only {share:.1%} of critical requests finished under their SLA (target "
                       f"{SLA_SHARE_TARGET:.0%})")
    idx = index_kpi(findings) if findings is not None else {"checked": False}
    if findings is not None:
        idx["checked"] = True
        if idx["passed"] is False:
            bad = [f.query for f in findings if f.counted and f.status != "ok"]
            reasons.append(f"index check: {idx['using_index']} of {idx['queries_counted']} queries use an index "
                           f"(target > {idx['target']:.0%}); not: {', '.join(bad)}")
    return RunVerdict(verdicts, share, idx, reasons, findings is not None)
