"""Passwords never printed: one redaction rule (SQLAlchemy's URL parsing, password hidden) for
database, broker and S3 endpoint URLs, wherever a command prints one or an error quotes one."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.errors import ConfigError, StorageError, TransientQueueError
from scheduler.settings import get_settings, redact_text, redact_url
from scheduler.storage import open_storage
from unbrand.cli.app import make_app
from worker.services import wait_for_broker

# Characters that a URL splitter reads as the end of the password, the host or the path.
HARD_PASSWORDS = ["S3cretPW", "pa/ss", "pa#ss", "pa?ss", "a/b#c?d", "p@ss", "x:y", "%2Fz"]


@pytest.mark.parametrize("password", HARD_PASSWORDS)
@pytest.mark.parametrize("template", [
    "postgresql+psycopg2://postgres:{pw}@127.0.0.1:5432/test",
    "redis://:{pw}@127.0.0.1:6379/0",
    "rediss://default:{pw}@cache.example:6380/1?ssl_cert_reqs=none",
    "http://minio:{pw}@127.0.0.1:9000",
])
def test_redact_url_hides_any_password(template: str, password: str) -> None:
    shown = redact_url(template.format(pw=password))
    assert password not in shown
    assert ":***@" in shown
    host = template.split("@", 1)[1].split("/", 1)[0]
    assert host in shown  # what the URL points at stays readable


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://app:hunter2@db:5432/unbrand", "postgresql://app:***@db:5432/unbrand"),
    ("postgresql://app@db/unbrand", "postgresql://app@db/unbrand"),
    ("sqlite:////tmp/unbrand.db", "sqlite:////tmp/unbrand.db"),
    ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ("postgresql://app@db/x?password=hunter2&sslmode=require",
     "postgresql://app@db/x?password=***&sslmode=require"),
    ("not a url", "not a url"),
])
def test_redact_url_keeps_what_is_not_secret(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_hides_urls_inside_messages() -> None:
    message = ('Could not connect to the endpoint URL: "http://ak:a/b#c@127.0.0.1:9/b/k" '
               "and redis://:p?w@h:1/0.")
    shown = redact_text(message)
    assert "a/b#c" not in shown and "p?w" not in shown
    assert '"http://ak:***@127.0.0.1:9/b/k"' in shown and "redis://:***@h:1/0" in shown


def test_settings_repr_hides_the_endpoint_password() -> None:
    settings = get_settings(s3_endpoint_url="http://ak:S3cret/x@127.0.0.1:9000")
    assert "S3cret" not in repr(settings) and "ak:***@127.0.0.1:9000" in repr(settings)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_s3_errors_do_not_quote_endpoint_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://ak:S3cret/pw@127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sk-value")
    settings = get_settings(s3_endpoint_url=endpoint, s3_region="us-east-1")
    storage, key = open_storage("s3://bucket/a.jpg", settings=settings)
    storage.client.meta.config.retries = {"max_attempts": 1}  # type: ignore[attr-defined]
    with pytest.raises(StorageError) as raised:
        storage.read_bytes(key)
    assert "S3cret" not in str(raised.value) and "ak:***@127.0.0.1" in str(raised.value)

    result = CliRunner().invoke(make_app(), [
        "submit", "s3://bucket/ds", "--output", "s3://bucket/out", "--dry-run"],
        env={"UNBRAND_S3_ENDPOINT_URL": endpoint, "UNBRAND_DATABASE_URL": "sqlite://",
             "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.exit_code == 2, result.output
    assert "S3cret" not in result.output and "error:" in result.output


def test_broker_errors_do_not_quote_the_password() -> None:
    port = _closed_port()
    with pytest.raises(TransientQueueError) as raised:
        wait_for_broker(f"redis://:pa%2Fss%23w%3Frd@127.0.0.1:{port}/0", timeout=0.3,
                        interval=0.1)
    assert "pa%2Fss" not in str(raised.value) and f":***@127.0.0.1:{port}" in str(raised.value)
    with pytest.raises(ConfigError) as refused:  # redis cannot parse a raw '/' in a password
        wait_for_broker(f"redis://:pa/ss#w?rd@127.0.0.1:{port}/0", timeout=0.3)
    for piece in ("'pa'", "pa/ss", "ss#w", "w?rd"):  # redis's own text quoted 'pa'
        assert piece not in str(refused.value)


def _with_password(postgres_url: str, password: str) -> str:
    """The URL with `password` written into it as people do: raw, not percent-encoded
    (PostgreSQL here trusts local connections: the password is carried, never checked)."""
    parsed = sa.make_url(postgres_url)
    return (f"{parsed.drivername}://{parsed.username}:{password}@{parsed.host}:{parsed.port}/"
            f"{parsed.database}")


@pytest.mark.parametrize("password", ["S3cretPW", "pa/ss#w?rd"])
def test_db_and_dashboard_commands_print_no_password(
    postgres_url: str, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    url = _with_password(postgres_url, password)
    upgraded = CliRunner().invoke(make_app(), ["db", "upgrade", "--url", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert password not in upgraded.output and "postgres:***@127.0.0.1" in upgraded.output

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    started = CliRunner().invoke(make_app(), ["dashboard", "--db", url, "--port", "8999"])
    assert started.exit_code == 0, started.output
    assert served and served[0]["port"] == 8999
    driver = sa.make_url(postgres_url).drivername
    assert password not in started.output and f"reading {driver}://postgres:***@" \
        in started.output
