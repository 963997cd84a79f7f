"""Process settings read from the environment (prefix `UNBRAND_`), validated once.

Every process (CLI, worker, dashboard) builds one `Settings` from its environment.
AWS credentials are read by boto3 itself from the standard `AWS_*` variables; the
secret key is only looked at here to refuse placeholders, never stored in logs:
`redact_url` hides passwords in URLs before anything prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS
from scheduler.errors import ConfigError

# Values that people leave in example files; refused wherever a secret is set.
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "changethis", "change-me", "change_me", "change-this", "replaceme", "replace-me"}
)

Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]


class Settings(BaseSettings):
    """All knobs of unbrand; each field is `UNBRAND_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="UNBRAND_",
        env_file=None,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    database_url: str = Field(
        default="sqlite:///unbrand.db", description="SQLAlchemy URL of the job database."
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker URL (redis://...); required for submit/worker."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, moto); None = AWS."
    )
    s3_region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("UNBRAND_S3_REGION", "AWS_DEFAULT_REGION", "AWS_REGION"),
        description="Region for the S3 client; boto3's own default when unset.",
    )
    aws_secret_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY"),
        description="Only checked for placeholders; boto3 reads the credential itself.",
        repr=False,
    )
    model_weights: str | None = Field(
        default=None, description="Generator weights file; None = the shipped default weights."
    )
    device: Device = Field(default="auto", description="Inference device.")
    precision: Precision = Field(default="auto", description="Inference precision.")
    max_pixels: int = Field(
        default=DEFAULT_MAX_PIXELS, gt=0, description="Refuse images with more pixels (bomb guard)."
    )
    task_time_limit: int = Field(
        default=600, gt=0, description="Hard time limit of one job in seconds."
    )
    visibility_timeout: int = Field(
        default=3600,
        gt=0,
        description="Redis visibility timeout in seconds; must exceed task_time_limit.",
    )
    heartbeat_interval: float = Field(
        default=30.0, gt=0, description="Seconds between job/worker heartbeats."
    )
    stale_after: float = Field(
        default=300.0,
        gt=0,
        description="A running job without a heartbeat for this long may be requeued.",
    )

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        """An http(s)://host[:port] URL (boto3 would fail later with a long traceback)."""
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        try:
            parts.port  # noqa: B018  (a non-numeric port only fails when read)
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{redact_url(value)!r} is not an http:// or https:// URL "
                             "(e.g. http://127.0.0.1:9000)")
        return value.strip()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """repr()/str() with passwords in URLs hidden: settings may end up in logs."""
        for name, value in super().__repr_args__():
            if name in ("database_url", "broker_url") and isinstance(value, str):
                value = redact_url(value)
            yield name, value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.visibility_timeout <= self.task_time_limit:
            raise ValueError(
                f"visibility_timeout ({self.visibility_timeout} s) must be greater than "
                f"task_time_limit ({self.task_time_limit} s), or long jobs are redelivered twice"
            )
        if self.stale_after <= self.heartbeat_interval:
            raise ValueError(
                f"stale_after ({self.stale_after} s) must be greater than "
                f"heartbeat_interval ({self.heartbeat_interval} s)"
            )
        _refuse_placeholder_secrets(self)
        return self


def _refuse_placeholder_secrets(settings: Settings) -> None:
    """Raise ValueError when a secret is one of the well-known placeholders."""
    if settings.aws_secret_access_key is not None:
        if _is_placeholder(settings.aws_secret_access_key.get_secret_value()):
            raise ValueError("AWS_SECRET_ACCESS_KEY is a placeholder value: set a real secret")
    for name in ("database_url", "broker_url"):
        url = getattr(settings, name)
        password = urlsplit(url).password if url else None
        if password is not None and _is_placeholder(password):
            raise ValueError(f"the password in UNBRAND_{name.upper()} is a placeholder value")


def _is_placeholder(secret: str) -> bool:
    return secret.strip().lower() in PLACEHOLDER_SECRETS


def get_settings(**overrides: object) -> Settings:
    """Read the settings from the environment now (cheap; not cached so tests can change env).

    Keyword overrides take precedence over the environment. Raises ConfigError with a
    readable message (secrets never included) when a value is invalid.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from exc


def _describe(err: object) -> str:
    """One validation problem as text, without the offending input (it may be a secret)."""
    details = dict(err)  # type: ignore[call-overload]
    where = ".".join(str(part) for part in details.get("loc", ())) or "settings"
    message = str(details.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}"


def redact_url(url: str | None) -> str:
    """The URL with any password replaced by `***`, safe to print or log."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]  # host[:port] as written: a bad port must not raise
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
