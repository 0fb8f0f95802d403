"""Signing in: passwords (argon2 through pwdlib) for people, API tokens for machines.

Passwords are hashed with argon2id (``pwdlib``), and a hash made with weaker parameters than the current ones is
upgraded at the next successful sign-in. An API token is 256 random bits shown once; only its SHA-256 is kept
(``app_user.token_hash``, indexed), which is enough for a value nobody can guess and lets a request find its user
in one indexed lookup. A user has at most one token: issuing a new one revokes the old.

Sign-ins, failed sign-ins, password changes, token issues and (de)activations are security events in the audit
trail. Password rules follow GB/T 22239-2019 (等级保护 2.0) 8.1.4.1 a): 口令具有复杂度要求; deactivating an account
that is no longer needed is its 8.1.4.2 c): 应及时删除或停用多余的、过期的账户.

A deactivated user can do nothing from the next request on: sign-in, the API token and every open session are
checked against ``app_user.active`` on each request (:func:`authenticate`, :func:`actor_for_token`,
:func:`actor_for_session`, ``services.get_actor``), and deactivation also revokes the API token, so that
reactivating an account never brings an old token back to life. A session cookie is bound to the password and to
the user's session epoch (its fingerprint); deactivation raises the epoch, so a session issued before it never
holds again, not even after reactivation.

Sessions are kept on the server (``user_session``): the cookie carries a random key whose SHA-256 is stored with
the session's expiry. Signing out ends that session (a copied cookie is refused from then on); "sign out
everywhere" (:func:`end_sessions`), a password change and a deactivation end every session of the user. A
session holds while its row is live *and* its fingerprint matches, so either mechanism alone ends it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from govflow.access.tokens import TOKEN_PREFIX, USER_BY_TOKEN, USER_COLUMNS, ApiToken, hash_token
from govflow.access.tokens import (
    Unauthenticated as Unauthenticated,  # callers know it as auth.Unauthenticated
)
from govflow.lifecycle.services import Actor, App, authorize, get_actor, use_case
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import AppUser, AuditEvent, UserSession
from govflow.states.errors import GovflowError, NotFound, RuleRefused, UsageError
from govflow.states.permissions import Role
from govflow.states.verdict import Reason

USER = t(AppUser)
SESSION = t(UserSession)
SECURITY_CLAUSE = "GB/T 22239-2019 8.1.4.1"
ACCOUNT_CLAUSE = "GB/T 22239-2019 8.1.4.2"
#: the product's own rules on accounts (no standard says an administrator may not lock itself out)
ADMIN_RULE = "govflow 用户管理"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


#: GB/T 22239-2019 8.1.4.1 b) 限制非法登录次数: this many failed sign-ins of one name within the window lock it
#: for the rest of the window (counted from the audit trail, since the name's last successful sign-in)
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)


class SignInLocked(Unauthenticated):
    """Too many failed sign-ins of one name lately (HTTP 429). Said for any name, existing or not, so it tells
    nobody whether a user exists; the password is not even checked while it holds."""

    http_status = 429
    code = "SIGN_IN_LOCKED"

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = max(int(retry_after.total_seconds()), 1)
        minutes = -(-self.retry_after // 60)
        GovflowError.__init__(
            self,
            f"该用户名在 {LOCKOUT_WINDOW.seconds // 60} 分钟内连续登录失败 {LOCKOUT_FAILURES} 次，已暂时锁定，"
            f"请 {minutes} 分钟后再试（{SECURITY_CLAUSE} b 限制非法登录次数）",
            f"{LOCKOUT_FAILURES} failed sign-ins of this name within {LOCKOUT_WINDOW.seconds // 60} minutes: "
            f"locked for now, try again in {minutes} minutes ({SECURITY_CLAUSE} b)",
        )


_AE = t(AuditEvent)
_LAST_SIGN_IN = (
    select(func.max(_AE.c.occurred_at))
    .where(_AE.c.actor == bindparam("name"), _AE.c.action == "auth.login", _AE.c.outcome == "recorded")
    .scalar_subquery()
)
_RECENT_FAILURES = (
    select(_AE.c.occurred_at)
    .where(
        _AE.c.actor == bindparam("name"),
        _AE.c.action == "auth.login",
        _AE.c.outcome == "denied",
        _AE.c.occurred_at >= bindparam("since"),
        _AE.c.occurred_at > func.coalesce(_LAST_SIGN_IN, bindparam("since")),
    )
    .order_by(_AE.c.occurred_at.desc())
    .limit(LOCKOUT_FAILURES)
)


def _locked_for(s: Session, name: str, now: datetime) -> timedelta | None:
    """How much longer ``name`` stays locked (None: not locked)."""
    failures = s.execute(_RECENT_FAILURES, {"name": name[:64], "since": now - LOCKOUT_WINDOW}).scalars().all()
    if len(failures) < LOCKOUT_FAILURES:
        return None
    oldest: datetime = min(failures)
    return oldest + LOCKOUT_WINDOW - now


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    #: changes whenever the password changes, so that a session bound to it ends with the old password
    fingerprint: str
    display_name: str | None = None


def password_fingerprint(password_hash: str | None, epoch: int = 0) -> str:
    """What a session cookie is bound to: the password (a reset ends every session) and the session epoch (a
    deactivation ends every session, for good)."""
    return hashlib.sha256(f"{epoch}:{password_hash or ''}".encode()).hexdigest()[:32]


def password_reasons(name: str, password: str) -> list[Reason]:
    """Why ``password`` is too weak for ``name`` (none: acceptable)."""
    classes = sum(
        [
            any(c.islower() and c.isascii() for c in password),
            any(c.isupper() and c.isascii() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.isascii() and c.isalnum()) for c in password),
        ]
    )
    out: list[Reason] = []
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        out.append(
            Reason(
                "PASSWORD_LENGTH",
                SECURITY_CLAUSE,
                f"口令长度须为 {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} 个字符",
                f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
                path="password",
            )
        )
    if classes < 3:
        out.append(
            Reason(
                "PASSWORD_COMPLEXITY",
                SECURITY_CLAUSE,
                "口令须包含小写字母、大写字母、数字、其他字符中的至少三类",
                "a password needs three of: lower-case, upper-case, digits, other characters",
                path="password",
            )
        )
    if len(name) >= 3 and name.lower() in password.lower():
        out.append(
            Reason(
                "PASSWORD_CONTAINS_NAME",
                SECURITY_CLAUSE,
                "口令不得包含用户名",
                "a password may not contain the user name",
                path="password",
            )
        )
    return out


def _security(
    s: Session,
    app: App,
    *,
    action: str,
    outcome: str,
    actor: str,
    role: str,
    note: str | None = None,
    clause: str = SECURITY_CLAUSE,
) -> None:
    audit.append(
        s,
        [
            AuditRecord(
                kind="security",
                outcome=outcome,
                action=action,
                actor=actor[:64],
                role=role,
                occurred_at=app.clock(),
                note=note,
                clauses=[clause],
            )
        ],
    )


#: built once with bound parameters: every API request reads one of these (or carries the token's check in its
#: own statement, :mod:`govflow.access.tokens`)
_USER_BY_NAME = USER_COLUMNS.where(USER.c.name == bindparam("name"))


def _user_row(s: Session, name: str) -> dict[str, object] | None:
    r = s.execute(_USER_BY_NAME, {"name": name}).first()
    return dict(r._mapping) if r is not None else None


def _actor(row: dict[str, object]) -> Actor:
    dept_id = row["department_id"]
    return Actor(
        str(row["name"]),
        Role(str(row["role"])),
        str(row["department"]) if row["department"] is not None else None,
        int(str(dept_id)) if dept_id is not None else None,
    )


def authenticate(app: App, name: str, password: str) -> SignedIn:
    """The user behind a name and password, or :class:`Unauthenticated` (recorded as a failed sign-in).

    The slow hash is checked outside any transaction, so that a sign-in never holds SQLite's write lock.
    """
    now = app.clock()
    with unit_of_work(app.engine, write=False) as s:
        row = _user_row(s, name)
        locked = _locked_for(s, name, now)
    if locked is not None and locked.total_seconds() > 0:
        # recorded like any failed sign-in (so that trying on keeps the name locked); the password is not checked
        with unit_of_work(app.engine) as s:
            role = str(row["role"]) if row else "-"
            note = "登录失败次数过多，已暂时锁定"
            _security(s, app, action="auth.login", outcome="denied", actor=name, role=role, note=note)
        raise SignInLocked(locked)
    stored = str(row["password_hash"]) if row and row["password_hash"] else None
    if stored and len(password) <= MAX_PASSWORD_LENGTH:
        ok, new_hash = _hasher.verify_and_update(password, stored)
    else:
        _hasher.verify("x", _dummy_hash())  # as slow as a real check: timing does not tell who exists
        ok, new_hash = False, None
    with unit_of_work(app.engine) as s:
        if row is None or stored is None or not ok or not row["active"]:
            role = str(row["role"]) if row else "-"
            note = "口令错误、用户不存在、已停用或未设置口令"
            _security(s, app, action="auth.login", outcome="denied", actor=name, role=role, note=note)
        else:
            if new_hash is not None:  # hashed with weaker parameters than today's: upgrade it
                s.execute(update(USER).where(USER.c.id == row["id"]).values(password_hash=new_hash))
                stored = new_hash
            _security(s, app, action="auth.login", outcome="recorded", actor=name, role=str(row["role"]))
            display = row["display_name"]
            fingerprint = password_fingerprint(stored, int(str(row["session_epoch"])))
            return SignedIn(_actor(row), fingerprint, str(display) if display else None)
    raise Unauthenticated()


def actor_for_token(app: App, token: str) -> Actor:
    """The active user an API token belongs to, or :class:`Unauthenticated`."""
    return check_token(app, ApiToken.of(token))


def check_token(app: App, token: ApiToken) -> Actor:
    """The active user of a token whose form has been checked, or :class:`Unauthenticated`."""
    with unit_of_work(app.engine, write=False) as s:
        r = s.execute(USER_BY_TOKEN, token.binds()).first()
    if r is None:
        raise Unauthenticated()
    return _actor(dict(r._mapping))


def signed_in_as(app: App, name: str) -> SignedIn:
    """The sign-in of ``name`` as it stands now (its current fingerprint), for a new session of a browser that has
    just proved the user's password by changing it (:func:`set_password` with the current password)."""
    with unit_of_work(app.engine, write=False) as s:
        row = _user_row(s, name)
    if row is None or not row["active"] or not row["password_hash"]:
        raise Unauthenticated()
    display = row["display_name"]
    fingerprint = password_fingerprint(str(row["password_hash"]), int(str(row["session_epoch"])))
    return SignedIn(_actor(row), fingerprint, str(display) if display else None)


