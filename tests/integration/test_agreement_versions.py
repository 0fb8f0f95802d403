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
