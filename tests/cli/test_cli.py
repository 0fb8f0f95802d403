"""The ``govflow`` command as people and scripts use it (SPEC §5 and §7), on SQLite and on PostgreSQL.

Most commands run in-process through typer's ``CliRunner`` (stdout and stderr are captured apart; ``output``
is both). Where the process boundary matters (exit codes of the installed script, ``--lang``, two commands
racing on one project) the real ``govflow`` runs as a subprocess.

The in-process ``cli`` fixture is the shared harness of ``tests/cli/conftest.py``.

Tests marked ``xfail(strict=True)`` show a defect found while writing this suite; each reason names it.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from sqlalchemy import inspect, text

from govflow.cli import app
from govflow.demo import demo_portfolio
from govflow.lifecycle import events, services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine
from govflow.states import lifecycle
from govflow.states.phases import Event, Phase

from .harness import NOW, Cli, Run, click_command, make_cli

# ---------------------------------------------------------------------------------------------- fixtures

DEMO = demo_portfolio()
DATA = Path(__file__).resolve().parents[1] / "data"
GOVFLOW = str(Path(sys.executable).parent / "govflow")

NDRC = "11330000GF00000014"  # 浙江省发展和改革委员会 (wang, xu)
BIGDATA = "11330000GF00000027"  # 浙江省大数据发展管理局 (li)
SAMR = "11330000GF0000003A"  # 浙江省市场监督管理局 (zhao)
POLICE = "11330000GF0000004D"  # 浙江省公安厅 (zhou)
HRSS = "11330000GF0000005G"  # 浙江省人力资源和社会保障厅 (chen)
FIVE_POINTS = ("agreement", "catalog", "infrastructure", "aggregation", "technical")
ALL_MET = [arg for p in FIVE_POINTS for arg in ("-j", f"{p}=met")]


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.fixture
def demo(cli: Cli) -> Cli:
    """``cli`` on a database holding the demo portfolio."""
    cli("load", DEMO).expect(0)
    return cli


def show(cli: Cli, code: str) -> dict[str, Any]:
    view: dict[str, Any] = cli.json("project", "show", code)
    return view


def history(cli: Cli, code: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli.json("project", "history", code)
    return rows


def audit_count(cli: Cli) -> int:
    return int(cli.json("audit", "verify")["checked"])


def is_sqlite(db_url: str) -> bool:
    return db_url.startswith("sqlite")


# ---------------------------------------------------------------------------------------------- documents


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as JSON Schema tools (editors, CI linters) read it: ``2026-03-01`` stays a string."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def demo_document() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.load(DEMO.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    return doc


def write_document(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def variant_document(projects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Copies of ZJ-2026-001 (the complete demo project) under new codes, each with the given top-level keys
    replaced (``None`` drops a key), with the demo's departments and users."""
    doc = demo_document()
    out = []
    for code, changes in projects.items():
        p = json.loads(json.dumps(doc["projects"][0]))
        p["code"] = code
        for key, value in changes.items():
            if value is None:
                p.pop(key, None)
            else:
                p[key] = value
        out.append(p)
    return {"departments": doc["departments"], "users": doc["users"], "projects": out}


