"""One order per obligation (限期整改, 733号文 第十一条): an agreement item × consumer has at most one open order.

Two things open rectification orders: a failed acceptance (one order for the project, a reason per broken
obligation) and the deadlines run (one order per open sweep finding). Both speak of the same obligations, so
each obligation — the *subject* ``{agreement}/{catalog}/{consumer}``, as the sweep's findings name it — is
*owned* by at most one open order:

- a finding order owns its finding's subject (an ``AGREEMENT_EXPIRED`` finding names an agreement, not an item,
  and owns nothing here);
- a failed-acceptance order owns the subject of every reason that names an item (``detail.agreement``,
  ``detail.catalog``, ``detail.consumer``) and is not marked ``detail.covered_by``.

When one of them would open a second order for an owned subject it does not: a failed acceptance marks that
reason ``covered_by`` the owning order (its deadline stands: a new failure never resets the clock), and the
deadlines run leaves the finding with the owning order, recording a ``covers`` step on it. The department
answers one order per obligation; the evidence it gives there, once verified, closes it for every purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from govflow.models.facts import t
from govflow.models.tables import Finding, RectificationOrder
from govflow.states.findings import Rule
from govflow.states.vocabulary import OrderStatus

ORDER, FINDING = t(RectificationOrder), t(Finding)


def subject(agreement: object, catalog: object, consumer: object) -> str:
    """An obligation as the sweep's findings name it."""
    return f"{agreement}/{catalog}/{consumer}"


def reason_subject(reason: Mapping[str, Any]) -> str | None:
    """The obligation a reason names, when it names one item × consumer."""
    d = reason.get("detail") or {}
    if d.get("agreement") and d.get("catalog") and d.get("consumer"):
        return subject(d["agreement"], d["catalog"], d["consumer"])
    return None


def owned_subjects(reasons: Iterable[Mapping[str, Any]]) -> set[str]:
    """The obligations a failed-acceptance order answers for itself (not those another order covers)."""
    out = set()
    for r in reasons:
        subj = reason_subject(r)
        if subj is not None and not (r.get("detail") or {}).get("covered_by"):
            out.add(subj)
    return out


@dataclass(frozen=True)
class Owner:
    """The open order that answers for an obligation."""

    id: int
    code: str
    deadline: Any  # date | None (期限待定)


def open_owners(s: Session, project_ids: Iterable[int]) -> dict[tuple[int, str], Owner]:
    """(project id, subject) → the open order owning it, for the given projects."""
    pids = sorted(set(project_ids))
    if not pids:
        return {}
    q = (
        select(
            ORDER.c.id,
            ORDER.c.code,
            ORDER.c.project_id,
            ORDER.c.deadline,
            ORDER.c.reasons,
            FINDING.c.subject,
            FINDING.c.rule,
        )
        .outerjoin(FINDING, FINDING.c.id == ORDER.c.finding_id)
        .where(ORDER.c.project_id.in_(pids), ORDER.c.status != OrderStatus.CLOSED.value)
        .order_by(ORDER.c.id)
    )
    owners: dict[tuple[int, str], Owner] = {}
    for oid, code, pid, deadline, reasons, subj, rule in s.execute(q):
        owner = Owner(int(oid), str(code), deadline)
        subjects = owned_subjects(reasons or ())
        if subj is not None and rule != Rule.AGREEMENT_EXPIRED.value:
            subjects.add(str(subj))
        for one in subjects:
            owners.setdefault((int(pid), one), owner)  # the oldest open order keeps it
    return owners
