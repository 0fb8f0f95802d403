"""第二条第三款: a secret catalog item (国家秘密) reaches only those entitled to it — in lists, and in words.

What a reader may see is decided once, where rows are read, from data (STYLE habit 12):

* :func:`secret_visible` is the rule as an SQL condition on ``catalog_item``: a secret item is visible to its
  provider, the departments explicitly authorized on it, and audit — nobody else, whatever the role (the program
  office, finance and the review agency see it only when their own department is authorized on it).
* :func:`visibility` reads, for one reader and the projects it is about to read, the secret items that reader may
  not see, with their distinctive words (code, name, interface, field names and descriptions). The resulting
  :class:`Visibility` is the reader-scoped projection every read model goes through: a catalog item hidden from the
  reader becomes the placeholder 「涉密目录条目」; a free text (an opinion, a review comment, a refusal reason, an
  order's reason or step note, a cut's evidence, a notice) that contains one of the hidden words — plain substring
  containment, case-folded, never a regex word boundary (``\\w`` covers CJK, so boundaries never match inside
  Chinese prose) — is replaced as a whole by 「（内容涉及涉密目录条目，不予显示）」.

The stored records keep every word: the audit chain stays intact and audit reads them whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import Boolean, Integer, and_, bindparam, exists, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from govflow.models.facts import t
from govflow.models.tables import CatalogAuthorization, CatalogItem, Project
from govflow.states.permissions import Role
from govflow.states.sharing import Secrecy
from govflow.states.verdict import DOC, Reason

CI, AUTH, PROJECT = t(CatalogItem), t(CatalogAuthorization), t(Project)
SECRET_CLAUSE = f"{DOC} 第二条第三款"
#: a catalog item the reader may not see, wherever an item is named
ITEM_ZH, ITEM_EN = "涉密目录条目", "classified catalog item"
#: a free text that names such an item, replaced as a whole
TEXT_ZH, TEXT_EN = (
    "（内容涉及涉密目录条目，不予显示）",
    "(content concerns a classified catalog item; not shown)",
)
#: the placeholders in English: a text read before the reader's language is known is masked in Chinese, and the
#: page shows the placeholder in its own language
PLACEHOLDERS_EN = {TEXT_ZH: TEXT_EN, ITEM_ZH: ITEM_EN}
#: keys of a reason-like mapping whose sentence is replaced as a whole when anything in the mapping names a hidden item
MESSAGE_KEYS = ("message", "message_en", "description")
#: keys of a mapping about one catalog item (an obligation, a finding's evidence) kept when that item is hidden
KEPT_OF_HIDDEN = frozenset(
    {"agreement", "covered", "clause", "code", "rule", "period", "as_of"}
)  # others emptied
#: field names and descriptions shorter than this are too common to single out an item ("id", "姓名")
MIN_FIELD_WORD = 3
#: above this many projects, the secret items are read for all projects and filtered here (no huge IN list)
_IN_LIMIT = 1000


class Reader(Protocol):
    """Who reads: :class:`govflow.lifecycle.services.Actor`, or the recipient of a notice (role, department id)."""

    @property
    def role(self) -> Role: ...

    @property
    def department_id(self) -> int | None: ...


@dataclass(frozen=True)
class Recipient:
    """A reader that is not a user: the role (and department) a notice is addressed to."""

    role: Role
    department_id: int | None = None


def secret_visible(actor: Reader) -> ColumnElement[bool]:
    """SQL condition on ``catalog_item``: may ``actor`` see the item?

    A secret item (国家秘密, 第二条第三款) is visible only to its provider, the departments explicitly authorized
    on it, and audit. Authorization is by department, so a program-office, finance or review-agency user sees it
    only if its own department is authorized; "all departments" never counts for a secret item, and
    administrators are not entitled by their role.
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


def secret_visible_bound() -> ColumnElement[bool]:
    """:func:`secret_visible` for a statement built once: the reader enters as the bound parameters
    :func:`reader_binds` gives (``reader_all``: audit; ``reader_department``: the reader's department id)."""
    return secret_visible_of(
        bindparam("reader_all", type_=Boolean), bindparam("reader_department", type_=Integer)
    )


def secret_visible_of(sees_all: ColumnElement[bool], department: ColumnElement[Any]) -> ColumnElement[bool]:
    """:func:`secret_visible` for a reader given as SQL expressions: whether it sees every item (audit) and its
    department id; bound parameters (:func:`secret_visible_bound`) or the columns of the reader a statement reads
    along (:func:`govflow.access.tokens.token_reader`)."""
    # the reader's columns come from wherever the statement reads them, however deep this sits in it
    authorized = (
        exists()
        .where(and_(AUTH.c.catalog_item_id == CI.c.id, AUTH.c.department_id == department))
        .correlate_except(AUTH)
    )
    return or_(
        CI.c.secrecy != Secrecy.SECRET.value,
        sees_all,
        CI.c.provider_id == department,
        authorized,
    )


