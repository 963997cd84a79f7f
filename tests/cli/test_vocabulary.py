"""One vocabulary on the CLI (the same concept has the same option on every verb, old names kept
as aliases, choices where the values are fixed) and the verbs `jobs` and `delete`."""

from __future__ import annotations

import enum
import json
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from scheduler.db import crud
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from unbrand.cli.app import make_app

CHOICES = {
    "device": ["auto", "cpu", "cuda"],
    "precision": ["auto", "fp32", "bf16", "fp16"],
    "format": ["auto", "openlogo", "masks", "manifest", "images"],
    "pool": ["prefork", "solo", "threads"],
}


def _commands() -> dict[str, Any]:
    """Every leaf command of the app by its full name ("run", "db upgrade", ...)."""
    found: dict[str, Any] = {}

    def walk(command: Any, prefix: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, f"{prefix} {name}".strip())
        else:
            found[prefix] = command

    walk(typer.main.get_command(make_app()), "")
    return found


def _options(command: Any) -> dict[str, Any]:
    return {p.name: p for p in command.params if p.param_type_name == "option"}


def _choices(option: Any) -> list[str]:
    """The values an Enum-typed option accepts (its annotation may be `X | None`)."""
    annotation = option.type_descriptor.annotation
    kinds = [a for a in (typing.get_args(annotation) or (annotation,)) if a is not type(None)]
    [kind] = kinds
    return [member.value for member in kind] if isinstance(kind, type) and issubclass(
        kind, enum.Enum) else []


def test_the_same_concept_has_the_same_flags_on_every_verb() -> None:
    commands = _commands()
    for verb, command in commands.items():
        options = _options(command)
        if "db" in options or "url" in options:
            database = options.get("db") or options["url"]
            assert "--db" in database.opts, verb
        if "out" in options:
            assert {"--out", "-o"} <= set(options["out"].opts), verb
        if "weights" in options:
            assert "-w" in options["weights"].opts, verb
        for name, choices in CHOICES.items():
            if name in options and name != "format" or (name == "format" and verb in
                                                          ("run", "submit")):
                assert _choices(options[name]) == choices, (verb, name)
    for verb in ("run", "submit"):
        assert {"--out", "--output", "-o"} <= set(_options(commands[verb])["out"].opts)
        assert {"--name", "-n"} <= set(_options(commands[verb])["name"].opts)
        assert "quality" in _options(commands[verb])
    for verb in ("db upgrade", "db downgrade", "db current"):
        assert {"--db", "--url"} <= set(_options(commands[verb])["url"].opts)
    assert {"jobs", "delete", "doctor"} <= set(commands)


@pytest.mark.parametrize("args", [
    ["run", "demo", "-o", "x", "--device", "tpu"],
    ["run", "demo", "-o", "x", "--precision", "fp8"],
    ["submit", "demo", "-o", "x", "--format", "zip"],
    ["worker", "--pool", "gevent"],
    ["jobs", "b", "--status", "lost"],
])
def test_values_outside_the_choices_are_refused_with_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 2 and "is not one of" in result.output


@pytest.fixture
def batch(db_session_factory: sessionmaker[Session], tmp_path: Path) -> dict[str, Any]:
    """Batch "b": 2 done (with output files), 1 failed, 1 queued."""
    outputs = []
    with session_scope(db_session_factory) as session:
        created = crud.create_batch(session, name="b", source="s", output_root=str(tmp_path))
        for index, status in enumerate(["done", "done", "failed", "queued"]):
            job = Job(batch_id=created.id, input_uri=f"file:///in/{index}.jpg", status=status,
                      mask_spec={"rel_path": f"{index}.jpg"}, attempts=int(status != "queued"))
            if status == "done":
                path = tmp_path / "b" / f"{index}.jpg"
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(b"jpeg")
                job.output_uri = path.as_uri()
                outputs.append(path)
            if status == "failed":
                job.error = "bad image: truncated"
            session.add(job)
    return {"outputs": outputs}


def _cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(make_app(), list(args), input=input)


def test_jobs_lists_a_batch_and_filters_by_status(batch: dict[str, Any], db_url: str) -> None:
    every = _cli("jobs", "b", "--db", db_url)
    failed = _cli("jobs", "b", "-s", "failed", "--db", db_url)
    as_json = json.loads(_cli("jobs", "b", "--status", "done", "--json", "--db", db_url).output)

    assert every.exit_code == 0, every.output
    assert len(every.output.splitlines()) == 4
    assert failed.exit_code == 0
    [line] = failed.output.splitlines()
    assert "failed" in line and "2.jpg" in line and "bad image: truncated" in line
    assert [job["status"] for job in as_json] == ["done", "done"]
    assert as_json[0]["output_uri"].endswith("/b/0.jpg")
    assert _cli("jobs", "nope", "--db", db_url).exit_code == 2


def test_delete_refuses_open_jobs_then_removes_rows_and_only_asked_for_outputs(
    batch: dict[str, Any], db_url: str, db_session_factory: sessionmaker[Session],
) -> None:
    refused = _cli("delete", "b", "-y", "--db", db_url)
    declined = _cli("delete", "b", "--force", "--db", db_url, input="n\n")
    assert refused.exit_code == 2 and "unbrand cancel b" in refused.output
    assert declined.exit_code == 1  # aborted at the prompt
    assert _cli("jobs", "b", "--db", db_url).output.count("\n") == 4  # nothing deleted yet

    deleted = _cli("delete", "b", "--force", "--outputs", "--db", db_url, input="y\n")

    assert deleted.exit_code == 0, deleted.output
    assert "deleted batch b: 4 job row(s), 2 output(s) deleted" in deleted.output
    assert not any(path.exists() for path in batch["outputs"])
    with session_scope(db_session_factory) as session:
        assert crud.get_batch_by_name(session, name="b") is None
        assert crud.count_by_status(session)["done"] == 0


def test_delete_keeps_outputs_unless_asked(batch: dict[str, Any], db_url: str) -> None:
    _cli("cancel", "b", "--db", db_url)
    result = _cli("delete", "b", "-y", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "(outputs kept)" in result.output
    assert all(path.exists() for path in batch["outputs"])
