"""Two baselines for the service path, run on a fresh copy of the same loaded database.

``naive_orm``
    The same transitions written the straightforward way with SQLModel objects, one session and one commit per
    event: look the actor and the project up as ORM objects, load the related rows the guarded events need
    through ORM queries and check them inline, set ``phase``/``version``, read the previous audit event as an
    object, add an :class:`AuditEvent` with its sha256 chain hash and move the head. No permission table, no
    explained verdicts, no outbox, no optimistic version check: what the service layer adds is what the ratio
    against this path prices.
``raw_sql``
    The floor: per event only the writes every path must make (UPDATE project with the version check, SELECT
    audit head, INSERT audit_event, UPDATE audit head, COMMIT) through the DBAPI (``sqlite3`` / ``psycopg``)
    without SQLAlchemy, the phases and versions kept in memory.

Both write audit events hashed exactly as :mod:`models.audit` does, so ``audit verify`` passes on their result
too (and is checked).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bench.schedule import Step
from bench.timing import Timing, stopwatch
from govflow.models.audit import event_hash
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AppUser,
    AuditEvent,
    AuditHead,
    CatalogAuthorization,
    CatalogItem,
    DeliveryEvidence,
    Finding,
    NeedsAnalysis,
    Opinion,
    Project,
    ProjectDepartment,
    Review,
    ReviewJudgment,
)
from govflow.models.types import utcnow
from govflow.states.lifecycle import transition_for
from govflow.states.permissions import Role
from govflow.states.phases import REVIEW_STAGE_OF, Event, Phase
from govflow.states.sharing import FocusPoint

# ------------------------------------------------------------------------------------------------ naive ORM


class NaiveRefusal(AssertionError):
    """The naive path found the data does not allow the event (it should never, for generated data)."""


def naive_orm(engine: Engine, steps: Sequence[Step], clock: Callable[[], datetime] = utcnow) -> Timing:
    """Run ``steps`` the straightforward ORM way; returns the time they took."""
    with stopwatch() as timing:
        for step in steps:
            with Session(engine) as session:
                _naive_event(session, step, clock())
                session.commit()
    return timing


def _naive_event(session: Session, step: Step, now: datetime) -> None:
    user = session.exec(select(AppUser).where(AppUser.name == step.actor)).one()
    project = session.exec(select(Project).where(Project.code == step.project)).one()
    if user.role != step.role.value:
        raise NaiveRefusal(f"{step.actor} is not {step.role}")
    if user.role == Role.DEPARTMENT.value and user.department_id != project.lead_department_id:
        raise NaiveRefusal(f"{step.actor} does not lead {step.project}")
    source = Phase(project.phase)
    t = transition_for(step.event, source)
    if t is None:
        raise NaiveRefusal(f"{step.event} not possible from {source}")
    _naive_guard(session, project, step.event, source, now.date())

    previous = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    seq, prev_hash = (previous.seq + 1, previous.hash) if previous else (1, "0" * 64)
    project.phase = t.dest.value
    project.version += 1
    project.last_event_at = now
    row: dict[str, Any] = {
        "kind": "decision",
        "outcome": "accepted",
        "project_code": project.code,
        "action": step.event.value,
        "actor": user.name,
        "role": user.role,
        "occurred_at": now,
        "from_phase": source.value,
        "to_phase": t.dest.value,
        "reasons": [],
        "clauses": [],
        "note": None,
    }
    digest = event_hash(seq, prev_hash, now, row)
    session.add(AuditEvent(**row, seq=seq, recorded_at=now, prev_hash=prev_hash, hash=digest))
    head = session.get(AuditHead, 1)
    if head is None:
        raise NaiveRefusal("no audit head")
    head.seq, head.hash = seq, digest


def _naive_guard(session: Session, project: Project, event: Event, source: Phase, today: date) -> None:
    """The guard conditions checked inline on ORM objects, loading what the service layer's guards load."""
    pid = project.id
    if event is Event.INTAKE:
        related = session.exec(select(ProjectDepartment).where(ProjectDepartment.project_id == pid)).all()
        catalog = _catalog(session, pid)
        agreements, _ = _agreements(session, pid)
        needs = session.exec(select(NeedsAnalysis).where(NeedsAnalysis.project_id == pid)).first()
        opinions = session.exec(select(Opinion).where(Opinion.project_id == pid)).all()
        given = {o.department_id for o in opinions}
        if not catalog or not agreements or needs is None:
            raise NaiveRefusal(f"{project.code}: intake materials missing")
        if not (needs.internal and needs.external and needs.central_local):
            raise NaiveRefusal(f"{project.code}: needs analysis incomplete")
        if any(r.department_id not in given for r in related):
            raise NaiveRefusal(f"{project.code}: opinion missing")
    elif event is Event.APPROVE:
        stage = REVIEW_STAGE_OF[source].value
        reviews = session.exec(select(Review).where(Review.project_id == pid, Review.stage == stage)).all()
        if not reviews:
            raise NaiveRefusal(f"{project.code}: no {stage} review")
        latest = max(reviews, key=lambda r: r.reviewed_on)
        judged = session.exec(select(ReviewJudgment).where(ReviewJudgment.review_id == latest.id)).all()
        if {j.focus_point for j in judged} != {p.value for p in FocusPoint}:
            raise NaiveRefusal(f"{project.code}: focus point not judged")
        _catalog(session, pid)
        _agreements(session, pid)
        opinions = session.exec(select(Opinion).where(Opinion.project_id == pid)).all()
        if any(o.unmet_needs for o in opinions):
            raise NaiveRefusal(f"{project.code}: unmet needs")
    elif event is Event.SUBMIT_FEASIBILITY:
        for c in _catalog(session, pid):
            if not (c.fields and c.format and c.interface and c.processing and c.traceability):
                raise NaiveRefusal(f"{project.code}: catalog item {c.code} not refined")
        _, items = _agreements(session, pid)
        for i in items:
            if None in (i.quality, i.quantity, i.update_frequency, i.scope, i.usage, i.due):
                raise NaiveRefusal(f"{project.code}: agreement item {i.id} lacks a 第八条 term")
    elif event is Event.PASS_ACCEPTANCE:
        _, items = _agreements(session, pid)
        evidence = session.exec(
            select(DeliveryEvidence).where(DeliveryEvidence.project_id == pid, DeliveryEvidence.day <= today)
        ).all()
        delivered = {(e.catalog_item_id, e.consumer_id) for e in evidence if e.records > 0}
        for i in items:
            if i.due is not None and i.due <= today and (i.catalog_item_id, i.consumer_id) not in delivered:
                raise NaiveRefusal(f"{project.code}: agreement item {i.id} not delivered")
        findings = session.exec(
            select(Finding).where(Finding.project_id == pid, Finding.status == "open")
        ).all()
        if findings:
            raise NaiveRefusal(f"{project.code}: open findings")


