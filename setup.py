"""Build hook: the schema migrations travel inside the installed package.

The migrations stay at the top of the repository (`migrations/`, `alembic.ini`: the usual
Alembic layout, and what `alembic upgrade head` in a checkout uses). A wheel or a plain
`pip install .` copies both into `scheduler/db/` of the build, where
`scheduler.db.migrate` looks first; a checkout (or an editable install) falls back to the
top-level folder. Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithMigrations(build_py):
    """build_py that also places migrations/ and alembic.ini under scheduler/db/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout
            return
        target = Path(self.build_lib) / "scheduler" / "db"
        shutil.copytree(HERE / "migrations", target / "migrations", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(HERE / "alembic.ini", target / "alembic.ini")


setup(cmdclass={"build_py": BuildWithMigrations})
