"""The agreement consistency rule on its own (states.rules.check_agreement_consistency): what load and
`agreement add` both apply; here the cases the CLI tests do not reach."""

from __future__ import annotations

from datetime import date

from govflow.states.rules import check_agreement_consistency
from govflow.states.sharing import (
    AgreementFact,
    AgreementForm,
    AgreementItemFact,
    CatalogFact,
    Category,
    Frequency,
    Method,
    Secrecy,
    ShareType,
)

LEAD, OTHER, THIRD = "L", "O", "T"
TODAY = date(2026, 11, 26)


def item(
    code: str,
    share: ShareType,
    secrecy: Secrecy = Secrecy.INTERNAL,
    *,
    all_departments: bool = False,
    authorized: tuple[str, ...] = (),
    legal_basis: str | None = None,
) -> CatalogFact:
    return CatalogFact(
        code,
        f"条目{code}",
        OTHER,
        Category.BUSINESS,
        share,
        Method.QUERY,
        Frequency.DAILY,
        secrecy,
        legal_basis=legal_basis,
        all_departments=all_departments,
        authorized=authorized,
    )


def promise(catalog: str, consumer: str = LEAD, due: date = date(2026, 12, 31)) -> AgreementItemFact:
    return AgreementItemFact(catalog, consumer, "q", "n", Frequency.DAILY, "s", "u", due)


def agreement(*items: AgreementItemFact, form: AgreementForm = AgreementForm.AGREEMENT) -> AgreementFact:
    return AgreementFact(
        "A-1", form, (LEAD, OTHER), date(2026, 3, 1), date(2026, 3, 1), date(2029, 2, 28), "依据", items
    )


def codes(a: AgreementFact, catalog: dict[str, CatalogFact]) -> list[str]:
    return [r.code for r in check_agreement_consistency(a, "a", lead=LEAD, catalog=catalog, today=TODAY)]


def test_a_consistent_agreement_passes() -> None:
    catalog = {
        "C-1": item("C-1", ShareType.UNCONDITIONAL, all_departments=True),
        "C-2": item("C-2", ShareType.CONDITIONAL, authorized=(LEAD,)),
        "C-3": item("C-3", ShareType.CONDITIONAL, Secrecy.SECRET, authorized=(LEAD,)),
    }
    assert codes(agreement(promise("C-1"), promise("C-2"), promise("C-3")), catalog) == []
    assert codes(agreement(promise("C-1"), form=AgreementForm.JOINT_DOCUMENT), catalog) == []


def test_an_item_not_to_be_shared_cannot_be_promised() -> None:
    catalog = {"C-9": item("C-9", ShareType.NONE, legal_basis="《某法》第十条")}
    reasons = check_agreement_consistency(
        agreement(promise("C-9")), "a", lead=LEAD, catalog=catalog, today=TODAY
    )
    assert [(r.code, r.path, r.clause) for r in reasons] == [
        ("AGREEMENT_ITEM_NOT_SHAREABLE", "a.items[0].catalog", "733号文 第二条第三款")
    ]


def test_a_conditional_item_for_all_departments_goes_to_any_party_but_a_secret_one_does_not() -> None:
    catalog = {
        "C-2": item("C-2", ShareType.CONDITIONAL, all_departments=True),
        "C-3": item("C-3", ShareType.CONDITIONAL, Secrecy.SECRET, authorized=(THIRD,)),
    }
    assert codes(agreement(promise("C-2"), promise("C-3")), catalog) == ["SECRET_CONSUMER_NOT_AUTHORIZED"]


def test_an_unknown_catalog_item_is_left_to_the_reference_check() -> None:
    assert codes(agreement(promise("C-404")), {}) == []


def test_a_due_date_before_the_term_starts_is_outside_it_too() -> None:
    catalog = {"C-1": item("C-1", ShareType.UNCONDITIONAL, all_departments=True)}
    assert codes(agreement(promise("C-1", due=date(2026, 1, 31))), catalog) == ["AGREEMENT_TERM_MISSES_DUE"]
    signed_later = agreement(promise("C-1"))
    later = check_agreement_consistency(
        signed_later, "a", lead=LEAD, catalog=catalog, today=date(2026, 2, 28)
    )
    assert [r.code for r in later] == ["AGREEMENT_SIGNED_IN_FUTURE"]