def _catalog(session: Session, pid: int | None) -> Sequence[CatalogItem]:
    items = session.exec(select(CatalogItem).where(CatalogItem.project_id == pid)).all()
    ids = [c.id for c in items]
    session.exec(select(CatalogAuthorization).where(col(CatalogAuthorization.catalog_item_id).in_(ids))).all()
    return items


def _agreements(session: Session, pid: int | None) -> tuple[Sequence[Agreement], Sequence[AgreementItem]]:
    agreements = session.exec(select(Agreement).where(Agreement.project_id == pid)).all()
    ids = [a.id for a in agreements]
    items = session.exec(select(AgreementItem).where(col(AgreementItem.agreement_id).in_(ids))).all()
    return agreements, items


# ------------------------------------------------------------------------------------------------ raw SQL floor

_UPDATE_PROJECT = (
    "UPDATE project SET phase = {p}, version = version + 1, last_event_at = {p} "
    "WHERE id = {p} AND version = {p} RETURNING version"
)
_INSERT_EVENT = (
    "INSERT INTO audit_event (seq, kind, outcome, project_code, action, actor, role, occurred_at, recorded_at, "
    "from_phase, to_phase, reasons, clauses, note, prev_hash, hash) VALUES ({ps})"
)
_UPDATE_HEAD = "UPDATE audit_head SET seq = {p}, hash = {p} WHERE id = 1"


