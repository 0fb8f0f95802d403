"""Stored governance policies: exactly one active version; the packaged default seeds a new database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from govflow.models.tables import PolicyVersion
from govflow.models.types import utcnow
from govflow.states.policy import Policy, default_policy

POLICY = PolicyVersion.__table__  # type: ignore[attr-defined]


def active_policy(session: Session) -> Policy:
    """The policy in force; on a new database the packaged default is recorded and activated first."""
    row = session.execute(select(POLICY.c.content).where(POLICY.c.active.is_(True))).first()
    if row is not None:
        return Policy.model_validate(row[0])
    policy = default_policy()
    # Two first runs may seed at once (PostgreSQL): the loser's insert is skipped and it reads the winner's row.
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(POLICY)
    session.execute(
        ins.values(
            version=policy.version,
            digest=policy.digest(),
            content=policy.model_dump(mode="json"),
            active=True,
            activated_at=utcnow(),
            activated_by="system",
        ).on_conflict_do_nothing(index_elements=["version"])
    )
    row = session.execute(select(POLICY.c.content).where(POLICY.c.active.is_(True))).first()
    return Policy.model_validate(row[0]) if row is not None else policy


def store_policy(session: Session, policy: Policy, actor: str, now: datetime) -> None:
    """Record ``policy`` as a new version and make it the only active one."""
    session.execute(update(POLICY).where(POLICY.c.active.is_(True)).values(active=False))
    session.execute(
        insert(POLICY).values(
            version=policy.version,
            digest=policy.digest(),
            content=policy.model_dump(mode="json"),
            active=True,
            activated_at=now,
            activated_by=actor,
        )
    )
