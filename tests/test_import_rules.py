"""The import rules of docs/architecture.md, checked on the source and in fresh interpreters.

- inpaint_core imports neither scheduler nor worker; scheduler never imports worker;
  nothing but the CLI (unbrand/) imports the CLI;
- scheduler, and inpaint_core.masks (the torch-free image and mask tools), import without torch;
- the module-level imports between the project's modules have no cycle.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("inpaint_core", "scheduler", "worker", "unbrand")
FORBIDDEN = {  # package -> packages it must never import, at any level of a function
    "inpaint_core": {"scheduler", "worker", "unbrand"},
    "scheduler": {"worker", "unbrand"},
    "worker": {"unbrand"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imported(tree: ast.AST, *, top_level_only: bool) -> set[str]:
    """Project modules named by the import statements of a module."""
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in PACKAGES}


def test_packages_only_import_downwards() -> None:
    offences = []
    for name, path in modules():
        banned = FORBIDDEN.get(name.split(".")[0], set())
        for target in imported(ast.parse(path.read_text()), top_level_only=False):
            if target.split(".")[0] in banned:
                offences.append(f"{name} imports {target}")
    assert offences == []


def test_no_import_cycles_between_modules() -> None:
    known = dict(modules())
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = imported(ast.parse(path.read_text()), top_level_only=True)
        graph[name] = {t for t in targets if t in known and t != name}
    cycles = [component for component in strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative enough for a few hundred modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_a_cycle_is_found() -> None:  # the checker itself can fail
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"], ["c"]]


@pytest.mark.parametrize("statement", [
    "import scheduler.submit, scheduler.queue, scheduler.db.crud, scheduler.dashboard.app",
    "import inpaint_core.masks.modes, inpaint_core.masks.refine, inpaint_core.masks.findlogo,"
    " inpaint_core.masks.fixed, inpaint_core.masks.imageio, inpaint_core.masks.voc,"
    " inpaint_core.masks.findlogo_calibrate, inpaint_core.masks.findlogo_sheet",
    "import scheduler.dashboard.app, scheduler.dashboard.views, scheduler.dashboard.api,"
    " scheduler.dashboard.metrics, scheduler.report.builder, scheduler.quality",
    "import unbrand.cli.app; unbrand.cli.app.make_app()",
])
def test_control_plane_and_mask_tools_import_without_torch(statement: str) -> None:
    code = (f"import sys; {statement}; "
            "ok = lambda m: m in ('inpaint_core', 'inpaint_core.errors', 'inpaint_core.masks') "
            "or m.startswith('inpaint_core.masks.'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'worker') or "
            "(m.split('.')[0] == 'inpaint_core' and not ok(m))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("statement", [
    "import worker; import torch",  # e.g. the Celery child's torch.set_num_threads
    "import unbrand.cli.doctor; import torch",  # doctor's and train-critic's own torch imports
    "import inpaint_core.model.network",
])
@pytest.mark.parametrize("given", [None, "ACTIVE"])
def test_torch_is_loaded_with_passive_openmp_waiting_unless_the_user_chose(
    statement: str, given: str | None
) -> None:
    """OpenMP reads OMP_WAIT_POLICY once, when torch loads it: in a process that imported any of
    our packages, the variable must already say PASSIVE then (inpaint_core/__init__.py, imported
    by worker and unbrand first thing), and a value the user set is kept."""
    code = ("import importlib.abc, os, sys\n"
            "seen = []\n"
            "class Hook(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'torch' and not seen:\n"
            "            seen.append(os.environ.get('OMP_WAIT_POLICY'))\n"
            "sys.meta_path.insert(0, Hook())\n"
            f"{statement}\n"
            "print(seen)\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([given or "PASSIVE"]), result.stdout