def write_csv(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- database


def sql(db_url: str, *statements: str) -> list[Any]:
    """Raw SQL in one transaction, straight at the database (tampering, counting)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            rows: list[Any] = []
            for s in statements:
                result = conn.execute(text(s))
                rows = list(result) if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def table_counts(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names}
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------- processes


def process_env(db_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    if db_url is not None:
        env["GOVFLOW_DATABASE_URL"] = db_url
    env["COLUMNS"] = "200"  # rich tables: no folding of words in the captured output
    env.update(extra)
    return env


def run_parallel(
    db_url: str, commands: Sequence[Sequence[str]], env: dict[str, str] | None = None
) -> list[Run]:
    """Run several real ``govflow`` processes side by side (they only read or refuse: order is irrelevant)."""
    base = process_env(db_url)
    procs = [
        subprocess.Popen(
            [GOVFLOW, *cmd],
            env={**base, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cmd in commands
    ]
    results = []
    for cmd, p in zip(commands, procs, strict=True):
        out, err = p.communicate(timeout=120)
        results.append(Run(tuple(cmd), p.returncode, out, err))
    return results


#: A racing ``govflow`` process. It imports govflow once, then for each round of its plan says it is ready,
#: waits for the round's "go" file and runs that round's command exactly as the ``govflow`` script does
#: (``app()``, exit code from ``SystemExit``), so that the commands of a round start within a millisecond of
#: each other and no round pays for the interpreter's start-up.
RACER = textwrap.dedent(
    """
    import contextlib, io, json, sys, time, traceback
    from pathlib import Path
    from govflow.cli import app
    barrier, name = Path(sys.argv[1]), sys.argv[2]
    plan = json.loads((barrier / (name + ".plan")).read_text())
    for r, args in enumerate(plan):
        (barrier / f"{r}-{name}.ready").touch()
        go, deadline = barrier / f"go-{r}", time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.0005)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                app(args, prog_name="govflow")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
        result = {"args": args, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        (barrier / f"{r}-{name}.tmp").write_text(json.dumps(result))
        (barrier / f"{r}-{name}.tmp").rename(barrier / f"{r}-{name}.out")
    """
)


class Racers:
    """Real processes that run one command each per round, all of a round released at once."""

    def __init__(self, db_url: str, barrier: Path, plans: Sequence[Sequence[Sequence[str]]]) -> None:
        barrier.mkdir()
        self.barrier, self.n = barrier, len(plans)
        self.procs = []
        for i, plan in enumerate(plans):
            (barrier / f"{i}.plan").write_text(json.dumps([list(cmd) for cmd in plan]))
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", RACER, str(barrier), str(i)],
                    env=process_env(db_url),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )

    def _wait(self, suffix: str, r: int) -> None:
        deadline = time.monotonic() + 60
        while not all((self.barrier / f"{r}-{i}.{suffix}").exists() for i in range(self.n)):
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                details = "\n".join(
                    f"exit {p.returncode}: {p.stderr.read() if p.stderr else ''}" for p in dead
                )
                self.close(kill=True)
                raise AssertionError(f"racer stopped before round {r} finished:\n{details}")
            time.sleep(0.002)

    def round(self, r: int) -> list[Run]:
        self._wait("ready", r)
        (self.barrier / f"go-{r}").touch()
        self._wait("out", r)
        results = []
        for i in range(self.n):
            d = json.loads((self.barrier / f"{r}-{i}.out").read_text())
            results.append(Run(tuple(d["args"]), d["code"], d["stdout"], d["stderr"]))
        return results

    def close(self, *, kill: bool = False) -> None:
        for p in self.procs:
            if kill and p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=60)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung racer
                p.kill()
                p.communicate()


# ============================================================================================== 1. help


def _command_paths() -> list[tuple[str, ...]]:
    """Every group and command registered on the typer app, found by walking it (new ones are included)."""
    paths: list[tuple[str, ...]] = [()]

    def walk(cmd: Any, prefix: tuple[str, ...]) -> None:
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(click_command(app), ())
    return paths


def _command(path: tuple[str, ...]) -> Any:
    cmd: Any = click_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def test_the_walk_finds_the_contract_commands() -> None:
    paths = set(_command_paths())
    for p in [("init",), ("demo",), ("load",), ("project", "show"), ("event",), ("calendar", "add-workdays")]:
        assert p in paths
    assert ("audit", "verify") in paths and ("schema",) in paths and ("diagram",) in paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "govflow")
def test_every_command_has_chinese_help(nodb: Cli, path: tuple[str, ...]) -> None:
    res = nodb(*path, "--help").expect(0)
    assert "Usage" in res.stdout
    own = _command(path).help or ""
    assert has_cjk(own), f"govflow {' '.join(path)} has no zh-CN help text of its own: {own!r}"
    assert own.split("/")[0].strip()[:6] in res.stdout.replace("\n", "")


# ============================================================================================== 2. setup


@pytest.fixture
def empty(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """``cli`` on a database without any table."""
    runner = make_cli(empty_db_url, monkeypatch)
    yield runner
    runner.close()


def test_init_migrates_once_then_is_up_to_date(empty: Cli) -> None:
    cli = empty
    first = cli.json("init")
    assert first["from"] is None and first["to"]
    assert set(first) == {"database", "from", "to"}
    again = cli("init").expect(0)
    assert "数据库已是最新版本" in again.stdout and first["to"] in again.stdout
    assert cli.json("init") == {**first, "from": first["to"]}


def test_init_on_an_empty_database_says_it_migrated(empty: Cli) -> None:
    cli = empty
    assert "数据库已升级" in cli("init").expect(0).stdout
    assert "已是最新版本" in cli("init").expect(0).stdout


def test_load_the_demo_portfolio(cli: Cli, db_url: str) -> None:
    summary = cli.json("load", DEMO)
    assert summary == {
        "loaded": True,
        "departments_created": 8,
        "departments_reused": 0,
        "users": 11,
        "projects": 5,
        "onboarded": 2,
        "catalog_items": 17,
        "agreements": 6,
        "agreement_items": 16,
        "opinions": 12,
        "reviews": 10,
        "evidence_rows": 14,
        "evidence_days": 13,
    }
    counts = table_counts(db_url)
    assert counts["project"] == 5 and counts["catalog_item"] == 17 and counts["delivery_evidence"] == 13
    # loading it again creates nothing: every project and user already exists
    again = cli.json("load", DEMO, code=3)
    assert again["refused"] is True
    assert {r["code"] for r in again["reasons"]} >= {"PROJECT_EXISTS", "USER_EXISTS"}
    assert table_counts(db_url) == counts


def test_load_prints_a_chinese_summary_table(cli: Cli) -> None:
    res = cli("load", DEMO).expect(0)
    assert "已导入 demo-portfolio.yaml" in res.stdout and "目录条目" in res.stdout


def test_schema_is_a_json_schema_the_demo_document_satisfies(nodb: Cli) -> None:
    schema = json.loads(nodb("schema").expect(0).stdout)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(demo_document())] == []
    # and it does reject a broken document, at the right places
    doc = demo_document()
    doc["departments"][0]["level"] = "provincal"
    doc["projects"][0]["catalog"][1]["share_typ"] = doc["projects"][0]["catalog"][1].pop("share_type")
    paths = {e.json_path for e in validator.iter_errors(doc)}
    assert "$.departments[0].level" in paths
    assert "$.projects[0].catalog[1]" in paths  # share_type missing, share_typ not allowed


def test_diagram_draws_every_phase_and_event(nodb: Cli) -> None:
    zh = nodb("diagram").expect(0).stdout
    en = nodb("--lang", "en", "diagram").expect(0).stdout
    assert zh.startswith("stateDiagram-v2")
    for p in Phase:
        assert f"as {p.value}" in zh and p.zh in zh and p.en in en
    for e in Event:
        assert f": {e.value} " in zh


# ============================================================================================== 3. projects


def test_project_show_json_has_the_contract_keys(demo: Cli) -> None:
    view = show(demo, "ZJ-2026-001")
    assert (view["code"], view["phase"], view["version"]) == ("ZJ-2026-001", "draft", 1)
    assert view["phase_label"] == "编制中"
    assert view["next_events"] == ["submit_proposal", "withdraw"]
    text_view = demo("project", "show", "ZJ-2026-001").expect(0).stdout
    assert "编制中" in text_view and "可执行事件" in text_view


def test_project_show_unknown_code_is_not_found(demo: Cli) -> None:
    res = demo("project", "show", "ZJ-2099-404").expect(4)
    assert "项目 ZJ-2099-404 不存在" in res.stderr and res.stdout == ""
    assert demo.json("project", "show", "ZJ-2099-404", code=4) == {
        "error": "NOT_FOUND",
        "message": "项目 ZJ-2099-404 不存在",
    }


def test_project_list_and_its_filters(demo: Cli) -> None:
    rows = demo.json("project", "list")
    assert [r["code"] for r in rows] == [f"ZJ-2026-00{i}" for i in range(1, 6)]
    assert set(rows[0]) >= {"code", "name", "phase", "version"}
    assert [r["code"] for r in demo.json("project", "list", "--phase", "operation")] == ["ZJ-2026-005"]
    assert [r["code"] for r in demo.json("project", "list", "--phase", "construction")] == ["ZJ-2026-004"]
    assert demo.json("project", "list", "--phase", "retired") == []
    assert [r["code"] for r in demo.json("project", "list", "--department", SAMR)] == ["ZJ-2026-002"]
    bad = demo("project", "list", "--phase", "finished").expect(2)
    assert "proposal_review" in bad.stderr
    # a department user sees only the projects its department leads or takes part in
    assert [r["code"] for r in demo.json("project", "list", "--as", "li")] == [
        "ZJ-2026-001",
        "ZJ-2026-003",
        "ZJ-2026-004",
    ]
    assert "项目（5 个）" in demo("project", "list").expect(0).stdout


def test_project_history_lists_accepted_and_refused_events_with_reasons(demo: Cli) -> None:
    # the dry run foresees what intake will refuse, and records nothing
    [submit, *_] = demo.json("project", "check", "ZJ-2026-002", "--as", "zhao")
    assert submit["event"] == "submit_proposal" and not submit["reasons"] and not submit["ready"]
    assert {r["code"] for r in submit["then"]["reasons"]} == {"NO_AGREEMENT", "OPINION_MISSING"}
    assert "受理将被拒绝" in demo("project", "check", "ZJ-2026-002", "--as", "zhao").expect(0).stdout
    demo("event", "ZJ-2026-002", "submit_proposal", "--as", "zhao").expect(0)
    demo("event", "ZJ-2026-002", "intake", "--as", "wang").expect(3)
    rows = history(demo, "ZJ-2026-002")
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("create", "recorded"),
        ("submit_proposal", "accepted"),
        ("intake", "refused"),
    ]
    refused = rows[-1]
    assert (refused["actor"], refused["role"]) == ("wang", "program_office")
    assert (refused["from_phase"], refused["to_phase"]) == ("proposal_submitted", "draft")
    assert {r["code"] for r in refused["reasons"]} == {"NO_AGREEMENT", "OPINION_MISSING"}
    assert all(r["clause"].startswith("733号文 第十条第二款") and r["message"] for r in refused["reasons"])
    demo.env["COLUMNS"] = "250"  # rich tables: no folding of words in the captured output
    table = demo("project", "history", "ZJ-2026-002").expect(0).stdout
    assert "项目 ZJ-2026-002 历程" in table
    # the table speaks the reader's words, not the trail's codes
    assert "受理" in table and "拒绝" in table and "王建国（项目审批部门）" in table
    assert "建议书已报送 → 编制中" in table and "赵敏（建设部门）" in table
    for code in ("intake", "refused", "program_office", "proposal_submitted", "(department)"):
        assert code not in table, code
    en = demo("project", "history", "ZJ-2026-002", lang="en").expect(0).stdout
    assert "refused" in en and "(program office)" in en and "Proposal submitted → Draft" in en
    assert "从项目组合文档" not in en  # the note in the reader's language
    assert demo("project", "history", "ZJ-2099-404").exit_code == 4


# ============================================================================================== 4. events


def test_an_accepted_event_moves_the_phase_and_the_version(demo: Cli) -> None:
    res = demo.json("event", "ZJ-2026-001", "submit_proposal", "--as", "li")
    assert res["accepted"] is True and res["refused"] is False
    assert (res["from"], res["to"], res["phase"], res["version"]) == (
        "draft",
        "proposal_submitted",
        "proposal_submitted",
        2,
    )
    assert res["reasons"] == []
    view = show(demo, "ZJ-2026-001")
    assert (view["phase"], view["version"]) == ("proposal_submitted", 2)
    text_res = demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    assert "已受理：ZJ-2026-001 建议书已报送 → 建议书评审中（版本 3）" in text_res.stdout


def test_a_refused_intake_cites_its_clauses_and_returns_the_project_to_draft(demo: Cli) -> None:
    demo("event", "ZJ-2026-002", "submit_proposal", "--as", "zhao").expect(0)
    res = demo.json("event", "ZJ-2026-002", "intake", "--as", "wang", code=3)
    assert res["refused"] is True and res["accepted"] is False
    assert (res["from"], res["phase"]) == ("proposal_submitted", "draft")
    assert [r["code"] for r in res["reasons"]] == ["NO_AGREEMENT", "OPINION_MISSING"]
    for r in res["reasons"]:
        assert set(r) >= {"code", "clause", "message"}
        assert r["clause"].startswith("733号文 第十条") and has_cjk(r["message"])
    assert "第八条" in res["reasons"][0]["clause"] and "第九条" in res["reasons"][1]["clause"]
    view = show(demo, "ZJ-2026-002")
    assert (view["phase"], view["version"]) == ("draft", 3)
    # the same refusal for people: each condition with its clause, and where the project went
    demo("event", "ZJ-2026-002", "submit_proposal", "--as", "zhao").expect(0)
    out = demo("event", "ZJ-2026-002", "intake", "--as", "wang").expect(3).output
    assert "「受理」被拒绝" in out
    assert "未提供信息共享协定或联合发文，不予受理" in out and "(733号文 第十条第二款、第八条)" in out
    assert "浙江省公安厅" in out and "(733号文 第十条第二款、第九条)" in out
    assert "项目已退回「编制中」" in out


def test_an_event_impossible_from_the_phase_names_the_possible_ones(demo: Cli) -> None:
    res = demo.json("event", "ZJ-2026-001", "approve", "--as", "wang", code=3)
    assert res["refused"] is True
    [reason] = res["reasons"]
    assert reason["code"] == "EVENT_NOT_ALLOWED"
    assert reason["detail"]["allowed"] == ["submit_proposal", "withdraw"]
    assert "submit_proposal" in reason["message"] and "withdraw" in reason["message"]
    out = demo("event", "ZJ-2026-005", "intake", "--as", "wang").expect(3).output
    assert "运行维护" in out and "retire" in out
    assert show(demo, "ZJ-2026-001")["version"] == 1


def test_a_role_outside_the_permission_table_is_refused_and_audited(demo: Cli) -> None:
    before = audit_count(demo)
    res = demo.json("event", "ZJ-2026-001", "submit_proposal", "--as", "qian", code=3)
    assert res["refused"] is True and res["error"] == "PERMISSION_DENIED"
    assert res["reasons"][0]["code"] == "PERMISSION_DENIED" and "qian" in res["reasons"][0]["message"]
    out = demo("event", "ZJ-2026-001", "approve", "--as", "zheng").expect(3).output
    assert "用户 zheng（审计监察）无权批复" in out
    assert audit_count(demo) == before + 2
    security = [r for r in history(demo, "ZJ-2026-001") if r["kind"] == "security"]
    assert [(r["actor"], r["outcome"], r["action"]) for r in security] == [
        ("qian", "denied", "event.submit_proposal"),
        ("zheng", "denied", "event.approve"),
    ]
    assert show(demo, "ZJ-2026-001")["version"] == 1


def test_a_department_user_cannot_act_on_another_departments_project(demo: Cli) -> None:
    res = demo.json("event", "ZJ-2026-001", "submit_proposal", "--as", "zhao", code=3)
    assert [r["code"] for r in res["reasons"]] == ["OUT_OF_DEPARTMENT"]
    assert SAMR in res["reasons"][0]["message"]
    last = history(demo, "ZJ-2026-001")[-1]
    assert (last["kind"], last["actor"], last["reasons"][0]["code"]) == (
        "security",
        "zhao",
        "OUT_OF_DEPARTMENT",
    )
    # zhao may not even read a project his department has nothing to do with (ZJ-2026-004: HRSS, police, big data):
    # it reads as one that does not exist (exit 4, the same message), so nobody learns what exists
    hidden = demo.json("project", "show", "ZJ-2026-004", "--as", "zhao", code=4)
    missing = demo.json("project", "show", "ZJ-2099-404", "--as", "zhao", code=4)
    assert hidden == {**missing, "message": missing["message"].replace("ZJ-2099-404", "ZJ-2026-004")}
    assert show(demo, "ZJ-2026-001")["phase"] == "draft"


def test_deactivate_and_activate_a_user(demo: Cli) -> None:
    """A deactivated user can do nothing (``--as`` it: exit 4, as for an unknown user) until reactivated; the
    operator may not deactivate the last administrator, nor an administrator itself."""
    assert demo.json("project", "list", "--as", "zhou")
    before = audit_count(demo)
    res = demo("user", "deactivate", "zhou", "--reason", "调离本单位").expect(0)
    assert res.stdout.strip() == "已停用用户 zhou：不能再登录，已有会话立即失效，API 令牌已吊销"
    assert audit_count(demo) == before + 1  # a security event in the chain
    assert "已停用" in demo("project", "list", "--as", "zhou").expect(4).stderr
    again = demo.json("user", "deactivate", "zhou", "--reason", "再次")
    assert (again["active"], again["changed"], again["has_token"]) == (False, False, False)
    assert audit_count(demo) == before + 1  # nothing changed, nothing recorded
    assert demo("user", "deactivate", "zhou").expect(2)  # --reason is required
    en = demo("--lang", "en", "user", "activate", "zhou", "--reason", "back").expect(0)
    assert en.stdout.startswith("user zhou activated; issue a new API token")
    assert demo.json("project", "list", "--as", "zhou")
    assert "已是启用状态" in demo("user", "activate", "zhou").expect(0).stdout
    assert demo("user", "activate", "ghost").expect(4)

    last = demo.json("user", "deactivate", "admin", "--reason", "x", code=3)
    assert [r["code"] for r in last["reasons"]] == ["LAST_ACTIVE_ADMIN"]
    assert last["reasons"][0]["clause"] == "govflow 用户管理"
    own = demo("user", "deactivate", "admin", "--reason", "x", "--as", "admin").expect(3)
    assert "不能停用自己" in own.stderr and "最后一名启用的系统管理员" in own.stderr
    demo("user", "add", "admin2", "--role", "admin").expect(0)
    assert demo.json("user", "deactivate", "admin", "--reason", "换人", "--as", "admin2")["active"] is False


def test_unknown_user_and_unknown_event(demo: Cli) -> None:
    res = demo("event", "ZJ-2026-001", "submit_proposal", "--as", "ghost").expect(4)
    assert "用户 ghost 不存在" in res.stderr
    res = demo("event", "ZJ-2026-001", "submit", "--as", "li").expect(2)
    assert "未知事件 submit" in res.stderr and "submit_proposal" in res.stderr
    assert demo.json("event", "ZJ-2026-001", "submit", "--as", "li", code=2)["error"] == "USAGE"
    assert demo("event", "ZJ-2099-404", "submit_proposal", "--as", "li").exit_code == 4
    assert demo("event", "ZJ-2026-001", "submit_proposal").exit_code == 2  # --as is required


def test_the_effective_time_option(cli: Cli, tmp_path: Path) -> None:
    """``--at`` backfills history: after the project's last event, and (here) before now."""
    cli.start = NOW - timedelta(days=10)  # the project was loaded on 2026-11-16 …
    cli("load", write_document(tmp_path / "p.json", variant_document({"ZJ-2026-001": {}}))).expect(0)
    cli.start = NOW  # … and the clerk backfills on 2026-11-26
    res = cli.json(
        "event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--at", "2026-11-15T09:00:00+08:00", code=3
    )
    assert [r["code"] for r in res["reasons"]] == ["AT_BEFORE_LAST_EVENT"]
    naive = cli("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--at", "2026-11-20T09:00:00")
    assert naive.expect(2).stderr.startswith("--at 须带时区")
    cli("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--at", "next tuesday").expect(2)
    assert show(cli, "ZJ-2026-001")["version"] == 1
    ok = cli.json(
        "event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--at", "2026-11-20T09:30:00+08:00"
    )
    assert ok["accepted"] is True and ok["at"] == "2026-11-20T01:30:00+00:00"
    assert show(cli, "ZJ-2026-001")["last_event_at"] == "2026-11-20T01:30:00+00:00"
    assert history(cli, "ZJ-2026-001")[-1]["occurred_at"] == "2026-11-20T01:30:00+00:00"
    # the next event may not go back before the backfilled one either
    cli("event", "ZJ-2026-001", "intake", "--as", "wang", "--at", "2026-11-19T09:30:00+08:00").expect(3)
    assert cli.json("event", "ZJ-2026-001", "intake", "--as", "wang")["phase"] == "proposal_review"


def test_an_effective_time_in_the_future_is_refused(demo: Cli) -> None:
    typo = "2027-11-26T10:00:00+08:00"  # meant 2026
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--at", typo).expect(3)
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)


