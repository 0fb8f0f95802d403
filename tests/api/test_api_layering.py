"""The API is a shell over the use cases: no SQL, no tables, no sessions in govflow/api (so the permission table
is enforced in one place, the service layer)."""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "govflow" / "api"
FORBIDDEN = {"sqlalchemy", "sqlmodel", "models"}


def test_the_api_imports_no_persistence() -> None:
    bad = []
    for path in sorted(API.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not bad, bad
