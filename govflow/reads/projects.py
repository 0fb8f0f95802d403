"""Reading projects: one project, the lists (paged in SQL) and its history, as the reader may see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, exists, func, or_, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement

from govflow.access.tokens import ApiToken, Unauthenticated, reader_actor, reader_columns, token_reader
from govflow.lifecycle.core import (
    PROJECT,
    PROJECT_BY_CODE,
    Actor,
    App,
    _project_row,
    authorize,
    get_actor,
    project_missing,
    use_case,
)
from govflow.models import tally
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, related_departments, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AppUser,
    AuditEvent,
    CatalogItem,
    Opinion,
    ProjectDepartment,
    RectificationOrder,
    Review,
)
from govflow.reads import secrecy
from govflow.states.lifecycle import events_from
from govflow.states.permissions import Role
from govflow.states.phases import Event, Phase

# ---------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class ProjectView:
    code: str
    name: str
    phase: Phase
    version: int
    lead_department: str
    lead_department_name: str
    departments: list[str]
    om_budget: str
    last_event_at: datetime
    next_events: list[Event]
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "phase": self.phase.value,
            "phase_label": self.phase.label(lang),
            "version": self.version,
            "lead_department": self.lead_department,
            "lead_department_name": self.lead_department_name,
            "departments": self.departments,
            "om_budget": self.om_budget,
            "last_event_at": self.last_event_at.isoformat(),
            "next_events": [e.value for e in self.next_events],
            **self.counts,
        }


@use_case
def show_project(app: App, code: str, actor_name: str | Actor | ApiToken | None = None) -> ProjectView:
    """One project as the reader sees it. With an API token (:class:`ApiToken`, not yet checked) the token's check
    and the read are one statement: no row means the token does not hold (:class:`Unauthenticated`)."""
    if isinstance(actor_name, ApiToken):
        return _show_by_token(app, code, actor_name)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        # the project and the counts of its materials the reader may see, in one statement; the counts are only
        # returned once the reader is authorized
        row = s.execute(_PROJECT_AND_COUNTS, {"code": code, **secrecy.reader_binds(actor)}).first()
        if row is None:
            raise project_missing(code)
        p = row._mapping
        authorize(app, s, actor, "project.read", p)
        departments = related_departments(s, int(p["id"]))
    return _project_view(p, departments)


def _show_by_token(app: App, code: str, token: ApiToken) -> ProjectView:
    with unit_of_work(app.engine, write=False, one_statement=True) as s:
        rows = [r._mapping for r in s.execute(_SHOW_BY_TOKEN, {"code": code, **token.binds()})]
        if not rows:
            raise Unauthenticated()
        p = rows[0]
        actor = reader_actor(p)
        if p["id"] is None:
            raise project_missing(code)
        departments = [str(r["related"]) for r in rows if r["related"] is not None]
        authorize(app, s, actor, "project.read", p, related=departments)
    return _project_view(p, departments)


def _project_view(p: Mapping[Any, Any], departments: list[str]) -> ProjectView:
    return ProjectView(
        code=p["code"],
        name=p["name"],
        phase=Phase(p["phase"]),
        version=int(p["version"]),
        lead_department=p["lead_code"],
        lead_department_name=p["lead_name"],
        departments=departments,
        om_budget=f"{p['om_budget']:.2f}",
        last_event_at=p["last_event_at"],
        next_events=events_from(Phase(p["phase"])),
        counts={name: int(p[name]) for name in _COUNTS},
    )


#: the materials a project view counts
_COUNTS = ("catalog_items", "agreements", "agreement_items", "opinions", "reviews")


def _material_counts(pid: Any, visible: ColumnElement[bool] | None = None) -> list[Any]:
    """The columns counting the catalog items, agreements, agreement items, opinions and reviews of project
    ``pid`` (a column or a bound parameter) that the reader sees: ``visible``, or the reader of the bound
    parameters :func:`govflow.reads.secrecy.reader_binds` gives."""
    ci, ag, ai, op, rv = t(CatalogItem), t(Agreement), t(AgreementItem), t(Opinion), t(Review)

    def n(table: Any, cond: Any) -> Any:
        return select(func.count()).select_from(table).where(cond).scalar_subquery()

    # 第二条第三款: a secret item the reader may not see is not even counted
    if visible is None:
        visible = secrecy.secret_visible_bound()
    items = (
        select(func.count())
        .select_from(ai.join(ag, ag.c.id == ai.c.agreement_id).join(ci, ci.c.id == ai.c.catalog_item_id))
        .where(ag.c.project_id == pid, visible)
    )
    columns = [
        n(ci, and_(ci.c.project_id == pid, visible)),
        n(ag, ag.c.project_id == pid),
        items.scalar_subquery(),
        n(op, op.c.project_id == pid),
        n(rv, rv.c.project_id == pid),
    ]
    return [c.label(name) for c, name in zip(columns, _COUNTS, strict=True)]


#: built once: a project read is the API's hottest path
_PROJECT_AND_COUNTS = PROJECT_BY_CODE.add_columns(*_material_counts(PROJECT.c.id))


def _show_by_token_statement() -> Any:
    """The token's reader, the project and its counts as that reader sees them, and the project's related
    departments by code — one row per related department (at least one row while the token holds: the project
    columns are null when there is no such project). The reader and the project are one row computed once
    (a MATERIALIZED CTE), so the counts are not computed again for every related department."""
    reader = token_reader()
    visible = secrecy.secret_visible_of(reader.c.role == Role.AUDIT.value, reader.c.department_id)
    shown = (
        select(*reader_columns(reader), *PROJECT_BY_CODE.selected_columns)
        .add_columns(*_material_counts(PROJECT.c.id, visible))
        # flat outer joins, not reader ⟕ (project ⋈ department): SQLite materializes a parenthesized join whole
        # (every project_department row, below); a project always has its lead department (a foreign key)
        .select_from(
            reader.outerjoin(PROJECT, PROJECT.c.code == bindparam("code")).outerjoin(
                DEPT, DEPT.c.id == PROJECT.c.lead_department_id
            )
        )
        .cte("shown")
        .prefix_with("MATERIALIZED")
    )
    pd, related = t(ProjectDepartment), DEPT.alias("related_department")
    return (
        select(shown, related.c.code.label("related"))
        .select_from(
            shown.outerjoin(pd, pd.c.project_id == shown.c.id).outerjoin(
                related, related.c.id == pd.c.department_id
            )
        )
        .order_by(related.c.code)
    )


#: built once, like :data:`_PROJECT_AND_COUNTS`
_SHOW_BY_TOKEN = _show_by_token_statement()


_PROJECT_COLUMNS = (
    PROJECT.c.code,
    PROJECT.c.name,
    PROJECT.c.phase,
    PROJECT.c.version,
    DEPT.c.code.label("lead"),
    DEPT.c.name.label("lead_name"),
)


@dataclass(frozen=True)
class _ListFilter:
    """What narrows a project list: the shape of its filters (which statement, built once) and their values
    (the statement's bound parameters)."""

    department_reader: bool
    phase: str | None
    department: str | None
    overdue: bool
    reader_department: int | None

    @classmethod
    def of(cls, actor: Actor, phase: str | None, department: str | None, overdue: bool) -> _ListFilter:
        by_department = actor.role is Role.DEPARTMENT
        return cls(
            by_department,
            Phase(phase).value if phase else None,
            department or None,
            overdue,
            actor.department_id if by_department else None,
        )

    @property
    def shape(self) -> tuple[bool, bool, bool, bool]:
        return (self.department_reader, self.phase is not None, self.department is not None, self.overdue)

    def params(self, **more: Any) -> dict[str, Any]:
        values = {
            "phase": self.phase,
            "department": self.department,
            "reader_department": self.reader_department,
        }
        return {k: v for k, v in values.items() if v is not None} | more


def _project_filters(
    department_reader: bool, phase: bool, department: bool, overdue: bool
) -> list[ColumnElement[bool]]:
    """What narrows a project list, on the project table alone (so that a page can be found in its indexes); the
    values enter as the bound parameters of :meth:`_ListFilter.params`."""
    where: list[ColumnElement[bool]] = []
    if phase:
        where.append(PROJECT.c.phase == bindparam("phase", type_=String))
    if department:
        lead = select(DEPT.c.id).where(DEPT.c.code == bindparam("department", type_=String))
        where.append(PROJECT.c.lead_department_id == lead.scalar_subquery())
    if overdue:
        # at least one rectification order past its deadline and not under review (限期整改, 第十一条)
        ro = t(RectificationOrder)
        where.append(PROJECT.c.id.in_(select(ro.c.project_id).where(ro.c.status == "overdue")))
    if department_reader:  # a department sees the projects it leads or takes part in
        where.append(_readers_projects(bindparam("reader_department", type_=Integer)))
    return where


def _readers_projects(department: ColumnElement[Any]) -> ColumnElement[bool]:
    """The projects a department reader may see: those its department (an id) leads or takes part in."""
    pd = t(ProjectDepartment)
    mine = select(pd.c.project_id).where(pd.c.department_id == department)
    return or_(PROJECT.c.lead_department_id == department, PROJECT.c.id.in_(mine))


@lru_cache(maxsize=32)
def _list_statement(shape: tuple[bool, bool, bool, bool]) -> Any:
    return (
        select(*_PROJECT_COLUMNS)
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(*_project_filters(*shape))
        .order_by(PROJECT.c.code)
    )


def _page_ids(*where: ColumnElement[bool]) -> Any:
    """The ids of one page of the projects matching ``where``, by code (``size`` and ``skip`` bound)."""
    return (
        select(PROJECT.c.id)
        .where(*where)
        .order_by(PROJECT.c.code)
        .limit(bindparam("size", type_=Integer))
        .offset(bindparam("skip", type_=Integer))
    )


def _total(department_reader: bool, phase: bool, department: bool, overdue: bool) -> Any:
    """The number of projects a list's filters match, as a scalar subquery: for every project or one phase
    (what a reader who sees every project lists most) a sum over the phase tally (:mod:`govflow.models.tally`:
    a count of 20,000 projects cost PostgreSQL about 1 ms per request, which halved the API list's request
    rate), else counted (a department's or a lead department's few projects, the overdue ones)."""
    if not (department_reader or department or overdue):
        return tally.projects_in(phase)
    return _counted(*_project_filters(department_reader, phase, department, overdue))


def _counted(*where: ColumnElement[bool]) -> Any:
    """The number of projects matching ``where``, counted, as an uncorrelated scalar subquery."""
    return select(func.count()).select_from(PROJECT).where(*where).correlate(None).scalar_subquery()


@lru_cache(maxsize=32)
def _page_statements(shape: tuple[bool, bool, bool, bool]) -> tuple[Any, Any]:
    """One page of projects with their total, and the total alone, for one shape of filters, built once: building
    and keying the statements per request cost about as much as running them (the list is the API's
    second-hottest path)."""
    where = _project_filters(*shape)
    count = select(_total(*shape))
    # the page's ids first, from the code index alone; then their rows (a deep OFFSET over joined rows took
    # 12 ms at page 1,000 of 20,000 projects on SQLite, the ids alone 0.2 ms)
    ids = _page_ids(*where)
    page = (
        select(*_PROJECT_COLUMNS, _total(*shape).label("total"))
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(PROJECT.c.id.in_(ids))
        .order_by(PROJECT.c.code)
    )
    return page, count


@lru_cache(maxsize=16)
def _token_page_statement(shape: tuple[bool, bool, bool]) -> Any:
    """:func:`_page_statements` for a reader known by its API token (:func:`token_reader`), in one statement: the
    reader's columns, the total and the page's projects — one row per project, or one row with null project
    columns for a page past the end; no row when the token does not hold. The reader's role decides in the
    statement whether it sees only its department's projects; the reader enters the filters through uncorrelated
    subqueries, evaluated once per statement (not once per project). The total is counted one way or the other
    (a CASE, whose branches run only when taken): unfiltered for a reader who sees every project, as the
    statement by role does — with the reader's test in every row the count cost PostgreSQL about twice as much
    at 20,000 projects."""
    reader = token_reader()
    department_reader = exists().where(reader.c.role == Role.DEPARTMENT.value).correlate(None)
    # null for any other reader, so that the department's branch below finds nothing even where it is not skipped
    department = (
        select(reader.c.department_id)
        .where(reader.c.role == Role.DEPARTMENT.value)
        .correlate(None)
        .scalar_subquery()
    )
    filters = _project_filters(False, *shape)

    count = case(
        (department_reader, _counted(*filters, _readers_projects(department))),
        else_=_total(False, *shape),
    )

    def page_ids(*where: ColumnElement[bool]) -> Any:
        ids = _page_ids(*where).correlate(None).subquery()
        return select(ids.c.id)

    # the page's ids likewise, one branch or the other: a branch's reader test holds for the whole statement, so
    # it is decided once (PostgreSQL: a one-time filter; SQLite: a constant term) and the branch that runs finds
    # its rows as the statement by role does (with the reader's test in every row, SQLite scanned the code index
    # through for a department's few projects: 13 ms instead of 1 at 20,000 projects)
    ids = union_all(
        page_ids(~department_reader, *filters),
        page_ids(department_reader, *filters, _readers_projects(department)),
    )
    page = (
        select(*_PROJECT_COLUMNS)
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(PROJECT.c.id.in_(ids))
        .subquery("page")
    )
    return (
        select(*reader_columns(reader), count.label("total"), *page.c)
        .select_from(reader.outerjoin(page, true()))
        .order_by(page.c.code)
    )


@use_case
def list_projects(
    app: App,
    actor_name: str | None = None,
    *,
    phase: str | None = None,
    department: str | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    """Every project the actor may see (departments: those they lead or take part in), by code; ``overdue``:
    only those with at least one overdue rectification order."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.list")
        f = _ListFilter.of(actor, phase, department, overdue)
        return [dict(r._mapping) for r in s.execute(_list_statement(f.shape), f.params())]


@use_case
def page_projects(
    app: App,
    actor_name: str | Actor | ApiToken | None,
    *,
    page: int,
    size: int,
    phase: str | None = None,
    department: str | None = None,
    overdue: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """One page of :func:`list_projects` and the total, paged in SQL (a national portfolio has 20,000): one
    statement for both (a page past the end counts apart), since each statement costs more than its work here.
    With an API token (:class:`ApiToken`, not yet checked) the token's check is in that statement too."""
    if isinstance(actor_name, ApiToken):
        return _page_by_token(
            app, actor_name, page=page, size=size, phase=phase, department=department, overdue=overdue
        )
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.list")
        f = _ListFilter.of(actor, phase, department, overdue)
        statement, count = _page_statements(f.shape)
        rows = s.execute(statement, f.params(size=size, skip=(max(page, 1) - 1) * size)).all()
        if not rows:
            return [], int(s.execute(count, f.params()).scalar_one())
        page_rows = [r._asdict() for r in rows]
        total = int(page_rows[0]["total"])
        for r in page_rows:
            del r["total"]
        return page_rows, total


def _page_by_token(
    app: App,
    token: ApiToken,
    *,
    page: int,
    size: int,
    phase: str | None,
    department: str | None,
    overdue: bool,
) -> tuple[list[dict[str, Any]], int]:
    # the filters' shape without the reader's role, which the statement itself reads
    f = _ListFilter(False, Phase(phase).value if phase else None, department or None, overdue, None)
    binds = f.params(size=size, skip=(max(page, 1) - 1) * size, **token.binds())
    with unit_of_work(app.engine, write=False, one_statement=True) as s:
        rows = [r._asdict() for r in s.execute(_token_page_statement(f.shape[1:]), binds)]
        if not rows:
            raise Unauthenticated()
        authorize(app, s, reader_actor(rows[0]), "project.list")
    total = int(rows[0]["total"])
    columns = [c.key for c in _PROJECT_COLUMNS]
    return [{c: r[c] for c in columns} for r in rows if r["code"] is not None], total


@use_case
def project_history(app: App, code: str, actor_name: str | None = None) -> list[dict[str, Any]]:
    """Every accepted and refused event of a project, oldest first, with reasons and clauses."""
    ae, u = t(AuditEvent), t(AppUser)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.history", p)
        q = (
            select(
                ae.c.seq,
                ae.c.kind,
                ae.c.outcome,
                ae.c.action,
                ae.c.actor,
                ae.c.role,
                ae.c.occurred_at,
                ae.c.from_phase,
                ae.c.to_phase,
                ae.c.reasons,
                ae.c.clauses,
                ae.c.note,
                u.c.display_name.label("actor_name"),
            )
            .select_from(ae.outerjoin(u, u.c.name == ae.c.actor))
            .where(ae.c.project_code == code)
            .order_by(ae.c.seq)
        )
        rows = [dict(r._mapping) for r in s.execute(q)]
        seen = secrecy.visibility(s, actor, project_ids=[int(p["id"])])
    for row in rows:  # 第二条第三款: the record keeps every word, the reader gets what it may see
        row["reasons"] = seen.reason_dicts(row["reasons"], code)
        row["note"] = seen.text(row["note"], project=code)
    return rows
