"""What the harness costs and how exact it is, measured side by side in one run.

1. Client CPU per operation: the same indexed point read (users by email) run N times by
   (a) a raw pymongo loop in a plain process and (b) `harness bench`'s machinery — Locust in
   process, one user, no think time, request events, HDR recording. Each side runs in its own
   fresh process (gevent's monkey-patching cannot be undone) and reports its process CPU time
   for the measured loop only. Target: harness/raw ≤ 1.3×.
2. Percentile accuracy: during (b) a listener also keeps every exact latency; the HDR
   percentiles the harness reports are compared with exact nearest-rank percentiles of those
   raw samples. Target: error ≤ 1%.

    python benchmarks/bench_overhead.py [--ops 3000] [--rounds 3]

Starts its own nx-27017 on a free port (or uses --uri) and loads masterx at scale 0.01.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
WORKLOAD = (REPO / "workloads" / "examples" / "point_read.py").read_text()


def child_raw(uri: str, db: str, ops: int, patched: bool = False) -> dict:
    import random

    if patched:  # the same loop on gevent's sockets: separates gevent's I/O cost from the harness's
        from gevent import monkey

        monkey.patch_all()

    from pymongo import MongoClient

    coll = MongoClient(uri)[db]["users"]
    emails = [d["email"] for d in coll.find({}, {"email": 1, "_id": 0}).limit(2000)]
    rng = random.Random(1)
    for _ in range(50):  # warm up the connection and the server's caches
        list(coll.find({"email": rng.choice(emails)}, limit=1))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ops):
        list(coll.find({"email": rng.choice(emails)}, limit=1))
    return {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0, "ops": ops}


def child_harness(uri: str, db: str, ops: int, workload: str) -> dict:
    from gevent import monkey

    monkey.patch_all()
    from locust import constant

    from harness.bench import session
    from harness.bench.recorder import percentile_ms
    from harness.bench.runner import RunConfig, run
    from harness.servers import connect

    server = connect(uri)
    prep = session.prepare(uri, "masterx", db, server.caps, workload)
    prep.user_class.wait_time = constant(0)
    exact: list[float] = []

    def keep(st):  # noqa: ANN001
        st.environment.events.request.add_listener(
            lambda context=None, **_: exact.append(context["latency_us"]) if context else None)

    warm = RunConfig(uri=uri, database=db, users=1, duration_s=None, requests=50, workload_path=prep.path)
    run(warm, prep.user_class)
    cfg = RunConfig(uri=uri, database=db, users=1, duration_s=None, requests=ops, workload_path=prep.path)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcome = run(cfg, prep.user_class, on_state=keep)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = outcome.recorder.get("login")
    n = stats.count
    exact.sort()
    errors = {}
    for p in PERCENTILES:
        hdr = percentile_ms(stats.latency, p)
        if hdr is None:
            continue
        true = exact[max(0, math.ceil(p / 100 * len(exact)) - 1)] / 1000.0
        errors[str(p)] = {"hdr_ms": hdr, "exact_ms": true, "error": abs(hdr - true) / true}
    return {"cpu_s": cpu, "wall_s": wall, "ops": n, "samples": len(exact), "percentiles": errors}


def spawn(mode: str, uri: str, db: str, ops: int, workload: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--uri", uri, "--db", db, "--ops", str(ops),
                          "--workload", workload], capture_output=True, text=True, cwd=REPO, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--uri")
    ap.add_argument("--db", default="bench_overhead")
    ap.add_argument("--child", choices=("raw", "raw-gevent", "harness"))
    ap.add_argument("--workload")
    args = ap.parse_args()
    if args.child in ("raw", "raw-gevent"):
        print(json.dumps(child_raw(args.uri, args.db, args.ops, patched=args.child == "raw-gevent")))
        return
    if args.child == "harness":
        print(json.dumps(child_harness(args.uri, args.db, args.ops, args.workload)))
        return

    from harness.servers import embedded

    tmp = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    state = None
    uri = args.uri
    if not uri:
        state = embedded.launch("nx-27017", tmp / "nx")
        uri = state["uri"]
    try:
        load = subprocess.run([sys.executable, "-m", "harness", "load", "masterx", "--uri", uri, "--db", args.db,
                               "--scale", "0.01", "--drop", "--no-progress"], capture_output=True, text=True, cwd=REPO)
        if load.returncode != 0:
            raise SystemExit(load.stderr)
        workload = tmp / "point.py"
        workload.write_text(WORKLOAD)
        ratios, gevent_ratios, worst = [], [], 0.0
        for r in range(args.rounds):  # rotate the order so drift on a shared machine hits every side
            sides = ["raw", "raw-gevent", "harness"]
            order = sides[r % 3:] + sides[:r % 3]
            res = {m: spawn(m, uri, args.db, args.ops, str(workload)) for m in order}
            raw_us, g_us, h_us = (res[m]["cpu_s"] / res[m]["ops"] * 1e6 for m in sides)
            ratios.append(h_us / raw_us)
            gevent_ratios.append(h_us / g_us)
            errs = res["harness"]["percentiles"]
            worst = max([worst] + [e["error"] for e in errs.values()])
            print(f"round {r + 1}: client CPU/op raw {raw_us:.1f} µs, raw on gevent {g_us:.1f} µs, harness "
                  f"{h_us:.1f} µs → {h_us / raw_us:.2f}× raw, {h_us / g_us:.2f}× raw-on-gevent; percentile errors "
                  + ", ".join(f"p{p}={e['error']:.3%}" for p, e in errs.items()))
        ratios.sort()
        gevent_ratios.sort()
        median = ratios[len(ratios) // 2]
        print(f"harness / the same raw loop on gevent sockets (the harness's own cost): median "
              f"{gevent_ratios[len(gevent_ratios) // 2]:.2f}×")
        print(f"\nclient CPU per operation, harness under Locust / raw pymongo loop: median {median:.2f}× "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target ≤ 1.30×) "
              f"{'OK' if median <= 1.3 else 'OVER TARGET'}")
        print(f"harness HDR percentiles vs exact percentiles of the raw samples: worst error {worst:.3%} "
              f"(target ≤ 1%) {'OK' if worst <= 0.01 else 'OVER TARGET'}")
    finally:
        if state:
            embedded.terminate(state)


if __name__ == "__main__":
    main()
