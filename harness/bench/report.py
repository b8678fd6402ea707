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


def latency_plot(q: dict[str, Any], open_loop: bool) -> str | None:
    hdr = q.get("hdr") or {}
    if not hdr.get("latency") or not q["count"]:
        return None
    fig, ax = reporting.new_figure(6.4, 2.8)
    xs, ys = _distribution(hdr["service"])
    ax.plot(xs, ys, label="service time", color="#3a6ea5")
    if open_loop:
        lx, ly = _distribution(hdr["latency"])
        ax.plot(lx, ly, label="latency (from intended start)", color="#c0392b")
    ax.axhline(q["sla_ms"], color="#9a6700", linestyle="--", label=f"SLA {q['sla_ms']:g} ms (p95)")
    ax.axvline(20, color="#bbb", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [1, 2, 10, 20, 100, 1000, 10000]
    ax.set_xticks(ticks, ["0%", "50%", "90%", "95%", "99%", "99.9%", "99.99%"])
    ax.set_xlim(1, max(xs[-1] if xs else 2, 2))
    ax.set_ylabel("ms")
    ax.set_title(q["name"], fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.25)
    return reporting.figure_uri(fig)


def write_html(path: Path, record: dict[str, Any]) -> Path:
    open_loop = record["config"]["mode"] == "open"
    plots = {q["name"]: latency_plot(q, open_loop) for q in record["queries"]}
    return reporting.write_html(path, "bench.html.j2", title=f"SLA bench — {record['title']}", r=record,
                                plots=plots, open_loop=open_loop)


def write_junit(path: Path, record: dict[str, Any]) -> Path:
    """One testcase per critical query; SLA or index breaches are failures, not-run is skipped."""
    queries = record["queries"]
    failures = [q for q in queries if _junit_failure(q, record)]
    skipped = [q for q in queries if q["status"] == "not-run"]
    suite = ET.Element("testsuite", name=f"sla-harness bench {record['system']}", tests=str(len(queries)),
                       failures=str(len(failures)), errors="0", skipped=str(len(skipped)),
                       time=f"{record['elapsed_s']:.3f}", timestamp=record["started_at"])
    props = ET.SubElement(suite, "properties")
    for k, v in (("server", record["server"]), ("mode", record["config"]["mode"]),
                 ("share_under_sla", record["verdict"]["sla"]["share_under_sla"]),
                 ("index_share", record["verdict"]["index"].get("share"))):
        ET.SubElement(props, "property", name=k, value=redact(str(v)))
    for q in queries:
        lat = q["latency"]
        case = ET.SubElement(suite, "testcase", classname=f"bench.{record['system']}", name=q["name"],
                             time=f"{(lat['mean_ms'] or 0) / 1000.0:.6f}")
        message = _junit_failure(q, record)
        if q["status"] == "not-run":
            ET.SubElement(case, "skipped", message=q["reason"])
        elif message:
            ET.SubElement(case, "failure", message=message, type="SLABreach").text = message
        ET.SubElement(case, "system-out").text = (
            f"count={q['count']} errors={q['errors']} p50={lat['p50_ms']} p95={lat['p95_ms']} "
            f"p99={lat['p99_ms']} max={lat['max_ms']} sla_ms={q['sla_ms']} ({q['sla_source']})")
    ET.indent(suite)
    path.write_text(redact(ET.tostring(suite, encoding="unicode", xml_declaration=True)) + "\n")
    return path


def _junit_failure(q: dict[str, Any], record: dict[str, Any]) -> str:
    parts = []
    if q["status"] in ("fail", "inconclusive"):
        parts.append(q["reason"])
    idx = q.get("index") or {}
    if record["verdict"]["index"].get("checked") and idx.get("status") in ("collscan", "unknown", "error"):
        parts.append(f"index check: {idx['status']} — {idx.get('detail', '')}")
    return "; ".join(parts)


def write_all(record: dict[str, Any], out: Path) -> dict[str, Path]:
    base = f"bench-{record['system']}-{record['id']}"
    return {"json": reporting.write_json(out / f"{base}.json", record),
            "html": write_html(out / f"{base}.html", record),
            "junit": write_junit(out / f"{base}.junit.xml", record)}