def test_a_stale_expected_version_is_a_conflict_that_changes_nothing(demo: Cli, db_url: str) -> None:
    before = table_counts(db_url)
    res = demo.json("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--expect-version", "7", code=5)
    assert res["error"] == "CONFLICT" and "预期版本 7" in res["message"]
    stale = demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--expect-version", "0").expect(5)
    assert "请刷新后重试" in stale.stderr
    assert table_counts(db_url) == before
    view = show(demo, "ZJ-2026-001")
    assert (view["phase"], view["version"]) == ("draft", 1)
    ok = demo.json("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--expect-version", "1")
    assert ok["version"] == 2
    # the version moved: the same expectation is stale now
    demo("event", "ZJ-2026-001", "intake", "--as", "wang", "--expect-version", "1").expect(5)
    assert show(demo, "ZJ-2026-001")["phase"] == "proposal_submitted"


def test_a_stale_expected_version_is_a_conflict_whatever_the_phase_now(demo: Cli) -> None:
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--expect-version", "1").expect(0)
    # a second clerk, who read version 1 too, submits the same proposal
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li", "--expect-version", "1").expect(5)


def test_refuse_and_withdraw_need_a_reason(demo: Cli) -> None:
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    for name, user in [("refuse", "wang"), ("withdraw", "li")]:
        for extra in ([], ["--reason", "   "]):
            res = demo.json("event", "ZJ-2026-001", name, "--as", user, *extra, code=3)
            assert [r["code"] for r in res["reasons"]] == ["REASON_REQUIRED"], res
            assert "--reason" in res["reasons"][0]["message"]
    assert history(demo, "ZJ-2026-001")[-1]["outcome"] == "refused"
    view = show(demo, "ZJ-2026-001")
    assert (view["phase"], view["version"]) == ("proposal_review", 3)
    res = demo.json("event", "ZJ-2026-001", "refuse", "--as", "wang", "--reason", "共享协定未覆盖公安厅需求")
    assert res["phase"] == "rejected"
    assert history(demo, "ZJ-2026-001")[-1]["note"] == "共享协定未覆盖公安厅需求"
    demo("event", "ZJ-2026-001", "revise", "--as", "li").expect(0)
    res = demo.json("event", "ZJ-2026-001", "withdraw", "--as", "li", "--reason", "项目合并")
    assert res["phase"] == "withdrawn"


