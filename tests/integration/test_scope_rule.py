"""AGREEMENT_OUT_OF_SCOPE is decided in two places: by the nightly sweep, set-based in SQL
(:func:`govflow.governance.sweep._scope_findings`), and by the rule a new, renewed or amended agreement is checked
against (:func:`govflow.states.rules.check_agreement_consistency`, 第二条第三款). Over every combination of share
type, secrecy, "open to every department" and the consumer's relation to the item (its provider, a department it
authorizes, any other), on the demo's ZJ-2026-005, both find the same agreement items outside the scope."""

from __future__ import annotations

from datetime import date
from itertools import product

from sqlalchemy import delete, insert, select, update

from govflow.governance.sweep import _scope_findings
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, load_facts, t
from govflow.models.tables import Agreement, AgreementItem, CatalogAuthorization, CatalogItem, Project
from govflow.states.rules import check_agreement_consistency
from govflow.states.sharing import Secrecy, ShareType

AS_OF = date(2026, 11, 26)
PROJECT = "ZJ-2026-005"
#: A-001 promises C-002 (provided by 5G, conditional, authorized for 14) to 14
PROVIDER, AUTHORIZED, OTHER = "11330000GF0000005G", "11330000GF00000014", "11330000GF0000003A"
SCOPE_CODES = ("CONDITIONAL_CONSUMER_NOT_AUTHORIZED", "SECRET_CONSUMER_NOT_AUTHORIZED")
CASES = list(product(ShareType, Secrecy, (False, True), (PROVIDER, AUTHORIZED, OTHER)))


def _set_case(
    app: App, share_type: ShareType, secrecy: Secrecy, all_departments: bool, consumer: str
) -> None:
    ci, auth, ag, ai, pr = t(CatalogItem), t(CatalogAuthorization), t(Agreement), t(AgreementItem), t(Project)
    with unit_of_work(app.engine) as s:
        dept = {str(c): int(i) for i, c in s.execute(select(DEPT.c.id, DEPT.c.code))}
        pid = s.execute(select(pr.c.id).where(pr.c.code == PROJECT)).scalar_one()
        item = s.execute(select(ci.c.id).where(ci.c.project_id == pid, ci.c.code == "C-002")).scalar_one()
        s.execute(
            update(ci)
            .where(ci.c.id == item)
            .values(share_type=share_type.value, secrecy=secrecy.value, all_departments=all_departments)
        )
        s.execute(delete(auth).where(auth.c.catalog_item_id == item))
        s.execute(insert(auth).values(catalog_item_id=item, department_id=dept[AUTHORIZED]))
        agreement = s.execute(
            select(ag.c.id).where(ag.c.project_id == pid, ag.c.code == "A-001")
        ).scalar_one()
        s.execute(
            update(ai)
            .where(ai.c.agreement_id == agreement, ai.c.catalog_item_id == item)
            .values(consumer_id=dept[consumer])
        )


def _by_sweep(app: App) -> set[str]:
    with unit_of_work(app.engine, write=False) as s:
        return {r["subject"] for r in _scope_findings(s, AS_OF, None) if r["evidence"]["project"] == PROJECT}


def _by_rule(app: App) -> set[str]:
    pr = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        p = (
            s.execute(
                select(pr.c.id, pr.c.code, pr.c.name, DEPT.c.code.label("lead_code"))
                .join(DEPT, DEPT.c.id == pr.c.lead_department_id)
                .where(pr.c.code == PROJECT)
            )
            .one()
            ._mapping
        )
        facts = load_facts(s, p, p["lead_code"], frozenset({"catalog", "agreements"}), AS_OF)
    catalog = {c.code: c for c in facts.catalog}
    return {
        f"{a.code}/{r.detail['catalog']}/{r.detail['consumer']}"
        for a in facts.agreements
        if a.in_force(AS_OF)
        for r in check_agreement_consistency(a, a.code, lead=p["lead_code"], catalog=catalog, today=AS_OF)
        if r.code in SCOPE_CODES
    }


def test_the_sweep_and_the_agreement_rule_find_the_same_items_out_of_scope(app: App) -> None:
    found = 0
    for share_type, secrecy, all_departments, consumer in CASES:
        _set_case(app, share_type, secrecy, all_departments, consumer)
        sweep, rule = _by_sweep(app), _by_rule(app)
        assert sweep == rule, (share_type, secrecy, all_departments, consumer)
        found += bool(rule)
    # the cases are not vacuous: secret or conditional items promised outside the scope are found
    assert found == 6
