"""What the scheduled runs (sweep, deadlines, cuts) share: the audit record a run writes as the system."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from govflow.models.audit import AuditRecord
from govflow.states.findings import SYSTEM_ROLE


def system_record(
    action: str,
    actor: str,
    at: datetime,
    note: str,
    *,
    kind: str = "decision",
    project_code: str | None = None,
    reasons: Sequence[dict[str, Any]] = (),
    clauses: Sequence[str] = (),
) -> AuditRecord:
    """An audit record of a step a scheduled run took (``outcome`` recorded, role ``system``)."""
    return AuditRecord(
        kind=kind,
        outcome="recorded",
        action=action,
        actor=actor,
        role=SYSTEM_ROLE,
        occurred_at=at,
        project_code=project_code,
        reasons=list(reasons),
        note=note,
        clauses=list(clauses),
    )