class _State:
    """What the floor keeps in memory instead of reading it: each project's id, phase and version."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.by_code: dict[str, list[Any]] = {str(code): [int(i), str(ph), int(v)] for i, code, ph, v in rows}

    def advance(self, step: Step) -> tuple[int, Phase, Phase, int]:
        """(project id, source, dest, expected version) for ``step``."""
        pid, phase, version = self.by_code[step.project]
        source = Phase(phase)
        t = transition_for(step.event, source)
        if t is None:
            raise AssertionError(f"{step.event} not possible from {source}")
        return pid, source, t.dest, version

    def commit(self, step: Step, dest: Phase, version: int) -> None:
        self.by_code[step.project][1:] = [dest.value, version]


def _hash(seq: int, prev: str, now: datetime, step: Step, source: Phase, dest: Phase) -> str:
    row: dict[str, Any] = {
        "kind": "decision",
        "outcome": "accepted",
        "project_code": step.project,
        "action": step.event.value,
        "actor": step.actor,
        "role": step.role.value,
        "occurred_at": now,
        "from_phase": source.value,
        "to_phase": dest.value,
        "reasons": [],
        "clauses": [],
        "note": None,
    }
    return event_hash(seq, prev, now, row)


def _sqlite_time(value: datetime) -> str:
    """UTC as SQLAlchemy's SQLite DateTime stores it (what :class:`govflow.models.types.UTCDateTime` reads back)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _event_row(
    seq: int, step: Step, at: Any, source: Phase, dest: Phase, empty: Any, prev: str, digest: str
) -> tuple[Any, ...]:
    """The values of ``_INSERT_EVENT``; ``at`` and ``empty`` (the JSON ``[]``) in the driver's form."""
    who = (step.project, step.event.value, step.actor, step.role.value)
    return (
        seq,
        "decision",
        "accepted",
        *who,
        at,
        at,
        source.value,
        dest.value,
        empty,
        empty,
        None,
        prev,
        digest,
    )


def raw_sqlite(path: str, steps: Sequence[Step], clock: Callable[[], datetime] = utcnow) -> Timing:
    """The floor on SQLite through ``sqlite3``, with the application's pragmas; returns the time the steps took."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        state = _State(conn.execute("SELECT id, code, phase, version FROM project").fetchall())
        update_project = _UPDATE_PROJECT.format(p="?")
        insert_event = _INSERT_EVENT.format(ps=", ".join("?" * 16))
        update_head = _UPDATE_HEAD.format(p="?")
        with stopwatch() as timing:
            for step in steps:
                pid, source, dest, version = state.advance(step)
                now = clock()
                at = _sqlite_time(now)
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(update_project, (dest.value, at, pid, version)).fetchone()
                if row is None:
                    raise AssertionError(f"version conflict on {step.project}")
                seq, prev = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
                digest = _hash(seq + 1, prev, now, step, source, dest)
                conn.execute(insert_event, _event_row(seq + 1, step, at, source, dest, "[]", prev, digest))
                conn.execute(update_head, (seq + 1, digest))
                conn.execute("COMMIT")
                state.commit(step, dest, int(row[0]))
        return timing


def raw_postgres(uri: str, steps: Sequence[Step], clock: Callable[[], datetime] = utcnow) -> Timing:
    """The floor on PostgreSQL through ``psycopg`` (READ COMMITTED, head row locked); returns the time the steps
    took."""
    with psycopg.connect(uri) as conn:
        state = _State(conn.execute("SELECT id, code, phase, version FROM project").fetchall())
        conn.commit()
        update_project = _UPDATE_PROJECT.format(p="%s")
        insert_event = _INSERT_EVENT.format(ps=", ".join(["%s"] * 16))
        update_head = _UPDATE_HEAD.format(p="%s")
        empty = Json([], dumps=json.dumps)
        with stopwatch() as timing:
            for step in steps:
                pid, source, dest, version = state.advance(step)
                now = clock()
                row = conn.execute(update_project, (dest.value, now, pid, version)).fetchone()
                head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
                if row is None or head is None:
                    raise AssertionError(f"version conflict on {step.project}, or no audit head")
                seq, prev = int(head[0]) + 1, str(head[1])
                digest = _hash(seq, prev, now, step, source, dest)
                conn.execute(insert_event, _event_row(seq, step, now, source, dest, empty, prev, digest))
                conn.execute(update_head, (seq, digest))
                conn.commit()
                state.commit(step, dest, int(row[0]))
        return timing
