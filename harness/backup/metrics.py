"""Push batch-job outcomes to a Prometheus Pushgateway (when one is configured).

Conventions: grouping key starts with `job`, no `instance` label. On success the whole group is
replaced (PUT): last-success timestamp, duration and sizes. On failure only the failure time and
duration are added (POST), so the last success survives and staleness alerts keep working.
"""

from __future__ import annotations

import os
import time

from harness.output import note
from harness.redact import redact


def gateway(option: str | None) -> str | None:
    return option or os.environ.get("PUSHGATEWAY_URL") or None


def push(url: str | None, job: str, system: str, ok: bool, duration: float,
         gauges: dict[str, tuple[str, float]] | None = None) -> bool:
    """Push `job`'s outcome for `system`; warns (does not fail the job) when the push fails."""
    if not url:
        return False
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

    registry = CollectorRegistry()
    prefix = f"harness_{job}"
    now = time.time()
    Gauge(f"{prefix}_duration_seconds", f"duration of the last {job} run", registry=registry).set(duration)
    if ok:
        Gauge(f"{prefix}_last_success_timestamp_seconds", f"last successful {job}", registry=registry).set(now)
        for name, (help_text, value) in (gauges or {}).items():
            Gauge(f"{prefix}_{name}", help_text, registry=registry).set(value)
    else:
        Gauge(f"{prefix}_last_failure_timestamp_seconds", f"last failed {job}", registry=registry).set(now)
    key = {"system": system}
    try:
        if ok:
            push_to_gateway(url, job=f"harness_{job}", grouping_key=key, registry=registry, timeout=10)
        else:
            pushadd_to_gateway(url, job=f"harness_{job}", grouping_key=key, registry=registry, timeout=10)
    except OSError as exc:
        note(f"warning: could not push metrics to {redact(url)}: {exc}")
        return False
    return True
