"""`harness load bmd` on PostgreSQL vs a raw COPY of the same rows pre-built in memory,
measured side by side in one run on one cluster. Target: >= 0.9.

Both sides create the same tables (keys and UNIQUE first), COPY with the same number of client
processes and the same batches, then build the documented indexes and foreign keys. The raw
side's workers build their rows before the clock starts, so it measures only COPY and schema
work: the ceiling for this server. Reported: end to end and data phase only.

Usage: python benchmarks/pg_load_throughput.py [--uri postgresql://...] [--scale 1] [--workers 2]
Without --uri a plain PostgreSQL 15 cluster is started in a temporary directory and stopped.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.datagen import Gen  # noqa: E402
from harness.engines.postgresql import copyload, schema  # noqa: E402
from harness.engines.postgresql.target import connect, resolve  # noqa: E402
from harness.load import LoadParams  # noqa: E402
from harness.spec import load_system  # noqa: E402

AS_OF = datetime(2026, 11, 1)
SEED = 42


def _raw_worker(args: tuple) -> tuple[float, float, int]:
    """Build this worker's batches in memory, wait for the others, then COPY them (timed)."""
    uri, scale, batches, barrier = args
    system = load_system("bmd")
    gen = Gen(system, SEED, AS_OF, system.counts(scale))
    makers = {c.name: c.make for c in system.collections}
    built = [(system.tables.table(n), copyload.rows(gen, makers[n], system.tables.table(n), s, e))
             for n, s, e in batches]
    conn = connect(uri, autocommit=False)
    barrier.wait()
    began = time.perf_counter()
    for table, data in built:
        with conn.transaction():
            copyload.copy_rows(conn, table, data)
    ended = time.perf_counter()
    conn.close()
    return began, ended, sum(len(d) for _, d in built)


def raw_copy(server_uri: str, scale: float, workers: int, batch: int) -> tuple[float, float, int]:
    system = load_system("bmd")
    target = resolve(server_uri, "bench_raw_copy", True)
    with target.connect() as conn:
        schema.drop_all(conn, system)
        copyload._create_without_fks(conn, system.tables)
    counts = system.counts(scale)
    work = [(t.name, s, min(counts[t.name], s + batch)) for t in system.tables.tables
            for s in range(0, counts[t.name], batch)]
    shares = [work[i::workers] for i in range(workers)]
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            out = pool.map(_raw_worker, [(target.uri, scale, s, barrier) for s in shares])
    data_seconds = max(e for _, e, _ in out) - min(b for b, _, _ in out)
    began = time.perf_counter()
    with target.connect() as conn:
        copyload._finish_schema(conn, system.tables)
    return data_seconds, data_seconds + time.perf_counter() - began, sum(n for _, _, n in out)


def harness_load(server_uri: str, scale: float, workers: int, batch: int) -> tuple[float, float, int]:
    system = load_system("bmd")
    target = resolve(server_uri, "bench_harness_load", True)
    params = LoadParams(system="bmd", database=target.database, seed=SEED, scale=scale, as_of=AS_OF,
                        batch_size=batch, workers=workers)
    result = copyload.PgLoader().run(target, system, params, drop=True, resume=False, progress=False)
    return result.data_seconds, result.seconds, result.documents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", default=None)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()
    from harness.servers import pgcluster

    with pgcluster.given_or_throwaway(args.uri, "harness-pgbench-") as uri:
        raw_data, raw_total, raw_rows = raw_copy(uri, args.scale, args.workers, args.batch_size)
        h_data, h_total, h_rows = harness_load(uri, args.scale, args.workers, args.batch_size)
    assert raw_rows == h_rows, (raw_rows, h_rows)
    print(f"BMD on PostgreSQL, scale {args.scale:g}: {h_rows:,} rows, {args.workers} workers, "
          f"batches of {args.batch_size}")
    print(f"{'':28}{'harness load':>14}{'raw COPY':>12}{'ratio':>8}")
    for label, h, r in (("data phase (s)", h_data, raw_data), ("end to end with schema (s)", h_total, raw_total)):
        print(f"{label:28}{h:>14.2f}{r:>12.2f}{r / h:>8.2f}")
    ratio = raw_total / h_total
    print(f"throughput ratio harness/raw (end to end): {ratio:.2f} — target >= 0.9: "
          f"{'met' if ratio >= 0.9 else 'NOT met'}")


if __name__ == "__main__":
    main()
