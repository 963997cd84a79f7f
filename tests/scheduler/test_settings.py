"""Settings: environment parsing, validation, placeholder refusal, redaction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scheduler.errors import ConfigError
from scheduler.settings import Settings, get_settings, redact_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "UNBRAND_DATABASE_URL",
        "UNBRAND_BROKER_URL",
        "UNBRAND_S3_ENDPOINT_URL",
        "UNBRAND_S3_REGION",
        "UNBRAND_TASK_TIME_LIMIT",
        "UNBRAND_VISIBILITY_TIMEOUT",
        "UNBRAND_HEARTBEAT_INTERVAL",
        "UNBRAND_STALE_AFTER",
        "UNBRAND_MAX_PIXELS",
        "UNBRAND_DEVICE",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_and_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert settings.database_url == "sqlite:///unbrand.db"
    assert settings.broker_url is None
    assert settings.task_time_limit == 600
    assert settings.visibility_timeout == 3600
    assert settings.max_pixels == 100_000_000
    assert settings.device == "auto" and settings.precision == "auto"
    monkeypatch.setenv("UNBRAND_TASK_TIME_LIMIT", "90")
    monkeypatch.setenv("UNBRAND_MAX_PIXELS", "1000")
    monkeypatch.setenv("UNBRAND_DEVICE", "cpu")
    changed = get_settings()
    assert (changed.task_time_limit, changed.max_pixels, changed.device) == (90, 1000, "cpu")
    monkeypatch.setenv("UNBRAND_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="max_pixels"):
        get_settings()


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBRAND_DATABASE_URL", "postgresql://u@127.0.0.1/x")
    monkeypatch.setenv("UNBRAND_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("UNBRAND_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("UNBRAND_TASK_TIME_LIMIT", "120")
    monkeypatch.setenv("UNBRAND_VISIBILITY_TIMEOUT", "300")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("UNBRAND_DEVICE", "cpu")
    settings = get_settings()
    assert settings.database_url == "postgresql://u@127.0.0.1/x"
    assert settings.broker_url == "redis://127.0.0.1:6379/3"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert (settings.task_time_limit, settings.visibility_timeout) == (120, 300)
    assert settings.s3_region == "eu-west-1"
    assert settings.device == "cpu"


def test_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBRAND_DATABASE_URL", "sqlite:///env.db")
    assert get_settings(database_url="sqlite:///arg.db").database_url == "sqlite:///arg.db"


def test_visibility_timeout_must_exceed_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBRAND_TASK_TIME_LIMIT", "900")
    with pytest.raises(ConfigError, match="visibility_timeout .*900"):
        get_settings(visibility_timeout=900)


def test_stale_after_must_exceed_heartbeat() -> None:
    with pytest.raises(ConfigError, match="stale_after"):
        get_settings(heartbeat_interval=60, stale_after=30)


def test_bad_values_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBRAND_MAX_PIXELS", "-5")
    with pytest.raises(ConfigError, match="max_pixels"):
        get_settings()
    monkeypatch.delenv("UNBRAND_MAX_PIXELS")
    monkeypatch.setenv("UNBRAND_DEVICE", "tpu")
    with pytest.raises(ConfigError, match="device"):
        get_settings()


@pytest.mark.parametrize("secret", ["changeme", "ChangeThis", " change-me "])
def test_placeholder_aws_secret_refused(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    with pytest.raises(ConfigError, match="placeholder") as info:
        get_settings()
    assert secret.strip() not in str(info.value)


def test_placeholder_password_in_urls_refused() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        get_settings(database_url="postgresql://app:changethis@db/unbrand")
    with pytest.raises(ConfigError, match="BROKER_URL"):
        get_settings(broker_url="redis://:changeme@redis:6379/0")


def test_real_secret_accepted_and_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-123")
    settings = get_settings(database_url="postgresql://app:hunter2@db/unbrand")
    assert settings.aws_secret_access_key is not None
    assert settings.aws_secret_access_key.get_secret_value() == "s3cr3t-value-123"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)
    assert "hunter2" not in repr(settings) and "app:***@db" in repr(settings)
    assert settings.database_url == "postgresql://app:hunter2@db/unbrand"  # value intact


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.database_url = "sqlite:///other.db"  # type: ignore[misc]
    assert settings.database_url == "sqlite:///unbrand.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://app:hunter2@db:5432/unbrand", "postgresql://app:***@db:5432/unbrand"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("sqlite:///unbrand.db", "sqlite:///unbrand.db"),
        (None, ""),
    ],
)
def test_redact_url(url: str | None, expected: str) -> None:
    assert redact_url(url) == expected
