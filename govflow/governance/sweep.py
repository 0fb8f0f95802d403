"""The obligation sweep (SPEC §4.1, docs/governance.md): are the sharing obligations of running projects kept?

For the projects in a swept phase (建设实施, 验收中, 限期整改, 运行维护) the sweep compares every agreement item
with the delivery evidence up to ``as_of`` and every agreement's term with ``as_of``:

``MILESTONE_MISSED`` (733号文 第十一条; 第八条 实现进度)
    the item's due date lies before ``as_of`` and no delivery with records > 0 is recorded on or before ``as_of``.
``DELIVERY_STALE`` (733号文 第十一条; 第八条 更新频度) — projects in operation only
    delivered before, but the last delivery day L on or before ``as_of`` is older than the item's update
    frequency allows: ``as_of - L > FREQUENCY_DAYS[frequency]``. The frequency is the agreement item's own,
    or the catalog item's when the agreement item does not state one.
``AGREEMENT_EXPIRED`` (733号文 第八条 共享期限)
    the agreement's term ended before ``as_of`` while the project is still in a swept phase.

An agreement whose term ends within ``policy.agreement_expiry_notice_days`` of ``as_of`` is not a finding but a
notice to the lead department to adjust the authorization (第八条), sent once per agreement and term end.

Set-based, in one transaction per chunk of projects, with no statement per agreement item or finding:

1. one ``INSERT … SELECT`` reads the obligations of the chunk with their last delivery day
   (:mod:`govflow.governance.obligations`, an index probe per item), judges them with the evaluator's rules in
   SQL (:func:`~govflow.governance.obligations.delivery_status_sql` and
   :func:`~govflow.governance.obligations.finding_rule_sql`, proved equal to
   :func:`govflow.states.obligations.evaluate` and :func:`~govflow.states.obligations.finding_rules`), and puts
   the broken ones — key, rule, period, clause and the evidence — into a temporary table (:data:`CURRENT`); the
   expired agreements (:func:`~govflow.states.obligations.agreement_expired`) follow in one batched ``INSERT``;
2. one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` opens the findings whose key is new;
3. one ``UPDATE`` closes the open findings whose key is no longer current;
4. one ``INSERT … SELECT`` writes the outbox message of each new finding;
5. the few rows left — expiry notices, orders of closed findings, the run's audit event — go through Python.

Idempotent: a finding's key is ``{project}/{rule}/{agreement}/{catalog}/{consumer}/{period}`` (``-`` for the
catalog and consumer of ``AGREEMENT_EXPIRED``), and a key that exists — open or closed — is never inserted again,
so rerunning an ``as_of`` creates nothing. A later ``as_of`` closes (never deletes) the open findings whose cause
is gone, and the rectification orders issued for them (see :func:`govflow.governance.orders.close_orders_of_findings`).
Findings opened after ``as_of`` (by a run for a later day) are never touched by a run for an earlier day.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from govflow.governance.obligations import (
    CATALOG,
    DUE,
    EVIDENCE,
    ITEM,
    delivery_status_sql,
    finding_rule_sql,
    in_force,
    max_gap_days_sql,
    obligation_query,
)
from govflow.governance.orders import close_orders_of_findings
from govflow.governance.outbox import OUTBOX, enqueue_many
from govflow.governance.policy_service import active_policy
from govflow.governance.runs import system_record
from govflow.lifecycle.services import App
from govflow.models import audit
from govflow.models.db import unit_of_work, without_jit
from govflow.models.facts import DEPT, t
from govflow.models.tables import Agreement, CatalogAuthorization, Finding, Project
from govflow.models.types import UTCDateTime
from govflow.states.findings import (
    CAUSE_GONE,
    FORM_LABELS,
    LEFT_SWEPT_PHASES,
    MILESTONE_MISSED,
    NOTICE_CLAUSE,
    RULE_CLAUSE,
    RULE_LABELS,
    RULES,
    SWEEP_ACTOR,
    FindingStatus,
    Rule,
)
from govflow.states.obligations import agreement_expired
from govflow.states.permissions import Role
from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.sharing import AgreementForm, Secrecy, ShareType

FINDING, PROJECT, AGREEMENT = t(Finding), t(Project), t(Agreement)
AUTH = t(CatalogAuthorization)

#: up to this many keys are listed in the run's audit event; beyond it the event carries their digest only
AUDIT_KEY_LIST_LIMIT = 50
_SWEPT = sorted(p.value for p in SWEPT_PHASES)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep of one chunk did."""

    as_of: date
    chunk: tuple[int, int] | None
    opened: int
    closed: int
    still_open: int
    expiry_notices: int
    orders_closed: int
    opened_by_rule: dict[str, int] = field(default_factory=dict)
    closed_by_rule: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "sweep",
            "as_of": self.as_of.isoformat(),
            "chunk": list(self.chunk) if self.chunk else None,
            "findings_opened": self.opened,
            "findings_closed": self.closed,
            "findings_still_open": self.still_open,
            "expiry_notices": self.expiry_notices,
            "orders_closed": self.orders_closed,
            "opened_by_rule": dict(self.opened_by_rule),
            "closed_by_rule": dict(self.closed_by_rule),
        }


