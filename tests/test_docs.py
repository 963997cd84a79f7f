"""The README and docs/ stay true: their links resolve, the two commands exist, every verb of
the CLI is in the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from unbrand.cli.app import make_app

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
WRITTEN_ELSEWHERE = {REPO / "docs" / "architecture.md"}  # the lead's page, linked ahead of it
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if "://" in target:
            continue
        path = (page.parent / target).resolve()
        assert path.exists() or path in WRITTEN_ELSEWHERE, f"{page.name}: {target}"


def test_the_two_commands_exist_and_every_verb_is_listed() -> None:
    readme = (REPO / "README.md").read_text()
    for command in ("bash scripts/demo.sh", "bash scripts/test.sh"):
        assert f"\n{command}\n" in readme
        assert (REPO / command.split()[1]).is_file()
    table = readme[readme.index("| verb | what |"):]
    verbs = typer.main.get_command(make_app()).commands  # type: ignore[attr-defined]
    for verb in verbs:
        assert f"`{verb}" in table, verb
