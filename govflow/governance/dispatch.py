"""Notification dispatch (SPEC §4.4): the outbox, delivered at least once and never again once delivered.

Life of an outbox row::

    pending ──claim──▶ sending      (lease: next_attempt_at = claim time + lease_seconds)
       ▲                 ├─ every channel accepted ──▶ delivered (delivered_at) — final: never claimed again
       │ backoff         ├─ a channel refused ───────▶ pending, attempts + 1,
       └─────────────────┤                               next_attempt_at = now + min(base · 2^(attempts before), max)
                         │                             or ``failed`` when attempts reach max_attempts
                         ├─ no channel for the role ─▶ skipped (last_error ``no_channel: …``)
                         └─ lease expired (the sender died or hung) ─▶ claimed again, counted as an attempt

``failed`` and ``skipped`` rows stay visible (``govflow notify status``) and go back to ``pending`` only when an
operator says so (``govflow notify retry``): a skipped row is not retried on its own because nothing would
change until somebody configures a channel, and silently retrying it forever would hide that.

Concurrency and crashes. Claiming is one short write transaction (SQLite: ``BEGIN IMMEDIATE`` serializes it;
PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so two dispatchers never hold the same row. Sending happens outside
any transaction. The outcome is written only while the row is still this sender's claim (status ``sending``
and the attempts count it claimed: the fence); ``delivered`` is the exception, always recorded because it is
true. What a crash can do:

* crash before or during the claim transaction: nothing happened, the row is still due;
* crash after the claim, before the send: the lease expires, the row is claimed again (one attempt counted);
* crash after a channel accepted, before ``delivered`` was written: the lease expires and the message is sent
  again — this is the "at least once". The window is one send (bounded by ``timeout_seconds``), and a
  dispatcher never starts a send its lease would not cover;
* once ``delivered`` is committed the row is never claimed again: never twice.

A message with several channels is sent channel by channel; channels that accepted an attempt that failed
elsewhere are remembered in the payload (``_dispatch.delivered``: channel fingerprints, never URLs) and left
out of later attempts, so a partial outage does not notify the working channels twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlmodel import Session

from govflow.governance.flowruns import recorded_run
from govflow.lifecycle.services import App, authorize, get_actor, use_case
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import OutboxMessage, Project
from govflow.notifications import templates
from govflow.notifications.base import DeliveryFailed, Notifier, channel_id, mask_url, scrub
from govflow.notifications.config import NotifyConfig, load_config
from govflow.reads import governed, secrecy
from govflow.settings import Settings
from govflow.states.errors import NotFound, RuleRefused, UsageError
from govflow.states.permissions import Role
from govflow.states.verdict import Reason
from govflow.states.vocabulary import OutboxStatus, word

log = logging.getLogger(__name__)

OUTBOX = t(OutboxMessage)
PENDING, SENDING, DELIVERED, FAILED, SKIPPED = "pending", "sending", "delivered", "failed", "skipped"
STATUSES = (PENDING, SENDING, DELIVERED, FAILED, SKIPPED)
#: messages claimed per transaction: small, so that a claim never outlives its lease while it waits its turn
BATCH = 20
#: the dispatcher's own bookkeeping inside a payload (templates do not show ``_`` keys)
INTERNAL = "_dispatch"
OUTBOX_CLAUSE = "govflow 通知发件箱"


@dataclass(frozen=True)
class DispatchResult:
    """What one dispatch run did (``govflow run dispatch --json``)."""

    configured: bool
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0  # failed attempt, back to pending with backoff
    failed: int = 0  # gave up after max_attempts (operator: notify retry)
    skipped: int = 0  # no channel configured for the role
    reclaimed: int = 0  # taken over after an expired lease (a sender died mid-send)
    released: int = 0  # handed back unsent: the lease would have run out during the send
    lease_lost: int = 0  # another dispatcher owns the row now; this one wrote nothing
    duplicates: int = 0  # delivered although another dispatcher had already delivered it
    waiting: int = 0  # due messages left pending because no channel file is configured

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Claim:
    id: int
    key: str
    topic: str
    role: str
    project: str | None
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime
    department: str | None
    #: 第二条第三款: the payload and key as this recipient may read them (None: the stored ones), and whether the
    #: message is about a secret item the recipient department may not see at all (then it is not sent)
    shown: dict[str, Any] | None = None
    shown_key: str | None = None
    withheld: bool = False


# ---------------------------------------------------------------------------------------------- config


def load_notify_config(settings: Settings) -> NotifyConfig | None:
    """The channel file named by ``GOVFLOW_NOTIFY_FILE``; None when there is none (nothing is sent)."""
    return None if settings.notify_file is None else load_config(settings.notify_file)


def default_notifier(settings: Settings) -> Notifier:
    """The production notifier (apprise) for the configured channels; refuses URLs apprise cannot use."""
    from govflow.notifications.apprise_notifier import (
        AppriseNotifier,  # apprise loads only when something is sent
    )

    config = load_notify_config(settings)
    return AppriseNotifier() if config is None else AppriseNotifier.from_config(config)


# ---------------------------------------------------------------------------------------------- dispatch


def run_dispatch(
    app: App,
    notifier: Notifier,
    now: datetime | None = None,
    limit: int | None = None,
    prefect_flow_run_id: str | None = None,
) -> DispatchResult:
    """Send what is due (at ``now``, default the app clock), at most ``limit`` messages; recorded as a flow run."""
    if now is not None and now.tzinfo is None:
        raise UsageError("now 须带时区", "now needs a timezone")
    if limit is not None and limit < 1:
        raise UsageError("limit 须为正整数", "limit must be a positive integer")
    clock: Callable[[], datetime] = (lambda: now) if now is not None else app.clock
    with recorded_run(app, "dispatch", None, prefect_flow_run_id) as stats:
        config = load_notify_config(app.settings)
        if config is None:
            result = _unconfigured(app, clock())
        else:
            result = _dispatch(app, notifier, config, clock, limit)
        stats.update(result.to_dict())
    return result


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            OUTBOX.c.status == PENDING,
            or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now),
        ),
        and_(OUTBOX.c.status == SENDING, OUTBOX.c.next_attempt_at <= now),
    )


def _unconfigured(app: App, now: datetime) -> DispatchResult:
    with unit_of_work(app.engine, write=False) as s:
        n = int(s.execute(select(func.count()).select_from(OUTBOX).where(_due(now))).scalar_one())
    if n:
        log.warning(
            "未配置通知渠道文件（GOVFLOW_NOTIFY_FILE）：%d 条到期消息保持待发送，未标记为已送达 / "
            "no notification channel file (GOVFLOW_NOTIFY_FILE): %d due messages stay pending",
            n,
            n,
        )
    return DispatchResult(configured=False, waiting=n)


def _dispatch(
    app: App, notifier: Notifier, config: NotifyConfig, clock: Callable[[], datetime], limit: int | None
) -> DispatchResult:
    counts: Counter[str] = Counter()
    seen: set[int] = set()  # each row at most once per run, even when its backoff is zero
    while limit is None or counts["claimed"] < limit:
        size = BATCH if limit is None else min(BATCH, limit - counts["claimed"])
        claims, gave_up, reclaimed = _claim(app, config, clock(), size, seen)
        counts["failed"] += gave_up
        counts["reclaimed"] += reclaimed
        if not claims and not gave_up:
            break
        for c in claims:
            counts["claimed"] += 1
            counts[_deliver(app, notifier, config, c, clock)] += 1
    return DispatchResult(
        configured=True,
        claimed=counts["claimed"],
        delivered=counts["delivered"],
        retrying=counts["retrying"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        reclaimed=counts["reclaimed"],
        released=counts["released"],
        lease_lost=counts["lease_lost"],
        duplicates=counts["duplicates"],
    )


def _claim(
    app: App, config: NotifyConfig, now: datetime, size: int, seen: set[int]
) -> tuple[list[_Claim], int, int]:
    """Take up to ``size`` due rows in one short transaction: (claims, rows given up, expired leases taken)."""
    lease_until = now + timedelta(seconds=config.lease_seconds)
    claims: list[_Claim] = []
    gave_up = reclaimed = 0
    with unit_of_work(app.engine) as s:
        q = (
            select(
                OUTBOX.c.id,
                OUTBOX.c.key,
                OUTBOX.c.topic,
                OUTBOX.c.recipients_role,
                OUTBOX.c.project_code,
                OUTBOX.c.payload,
                OUTBOX.c.status,
                OUTBOX.c.attempts,
            )
            .where(_due(now))
            .order_by(OUTBOX.c.id)
            .limit(size)
        )
        if seen:
            q = q.where(OUTBOX.c.id.not_in(seen))
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = s.execute(q).all()
        for r in rows:
            seen.add(int(r.id))
            attempts, values = int(r.attempts), {"status": SENDING, "next_attempt_at": lease_until}
            if r.status == SENDING:  # its sender vanished mid-send: that was an attempt, maybe a delivery
                attempts += 1
                reclaimed += 1
                values["last_error"] = (
                    "租约过期：上次发送未完成（进程中断？），可能已送达 / lease expired mid-send"
                )
                if attempts >= config.retry.max_attempts:
                    values = {**values, "status": FAILED, "next_attempt_at": None}
            fence = and_(OUTBOX.c.id == r.id, OUTBOX.c.status == r.status, OUTBOX.c.attempts == r.attempts)
            res = s.execute(
                update(OUTBOX).where(fence).values(attempts=attempts, **values).returning(OUTBOX.c.id)
            )
            if res.first() is None:
                continue
            if values["status"] == FAILED:
                gave_up += 1
                continue
            payload = dict(r.payload or {})
            claims.append(
                _Claim(
                    int(r.id),
                    str(r.key),
                    str(r.topic),
                    str(r.recipients_role),
                    r.project_code,
                    payload,
                    attempts,
                    lease_until,
                    str(payload["department"]) if payload.get("department") else None,
                )
            )
        claims = _seen_by_recipients(s, _with_lead_departments(s, claims))
    return claims, gave_up, reclaimed


def _with_lead_departments(s: Session, claims: list[_Claim]) -> list[_Claim]:
    """A department message without ``department`` in its payload goes to its project's lead department."""
    missing = {
        c.project for c in claims if c.role == Role.DEPARTMENT.value and not c.department and c.project
    }
    if not missing:
        return claims
    p = t(Project)
    q = (
        select(p.c.code, DEPT.c.code)
        .join(DEPT, DEPT.c.id == p.c.lead_department_id)
        .where(p.c.code.in_(missing))
    )
    lead = {str(code): str(dept) for code, dept in s.execute(q)}
    return [
        _replace_department(c, lead.get(c.project or ""))
        if c.role == Role.DEPARTMENT.value and not c.department
        else c
        for c in claims
    ]


