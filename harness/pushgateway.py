"""Push a batch job's outcome to a Prometheus Pushgateway: one helper for bench, backup,
restore-verify and purge, so every job names, groups and fails the same way.

Conventions (Prometheus batch jobs): grouping key `job` (= `sla_harness_<job>`) + `system`, no
`instance` label; one metric prefix, `sla_harness_<job>_`. A success replaces its group (PUT)
including `…_last_success_timestamp_seconds`, the metric a staleness alert watches. A failure
adds (POST) only the metrics it carries — failure time, duration, `…_passed 0` and what the job
measured — so the last success survives.

Failure policy, one for every command: a push that fails prints one warning on stderr and leaves
the command's exit code alone. The job's own result (a backup written, a verdict reached) is
what the exit code reports; a monitoring outage must not turn a good backup into a failed one
(and make a scheduler rerun it). A missing push shows up where it should: the last-success
timestamp goes stale and the staleness alert fires.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from harness.output import note
from harness.redact import redact

PREFIX = "sla_harness"
ENV = "PUSHGATEWAY_URL"
TIMEOUT_S = 10.0


def gateway_url(option: str | None) -> str | None:
    """The Pushgateway URL from `--pushgateway`, else `PUSHGATEWAY_URL`; None = push nothing."""
    return option or os.environ.get(ENV) or None


@dataclass(frozen=True)
class Sample:
    """One gauge value. `name` is the part after `sla_harness_<job>_` and carries its unit."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


@dataclass
class Outcome:
    """What a batch job reports: whether it succeeded, how long it took, what it measured."""

    job: str  # bench, backup, restore_verify, purge
    system: str
    ok: bool
    duration_seconds: float
    samples: list[Sample] = field(default_factory=list)

    def add(self, name: str, help_text: str, value: float, **labels: str) -> None:
        self.samples.append(Sample(name, help_text, float(value), tuple(sorted(labels.items()))))

    @property
    def job_label(self) -> str:
        return f"{PREFIX}_{self.job}"


def registry_for(outcome: Outcome):  # type: ignore[no-untyped-def]
    """The CollectorRegistry to push: the job's samples plus duration, pass/fail and its timestamp."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    prefix = outcome.job_label
    now = time.time()
    Gauge(f"{prefix}_duration_seconds", f"Wall time of the last {outcome.job} run", registry=registry).set(
        outcome.duration_seconds)
    Gauge(f"{prefix}_passed", f"1 when the last {outcome.job} run succeeded, else 0", registry=registry).set(
        1.0 if outcome.ok else 0.0)
    which = "success" if outcome.ok else "failure"
    Gauge(f"{prefix}_last_{which}_timestamp_seconds", f"When a {outcome.job} run last ended in {which} "
          "(Unix time)", registry=registry).set(now)
    families: dict[str, Gauge] = {}
    for s in outcome.samples:
        name = f"{prefix}_{s.name}"
        if name not in families:
            families[name] = Gauge(name, s.help, [k for k, _ in s.labels], registry=registry)
        gauge = families[name]
        (gauge.labels(**dict(s.labels)) if s.labels else gauge).set(s.value)
    return registry


def push(url: str | None, outcome: Outcome) -> bool:
    """Push `outcome` (PUT on success, POST on failure). Returns whether it was pushed; a failed
    push is a warning on stderr, never a change of the command's exit code (see module doc)."""
    if not url:
        return False
    from prometheus_client import push_to_gateway, pushadd_to_gateway

    send = push_to_gateway if outcome.ok else pushadd_to_gateway
    try:
        send(url, job=outcome.job_label, registry=registry_for(outcome), grouping_key={"system": outcome.system},
             timeout=TIMEOUT_S)
    except (OSError, ValueError) as exc:
        note(f"warning: metrics not pushed to {redact(url)}: {redact(str(exc))} — the {outcome.job} result "
             "stands; check --pushgateway / PUSHGATEWAY_URL")
        return False
    note(f"metrics pushed to {redact(url)} ({'PUT' if outcome.ok else 'POST'} {outcome.job_label}/{outcome.system})")
    return True
