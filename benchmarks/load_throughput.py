"""Load throughput, measured side by side in one run on one machine.

(a) Generation: our pooled generator vs a naive generator that calls Faker once per field to
    build documents of exactly the same shape (same keys, nesting, array lengths, value types).
    Target: >= 20x per system.
(b) Loading: `harness load` end to end (generation in worker processes + unordered bulk inserts)
    vs the raw ceiling: `insert_many` of the same documents pre-built in memory, with the same
    number of client processes and batch size, on the same server. Target: >= 0.9.

Usage: python benchmarks/load_throughput.py [--uri URI] [--scale 0.2] [--systems masterx,doit]
Without --uri it uses the embedded default server (harness server start).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import load as loader  # noqa: E402
from harness.datagen import Gen  # noqa: E402
from harness.servers import resolve  # noqa: E402
from harness.spec import load_system, system_names  # noqa: E402

AS_OF = datetime(2026, 11, 1)


# --------------------------------------------------------------------------------------------
# (a) generation


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NAMES = ("name", "full_name", "username", "doctorName", "orderingDoctor", "prescriber", "labName")


def naive_like(fake: Any, template: Any, key: str = "") -> Any:
    """A document with the template's shape, every leaf from its own Faker call, choosing the
    provider a developer would write for that field: `"email": fake.email()`, names from
    fake.name(), UUIDs from fake.uuid4(), dates from fake.date_time_between(), text from
    fake.sentence()/paragraph(), enums from fake.random_element(), numbers from pyint/pyfloat."""
    if isinstance(template, dict):
        return {k: naive_like(fake, v, k) for k, v in template.items()}
    if isinstance(template, list):
        return [naive_like(fake, v, key) for v in template]
    if isinstance(template, bool):
        return fake.pybool()
    if isinstance(template, int):
        return fake.random_int(0, max(1, template * 2))
    if isinstance(template, float):
        return fake.pyfloat(min_value=0, max_value=max(1.0, template * 2))
    if isinstance(template, datetime):
        return fake.date_time_between(start_date="-6y", end_date="now")
    if isinstance(template, ObjectId):
        return ObjectId()
    if isinstance(template, str):
        if _UUID.match(template):
            return fake.uuid4()
        if "@" in template and " " not in template:
            return fake.email()
        if key in _NAMES:
            return fake.name()
        if len(template) > 120:
            return fake.paragraph()
        if " " in template:
            return fake.sentence()
        return fake.random_element((template, template.upper(), template.lower()))
    return template


def generation_ratio(system_name: str, n: int) -> tuple[float, float]:
    from faker import Faker

    system = load_system(system_name)
    counts = system.counts(1.0)
    gen = Gen(system, 42, AS_OF, counts)  # pools built here, once per process: not timed
    per_coll = max(1, n // len(system.collections))
    for coll in system.collections:  # warm-up, untimed: value and sub-document pools are per-process setup
        for i in range(counts[coll.name] - min(50, counts[coll.name]), counts[coll.name]):
            gen.begin(coll.name, i)
            coll.make(gen, i)
    templates: list[dict] = []
    start = time.perf_counter()
    for coll in system.collections:
        for i in range(min(per_coll, counts[coll.name])):
            gen.begin(coll.name, i)
            templates.append(coll.make(gen, i))
    ours = len(templates) / (time.perf_counter() - start)
    fake = Faker()
    fake.seed_instance(1)
    start = time.perf_counter()
    for template in templates:
        naive_like(fake, template)
    naive = len(templates) / (time.perf_counter() - start)
    return ours, naive


# --------------------------------------------------------------------------------------------
# (b) loading vs the raw insert ceiling


def _ceiling_worker(args: tuple[str, str, str, float, list[tuple[str, int, int]], int, Any, Any]) -> float:
    uri, system_name, database, scale, ranges, seed, barrier, _ = args
    from pymongo import MongoClient

    system = load_system(system_name)
    gen = Gen(system, seed, AS_OF, system.counts(scale))
    makers = {c.name: c.make for c in system.collections}
    batches = [(c, loader.build(gen, makers[c], c, a, b)) for c, a, b in ranges]  # pre-built: not timed
    db = MongoClient(uri)[database]
    db.command("ping")
    barrier.wait()
    for coll, docs in batches:
        db[coll].insert_many(docs, ordered=False)
    return time.perf_counter()


def raw_ceiling(uri: str, system_name: str, database: str, scale: float, workers: int, batch: int,
                seed: int) -> tuple[int, float]:
    system = load_system(system_name)
    counts = system.counts(scale)
    ranges = [(c.name, a, min(counts[c.name], a + batch)) for c in system.collections
              for a in range(0, counts[c.name], batch)]
    shares = [ranges[k::workers] for k in range(workers)]
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers + 1)
        with ctx.Pool(workers) as pool:
            pending = pool.map_async(_ceiling_worker, [(uri, system_name, database, scale, s, seed, barrier, None)
                                                       for s in shares])
            barrier.wait()
            start = time.perf_counter()
            ends = pending.get()
    return sum(counts.values()), max(ends) - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uri", default=os.environ.get("MONGODB_URI"))
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--docs", type=int, default=1500, help="documents per system for (a)")
    ap.add_argument("--systems", default=",".join(system_names()))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()
    systems = args.systems.split(",")
    random.seed(0)

    print("(a) generation: pooled generator vs one Faker call per field, same document shapes")
    print(f"{'system':<14}{'ours docs/s':>14}{'naive docs/s':>14}{'ratio':>9}  target >= 20x")
    for name in systems:
        ours, naive = generation_ratio(name, args.docs)
        verdict = "PASS" if ours / naive >= 20 else "FAIL"
        print(f"{name:<14}{ours:>14,.0f}{naive:>14,.0f}{ours / naive:>8.1f}x  {verdict}")

    server = resolve(args.uri)
    print(f"\n(b) loading on {server.caps.server} ({server.origin}), scale {args.scale}, "
          f"{args.workers} processes, batch {args.batch_size}")
    print(f"{'system':<14}{'docs':>9}{'harness docs/s':>16}{'raw docs/s':>13}{'ratio':>8}  target >= 0.9")
    client = server.client()
    for name in systems:
        system = load_system(name)
        db_h, db_r = f"bench_load_{name}_h", f"bench_load_{name}_r"
        for db_name in (db_h, db_r):
            client.drop_database(db_name)
        n, raw_s = raw_ceiling(server.uri, name, db_r, args.scale, args.workers, args.batch_size, 42)
        params = loader.LoadParams(name, db_h, 42, args.scale, AS_OF, batch_size=args.batch_size,
                                   workers=args.workers)
        result = loader.run(server, system, params, drop=True, progress=False, create_indexes=False)
        harness_s = result.data_seconds
        ratio = (n / harness_s) / (n / raw_s)
        print(f"{name:<14}{n:>9,}{n / harness_s:>16,.0f}{n / raw_s:>13,.0f}{ratio:>8.2f}  "
              f"{'PASS' if ratio >= 0.9 else 'FAIL'}")
        for db_name in (db_h, db_r):
            client.drop_database(db_name)
    print("\nBoth sides exclude index builds; the harness side includes generation, worker start-up, "
          "the batch journal and the final count check.")


if __name__ == "__main__":
    main()