def _seen_by_recipients(s: Session, claims: list[_Claim]) -> list[_Claim]:
    """Each message as its recipient may read it, or withheld (第二条第三款): :func:`governed.notices_for`."""
    shown = governed.notices_for(
        s,
        [
            governed.Addressed(
                c.id,
                c.role,
                c.department,
                c.project,
                c.key,
                {k: v for k, v in c.payload.items() if k != INTERNAL},
            )
            for c in claims
        ],
    )
    return [
        c if n is None else replace(c, shown=n.payload, shown_key=n.key, withheld=n.withheld)
        for c, n in zip(claims, shown, strict=True)
    ]


def _replace_department(c: _Claim, department: str | None) -> _Claim:
    return replace(c, department=department)


def _deliver(
    app: App, notifier: Notifier, config: NotifyConfig, c: _Claim, clock: Callable[[], datetime]
) -> str:
    """Send one claimed row and write its outcome; returns the name of the counter it adds to."""
    if c.withheld:
        return _withhold(app, c)
    channels = config.channels_for(c.role, c.department)
    if not channels:
        return _skip(app, c)
    internal = c.payload.get(INTERNAL)
    done = set(internal.get("delivered", [])) if isinstance(internal, dict) else set()
    todo = [u for u in channels if channel_id(u) not in done]
    if todo:
        if clock() + timedelta(seconds=config.timeout_seconds * len(todo)) >= c.lease_until:
            return _release(app, c)
        if not _still_ours(app, c):
            return "lease_lost"
        message = templates.notice(
            c.shown_key or c.key,
            c.topic,
            c.role,
            c.shown if c.shown is not None else {k: v for k, v in c.payload.items() if k != INTERNAL},
            project=c.project,
            lang=config.lang,
        )
        try:
            notifier.send(message, todo)
        except DeliveryFailed as exc:
            accepted = {channel_id(u) for u in exc.delivered if u in todo}
            return _failed_attempt(app, config, c, clock(), exc.reason, done | accepted)
        except Exception as exc:  # a notifier bug must not lose the message either
            log.exception("notifier raised while sending %s", c.key)
            return _failed_attempt(app, config, c, clock(), scrub(f"{type(exc).__name__}: {exc}"), done)
    return _delivered(app, c, clock())


