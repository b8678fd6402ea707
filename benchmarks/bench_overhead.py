"""What the harness costs and how exact it is, measured side by side in one run.

1. Client CPU per operation, for a read (an indexed point read, users by email) and a write (an
   indexed single-document update, users by email): the same operation run N times by
   (a) a raw pymongo loop in a plain process, (b) the same raw loop on gevent's sockets
   (`monkey.patch_all()`), and (c) `harness bench`'s machinery — the workload object
   (`workloads/examples/point_read.py`, `point_write.py`) run by its Locust user in process, one
   user, no think time, request events, HDR recording. Each side runs in its own fresh process
   (gevent's monkey-patching cannot be undone) and reports its process CPU time for the
   measured loop only (the harness side from its 50th request to its last, in a request
   listener: steady state, as the raw loops after their 50 warm-up operations).
   Target: harness / raw-on-gevent ≤ 1.3× (gevent's own I/O cost is not the harness's;
   harness / plain raw is printed too).
2. Percentile accuracy: during (c) a listener also keeps every exact latency; the HDR
   percentiles the harness reports are compared with exact nearest-rank percentiles of those
   raw samples. Target: error ≤ 0.1%.

    python benchmarks/bench_overhead.py [--ops 3000] [--rounds 3] [--uri URI]

Starts its own embedded server (DocumentDB when built, else nx-27017) on a free port unless
--uri is given, and loads masterx at scale 0.01 into its own database.
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
EXAMPLES = REPO / "workloads" / "examples"
STEADY_FROM = 50  # requests before the harness side's CPU clock starts (the raw loops warm up 50 too)
WORKLOADS = {"read": EXAMPLES / "point_read.py", "write": EXAMPLES / "point_write.py"}


def child_raw(uri: str, db: str, ops: int, kind: str, patched: bool = False) -> dict:
    import random
    from datetime import datetime

    if patched:  # the same loop on gevent's sockets: separates gevent's I/O cost from the harness's
        from gevent import monkey

        monkey.patch_all()

    from pymongo import MongoClient

    coll = MongoClient(uri)[db]["users"]
    emails = [d["email"] for d in coll.find({}, {"email": 1, "_id": 0})]
    rng = random.Random(1)

    def one() -> None:
        if kind == "read":
            list(coll.find({"email": rng.choice(emails)}, limit=1))
        else:
            coll.update_one({"email": rng.choice(emails)}, {"$set": {"last_login": datetime(2026, 11, 1)}})

    for _ in range(50):  # warm up the connection and the server's caches
        one()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ops):
        one()
    return {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0, "ops": ops}


def child_harness(uri: str, db: str, ops: int, kind: str) -> dict:
    from gevent import monkey

    monkey.patch_all()
    from harness.bench.pipeline import open_session
    from harness.bench.recorder import percentile_ms
    from harness.bench.runner import RunConfig, run
    from harness.servers import connect
    from harness.workload import load_workload

    server = connect(uri)
    workload = load_workload("masterx", WORKLOADS[kind])
    workload.think_time = (0.0, 0.0)
    session = open_session(workload, server.caps, server.client()[db], seed=1, warmup=50, index_check=False)
    exact: list[float] = []
    marks: dict[str, float] = {}

    def on_request(context=None, **_):  # noqa: ANN001, ANN003
        if context:
            exact.append(context["latency_us"])
            if len(exact) == STEADY_FROM:  # steady state: Locust's start-up is not a per-operation cost
                marks["cpu0"], marks["wall0"] = time.process_time(), time.perf_counter()
            marks["cpu1"], marks["wall1"] = time.process_time(), time.perf_counter()

    def keep(st):  # noqa: ANN001
        st.environment.events.request.add_listener(on_request)

    cfg = RunConfig(uri=uri, database=db, users=1, duration_s=None, requests=ops + STEADY_FROM,
                    workload_path=workload.path, think_time=(0.0, 0.0), names=session.runnable())
    outcome = run(cfg, session, on_state=keep)
    cpu, wall = marks["cpu1"] - marks["cpu0"], marks["wall1"] - marks["wall0"]
    measured = len(exact) - STEADY_FROM
    stats = outcome.recorder.get(workload.operations[0].name)
    n = stats.count
    exact.sort()
    errors = {}
    for p in PERCENTILES:
        hdr = percentile_ms(stats.latency, p)
        if hdr is None:
            continue
        true = exact[max(0, math.ceil(p / 100 * len(exact)) - 1)] / 1000.0
        errors[str(p)] = {"hdr_ms": hdr, "exact_ms": true, "error": abs(hdr - true) / true}
    return {"cpu_s": cpu, "wall_s": wall, "ops": measured, "samples": len(exact), "recorded": n,
            "errors": stats.errors,
            "percentiles": errors}


def spawn(mode: str, uri: str, db: str, ops: int, kind: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--uri", uri, "--db", db, "--ops", str(ops),
                          "--kind", kind], capture_output=True, text=True, cwd=REPO, timeout=900)
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
    ap.add_argument("--kind", choices=("read", "write"), default="read")
    ap.add_argument("--kinds", default="read,write", help="which sides to measure (default both)")
    args = ap.parse_args()
    if args.child in ("raw", "raw-gevent"):
        print(json.dumps(child_raw(args.uri, args.db, args.ops, args.kind, patched=args.child == "raw-gevent")))
        return
    if args.child == "harness":
        print(json.dumps(child_harness(args.uri, args.db, args.ops, args.kind)))
        return

    from harness.servers import embedded
    from harness.servers.documentdb import build as documentdb_build

    tmp = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    state = None
    uri = args.uri
    if not uri:
        state = embedded.launch("documentdb" if documentdb_build() is not None else "nx-27017", tmp / "server")
        uri = state["uri"]
    try:
        load = subprocess.run([sys.executable, "-m", "harness", "load", "masterx", "--uri", uri, "--db", args.db,
                               "--scale", "0.01", "--drop", "--no-progress"], capture_output=True, text=True, cwd=REPO)
        if load.returncode != 0:
            raise SystemExit(load.stderr)
        verdicts = []
        for kind in args.kinds.split(","):
            ratios, gevent_ratios, worst = [], [], 0.0
            for r in range(args.rounds):  # rotate the order so drift on a shared machine hits every side
                sides = ["raw", "raw-gevent", "harness"]
                order = sides[r % 3:] + sides[:r % 3]
                res = {m: spawn(m, uri, args.db, args.ops, kind) for m in order}
                raw_us, g_us, h_us = (res[m]["cpu_s"] / res[m]["ops"] * 1e6 for m in sides)
                ratios.append(h_us / raw_us)
                gevent_ratios.append(h_us / g_us)
                errs = res["harness"]["percentiles"]
                worst = max([worst] + [e["error"] for e in errs.values()])
                print(f"{kind} round {r + 1}: client CPU/op raw {raw_us:.1f} µs, raw on gevent {g_us:.1f} µs, "
                      f"harness {h_us:.1f} µs → {h_us / raw_us:.2f}× raw, {h_us / g_us:.2f}× raw-on-gevent; "
                      "percentile errors " + ", ".join(f"p{p}={e['error']:.3%}" for p, e in errs.items()))
            g_median = sorted(gevent_ratios)[len(gevent_ratios) // 2]
            median = sorted(ratios)[len(ratios) // 2]
            verdicts.append(g_median <= 1.3 and worst <= 0.001)
            print(f"{kind}: client CPU per operation, harness / raw loop on gevent sockets: median {g_median:.2f}× "
                  f"(rounds: {', '.join(f'{x:.2f}' for x in gevent_ratios)}; target ≤ 1.30×) "
                  f"{'OK' if g_median <= 1.3 else 'OVER TARGET'}; harness / plain raw loop: median {median:.2f}×")
            print(f"{kind}: HDR percentiles vs exact percentiles of the raw samples: worst error {worst:.3%} "
                  f"(target ≤ 0.1%) {'OK' if worst <= 0.001 else 'OVER TARGET'}\n")
        sys.exit(0 if all(verdicts) else 1)
    finally:
        if state:
            embedded.terminate(state)


if __name__ == "__main__":
    main()
