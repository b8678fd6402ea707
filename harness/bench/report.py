"""Bench reports: the run record as JSON, an HTML page with latency plots, JUnit XML for CI.

The JSON record is the source of truth (history, compare and the baseline gate read it back);
it carries each query's HDR histograms (compressed) so later runs compare against exact
distributions, not summaries. HTML and JUnit are renderings of it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness import reporting
from harness.bench.record import BenchRun, QueryResult
from harness.bench.recorder import decode
from harness.redact import redact

PERCENTILES = (0, 50, 75, 90, 95, 99, 99.9, 99.99)


def _distribution(encoded: str) -> tuple[list[float], list[float]]:
    """(x = 1/(1-p), y = ms) points of the percentile distribution (HdrHistogram's usual plot)."""
    hist = decode(encoded)
    n = hist.get_total_count()
    xs, ys = [], []
    if not n:
        return xs, ys
    p = 0.0
    while p < 100.0:
        top = 100.0 * (1 - 1 / max(n, 1))
        if p > top:
            break
        xs.append(1 / (1 - p / 100.0))
        ys.append(hist.get_value_at_percentile(p) / 1000.0)
        p = p + (100.0 - p) / 8 if p >= 50 else p + 5
    xs.append(1 / (1 - min(top, 99.999) / 100.0))
    ys.append(hist.get_max_value() / 1000.0)
    return xs, ys


def latency_plot(q: QueryResult, open_loop: bool) -> str | None:
    if not q.hdr_latency or not q.count:
        return None
    fig, ax = reporting.new_figure(6.4, 2.8)
    xs, ys = _distribution(q.hdr_service)
    ax.plot(xs, ys, label="service time", color="#3a6ea5")
    if open_loop:
        lx, ly = _distribution(q.hdr_latency)
        ax.plot(lx, ly, label="latency (from intended start)", color="#c0392b")
    ax.axhline(q.sla_ms, color="#9a6700", linestyle="--", label=f"SLA {q.sla_ms:g} ms (p95)")
    ax.axvline(20, color="#bbb", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [1, 2, 10, 20, 100, 1000, 10000]
    ax.set_xticks(ticks, ["0%", "50%", "90%", "95%", "99%", "99.9%", "99.99%"])
    ax.set_xlim(1, max(xs[-1] if xs else 2, 2))
    ax.set_ylabel("ms")
    ax.set_title(q.name, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.25)
    return reporting.figure_uri(fig)


def write_html(path: Path, run: BenchRun) -> Path:
    r = run.to_json()
    open_loop = run.config.mode == "open"
    plots = {q.name: latency_plot(q, open_loop) for q in run.queries}
    return reporting.write_html(path, "bench.html.j2", title=f"SLA bench — {run.title}", r=r,
                                plots=plots, open_loop=open_loop)


def write_junit(path: Path, run: BenchRun) -> Path:
    """One testcase per operation (failing or vacuous: failure; inconclusive or not run: skipped
    with the reason; an index finding fails it only when the index KPI failed, else it is in its
    output), one per judged KPI; regressions fail the operation that regressed. Failures exist
    exactly when the verdict fails."""
    v = run.verdict
    cases: list[tuple[str, str, str, str]] = []  # (name, outcome, message, system-out)
    regressed = {r.query: r for r in v.regressions}
    for q in run.queries:
        lat = q.latency
        out = (f"count={q.count} errors={q.errors} empty={q.empty} p50={lat.p50_ms} p95={lat.p95_ms} "
               f"p99={lat.p99_ms} max={lat.max_ms} sla_ms={q.sla_ms:g} ({q.sla_source})")
        if q.status in ("not-run", "inconclusive"):
            cases.append((q.name, "skipped", f"{q.status}: {q.reason}", out))
            continue
        problems = [f"{q.status}: {q.reason}"] if q.status in ("fail", "vacuous") else []
        if q.index_breach and v.index_checked and not (q.status == "fail" and "is not used" in q.reason):
            # the run's index KPI judges index findings: a query fails for one only when that KPI
            # failed (the verdict names it), so JUnit agrees with the verdict and the exit code
            if v.index_kpi.passed is False:
                problems.append(q.index_breach)
            else:
                out += f"\nfinding: {q.index_breach}"
        if q.name in regressed:
            problems.append(regressed[q.name].message(v.baseline or "?"))
        cases.append((q.name, "failure" if problems else "pass", "; ".join(problems), out))
    for kpi in (v.sla_kpi, v.index_kpi):
        if kpi.passed is None:
            continue
        cases.append((f"kpi: {kpi.name}", "pass" if kpi.passed else "failure",
                      f"{kpi.value:.1%} vs target {kpi.target:.0%} ({kpi.source})" if kpi.value is not None else "",
                      kpi.detail))
    failures = sum(c[1] == "failure" for c in cases)
    skipped = sum(c[1] == "skipped" for c in cases)
    suite = ET.Element("testsuite", name=f"sla-harness bench {run.system}", tests=str(len(cases)),
                       failures=str(failures), errors="0", skipped=str(skipped), time=f"{run.elapsed_s:.3f}",
                       timestamp=run.started_at)
    props = ET.SubElement(suite, "properties")
    for k, val in (("server", run.server), ("mode", run.config.mode), ("share_under_sla", v.sla_kpi.value),
                   ("index_share", v.index_kpi.value), ("targets", run.targets_source)):
        ET.SubElement(props, "property", name=k, value=redact(str(val)))
    means = {q.name: q.latency.mean_ms or 0.0 for q in run.queries}
    for name, outcome, message, out in cases:
        case = ET.SubElement(suite, "testcase", classname=f"bench.{run.system}", name=name,
                             time=f"{means.get(name, 0.0) / 1000.0:.6f}")
        if outcome == "skipped":
            ET.SubElement(case, "skipped", message=message)
        elif outcome == "failure":
            ET.SubElement(case, "failure", message=message, type="SLABreach").text = message
        ET.SubElement(case, "system-out").text = out
    ET.indent(suite)
    path.write_text(redact(ET.tostring(suite, encoding="unicode", xml_declaration=True)) + "\n")
    return path


def write_all(run: BenchRun, out: Path) -> dict[str, Path]:
    base = f"bench-{run.system}-{run.id}"
    return {"json": reporting.write_json(out / f"{base}.json", run.to_json()),
            "html": write_html(out / f"{base}.html", run),
            "junit": write_junit(out / f"{base}.junit.xml", run)}


# -- terminal --------------------------------------------------------------------------------------------
COLUMNS = ["query", "verdict", "count", "p50 ms", "p95 ms", "p99 ms", "SLA ms", "index"]


def rows(run: BenchRun) -> list[tuple[Any, ...]]:
    def f(v: float | None) -> str:
        return "—" if v is None else f"{v:.3g}"

    out = []
    for q in run.queries:
        lat = q.latency
        sla = f"{q.sla_ms:g}" + ("*" if q.sla_source == "assumed" else "")
        name = q.name + (" (w)" if q.writes else "")
        count = f"{q.count}" + (f"+{q.errors}e" if q.errors else "")
        idx = q.index.status if q.index else "—"
        out.append((name, q.status, count, f(lat.p50_ms), f(lat.p95_ms), f(lat.p99_ms), sla, idx))
    return out


def text_table(columns: list[str], body: list[tuple[Any, ...]]) -> str:
    """A plain fixed-width table: readable in CI logs at any terminal width."""
    cells = [list(map(str, columns))] + [[redact(str(c)) for c in row] for row in body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(" ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                  strict=True))))
        if n == 0:
            lines.append(" ".join("-" * w for w in widths))
    return "\n".join(lines)


def terminal(run: BenchRun) -> str:
    """The verdict, the table, the KPIs and every breach reason (what a terminal shows)."""
    table, notes = terminal_parts(run)
    return "\n".join([table, *notes])


def terminal_parts(run: BenchRun) -> tuple[str, list[str]]:
    """(verdict line + table, notes: KPIs, operations not run or scanning, breaches)."""
    v = run.verdict
    table = (f"{run.title} — {v.status.upper()} ({run.config.mode} loop; * = assumed SLA, (w) = writes; "
             f"stopped: {run.config.stopped_because or '—'})\n" + text_table(COLUMNS, rows(run)))
    lines: list[str] = []
    sla = v.sla_kpi
    if sla.value is not None:
        target = f"target ≥ {sla.target:.0%}" if sla.target is not None else "no target"
        lines.append(f"under SLA: {sla.value:.2%} of critical requests ({target}; {sla.source})")
    idx = v.index_kpi
    if v.index_checked and idx.value is not None:
        target = f"target > {idx.target:.0%}" if idx.target is not None else "no target"
        lines.append(f"index check: {idx.detail} queries use an index ({target})")
    for q in run.queries:
        if q.status == "not-run":
            lines.append(f"not run: {q.name} — {q.reason}")
        elif q.index and q.index.status == "collscan" and not q.index.documented_index:
            lines.append(f"scan: {q.name} — {q.index.detail}")
    lines += [f"breach: {r}" for r in v.reasons]
    return table, lines