def _write(app: App, cond: ColumnElement[bool], values: dict[str, Any]) -> bool:
    with unit_of_work(app.engine) as s:
        return (
            s.execute(update(OUTBOX).where(cond).values(**values).returning(OUTBOX.c.id)).first() is not None
        )


def _fence(c: _Claim) -> ColumnElement[bool]:
    return and_(OUTBOX.c.id == c.id, OUTBOX.c.status == SENDING, OUTBOX.c.attempts == c.attempts)


def _still_ours(app: App, c: _Claim) -> bool:
    with unit_of_work(app.engine, write=False) as s:
        row = s.execute(select(OUTBOX.c.status, OUTBOX.c.attempts).where(OUTBOX.c.id == c.id)).first()
    return row is not None and row.status == SENDING and int(row.attempts) == c.attempts


def _delivered(app: App, c: _Claim, now: datetime) -> str:
    # Not fenced: the message did reach every channel, whoever owns the row now. Only a row that is already
    # delivered is left alone — which means another dispatcher delivered it too (its lease had expired).
    cond = and_(OUTBOX.c.id == c.id, OUTBOX.c.status != DELIVERED)
    if _write(app, cond, {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None}):
        return "delivered"
    log.warning("outbox %s was delivered by another dispatcher as well (its lease had expired)", c.key)
    return "duplicates"


