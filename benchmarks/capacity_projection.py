"""Capacity model accuracy at larger scales: project a load at scale s to k·s, measure a real
load at k·s, print per-collection and total errors, all in one run.

Loads SYSTEM at s and k·s on a sandbox server started here (the reference server by default;
nx-27017 with --backend nx-27017) or on --uri, measures both with `harness capacity`'s measurement,
projects the small one ×k with the spec's Count model and measured per-document figures, and
compares every figure both measurements really report (counts, data sizes, storage; index
sizes where reported — page-granular or database-wide index figures are printed, not gated).

Target (issue #5): |error| <= 10% on every gated figure.
Usage: python benchmarks/capacity_projection.py [--system masterx] [--scale 0.25] [--factor 4]
       [--backend documentdb | --uri mongodb://...] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness import load as loader  # noqa: E402
from harness.capacity.measure import measure  # noqa: E402
from harness.capacity.validate import TARGET, validate  # noqa: E402
from harness.datagen import utc_day  # noqa: E402
from harness.servers import connect, embedded  # noqa: E402
from harness.spec import load_system  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", default="masterx")
    ap.add_argument("--scale", type=float, default=0.25, help="small scale s")
    ap.add_argument("--factor", type=float, default=4.0, help="k: the large load is at k·s")
    ap.add_argument("--backend", default="documentdb", choices=("documentdb", "nx-27017", "mongod", "docker"))
    ap.add_argument("--uri", default=None, help="use this server instead of starting one")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", action="store_true", help="keep the loaded databases (with --uri)")
    args = ap.parse_args()
    if not (args.scale > 0 and args.factor > 1):
        print("error: --scale must be > 0 and --factor > 1", file=sys.stderr)
        return 2
    system = load_system(args.system)
    state = None
    if args.uri:
        server = connect(args.uri, "uri")
    else:
        state = embedded.launch(args.backend, Path(tempfile.mkdtemp(prefix="capbench-")) / args.backend)
        server = connect(state["uri"], f"bench:{args.backend}")
    try:
        measured = []
        for s in (args.scale, args.scale * args.factor):
            name = f"capbench_{args.system}_{str(s).replace('.', '_')}"
            t0 = time.perf_counter()
            params = loader.LoadParams(system=system.name, database=name, seed=args.seed, scale=s,
                                       as_of=utc_day(datetime(2026, 11, 1)))
            loader.run(server, system, params, drop=True, progress=False)
            t1 = time.perf_counter()
            measured.append(measure(server.client()[name], system, server.caps, server.caps.server))
            print(f"loaded {args.system} at scale {s:g}: {measured[-1].documents:,} documents in {t1 - t0:.0f}s, "
                  f"measured in {time.perf_counter() - t1:.1f}s", flush=True)
        v = validate(measured[0], measured[1], system)
        print(f"\n{server.caps.server}: {args.system} projected from scale {args.scale:g} to "
              f"{args.scale * args.factor:g} (×{v.factor:g} users); target |error| <= {TARGET:.0%}\n")
        print(f"{'collection':22} {'figure':28} {'projected':>14} {'measured':>14} {'error':>8}  gate")
        for e in v.errors:
            gate = "gated" if e.gated else f"reported ({e.why_not_gated})"
            print(f"{e.collection:21} {e.figure:28} {e.projected:>14,.0f} {e.measured:>14,.0f} {e.error:>+8.2%} {gate}")
        if v.unavailable:
            print("\nnot reported by the server (not compared):", ", ".join(v.unavailable))
        w = v.worst
        print(f"\nworst gated error: {w.collection} {w.figure} {w.error:+.2%}" if w else "\nno gated figure")
        print("RESULT:", "PASS" if v.passed else "FAIL", f"(target {TARGET:.0%})")
        if args.uri and not args.keep:
            for m in measured:
                server.client().drop_database(m.database)
        return 0 if v.passed else 1
    finally:
        server.close()
        if state:
            embedded.terminate(state)


if __name__ == "__main__":
    sys.exit(main())