_LIVE_SESSION = select(SESSION.c.id).where(
    SESSION.c.key_hash == bindparam("key_hash"),
    SESSION.c.user_id == bindparam("user_id"),
    SESSION.c.ended_at.is_(None),
    SESSION.c.expires_at > bindparam("now"),
)


def start_session(app: App, signed: SignedIn, lifetime: timedelta) -> str:
    """A new server-side session for a user who has just signed in: its key, for the cookie (shown once; only
    its SHA-256 is kept). The user's sessions that have expired are cleared on the way."""
    key = secrets.token_urlsafe(32)
    now = app.clock()
    with unit_of_work(app.engine) as s:
        user_id = s.execute(select(USER.c.id).where(USER.c.name == signed.actor.name)).scalar_one()
        s.execute(delete(SESSION).where(SESSION.c.user_id == user_id, SESSION.c.expires_at <= now))
        s.execute(
            insert(SESSION).values(
                user_id=user_id, key_hash=hash_token(key), created_at=now, expires_at=now + lifetime
            )
        )
    return key


def actor_for_session(app: App, name: str, fingerprint: str, session_key: str) -> SignedIn:
    """The user of a signed session, if it still holds: not ended on the server (signed out, signed out
    everywhere, password changed, deactivated), not expired, the user active and the password unchanged."""
    with unit_of_work(app.engine, write=False) as s:
        row = _user_row(s, name)
        live = row is not None and (
            s.execute(
                _LIVE_SESSION,
                {"key_hash": hash_token(session_key), "user_id": row["id"], "now": app.clock()},
            ).first()
            is not None
        )
    if (
        row is None
        or not live
        or not row["active"]
        or not row["password_hash"]
        or not secrets.compare_digest(
            password_fingerprint(str(row["password_hash"]), int(str(row["session_epoch"]))), fingerprint
        )
    ):
        raise Unauthenticated()
    display = row["display_name"]
    return SignedIn(_actor(row), fingerprint, str(display) if display else None)