def _failed_attempt(
    app: App, config: NotifyConfig, c: _Claim, now: datetime, reason: str, done: set[str]
) -> str:
    attempts = c.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_error": reason[:2000]}
    if done:
        values["payload"] = {**c.payload, INTERNAL: {"delivered": sorted(done)}}
    if attempts >= config.retry.max_attempts:
        values.update(status=FAILED, next_attempt_at=None)
        outcome = "failed"
        log.error("outbox %s failed after %d attempts: %s", c.key, attempts, reason)
    else:
        delay = timedelta(seconds=config.retry.delay(c.attempts))
        values.update(status=PENDING, next_attempt_at=now + delay)
        outcome = "retrying"
        log.warning("outbox %s attempt %d failed, next in %s: %s", c.key, attempts, delay, reason)
    return outcome if _write(app, _fence(c), values) else "lease_lost"


def _skip(app: App, c: _Claim) -> str:
    where = f"{c.role}.{c.department}" if c.role == Role.DEPARTMENT.value and c.department else c.role
    label = Role(c.role).label() if c.role in {r.value for r in Role} else c.role
    reason = f"no_channel: 角色「{label}」（{where}）未配置通知渠道 / no channel configured for {where}"
    values = {"status": SKIPPED, "next_attempt_at": None, "last_error": reason}
    return "skipped" if _write(app, _fence(c), values) else "lease_lost"


