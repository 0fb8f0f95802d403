"""The rule table (docs/rules.md): every rule code govflow refuses, warns or records with → the clause it cites →
where it is decided → the tests that name it. Read from the code, so it cannot drift: ``tests/unit/
test_rule_table.py`` fails when docs/rules.md differs from what this prints.

    python scripts/rule_table.py > docs/rules.md      # write it
    python scripts/rule_table.py --check              # exit 1 when docs/rules.md is stale

A rule is a ``Reason("CODE", <clause>, …)`` or ``Problem("CODE", <clause>, …)`` call, a dict literal with
``"code"`` and ``"clause"`` keys, or a finding rule of the vocabulary (``RULE_CLAUSE``), in ``govflow/`` (its ``states``, ``models``, ``flows`` and ``notifications``
folders included). The clause is read where it is a literal, a ``clause(...)`` call with literal arguments, or a
name bound to one of those in the same function or module; anything else reads "(computed)".
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("govflow", "states", "models", "flows", "notifications")
DOC = "733号文"
OUT = ROOT / "docs" / "rules.md"


@dataclass(frozen=True)
class Rule:
    code: str
    clause: str
    where: str  # path:function


def _const(node: ast.AST | None, names: dict[str, str]) -> str | None:
    """The text of a literal, of ``clause("第八条"[, "第二款"])``, of an f-string-free concatenation, or of a
    name bound to one of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "clause":
        parts = [_const(a, names) for a in node.args]
        if all(p is not None for p in parts):
            return f"{DOC} {''.join(p for p in parts if p is not None)}"
    if isinstance(node, ast.JoinedStr):
        parts = [_const(v.value if isinstance(v, ast.FormattedValue) else v, names) for v in node.values]
        if all(p is not None for p in parts):
            return "".join(p for p in parts if p is not None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _const(node.left, names), _const(node.right, names)
        if left is not None and right is not None:
            return left + right
    return None


def _bindings(body: list[ast.stmt], names: dict[str, str]) -> dict[str, str]:
    """Names bound by simple assignments in ``body`` (not nested), on top of ``names``."""
    out = dict(names)
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value = _const(stmt.value, out)
            if value is not None:
                out[stmt.targets[0].id] = value
    return out


def _module_names(tree: ast.Module, imported: dict[str, str]) -> dict[str, str]:
    return _bindings(tree.body, imported)


def _rules_in(path: Path, imported: dict[str, str]) -> list[Rule]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module = _module_names(tree, imported)
    rel = path.relative_to(ROOT).as_posix()
    found: list[Rule] = []

    def visit(node: ast.AST, names: dict[str, str], scope: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = _bindings(node.body, names)
            scope = node.name
        if isinstance(node, ast.Call):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if called in ("Reason", "Problem") and len(node.args) >= 2:
                code = _const(node.args[0], {})
                if code is not None and code.isupper():
                    found.append(Rule(code, _const(node.args[1], names) or "(computed)", f"{rel}:{scope}"))
        if isinstance(node, ast.Dict):
            keys = {
                k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)
            }
            code = _const(keys.get("code"), {})
            if code is not None and code.isupper() and "_" in code and "clause" in keys:
                found.append(Rule(code, _const(keys["clause"], names) or "(computed)", f"{rel}:{scope}"))
        for child in ast.iter_child_nodes(node):
            visit(child, names, scope)

    visit(tree, module, "<module>")
    return found


def _shared_names() -> dict[str, str]:
    """Clause constants modules import from each other (``CLAUSE``, ``NOT_ACCEPTED`` …), by name."""
    names: dict[str, str] = {}
    for _ in range(2):  # a constant built from another module's constant settles on the second pass
        for path in _files():
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for name, value in _module_names(tree, names).items():
                if name.isupper():
                    names.setdefault(name, value)
    return names


def _files() -> list[Path]:
    seen: dict[Path, Path] = {}
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            seen.setdefault(path.resolve(), path)  # govflow/states is a link to states/
    return sorted(p for p in seen.values() if "migrations" not in p.parts and "alembic" not in p.parts)


def _tests_naming(codes: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for code in codes:
            if f'"{code}"' in text or f"'{code}'" in text:
                out[code].append(path.relative_to(ROOT).as_posix())
    return out


def table() -> str:
    imported = _shared_names()
    rules: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"clause": set(), "where": set()})
    for path in _files():
        for r in _rules_in(path, imported):
            rules[r.code]["clause"].add(r.clause)
            rules[r.code]["where"].add(r.where)
    # the finding rules of the sweep live on the vocabulary, each with its clause
    from govflow.states.findings import RULE_CLAUSE

    for code, cited in RULE_CLAUSE.items():
        rules[code]["clause"].add(cited)
        rules[code]["where"].add("states/vocabulary.py:FindingRule (the sweep, govflow/governance/sweep.py)")
    tests = _tests_naming(set(rules))
    lines = [
        "# Rule table",
        "",
        "Every rule code govflow gives (a refusal, a finding, a recorded decision), the clause it cites, where it",
        "is decided and the tests that name it. Generated from the code by `python scripts/rule_table.py >",
        "docs/rules.md`; `tests/unit/test_rule_table.py` fails when this file is stale. A clause the code computes",
        "at run time reads “(computed)”.",
        "",
        f"{len(rules)} codes; {sum(1 for c in rules if tests.get(c))} named by at least one test.",
        "",
        "| code | clause | decided in | tests |",
        "|---|---|---|---|",
    ]
    for code in sorted(rules):
        clauses = "；".join(sorted(rules[code]["clause"]))
        where = "<br>".join(f"`{w}`" for w in sorted(rules[code]["where"]))
        named = "<br>".join(f"`{t}`" for t in tests.get(code, [])) or "—"
        lines.append(f"| `{code}` | {clauses} | {where} | {named} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = table()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print("docs/rules.md is stale: python scripts/rule_table.py > docs/rules.md", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
