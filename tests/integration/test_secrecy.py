"""第二条第三款 in words: a refusal or a project's history never names a secret catalog item to a reader who may not
see it; the stored record keeps every word for audit. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select, update

from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AgreementItem, AuditEvent, CatalogItem, Project
from govflow.reads import dashboard, queries, secrecy
from govflow.settings import Settings
from govflow.states.phases import Event
from govflow.states.verdict import Reason

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CODE = "ZJ-2026-001"
SECRET_CODE, SECRET_NAME = "C-004", "出入境证件签发记录"  # provider 公安厅 (zhou), authorized 大数据局 (li)


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    clock = iter(NOW + timedelta(seconds=i) for i in range(10_000))
    application = App(Settings(database_url=db_url), engine, clock=lambda: next(clock))
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


def _to_acceptance_review_with_the_secret_item_overdue(app: App) -> None:
    steps = [
        (Event.SUBMIT_PROPOSAL, "li"), (Event.INTAKE, "wang"), (Event.APPROVE, "wang"),
        (Event.SUBMIT_FEASIBILITY, "li"), (Event.APPROVE, "wang"), (Event.SUBMIT_DESIGN, "li"),
        (Event.APPROVE, "wang"), (Event.REQUEST_ACCEPTANCE, "li"),
    ]  # fmt: skip
    for ev, who in steps:
        assert fire_event(app, CODE, ev, who).accepted
    ci, ai, pr = t(CatalogItem), t(AgreementItem), t(Project)
    with unit_of_work(app.engine) as s:
        item = s.execute(
            select(ci.c.id)
            .join(pr, pr.c.id == ci.c.project_id)
            .where(pr.c.code == CODE, ci.c.code == SECRET_CODE)
        ).scalar_one()
        # the secret item's delivery was due on 1 November and nothing was delivered
        s.execute(update(ai).where(ai.c.catalog_item_id == item).values(due=date(2026, 11, 1)))


def _words(reasons: object) -> str:
    return repr(reasons)


def test_a_refusal_names_the_secret_item_only_to_those_who_may_see_it(app: App) -> None:
    _to_acceptance_review_with_the_secret_item_overdue(app)

    refused = fire_event(app, CODE, Event.PASS_ACCEPTANCE, "wang")  # program office: not authorized on C-004
    assert not refused.accepted
    [reason] = [r for r in refused.reasons if r.code == "DELIVERY_MISSING"]
    assert SECRET_CODE not in _words(reason.to_dict("zh")) and SECRET_CODE not in reason.message_en
    assert (reason.message, reason.message_en) == (secrecy.TEXT_ZH, secrecy.TEXT_EN)
    assert reason.clause == "733号文 第十一条"  # the rule is still cited

    # the history: masked for the program office and a related department, whole for the lead (authorized)
    # and for audit
    for reader, sees in (("wang", False), ("zhao", False), ("li", True), ("zheng", True)):
        history = services.project_history(app, CODE, reader)
        refusal = [h for h in history if h["outcome"] == "refused"][-1]
        text = _words(refusal["reasons"])
        assert (SECRET_CODE in text) is sees, reader
        assert (secrecy.TEXT_ZH in text) is not sees, reader

    # the record itself keeps every word (audit reads it; the chain still verifies)
    ae = t(AuditEvent)
    with unit_of_work(app.engine, write=False) as s:
        stored = s.execute(
            select(ae.c.reasons).where(ae.c.project_code == CODE, ae.c.outcome == "refused")
        ).scalar_one()
    assert SECRET_CODE in _words(stored)
    assert services.verify_audit(app).ok


def test_orders_and_the_audit_trail_hide_the_secret_item_from_the_program_office(app: App) -> None:
    _to_acceptance_review_with_the_secret_item_overdue(app)
    assert not fire_event(app, CODE, Event.PASS_ACCEPTANCE, "wang").accepted
    failed = fire_event(app, CODE, Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享")
    assert failed.accepted and failed.order
    for reader, sees in (("wang", False), ("li", True), ("zheng", True)):
        [order] = queries.list_orders(app, reader, project=CODE)
        assert (SECRET_CODE in _words(order["reasons"])) is sees, reader
        assert order["code"] == failed.order  # the order itself is never hidden
    for reader, sees in (("wang", False), ("zheng", True)):
        trail = queries.audit_trail(app, reader, project=CODE, outcome="refused")
        assert trail.total == 1
        assert (SECRET_CODE in _words(trail.items[0]["reasons"])) is sees, reader


def test_the_dashboard_preview_of_the_next_step_hides_the_secret_item_too(app: App) -> None:
    _to_acceptance_review_with_the_secret_item_overdue(app)
    for reader, sees in (("wang", False), ("li", True)):
        [preview] = [p for p in dashboard.previews(app, CODE, reader) if p.event is Event.PASS_ACCEPTANCE]
        text = _words([r.to_dict("zh") for r in preview.reasons] + [r.message_en for r in preview.reasons])
        assert (SECRET_CODE in text) is sees, reader
        assert preview.reasons, "the preview still says what is missing"


def test_words_that_name_a_hidden_item_are_found_inside_chinese_prose() -> None:
    item = secrecy.SecretItem(
        "P-1",
        "SEC-9Z7",
        "边境涉密通行记录",
        "涉密专网单向导入接口",
        (("cert_serial", "证件流水号"), ("id", "号")),
    )
    seen = secrecy.Visibility((item,))
    for text in (
        "建议将SEC-9Z7纳入共享",  # no word boundary around the code in Chinese prose
        "需要边境涉密通行记录的按月全量",
        "接口为涉密专网单向导入接口（每月）",
        "字段 cert_serial 缺失",
        "sec-9z7 is late",
    ):
        assert seen.text(text) == secrecy.TEXT_ZH, text
        assert seen.text(text, "en") == secrecy.TEXT_EN, text
    assert seen.text("SEC-9Z7") == secrecy.ITEM_ZH  # the item named alone is the item placeholder
    assert (
        seen.text("企业登记信息按日更新，id 字段完整") == "企业登记信息按日更新，id 字段完整"
    )  # short field words
    assert seen.text("P-2 的 SEC-9Z7", project="P-2") == "P-2 的 SEC-9Z7"  # another project's own item
    reason = Reason(
        "X", "733号文 第九条", "目录条目未细化", "item not detailed", detail={"catalog": "SEC-9Z7"}
    )
    [masked] = seen.reasons([reason])  # decided on the detail's data: the words alone do not name it
    assert (masked.code, masked.clause) == ("X", "733号文 第九条")
    assert (masked.message, masked.detail) == (secrecy.TEXT_ZH, {"catalog": secrecy.ITEM_EN})
    assert secrecy.EVERYTHING.reasons([reason]) == (reason,)


def test_the_project_pages_coverage_counts_no_item_the_reader_may_not_see(app: App) -> None:
    """Not even a number: a reader outside the secret item's scope gets the coverage of what it may see."""
    _to_acceptance_review_with_the_secret_item_overdue(app)
    on = date(2026, 11, 26)
    with unit_of_work(app.engine, write=False) as s:
        outsider = services.get_actor(s, "wang")  # program office, not authorized on C-004
        insider = services.get_actor(s, "li")  # 大数据局, authorized
    system = dashboard.project_obligations(app, CODE, on)
    hidden = dashboard.project_obligations(app, CODE, on, outsider)
    shown = dashboard.project_obligations(app, CODE, on, insider)
    assert any(catalog == SECRET_CODE for _, catalog, _ in system.verdicts)
    assert not any(catalog == SECRET_CODE for _, catalog, _ in hidden.verdicts)
    assert shown.verdicts.keys() == system.verdicts.keys() and shown.cover == system.cover
    secret_due = sum(
        1 for (_, c, _), v in system.verdicts.items() if c == SECRET_CODE and v.status.value != "not_due"
    )
    assert secret_due >= 1 and hidden.cover.due == system.cover.due - secret_due


