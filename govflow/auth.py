"""Signing in: passwords (argon2 through pwdlib) for people, API tokens for machines.

Passwords are hashed with argon2id (``pwdlib``), and a hash made with weaker parameters than the current ones is
upgraded at the next successful sign-in. An API token is 256 random bits shown once; only its SHA-256 is kept
(``app_user.token_hash``, indexed), which is enough for a value nobody can guess and lets a request find its user
in one indexed lookup. A user has at most one token: issuing a new one revokes the old.

Sign-ins, failed sign-ins, password changes and token issues are security events in the audit trail.
Password rules follow GB/T 22239-2019 (等级保护 2.0) 8.1.4.1 a): 口令具有复杂度要求.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, update
from sqlmodel import Session

from govflow.services import Actor, App, authorize, get_actor, use_case
from models import audit
from models.audit import AuditRecord
from models.db import unit_of_work
from models.facts import DEPT, t
from models.tables import AppUser
from states.errors import GovflowError, NotFound, RuleRefused
from states.permissions import Role
from states.verdict import Reason

USER = t(AppUser)
SECURITY_CLAUSE = "GB/T 22239-2019 8.1.4.1"
TOKEN_PREFIX = "gft_"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


class Unauthenticated(GovflowError):
    """No valid credentials (HTTP 401). Deliberately vague: it never says whether the name exists."""

    exit_code = 2
    code = "UNAUTHENTICATED"

    def __init__(self) -> None:
        super().__init__(
            "用户名或口令错误，或登录已失效", "wrong user name or password, or the sign-in expired"
        )


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    #: changes whenever the password changes, so that a session bound to it ends with the old password
    fingerprint: str
    display_name: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:32]


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
    s: Session, app: App, *, action: str, outcome: str, actor: str, role: str, note: str | None = None
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
                clauses=[SECURITY_CLAUSE],
            )
        ],
    )


def _user_row(s: Session, name: str) -> dict[str, object] | None:
    q = select(
        USER.c.id,
        USER.c.name,
        USER.c.role,
        USER.c.active,
        USER.c.department_id,
        USER.c.display_name,
        USER.c.password_hash,
        DEPT.c.code.label("department"),
    ).outerjoin(DEPT, DEPT.c.id == USER.c.department_id)
    r = s.execute(q.where(USER.c.name == name)).first()
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
    with unit_of_work(app.engine, write=False) as s:
        row = _user_row(s, name)
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
            return SignedIn(_actor(row), password_fingerprint(stored), str(display) if display else None)
    raise Unauthenticated()


def actor_for_token(app: App, token: str) -> Actor:
    """The active user an API token belongs to, or :class:`Unauthenticated`."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise Unauthenticated()
    with unit_of_work(app.engine, write=False) as s:
        q = select(USER.c.name).where(USER.c.token_hash == hash_token(token), USER.c.active.is_(True))
        name = s.execute(q).scalar()
        if name is None:
            raise Unauthenticated()
        try:
            return get_actor(s, str(name))
        except NotFound as exc:
            raise Unauthenticated() from exc


def actor_for_session(app: App, name: str, fingerprint: str) -> SignedIn:
    """The user of a signed session, if it still holds: active, and the password unchanged since sign-in."""
    with unit_of_work(app.engine, write=False) as s:
        row = _user_row(s, name)
    if (
        row is None
        or not row["active"]
        or not row["password_hash"]
        or not secrets.compare_digest(password_fingerprint(str(row["password_hash"])), fingerprint)
    ):
        raise Unauthenticated()
    display = row["display_name"]
    return SignedIn(_actor(row), fingerprint, str(display) if display else None)


@use_case
def set_password(
    app: App, actor_name: str | None, user: str, password: str, *, current_password: str | None = None
) -> None:
    """Set ``user``'s password: an administrator for anybody, a user for itself given its current password.

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
        )
        if res.first() is None:
            raise NotFound(f"用户 {user} 不存在", f"user {user} does not exist")
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