# ============================================================================================== 5. reviews, opinions


def test_a_review_lets_a_refused_approval_pass(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document({"ZJ-2026-101": {"reviews": None}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", "ZJ-2026-101", "submit_proposal", "--as", "li").expect(0)
    cli("event", "ZJ-2026-101", "intake", "--as", "wang").expect(0)
    refused = cli.json("event", "ZJ-2026-101", "approve", "--as", "wang", code=3)
    assert [r["code"] for r in refused["reasons"]] == ["REVIEW_MISSING"]
    assert refused["reasons"][0]["clause"] == "733号文 第十条第一款"
    # a review that judges only some focus points is recorded, and the approval names what is missing
    review = ["review", "add", "ZJ-2026-101", "--as", "pingshen", "--stage", "proposal"]
    partial = cli.json(
        *review, "--date", "2026-11-25", "-j", "agreement=met:协定完备", "-j", "catalog=partly"
    )
    assert partial == {"project": "ZJ-2026-101", "stage": "proposal", "version": 4}
    refused = cli.json("event", "ZJ-2026-101", "approve", "--as", "wang", code=3)
    assert {r["detail"]["focus_point"] for r in refused["reasons"]} == {
        "infrastructure",
        "aggregation",
        "technical",
    }
    complete = cli(*review, *ALL_MET).expect(0)  # dated today, 2026-11-26: the day after the partial one
    assert "已登记 ZJ-2026-101 的" in complete.stdout and "（版本 5）" in complete.stdout
    ok = cli.json("event", "ZJ-2026-101", "approve", "--as", "wang")
    assert (ok["phase"], ok["version"]) == ("proposal_approved", 6)


def test_a_point_judged_not_met_refuses_the_approval_unless_the_office_records_why(
    cli: Cli, tmp_path: Path
) -> None:
    """第十条第一款: the review counts. A focus point judged not met refuses the approval; the program office may
    set it aside only with a recorded reason, which the accepted decision carries in the trail."""
    doc = variant_document({"ZJ-2026-101": {"reviews": None}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", "ZJ-2026-101", "submit_proposal", "--as", "li").expect(0)
    cli("event", "ZJ-2026-101", "intake", "--as", "wang").expect(0)
    cli(
        "review", "add", "ZJ-2026-101", "--as", "pingshen", "--stage", "proposal",
        "-j", "agreement=met", "-j", "catalog=met", "-j", "infrastructure=not_met:未利用省政务云，拟自建机房",
        "-j", "aggregation=met", "-j", "technical=not_met",
    ).expect(0)  # fmt: skip
    before = show(cli, "ZJ-2026-101")
    refused = cli.json("event", "ZJ-2026-101", "approve", "--as", "wang", code=3)
    assert [(r["code"], r["detail"]["focus_point"]) for r in refused["reasons"]] == [
        ("REVIEW_NOT_MET", "infrastructure"),
        ("REVIEW_NOT_MET", "technical"),
    ]
    assert {r["clause"] for r in refused["reasons"]} == {"733号文 第十条第一款"}
    assert (
        "未利用省政务云" in refused["reasons"][0]["message"]
        and "--override" in refused["reasons"][0]["message"]
    )
    # the review is the reviewer's, named as people read it — not by the user name it was recorded under
    assert refused["reasons"][0]["message"].startswith("孙评审（浙江省电子政务项目评审中心）对项目建议书")
    after = show(cli, "ZJ-2026-101")
    assert (after["phase"], after["version"]) == (before["phase"], before["version"])

    # --override is for approve only, and only where there is an objection to set aside
    assert "approve" in cli("event", "ZJ-2026-101", "refuse", "--as", "wang", "--reason", "x",
                            "--override", "y").expect(2).stderr  # fmt: skip
    cli.json(
        "event", "ZJ-2026-101", "approve", "--as", "wang", "--override", " ", code=3
    )  # blank: no override

    why = "省政务云暂无满足等保三级的专区，经省政府专题会议同意自建"
    ok = cli.json("event", "ZJ-2026-101", "approve", "--as", "wang", "--override", why)
    assert ok["phase"] == "proposal_approved"
    last = history(cli, "ZJ-2026-101")[-1]
    assert (last["action"], last["outcome"]) == ("approve", "accepted")
    assert [(r["code"], r["detail"]["focus_point"]) for r in last["reasons"]] == [
        ("REVIEW_OVERRIDDEN", "infrastructure"),
        ("REVIEW_OVERRIDDEN", "technical"),
    ]
    assert all(why in r["message"] and r["clause"] == "733号文 第十条第一款" for r in last["reasons"])


def test_an_override_without_an_objection_is_refused(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document({"ZJ-2026-101": {"reviews": None}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", "ZJ-2026-101", "submit_proposal", "--as", "li").expect(0)
    cli("event", "ZJ-2026-101", "intake", "--as", "wang").expect(0)
    cli("review", "add", "ZJ-2026-101", "--as", "pingshen", "--stage", "proposal", *ALL_MET).expect(0)
    before = audit_count(cli)
    res = cli("event", "ZJ-2026-101", "approve", "--as", "wang", "--override", "无").expect(2)
    assert "不符合" in res.stderr and audit_count(cli) == before


def test_a_same_day_corrected_review_counts(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document({"ZJ-2026-101": {"reviews": None}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", "ZJ-2026-101", "submit_proposal", "--as", "li").expect(0)
    cli("event", "ZJ-2026-101", "intake", "--as", "wang").expect(0)
    cli(
        "review", "add", "ZJ-2026-101", "--as", "pingshen", "--stage", "proposal", "-j", "agreement=met"
    ).expect(0)
    cli("review", "add", "ZJ-2026-101", "--as", "pingshen", "--stage", "proposal", *ALL_MET).expect(0)
    cli("event", "ZJ-2026-101", "approve", "--as", "wang").expect(0)


def test_an_opinion_lets_a_refused_intake_pass(cli: Cli, tmp_path: Path) -> None:
    opinions = [o for o in demo_document()["projects"][0]["opinions"] if o["department"] != HRSS]
    doc = variant_document({"ZJ-2026-102": {"opinions": opinions}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", "ZJ-2026-102", "submit_proposal", "--as", "li").expect(0)
    refused = cli.json("event", "ZJ-2026-102", "intake", "--as", "wang", code=3)
    assert [(r["code"], r["detail"]["department"]) for r in refused["reasons"]] == [("OPINION_MISSING", HRSS)]
    assert refused["phase"] == "draft"
    res = cli.json(
        "opinion", "add", "ZJ-2026-102", "--as", "chen", "--department", HRSS, "--verdict", "agree"
    )
    assert res == {"project": "ZJ-2026-102", "department": HRSS, "verdict": "agree", "version": 4}
    cli("event", "ZJ-2026-102", "submit_proposal", "--as", "li").expect(0)
    assert cli.json("event", "ZJ-2026-102", "intake", "--as", "wang")["phase"] == "proposal_review"


def test_a_newer_opinion_supersedes_an_unmet_need(demo: Cli) -> None:
    demo("event", "ZJ-2026-003", "submit_proposal", "--as", "lin").expect(0)
    demo("event", "ZJ-2026-003", "intake", "--as", "wang").expect(0)
    refused = demo.json("event", "ZJ-2026-003", "approve", "--as", "wang", code=3)
    assert [r["code"] for r in refused["reasons"]] == ["UNMET_NEED_NOT_COVERED"]
    out = demo(
        "opinion", "add", "ZJ-2026-003", "--as", "zhou", "--department", POLICE, "--verdict", "agree"
    ).expect(0)
    assert f"已登记 {POLICE} 对 ZJ-2026-003 的意见（版本 4）" in out.stdout
    assert demo.json("event", "ZJ-2026-003", "approve", "--as", "wang")["phase"] == "proposal_approved"


def test_bad_review_and_opinion_input_is_refused_with_the_right_exit_codes(demo: Cli, db_url: str) -> None:
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    before = table_counts(db_url)
    review = ["review", "add", "ZJ-2026-001", "--as", "pingshen"]
    res = demo(*review, "--stage", "proposal", "-j", "foo=bar").expect(2)
    assert "foo" in res.stderr
    assert "great" in demo(*review, "--stage", "proposal", "-j", "agreement=great").expect(2).stderr
    assert "重点=判断" in demo(*review, "--stage", "proposal", "-j", "agreement").expect(2).stderr
    assert "bogus" in demo(*review, "--stage", "bogus", *ALL_MET).expect(2).stderr
    assert (
        "YYYY-MM-DD"
        in demo(*review, "--stage", "proposal", "--date", "2026-13-01", *ALL_MET).expect(2).stderr
    )
    wrong = demo.json(*review, "--stage", "design", *ALL_MET, code=3)
    assert [r["code"] for r in wrong["reasons"]] == ["NOT_IN_REVIEW"]
    assert (
        wrong["reasons"][0]["clause"] == "733号文 第十条第一款"
        and "建议书评审中" in wrong["reasons"][0]["message"]
    )
    assert (
        demo("review", "add", "ZJ-2099-404", "--as", "pingshen", "--stage", "proposal", *ALL_MET).exit_code
        == 4
    )
    opinion = ["opinion", "add", "ZJ-2026-001", "--as", "wang", "--department"]
    res = demo(*opinion, SAMR, "--verdict", "maybe").expect(2)
    assert "agree_with_changes" in res.stderr
    res = demo(*opinion, NDRC, "--verdict", "agree").expect(3)
    assert "不是项目 ZJ-2026-001 的相关部门" in res.stderr and "733号文 第九条" in res.stderr
    speak = demo.json(
        "opinion", "add", "ZJ-2026-001", "--as", "zhou", "--department", SAMR, "--verdict", "agree", code=3
    )
    assert [r["code"] for r in speak["reasons"]] == ["NOT_RELATED_DEPARTMENT"]
    assert table_counts(db_url) == before  # nothing recorded, no version moved
    assert show(demo, "ZJ-2026-001")["version"] == 3


def test_a_bad_judgment_lists_what_is_allowed(nodb: Cli) -> None:
    res = nodb(
        "review", "add", "ZJ-2026-001", "--as", "pingshen", "--stage", "proposal", "-j", "foo=met"
    ).expect(2)
    assert all(p in res.stderr for p in FIVE_POINTS), res
    res = nodb(
        "review", "add", "ZJ-2026-001", "--as", "pingshen", "--stage", "proposal", "-j", "agreement=ok"
    )
    assert all(j in res.stderr for j in ("met", "partly", "not_met")) and "not a valid" not in res.stderr


# permission denials inside a writing use case: the command, the user, the reason code
_WRITE_DENIALS: list[tuple[list[str], str]] = [
    (["review", "add", "ZJ-2026-001", "--as", "wang", "--stage", "proposal", *ALL_MET], "PERMISSION_DENIED"),
    (
        ["opinion", "add", "ZJ-2026-001", "--as", "qian", "--department", SAMR, "--verdict", "agree"],
        "PERMISSION_DENIED",
    ),
    # 大数据局 has no part in ZJ-2026-002: it reads as missing (exit 4), and the attempt is still audited
    (["catalog", "import", "ZJ-2026-002", str(DATA / "catalog.csv"), "--as", "li"], "NOT_FOUND"),
    (["evidence", "import", str(DATA / "evidence.csv"), "--as", "zheng"], "PERMISSION_DENIED"),
    (["load", str(DEMO), "--as", "li"], "PERMISSION_DENIED"),
    (["user", "add", "bob", "--role", "audit", "--as", "li"], "PERMISSION_DENIED"),
    (["user", "deactivate", "zhou", "--reason", "x", "--as", "wang"], "PERMISSION_DENIED"),
    (["user", "activate", "zhou", "--as", "zheng"], "PERMISSION_DENIED"),
]


def test_permission_denials_inside_writing_commands_are_refused_and_audited(demo: Cli) -> None:
    """The denial is written to the audit trail although the command's own transaction rolls back (on SQLite,
    writing it from inside that transaction would wait for the transaction's own lock)."""
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    problems = []
    for args, code in _WRITE_DENIALS:
        before = audit_count(demo)
        res = demo(*args, "--json")
        exit_code = 4 if code == "NOT_FOUND" else 3
        body = res.json() if res.exit_code == exit_code else {}
        codes = [body.get("error")] if code == "NOT_FOUND" else [r["code"] for r in body.get("reasons", [])]
        if res.exit_code != exit_code or codes != [code]:
            problems.append(str(res))
        elif audit_count(demo) != before + 1:
            problems.append(f"{' '.join(args)}: denial not audited")
    assert not problems, "\n\n".join(problems)


# ============================================================================================== 6. CSV imports


def test_catalog_import_adds_and_refines_items_of_a_draft_project(demo: Cli) -> None:
    res = demo.json("catalog", "import", "ZJ-2026-002", DATA / "catalog.csv", "--as", "zhao")
    assert res == {"project": "ZJ-2026-002", "added": 1, "refined": 2, "version": 2}
    assert demo.json("project", "show", "ZJ-2026-002", "--as", "zheng")["catalog_items"] == 3
    # the third is C-003, secret (第二条第三款): an operator, like any reader outside its scope, does not count it
    assert show(demo, "ZJ-2026-002")["catalog_items"] == 2
    out = demo("catalog", "import", "ZJ-2026-002", DATA / "catalog.csv", "--as", "zhao").expect(0).stdout
    assert "ZJ-2026-002：新增 0 条目录条目，细化 3 条（版本 3）" in out
    last = history(demo, "ZJ-2026-002")[-1]
    assert (last["action"], last["actor"], last["clauses"]) == ("catalog.import", "zhao", ["733号文 第九条"])
    locked = demo.json("catalog", "import", "ZJ-2026-004", DATA / "catalog.csv", "--as", "chen", code=3)
    assert [r["code"] for r in locked["reasons"]] == ["CATALOG_LOCKED"]
    assert demo("catalog", "import", "ZJ-2026-002", DATA / "nope.csv", "--as", "zhao").expect(2).stderr


CATALOG_HEADER = (
    "code,name,provider,category,share_type,method,update_frequency,secrecy,legal_basis,authorized"
)
EVIDENCE_HEADER = "project,catalog,consumer,date,records"
GOOD_CATALOG_ROW = f"C-007,企业年报信息,{SAMR},business,unconditional,exchange,yearly,public,,all"
GOOD_EVIDENCE_ROW = f"ZJ-2026-005,C-001,{NDRC},2026-11-21,10"  # a day the demo has not recorded


def test_bad_catalog_rows_are_reported_by_path_and_nothing_is_written(
    demo: Cli, db_url: str, tmp_path: Path
) -> None:
    before = table_counts(db_url)
    shape = write_csv(
        tmp_path / "shape.csv",
        [
            CATALOG_HEADER,
            GOOD_CATALOG_ROW,
            f"C-008,印章信息,{POLICE},business,unconditional,fax,daily,public,,all",
            f"C-009,企业登记信息,{SAMR},misc,unconditional,exchange,hourly,public,,all",
        ],
    )
    res = demo.json("catalog", "import", "ZJ-2026-002", shape, "--as", "zhao", code=3)
    assert res["refused"] is True and res["error"] == "INVALID_INPUT"
    assert {r["path"] for r in res["reasons"]} == {
        "rows[2].method",
        "rows[3].category",
        "rows[3].update_frequency",
    }
    assert all(r["clause"] and has_cjk(r["message"]) for r in res["reasons"])
    text_out = demo("catalog", "import", "ZJ-2026-002", shape, "--as", "zhao").expect(3).output
    assert "[rows[2].method]" in text_out and "文件第 3 行" in text_out
    rules = write_csv(
        tmp_path / "rules.csv",
        [
            CATALOG_HEADER,
            GOOD_CATALOG_ROW,
            f"C-008,企业登记信息,{SAMR},basic,conditional,exchange,daily,public,《某法》,all",
            f"C-009,印章信息,{POLICE},business,conditional,query,daily,internal,,{SAMR}",
        ],
    )
    res = demo.json("catalog", "import", "ZJ-2026-002", rules, "--as", "zhao", code=3)
    assert {(r["path"], r["clause"]) for r in res["reasons"]} >= {("rows[2].share_type", "733号文 第三条")}
    assert {r["path"] for r in res["reasons"]} == {"rows[2].share_type", "rows[3].legal_basis"}
    unknown = write_csv(
        tmp_path / "unknown.csv",
        [
            CATALOG_HEADER,
            GOOD_CATALOG_ROW,
            "C-008,某信息,91330000MA0000000X,business,unconditional,query,daily,public,,all",
        ],
    )
    res = demo.json("catalog", "import", "ZJ-2026-002", unknown, "--as", "zhao", code=3)
    assert [r["path"] for r in res["reasons"]] == ["rows[2].provider"]
    assert table_counts(db_url) == before
    assert show(demo, "ZJ-2026-002")["version"] == 1


def test_evidence_import_and_its_bad_rows(demo: Cli, db_url: str, tmp_path: Path) -> None:
    total = "SELECT coalesce(sum(records), 0) FROM delivery_evidence"
    [(before,)] = sql(db_url, total)
    # the file re-exports days the demo already recorded: each such row is refused, nothing is written
    res = demo.json("evidence", "import", DATA / "evidence.csv", code=3)
    assert [(r["path"], r["code"]) for r in res["reasons"]] == [
        (f"rows[{n}].date", "EVIDENCE_ALREADY_RECORDED") for n in (1, 2, 3)
    ]
    assert sql(db_url, total) == [(before,)]
    # --replace: the file's numbers stand for its days (2026-11-25 of C-001 was 1200 + 455, is 1200 now)
    out = demo("evidence", "import", DATA / "evidence.csv", "--as", "wang", "--replace").expect(0).stdout
    assert "已导入交付记录：3 个" in out
    [(after,)] = sql(db_url, total)
    assert after - before == -455
    # the same file again is refused, naming when and by whom it was imported (even with --replace)
    again = demo("evidence", "import", DATA / "evidence.csv", "--replace", lang="en").expect(3).output
    assert "was already imported on" in again and "by wang" in again
    assert "由 wang 导入" in demo("evidence", "import", DATA / "evidence.csv").expect(3).output
    assert sql(db_url, total) == [(after,)]
    counts = table_counts(db_url)
    shape = write_csv(
        tmp_path / "shape.csv",
        [
            EVIDENCE_HEADER,
            GOOD_EVIDENCE_ROW,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,many",
            f"ZJ-2026-005,C-001,{NDRC},2026-02-30,5",
        ],
    )
    res = demo.json("evidence", "import", shape, code=3)
    assert {r["path"] for r in res["reasons"]} == {"rows[2].records", "rows[3].date"}, res
    rules = write_csv(
        tmp_path / "rules.csv",
        [
            EVIDENCE_HEADER,
            GOOD_EVIDENCE_ROW,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,-3",
            f"ZJ-2026-005,C-001,{NDRC},2026-12-21,3",
        ],
    )
    res = demo.json("evidence", "import", rules, code=3)
    assert {(r["path"], r["code"]) for r in res["reasons"]} == {
        ("rows[2].records", "EVIDENCE_NEGATIVE"),
        ("rows[3].date", "EVIDENCE_IN_FUTURE"),
    }
    unknown = write_csv(
        tmp_path / "unknown.csv",
        [EVIDENCE_HEADER, GOOD_EVIDENCE_ROW, f"ZJ-2026-005,C-009,{NDRC},2026-11-21,3"],
    )
    res = demo.json("evidence", "import", unknown, code=3)
    assert [r["path"] for r in res["reasons"]] == ["rows[2].catalog"], res
    assert table_counts(db_url) == counts


def test_every_bad_row_of_a_csv_is_reported_at_once(demo: Cli, tmp_path: Path) -> None:
    catalog = write_csv(
        tmp_path / "catalog.csv",
        [
            CATALOG_HEADER,
            f"C-007,企业登记信息,{SAMR},basic,conditional,exchange,daily,public,《某法》,all",
            f"C-008,印章信息,{POLICE},business,unconditional,fax,daily,public,,all",
            "C-009,某信息,91330000MA0000000X,business,unconditional,query,daily,public,,all",
        ],
    )
    res = demo.json("catalog", "import", "ZJ-2026-002", catalog, "--as", "zhao", code=3)
    assert {r["path"] for r in res["reasons"]} == {"rows[1].share_type", "rows[2].method", "rows[3].provider"}
    evidence = write_csv(
        tmp_path / "evidence.csv",
        [
            EVIDENCE_HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,-3",
            f"ZJ-2026-005,C-009,{NDRC},2026-11-21,3",
        ],
    )
    res = demo.json("evidence", "import", evidence, code=3)
    assert {r["path"] for r in res["reasons"]} == {"rows[1].records", "rows[2].catalog"}


def test_every_bad_row_of_a_document_is_reported_at_once(cli: Cli, tmp_path: Path) -> None:
    doc = demo_document()
    doc["projects"][0]["catalog"][0]["share_type"] = "conditional"  # 第三条: a basic item is unconditional
    doc["projects"][0]["catalog"][0]["legal_basis"] = "《某法》"
    doc["projects"][0]["catalog"][1]["share_type"] = "sometimes"  # not a share type
    res = cli.json("load", write_document(tmp_path / "mixed.json", doc), code=3)
    assert {r["path"] for r in res["reasons"]} == {
        "projects[0].catalog[0].share_type",
        "projects[0].catalog[1].share_type",
    }


# ============================================================================================== 7. load all-or-nothing


def test_a_document_with_bad_rows_is_reported_row_by_row_and_nothing_is_written(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    doc = demo_document()
    doc["departments"][2]["level"] = "national"
    doc["projects"][0]["catalog"][1]["share_type"] = "sometimes"
    doc["projects"][2]["catalog"][0]["method"] = "fax"
    doc["evidence"][3]["records"] = "many"
    path = write_document(tmp_path / "bad.json", doc)
    before = table_counts(db_url)
    res = cli.json("load", path, code=3)
    assert res["refused"] is True
    assert {r["path"] for r in res["reasons"]} == {
        "departments[2].level",
        "projects[0].catalog[1].share_type",
        "projects[2].catalog[0].method",
        "evidence[3].records",
    }, res
    assert all({"code", "clause", "message", "path"} <= set(r) for r in res["reasons"])
    out = cli("load", path).expect(3).output
    assert "[projects[0].catalog[1].share_type]" in out and "被规则拒绝" in out
    assert table_counts(db_url) == before
    # rule breaches (not shape) are all reported too, and still nothing is written
    doc = demo_document()
    doc["projects"][0]["catalog"][0]["share_type"] = "conditional"  # basic must be unconditional (第三条)
    doc["projects"][0]["catalog"][0]["legal_basis"] = "《某法》"
    doc["projects"][0]["catalog"][3]["authorized"] = "all"  # secret item shared with all (第二条第三款)
    doc["projects"][1]["lead_department"] = "91330000MA0000000X"
    res = cli.json("load", write_document(tmp_path / "rules.json", doc), code=3)
    paths = {r["path"] for r in res["reasons"]}
    assert {"projects[0].catalog[0].share_type", "projects[0].catalog[3].authorized"} <= paths, res
    assert any(p.startswith("projects[1].lead_department") for p in paths), res
    assert {r["clause"] for r in res["reasons"]} >= {"733号文 第三条", "733号文 第二条第三款"}
    assert table_counts(db_url) == before
    assert cli("load", DATA / "portfolio-broken.yaml").expect(2).stderr
    assert cli("load", tmp_path / "missing.yaml").expect(2).stderr


# ============================================================================================== 8. audit verify


def _tamper(case: str, last: int) -> tuple[list[str], int]:
    return {
        "edit": (["UPDATE audit_event SET note = 'nothing to see' WHERE seq = 3"], 3),
        "delete-middle": (["DELETE FROM audit_event WHERE seq = 4"], 4),
        "swap": (
            [
                "UPDATE audit_event SET seq = -1 WHERE seq = 3",
                "UPDATE audit_event SET seq = 3 WHERE seq = 5",
                "UPDATE audit_event SET seq = 5 WHERE seq = -1",
            ],
            3,
        ),
        "delete-last": ([f"DELETE FROM audit_event WHERE seq = {last}"], last),
        # the head set back with the events left in place
        "head-back": (
            ["UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_event WHERE seq = 6)"],
            6,
        ),
    }[case]


@pytest.mark.parametrize("case", ["edit", "delete-middle", "swap", "delete-last", "head-back"])
def test_audit_verify_names_the_first_tampered_event(demo: Cli, db_url: str, case: str) -> None:
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    demo("event", "ZJ-2026-001", "approve", "--as", "qian").expect(3)
    intact = demo("audit", "verify").expect(0)
    assert "审计链完整：共 8 条事件" in intact.stdout
    assert demo.json("audit", "verify") == {
        "ok": True,
        "checked": 8,
        "first_bad_seq": None,
        "first_bad_id": None,
        "problem": None,
        "anchored": False,  # the chain alone: tests/cli/test_audit_anchor.py holds it to anchors
        "anchors": 0,
        "anchor_seq": None,
        "anchor_at": None,
    }
    statements, bad = _tamper(case, 8)
    sql(db_url, *statements)
    res = demo("audit", "verify").expect(1)
    assert "审计链被篡改" in res.output and f"第 {bad} 号" in res.output, res
    report = demo.json("audit", "verify", code=1)
    assert report["ok"] is False and report["first_bad_seq"] == bad, report
    assert f"#{bad}" in demo("audit", "verify", lang="en").expect(1).output


# ============================================================================================== 9. calendar


def _official_add_workdays(start: date, n: int) -> date:
    """Independent of govflow: walk chinese_calendar's own data."""
    day = start
    while n:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def test_add_workdays_counts_holidays_and_make_up_days(nodb: Cli) -> None:
    expected = _official_add_workdays(date(2026, 9, 30), 20)
    res = nodb.json("calendar", "add-workdays", "2026-09-30", "20")
    assert res["date"] == expected.isoformat() == "2026-11-03"
    assert (res["start"], res["workdays"]) == ("2026-09-30", 20)
    kinds = {d["date"]: d["kind"] for d in res["skipped"]}
    assert all(kinds[f"2026-10-0{i}"] == "holiday" for i in range(1, 8))
    assert kinds["2026-10-10"] == "makeup_workday"  # a Saturday worked under 调休: it counted
    out = nodb("calendar", "add-workdays", "2026-09-30", "20").expect(0).stdout
    assert "2026-09-30 之后第 20 个工作日：2026-11-03" in out and "法定节假日" in out
    assert nodb.json("calendar", "add-workdays", "2026-11-26", "0")["date"] == "2026-11-26"
    nodb("calendar", "add-workdays", "2026-09-30", "-1").expect(2)
    nodb("calendar", "add-workdays", "2026-09-31", "1").expect(2)


def test_add_workdays_refuses_a_year_without_calendar_data(nodb: Cli) -> None:
    if any(d.year == 2027 for d in chinese_calendar.holidays):
        pytest.skip("chinesecalendar now carries 2027; pick the next year without data")
    res = nodb("calendar", "add-workdays", "2027-01-04", "3").expect(3)
    assert "2027" in res.stderr and "没有 2027 年的数据" in res.stderr
    body = nodb.json("calendar", "add-workdays", "2027-01-04", "3", code=3)
    assert body["error"] == "CALENDAR_DATA_MISSING" and "2027" in body["message"]
    # a count that runs over the year end is refused too, not guessed
    assert "2027" in nodb("calendar", "add-workdays", "2026-12-20", "20").expect(3).stderr
    assert (
        "no data for 2027" in nodb("calendar", "add-workdays", "2027-01-04", "3", lang="en").expect(3).stderr
    )


# ============================================================================================== 10. language, exit codes


def test_language_and_exit_codes_at_the_process_boundary(cli: Cli, db_url: str) -> None:
    cli.pin = False  # the real processes below use the real clock
    cli("load", DEMO).expect(0)
    cli("event", "ZJ-2026-002", "submit_proposal", "--as", "zhao").expect(0)
    en_refusal, en_show, zh_missing = run_parallel(
        db_url,
        [
            ["--lang", "en", "event", "ZJ-2026-002", "intake", "--as", "wang"],
            ["--lang", "en", "project", "show", "ZJ-2026-001"],
            ["project", "show", "ZJ-2099-404"],
        ],
    )
    assert en_refusal.exit_code == 3, en_refusal
    assert "'Intake' refused for ZJ-2026-002" in en_refusal.output
    assert "no sharing agreement or joint document was provided; intake refused" in en_refusal.output
    assert "(733号文 第十条第二款、第八条)" in en_refusal.output  # clauses are cited as written
    assert "the project returned to 'Draft'" in en_refusal.output and "不予受理" not in en_refusal.output
    assert en_show.exit_code == 0 and "possible events" in en_show.stdout
    assert "Draft (draft)" in en_show.stdout and "编制中" not in en_show.stdout
    assert zh_missing.exit_code == 4 and "项目 ZJ-2099-404 不存在" in zh_missing.stderr
    # default Chinese for project show, exit 2 and 5: in-process above and the concurrency tests below


def test_language_from_the_environment_and_a_bad_language(nodb: Cli) -> None:
    out = nodb("calendar", "add-workdays", "2026-09-30", "1", lang="en").expect(0).stdout
    assert "1 working days after 2026-09-30: 2026-10-08" in out
    assert "之后第 1 个工作日" in nodb("calendar", "add-workdays", "2026-09-30", "1").expect(0).stdout
    assert "--lang" in nodb("--lang", "fr", "calendar", "add-workdays", "2026-09-30", "1").expect(2).stderr
    assert "之后第" in nodb("--lang", "zh", "calendar", "add-workdays", "2026-09-30", "1", lang="en").stdout


# ============================================================================================== 11. concurrency


def _racing_copies(cli: Cli, tmp_path: Path, codes: Sequence[str]) -> None:
    cli.pin = False  # the racing processes use the real clock; their data must not lie in their future
    doc = variant_document({c: {} for c in codes})
    cli("load", write_document(tmp_path / "race.json", doc)).expect(0)


def test_concurrent_events_with_one_expected_version_exactly_one_wins(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    """Two processes fire the same event with the same --expect-version at the same moment, six times."""
    codes = ["ZJ-2026-201", "ZJ-2026-202"]
    _racing_copies(cli, tmp_path, codes)
    steps = [("submit_proposal", "li", 1), ("intake", "wang", 2), ("approve", "wang", 3)]
    rounds = [(code, *step) for code in codes for step in steps]
    plan = [
        ["event", code, ev, "--as", user, "--expect-version", str(v), "--json"]
        for code, ev, user, v in rounds
    ]
    racers = Racers(db_url, tmp_path / "barrier", [plan, plan])
    overlapped = 0
    try:
        for r, (code, _, _, version) in enumerate(rounds):
            pair = racers.round(r)
            seen = sorted(p.exit_code for p in pair)
            # Both expected the same version: exactly one wins, the other is told of the conflict, whether it
            # read the project before the winner committed (caught at the write) or after (caught at the read).
            assert seen == [0, 5], "\n".join(map(str, pair))
            winner = next(p for p in pair if p.exit_code == 0).json()
            loser = next(p for p in pair if p.exit_code != 0).json()
            assert winner["accepted"] is True and winner["version"] == version + 1
            assert loser["error"] == "CONFLICT"
            overlapped += 1
            assert show(cli, code)["version"] == version + 1
    finally:
        racers.close()
    print(f"{overlapped} of {len(rounds)} races: one winner, one conflict")
    for code in codes:
        assert show(cli, code)["phase"] == "proposal_approved"
        decisions = [x for x in history(cli, code) if x["kind"] == "decision"]
        assert [x["action"] for x in decisions] == ["submit_proposal", "intake", "approve"]
    cli("audit", "verify").expect(0)


def test_concurrent_different_events_leave_a_consistent_trail(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """approve (program office) and withdraw (lead department) race from proposal_review, no --expect-version.

    When they overlap, one wins and the other gets a conflict (exit 5). When one finishes before the other
    reads, both are judged in turn: approve-then-withdraw are both accepted (withdraw is possible from
    proposal_approved); withdraw-then-approve refuses approve (exit 3, impossible from withdrawn). Whatever
    happened, the project's phase and version must agree with its audit trail.
    """
    codes = ["ZJ-2026-301", "ZJ-2026-302", "ZJ-2026-303"]
    _racing_copies(cli, tmp_path, codes)
    for code in codes:
        cli("event", code, "submit_proposal", "--as", "li").expect(0)
        cli("event", code, "intake", "--as", "wang").expect(0)
    approve = [["event", code, "approve", "--as", "wang", "--json"] for code in codes]
    withdraw = [
        ["event", code, "withdraw", "--as", "li", "--reason", "并入省级平台统一建设", "--json"]
        for code in codes
    ]
    racers = Racers(db_url, tmp_path / "barrier", [approve, withdraw])
    outcomes = []
    try:
        for r, code in enumerate(codes):
            a, w = racers.round(r)
            assert {a.exit_code, w.exit_code} <= {0, 3, 5}, f"{a}\n{w}"
            assert 0 in (a.exit_code, w.exit_code), f"{a}\n{w}"
            view = show(cli, code)
            decisions = [x for x in history(cli, code) if x["kind"] == "decision"]
            moved = [x for x in decisions if x["from_phase"] != x["to_phase"]]
            assert view["phase"] == moved[-1]["to_phase"]
            assert view["version"] == 1 + len(moved)
            for before, after in itertools.pairwise(moved):
                assert after["from_phase"] == before["to_phase"]  # each step starts where the last one ended
            outcomes.append(f"{code}: approve→{a.exit_code} withdraw→{w.exit_code} final={view['phase']}")
    finally:
        racers.close()
    print("\n".join(outcomes))
    cli("audit", "verify").expect(0)


def _interleave(
    monkeypatch: pytest.MonkeyPatch, other: App, code: str, event: str, user: str, reason: str
) -> None:
    """Let ``other`` fire an event between the read and the write of the next command's event: the overlap
    two processes produce when they race, made deterministic."""
    real_fire = lifecycle.fire
    done: list[bool] = []

    def fire(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            services.fire_event(other, code, event, user, reason=reason)
        return real_fire(*args, **kwargs)

    monkeypatch.setattr(events, "fire", fire)  # the name fire_event calls


def test_an_event_overtaken_between_read_and_write_is_a_conflict(
    demo: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo("event", "ZJ-2026-001", "submit_proposal", "--as", "li").expect(0)
    demo("event", "ZJ-2026-001", "intake", "--as", "wang").expect(0)
    _interleave(monkeypatch, demo.app(), "ZJ-2026-001", "withdraw", "li", "项目合并")
    res = demo.json("event", "ZJ-2026-001", "approve", "--as", "wang", code=5)
    assert res["error"] == "CONFLICT"
    view = show(demo, "ZJ-2026-001")
    assert (view["phase"], view["version"]) == ("withdrawn", 4)
    assert [r["action"] for r in history(demo, "ZJ-2026-001") if r["kind"] == "decision"][-1] == "withdraw"


def test_a_refusal_overtaken_between_read_and_write_is_a_conflict(
    demo: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo("event", "ZJ-2026-003", "submit_proposal", "--as", "lin").expect(0)
    demo("event", "ZJ-2026-003", "intake", "--as", "wang").expect(0)
    _interleave(monkeypatch, demo.app(), "ZJ-2026-003", "withdraw", "lin", "项目合并")
    demo("event", "ZJ-2026-003", "approve", "--as", "wang").expect(5)
    last = history(demo, "ZJ-2026-003")[-1]
    assert (last["action"], last["to_phase"]) == ("withdraw", "withdrawn")


def test_an_impossible_or_misdated_event_changes_nothing_but_is_in_the_trail(demo: Cli) -> None:
    """Every refused event is in the audit trail (README; issue 10, 9): an event that does not exist from the
    phase, or is dated before the last event, is recorded as refused with its reason, and the project is not
    touched."""
    before, project = audit_count(demo), show(demo, "ZJ-2026-005")
    demo("event", "ZJ-2026-005", "approve", "--as", "wang", "--reason", "误操作").expect(3)
    demo("event", "ZJ-2026-005", "retire", "--as", "wang", "--at", "2020-01-01T00:00:00+08:00").expect(3)
    assert audit_count(demo) == before + 2
    after = show(demo, "ZJ-2026-005")
    assert (after["phase"], after["version"]) == (project["phase"], project["version"])
    wrong, misdated = history(demo, "ZJ-2026-005")[-2:]
    assert (wrong["action"], wrong["outcome"], wrong["actor"]) == ("approve", "refused", "wang")
    assert (wrong["from_phase"], wrong["to_phase"]) == ("operation", "operation")
    assert wrong["reasons"][0]["code"] == "EVENT_NOT_ALLOWED" and wrong["note"] == "误操作"
    assert (misdated["action"], misdated["outcome"]) == ("retire", "refused")
    assert misdated["reasons"][0]["code"] == "AT_BEFORE_LAST_EVENT"


# ============================================================================================== 12. demo


def test_demo_in_a_fresh_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = make_cli(None, monkeypatch)  # GOVFLOW_DATABASE_URL unset: ./govflow.db
    first = cli("demo", "--reset").expect(0)
    assert (tmp_path / "govflow.db").exists()
    for text_ in (
        "已导入演示项目组合：5 个项目",
        "项目阶段汇总：",
        "审计链完整：共 24 条事件",
        "不予受理",
        "RO-ZJ-2026-004-01",
    ):
        assert text_ in first.stdout, first
    cli("demo", "--reset").expect(0)
    again = cli("demo").expect(2)
    assert "--reset" in again.stderr
    report = cli.json("demo", "--reset")
    assert report["chain_ok"] is True and report["audit_events"] == 24
    assert report["phases"] == {"draft": 1, "operation": 2, "rectification": 1, "rejected": 1}


def test_demo_on_each_database(cli: Cli, db_url: str) -> None:
    assert "审计链完整" in cli("demo").expect(0).stdout
    cli("demo").expect(2)
    reset = cli("demo", "--reset")
    if is_sqlite(db_url):
        reset.expect(0)
    else:  # never drops a server database
        assert "SQLite" in reset.expect(2).stderr


def test_the_demo_tells_its_story_on_the_real_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The portfolio's dates follow today: the same story on any date, in production's terms."""
    cli = make_cli(f"sqlite:///{tmp_path / 'govflow.db'}", monkeypatch)
    cli.start = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    early = cli("demo", "--reset").expect(0).stdout
    assert "演示日期：2026-11-10" in early
    # A-001 promised C-002 by 2026-06-30 in the file, written around 2026-11-26: 16 days earlier here, a Sunday,
    # so due the next Monday (《中华人民共和国民法典》第二百零三条), and the refusal says so
    assert (
        "约定 2026-06-15（约定 2026-06-14 适逢休息日或法定节假日，依《中华人民共和国民法典》第二百零三条顺延至 2026-06-15）前"
        in early
    )
    assert "RO-ZJ-2026-004-01，整改期限 2026-12-08" in early  # 20 working days from 2026-11-10
    assert "审计链完整：共 24 条事件" in early

    pinned = cli("demo", "--reset", "--on", "2026-11-26").expect(0).stdout
    assert "约定 2026-06-30 前" in pinned and "RO-ZJ-2026-004-01，整改期限 2026-12-24" in pinned

    # on the day of this issue: 20 working days reach into 2027, which has no calendar data yet
    cli.start = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    today = cli("demo", "--reset").expect(0).stdout
    assert "演示日期：2026-12-04" in today
    assert "RO-ZJ-2026-004-01，整改期限待定" in today and "2027 年工作日历尚未导入" in today
    assert "审计链完整：共 24 条事件" in today
    assert "--on" in cli("demo", "--help").stdout
    assert "--on" in cli("demo", "--reset", "--on", "2026-13-01").expect(2).stderr