@use_case
def set_password(
    app: App, actor_name: str | None, user: str, password: str, *, current_password: str | None = None
) -> None:
    """Set ``user``'s password: an administrator for anybody, a user for itself given its current password.
    Every session of ``user`` ends (a page that changes its own password signs its browser in anew).

    Permission and rules are checked first and the slow hash is made outside any transaction, so that
    nobody can make the server hash for them without the right to, and no write lock waits on argon2.
    """
    own = actor_name is not None and actor_name == user
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        if not own:
            authorize(app, s, actor, "user.admin")
        row = _user_row(s, user)
    if row is None:
        raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
    if own:
        stored = row["password_hash"]
        if not (stored and current_password and _hasher.verify(current_password, str(stored))):
            raise RuleRefused(
                [
                    Reason(
                        "CURRENT_PASSWORD_WRONG",
                        SECURITY_CLAUSE,
                        "修改本人口令须提供正确的当前口令",
                        "changing your own password needs your current password",
                        path="current_password",
                    )
                ]
            )
    reasons = password_reasons(user, password)
    if reasons:
        raise RuleRefused(reasons)
    new_hash = _hasher.hash(password)
    with unit_of_work(app.engine) as s:
        res = s.execute(
            update(USER).where(USER.c.name == user).values(password_hash=new_hash).returning(USER.c.id)
        ).first()
        if res is None:
            raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
        _end_live(s, res.id, app.clock())  # the fingerprint changed too: no session from before holds
        _security(
            s,
            app,
            action="user.password",
            outcome="recorded",
            actor=actor.name,
            role=actor.role.value,
            note=user,
        )