def _withhold(app: App, c: _Claim) -> str:
    """A message about a secret item its department may not see is not sent (第二条第三款); it stays visible to
    operators as skipped, and a retry withholds it again."""
    reason = (
        f"withheld: 收件部门不在涉密目录条目的知悉范围内（{secrecy.SECRET_CLAUSE}） / recipient not entitled"
    )
    values = {"status": SKIPPED, "next_attempt_at": None, "last_error": reason}
    return "skipped" if _write(app, _fence(c), values) else "lease_lost"


def _release(app: App, c: _Claim) -> str:
    """Hand a row back unsent (no attempt counted) when its lease would not cover the send."""
    return (
        "released" if _write(app, _fence(c), {"status": PENDING, "next_attempt_at": None}) else "lease_lost"
    )


# ---------------------------------------------------------------------------------------------- operators


@use_case
def outbox_status(app: App, actor_name: str | None = None) -> dict[str, Any]:
    """Counts by status and by topic, the oldest message still waiting, and the latest failed or skipped."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "notify.admin")
        counts = {st: 0 for st in STATUSES}
        for st, n in s.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)):
            counts[str(st)] = int(n)
        topics: dict[str, dict[str, int]] = {}
        q = select(OUTBOX.c.topic, OUTBOX.c.status, func.count()).group_by(OUTBOX.c.topic, OUTBOX.c.status)
        for topic, st, n in s.execute(q):
            topics.setdefault(str(topic), {})[str(st)] = int(n)
        cols = (
            OUTBOX.c.key,
            OUTBOX.c.topic,
            OUTBOX.c.recipients_role.label("role"),
            OUTBOX.c.status,
            OUTBOX.c.attempts,
            OUTBOX.c.created_at,
            OUTBOX.c.next_attempt_at,
            OUTBOX.c.last_error,
            OUTBOX.c.project_code.label("project"),
        )
        waiting = OUTBOX.c.status.in_([PENDING, SENDING])
        oldest = s.execute(
            select(*cols).where(waiting).order_by(OUTBOX.c.created_at, OUTBOX.c.id).limit(1)
        ).first()
        problems = s.execute(
            select(*cols).where(OUTBOX.c.status.in_([FAILED, SKIPPED])).order_by(OUTBOX.c.id.desc()).limit(20)
        ).all()
        # 第二条第三款: a key or error naming a secret item is masked for the operator
        rows = governed.outbox_rows(
            s, actor, [dict(r._mapping) for r in (oldest, *problems) if r is not None]
        )
    return {
        "configured": app.settings.notify_file is not None,
        "total": sum(counts.values()),
        "counts": counts,
        "topics": [
            {"topic": k, "total": sum(v.values()), **{st: v.get(st, 0) for st in STATUSES}}
            for k, v in sorted(topics.items())
        ],
        "oldest_pending": rows[0] if oldest is not None else None,
        "problems": rows[1:] if oldest is not None else rows,
    }


@use_case
def retry_messages(
    app: App,
    actor_name: str | None = None,
    *,
    key: str | None = None,
    all_failed: bool = False,
    all_skipped: bool = False,
) -> list[str]:
    """Put failed (or skipped) messages back to pending with a fresh attempt budget; returns their keys."""
    if sum([key is not None, all_failed, all_skipped]) != 1:
        raise UsageError(
            "须且只能指定 --key、--all-failed、--all-skipped 之一",
            "give exactly one of --key, --all-failed, --all-skipped",
        )
    retryable = OUTBOX.c.status.in_([FAILED, SKIPPED])
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "notify.admin")
        if key is not None:
            status = s.execute(select(OUTBOX.c.status).where(OUTBOX.c.key == key)).scalar()
            if status is None:
                raise NotFound(f"通知消息 {key} 不存在", f"outbox message {key} does not exist")
            if status not in (FAILED, SKIPPED):
                raise RuleRefused([_not_retryable(key, str(status))])
            cond = OUTBOX.c.key == key
        else:
            cond = OUTBOX.c.status == (FAILED if all_failed else SKIPPED)
        res = s.execute(
            update(OUTBOX)
            .where(cond, retryable)
            .values(status=PENDING, attempts=0, next_attempt_at=None)
            .returning(OUTBOX.c.key)
        )
        keys = sorted(str(k) for k in res.scalars())
        if keys:
            shown = "、".join(keys[:20]) + (f" 等 {len(keys)} 条" if len(keys) > 20 else "")
            _audit(
                s,
                app,
                actor.name,
                actor.role.value,
                "notify.retry",
                "recorded",
                f"重新发送 {len(keys)} 条：{shown}",
            )
    return keys


def _not_retryable(key: str, status: str) -> Reason:
    return Reason(
        "NOT_RETRYABLE",
        OUTBOX_CLAUSE,
        f"消息 {key} 的状态为「{word(OutboxStatus, status)}」，只有发送失败或无渠道跳过的消息可以重新发送"
        + ("（已送达的消息不再重复发送）" if status == DELIVERED else ""),
        f"message {key} is {status}; only failed or skipped messages can be retried"
        + (" (a delivered message is never sent twice)" if status == DELIVERED else ""),
    )


@dataclass(frozen=True)
class ChannelTest:
    role: str
    department: str | None
    channels: tuple[str, ...]  # masked
    delivered: tuple[str, ...]  # masked
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@use_case
def send_test(
    app: App, notifier: Notifier, role: str, actor_name: str | None = None, *, department: str | None = None
) -> ChannelTest:
    """Send a test notice straight to a role's configured channels (not through the outbox) and audit it."""
    try:
        r = Role(role)
    except ValueError as exc:
        roles = "、".join(x.value for x in Role)
        raise UsageError(f"角色 {role} 无效；可选：{roles}", f"invalid role {role}") from exc
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "notify.admin")
    config = load_notify_config(app.settings)
    if config is None:
        raise UsageError(
            "未配置通知渠道文件：请设置 GOVFLOW_NOTIFY_FILE（示例见 govflow/data/notify.example.yaml）",
            "no notification channel file: set GOVFLOW_NOTIFY_FILE (see govflow/data/notify.example.yaml)",
        )
    channels = config.channels_for(r.value, department)
    if not channels:
        raise UsageError(
            f"角色「{r.label()}」{('（部门 ' + department + '）') if department else ''}未配置通知渠道（{config.source}）",
            f"no channel configured for {r.value}{(' / ' + department) if department else ''} in {config.source}",
        )
    now = app.clock()
    message = templates.notice(
        f"test/{r.value}/{now:%Y%m%dT%H%M%S}",
        "test",
        r.value,
        {"sent_by": actor.name, "at": now.isoformat(timespec="seconds")},
        lang=config.lang,
    )
    error, delivered = None, tuple(channels)
    try:
        notifier.send(message, channels)
    except DeliveryFailed as exc:
        error, delivered = exc.reason, exc.delivered
    masked = tuple(mask_url(u) for u in channels)
    result = ChannelTest(r.value, department, masked, tuple(mask_url(u) for u in delivered), error)
    with unit_of_work(app.engine) as s:
        note = f"测试通知 → {r.value}{'/' + department if department else ''}：{len(delivered)}/{len(channels)} 个渠道送达"
        _audit(
            s, app, actor.name, actor.role.value, "notify.test", "recorded" if result.ok else "failed", note
        )
    return result


def _audit(s: Session, app: App, actor: str, role: str, action: str, outcome: str, note: str) -> None:
    audit.append(
        s,
        [
            AuditRecord(
                kind="data",
                outcome=outcome,
                action=action,
                actor=actor,
                role=role,
                occurred_at=app.clock(),
                note=note,
            )
        ],
    )
