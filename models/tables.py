"""The govflow tables (SQLModel). Alembic owns the schema; these classes are its ``target_metadata``.

Enumerated values are stored as their codes (the ``states`` vocabularies); money is :class:`~govflow.models.types.Money`,
times are :class:`~govflow.models.types.UTCDateTime`, calendar dates are ``date``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from govflow.models.types import Money, UTCDateTime, utcnow

# Explicit constraint names (migration 0001 uses exactly these) so later migrations can drop them by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Department(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=18, unique=True, index=True)  # 统一社会信用代码
    name: str = Field(max_length=200)
    region: str = Field(max_length=6)  # GB/T 2260
    level: str = Field(max_length=16)


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    display_name: str | None = Field(default=None, max_length=100)
    role: str = Field(max_length=32)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=255)
    token_hash: str | None = Field(default=None, max_length=128, index=True)
    #: part of every session's fingerprint: raised on deactivation, so no session issued before it ever holds again
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserSession(SQLModel, table=True):
    """One signed-in browser or API client: the session cookie carries a random key whose SHA-256 is kept here,
    so that signing out ends that session on the server (a copied cookie stops working) and "sign out
    everywhere", a password change or a deactivation ends the user's other sessions at once."""

    __tablename__ = "user_session"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: set when the session ends before it expires (sign-out, sign out everywhere, password change, deactivation)
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=300)
    lead_department_id: int = Field(foreign_key="department.id", index=True)
    om_budget: Decimal = Field(default=Decimal("0.00"), sa_column=Column(Money(), nullable=False))
    phase: str = Field(max_length=32, index=True)
    #: optimistic lock: every change to the project or its sharing materials increments it
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_event_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ProjectTally(SQLModel, table=True):
    """How many projects are in each phase, kept by triggers on ``project`` (migration 0016,
    :mod:`govflow.models.tally`) in the writing transaction, so that a project list's total for every project
    or one phase is a sum over a handful of rows instead of a count of the national portfolio's 20,000."""

    __tablename__ = "project_tally"
    phase: str = Field(max_length=32, primary_key=True)
    n: int


class ProjectDepartment(SQLModel, table=True):
    """A related department of a project (it must give an opinion, 第九条)."""

    __tablename__ = "project_department"
    project_id: int = Field(foreign_key="project.id", primary_key=True)
    department_id: int = Field(foreign_key="department.id", primary_key=True, index=True)