@use_case
def issue_token(app: App, actor_name: str | None, user: str) -> str:
    """A new API token for ``user`` (administrators only), replacing any earlier one; shown this once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "user.admin")
        res = s.execute(
            update(USER).where(USER.c.name == user).values(token_hash=hash_token(token)).returning(USER.c.id)
        )
        if res.first() is None:
            raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
        _security(
            s,
            app,
            action="user.token",
            outcome="recorded",
            actor=actor.name,
            role=actor.role.value,
            note=user,
        )
    return token


@use_case
def revoke_token(app: App, actor_name: str | None, user: str) -> None:
    """Remove ``user``'s API token (administrators only)."""
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "user.admin")
        res = s.execute(update(USER).where(USER.c.name == user).values(token_hash=None).returning(USER.c.id))
        if res.first() is None:
            raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
        _security(
            s,
            app,
            action="user.token.revoke",
            outcome="recorded",
            actor=actor.name,
            role=actor.role.value,
            note=user,
        )


def _end_live(s: Session, user_id: object, now: datetime) -> int:
    """End every live session of a user; how many were live."""
    q = update(SESSION).where(SESSION.c.user_id == user_id, SESSION.c.ended_at.is_(None))
    return len(s.execute(q.values(ended_at=now).returning(SESSION.c.id)).all())


def end_session(app: App, session_key: str) -> bool:
    """Sign out: the session with this key ends on the server (its cookie, even a copy, no longer holds).
    Recorded in the audit trail; False when there was no live session with this key (nothing recorded)."""
    now = app.clock()
    with unit_of_work(app.engine) as s:
        row = s.execute(
            select(USER.c.name, USER.c.role)
            .select_from(SESSION.join(USER, USER.c.id == SESSION.c.user_id))
            .where(SESSION.c.key_hash == hash_token(session_key), SESSION.c.ended_at.is_(None))
        ).first()
        if row is None:
            return False
        s.execute(update(SESSION).where(SESSION.c.key_hash == hash_token(session_key)).values(ended_at=now))
        _security(s, app, action="auth.logout", outcome="recorded", actor=str(row.name), role=str(row.role))
    return True


@use_case
def end_sessions(app: App, actor_name: str | None, user: str) -> int:
    """Sign ``user`` out everywhere: every session of theirs ends on the server, the one asking included.
    A user may do it for itself; for anybody else it takes ``user.admin``. API tokens are not sessions and are
    left alone (an administrator revokes a token). Returns how many sessions were live; audited."""
    now = app.clock()
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        if actor_name is None or actor.name != user:
            authorize(app, s, actor, "user.admin")
        row = _user_row(s, user)
        if row is None:
            raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
        ended = _end_live(s, row["id"], now)
        _security(
            s,
            app,
            action="user.sessions.end",
            outcome="recorded",
            actor=actor.name,
            role=actor.role.value,
            note=user,
        )
    return ended


