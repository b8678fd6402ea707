"""Debian's Prometheus tools for the metrics tests: a Pushgateway and a Prometheus, each on a
free loopback port with private state (the Pushgateway's persistence file and Prometheus's
TSDB live in the test's tmp directory, never the packages' shared defaults), and promtool.

Missing packages skip the test with the reason printed; scripts/setup.sh installs them as root.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.servers.embedded import free_port

APT_HINT = "apt-get install -y prometheus prometheus-pushgateway (scripts/setup.sh does it as root)"


def need(*names: str) -> dict[str, str]:
    """Paths of the named executables; skip (reason printed with -ra) when one is missing."""
    found = {n: shutil.which(n) for n in names}
    missing = [n for n, p in found.items() if not p]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {APT_HINT}")
    return {n: p for n, p in found.items() if p}


def get(url: str, timeout: float = 5) -> str:
    return urllib.request.urlopen(url, timeout=timeout).read().decode()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            get(url + "/-/ready", timeout=1)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what} did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)


@contextmanager
def _process(argv: list[str], url: str, what: str, log: Path) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(url, proc, what, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def pushgateway(tmp: Path) -> Iterator[str]:
    """A Pushgateway with a private persistence file; yields its URL."""
    exe = need("prometheus-pushgateway")["prometheus-pushgateway"]
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [exe, f"--web.listen-address=127.0.0.1:{port}", f"--persistence.file={tmp / 'pushgateway.store'}"]
    with _process(argv, f"http://127.0.0.1:{port}", "prometheus-pushgateway", tmp / "pushgateway.log") as url:
        yield url


@contextmanager
def prometheus(tmp: Path, jobs: dict[str, tuple[str, bool]], interval: str = "1s") -> Iterator[str]:
    """A Prometheus scraping `jobs` ({name: (host:port, honor_labels)}) every `interval`, its
    TSDB in `tmp`; yields its URL."""
    exe = need("prometheus")["prometheus"]
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
              "scrape_configs": [{"job_name": name, "honor_labels": honor, "static_configs": [{"targets": [target]}]}
                                 for name, (target, honor) in jobs.items()]}
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    argv = [exe, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"]
    with _process(argv, f"http://127.0.0.1:{port}", "prometheus", tmp / "prometheus.log") as url:
        yield url


def query_range(prom: str, expr: str, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
    """Prometheus HTTP API /api/v1/query_range; the result's series (raises on an API error)."""
    qs = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step})
    body = json.loads(get(f"{prom}/api/v1/query_range?{qs}"))
    assert body["status"] == "success", body
    return body["data"]["result"]


def families(text: str, prefix: str) -> str:
    """The metric families of an exposition whose names start with `prefix` (HELP, TYPE, samples)."""
    keep = []
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            name = line.split()[2]
        elif line.strip() and not line.startswith("#"):
            name = re.split(r"[{\s]", line, maxsplit=1)[0]
        else:
            continue
        if name.startswith(prefix):
            keep.append(line)
    return "\n".join(keep) + "\n"


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` on an exposition (it lints naming too: _total, units, …)."""
    exe = need("promtool")["promtool"]
    return subprocess.run([exe, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
