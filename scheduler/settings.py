"""Process settings read from the environment (prefix `UNBRAND_`), validated once.

Every process (CLI, worker, dashboard) builds one `Settings` from its environment.
AWS credentials are read by boto3 itself from the standard `AWS_*` variables; the
secret key is only looked at here to refuse placeholders, never stored in logs:
`redact_url` hides passwords in URLs before anything prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

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
        default=10.0, gt=0, description="Seconds between job/worker heartbeats."
    )
    stale_after: float = Field(
        default=60.0,
        gt=0,
        description="A running job without a heartbeat for this long is requeued by the live "
        "workers' sweep (its worker vanished).",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="A job whose worker vanished this many times (killed, out of memory) "
        "fails instead of being run again.",
    )
    read_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one read of an input, mask or truth file may take before the job "
        "fails (a named pipe, a hung network file system).",
    )

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        """An http(s)://host[:port] URL (boto3 would fail later with a long traceback)."""
        if not value or not value.strip():
            return None
        scheme, _, rest = value.strip().partition("://")
        # the host is what follows the last "@" (a raw "/" may sit in a password before it)
        host, _, port = rest.rpartition("@")[2].split("/", 1)[0].partition(":")
        if scheme.lower() not in ("http", "https") or not host or (port and not port.isdigit()):
            raise ValueError(f"{redact_url(value)!r} is not an http:// or https:// URL "
                             "(e.g. http://127.0.0.1:9000)")
        return value.strip()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """repr()/str() with passwords in URLs hidden: settings may end up in logs."""
        for name, value in super().__repr_args__():
            if name in ("database_url", "broker_url", "s3_endpoint_url") and isinstance(value, str):
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
    for name in ("database_url", "broker_url", "s3_endpoint_url"):
        url = getattr(settings, name)
        password = _password(url) if url else None
        if password is not None and _is_placeholder(password):
            raise ValueError(f"the password in UNBRAND_{name.upper()} is a placeholder value")


def _password(url: str) -> str | None:
    """The password of a URL as redact_url reads it (None when there is none)."""
    try:
        return make_url(url).password  # type: ignore[return-value]
    except (ArgumentError, ValueError):
        return None


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
    """The URL with its password shown as `***`, safe to print or log.

    One rule for every URL (database, broker, S3 endpoint): SQLAlchemy's URL parsing, which
    takes everything between the user name's ':' and the '@' as the password (so a password
    with '/', '#' or '?' is found whole), rendered with the password hidden. When that reading
    is doubtful (an '@' left after the credentials, text SQLAlchemy cannot parse) everything up
    to the last '@' is hidden instead. Query parameters named like a secret are hidden too.
    """
    if not url:
        return ""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _hide_secret_query(_hide_userinfo(url))
    if parsed.password is None and "@" not in (parsed.host or ""):
        return _hide_secret_query(url)
    if "@" in (parsed.host or "") or "@" in (parsed.database or ""):
        return _hide_secret_query(_hide_userinfo(url))
    return _hide_secret_query(parsed.render_as_string(hide_password=True))


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_SECRET_QUERY = re.compile(r"([?&;][^=&#]*(?:password|passwd|pwd|secret|token)[^=&#]*=)[^&#]*",
                           re.IGNORECASE)


def redact_text(text: str) -> str:
    """`text` (an error message, a log line) with every URL in it passed through redact_url."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def _hide_userinfo(url: str) -> str:
    """`scheme://user:***@rest` from the last '@' on: the conservative reading."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = credentials.split(":", 1)[0] if ":" in credentials else credentials
    if ":" not in credentials and "/" not in user:
        return url  # a user name only: nothing secret
    return f"{scheme}://{user.split('/', 1)[0]}:***@{host}"


def _hide_secret_query(url: str) -> str:
    return _SECRET_QUERY.sub(r"\1***", url)
