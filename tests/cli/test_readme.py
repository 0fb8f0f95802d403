"""The README's "Two commands" are run as written (STYLE habit 10: the README's commands run in a test).

The demo command runs for real, from the repository root, reusing the current venv (``VENV``) and writing its
SQLite database to a temporary directory (``GOVFLOW_DATABASE_URL``) so that the checkout stays clean. The test
command is not run from inside the test suite (it would run this test again); instead CI is checked to run
exactly the script the README names.

The demo runs on the wall clock: see ``test_demo_does_not_depend_on_the_wall_clock`` in ``test_cli.py``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def two_commands() -> dict[str, str]:
    """The fenced bash blocks of the README's "Two commands" section, by what they run (demo, test)."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Two commands\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## Two commands' section"
    blocks = [
        b.strip() for b in re.findall(r"^```bash\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    ]
    assert len(blocks) == 2, blocks
    assert all("\n" not in b for b in blocks), f"each block is one command: {blocks}"
    by_kind = {kind: b for b in blocks for kind in ("demo", "test") if kind in b}
    assert set(by_kind) == {"demo", "test"}, blocks
    return by_kind


def script_of(command: str) -> Path:
    """The repository script a command line runs (``./scripts/x.sh …`` or ``bash scripts/x.sh …``)."""
    words = shlex.split(command)
    if words[0] in ("bash", "sh", "exec"):
        return script_of(shlex.join(words[1:]))
    return (ROOT / words[0]).resolve()


def test_the_readme_names_two_executable_scripts() -> None:
    for command in two_commands().values():
        script = script_of(command)
        assert script.is_file() and script.is_relative_to(ROOT / "scripts"), command
        assert os.access(script, os.X_OK), f"{command}: not executable, yet the README runs it as ./…"


def test_the_demo_command_runs_and_shows_an_intact_audit_chain(tmp_path: Path) -> None:
    command = two_commands()["demo"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    env.update(
        VENV=sys.prefix,  # the venv running this suite: no second install from scratch
        GOVFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'govflow.db'}",
        COLUMNS="200",
    )
    litter = ROOT / "govflow.db"
    before = litter.stat().st_mtime_ns if litter.exists() else None
    res = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert res.returncode == 0, f"{command} -> exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    assert re.search(r"审计链完整：共 \d+ 条事件", res.stdout), res.stdout
    assert "项目阶段汇总" in res.stdout and "不予受理" in res.stdout
    assert (tmp_path / "govflow.db").exists()
    assert (litter.stat().st_mtime_ns if litter.exists() else None) == before, "the demo wrote ./govflow.db"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    expected = script_of(two_commands()["test"])
    lines = [ln.strip() for ln in CI.read_text(encoding="utf-8").splitlines()]
    code = [ln for ln in lines if ln and not ln.startswith("#")]
    scripts = {(ROOT / m).resolve() for ln in code for m in re.findall(r"(?:\./)?scripts/[\w./-]+", ln)}
    assert scripts == {expected}, f".ci/run runs {sorted(map(str, scripts))}, the README says {expected}"
    # the test command is CI's last word: its exit status is CI's
    assert code[-1].startswith("exec ") and script_of(code[-1]) == expected, code[-1]
