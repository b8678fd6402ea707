"""Backup throughput and memory, measured side by side in one run.

For two data sizes of masterx on a sandbox server started here (the reference server by default):
- raw:     `mongodump --archive=FILE --gzip --db DB` (the tool alone, to local disk);
- harness: `harness backup masterx --to s3://...` against moto's S3 server (multipart upload,
           archive inspection, checksums, manifest), as a separate process.
Rounds alternate raw/harness; medians are reported. Throughput ratio = raw time / harness time
(the same archive bytes). Peak memory is the harness process's VmHWM (mongodump excluded):
bounded means it does not grow with the data size.

Targets (issue #4): harness >= 0.9x raw; peak memory independent of data size.
Usage: python benchmarks/backup_throughput.py [--scales 0.5,2] [--rounds 3] [--backend documentdb]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness import load as loader  # noqa: E402
from harness.datagen import utc_day  # noqa: E402
from harness.servers import connect, embedded  # noqa: E402
from harness.spec import load_system  # noqa: E402
from harness.tools import find_tool  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_dump(uri: str, db: str, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([find_tool("mongodump"), f"--uri={uri}", f"--db={db}", f"--archive={out}", "--gzip"],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def peak_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def harness_dump(uri: str, db: str, dest: str, env: dict[str, str]) -> tuple[float, float, int, int]:
    """(wall seconds, streaming seconds from the manifest, peak RSS KiB, archive bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "backup", "masterx", "--uri", uri, "--db", db,
                             "--to", dest, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=REPO, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, peak_kib(proc.pid) or 0)
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"harness backup failed: {err.strip().splitlines()[-1]}")
    manifest = json.loads(out)["manifest"]
    return wall, manifest["duration_seconds"], peak, manifest["archive"]["bytes"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.5,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", default="documentdb", choices=["documentdb", "nx-27017"])
    args = ap.parse_args()
    if not find_tool("mongodump"):
        raise SystemExit("mongodump not found: run scripts/setup-tools.sh")
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    state = embedded.launch(args.backend, work / "data")
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{moto_port}"}
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    import boto3

    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"]).create_bucket(Bucket="bench")
    rows = []
    try:
        server = connect(state["uri"], "bench")
        print(f"server: {server.caps.server}; S3: moto at 127.0.0.1:{moto_port}; rounds: {args.rounds}")
        for scale in (float(s) for s in args.scales.split(",")):
            db = f"bench_{str(scale).replace('.', '_')}"
            params = loader.LoadParams(system="masterx", database=db, seed=1, scale=scale,
                                       as_of=utc_day(), batch_size=500, workers=2)
            loader.run(server, load_system("masterx"), params, drop=True, progress=False)
            handle = server.client()[db]
            docs = sum(handle[c].estimated_document_count() for c in handle.list_collection_names())
            raw_t, wall_t, stream_t, peaks = [], [], [], []
            size = 0
            for _ in range(args.rounds):
                raw_t.append(raw_dump(state["uri"], db, work / "raw.archive.gz"))
                wall, stream, peak, size = harness_dump(state["uri"], db, f"s3://bench/s{scale}", env)
                wall_t.append(wall)
                stream_t.append(stream)
                peaks.append(peak)
            raw_size = (work / "raw.archive.gz").stat().st_size
            rows.append({"scale": scale, "documents": docs, "archive_mb": size / 1e6, "raw_archive_mb": raw_size / 1e6,
                         "raw_s": statistics.median(raw_t), "harness_stream_s": statistics.median(stream_t),
                         "harness_wall_s": statistics.median(wall_t), "peak_mib": max(peaks) / 1024})
    finally:
        moto.stop()
        embedded.terminate(state)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'scale':>6} {'docs':>8} {'archive MB':>10} {'raw s':>7} {'harness s':>10} {'wall s':>7} "
          f"{'ratio':>6} {'ratio(wall)':>11} {'peak MiB':>9}")
    for r in rows:
        r["ratio"] = r["raw_s"] / r["harness_stream_s"]
        r["ratio_wall"] = r["raw_s"] / r["harness_wall_s"]
        print(f"{r['scale']:>6g} {r['documents']:>8,} {r['archive_mb']:>10.1f} {r['raw_s']:>7.2f} "
              f"{r['harness_stream_s']:>10.2f} {r['harness_wall_s']:>7.2f} {r['ratio']:>6.2f} {r['ratio_wall']:>11.2f} "
              f"{r['peak_mib']:>9.1f}")
    growth = rows[-1]["peak_mib"] / rows[0]["peak_mib"] if len(rows) > 1 else 1.0
    data_growth = rows[-1]["archive_mb"] / rows[0]["archive_mb"] if len(rows) > 1 else 1.0
    print(f"\nthroughput to S3 vs raw mongodump to a file: {min(r['ratio'] for r in rows):.2f}x at worst "
          f"(streaming time; target >= 0.90x); including process start-up and server probe: "
          f"{min(r['ratio_wall'] for r in rows):.2f}x")
    print(f"peak harness memory: {rows[0]['peak_mib']:.0f} MiB -> {rows[-1]['peak_mib']:.0f} MiB "
          f"({growth:.2f}x) while the archive grew {data_growth:.1f}x (bounded: part size x in-flight parts)")


if __name__ == "__main__":
    main()