class CatalogItem(SQLModel, table=True):
    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("project_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    provider_id: int = Field(foreign_key="department.id")
    category: str = Field(max_length=16)
    share_type: str = Field(max_length=16)
    method: str = Field(max_length=16)
    update_frequency: str = Field(max_length=16)
    secrecy: str = Field(max_length=16)
    legal_basis: str | None = None
    all_departments: bool = False
    fields: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    format: str | None = None
    interface: str | None = None
    processing: str | None = None
    traceability: str | None = None


class CatalogAuthorization(SQLModel, table=True):
    """A department explicitly authorized to use a catalog item (required for secret items, 第二条第三款)."""

    __tablename__ = "catalog_authorization"
    catalog_item_id: int = Field(foreign_key="catalog_item.id", primary_key=True)
    department_id: int = Field(foreign_key="department.id", primary_key=True)


class Agreement(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    code: str = Field(max_length=64)
    form: str = Field(max_length=16)
    signed_on: date | None = None
    term_start: date | None = None
    term_end: date | None = None
    basis: str | None = None
    #: 1 as signed; each renewal or termination is a new version (:class:`AgreementVersion`)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    terminated_on: date | None = None


class AgreementVersion(SQLModel, table=True):
    """A change to a signed agreement (第八条 共享期限): renewed or terminated, with its terms before and after."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    version: int
    kind: str = Field(max_length=16)  # renewed | terminated
    on: date
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=64)
    reason: str | None = None
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AgreementParty(SQLModel, table=True):
    __tablename__ = "agreement_party"
    agreement_id: int = Field(foreign_key="agreement.id", primary_key=True)
    department_id: int = Field(foreign_key="department.id", primary_key=True)


class AgreementItem(SQLModel, table=True):
    __tablename__ = "agreement_item"
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    catalog_item_id: int = Field(foreign_key="catalog_item.id", index=True)
    consumer_id: int = Field(foreign_key="department.id")
    quality: str | None = None
    quantity: str | None = None
    update_frequency: str | None = Field(default=None, max_length=16)
    scope: str | None = None
    usage: str | None = None
    due: date | None = None
    #: the day ``due`` moves to when it is a day off: the next working day (《中华人民共和国民法典》第二百零三条);
    #: NULL when ``due`` is a working day, or its year (or the next) has no calendar data yet
    due_effective: date | None = None


class NeedsAnalysis(SQLModel, table=True):
    __tablename__ = "needs_analysis"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    internal: str | None = None
    external: str | None = None
    central_local: str | None = None
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Opinion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    given_on: date
    verdict: str = Field(max_length=32)
    unmet_needs: list[dict[str, str | None]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    comment: str | None = None
    #: an agree_with_changes opinion's conditions, each ``{"text", "answer", "answered_on", "answered_by"}``
    conditions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default=text("'[]'"))
    )


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    stage: str = Field(max_length=16)
    agency: str = Field(max_length=200)
    reviewed_on: date
    conclusion: str | None = None
    #: the conclusion is against approval (第十条第一款: it refuses the approval unless overridden)
    against_approval: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ReviewJudgment(SQLModel, table=True):
    """A review's explicit judgment on one of the five focus points (第十条第一款)."""

    __tablename__ = "review_judgment"
    review_id: int = Field(foreign_key="review.id", primary_key=True)
    focus_point: str = Field(max_length=16, primary_key=True)
    judgment: str = Field(max_length=16)
    comment: str | None = None


class DeliveryEvidence(SQLModel, table=True):
    """Records delivered by the exchange platform, aggregated per catalog item, consumer and day."""

    __tablename__ = "delivery_evidence"
    __table_args__ = (
        UniqueConstraint("catalog_item_id", "consumer_id", "day"),
        Index("ix_delivery_evidence_project_day", "project_id", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    catalog_item_id: int = Field(foreign_key="catalog_item.id")
    consumer_id: int = Field(foreign_key="department.id")
    day: date
    records: int


class LastDelivery(SQLModel, table=True):
    """The last day with records > 0 of each (catalog item, consumer) in ``delivery_evidence``, kept by every write
    of evidence in the same transaction (:mod:`govflow.models.deliveries`). The board's coverage chart reads it
    instead of looking the day up per agreement item (the index probe that cost most of the chart); for a day
    before the recorded last day it still looks up (:func:`govflow.governance.obligations.last_day_known`)."""

    __tablename__ = "last_delivery"
    #: SQLite: the rows live in the primary key's b-tree, so the chart's lookup per agreement item is one search
    #: (a rowid table would search its key index, then the table)
    __table_args__ = {"sqlite_with_rowid": False}
    catalog_item_id: int = Field(foreign_key="catalog_item.id", primary_key=True)
    consumer_id: int = Field(foreign_key="department.id", primary_key=True)
    day: date


class Finding(SQLModel, table=True):
    """A broken sharing obligation found by the sweep; closed (never deleted) when its cause is gone."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    rule: str = Field(max_length=32)
    subject: str = Field(max_length=255)
    period: str = Field(max_length=32)
    clause: str = Field(max_length=64)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_on: date
    closed_on: date | None = None
    status: str = Field(default="open", max_length=16, index=True)
    #: why it was closed (the cause is gone, the project left the swept phases, ...)
    closed_reason: str | None = None


class RectificationOrder(SQLModel, table=True):
    """整改通知 (限期整改, 第十一条) with a deadline in working days."""

    __tablename__ = "rectification_order"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    finding_id: int | None = Field(default=None, foreign_key="finding.id", index=True)
    origin: str = Field(max_length=32)  # fail_acceptance | finding
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notice_date: date
    workdays: int
    #: NULL while pending (期限待定): it would fall in a year without working-day calendar data; the deadlines
    #: run dates it as ``add_workdays(pending_from, pending_workdays)`` once that year is imported
    deadline: date | None = None
    pending_from: date | None = None
    pending_workdays: int | None = None
    status: str = Field(default="open", max_length=24, index=True)  # open|evidence_submitted|overdue|closed
    closed_on: date | None = None
    #: the policy version whose working-day count set the deadline
    policy_version: str | None = Field(default=None, max_length=32)
    original_deadline: date | None = None  # before any extension
    overdue_since: date | None = None  # the first day it was found overdue
    escalation_level: int = 0
    closed_late: bool | None = None
    closed_reason: str | None = None
    #: optimistic lock for the order's own use cases (evidence, verification, extension)
    version: int = 1


class OrderStep(SQLModel, table=True):
    """Something that happened to an order: reminder, overdue, escalation, evidence, verification, extension.

    ``key`` makes once-only steps idempotent (``RO-…/reminder-5``); repeatable ones carry a counter.
    """

    __tablename__ = "order_step"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    order_id: int = Field(foreign_key="rectification_order.id", index=True)
    kind: str = Field(max_length=24)
    on: date
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=64)
    note: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CutRecommendation(SQLModel, table=True):
    """削减运维经费 recommendation (第十一条): one per project and budget period, decided by finance."""

    __tablename__ = "cut_recommendation"
    __table_args__ = (UniqueConstraint("project_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    period: str = Field(max_length=8)  # budget year, e.g. "2026"
    as_of: date  # the run that last refreshed it
    proposed_on: date | None = None  # the run that first proposed it (reports for a past day use this)
    policy_version: str = Field(max_length=32)
    #: percent with two decimals, stored exactly like money (hundredths)
    percent: Decimal = Field(sa_column=Column(Money(), nullable=False))
    base_budget: Decimal = Field(sa_column=Column(Money(), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="proposed", max_length=16, index=True)  # proposed|accepted|declined|withdrawn
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = None
    withdrawn_on: date | None = None


class PolicyVersion(SQLModel, table=True):
    """A governance policy as loaded; exactly one is active. Old versions stay for the recommendations that cite them."""

    __tablename__ = "policy_version"
    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=32, unique=True)
    digest: str = Field(max_length=64)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = False
    activated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    activated_by: str = Field(max_length=64)


class CalendarYear(SQLModel, table=True):
    """A year of the working-day calendar imported from the State Council notice (《国务院办公厅关于20XX年部分节假日
    安排的通知》): it replaces the packaged data for that year in every process. Re-importing a year replaces it."""

    __tablename__ = "calendar_year"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workdays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=500)
    digest: str = Field(max_length=64)
    imported_by: str = Field(max_length=64)
    imported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class FlowRun(SQLModel, table=True):
    """One run of a governance flow (sweep, deadlines, cuts, dispatch) with what it did, for operators and audit."""

    __tablename__ = "flow_run"
    #: one running run per flow and day: a second one is refused by the database (flowruns.recorded_run)
    __table_args__ = (
        Index(
            "uq_flow_run_running",
            "flow",
            "as_of",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(max_length=32, index=True)
    as_of: date | None = None
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    status: str = Field(default="running", max_length=16)  # running|completed|failed|crashed
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    prefect_flow_run_id: str | None = Field(default=None, max_length=64)
    #: the process running it (``host:pid:process start``) and its last sign of life (real time, UTC)
    holder: str | None = Field(default=None, max_length=128)
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class FlowChunk(SQLModel, table=True):
    """One chunk of a distributed run (its own Prefect flow run on a worker): the lease of the process working
    it, and its result for the run that planned it (:mod:`govflow.governance.chunkruns`)."""

    __tablename__ = "flow_chunk"
    __table_args__ = (UniqueConstraint("run_id", "first_id"),)
    id: int | None = Field(default=None, primary_key=True)
    #: the ``flow_run`` of the check that planned it (sweep, deadlines, cuts)
    run_id: int = Field(foreign_key="flow_run.id", index=True)
    flow: str = Field(max_length=32)
    as_of: date
    #: the inclusive range of project ids (0, 0 when the database holds no project)
    first_id: int
    last_id: int
    status: str = Field(default="pending", max_length=16)  # pending|running|completed|failed|crashed
    attempts: int = 0
    #: the Prefect flow run of its latest submission, and the worker that ran it (``PREFECT__WORKER_NAME``)
    prefect_flow_run_id: str | None = Field(default=None, max_length=64)
    worker: str | None = Field(default=None, max_length=128)
    holder: str | None = Field(default=None, max_length=128)
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


class AuditEvent(SQLModel, table=True):
    """One link of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_event"
    #: a user's recent failed sign-ins are counted on every sign-in (auth.authenticate: lockout)
    __table_args__ = (Index("ix_audit_event_actor_action_occurred_at", "actor", "action", "occurred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    kind: str = Field(max_length=16)  # decision | security | onboarding | data
    outcome: str = Field(max_length=16)  # accepted | refused | denied | recorded
    project_code: str | None = Field(default=None, max_length=64, index=True)
    action: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    from_phase: str | None = Field(default=None, max_length=32)
    to_phase: str | None = Field(default=None, max_length=32)
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    clauses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = None
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's newest link, so that cutting events off the end is detected too."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="", max_length=64)


class OutboxMessage(SQLModel, table=True):
    """A notification written in the same transaction as the change it reports; sent after commit."""

    __tablename__ = "outbox_message"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    topic: str = Field(max_length=64)
    project_code: str | None = Field(default=None, max_length=64)
    recipients_role: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = None
