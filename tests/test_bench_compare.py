"""History, `harness compare` and the `--baseline` regression gate, on real run records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

from harness.bench.history import compare_query
from harness.bench.recorder import decode, encode, new_histogram, values_and_counts
from harness.servers import Server
from tests.bench_workloads import POINT_READ


def _scaled(record: dict, factor: float, new_id: str) -> dict:
    """A copy of `record` whose latencies are multiplied by `factor` (bucket by bucket)."""
    out = copy.deepcopy(record)
    out["id"] = new_id
    for q in out["queries"]:
        for kind in ("service", "latency"):
            values, counts = values_and_counts(decode(q["hdr"][kind]))
            h = new_histogram()
            for v, c in zip(values, counts, strict=True):
                h.record_value(max(1, int(v * factor)), c)
            q["hdr"][kind] = encode(h)
    return out


def _run(cli, server: Server, db: str, out: Path, *extra: str):
    workload = out.parent / "point.py"
    workload.write_text(POINT_READ)
    return cli("bench", "masterx", "--uri", server.uri, "--db", db, "--workload", str(workload), "--requests", "600",
               "--no-index-check", "--no-metrics", "--sla", "*=600000", "--out", str(out), *extra)


def test_compare_and_baseline_gate(server: Server, loaded, cli, tmp_path) -> None:
    db = loaded("masterx", 0.02, purpose="writes").name
    out = tmp_path / "reports"
    first = _run(cli, server, db, out)
    assert first.returncode == 0, first.stderr
    [path] = list((out / "history").glob("*.json"))
    record = json.loads(path.read_text())
    same = _scaled(record, 1.0, record["id"] + "-copy")
    slower = _scaled(record, 2.0, record["id"] + "-slower")
    for r in (same, slower):
        (out / "history" / f"{r['id']}.json").write_text(json.dumps(r))
    res = cli("compare", record["id"], same["id"], "--out", str(out))
    assert res.returncode == 0, res.stderr + res.stdout
    assert "no significant regression" in res.stderr
    res = cli("compare", record["id"], slower["id"], "--out", str(out), "--json")
    assert res.returncode == 1
    result = json.loads(res.stdout)
    assert result["regressed"], result
    # the gate: a baseline far faster than this server → the new run regressed against it
    faster = _scaled(record, 0.2, record["id"] + "-faster")
    (out / "history" / f"{faster['id']}.json").write_text(json.dumps(faster))
    gated = _run(cli, server, db, out, "--baseline", faster["id"])
    assert gated.returncode == 1, gated.stderr
    assert "regressed" in gated.stderr and faster["id"] in gated.stderr
    bad = cli("compare", "nosuchrun", record["id"], "--out", str(out))
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


def _hist(values: np.ndarray) -> str:
    h = new_histogram()
    for v in values:
        h.record_value(int(v))
    return encode(h)


def test_noise_is_not_a_regression_but_a_real_shift_is() -> None:
    rng = np.random.default_rng(3)
    base = rng.lognormal(np.log(2000), 0.5, 3000)  # µs
    noise = rng.lognormal(np.log(2000), 0.5, 3000)
    shifted = rng.lognormal(np.log(2600), 0.5, 3000)
    assert compare_query("q", _hist(base), _hist(noise)).verdict == "no significant change"
    c = compare_query("q", _hist(base), _hist(shifted))
    assert c.verdict == "regressed" and c.ci_low > 1 and c.p_value < 0.01
    tiny = compare_query("q", _hist(base[:10]), _hist(shifted[:10]))
    assert tiny.verdict == "insufficient data"
