"""Dependencies point inward (the house style): entry points (cli, api, web) and flows → services → models,
notifications → states; and everything installs under the one ``govflow`` namespace.

The repository keeps ``states/``, ``models/``, ``flows/`` and ``notifications/`` at its top level; they are
imported as ``govflow.states`` … (links inside ``govflow/``), so a bare ``import states`` is a wrong-way import too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: the layer of every folder of the repository that holds application code
FOLDERS: dict[str, str] = {
    "states": "states",
    "models": "models",
    "notifications": "notifications",
    "flows": "flows",
    "govflow/lifecycle": "services",
    "govflow/governance": "services",
    "govflow/reads": "services",
    "govflow/access": "services",
    "govflow/cli": "cli",
    "govflow/api": "api",
    "govflow/web": "web",
}
PERSISTENCE = {"sqlalchemy", "sqlmodel", "models"}

#: layer -> layers and libraries it must never import
FORBIDDEN: dict[str, set[str]] = {
    "states": {"models", "flows", "notifications", "services", "cli", "api", "web"}
    | {"sqlmodel", "sqlalchemy", "prefect", "apprise"},
    "models": {"flows", "notifications", "services", "cli", "api", "web", "prefect", "apprise"},
    "notifications": {
        "models",
        "flows",
        "services",
        "cli",
        "api",
        "web",
        "prefect",
        "sqlmodel",
        "sqlalchemy",
    },
    "flows": {"cli", "api", "web", "sqlalchemy", "sqlmodel", "apprise"},
    "services": {"flows", "cli", "api", "web"},
    # The entry points are shells over the use cases: no SQL, no tables, no sessions, so the permission table
    # and the secrecy projection are applied in one place, the service layer.
    "cli": {"api", "web"} | PERSISTENCE,
    "api": {"cli", "web"} | PERSISTENCE,
    "web": {"cli"} | PERSISTENCE,
}
#: the one module of an entry point allowed to reach another: `govflow serve` starts the API and the site
EXCEPTIONS = {("govflow/cli/serve.py", "api"), ("govflow/cli/serve.py", "web")}


def layer_of(module: str) -> str:
    """The layer a dotted module name belongs to (a library's own top-level name otherwise)."""
    parts = module.split(".")
    if parts[0] in ("states", "models", "notifications", "flows"):
        return "bare:" + parts[0]  # a top-level folder imported without the govflow namespace
    if parts[0] != "govflow" or len(parts) == 1:
        return parts[0]
    sub = parts[1]
    if sub in ("states", "models", "notifications", "flows"):
        return sub
    if sub in ("lifecycle", "governance", "reads", "access"):
        return "services"
    return sub if sub in ("cli", "api", "web") else "govflow"


def imports_of(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            if node.module == "govflow":  # from govflow import lifecycle …
                yield from (f"govflow.{a.name}" for a in node.names)


def code_files() -> Iterator[Path]:
    for folder in ("states", "models", "notifications", "flows", "govflow", "alembic", "bench", "tests"):
        # rglob does not follow links, so govflow/states … are read once, as states/ …
        yield from sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_no_wrong_way_imports(folder: str) -> None:
    layer = FOLDERS[folder]
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for module in imports_of(path):
            target = layer_of(module)
            if target in FORBIDDEN[layer] and (rel, target) not in EXCEPTIONS:
                bad.append(f"{rel} imports {module} ({layer} must not import {target})")
    assert not bad, "\n".join(bad)


def test_every_import_goes_through_the_govflow_namespace() -> None:
    """A wheel holds only ``govflow``: ``import states`` would work in the checkout and fail when installed."""
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in code_files()
        for module in imports_of(path)
        if layer_of(module).startswith("bare:")
    ]
    assert not bad, "\n".join(bad)


def test_the_folders_are_mapped_into_the_package() -> None:
    for name, target in {
        "states": "states",
        "models": "models",
        "flows": "flows",
        "notifications": "notifications",
        "migrations": "alembic",
    }.items():
        link = ROOT / "govflow" / name
        assert link.is_symlink() and link.resolve() == (ROOT / target).resolve(), name


def test_only_the_apprise_adapter_imports_apprise() -> None:
    users = [
        p.relative_to(ROOT).as_posix()
        for p in code_files()
        if "tests" not in p.parts and any(m.split(".")[0] == "apprise" for m in imports_of(p))
    ]
    assert all(u == "notifications/apprise_notifier.py" for u in users), users


def phase_writes(path: Path) -> list[int]:
    """Lines where a statement sets the ``phase`` column: ``.values(phase=…)`` or ``{"phase": …}`` in values."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "values" and any(k.arg == "phase" for k in node.keywords):
            lines.append(node.lineno)
    return lines


EVENT_USE_CASE = "govflow/lifecycle/events.py"


def test_no_module_writes_phase_outside_the_machine_accessors() -> None:
    """No direct phase writes (viewflow.fsm): only the event use case sets it (and the loader creates rows)."""
    offenders = []
    for p in code_files():
        rel = p.relative_to(ROOT).as_posix()
        if rel != EVENT_USE_CASE and not rel.startswith(("tests/", "bench/")) and phase_writes(p):
            offenders.append(f"{rel}:{phase_writes(p)}")
    assert not offenders, offenders
    assert phase_writes(ROOT / EVENT_USE_CASE), "the event use case is expected to write the phase"
