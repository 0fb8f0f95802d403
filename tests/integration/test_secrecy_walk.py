"""第二条第三款 end to end: a secret catalog item authorized for one department, named in an opinion, a review
comment, a refusal, an order's reason (a missed delivery → sweep → deadlines), a cut's evidence and the notices they
send; then every CLI read command (table and --json, every report format), every API GET endpoint, every web page
and export, and every notice dispatched to each role is searched, as each reader outside the item's scope, for the
item's code, name, interface and field words. None may appear. Its provider, the authorized department and audit
do see them. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
import typer.main
import typer.testing
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from govflow.access import auth
from govflow.api import ApiSettings
from govflow.cli import app as cli_app
from govflow.demo import demo_portfolio
from govflow.governance import cuts, dispatch, rectification, sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import OutboxMessage, RectificationOrder
from govflow.notifications.fake import FakeNotifier
from govflow.reads import secrecy
from govflow.states.phases import Event
from govflow.web.site import create_site

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
BIGDATA, SAMR, POLICE, HRSS = (
    "11330000GF00000027",
    "11330000GF0000003A",
    "11330000GF0000004D",
    "11330000GF0000005G",
)
RUNNING, ACCEPTING = "SEC-2026-001", "SEC-2026-002"
#: what singles the secret item out: its code, name, interface, a field name and a field description
WORDS = ("SEC-9Z7", "边境涉密通行记录", "量子加密单向摆渡接口", "border_pass_serial", "通行证流水编码")
#: li's department is the one authorized, zhou's provides the item, zheng is audit
ENTITLED = ("li", "zhou", "zheng")
#: everybody else: the program office (its department is not authorized), other departments (participants or
#: not), finance, the review agency and the administrator
OUTSIDE = ("wang", "xu", "zhao", "chen", "qian", "pingshen", "admin")
PASSWORD = "Walk-Passw0rd!2026"
PERIOD = "2026"
AS_OF = "2026-12-31"


def _item(code: str, name: str, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "provider": provider,
        "category": "business",
        "share_type": "unconditional",
        "method": "exchange",
        "update_frequency": "daily",
        "secrecy": "public",
        "authorized": "all",
        "fields": [{"name": "uscc", "type": "char(18)", "description": "统一社会信用代码"}],
        "format": "JSON",
        "interface": "省数据共享交换平台",
        "processing": "每日增量归集",
        "traceability": "来源系统与批次号",
    } | extra


SECRET = _item(
    "SEC-9Z7",
    "边境涉密通行记录",
    POLICE,
    category="trace",
    share_type="conditional",
    legal_basis="《中华人民共和国出境入境管理法》第八十五条",
    method="query",
    update_frequency="monthly",
    secrecy="secret",
    authorized=[BIGDATA],
    fields=[{"name": "border_pass_serial", "type": "varchar(20)", "description": "通行证流水编码"}],
    format="专网文件",
    interface="量子加密单向摆渡接口",
    processing="专网内比对",
    traceability="专网审计",
)


def _project(code: str, name: str, phase: str, secret_due: str, lead: str = BIGDATA) -> dict[str, Any]:
    review = {"judgment": "met"}
    return {
        "code": code,
        "name": name,
        "lead_department": lead,
        "departments": [d for d in (BIGDATA, SAMR, POLICE, HRSS) if d != lead],
        "om_budget": 500000.00,
        "phase": phase,
        "needs_analysis": {
            "internal": "部门内部：边境通行与企业登记数据统一管理",
            "external": "部门外部：向大数据局提供通行与登记数据",
            "central_local": "中央和地方之间：按国家要求逐级汇聚",
        },
        "catalog": [_item("P-001", "企业登记基本信息", SAMR), SECRET],
        "agreements": [
            {
                "code": "A-001",
                "form": "agreement",
                "parties": [BIGDATA, SAMR, POLICE],
                "signed_on": "2026-01-05",
                "term": {"start": "2026-01-01", "end": "2028-12-31"},
                "basis": "口岸通关协同工作备忘录",
                "items": [
                    {
                        "catalog": "P-001",
                        "consumer": BIGDATA,
                        "quality": "完整",
                        "quantity": "全量",
                        "update_frequency": "daily",
                        "scope": "通关协同",
                        "usage": "库表交换",
                        "due": "2026-06-30",
                    },
                    {
                        "catalog": "SEC-9Z7",
                        "consumer": BIGDATA,
                        "quality": "与签发系统一致",
                        "quantity": "每月全量",
                        "update_frequency": "monthly",
                        "scope": "专网核查",
                        "usage": "专网导入",
                        "due": secret_due,
                    },
                ],
            }
        ],
        "opinions": [
            *(
                {"department": d, "date": "2026-01-03", "verdict": "agree"}
                for d in (BIGDATA, SAMR, HRSS)
                if d != lead
            ),
            {
                "department": POLICE,
                "date": "2026-01-03",
                "verdict": "agree_with_changes",
                "comment": "边境涉密通行记录仅限在专网内使用，请按量子加密单向摆渡接口对接",
                "conditions": [
                    {
                        "condition": "SEC-9Z7 经量子加密单向摆渡接口对接",
                        "answer": "已按量子加密单向摆渡接口设计",
                    }
                ],
                "unmet_needs": [{"name": "通行证流水编码的按月全量", "catalog": "SEC-9Z7"}],
            },
        ],
        "reviews": [
            {
                "stage": stage,
                "agency": "浙江省电子政务项目评审中心",
                "date": day,
                "judgments": {
                    "agreement": review,
                    "catalog": {"judgment": "met", "comment": "SEC-9Z7的字段border_pass_serial已细化"},
                    "infrastructure": review,
                    "aggregation": review,
                    "technical": review,
                },
                "conclusion": "同意；边境涉密通行记录按专网要求落实" if stage == "design" else "同意",
            }
            for stage, day in (
                ("proposal", "2026-01-10"),
                ("feasibility", "2026-02-05"),
                ("design", "2026-03-02"),
            )
        ],
    }


def _portfolio(tmp: Path) -> Path:
    demo = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    doc = {
        "departments": demo["departments"],
        "users": demo["users"],
        "projects": [
            _project(RUNNING, "浙江省口岸通关协同平台", "operation", "2026-06-30"),
            # led by a department outside the item's scope: its notices about the item are withheld or masked
            _project(ACCEPTING, "浙江省出入境服务协同系统", "acceptance_review", "2026-11-01", lead=SAMR),
        ],
        "evidence": [
            {
                "project": RUNNING,
                "catalog": "P-001",
                "consumer": BIGDATA,
                "date": f"2026-11-{d}",
                "records": 10,
            }
            for d in (20, 23, 24, 25)
        ],
    }
    path = tmp / "secret-walk.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _channels(tmp: Path, departments: list[str]) -> Path:
    roles: dict[str, Any] = {
        r: [f"json://127.0.0.1:9/{r}"]
        for r in ("program_office", "audit", "finance", "admin", "review_agency")
    }
    roles["department"] = {"default": ["json://127.0.0.1:9/dept-default"]} | {
        d: [f"json://127.0.0.1:9/dept-{d}"] for d in departments
    }
    path = tmp / "notify.yaml"
    path.write_text(yaml.safe_dump({"roles": roles}, allow_unicode=True), encoding="utf-8")
    return path


@dataclass(frozen=True)
class World:
    app: App
    refusal: str  # what the program office was told when its acceptance was refused


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[World]:
    """The two projects, a refused acceptance, a failed one, findings, their orders gone overdue, a cut."""
    ticks = itertools.count()
    notify = _channels(tmp_path, [BIGDATA, SAMR, POLICE, HRSS, "11330000GF00000014"])
    app = App(
        ApiSettings(database_url=db_url, notify_file=notify),
        engine,
        clock=lambda: NOW + timedelta(seconds=next(ticks)),
    )
    services.load_portfolio(app, _portfolio(tmp_path), None)
    refused = fire_event(app, ACCEPTING, Event.PASS_ACCEPTANCE, "wang")
    assert not refused.accepted and any(r.code == "DELIVERY_MISSING" for r in refused.reasons)
    failed = fire_event(
        app, ACCEPTING, Event.FAIL_ACCEPTANCE, "wang", reason="SEC-9Z7（边境涉密通行记录）到期未实现共享"
    )
    assert failed.accepted and failed.order
    sweep.run_sweep(app, date(2026, 11, 26))
    rectification.run_deadlines(app, date(2026, 11, 26))
    rectification.run_deadlines(app, date.fromisoformat(AS_OF))
    cuts.run_cuts(app, date.fromisoformat(AS_OF))
    for name in (*ENTITLED, *OUTSIDE):
        auth.set_password(app, None, name, PASSWORD)
    yield World(app, json.dumps([r.to_dict("zh") for r in refused.reasons], ensure_ascii=False))


def _orders(app: App) -> list[str]:
    with unit_of_work(app.engine, write=False) as s:
        return sorted(str(c) for c in s.execute(select(t(RectificationOrder).c.code)).scalars())


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        " ".join("" if v is None else str(v) for v in row)
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
    )


def _leaks(text: str) -> list[str]:
    folded = text.casefold()
    return [w for w in WORDS if w.casefold() in folded]


# ---------------------------------------------------------------------------------------------- CLI


def _cli_outputs(app: App, who: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(services.App, "from_settings", classmethod(lambda cls, settings: app))
    command = typer.main.get_command(cli_app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: command, raising=False)
    runner = typer.testing.CliRunner()
    outputs: dict[str, str] = {}

    def run(*args: str) -> None:
        res = runner.invoke(cli_app, [*args, "--as", who])
        outputs[" ".join(args)] = res.stdout + res.stderr

    orders = _orders(app)
    for json_flag in ((), ("--json",)):
        run("project", "list", *json_flag)
        for code in (RUNNING, ACCEPTING):
            run("project", "show", code, *json_flag)
            run("project", "history", code, *json_flag)
            run("cuts", "show", code, "--period", PERIOD, *json_flag)
        run("order", "list", *json_flag)
        for order in orders:
            run("order", "show", order, *json_flag)
        run("cuts", "list", "--period", PERIOD, *json_flag)
    for report, extra in (("overdue", ()), ("cuts", ("--period", PERIOD)), ("portfolio", ())):
        for fmt in ("table", "json", "csv"):
            run("report", report, "--as-of", AS_OF, "--format", fmt, *extra)
        path = tmp / f"{who}-{report}.xlsx"
        run("report", report, "--as-of", AS_OF, "--format", "xlsx", "--output", str(path), *extra)
        if path.exists():
            outputs[f"report {report} xlsx file"] = _xlsx_text(path.read_bytes())
    run("notify", "status")
    run("notify", "status", "--json")
    return outputs


# ---------------------------------------------------------------------------------------------- API and web

PATH_VALUES = {"code": [RUNNING, ACCEPTING], "period": [PERIOD], "name": ["li"]}
QUERY_VALUES = {"as_of": AS_OF, "period": PERIOD}


def _api_outputs(client: TestClient, token: str, orders: list[str]) -> dict[str, str]:
    spec = client.get("/openapi.json").json()
    headers = {"Authorization": f"Bearer {token}"}
    outputs: dict[str, str] = {}
    values = PATH_VALUES | {"order": orders}
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        params = op.get("parameters", [])
        names = [p["name"] for p in params if p["in"] == "path"]
        query = {
            p["name"]: QUERY_VALUES[p["name"]]
            for p in params
            if p["in"] == "query" and p["name"] in QUERY_VALUES
        }
        formats = [None]
        fmt = next((p for p in params if p["in"] == "query" and p["name"] == "format"), None)
        if fmt is not None:
            formats = [*fmt["schema"].get("enum", ["json", "csv", "xlsx"])]
        for combo in itertools.product(*(values.get(n, ["x"]) for n in names)):
            url = path
            for n, v in zip(names, combo, strict=True):
                url = url.replace("{" + n + "}", v)
            for f in formats:
                q = query | ({"format": f} if f else {}) | {"size": 500}
                r = client.get(url, params=q, headers=headers)
                body = _xlsx_text(r.content) if f == "xlsx" and r.status_code == 200 else r.text
                outputs[f"GET {url} {f or ''} -> {r.status_code}"] = body
                if r.status_code == 200 and f is None:
                    r = client.get(url, params=q, headers=headers | {"Accept-Language": "en"})
                    outputs[f"GET {url} en -> {r.status_code}"] = r.text
    return outputs


WEB_PAGES = (
    "/web/",
    "/web/board",
    f"/web/projects/{RUNNING}",
    f"/web/projects/{ACCEPTING}",
    "/web/department",
    "/web/audit",
    f"/web/audit?project={ACCEPTING}",
    "/web/audit/chain",
    "/web/finance",
    f"/web/finance?period={PERIOD}",
    "/web/review",
    "/web/orders",
    "/web/orders?status=overdue",
    "/web/admin/users",
    "/web/admin/policy",
    "/web/admin/runs",
    "/web/admin/outbox",
    # the pages of the department, reviewer and audit journeys
    f"/web/projects/{RUNNING}/prepare",
    f"/web/projects/{ACCEPTING}/prepare",
    "/web/review/mine",
    "/web/board/coverage",
    "/web/audit/trail",
    "/web/audit/trail?sign_ins=1&sort=oldest",
    "/web/calendar",
    "/web/account",
)


def _web_outputs(site: Any, who: str, orders: list[str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    with TestClient(site, headers={"Accept-Language": "zh-CN"}) as c:
        r = c.post("/web/login", data={"name": who, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303, r.text
        for page in (*WEB_PAGES, *(f"/web/orders/{code}" for code in orders)):
            for lang in ("zh-CN", "en"):
                r = c.get(page, headers={"Accept-Language": lang})
                outputs[f"{page} {lang} -> {r.status_code}"] = r.text
        for fmt in ("csv", "xlsx"):
            for page in (f"/web/reports/overdue.{fmt}", f"/web/reports/cuts-{PERIOD}.{fmt}"):
                r = c.get(page)
                ok = r.status_code == 200 and fmt == "xlsx"
                outputs[f"{page} -> {r.status_code}"] = _xlsx_text(r.content) if ok else r.text
    return outputs


# ---------------------------------------------------------------------------------------------- notices


def _notices(app: App) -> dict[str, list[str]]:
    """Every outbox message dispatched, as received on each channel (by channel name)."""
    fake = FakeNotifier()
    result = dispatch.run_dispatch(app, fake, now=NOW + timedelta(days=60))
    assert result.claimed > 0
    out: dict[str, list[str]] = {}
    for d in fake.deliveries:
        n = d.notice
        out.setdefault(d.channel.rsplit("/", 1)[-1], []).append(f"{n.key}\n{n.title}\n{n.body}")
    return out


def _user_channels(app: App) -> dict[str, str]:
    """The channel each demo user reads: its department's, or its role's."""
    demo = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    out = {}
    for u in demo["users"]:
        role = u["role"]
        out[u["name"]] = f"dept-{u['department']}" if role == "department" else role
    return out


# ---------------------------------------------------------------------------------------------- the walk


def test_nothing_about_a_secret_item_reaches_a_reader_outside_its_scope(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    assert not _leaks(world.refusal) and secrecy.TEXT_ZH in world.refusal  # the program office's refusal
    notices = _notices(app)  # first, so that the operators' views below list what was withheld
    orders = _orders(app)
    assert len(orders) >= 2  # the failed acceptance's order and the missed delivery's
    site = create_site(ApiSettings(database_url=str(app.settings.database_url)), app=app)
    tokens = {name: auth.issue_token(app, None, name) for name in (*ENTITLED, *OUTSIDE)}
    seen: dict[str, dict[str, str]] = {}
    with TestClient(site) as client:
        for who in (*ENTITLED, *OUTSIDE):
            outputs = _cli_outputs(app, who, tmp_path, monkeypatch)
            outputs |= _api_outputs(client, tokens[who], orders)
            outputs |= _web_outputs(site, who, orders)
            seen[who] = outputs
    channels = _user_channels(app)
    for who in (*ENTITLED, *OUTSIDE):
        for text in notices.get(channels[who], []):
            seen[who][f"notice on {channels[who]}"] = seen[who].get(f"notice on {channels[who]}", "") + text

    for who in OUTSIDE:
        leaks = {where: _leaks(text) for where, text in seen[who].items() if _leaks(text)}
        assert not leaks, f"{who} reads the secret item in: {json.dumps(leaks, ensure_ascii=False, indent=1)}"
    # what was searched is real output: readers outside the scope are told something is withheld, and read the
    # rest of the same outputs
    wang = "\n".join(seen["wang"].values())
    assert secrecy.TEXT_ZH in wang and "DELIVERY_MISSING" in wang and ACCEPTING in wang
    assert "P-001" in wang  # the public item is listed as usual
    # the journeys' pages were read, not refused, by readers outside the scope
    assert {f"/web/orders/{code} zh-CN -> 200" for code in orders} <= set(seen["wang"])
    assert (
        "/web/audit/trail zh-CN -> 200" in seen["wang"]
        and "/web/review/mine zh-CN -> 200" in seen["pingshen"]
    )
    assert any(k.endswith("/prepare zh-CN -> 200") for k in seen["zhao"])
    assert any(secrecy.TEXT_ZH in v or secrecy.ITEM_ZH in v for k, v in seen["qian"].items() if "cuts" in k)
    assert notices.get("program_office") and notices.get("finance")
    # the lead department outside the scope is told of the refusal, masked; what is about the item is withheld
    assert any(secrecy.TEXT_ZH in n for n in notices[f"dept-{SAMR}"])
    with unit_of_work(app.engine, write=False) as s:
        ob = t(OutboxMessage)
        withheld = s.execute(select(ob.c.topic).where(ob.c.last_error.like("withheld:%"))).scalars().all()
    assert "finding.opened" in withheld
    for who in ENTITLED:  # the authorized department, the provider and audit read every word
        everything = "\n".join(seen[who].values())
        assert not set(WORDS) - set(_leaks(everything)), who
    # the stored records keep every word and the chain still verifies
    with unit_of_work(app.engine, write=False) as s:
        stored = json.dumps(
            [r.payload for r in s.execute(select(t(OutboxMessage).c.payload))], ensure_ascii=False
        )
    assert "SEC-9Z7" in stored
    assert services.verify_audit(app).ok
    assert re.search("SEC-9Z7", json.dumps(services.project_history(app, ACCEPTING, "zheng"), default=str))
