"""第二条第三款: a secret catalog item (国家秘密) reaches only those entitled to it — in lists, and in words.

Lists leave such an item out with :func:`secret_visible` (an SQL condition). Words are the other way out: a
refusal, a project's history or a notice can name an item ("目录条目 C-007「…」未细化") because the guards that
write them see every fact. :func:`redact` replaces, in what a reader receives, the code and name of every
secret item that reader may not see with a neutral mark; the stored record (read by audit) keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from govflow.models.facts import t
from govflow.models.tables import CatalogAuthorization, CatalogItem, Project
from govflow.states.permissions import Role
from govflow.states.sharing import Secrecy
from govflow.states.verdict import DOC, Reason

CI, AUTH, PROJECT = t(CatalogItem), t(CatalogAuthorization), t(Project)
MARK_ZH = "［涉密条目］"
MARK_EN = "[classified item]"
SECRET_CLAUSE = f"{DOC} 第二条第三款"


class Reader(Protocol):
    """Who reads: :class:`govflow.lifecycle.services.Actor` (role and department id)."""

    @property
    def role(self) -> Role: ...

    @property
    def department_id(self) -> int | None: ...


def secret_visible(actor: Reader) -> ColumnElement[bool]:
    """SQL condition on ``catalog_item``: may ``actor`` see the item?

    A secret item (国家秘密, 第二条第三款) is visible only to its provider, the departments explicitly authorized
    on it, and audit. Authorization is by department, so a program-office user sees it only if its own
    department is authorized; "all departments" never counts for a secret item, and administrators are not
    entitled by their role.
    """
    if actor.role is Role.AUDIT:
        return true()
    not_secret: ColumnElement[bool] = CI.c.secrecy != Secrecy.SECRET.value
    if actor.department_id is None:
        return not_secret
    authorized = exists().where(
        and_(AUTH.c.catalog_item_id == CI.c.id, AUTH.c.department_id == actor.department_id)
    )
    return or_(not_secret, CI.c.provider_id == actor.department_id, authorized)


@dataclass(frozen=True)
class Hidden:
    """The secret items of some projects that one reader may not see: what to mask in the words it reads."""

    items: tuple[tuple[str, str], ...] = ()  # (code, name)

    def __bool__(self) -> bool:
        return bool(self.items)

    @cached_property  # built once per reader and read: text() runs on every message and detail value
    def _pattern(self) -> re.Pattern[str] | None:
        words = {code for code, _ in self.items} | {name for _, name in self.items if len(name) >= 2}
        if not words:
            return None
        # longest first, and never inside a longer code (C-001 must not mask part of C-0011)
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])|「(?:{alternatives})」")

    def text(self, value: str, mark: str) -> str:
        pattern = self._pattern
        return value if pattern is None else pattern.sub(mark, value)

    def value(self, value: Any, mark: str) -> Any:
        """A detail value (string, list or mapping) with hidden codes and names masked."""
        if isinstance(value, str):
            return self.text(value, mark)
        if isinstance(value, Mapping):
            return {k: self.value(v, mark) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, mark) for v in value]
        return value


def _hidden(s: Session, reader: Reader, project: ColumnElement[Any], keys: Iterable[object]) -> Hidden:
    """The secret items of the projects whose ``project`` column is one of ``keys`` that ``reader`` may not see
    (none for audit): one statement."""
    wanted = sorted({k for k in keys if k is not None and k != ""}, key=str)
    if reader.role is Role.AUDIT or not wanted:
        return Hidden()
    q = (
        select(CI.c.code, CI.c.name)
        .join(PROJECT, PROJECT.c.id == CI.c.project_id)
        .where(project.in_(wanted), CI.c.secrecy == Secrecy.SECRET.value, ~secret_visible(reader))
    )
    return Hidden(tuple(sorted({(str(r.code), str(r.name)) for r in s.execute(q)})))


def hidden_items(s: Session, reader: Reader, project_ids: Iterable[int]) -> Hidden:
    """The secret items of these projects (by id) that ``reader`` may not see."""
    return _hidden(s, reader, PROJECT.c.id, project_ids)


def hidden_in_projects(s: Session, reader: Reader, codes: Iterable[str]) -> Hidden:
    """The same for projects named by code (what audit rows and orders carry)."""
    return _hidden(s, reader, PROJECT.c.code, codes)


def redact(reasons: Sequence[Reason], hidden: Hidden) -> tuple[Reason, ...]:
    """``reasons`` as ``hidden``'s reader may read them."""
    if not hidden:
        return tuple(reasons)
    return tuple(
        replace(
            r,
            message=hidden.text(r.message, MARK_ZH),
            message_en=hidden.text(r.message_en, MARK_EN),
            detail=hidden.value(r.detail, MARK_EN) if r.detail else r.detail,
        )
        for r in reasons
    )


def redact_dicts(reasons: Sequence[Mapping[str, Any]], hidden: Hidden) -> list[dict[str, Any]]:
    """Stored reasons (``{"code", "clause", "message", "message_en", "detail"}``) as ``hidden``'s reader may read
    them; any other key passes through."""
    if not hidden:
        return [dict(r) for r in reasons]
    out = []
    for r in reasons:
        d = dict(r)
        for key, mark in (("message", MARK_ZH), ("message_en", MARK_EN)):
            if isinstance(d.get(key), str):
                d[key] = hidden.text(d[key], mark)
        if "detail" in d:
            d["detail"] = hidden.value(d["detail"], MARK_EN)
        out.append(d)
    return out
