"""Dependencies point inward (STYLE.md): govflow/flows → services → models, notifications → states."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: package -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "states": {"models", "flows", "notifications", "govflow", "sqlmodel", "sqlalchemy", "prefect", "apprise"},
    "models": {"flows", "notifications", "govflow", "prefect", "apprise"},
    "notifications": {"models", "flows", "govflow", "prefect", "sqlmodel", "sqlalchemy"},
    "flows": {"sqlalchemy", "sqlmodel", "apprise"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_wrong_way_imports(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        wrong = imports_of(path) & FORBIDDEN[package]
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, "\n".join(bad)


def test_only_the_apprise_adapter_imports_apprise() -> None:
    users = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("states", "models", "notifications", "flows", "govflow")
        for p in (ROOT / pkg).rglob("*.py")
        if "apprise" in imports_of(p)
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


def test_no_module_writes_phase_outside_the_machine_accessors() -> None:
    """No direct phase writes (viewflow.fsm): only the event use case sets it (and the loader creates rows)."""
    allowed = {"govflow/services.py"}
    offenders = []
    for pkg in ("models", "flows", "govflow", "notifications"):
        for p in (ROOT / pkg).rglob("*.py"):
            rel = p.relative_to(ROOT).as_posix()
            if rel not in allowed and phase_writes(p):
                offenders.append(f"{rel}:{phase_writes(p)}")
    assert not offenders, offenders
    assert phase_writes(ROOT / "govflow/services.py"), "the event use case is expected to write the phase"
