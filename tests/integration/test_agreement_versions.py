"""Agreements over time (733号文 第八条 共享期限; issue 10, 2), on SQLite and PostgreSQL: a renewal is a new,
audited version checked as a new agreement is, and it ends what stood on the expiry at once — the
AGREEMENT_EXPIRED finding and its rectification order — so acceptance does not wait for the next sweep.

The demo's joint document A-002 of ZJ-2026-005 (lead: 发改委, user xu) runs until 2026-12-20.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from govflow.governance.agreements import agreement_versions, renew_agreement
from govflow.governance.rectification import OrderStatus, list_orders, run_deadlines, show_order
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import Agreement, Finding
from govflow.states.errors import NotFound, PermissionDenied, RuleRefused
from tests.integration.test_rectification import app, at, audit_actions  # noqa: F401  (the demo portfolio, pinned clock)

EXPIRED = "ZJ-2026-005/AGREEMENT_EXPIRED/A-002/-/-/2026-12-20"


def finding(gov: App, key: str) -> tuple[str, str | None]:
    fi = t(Finding)
    with unit_of_work(gov.engine, write=False) as s:
        row = s.execute(select(fi.c.status, fi.c.closed_reason).where(fi.c.key == key)).one()
    return str(row.status), row.closed_reason


def term_end(gov: App, code: str = "A-002") -> date:
    ag = t(Agreement)
    with unit_of_work(gov.engine, write=False) as s:
        return s.execute(select(ag.c.term_end).where(ag.c.code == code)).scalars().all()[-1]  # type: ignore[no-any-return]


@pytest.fixture
def expired(app: App) -> App:  # noqa: F811
    """A-002 expired on 2026-12-20: the sweep of 12-21 finds it, the deadlines run orders its rectification."""
    run_sweep(app, date(2026, 12, 21))
    issued = run_deadlines(app, date(2026, 12, 21)).issued_codes
    assert finding(app, EXPIRED) == ("open", None)
    assert issued
    return app


def test_a_renewal_closes_the_expiry_finding_and_its_order_at_once(expired: App) -> None:
    day = at(expired, date(2026, 12, 22))
    order = next(o.code for o in list_orders(expired, "wang", project="ZJ-2026-005") if o.finding == EXPIRED)
    res = renew_agreement(day, "ZJ-2026-005", "A-002", "xu", until=date(2027, 12, 31), reason="续签一年")
    assert (res["version"], res["term_end"], res["signed_on"]) == (2, "2027-12-31", "2026-12-22")
    assert res["findings_closed"] == [EXPIRED] and res["orders_closed"] == 1
    assert finding(expired, EXPIRED) == ("closed", "agreement_renewed")
    assert show_order(expired, order, "wang").status is OrderStatus.CLOSED
    assert term_end(expired) == date(2027, 12, 31)
    versions = agreement_versions(expired, "ZJ-2026-005", "A-002", "wang")
    assert [(v["version"], v["kind"], v["before"]["term_end"], v["after"]["term_end"]) for v in versions] == [
        (2, "renewed", "2026-12-20", "2027-12-31")
    ]
    assert ("agreement.renew", "recorded", "xu") in audit_actions(expired, "ZJ-2026-005")
    assert services.verify_audit(expired).ok
    # the next sweep does not find it again
    run_sweep(expired, date(2026, 12, 23))
    assert finding(expired, EXPIRED) == ("closed", "agreement_renewed")


def test_a_renewal_is_checked_as_a_new_agreement_and_refusals_change_nothing(expired: App) -> None:
    day = at(expired, date(2026, 12, 22))
    with pytest.raises(RuleRefused) as not_later:
        renew_agreement(day, "ZJ-2026-005", "A-002", "xu", until=date(2026, 12, 1))
    assert [(r.code, r.clause) for r in not_later.value.reasons] == [
        ("AGREEMENT_RENEWAL_NOT_LATER", "733号文 第八条")
    ]
    with pytest.raises(RuleRefused) as future:
        renew_agreement(
            day, "ZJ-2026-005", "A-002", "xu", until=date(2027, 12, 31), signed_on=date(2027, 1, 5)
        )
    assert [r.code for r in future.value.reasons] == ["AGREEMENT_SIGNED_IN_FUTURE"]
    with pytest.raises(PermissionDenied):
        renew_agreement(day, "ZJ-2026-005", "A-002", "qian", until=date(2027, 12, 31))
    with pytest.raises(NotFound):
        renew_agreement(day, "ZJ-2026-005", "A-404", "xu", until=date(2027, 12, 31))
    assert term_end(expired) == date(2026, 12, 20) and finding(expired, EXPIRED) == ("open", None)
    assert agreement_versions(expired, "ZJ-2026-005", "A-002", "wang") == []


# ---------------------------------------------------------------------------------------------- scope (第八条 及时调整授权)

OUT = f"ZJ-2026-005/AGREEMENT_OUT_OF_SCOPE/A-001/C-002/{'11330000GF00000014'}/scope"


def test_a_narrowed_scope_turns_the_agreements_outside_it_into_findings(app: App) -> None:  # noqa: F811
    """人社厅 provides C-002 (conditional, authorized for 发改委) to ZJ-2026-005; it narrows the scope to nobody:
    A-001, which promises C-002 to 发改委, is now outside it — a finding, an order — until the scope is widened."""
    from govflow.governance.agreements import authorize_catalog_item
    from govflow.governance.ownership import open_owners
    from govflow.models.tables import Project
    from govflow.states.findings import describe_finding

    with pytest.raises(PermissionDenied):  # 市场监管局 does not provide C-002
        authorize_catalog_item(app, "ZJ-2026-005", "C-002", "zhao", departments=[])
    res = authorize_catalog_item(
        app, "ZJ-2026-005", "C-002", "chen", departments=[], reason="数据安全评估后收紧"
    )
    assert [(o["agreement"], o["consumer"]) for o in res["outside"]] == [("A-001", "11330000GF00000014")]
    run_sweep(app, date(2026, 11, 26))
    assert finding(app, OUT) == ("open", None)
    fi = t(Finding)
    with unit_of_work(app.engine, write=False) as s:
        evidence = s.execute(select(fi.c.evidence).where(fi.c.key == OUT)).scalar_one()
        pid = s.execute(select(t(Project).c.id).where(t(Project).c.code == "ZJ-2026-005")).scalar_one()
    assert "不在该条目的授权使用范围内" in describe_finding("AGREEMENT_OUT_OF_SCOPE", evidence)
    run_deadlines(app, date(2026, 11, 26))
    with unit_of_work(app.engine, write=False) as s:
        assert (pid, "A-001/C-002/11330000GF00000014") in open_owners(s, [pid])  # one order answers for it
    assert ("catalog.authorize", "recorded", "chen") in audit_actions(app, "ZJ-2026-005")
    # the provider widens it again: the next sweep closes the finding, and the order with it
    authorize_catalog_item(app, "ZJ-2026-005", "C-002", "chen", departments=["11330000GF00000014"])
    run_sweep(app, date(2026, 11, 27))
    assert finding(app, OUT) == ("closed", "cause_gone")
    with pytest.raises(
        RuleRefused
    ) as secret_for_all:  # 第二条第三款 still holds: never a secret item for all
        authorize_catalog_item(app, "ZJ-2026-001", "C-004", "zhou", departments=[], all_departments=True)
    assert "SECRET_ALL_DEPARTMENTS" in {r.code for r in secret_for_all.value.reasons}


def test_a_terminated_agreement_ends_its_obligations_and_is_not_renewed(expired: App) -> None:
    from govflow.governance.agreements import terminate_agreement
    from govflow.governance.obligations import read_obligations
    from govflow.governance.orders import PROJECT as PR

    day = at(expired, date(2026, 12, 22))
    with pytest.raises(PermissionDenied):  # the program office decides, not a party alone
        terminate_agreement(day, "ZJ-2026-005", "A-002", "xu", reason="不再需要")
    with pytest.raises(RuleRefused) as no_reason:
        terminate_agreement(day, "ZJ-2026-005", "A-002", "wang", reason=" ")
    assert [r.code for r in no_reason.value.reasons] == ["REASON_REQUIRED"]
    res = terminate_agreement(day, "ZJ-2026-005", "A-002", "wang", reason="核验服务已由省级平台统一提供")
    assert (res["version"], res["terminated_on"]) == (2, "2026-12-22")
    [v] = agreement_versions(expired, "ZJ-2026-005", "A-002", "wang")
    assert (v["kind"], v["after"]["terminated_on"], v["reason"]) == (
        "terminated",
        "2026-12-22",
        "核验服务已由省级平台统一提供",
    )
    # the next sweep: the agreement ended (not expired), so its expiry finding closes, and its order with it
    run_sweep(expired, date(2026, 12, 23))
    assert finding(expired, EXPIRED) == ("closed", "cause_gone")
    with unit_of_work(expired.engine, write=False) as s:
        left = read_obligations(s, date(2026, 12, 23), PR.c.code == "ZJ-2026-005")
        kept = read_obligations(s, date(2026, 12, 22), PR.c.code == "ZJ-2026-005")
    assert "A-002" not in {o.agreement for o in left} and "A-002" in {o.agreement for o in kept}
    with pytest.raises(RuleRefused) as again:
        renew_agreement(day, "ZJ-2026-005", "A-002", "xu", until=date(2027, 12, 31))
    assert [r.code for r in again.value.reasons] == ["AGREEMENT_TERMINATED"]
    assert ("agreement.terminate", "recorded", "wang") in audit_actions(expired, "ZJ-2026-005")
