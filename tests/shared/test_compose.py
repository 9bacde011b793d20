"""docker-compose.yml is valid for a real compose parser and every service has a healthcheck."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_parses_with_docker_compose():
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose (Debian package) is installed by `make deps`"
    result = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_every_compose_service_has_a_healthcheck_and_services_run_migrations_as_non_root():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    expected = {"postgres", "kafka", "ticketing", "dispatch", "parts", "settlement", "prometheus", "grafana"}
    assert expected <= set(services)
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        if hc is None and "<<" in svc:
            hc = svc["<<"].get("healthcheck")
        assert hc and hc.get("test"), f"{name} has no healthcheck"
    assert services["kafka"]["image"] == "apache/kafka:4.2.0"
    for name in ("ticketing", "dispatch", "parts", "settlement"):
        dockerfile = (ROOT / "services" / name / "Dockerfile").read_text()
        assert "USER app" in dockerfile and "HEALTHCHECK" in dockerfile


def test_grafana_datasource_and_dashboard_provisioning_exist():
    assert (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").exists()
    assert (ROOT / "deploy/grafana/provisioning/dashboards/aftersales.yml").exists()


def test_kafka_cluster_ids_never_start_with_a_dash():
    """StorageTool reads a leading '-' as an option: a fresh clone must never draw such an id."""
    from aftersales_shared.dev.devstack import new_cluster_id

    ids = [new_cluster_id() for _ in range(5000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
