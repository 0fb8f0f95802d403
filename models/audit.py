"""The append-only, hash-chained audit trail.

Each event's hash covers its content and the previous event's hash, so an edited, deleted or reordered event
breaks the chain at that point; the head row (newest seq and hash) catches events cut off the end. Someone who
can write to the database can still cut and reset the head, or re-hash after an edit: the anchors of
:mod:`govflow.models.anchor`, kept outside the database, catch that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlmodel import Session

from govflow.models.tables import AuditEvent, AuditHead
from govflow.models.types import utcnow

GENESIS = "0" * 64
_COLS = AuditEvent.__table__.c  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditRecord:
    kind: str
    outcome: str
    action: str
    actor: str
    role: str
    occurred_at: datetime
    project_code: str | None = None
    from_phase: str | None = None
    to_phase: str | None = None
    reasons: Sequence[dict[str, Any]] = ()
    note: str | None = None
    clauses: Sequence[str] = field(default_factory=tuple)


def _canonical(seq: int, prev: str, recorded_at: datetime, r: dict[str, Any]) -> bytes:
    body = {
        "seq": seq,
        "prev": prev,
        "kind": r["kind"],
        "outcome": r["outcome"],
        "project": r["project_code"],
        "action": r["action"],
        "actor": r["actor"],
        "role": r["role"],
        "occurred_at": r["occurred_at"].isoformat(),
        "recorded_at": recorded_at.isoformat(),
        "from": r["from_phase"],
        "to": r["to_phase"],
        "reasons": r["reasons"],
        "clauses": r["clauses"],
        "note": r["note"],
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def event_hash(seq: int, prev: str, recorded_at: datetime, row: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(seq, prev, recorded_at, row)).hexdigest()


_HEAD_FOR_UPDATE = select(_HEAD.seq, _HEAD.hash).where(_HEAD.id == 1).with_for_update()
_INSERT_EVENTS = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_MOVE_HEAD = (
    update(AuditHead.__table__)  # type: ignore[attr-defined]
    .where(_HEAD.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def append(session: Session, records: Sequence[AuditRecord]) -> int:
    """Append events to the chain inside the caller's transaction; returns the last seq written.

    The head row is locked (``FOR UPDATE`` on PostgreSQL; SQLite's write transaction is already exclusive),
    so concurrent writers extend the chain one after another instead of forking it.
    """
    head = session.execute(_HEAD_FOR_UPDATE).first()
    if head is None:
        session.execute(insert(AuditHead.__table__).values(id=1, seq=0, hash=GENESIS))  # type: ignore[attr-defined]
        seq, prev = 0, GENESIS
    else:
        seq, prev = int(head[0]), str(head[1])
    now = utcnow()
    rows = []
    for rec in records:
        seq += 1
        row: dict[str, Any] = {
            "kind": rec.kind,
            "outcome": rec.outcome,
            "project_code": rec.project_code,
            "action": rec.action,
            "actor": rec.actor,
            "role": rec.role,
            # hashed as stored: the database keeps UTC, so a +08:00 reading must be normalised first
            "occurred_at": rec.occurred_at.astimezone(UTC),
            "from_phase": rec.from_phase,
            "to_phase": rec.to_phase,
            "reasons": list(rec.reasons),
            "clauses": list(rec.clauses) or sorted({str(r["clause"]) for r in rec.reasons}),
            "note": rec.note,
        }
        h = event_hash(seq, prev, now, row)
        rows.append({**row, "seq": seq, "recorded_at": now, "prev_hash": prev, "hash": h})
        prev = h
    if rows:
        session.execute(_INSERT_EVENTS, rows)
        session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return seq


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None
    problem_en: str | None = None
    #: anchors the chain was held to (:mod:`govflow.models.anchor`), and the newest one's position and time
    anchors: int = 0
    anchor_seq: int | None = None
    anchor_at: datetime | None = None


def current_head(session: Session) -> tuple[int, str]:
    """The chain's length and head hash as the head row records them (an empty chain: 0 and the genesis hash)."""
    row = session.execute(select(_HEAD.seq, _HEAD.hash).where(_HEAD.id == 1)).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def hashes_at(session: Session, seqs: Iterable[int], batch: int = 1000) -> dict[int, str]:
    """The stored hash of the events at the given positions."""
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), batch):
        part = wanted[i : i + batch]
        rows = session.execute(select(_COLS.seq, _COLS.hash).where(_COLS.seq.in_(part))).all()
        found.update((int(r[0]), str(r[1])) for r in rows)
    return found


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in seq order and name the first event that does not fit it.

    The head is read first and the chain walked up to it: an append commits its events with the head's move, so
    every event up to a committed head is there, and events a writer appends meanwhile (beyond that head) are
    not mistaken for a head that was set back — a head that still reads the same after they were seen was."""
    head_seq, head_hash = current_head(session)
    prev, expected_seq, checked, last_id = GENESIS, 1, 0, None
    cols = [_COLS[n] for n in ("id", "seq", "prev_hash", "hash", "recorded_at", *_HASHED)]
    after = 0
    while True:
        upto = and_(_COLS.seq > after, _COLS.seq <= head_seq)
        chunk = session.execute(select(*cols).where(upto).order_by(_COLS.seq).limit(batch)).all()
        if not chunk:
            break
        for r in chunk:
            m = r._mapping
            seq = int(m["seq"])
            if seq != expected_seq:
                return ChainReport(
                    False,
                    checked,
                    expected_seq,
                    None,
                    f"缺少第 {expected_seq} 号审计事件（下一条为第 {seq} 号）：事件被删除",
                    f"audit event #{expected_seq} is missing (next is #{seq}): an event was deleted",
                )
            row = {n: m[n] for n in _HASHED}
            if m["prev_hash"] != prev or event_hash(seq, prev, m["recorded_at"], row) != m["hash"]:
                return ChainReport(
                    False,
                    checked,
                    seq,
                    int(m["id"]),
                    f"第 {seq} 号审计事件（id {m['id']}）与审计链不符：内容被修改或顺序被调换",
                    f"audit event #{seq} (id {m['id']}) does not fit the chain: edited or reordered",
                )
            prev, expected_seq, checked, last_id = str(m["hash"]), seq + 1, checked + 1, int(m["id"])
            after = seq
    beyond = session.execute(select(func.max(_COLS.seq)).where(_COLS.seq > head_seq)).scalar()
    if beyond is not None and current_head(session) != (head_seq, head_hash):
        beyond = None  # a writer appended meanwhile: its events belong to a newer head
    if head_seq != checked or head_hash != prev or beyond is not None:
        ends = checked if beyond is None else int(beyond)
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else head_seq,
            last_id,
            f"审计链末端与链首记录不符（记录到第 {head_seq} 号，实有 {ends} 条）：末尾事件被删除或链首被篡改",
            f"the chain ends at #{ends} but its head says #{head_seq}: events were cut off or the head was edited",
        )
    return ChainReport(True, checked)


_HASHED = (
    "kind",
    "outcome",
    "project_code",
    "action",
    "actor",
    "role",
    "occurred_at",
    "from_phase",
    "to_phase",
    "reasons",
    "clauses",
    "note",
)