def reader_binds(reader: Reader) -> dict[str, Any]:
    return {"reader_all": reader.role is Role.AUDIT, "reader_department": reader.department_id}


@dataclass(frozen=True)
class SecretItem:
    """A secret catalog item hidden from one reader, with the words that single it out."""

    project: str
    code: str
    name: str
    interface: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (name, description)

    def words(self) -> frozenset[str]:
        """Case-folded texts whose presence in a free text names this item."""
        out = {self.code, self.name}
        if self.interface and len(self.interface.strip()) >= MIN_FIELD_WORD:
            out.add(self.interface)
        for name, description in self.fields:
            out |= {w for w in (name, description) if len(w.strip()) >= MIN_FIELD_WORD}
        return frozenset(w.strip().casefold() for w in out if w and w.strip())


@dataclass(frozen=True)
class Visibility:
    """What one reader may see of the catalog items of some projects: the projection read models go through.

    Methods take the ``project`` (code) a value belongs to when it is known, so that an item code reused by another
    project is not taken for the hidden one; without it every hidden item of the read projects counts.
    """

    hidden: tuple[SecretItem, ...] = ()
    _by_project: dict[str, tuple[SecretItem, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[SecretItem]] = defaultdict(list)
        for item in self.hidden:
            grouped[item.project].append(item)
        self._by_project.update({k: tuple(v) for k, v in grouped.items()})

    def __bool__(self) -> bool:
        return bool(self.hidden)

    def _items(self, project: str | None) -> tuple[SecretItem, ...]:
        return self.hidden if project is None else self._by_project.get(project, ())

    @cached_property
    def _words(self) -> dict[str | None, frozenset[str]]:
        """Per project (None: all), the case-folded words that name a hidden item."""
        out: dict[str | None, frozenset[str]] = {None: frozenset().union(*(i.words() for i in self.hidden))}
        out.update(
            {p: frozenset().union(*(i.words() for i in items)) for p, items in self._by_project.items()}
        )
        return out

    @cached_property
    def _identities(self) -> dict[str | None, frozenset[str]]:
        """Per project (None: all), the case-folded codes and names of the hidden items."""

        def of(items: Sequence[SecretItem]) -> frozenset[str]:
            return frozenset(w.casefold() for i in items for w in (i.code, i.name))

        return {None: of(self.hidden)} | {p: of(items) for p, items in self._by_project.items()}

    # -------------------------------------------------------------------------------------------- decisions

    def hides(self, code: str | None, project: str | None = None) -> bool:
        """Is the catalog item ``code`` (of ``project``) hidden from this reader? Decided on the code, not on words."""
        return code is not None and any(i.code == code for i in self._items(project))

    def names_hidden(self, text: str | None, project: str | None = None) -> bool:
        """Does ``text`` contain a hidden item's code, name or another of its distinctive words?"""
        if not text or not self.hidden:
            return False
        folded = text.casefold()
        return any(w in folded for w in self._words.get(project, ()))

    def mentions(self, value: Any, project: str | None = None) -> bool:
        """Does any text inside ``value`` (a string, or a JSON-like mapping or list) name a hidden item?"""
        if isinstance(value, str):
            return self.names_hidden(value, project)
        if isinstance(value, Mapping):
            return any(self.mentions(v, project) for v in value.values())
        if isinstance(value, list | tuple):
            return any(self.mentions(v, project) for v in value)
        return False

    # -------------------------------------------------------------------------------------------- projections

    def text(self, value: str | None, lang: str = "zh", project: str | None = None) -> str | None:
        """A free text as the reader may read it: whole, or the placeholder when it names a hidden item (the
        placeholder for the item itself when the text is only the item's code or name)."""
        if value is None or not self.names_hidden(value, project):
            return value
        en = lang == "en"
        if value.strip().casefold() in self._identities.get(project, frozenset()):
            return ITEM_EN if en else ITEM_ZH
        return TEXT_EN if en else TEXT_ZH

    def value(self, value: Any, lang: str = "zh", project: str | None = None) -> Any:
        """A JSON-like value (a reason, a detail, an evidence object, a payload) as the reader may read it.

        A mapping about a hidden catalog item (its ``catalog`` is hidden) keeps only what does not describe the
        item (:data:`KEPT_OF_HIDDEN`); a mapping with a sentence (``message``…) that names a hidden item anywhere
        has the sentence replaced as a whole; every other text goes through :meth:`text`.
        """
        if not self.hidden:
            return value
        if isinstance(value, str):
            return self.text(value, lang, project)
        if isinstance(value, Mapping):
            return self._mapping(value, lang, project)
        if isinstance(value, list | tuple):
            return [self.value(v, lang, project) for v in value]
        return value

    def _mapping(self, value: Mapping[str, Any], lang: str, project: str | None) -> dict[str, Any]:
        catalog = value.get("catalog")
        if isinstance(catalog, str) and self.hides(catalog, project):
            kept = {
                k: self.value(v, lang, project) if k in KEPT_OF_HIDDEN else _emptied(v)
                for k, v in value.items()
            }
            return kept | {"catalog": ITEM_EN if lang == "en" else ITEM_ZH}
        out = {k: self.value(v, "en" if str(k).endswith("_en") else lang, project) for k, v in value.items()}
        if any(k in value for k in MESSAGE_KEYS) and self.mentions(value, project):
            for k in MESSAGE_KEYS:
                if k in value:
                    out[k] = (
                        TEXT_EN if k == "message_en" or (k == "description" and lang == "en") else TEXT_ZH
                    )
        return out

    def reasons(self, reasons: Sequence[Reason], project: str | None = None) -> tuple[Reason, ...]:
        """Guard reasons as the reader may read them: a reason that names a hidden item in its words or its
        detail keeps its code and clause (the rule is still cited), not its sentence; its detail is projected."""
        if not self.hidden:
            return tuple(reasons)
        return tuple(self._reason(r, project) for r in reasons)

    def _reason(self, r: Reason, project: str | None) -> Reason:
        if not (self.mentions([r.message, r.message_en], project) or self.mentions(r.detail, project)):
            return r
        detail = self.value(r.detail, "en", project) if r.detail else r.detail
        return replace(r, message=TEXT_ZH, message_en=TEXT_EN, detail=detail)

    def reason_dicts(
        self, reasons: Sequence[Mapping[str, Any]] | None, project: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored reasons (``{"code", "clause", "message", "message_en", "detail"}``) as the reader may read them."""
        if not self.hidden:
            return [dict(r) for r in reasons or ()]
        out: list[dict[str, Any]] = []
        for r in reasons or ():
            d = dict(r)
            if self.mentions(d, project):
                d.update(
                    {
                        k: TEXT_EN if k == "message_en" else TEXT_ZH
                        for k in ("message", "message_en")
                        if k in d
                    }
                )
                if "detail" in d:
                    d["detail"] = self.value(d["detail"], "en", project)
            out.append(d)
        return out


def _emptied(value: Any) -> Any:
    """A value describing a hidden item, emptied but of the same shape (pages and templates still read it)."""
    if isinstance(value, str):
        return ""
    if isinstance(value, Mapping):
        return {}
    if isinstance(value, list | tuple):
        return []
    return None


EVERYTHING = Visibility()


def visibility(
    s: Session,
    reader: Reader,
    *,
    project_ids: Iterable[int] | None = None,
    project_codes: Iterable[str] | None = None,
) -> Visibility:
    """The :class:`Visibility` of ``reader`` over the projects named by id or by code (one statement; nothing is
    hidden from audit). With neither, every project counts."""
    if reader.role is Role.AUDIT:
        return EVERYTHING
    q = (
        select(
            PROJECT.c.id, PROJECT.c.code.label("project"), CI.c.code, CI.c.name, CI.c.interface, CI.c.fields
        )
        .join(PROJECT, PROJECT.c.id == CI.c.project_id)
        .where(CI.c.secrecy == Secrecy.SECRET.value, ~secret_visible(reader))
    )
    keep: list[tuple[str, set[str]]] = []  # (column, keys) checked here rather than in a huge IN list
    for column, keys in (("id", project_ids), ("project", project_codes)):
        if keys is None:
            continue
        wanted = {str(k) for k in keys if k is not None and k != ""}
        if not wanted:
            return EVERYTHING
        if len(wanted) > _IN_LIMIT:
            keep.append((column, wanted))
        elif column == "id":
            q = q.where(PROJECT.c.id.in_(sorted(int(k) for k in wanted)))
        else:
            q = q.where(PROJECT.c.code.in_(sorted(wanted)))
    items = []
    for r in s.execute(q):
        if any(str(r._mapping[column]) not in wanted for column, wanted in keep):
            continue
        fields = tuple(
            (str(f.get("name") or ""), str(f.get("description") or ""))
            for f in (r.fields or [])
            if isinstance(f, Mapping)
        )
        items.append(SecretItem(str(r.project), str(r.code), str(r.name), r.interface, fields))
    return Visibility(tuple(sorted(items, key=lambda i: (i.project, i.code))))
