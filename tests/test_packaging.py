"""A plain install works: the sdist and the wheel built from it carry the migrations and the
Alembic configuration, and the installed `unbrand` runs the demo from another folder.

The wheel goes into a fresh virtual environment with pip, which installs every declared
dependency from the package index, except PyTorch and the packages it needs: those are linked
from this interpreter (a .pth file), so the test does not unpack 700 MB of torch again and
never makes pip fetch a CUDA build.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from scheduler.db.migrate import head_revision

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SKIP_IN_COPY = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info",
                                      "__pycache__", "tests", "bench", "unbrand-out", "*.db")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def _requirement_names(name: str) -> list[str]:
    """The distributions `name` requires (markers for extras skipped)."""
    names = []
    for requirement in metadata.requires(name) or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return names


def _link_torch(into: Path) -> None:
    """Symlink torch and everything it requires (installed here) into folder `into`."""
    todo, seen = ["torch"], set()
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("-", "_")
        if key in seen:
            continue
        seen.add(key)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        base = Path(str(dist.locate_file("")))
        for top in tops:
            target = into / top
            if (base / top).exists() and not target.exists():
                target.symlink_to(base / top)
        todo.extend(_requirement_names(name))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding unbrand from a wheel built from the sdist."""
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=SKIP_IN_COPY, symlinks=True)
    dist = root / "dist"
    _run(sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
         "print(b.build_sdist(sys.argv[1]))", dist, cwd=source)
    [sdist] = dist.glob("unbrand-*.tar.gz")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         sdist, "-w", dist, cwd=root)
    [wheel] = dist.glob("unbrand-*.whl")

    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=root).stdout.strip())
    shared = root / "shared-torch"
    shared.mkdir()
    _link_torch(shared)
    (site / "shared-torch.pth").write_text(f"{shared}\n")
    _run(python, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
         wheel, cwd=root, timeout=900)
    return env_dir


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a new user: no UNBRAND_* settings, no PYTHONPATH into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("UNBRAND_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = str(home)
    return env


def test_the_wheel_and_sdist_carry_the_migrations(installed: Path) -> None:
    python = installed / "bin" / "python"
    found = _run(python, "-c", "from scheduler.db.migrate import find_migrations as f; "
                 "m, ini = f(); print(m); print(ini)", cwd=installed).stdout.split()
    assert "site-packages/scheduler/db/migrations" in found[0]
    assert found[1].endswith("site-packages/scheduler/db/alembic.ini")
    assert Path(found[0], "versions", "0001_initial.py").is_file()


def test_both_postgresql_drivers_are_installed(installed: Path) -> None:
    """postgresql:// (psycopg 3 under SQLAlchemy 2.1) and postgresql+psycopg2:// both load."""
    python = installed / "bin" / "python"
    drivers = _run(python, "-c", "from scheduler.db.session import make_engine; print(*("
                   "make_engine(u).dialect.driver for u in ('postgresql://u@h/db', "
                   "'postgresql+psycopg2://u@h/db')))", cwd=installed).stdout.split()
    assert drivers == ["psycopg", "psycopg2"]


def test_the_installed_unbrand_runs_the_demo_from_another_folder(installed: Path,
                                                                  tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    shutil.copytree(REPO / "demo", elsewhere / "photos")
    env = _clean_env(tmp_path)
    unbrand = installed / "bin" / "unbrand"

    version = _run(unbrand, "--version", cwd=elsewhere, env=env)
    upgraded = _run(unbrand, "db", "upgrade", "--db", "sqlite:///jobs.db", cwd=elsewhere,
                    env=env)
    ran = _run(unbrand, "run", "photos", "-o", "cleaned", "--device", "cpu", cwd=elsewhere,
               env=env)
    status = _run(unbrand, "status", "--db", "sqlite:///cleaned/unbrand.db", cwd=elsewhere,
                  env=env)

    assert version.stdout.strip() == f"unbrand {metadata.version('unbrand')}"
    assert f"sqlite:///jobs.db: at revision {head_revision()}" in upgraded.stdout
    assert "6 images, 6 done, 0 failed" in ran.stdout
    assert len(list(elsewhere.glob("cleaned/photos-*/JPEGImages/*.jpg"))) == 6
    assert "6 jobs (6 done), finished" in status.stdout
    assert not (elsewhere / "unbrand.db").exists()
