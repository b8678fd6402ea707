"""The typed run record: what one bench run measured and decided.

`harness.bench.verdict` fills it once; the exit code, terminal table, JUnit, HTML, JSON and
Prometheus all read it. `to_json()` is the stored form (history, `harness compare` and the
baseline gate read it back with `StoredRun`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.bench.indexcheck import IndexFinding
from harness.errors import EXIT_BREACH, EXIT_OK

SCHEMA = "sla-harness/bench-run/2"
STATUSES = ("pass", "fail", "vacuous", "inconclusive", "not-run")


@dataclass
class Latency:
    """count, mean and the supported percentiles in ms (None where the sample is too small)."""

    count: int
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None


@dataclass
class QueryResult:
    name: str
    kinds: list[str]  # find, aggregate, insert, update, …
    writes: bool
    description: str
    sla_ms: float
    sla_source: str
    weight: int
    freq: str
    note: str
    needs: list[str]
    status: str  # one of STATUSES
    reason: str
    errors: int
    empty: int  # requests that returned (or touched) no document
    under_sla: int
    service: Latency
    latency: Latency
    error_samples: list[str] = field(default_factory=list)
    index: IndexFinding | None = None
    hdr_service: str = ""
    hdr_latency: str = ""

    @property
    def count(self) -> int:
        return self.latency.count

    @property
    def index_breach(self) -> str:
        """Why this query's index check is a finding ("" when it is not)."""
        if self.index is None or not self.index.counted or self.index.status == "ok":
            return ""
        return f"index check: {self.index.status} — {self.index.detail}"

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("hdr_service", "hdr_latency", "index")}
        out["count"] = self.count
        out["under_sla_share"] = round(self.under_sla / self.count, 4) if self.count else None
        out["index"] = self.index.as_dict() if self.index else None
        out["hdr"] = {"service": self.hdr_service, "latency": self.hdr_latency}
        return out


@dataclass
class Regression:
    query: str
    p95_a: float
    p95_b: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float

    def message(self, baseline: str) -> str:
        return (f"{self.query}: p95 regressed {self.p95_a:g} → {self.p95_b:g} ms (×{self.ratio:.2f}, 95% CI "
                f"×{self.ci_low:.2f}–×{self.ci_high:.2f}, Mann-Whitney p={self.p_value:.2g}) vs baseline {baseline}")


@dataclass
class Kpi:
    """One aggregate target (share under SLA, share using an index) and whether it was met."""

    name: str
    target: float | None  # None: the system documents no such target (not judged)
    value: float | None
    passed: bool | None
    source: str
    detail: str = ""


@dataclass
class Verdict:
    status: str  # pass | fail
    reasons: list[str]
    sla_kpi: Kpi
    index_kpi: Kpi
    index_checked: bool
    queries_passed: int
    queries_run: int
    not_run: list[str]
    inconclusive: list[str]
    vacuous: list[str]
    regressions: list[Regression] = field(default_factory=list)
    baseline: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_BREACH


@dataclass
class RunConfigRecord:
    mode: str  # closed | open
    rate: float | None
    users: int | None
    spawn_rate: float | None
    duration_s: float | None
    min_samples: int | None
    max_duration_s: float | None
    requests: int | None
    workers: int | None
    runner: str  # harness | locust
    seed: int | None
    warmup: int
    locust_requests: int | None = None
    locust_failures: int | None = None
    stopped_because: str = ""


@dataclass
class BenchRun:
    id: str
    system: str
    title: str
    seed_doc: str
    workload: str
    server: str
    server_kind: str
    server_note: str
    uri: str
    database: str
    data_as_of: str
    targets_source: str
    config: RunConfigRecord
    started_at: str
    elapsed_s: float
    queries: list[QueryResult]
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "schema": SCHEMA, "id": self.id, "system": self.system, "title": self.title, "seed_doc": self.seed_doc,
            "workload": self.workload, "server": self.server, "server_kind": self.server_kind,
            "server_note": self.server_note, "uri": self.uri, "database": self.database,
            "data_as_of": self.data_as_of, "targets_source": self.targets_source, "config": asdict(self.config),
            "started_at": self.started_at, "elapsed_s": round(self.elapsed_s, 3),
            "verdict": {
                "status": v.status, "exit_code": v.exit_code, "reasons": v.reasons,
                "sla": {"target_share": v.sla_kpi.target, "share_under_sla": v.sla_kpi.value,
                        "passed": v.sla_kpi.passed, "source": v.sla_kpi.source,
                        "queries_passed": v.queries_passed, "queries_run": v.queries_run,
                        "queries_not_run": v.not_run, "inconclusive": v.inconclusive, "vacuous": v.vacuous},
                "index": {"checked": v.index_checked, "target": v.index_kpi.target, "share": v.index_kpi.value,
                          "passed": v.index_kpi.passed, "source": v.index_kpi.source,
                          "detail": v.index_kpi.detail,
                          "queries_counted": sum(1 for q in self.queries if q.index and q.index.counted),
                          "using_index": sum(1 for q in self.queries if q.index and q.index.status == "ok")},
                "baseline": v.baseline, "regressions": [asdict(r) for r in v.regressions],
            },
            "queries": [q.to_json() for q in self.queries],
        }


@dataclass
class StoredQuery:
    name: str
    status: str
    hdr_latency: str


@dataclass
class StoredRun:
    """What `harness compare` and the baseline gate need from a stored run."""

    id: str
    system: str
    queries: list[StoredQuery]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredRun:
        return cls(str(data["id"]), str(data["system"]),
                   [StoredQuery(str(q["name"]), str(q["status"]), str((q.get("hdr") or {}).get("latency", "")))
                    for q in data["queries"]])