def test_a_legacy_projects_gap_on_a_secret_item_is_masked_like_every_other_finding(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """第十条第二款 meets 第二条第三款: a project onboarded past the feasibility gate with its secret item not
    refined carries an ONBOARDING_GAP finding naming the item; a reader outside the item's scope sees that a gap
    exists and its clause, never the item — in the findings list and in the onboarding entry of the history."""
    doc = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    [project] = [p for p in doc["projects"] if p["code"] == CODE]
    project |= {"phase": "design_review", "legacy_reason": "2015年建成的存量系统，可研未细化涉密条目"}
    [secret] = [c for c in project["catalog"] if c["code"] == SECRET_CODE]
    secret["format"] = ""  # the feasibility study never refined it (第九条)
    path = tmp_path / "legacy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    application = App(Settings(database_url=db_url), engine, clock=lambda: NOW)
    services.load_portfolio(application, path, None)

    every = queries.list_findings(application, "zheng", project=CODE, rule="ONBOARDING_GAP").items
    [gap] = [f for f in every if SECRET_CODE in _words(f)]  # audit sees the whole finding
    assert gap["clause"] == "733号文 第九条"
    for reader, sees in (("wang", False), ("zhao", False), ("li", True), ("zheng", True)):
        found = queries.list_findings(application, reader, project=CODE, rule="ONBOARDING_GAP")
        assert found.total == len(every), reader  # the gap itself is never hidden
        text = _words(found.items)
        assert (SECRET_CODE in text) is sees, reader
        assert (SECRET_NAME in text) is sees, reader
        onboarding = services.project_history(application, CODE, reader)[0]
        assert (SECRET_CODE in _words(onboarding["reasons"])) is sees, reader
        assert (SECRET_NAME in _words(onboarding["reasons"])) is sees, reader
