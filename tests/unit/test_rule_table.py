"""docs/rules.md is the rule table read from the code (rule → clause → where → tests): it must be current, and
it must say what the code cites."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rule_table", ROOT / "scripts" / "rule_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rule_table"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_rule_table_in_docs_is_the_one_the_code_gives() -> None:
    text = _script().table()
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == text, (
        "docs/rules.md is stale: python scripts/rule_table.py > docs/rules.md"
    )


def test_the_table_cites_what_the_code_cites() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in _script().table().splitlines()
        if line.startswith("| `")
    }
    assert rows["REVIEW_NOT_MET"] == "733号文 第十条第一款"
    assert rows["AGREEMENT_TERM_MISSES_DUE"] == "733号文 第八条"
    assert rows["SECRET_CONSUMER_NOT_AUTHORIZED"] == "733号文 第二条第三款"
    assert rows["MILESTONE_MISSED"] == "733号文 第十一条"
    assert rows["NO_AGREEMENT"] == "733号文 第十条第二款、第八条"
    assert len(rows) >= 80
