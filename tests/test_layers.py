"""Imports point down (docs/architecture.md): each part of mpismac imports only the parts below
it, mpi4py only where MPI is used, scikit-learn only where the forest is. Read from the source
with `ast`, so a new import that breaks a layer fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "mpismac"
BOTTOM = {"errors", "trial", "space", "target", "scenario", "aclib", "yamlio", "pareto"}
MAY_IMPORT = {  # part -> the mpismac parts it may import (besides itself)
    "bottom": BOTTOM,
    "runhistory": BOTTOM,
    "execution": BOTTOM,
    "optimizer": BOTTOM | {"runhistory"},
    "runtime": BOTTOM | {"runhistory", "execution", "optimizer"},
    "readers": BOTTOM | {"runhistory"},  # report, export, plot, html_report
    "top": BOTTOM | {"runhistory", "execution", "optimizer", "runtime", "readers"},  # cli, api, world, __init__
    "smac": BOTTOM | {"runhistory", "execution", "optimizer", "runtime", "readers", "top"},  # SMAC3's API over all
}
MPI_MODULES = {"runtime/mpi.py", "runtime/mpi_transport.py", "runtime/psmac.py", "runtime/groups.py",
               "runtime/exchange.py", "cli.py",
               "api.py", "world.py"}  # the last three only when launched under MPI

pytestmark = pytest.mark.fast


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) > 1:
        return rel.parts[0]
    name = rel.stem
    if name in BOTTOM:
        return "bottom"
    return "readers" if name in ("report", "export", "plot", "html_report") else "top"


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module as a path of mpismac parts or a top-level package name, line) of every import."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(PACKAGE).parts[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                out.append((node.module or "", node.lineno))
                continue
            base = list(here[:len(here) - node.level + 1])
            target = base + (node.module.split(".") if node.module else [])
            if not node.module:  # `from . import x`, `from .. import x`
                out += [(".".join(["mpismac", *base, alias.name]), node.lineno) for alias in node.names]
            else:
                out.append((".".join(["mpismac", *target]), node.lineno))
    return out


def _imported_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mpismac" or len(parts) < 2 or parts[1] == "__version__":
        return None
    name = parts[1]
    if name in BOTTOM:
        return "bottom"
    if name in ("report", "export", "plot", "html_report"):
        return "readers"
    return name if name in MAY_IMPORT else "top"


SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_imports_point_down(path):
    part = _part(path)
    rel = str(path.relative_to(PACKAGE))
    for module, line in _imports(path):
        imported = _imported_part(module)
        if imported is not None and imported != part:
            names = {"bottom": BOTTOM}.get(imported, {imported})
            assert names <= MAY_IMPORT[part] or imported in MAY_IMPORT[part], \
                f"{rel}:{line} ({part}) imports {module} ({imported})"
        if module.split(".")[0] == "mpi4py":
            assert rel in MPI_MODULES, f"{rel}:{line} imports mpi4py"
        if module.split(".")[0] in ("sklearn", "scipy") and part == "runtime":
            raise AssertionError(f"{rel}:{line}: the runtime knows nothing of forests ({module})")
        if part == "runtime":
            assert not module.startswith(("mpismac.optimizer.model_bo", "mpismac.optimizer.surrogate")), \
                f"{rel}:{line} imports {module}"
