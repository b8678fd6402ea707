"""What a Prometheus scrape of `harness bench`'s live /metrics costs the run, side by side.

A scrape runs on the run's gevent event loop: while it computes, every simulated user waits.
1. Per query (no server): the exposition of one query's two histograms the way hdrh's Python
   iterators compute it (mean × count, one walk per bucket bound) against the harness's
   counts-array reads (`harness.bench.metrics`). Prints both times and the ratio.
2. With `--uri URI --db DB` (a loaded masterx): alternating rounds of a closed-loop point-read
   bench without /metrics and with /metrics scraped once a second (Prometheus at a 1 s interval).
   Prints the median requests of each and their ratio (target: scraped ≥ 0.9 × plain).

Usage: python benchmarks/scrape_overhead.py [--samples 20000] [--uri URI --db DB --rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.bench.metrics import SLA_FACTORS, cumulative_counts, sum_seconds  # noqa: E402
from harness.bench.recorder import count_at_or_below, new_histogram  # noqa: E402
from harness.servers.embedded import free_port  # noqa: E402

POINT_READ = REPO / "workloads" / "examples" / "point_read.py"


def per_query(samples: int, sla_ms: float = 50.0) -> None:
    rng = random.Random(1)
    hists = [new_histogram(), new_histogram()]
    for h in hists:
        for _ in range(samples):
            h.record_value(int(rng.lognormvariate(8.5, 1.0)))
    bounds = [sla_ms * f * 1000.0 for f in SLA_FACTORS]
    sum_seconds(hists[0])  # warm: numpy import and slot values, done before a run starts

    def old() -> None:
        for h in hists:
            [count_at_or_below(h, b) for b in bounds]
            h.get_mean_value() * h.get_total_count()

    def new() -> None:
        for h in hists:
            cumulative_counts(h, bounds)
            sum_seconds(h)

    times = {}
    for name, fn in (("hdrh iterators", old), ("counts arrays", new)):
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0
    a, b = times["hdrh iterators"], times["counts arrays"]
    print(f"one query, {samples:,} samples × 2 histograms: hdrh iterators {a * 1000:.1f} ms, "
          f"counts arrays {b * 1000:.2f} ms — {a / b:.0f}× less event-loop time per scrape")


def _run(uri: str, db: str, scraped: bool, out: Path) -> int:
    port = free_port()
    argv = [sys.executable, "-m", "harness", "bench", "masterx", "--uri", uri, "--db", db, "--workload",
            str(POINT_READ), "--duration", "6s", "--no-index-check", "--sla", "*=600000", "--out", str(out), "--json"]
    argv += ["--metrics-port", str(port)] if scraped else ["--no-metrics"]
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(OSError):  # not up yet / already gone
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()

    thread = threading.Thread(target=scrape, daemon=True)
    if scraped:
        thread.start()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300)
    finally:
        stop.set()
    if r.returncode not in (0, 1):
        raise SystemExit(f"bench failed: {r.stderr.strip().splitlines()[-1:]}")
    return int(json.loads(r.stdout)["queries"][0]["count"])


def end_to_end(uri: str, db: str, rounds: int) -> None:
    counts: dict[bool, list[int]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for scraped in ((False, True) if i % 2 == 0 else (True, False)):
                counts[scraped].append(_run(uri, db, scraped, Path(tmp)))
    plain, scraped = statistics.median(counts[False]), statistics.median(counts[True])
    print(f"6 s closed-loop point reads, median of {rounds}: plain {plain:,.0f} requests, scraped every 1 s "
          f"{scraped:,.0f} — ratio {scraped / plain:.2f} (target ≥ 0.90)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--uri", default=None)
    ap.add_argument("--db", default="t_masterx_0_02")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    per_query(args.samples)
    if args.uri:
        end_to_end(args.uri, args.db, args.rounds)


if __name__ == "__main__":
    main()