@dataclass(frozen=True)
class UserState:
    """A user as the administrator sees it after a change: never the hashes, only whether they are set."""

    name: str
    role: Role
    department: str | None
    display_name: str | None
    active: bool
    has_password: bool
    has_token: bool
    #: False when the user already was in the state asked for (nothing written, nothing audited)
    changed: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.value,
            "department": self.department,
            "display_name": self.display_name,
            "active": self.active,
            "has_password": self.has_password,
            "has_token": self.has_token,
            "changed": self.changed,
        }


_USER_STATE = select(
    USER.c.id,
    USER.c.name,
    USER.c.role,
    USER.c.active,
    USER.c.display_name,
    USER.c.password_hash.is_not(None).label("has_password"),
    USER.c.token_hash.is_not(None).label("has_token"),
    DEPT.c.code.label("department"),
).outerjoin(DEPT, DEPT.c.id == USER.c.department_id)


def _user_state(s: Session, user: str, changed: bool) -> UserState:
    r = s.execute(_USER_STATE.where(USER.c.name == user)).first()
    if r is None:
        raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
    return UserState(
        str(r.name),
        Role(str(r.role)),
        str(r.department) if r.department is not None else None,
        str(r.display_name) if r.display_name else None,
        bool(r.active),
        bool(r.has_password),
        bool(r.has_token),
        changed,
    )


def _deactivation_refusals(s: Session, actor: Actor, own: bool, row: UserState) -> list[Reason]:
    """Why ``row`` may not be deactivated: it is the acting administrator, or the last active administrator.

    The active administrators are read ``FOR UPDATE`` (PostgreSQL; SQLite's write transaction already holds
    the database), so that two administrators deactivating each other at once cannot both succeed."""
    out: list[Reason] = []
    if own:
        out.append(
            Reason(
                "CANNOT_DEACTIVATE_SELF",
                ADMIN_RULE,
                f"管理员 {actor.name} 不能停用自己的账户（停用后将无法登录）；请由另一名管理员操作",
                f"administrator {actor.name} may not deactivate their own account (they could not sign in "
                "again); ask another administrator",
                path="name",
                detail={"user": row.name},
            )
        )
    if row.role is Role.ADMIN and row.active:
        admins = (
            s.execute(
                select(USER.c.name)
                .where(USER.c.role == Role.ADMIN.value, USER.c.active.is_(True))
                .with_for_update()
            )
            .scalars()
            .all()
        )
        if set(admins) <= {row.name}:
            out.append(
                Reason(
                    "LAST_ACTIVE_ADMIN",
                    ADMIN_RULE,
                    f"{row.name} 是最后一名启用的系统管理员，停用后将无人能管理用户；请先启用或新增另一名管理员",
                    f"{row.name} is the last active administrator: nobody could administer users after "
                    "deactivating them; activate or add another administrator first",
                    path="name",
                    detail={"user": row.name, "active_admins": len(admins)},
                )
            )
    return out


@use_case
def set_active(
    app: App, actor_name: str | None, user: str, active: bool, reason: str | None = None
) -> UserState:
    """Activate or deactivate ``user`` (administrators only), with a reason for the trail (required to deactivate).

    Deactivation takes effect on the user's next request: its sessions and API token are refused because the
    user is inactive, and its token is revoked as well. An administrator may not deactivate itself, and the last
    active administrator may not be deactivated (:class:`RuleRefused`, 422). Asking for the state the user is
    already in changes nothing and records nothing (``changed`` is False)."""
    text = (reason or "").strip() or None
    if not active and text is None:
        raise UsageError("停用用户须填写理由（--reason）", "deactivating a user needs a reason (--reason)")
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "user.admin")
        row = _user_state(s, user, changed=False)
        if row.active == active:
            return row
        if not active:
            refusals = _deactivation_refusals(s, actor, actor_name is not None and actor.name == user, row)
            if refusals:
                raise RuleRefused(refusals)
        values: dict[str, object] = {"active": active}
        if not active:
            values["token_hash"] = None
            values["session_epoch"] = USER.c.session_epoch + 1
        s.execute(update(USER).where(USER.c.name == user).values(**values))
        if not active:
            _end_live(s, s.execute(select(USER.c.id).where(USER.c.name == user)).scalar_one(), app.clock())
        _security(
            s,
            app,
            action="user.activate" if active else "user.deactivate",
            outcome="recorded",
            actor=actor.name,
            role=actor.role.value,
            note=f"{user}：{text}" if text else user,
            clause=ACCOUNT_CLAUSE,
        )
        return _user_state(s, user, changed=True)
