"""docker-compose.yml, Dockerfile and .env.example, checked by parsing them (no Docker here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_every_part_is_a_service(services: dict[str, Any]) -> None:
    expected = {"postgres", "redis", "minio", "createbucket", "migrate", "worker-gpu", "worker-cpu",
                "dashboard"}
    assert expected <= set(services)


def test_long_running_services_have_health_checks(services: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "minio", "worker-gpu", "worker-cpu", "dashboard"):
        check = services[name].get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}
        assert int(check["retries"]) >= 3


def test_redis_never_evicts_and_persists(services: dict[str, Any]) -> None:
    command = _command(services["redis"])
    assert re.search(r"--maxmemory-policy\s+noeviction", command)
    assert re.search(r"--appendonly\s+yes", command)


def test_depends_on_uses_conditions(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert isinstance(rule, dict), f"{name} -> {dependency} has no condition"
            one_shot = dependency in {"migrate", "createbucket"}
            wanted = "service_completed_successfully" if one_shot else "service_healthy"
            assert rule["condition"] == wanted, f"{name} -> {dependency}"


@pytest.mark.parametrize("worker", ["worker-gpu", "worker-cpu"])
def test_workers_wait_for_migration_bucket_and_services(services: dict[str, Any],
                                                        worker: str) -> None:
    depends = services[worker]["depends_on"]
    assert {"migrate", "createbucket", "redis", "postgres", "minio"} <= set(depends)


def test_migrate_and_bucket_are_one_shot(services: dict[str, Any]) -> None:
    assert _command(services["migrate"]) == "unbrand db upgrade"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    entry = " ".join(services["createbucket"]["entrypoint"])
    assert "mc mb --ignore-existing" in entry
    assert services["createbucket"]["image"].startswith("minio/mc")
    assert services["migrate"]["restart"] == services["createbucket"]["restart"] == "no"


def test_gpu_worker_reserves_an_nvidia_gpu(services: dict[str, Any]) -> None:
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert "--queues gpu" in _command(services["worker-gpu"])


def test_cpu_worker_is_behind_a_profile(services: dict[str, Any]) -> None:
    cpu = services["worker-cpu"]
    assert cpu["profiles"] == ["cpu"]
    assert "--queues cpu" in _command(cpu)
    assert "deploy" not in cpu
    assert cpu["build"]["args"]["TORCH_INDEX"] == "cpu"


def test_services_share_settings_from_the_environment(services: dict[str, Any]) -> None:
    for name in ("migrate", "worker-gpu", "worker-cpu", "dashboard"):
        env = services[name]["environment"]
        assert env["UNBRAND_BROKER_URL"] == "redis://redis:6379/0"
        assert env["UNBRAND_DATABASE_URL"].startswith("postgresql+psycopg2://")
        assert "@postgres:5432/" in env["UNBRAND_DATABASE_URL"]
        assert env["UNBRAND_S3_ENDPOINT_URL"] == "http://minio:9000"
        # secrets come from .env, never written into the file
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD")
    assert "dashboard --host 0.0.0.0" in _command(services["dashboard"])


def test_env_example_names_every_variable_the_compose_file_uses() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    defined = {
        line.split("=", 1)[0]
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    assert used - defined == set()


def test_dockerfile_pins_torch_and_runs_unprivileged() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r'torch==\$\{TORCH_VERSION\}', text)
    assert re.search(r"^ARG TORCH_VERSION=\d+\.\d+\.\d+$", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    for path in re.findall(r"^COPY (\S+)", text, re.M):
        assert (REPO / path).exists(), path
    assert "pip install -e ." in text  # editable: migrations/ is found beside scheduler/


def test_an_unedited_env_example_is_refused_by_the_settings() -> None:
    from scheduler.errors import ConfigError
    from scheduler.settings import get_settings

    env = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    )
    url = (f"postgresql+psycopg2://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
           f"@postgres:5432/{env['POSTGRES_DB']}")
    with pytest.raises(ConfigError, match="placeholder"):
        get_settings(database_url=url)
    with pytest.raises(ConfigError, match="placeholder"):
        get_settings(aws_secret_access_key=env["MINIO_ROOT_PASSWORD"])
