"""Writing to the notification outbox, inside the caller's transaction (STYLE habit 4: no I/O in use cases).

A message key is unique: enqueueing the same key twice keeps the first message, which makes every producer
idempotent (a rerun of a flow for the same ``as_of`` notifies nobody twice).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from govflow.models.facts import t
from govflow.models.tables import OutboxMessage
from govflow.models.types import utcnow
from govflow.states.errors import CalendarDataMissing
from govflow.states.permissions import Role

OUTBOX = t(OutboxMessage)
#: INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, built once: [SQLite, PostgreSQL]
_INSERT = tuple(
    ins(OUTBOX).on_conflict_do_nothing(index_elements=["key"]).returning(OUTBOX.c.id)
    for ins in (sqlite.insert, postgresql.insert)
)


def enqueue(
    session: Session,
    key: str,
    topic: str,
    role: str,
    payload: dict[str, Any],
    *,
    project_code: str | None = None,
) -> bool:
    """Add one message for ``role``; returns False when a message with this key already exists."""
    return enqueue_many(session, [(key, topic, role, payload, project_code)]) == 1


def enqueue_many(session: Session, messages: list[tuple[str, str, str, dict[str, Any], str | None]]) -> int:
    """Add many messages in one statement, skipping keys already present; returns how many were new."""
    if not messages:
        return 0
    now = utcnow()
    rows = [
        {
            "key": key,
            "topic": topic,
            "recipients_role": role,
            "payload": payload,
            "project_code": project_code,
            "created_at": now,
            "status": "pending",
            "attempts": 0,
        }
        for key, topic, role, payload, project_code in messages
    ]
    result = session.execute(_INSERT[session.get_bind().dialect.name == "postgresql"], rows)
    return len(result.all())


def calendar_alarm(
    session: Session,
    exc: CalendarDataMissing,
    *,
    flow: str,
    as_of: date | None,
    now: datetime,
    what: tuple[str, str] = ("整改期限待定", "rectification deadlines pending"),
) -> bool:
    """Tell the administrator that the calendar lacks a year, once per year (``alarm/calendar/{year}``), in the
    caller's transaction: the orders left pending (期限待定) and their alarm are written together. False if the
    year's alarm was written before."""
    year = str(exc.year)  # the payload has always carried the year as text
    return enqueue(
        session,
        f"alarm/calendar/{year}",
        "alarm.calendar",
        Role.ADMIN.value,
        {
            "year": year,
            "flow": flow,
            "as_of": as_of.isoformat() if as_of is not None else None,
            "error": exc.code,
            "clause": "733号文 第十一条",
            "message": f"{what[0]}：{exc.message}",
            "message_en": f"{what[1]}: {exc.message_en}",
            "raised_at": now.isoformat(),
        },
    )
