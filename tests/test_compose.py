"""docker-compose.yml, Dockerfile, .dockerignore and .env.example: parsed here, and the compose
file validated by the real compose tool (Debian's docker-compose validates `config` without a
Docker engine; scripts/test.sh installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.fixtures.services import service_missing

REPO = Path(__file__).resolve().parents[1]
ONE_SHOT = {"check-config", "migrate", "createbucket"}
GPU_WORKERS = ("worker-gpu", "worker-gpu1")
WORKERS = (*GPU_WORKERS, "worker-cpu")
PLACEHOLDER_FREE = {"POSTGRES_PASSWORD": "pg-s3cret-1", "S3_SECRET_KEY": "s3-s3cret-1"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _env_example() -> dict[str, str]:
    return dict(line.split("=", 1)
                for line in (REPO / ".env.example").read_text().splitlines()
                if line and not line.startswith("#") and "=" in line)


def _default(text: str) -> str:
    """The default of a `${NAME:-default}` value (the text itself when it has none)."""
    match = re.fullmatch(r"\$\{[A-Z_0-9]+:-([^}]*)\}", text)
    return match.group(1) if match else text


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)",
                                                          duration))


def test_every_part_is_a_service(services: dict[str, Any]) -> None:
    expected = {"check-config", "postgres", "redis", "s3", "createbucket", "migrate",
                "worker-gpu", "worker-gpu1", "worker-cpu", "dashboard"}
    assert set(services) == expected


def test_every_image_is_pinned_and_none_is_minio(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest", name
        if "build" not in service:  # pulled from a registry: a real version number
            assert re.match(r"v?\d+\.\d+", tag), (name, image)
        assert "minio" not in repository, name


def test_long_running_services_have_health_checks(services: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "s3", *WORKERS, "dashboard"):
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
            wanted = ("service_completed_successfully" if dependency in ONE_SHOT
                      else "service_healthy")
            assert rule["condition"] == wanted, f"{name} -> {dependency}"


def test_placeholder_passwords_are_refused_before_any_volume_is_initialised(
    services: dict[str, Any],
) -> None:
    check = services["check-config"]
    assert _command(check) == "unbrand config" and check["restart"] == "no"
    for stateful in ("postgres", "s3"):
        assert services[stateful]["depends_on"]["check-config"]["condition"] == (
            "service_completed_successfully")
    # what check-config sees with an unedited .env.example: refused, exit 2
    env = {key: re.sub(r"\$\{(\w+)(?::[-?][^}]*)?\}",
                       lambda m: _env_example().get(m.group(1), ""), str(value))
           for key, value in check["environment"].items()}
    from unbrand.cli.app import make_app

    result = CliRunner().invoke(make_app(), ["config"], env=env)
    assert result.exit_code == 2 and "placeholder" in result.output
    fixed = {k: v.replace("changeme", "s3cret-value") for k, v in env.items()}
    assert CliRunner().invoke(make_app(), ["config"], env=fixed).exit_code == 0


@pytest.mark.parametrize("worker", WORKERS)
def test_workers_wait_for_migration_bucket_and_services(services: dict[str, Any],
                                                        worker: str) -> None:
    depends = services[worker]["depends_on"]
    assert {"migrate", "createbucket", "redis", "postgres", "s3"} <= set(depends)
    assert "--events" in _command(services[worker])  # task events for Flower / celery events


def test_workers_get_longer_to_stop_than_a_job_may_run(services: dict[str, Any]) -> None:
    limit = int(_env_example()["UNBRAND_TASK_TIME_LIMIT"])
    assert limit == 600  # the settings' default
    for worker in WORKERS:
        grace = _default(services[worker]["stop_grace_period"])
        assert _seconds(grace) > limit, worker
    assert _seconds(_env_example()["WORKER_STOP_GRACE"]) > limit


def test_migrate_and_bucket_are_one_shot(services: dict[str, Any]) -> None:
    assert _command(services["migrate"]) == "unbrand db upgrade"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "create_bucket(Bucket=bucket)" in _command(services["createbucket"])
    assert services["createbucket"]["environment"]["S3_BUCKET"].startswith("${S3_BUCKET")
    assert all(services[name]["restart"] == "no" for name in ONE_SHOT)


def test_each_gpu_worker_reserves_its_own_gpu(services: dict[str, Any]) -> None:
    """`count: 1` under --scale gives every replica the same GPU: name the GPU instead."""
    seen = []
    for worker in GPU_WORKERS:
        [device] = services[worker]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
        assert "count" not in device
        [gpu] = device["device_ids"]
        seen.append(_default(gpu))
        command = _command(services[worker])
        assert "--queues gpu" in command and "--pool solo" in command
        assert "--concurrency" not in command  # solo ignores it; unbrand worker refuses it
    assert len(set(seen)) == len(seen) == 2
    assert services["worker-gpu1"]["profiles"] == ["gpu1"]


def test_cpu_worker_is_behind_a_profile(services: dict[str, Any]) -> None:
    cpu = services["worker-cpu"]
    assert cpu["profiles"] == ["cpu"]
    assert "--queues cpu" in _command(cpu) and "--pool prefork" in _command(cpu)
    assert "deploy" not in cpu
    assert cpu["build"]["args"]["TORCH_INDEX"] == "cpu"


def test_ports_are_published_on_loopback_unless_the_user_opts_in(
    services: dict[str, Any],
) -> None:
    published = [(name, port) for name, service in services.items()
                 for port in service.get("ports", [])]
    assert {name for name, _ in published} == {"postgres", "redis", "s3", "dashboard"}
    for name, port in published:
        assert port.startswith("${BIND_ADDRESS:-127.0.0.1}:"), (name, port)
    assert _env_example()["BIND_ADDRESS"] == "127.0.0.1"


def test_services_share_settings_from_the_environment(services: dict[str, Any]) -> None:
    for name in ("check-config", "migrate", "createbucket", *WORKERS, "dashboard"):
        env = services[name]["environment"]
        assert env["UNBRAND_BROKER_URL"] == "redis://redis:6379/0"
        assert env["UNBRAND_DATABASE_URL"].startswith("postgresql://")  # psycopg 3
        assert "@postgres:5432/" in env["UNBRAND_DATABASE_URL"]
        assert env["UNBRAND_S3_ENDPOINT_URL"] == "http://s3:8333"
        # secrets come from .env, never written into the file
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${S3_SECRET_KEY")
    assert "dashboard --host 0.0.0.0" in _command(services["dashboard"])


def test_env_example_names_every_variable_the_compose_file_uses() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert used - set(_env_example()) == set()


def test_dockerfile_pins_its_base_and_torch_installs_plainly_and_runs_unprivileged() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim-\w+$", text, re.M)
    assert re.search(r'torch==\$\{TORCH_VERSION\}', text)
    assert re.search(r"^ARG TORCH_VERSION=\d+\.\d+\.\d+$", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    for path in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for part in path.split():
            assert (REPO / part).exists(), part
    assert re.search(r"^RUN pip install \. ", text, re.M)
    assert "pip install -e" not in text  # the migrations travel inside the package now


def test_dockerignore_keeps_the_venv_git_and_secrets_out() -> None:
    rules = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then only what the image needs back in
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert {".venv", ".git", ".env", "tests", "unbrand-out", "bench"}.isdisjoint(allowed)
    copied = {part.split("/")[0] for line in re.findall(r"^COPY (.+) \S+$",
              (REPO / "Dockerfile").read_text(), re.M) for part in line.split()}
    assert copied <= allowed


def _compose_tool() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    service_missing("docker-compose is not installed (apt-get install docker-compose)")


def test_the_real_compose_tool_accepts_the_file(tmp_path: Path) -> None:
    tool = _compose_tool()
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{key}={PLACEHOLDER_FREE.get(key, value)}\n"
                                for key, value in _env_example().items()))
    base = [*tool, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml"),
            "--env-file", str(env_file)]

    checked = subprocess.run([*base, "--profile", "cpu", "--profile", "gpu1", "config", "-q"],
                             capture_output=True, text=True, timeout=120)
    services = subprocess.run([*base, "--profile", "cpu", "--profile", "gpu1", "config",
                               "--services"], capture_output=True, text=True, timeout=120)
    env_file.write_text("POSTGRES_PASSWORD=x\n")  # S3_SECRET_KEY missing: refused at once
    refused = subprocess.run([*base, "config", "-q"], capture_output=True, text=True,
                             timeout=120)

    assert checked.returncode == 0, checked.stderr
    assert len(services.stdout.split()) == 10, services.stdout
    assert refused.returncode != 0 and "S3_SECRET_KEY" in refused.stderr