#: the broken obligations found by one run, computed once and read by the statements that follow it; a
#: temporary table is private to the connection and gone with it (PostgreSQL drops it at commit)
CURRENT = Table(
    "govflow_sweep_current",
    MetaData(),
    Column("key", String(255), primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("rule", String(32), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("period", String(32), nullable=False),
    Column("clause", String(64), nullable=False),
    Column("evidence", JSON, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def run_sweep(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> SweepResult:
    """Sweep the projects with ids in ``chunk`` (inclusive; None = all) as of ``as_of``, in one transaction."""
    with unit_of_work(app.engine) as s:
        without_jit(s)
        sql = _Sql(s.get_bind().dialect.name == "postgresql", as_of)
        policy = active_policy(s)
        s.execute(DropTable(CURRENT, if_exists=True))
        s.execute(CreateTable(CURRENT))
        _compute_current(s, sql, chunk)
        judged = _count_judged(s, as_of, chunk)
        first_new_id = int(s.execute(select(func.coalesce(func.max(FINDING.c.id), 0))).scalar_one()) + 1
        opened = _open_new(s, sql)
        closed = _close_gone(s, as_of, chunk)
        _notify_new(s, sql, first_new_id, chunk, app.clock())
        orders_closed = close_orders_of_findings(s, app, [(int(i), str(r)) for i, _, _, r in closed], as_of)
        horizon = as_of + timedelta(days=policy.agreement_expiry_notice_days)
        notices = _expiry_notices(s, _agreements_ending(s, as_of, horizon, chunk), as_of)
        s.execute(DropTable(CURRENT, if_exists=True))
        result = SweepResult(
            as_of=as_of,
            chunk=chunk,
            opened=len(opened),
            closed=len(closed),
            still_open=judged - len(closed),
            expiry_notices=notices,
            orders_closed=orders_closed,
            opened_by_rule=dict(Counter(str(rule) for _, rule in opened)),
            closed_by_rule=dict(Counter(str(rule) for _, _, rule, _ in closed)),
        )
        if opened or closed or notices:
            opened_keys = sorted(str(k) for k, _ in opened)
            _audit_run(s, app, result, opened_keys, sorted(str(k) for _, k, _, _ in closed))
        return result


def broken_on(s: Session, project_id: int, as_of: date) -> dict[str, str]:
    """What the sweep would find broken for one project on ``as_of`` — subject → rule — by the sweep's own
    queries (the item findings, expired agreements, agreements out of scope), reading only: for a program office
    about to verify an order (:func:`govflow.governance.rectification.verify_order`), so that an order is never
    closed as rectified while the obligation it was issued for is still broken."""
    sql = _Sql(s.get_bind().dialect.name == "postgresql", as_of)
    chunk = (project_id, project_id)
    out = {str(row[3]): str(row[2]) for row in s.execute(_item_findings(sql, chunk))}
    for row in _expired_findings(s, as_of, chunk) + _scope_findings(s, as_of, chunk):
        out.setdefault(str(row["subject"]), str(row["rule"]))
    return out


# ---------------------------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class _Sql:
    """The few expressions SQLite and PostgreSQL spell differently, for one run's ``as_of``.

    Dates: SQLite stores them as ISO text, PostgreSQL as ``date``. JSON: ``json_object`` vs
    ``json_build_object``; SQLite's ``json()`` keeps a ``CASE`` of two objects an object instead of a string.
    """

    pg: bool
    as_of: date

    def text(self, value: str) -> ColumnElement[str]:
        """A typed string constant (PostgreSQL cannot infer the type of a bare parameter in JSON builders)."""
        return cast(literal(value), String)

    def iso(self, d: Any) -> ColumnElement[str]:
        return type_coerce(func.to_char(d, "YYYY-MM-DD") if self.pg else d, String)

    def plus_days(self, d: Any, n: Any) -> Any:
        if self.pg:
            return d + n
        return func.date(d, self.text("+") + cast(n, String) + self.text(" days"))

    def obj(self, **pairs: Any) -> ColumnElement[Any]:
        args: list[Any] = []
        for k, v in pairs.items():
            args += [self.text(k), v]
        return (func.json_build_object if self.pg else func.json_object)(*args)

    def as_json(self, expr: Any) -> Any:
        """SQLite's ``json()`` keeps a ``CASE`` of two objects an object instead of a string."""
        return expr if self.pg else func.json(expr)

    def key(self, *parts: Any) -> ColumnElement[str]:
        """The parts joined by ``/``."""
        out: Any = None
        for part in parts:
            piece = self.text(part) if isinstance(part, str) else type_coerce(part, String)
            out = piece if out is None else out + self.text("/") + piece
        return type_coerce(out, String)


def _in_chunk(column: ColumnElement[int], chunk: tuple[int, int] | None) -> ColumnElement[bool]:
    if chunk is None:
        return literal(True)
    return column.between(chunk[0], chunk[1])


def _insert(s: Session, table: Table) -> Any:
    return (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _compute_current(s: Session, sql: _Sql, chunk: tuple[int, int] | None) -> None:
    """Fill :data:`CURRENT` with every broken obligation of the chunk, as the evaluator judges it: the item
    findings in one ``INSERT … SELECT`` (:func:`_item_findings`), the expired agreements through Python."""
    # two agreement items may promise the same item to the same consumer: one finding
    cols = ["key", "project_id", "rule", "subject", "period", "clause", "evidence"]
    s.execute(
        _insert(s, CURRENT)
        .from_select(cols, _item_findings(sql, chunk))
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = _expired_findings(s, sql.as_of, chunk) + _scope_findings(s, sql.as_of, chunk)
    if rows:
        s.execute(_insert(s, CURRENT).on_conflict_do_nothing(index_elements=["key"]), rows)


#: the rules an agreement item is found under (the agreement's own AGREEMENT_EXPIRED is per agreement)
_ITEM_RULES = (Rule.MILESTONE_MISSED, Rule.DELIVERY_STALE)


def _rule_of(as_of: date, i: Any) -> ColumnElement[str]:
    """The evaluator's verdict on an obligation's columns ``i``, in SQL: the rule of its item finding, or NULL."""
    return finding_rule_sql(delivery_status_sql(as_of, i.due, i.frequency, i.last_day), i.phase)


def _item_findings(sql: _Sql, chunk: tuple[int, int] | None) -> Select[Any]:
    """Rows of :data:`CURRENT` for the item findings (MILESTONE_MISSED, DELIVERY_STALE) of the chunk.

    The obligations of swept projects that can be broken on ``as_of`` (past due, or in operation) are judged in
    SQL by :func:`~govflow.governance.obligations.delivery_status_sql` and
    :func:`~govflow.governance.obligations.finding_rule_sql` — the evaluator's rules, proved equal to it in
    ``tests/integration/test_obligations.py`` — and only the broken ones are joined to their names and the
    records of their last delivery day; each row's evidence is what ``ObligationVerdict`` says of it (the
    period, ``since``, the expected due date or frequency)."""
    as_of = sql.as_of
    broken = obligation_query(
        as_of,
        PROJECT.c.phase.in_(_SWEPT),
        _in_chunk(PROJECT.c.id, chunk),
        or_(as_of > DUE, PROJECT.c.phase == Phase.OPERATION.value),
        # IN rather than IS NOT NULL: the same rows, but PostgreSQL then expects few of them (an equality's
        # selectivity instead of NOT NULL's) and joins the names by index; expecting thousands, it hashed whole
        # tables and doubled the time of a 2,000-project chunk
        narrow=lambda f: _rule_of(as_of, f).in_([r.value for r in _ITEM_RULES]),
    )
    # the rule computed once per broken item (without MATERIALIZED SQLite copies its CASE into every use)
    o = (
        broken.add_columns(_rule_of(as_of, broken.selected_columns).label("rule"))
        .cte("broken")
        .prefix_with("MATERIALIZED")
    )
    i = o.c
    rule = i.rule
    missed = rule == Rule.MILESTONE_MISSED.value
    gap = max_gap_days_sql(i.frequency)
    # the records of the last delivery day: one index probe per broken item, whatever the planner expects
    records = (
        select(EVIDENCE.c.records)
        .where(
            EVIDENCE.c.catalog_item_id == i.catalog_item_id,
            EVIDENCE.c.consumer_id == i.consumer_id,
            EVIDENCE.c.day == i.last_day,
        )
        .scalar_subquery()
    )
    period = sql.iso(func.coalesce(i.last_day, i.due))
    evidence = sql.obj(
        project=i.project,
        agreement=i.agreement,
        catalog=i.catalog,
        catalog_name=i.catalog_name,
        consumer=i.consumer,
        consumer_name=i.consumer_name,
        expected=sql.as_json(
            case(
                (missed, sql.obj(due=sql.iso(i.due), stated_due=sql.iso(i.stated_due))),
                else_=sql.obj(frequency=i.frequency, max_gap_days=gap),
            )
        ),
        delivered=sql.obj(records=func.coalesce(records, 0), last_day=sql.iso(i.last_day)),
        since=sql.iso(case((missed, sql.plus_days(i.due, 1)), else_=sql.plus_days(i.last_day, gap + 1))),
        basis=case({r.value: sql.text(r.basis()) for r in _ITEM_RULES}, value=rule),
        as_of=sql.iso(literal(as_of, Date)),
    )
    return (
        select(
            sql.key(i.project, rule, i.agreement, i.catalog, i.consumer, period),
            i.project_id,
            rule,
            sql.key(i.agreement, i.catalog, i.consumer),
            period,
            case({r.value: sql.text(r.clause) for r in _ITEM_RULES}, value=rule),
            evidence,
        )
        .select_from(o)
        # a WHERE keeps SQLite from reading the ON CONFLICT of the INSERT as part of the SELECT
        .where(rule.is_not(None))
    )


def _scope_findings(s: Session, as_of: date, chunk: tuple[int, int] | None) -> list[dict[str, Any]]:
    """Rows of :data:`CURRENT` for the agreement items of swept projects that promise a conditional or secret
    catalog item to a department outside its authorized scope (第八条 授权使用范围; a provider narrowed it): the
    consumer is not the provider, not authorized on the item, and the item is not open to every department (a
    secret item never is) — the rule :func:`govflow.states.rules.check_agreement_consistency` applies to a new
    agreement, which judges an item classed 不予共享 as not shareable at all, not by its scope (both are held to
    the same answers in ``tests/integration/test_scope_rule.py``)."""
    consumer = DEPT.alias("consumer")
    authorized = (
        select(AUTH.c.catalog_item_id)
        .where(AUTH.c.catalog_item_id == ITEM.c.catalog_item_id, AUTH.c.department_id == ITEM.c.consumer_id)
        .exists()
    )
    open_to_all = and_(CATALOG.c.all_departments.is_(True), CATALOG.c.secrecy != Secrecy.SECRET.value)
    q = (
        select(
            PROJECT.c.id,
            PROJECT.c.code,
            AGREEMENT.c.code,
            CATALOG.c.code,
            CATALOG.c.name,
            CATALOG.c.share_type,
            CATALOG.c.secrecy,
            consumer.c.code,
            consumer.c.name,
        )
        .select_from(ITEM)
        .join(AGREEMENT, AGREEMENT.c.id == ITEM.c.agreement_id)
        .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
        .join(CATALOG, CATALOG.c.id == ITEM.c.catalog_item_id)
        .join(consumer, consumer.c.id == ITEM.c.consumer_id)
        .where(
            PROJECT.c.phase.in_(_SWEPT),
            _in_chunk(PROJECT.c.id, chunk),
            in_force(as_of),
            or_(
                CATALOG.c.share_type == ShareType.CONDITIONAL.value,
                and_(CATALOG.c.secrecy == Secrecy.SECRET.value, CATALOG.c.share_type != ShareType.NONE.value),
            ),
            ITEM.c.consumer_id != CATALOG.c.provider_id,
            ~authorized,
            ~open_to_all,
        )
    )
    rule = Rule.AGREEMENT_OUT_OF_SCOPE
    out: list[dict[str, Any]] = []
    for pid, project, agreement, code, name, share_type, secrecy, dept, dept_name in s.execute(q):
        out.append(
            {
                "key": f"{project}/{rule.value}/{agreement}/{code}/{dept}/scope",
                "project_id": int(pid),
                "rule": rule.value,
                "subject": f"{agreement}/{code}/{dept}",
                "period": "scope",
                "clause": rule.clause,
                "evidence": {
                    "project": project,
                    "agreement": agreement,
                    "catalog": code,
                    "catalog_name": name,
                    "consumer": dept,
                    "consumer_name": dept_name,
                    "expected": {"share_type": share_type, "secrecy": secrecy},
                    "delivered": None,
                    "since": as_of.isoformat(),
                    "basis": rule.basis(),
                    "as_of": as_of.isoformat(),
                },
            }
        )
    return out


def _expired_findings(s: Session, as_of: date, chunk: tuple[int, int] | None) -> list[dict[str, Any]]:
    """Rows of :data:`CURRENT` for the agreements of swept projects whose term ended (第八条 共享期限)."""
    q = (
        select(
            AGREEMENT.c.code,
            AGREEMENT.c.form,
            AGREEMENT.c.term_end,
            PROJECT.c.id,
            PROJECT.c.code,
            PROJECT.c.phase,
        )
        .select_from(AGREEMENT)
        .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
        .where(
            PROJECT.c.phase.in_(_SWEPT),
            _in_chunk(PROJECT.c.id, chunk),
            AGREEMENT.c.term_end < as_of,
            AGREEMENT.c.terminated_on.is_(None),  # a terminated agreement has ended, not expired
        )
    )
    rule = Rule.AGREEMENT_EXPIRED
    out: list[dict[str, Any]] = []
    for code, form, end, pid, project, phase in s.execute(q):
        if not agreement_expired(end, as_of):  # pragma: no cover - the WHERE above reads the same rule
            continue
        out.append(
            {
                "key": f"{project}/{rule.value}/{code}/-/-/{end.isoformat()}",
                "project_id": int(pid),
                "rule": rule.value,
                "subject": str(code),
                "period": end.isoformat(),
                "clause": rule.clause,
                "evidence": {
                    "project": project,
                    "agreement": code,
                    "form": form,
                    "phase": phase,
                    "expected": {"term_end": end.isoformat()},
                    "delivered": None,
                    "since": (end + timedelta(days=1)).isoformat(),
                    "basis": rule.basis(),
                    "as_of": as_of.isoformat(),
                },
            }
        )
    return out


def _judged(as_of: date, chunk: tuple[int, int] | None) -> ColumnElement[bool]:
    """Open findings of the chunk this run judges: a finding opened by a run for a later day is not its business."""
    return and_(
        FINDING.c.status == FindingStatus.OPEN.value,
        FINDING.c.opened_on <= as_of,
        _in_chunk(FINDING.c.project_id, chunk),
        FINDING.c.rule
        != Rule.ONBOARDING_GAP.value,  # opened by the load, closed when the materials are there
    )


def _count_judged(s: Session, as_of: date, chunk: tuple[int, int] | None) -> int:
    return int(s.execute(select(func.count()).select_from(FINDING).where(_judged(as_of, chunk))).scalar_one())


def _open_new(s: Session, sql: _Sql) -> list[Any]:
    """Insert the current obligations whose key is new (a key used before, even by a closed finding, is
    skipped); returns (key, rule) of each finding opened."""
    q = select(
        CURRENT.c.key,
        CURRENT.c.project_id,
        CURRENT.c.rule,
        CURRENT.c.subject,
        CURRENT.c.period,
        CURRENT.c.clause,
        CURRENT.c.evidence,
        literal(sql.as_of, Date),
        sql.text(FindingStatus.OPEN.value),
    ).where(
        # every key is tried once and a known one skipped by the unique index; a NOT EXISTS anti-join here
        # made PostgreSQL rescan the growing table for each row of a first sweep (minutes instead of seconds).
        # The WHERE itself keeps SQLite from reading ON CONFLICT as part of the SELECT.
        CURRENT.c.key.is_not(None)
    )
    cols = ["key", "project_id", "rule", "subject", "period", "clause", "evidence", "opened_on", "status"]
    ins = _insert(s, FINDING).from_select(cols, q).on_conflict_do_nothing(index_elements=["key"])
    return list(s.execute(ins.returning(FINDING.c.key, FINDING.c.rule)).all())


def _close_gone(s: Session, as_of: date, chunk: tuple[int, int] | None) -> list[Any]:
    """Close the judged open findings whose obligation is no longer broken; returns (id, key, rule, reason)."""
    still = select(CURRENT.c.key).where(CURRENT.c.key == FINDING.c.key).exists()
    phase = select(PROJECT.c.phase).where(PROJECT.c.id == FINDING.c.project_id).scalar_subquery()
    reason = case((phase.in_(_SWEPT), CAUSE_GONE), else_=LEFT_SWEPT_PHASES)
    stmt = (
        update(FINDING)
        .where(_judged(as_of, chunk), ~still)
        .values(status=FindingStatus.CLOSED.value, closed_on=as_of, closed_reason=reason)
        .returning(FINDING.c.id, FINDING.c.key, FINDING.c.rule, FINDING.c.closed_reason)
    )
    return sorted(s.execute(stmt).all(), key=lambda r: str(r[1]))


def _notify_new(s: Session, sql: _Sql, first_id: int, chunk: tuple[int, int] | None, now: datetime) -> None:
    """One outbox message per new finding to the project's lead department (key ``finding/{key}``), written by
    one ``INSERT … SELECT``: the same row :func:`govflow.governance.outbox.enqueue_many` writes, without a round trip
    through Python per finding. The message carries the finding's identity and dates; its evidence stays with
    the finding."""
    lead = DEPT.alias("lead")
    ev = FINDING.c.evidence
    payload = sql.obj(
        project=PROJECT.c.code,
        project_name=PROJECT.c.name,
        department=lead.c.code,
        finding=FINDING.c.key,
        rule=FINDING.c.rule,
        clause=FINDING.c.clause,
        agreement=ev["agreement"].as_string(),
        catalog=ev["catalog"].as_string(),
        consumer=ev["consumer"].as_string(),
        period=FINDING.c.period,
        since=ev["since"].as_string(),
        as_of=sql.iso(FINDING.c.opened_on),
    )
    q = (
        select(
            sql.text("finding/") + FINDING.c.key,
            sql.text("finding.opened"),
            PROJECT.c.code,
            sql.text(Role.DEPARTMENT.value),
            payload,
            literal(now, UTCDateTime()),
            sql.text("pending"),
            literal(0),
        )
        .select_from(FINDING)
        .join(PROJECT, PROJECT.c.id == FINDING.c.project_id)
        .join(lead, lead.c.id == PROJECT.c.lead_department_id)
        .where(FINDING.c.id >= first_id, _in_chunk(FINDING.c.project_id, chunk))
    )
    cols = ["key", "topic", "project_code", "recipients_role", "payload", "created_at", "status", "attempts"]
    s.execute(_insert(s, OUTBOX).from_select(cols, q).on_conflict_do_nothing(index_elements=["key"]))


# ---------------------------------------------------------------------------------------------- reading


def _agreements_ending(s: Session, as_of: date, horizon: date, chunk: tuple[int, int] | None) -> list[Any]:
    """Agreements of swept projects whose term ends between ``as_of`` and ``horizon`` (both included)."""
    lead = DEPT.alias("lead")
    q = (
        select(
            AGREEMENT.c.code.label("agreement"),
            AGREEMENT.c.form,
            AGREEMENT.c.term_end,
            PROJECT.c.id.label("project_id"),
            PROJECT.c.code.label("project"),
            PROJECT.c.name.label("project_name"),
            PROJECT.c.phase,
            lead.c.code.label("lead"),
            lead.c.name.label("lead_name"),
        )
        .select_from(AGREEMENT)
        .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
        .join(lead, lead.c.id == PROJECT.c.lead_department_id)
        .where(
            PROJECT.c.phase.in_(_SWEPT),
            _in_chunk(PROJECT.c.id, chunk),
            AGREEMENT.c.term_end.between(as_of, horizon),
            AGREEMENT.c.terminated_on.is_(None),
        )
        .order_by(PROJECT.c.code, AGREEMENT.c.code)
    )
    return list(s.execute(q))


# ---------------------------------------------------------------------------------------------- writing


def _expiry_notices(s: Session, ending: Sequence[Any], as_of: date) -> int:
    """第八条: an agreement about to expire needs its authorization adjusted; tell the lead department once."""
    messages: list[tuple[str, str, str, dict[str, Any], str | None]] = []
    for r in ending:
        days_left = (r.term_end - as_of).days
        form = AgreementForm(r.form)
        messages.append(
            (
                f"notice/agreement-expiry/{r.project}/{r.agreement}/{r.term_end.isoformat()}",
                "notice.agreement_expiry",
                Role.DEPARTMENT.value,
                {
                    "project": r.project,
                    "project_name": r.project_name,
                    "department": r.lead,
                    "agreement": r.agreement,
                    "form": form.value,
                    "term_end": r.term_end.isoformat(),
                    "days_left": days_left,
                    "as_of": as_of.isoformat(),
                    "clause": NOTICE_CLAUSE,
                    "message": f"{FORM_LABELS[form]} {r.agreement}（项目 {r.project} {r.project_name}）的共享期限将于 "
                    f"{r.term_end.isoformat()} 届满（还有 {days_left} 天）；请及时续签，并根据业务需求变化调整、补充和"
                    f"完善信息共享授权范围（{NOTICE_CLAUSE}）",
                    "message_en": f"the sharing term of {form.value} {r.agreement} (project {r.project}) ends on "
                    f"{r.term_end.isoformat()} ({days_left} days left); renew it and adjust the sharing authorization "
                    f"({NOTICE_CLAUSE})",
                },
                r.project,
            )
        )
    return enqueue_many(s, messages)


def _digest(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def _audit_run(s: Session, app: App, result: SweepResult, opened: list[str], closed: list[str]) -> None:
    """One audit event per chunk and run. It lists the keys when they are few and always carries the SHA-256
    of the sorted opened and closed keys, so the findings a run wrote are bound to the hash chain without one
    audit event per finding (a nightly sweep of a large portfolio would otherwise add thousands a night)."""
    reasons = []
    for rule in RULES:
        n_open, n_closed = result.opened_by_rule.get(rule, 0), result.closed_by_rule.get(rule, 0)
        if not (n_open or n_closed):
            continue
        zh, en = RULE_LABELS[rule]
        reasons.append(
            {
                "code": rule,
                "clause": RULE_CLAUSE[rule],
                "message": f"{zh}：新发现 {n_open} 项，关闭 {n_closed} 项",
                "message_en": f"{en}: {n_open} opened, {n_closed} closed",
                "detail": {"opened": n_open, "closed": n_closed},
            }
        )
    detail: dict[str, Any] = {
        **result.to_dict(),
        "opened_keys_sha256": _digest(opened),
        "closed_keys_sha256": _digest(closed),
    }
    if len(opened) + len(closed) <= AUDIT_KEY_LIST_LIMIT:
        detail |= {"opened_keys": opened, "closed_keys": closed}
    if result.expiry_notices:
        reasons.append(
            {
                "code": "AGREEMENT_EXPIRY_NOTICE",
                "clause": NOTICE_CLAUSE,
                "message": f"协定即将到期提示 {result.expiry_notices} 条",
                "message_en": f"{result.expiry_notices} agreement expiry notices",
            }
        )
    reasons.append(
        {
            "code": "SWEEP_RUN",
            "clause": RULE_CLAUSE[MILESTONE_MISSED],
            "message": "清单扫描运行记录",
            "message_en": "sweep run record",
            "detail": detail,
        }
    )
    chunk = f"，项目 id {result.chunk[0]}–{result.chunk[1]}" if result.chunk else ""
    note = (
        f"清单扫描 as_of {result.as_of.isoformat()}{chunk}：新发现 {result.opened} 项，关闭 {result.closed} 项，"
        f"仍未解决 {result.still_open} 项，到期提示 {result.expiry_notices} 条，随问题关闭的整改通知 {result.orders_closed} 份"
    )
    audit.append(
        s, [system_record("flow.sweep", SWEEP_ACTOR, app.clock(), note, kind="data", reasons=reasons)]
    )
