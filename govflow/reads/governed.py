"""Rectification orders and O&M cut recommendations as one reader may see them (第二条第三款).

:mod:`govflow.governance.rectification` and :mod:`govflow.governance.cuts` read their views whole; every entry
point (CLI, API, web, reports) reads them through the use cases here, which project them through the reader's
:class:`~govflow.reads.secrecy.Visibility`:

* an order issued for a finding on a secret catalog item the reader may not see keeps its code, dates and status,
  but not the finding's key or the sentence naming the item — decided on the finding's data (the catalog code in
  its evidence), not on words;
* reasons, step notes and payloads, a cut's reasons, evidence (obligations on a hidden item keep only their
  agreement and whether they were covered) and decision reason go through the projection;
* a notice is projected for its recipient when it is sent (:func:`notices_for`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from govflow.governance import cuts, rectification
from govflow.governance.cuts import CutView
from govflow.governance.rectification import OrderView, StepView
from govflow.lifecycle.services import App, get_actor, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import CatalogItem, Finding
from govflow.reads import secrecy
from govflow.reads.secrecy import Reader, Visibility, secret_visible
from govflow.states import findings
from govflow.states.permissions import Role
from govflow.states.verdict import clause

CI = t(CatalogItem)
SECRET_CLAUSE = clause("第二条", "第三款")


def masked_description(rule: str, agreement: str, lang: str) -> str:
    """What a reader who may not see a secret catalog item learns of a finding on it."""
    i = 1 if lang == "en" else 0
    label = findings.RULE_LABELS.get(rule, (rule, rule))[i]
    basis = findings.RULE_BASIS.get(rule, ("", ""))[i]
    if i:
        return (
            f"{label}: a secret catalog item of agreement {agreement} ({SECRET_CLAUSE}); the item, its consumer and "
            f"its deliveries are visible only to its provider, the authorized departments and audit ({basis})"
        )
    return (
        f"{label}：协定 {agreement} 中的一项涉密共享信息目录条目（{SECRET_CLAUSE}）；条目、使用部门和交付情况"
        f"仅对提供部门、被授权部门和审计可见（{basis}）"
    )


def hidden_findings(s: Session, reader: Reader, keys: Sequence[str]) -> dict[str, str]:
    """Of the findings ``keys``, those about a secret catalog item ``reader`` may not see: key → agreement."""
    fi = t(Finding)
    on_item = and_(CI.c.project_id == fi.c.project_id, CI.c.code == fi.c.evidence["catalog"].as_string())
    out: dict[str, str] = {}
    for start in range(0, len(keys), 5000):
        q = (
            select(fi.c.key, fi.c.evidence["agreement"].as_string())
            .join(CI, on_item)
            .where(fi.c.key.in_(keys[start : start + 5000]), ~secret_visible(reader))
        )
        out.update((str(k), str(a or "")) for k, a in s.execute(q))
    return out


# ---------------------------------------------------------------------------------------------- orders


def _seen_step(step: StepView, seen: Visibility, project: str, hidden: Iterable[str]) -> StepView:
    payload = seen.value(step.payload, project=project)
    note = seen.text(step.note, project=project)
    for finding in hidden:  # a finding's key carries the item's code
        if finding == step.payload.get("finding") or (note and finding in note):
            payload = {k: (None if v == finding else v) for k, v in payload.items()}
            note = note.replace(finding, "（涉密）") if note else note
    return replace(step, note=note, payload=payload)


def _covered_findings(view: OrderView) -> set[str]:
    """The sweep findings an order answers for besides its own (its ``covers`` steps, one order per obligation)."""
    return {
        str(st.payload["finding"]) for st in view.steps if st.kind == "covers" and st.payload.get("finding")
    }


def _seen_order(view: OrderView, seen: Visibility, hidden: dict[str, str]) -> OrderView:
    p = view.project
    finding = view.finding if view.finding in hidden else None
    reasons = seen.reason_dicts(view.reasons, p)
    if finding is not None:
        agreement = hidden[finding]
        reasons = [
            r | {"message": masked_description(str(r["code"]), agreement, "zh"),
                 "message_en": masked_description(str(r["code"]), agreement, "en"), "detail": None}
            if r.get("code") in findings.RULES else r
            for r in reasons
        ]  # fmt: skip
    masked = {k for k in {view.finding, *_covered_findings(view)} if k in hidden}
    steps = tuple(_seen_step(st, seen, p, masked) for st in view.steps)
    return replace(view, finding=None if finding else view.finding, reasons=tuple(reasons), steps=steps)


def seen_orders(s: Session, reader: Reader, views: Sequence[OrderView]) -> list[OrderView]:
    """``views`` as ``reader`` may see them (in the caller's transaction)."""
    keys = sorted({k for v in views for k in {v.finding, *_covered_findings(v)} if k})
    hidden = hidden_findings(s, reader, keys) if keys else {}
    seen = secrecy.visibility(s, reader, project_codes={v.project for v in views})
    if not seen and not hidden:
        return list(views)
    return [_seen_order(v, seen, hidden) for v in views]


def orders_for(app: App, actor_name: str | None, views: Iterable[OrderView]) -> list[OrderView]:
    """Orders some use case returned (a list, or the order an action changed) as ``actor_name`` may see them."""
    with unit_of_work(app.engine, write=False) as s:
        return seen_orders(s, get_actor(s, actor_name), list(views))


@use_case
def list_orders(
    app: App, actor_name: str | None, *, status: str | None = None, project: str | None = None
) -> list[OrderView]:
    """:func:`govflow.governance.rectification.list_orders` as the actor may see it."""
    return orders_for(
        app, actor_name, rectification.list_orders(app, actor_name, status=status, project=project)
    )


@use_case
def show_order(app: App, code: str, actor_name: str | None) -> OrderView:
    """:func:`govflow.governance.rectification.show_order` as the actor may see it."""
    return orders_for(app, actor_name, [rectification.show_order(app, code, actor_name)])[0]


# ---------------------------------------------------------------------------------------------- cuts


def _seen_cut(view: CutView, seen: Visibility) -> CutView:
    p = view.project
    evidence: dict[str, Any] = seen.value(view.evidence, project=p)
    return replace(
        view,
        reasons=seen.reason_dicts(view.reasons, p),
        evidence=evidence,
        decision_reason=seen.text(view.decision_reason, project=p),
    )


def cuts_for(app: App, actor_name: str | None, views: Iterable[CutView]) -> list[CutView]:
    """Cut recommendations some use case returned as ``actor_name`` may see them."""
    views = list(views)
    with unit_of_work(app.engine, write=False) as s:
        seen = secrecy.visibility(s, get_actor(s, actor_name), project_codes={v.project for v in views})
    return [_seen_cut(v, seen) for v in views] if seen else views


@use_case
def list_cuts(
    app: App, period: int | str, actor_name: str | None = None, status: str | None = None
) -> list[CutView]:
    """:func:`govflow.governance.cuts.list_cuts` as the actor may see it."""
    return cuts_for(app, actor_name, cuts.list_cuts(app, period, actor_name, status))


@use_case
def show_cut(app: App, project_code: str, period: int | str, actor_name: str | None = None) -> CutView:
    """:func:`govflow.governance.cuts.show_cut` as the actor may see it."""
    return cuts_for(app, actor_name, [cuts.show_cut(app, project_code, period, actor_name)])[0]


# ---------------------------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Addressed:
    """An outbox message and whom it is addressed to (a role; for a department message, the department code)."""

    id: int
    role: str
    department: str | None
    project: str | None
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Shown:
    """What the recipient of a message may read: its key and payload, or nothing at all (``withheld``)."""

    key: str
    payload: dict[str, Any]
    withheld: bool


def notices_for(s: Session, messages: Sequence[Addressed]) -> list[Shown | None]:
    """Each message as its recipient may read it (None: as stored), decided on the recipient (第二条第三款).

    A role's channel (program office, finance, review agency, administrators) is no department's: it gets the
    message with every secret item masked. A department gets it masked where it may not see an item, and not at
    all when the message is about such an item (its ``catalog``, or the finding it reports): a notice about a
    secret item goes only to departments in its scope. Audit gets it whole. The stored row keeps every word.
    """
    codes = {m.department for m in messages if m.department}
    ids = {str(k): int(v) for k, v in s.execute(select(DEPT.c.code, DEPT.c.id).where(DEPT.c.code.in_(codes)))}
    roles = {r.value: r for r in Role}
    out: list[Shown | None] = []
    for m in messages:
        role = roles.get(m.role, Role.ADMIN)  # an unknown role is entitled to nothing
        reader = secrecy.Recipient(role, ids.get(m.department or "") if role is Role.DEPARTMENT else None)
        seen = secrecy.visibility(s, reader, project_codes=[m.project]) if m.project else secrecy.EVERYTHING
        if not seen:
            out.append(None)
            continue
        finding = m.payload.get("finding")
        about = seen.hides(m.payload.get("catalog"), m.project) or bool(
            isinstance(finding, str) and hidden_findings(s, reader, [finding])
        )
        key = f"outbox-{m.id}" if seen.names_hidden(m.key, m.project) else m.key
        payload: dict[str, Any] = seen.value(m.payload, project=m.project)
        out.append(Shown(key, payload, about and role is Role.DEPARTMENT))
    return out


def outbox_rows(s: Session, reader: Reader, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outbox rows (``key``, ``last_error``, ``project`` …) as an operator may read them: a key or an error that
    names a secret item the operator may not see is masked; ``project`` is dropped."""
    seen = secrecy.visibility(s, reader, project_codes={str(r["project"]) for r in rows if r.get("project")})
    out = []
    for r in rows:
        row = dict(r)
        project = row.pop("project", None)
        row["key"] = seen.text(row["key"], project=project)
        row["last_error"] = seen.text(row.get("last_error"), project=project)
        out.append(row)
    return out
