"""BMD's documented access paths on PostgreSQL: timed against the SLAs the BMD workload
declares for the same paths, with an EXPLAIN (FORMAT JSON) index check.

The SQL is each critical query of workloads/bmd.py as the seed's application would send it;
its SLA is read from that workload (one place), never restated here. The index check runs
EXPLAIN with sequential scans disabled, so it tells whether a documented index can serve the
query (at small scale PostgreSQL rightly prefers a Seq Scan); the timing runs with the planner's
own choice. Verdict per query: p95 <= SLA and index usable.

Usage: python benchmarks/pg_critical_queries.py [--uri postgresql://...] [--scale 1] [--runs 300]
Without --uri a plain PostgreSQL 15 cluster is started in a temporary directory and stopped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.engines.postgresql import copyload  # noqa: E402
from harness.engines.postgresql.target import resolve  # noqa: E402
from harness.explain import summarize  # noqa: E402
from harness.load import LoadParams  # noqa: E402
from harness.spec import load_system  # noqa: E402

# workload query name -> (SQL, how to draw its parameters from sampled rows)
SQL = {
    "project_list": ("SELECT id, name, created_at FROM bmd_projects WHERE user_id = %s ORDER BY created_at DESC",
                     "SELECT user_id FROM bmd_projects"),
    "experiments_by_project": ("SELECT id, project_id, name, chip_info_id, log_transformation, num_probes, "
                               "num_treatments, created_at FROM dose_response_experiments WHERE project_id = %s",
                               "SELECT project_id FROM dose_response_experiments"),
    "results_by_experiment": ("SELECT id, name, bmd_method, analysis_info, results_s3_key, num_results "
                              "FROM bmd_results WHERE experiment_id = %s",
                              "SELECT experiment_id FROM bmd_results WHERE experiment_id IS NOT NULL"),
    "results_by_project_method": ("SELECT id, name, num_results FROM bmd_results WHERE project_id = %s "
                                  "AND bmd_method = %s", "SELECT project_id, bmd_method FROM bmd_results"),
    "jobs_by_user_status": ("SELECT * FROM jobs WHERE user_id = %s AND status = %s ORDER BY created_at DESC",
                            "SELECT user_id, status FROM jobs"),
    "jobs_by_status": ("SELECT * FROM jobs WHERE status = %s ORDER BY created_at LIMIT 50",
                       "SELECT unnest(ARRAY['pending', 'running'])"),
    "recent_jobs": ("SELECT id, user_id, project_id, job_type, status, progress, created_at FROM jobs "
                    "ORDER BY created_at DESC LIMIT 20", "SELECT"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", default=None)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    from harness.servers import pgcluster

    with pgcluster.given_or_throwaway(args.uri, "harness-pgq-") as uri:
        return run(uri, args.scale, args.runs)


def run(uri: str, scale: float, runs: int) -> int:
    system = load_system("bmd")
    target = resolve(uri, "bench_bmd_queries", True)
    params = LoadParams(system="bmd", database=target.database, seed=42, scale=scale,
                        as_of=datetime(2026, 11, 1), workers=2)
    copyload.PgLoader().run(target, system, params, drop=True, resume=False, progress=False)
    from harness.workload import load_workload

    slas = {o.name: o for o in load_workload("bmd").operations}
    rng = random.Random(7)
    rows, failed = [], 0
    with target.connect() as conn:
        for name, (sql, sample) in SQL.items():
            values = conn.execute(sample).fetchall() if sample != "SELECT" else [()]
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql, rng.choice(values)).fetchone()[0]
            conn.execute("RESET enable_seqscan")
            plan = plan if isinstance(plan, list) else json.loads(plan)
            # harness.explain reads PostgreSQL's plan where DocumentDB's explain puts it
            summary = summarize({"queryPlanner": plan[0] if isinstance(plan, list) else plan})
            lat = []
            for _ in range(runs):
                v = rng.choice(values)
                t = time.perf_counter()
                conn.execute(sql, v).fetchall()
                lat.append((time.perf_counter() - t) * 1000)
            p95 = float(np.percentile(lat, 95))
            sla = slas[name].sla_ms
            seq = any(s.startswith("Seq Scan") for s in summary.stages)
            ok = p95 <= sla and bool(summary.indexes) and not seq
            failed += not ok
            rows.append((name, f"{float(np.percentile(lat, 50)):.2f}", f"{p95:.2f}", f"{sla:g}",
                         ",".join(summary.indexes) or "-", "PASS" if ok else "BREACH"))
    print(f"BMD critical queries on PostgreSQL (scale {scale:g}, {runs} runs each; SLAs from workloads/bmd.py)")
    print(f"{'query':27}{'p50 ms':>8}{'p95 ms':>8}{'SLA':>6}  {'index (seqscan off)':24}verdict")
    for r in rows:
        print(f"{r[0]:27}{r[1]:>8}{r[2]:>8}{r[3]:>6}  {r[4][:23]:24}{r[5]}")
    print(f"verdict: {'PASS' if not failed else f'{failed} BREACH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
