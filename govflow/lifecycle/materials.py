"""What departments, reviewers and the program office record about a project before its steps: reviews,
opinions (第九条), the catalog, agreements and needs analysis, and the bulk imports (portfolio, evidence)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from govflow.lifecycle import portfolio, tabular
from govflow.lifecycle.core import (
    PROJECT,
    Actor,
    App,
    _choice,
    _project_row,
    authorize,
    bump_version,
    business_date,
    get_actor,
    record_change,
    use_case,
)
from govflow.lifecycle.portfolio.writer import ids_by_code
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, load_catalog, load_facts, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    CatalogAuthorization,
    CatalogItem,
    Finding,
    Opinion,
    Review,
    ReviewJudgment,
)
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, InvalidInput, NotFound, RuleRefused, UsageError
from govflow.states.findings import MATERIALS_SUPPLIED, ONBOARDING_GAP, FindingStatus, onboarding_gap_key
from govflow.states.guards import consulted_departments, gate_gaps
from govflow.states.permissions import Role
from govflow.states.phases import Phase, ReviewStage
from govflow.states.sharing import FocusPoint, Judgment, OpinionVerdict
from govflow.states.verdict import Reason

# ---------------------------------------------------------------------------------------------- materials


@use_case
def record_review(
    app: App,
    code: str,
    actor_name: str,
    *,
    stage: str,
    agency: str | None,
    on: date,
    judgments: Mapping[str, tuple[str, str | None]],
    conclusion: str | None,
    against_approval: bool = False,
) -> int:
    """评审意见 (第十条第一款): the review agency judges the five focus points and concludes (for or against
    approval); returns the new version."""
    st = _choice(ReviewStage, stage, "评审阶段", "stage")
    parsed = {
        _choice(FocusPoint, k, "评审重点", "focus point"): (
            _choice(Judgment, v, f"「{k}」的判断", f"judgment of {k}"),
            c,
        )
        for k, (v, c) in judgments.items()
    }
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "review.record", p)
        expected = {
            ReviewStage.PROPOSAL: Phase.PROPOSAL_REVIEW,
            ReviewStage.FEASIBILITY: Phase.FEASIBILITY_REVIEW,
            ReviewStage.DESIGN: Phase.DESIGN_REVIEW,
        }[st]
        if p["phase"] != expected.value:
            raise RuleRefused(
                [
                    Reason(
                        "NOT_IN_REVIEW",
                        "733号文 第十条第一款",
                        f"项目当前阶段为「{Phase(p['phase']).zh}」，不能登记{st.label()}评审意见（须处于「{expected.zh}」）",
                        f"the project is in '{Phase(p['phase']).en}'; a {st.label('en')} review needs '{expected.en}'",
                    )
                ]
            )
        rid = s.execute(
            insert(t(Review))
            .values(
                project_id=p["id"],
                stage=st.value,
                agency=agency or actor.name,
                reviewed_on=on,
                conclusion=conclusion,
                against_approval=against_approval,
            )
            .returning(t(Review).c.id)
        ).scalar_one()
        if parsed:
            s.execute(
                insert(t(ReviewJudgment)),
                [
                    {"review_id": rid, "focus_point": k.value, "judgment": v.value, "comment": c}
                    for k, (v, c) in parsed.items()
                ],
            )
        version = bump_version(s, int(p["id"]))
        missing = [fp for fp in FocusPoint if fp not in parsed]
        _materials_audit(
            app,
            s,
            actor,
            code,
            "review.record",
            f"{st.value}: "
            + ", ".join(f"{k.value}={v.value}" for k, (v, _) in parsed.items())
            + (f"; 未判断: {', '.join(m.value for m in missing)}" if missing else ""),
            "733号文 第十条第一款",
        )
        return version


@use_case
def record_opinion(
    app: App,
    code: str,
    actor_name: str,
    *,
    department: str,
    on: date,
    verdict: str,
    unmet_needs: list[dict[str, str | None]],
    comment: str | None,
    conditions: list[str] | None = None,
) -> int:
    """征求意见 (第九条): the opinion of a department concerned (a related department, or a provider among the
    parties), entered by itself or by the program office; ``agree_with_changes`` lists its conditions."""
    try:
        v = OpinionVerdict(verdict)
    except ValueError as exc:
        raise UsageError(
            f"意见结论 {verdict} 无效；可选：{', '.join(x.value for x in OpinionVerdict)}",
            f"invalid verdict {verdict}; one of {', '.join(x.value for x in OpinionVerdict)}",
        ) from exc
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "opinion.record", p)
        needs = [n for n in unmet_needs if str(n.get("name") or "").strip()]
        if len(needs) != len(unmet_needs) or (v is OpinionVerdict.UNMET_NEEDS and not needs):
            raise RuleRefused(
                [
                    Reason(
                        "UNMET_NEEDS_NOT_LISTED",
                        "733号文 第九条",
                        f"部门 {department} 的意见为“需求未满足”时须列出未满足的共享需求，且每项需求须有名称",
                        f"an opinion of {department} saying needs are unmet must list them, each with a name",
                        "unmet_needs",
                        {"department": department},
                    )
                ]
            )
        asked = [c.strip() for c in conditions or ()]
        if (v is OpinionVerdict.AGREE_WITH_CHANGES and not asked) or any(not c for c in asked):
            raise RuleRefused([conditions_not_listed(department, "conditions")])
        facts = load_facts(s, p, p["lead_code"], frozenset({"departments", "catalog", "agreements"}), on)
        if department not in consulted_departments(facts) or (
            actor.role is Role.DEPARTMENT and actor.department != department
        ):
            raise RuleRefused(
                [
                    Reason(
                        "NOT_RELATED_DEPARTMENT",
                        "733号文 第九条",
                        f"部门 {department} 不是项目 {code} 的相关部门，或登记人无权代其出具意见",
                        f"department {department} is not a related department of {code}, or the user may not speak for it",
                    )
                ]
            )
        dept_id, dept_name = s.execute(select(DEPT.c.id, DEPT.c.name).where(DEPT.c.code == department)).one()
        s.execute(
            insert(t(Opinion)).values(
                project_id=p["id"],
                department_id=dept_id,
                given_on=on,
                verdict=v.value,
                unmet_needs=unmet_needs,
                comment=comment,
                conditions=[{"text": c, "answer": None} for c in asked],
            )
        )
        recheck_onboarding(s, p, business_date(app.clock()))
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app,
            s,
            actor,
            code,
            "opinion.record",
            f"{dept_name}（{department}）意见：{v.label()}"
            + (
                f"；未满足的共享需求：{'、'.join(str(n.get('name')) for n in unmet_needs)}"
                if unmet_needs
                else ""
            ),
            "733号文 第九条",
        )
        return version


def _open_onboarding_gaps(s: Session, p: Any) -> set[str]:
    """The keys of the project's open onboarding-gap findings (第十条第二款)."""
    fi = t(Finding)
    q = select(fi.c.key).where(
        fi.c.project_id == p["id"], fi.c.rule == ONBOARDING_GAP, fi.c.status == FindingStatus.OPEN.value
    )
    return set(s.execute(q).scalars())


def recheck_onboarding(s: Session, p: Any, today: date) -> int:
    """Close the project's onboarding-gap findings (第十条第二款) whose materials are now there: the gates its phase
    has passed are judged again on its current materials. Returns how many closed."""
    fi = t(Finding)
    still_open = _open_onboarding_gaps(s, p)
    if not still_open:
        return 0
    parts = frozenset({"departments", "catalog", "agreements", "needs", "opinions"})
    facts = load_facts(s, p, p["lead_code"], parts, today)
    gaps = {
        onboarding_gap_key(str(p["code"]), gate.value, r.code, dict(r.detail))
        for gate, r in gate_gaps(facts, Phase(p["phase"]), today)
    }
    supplied = sorted(still_open - gaps)
    if supplied:
        s.execute(
            update(fi)
            .where(fi.c.key.in_(supplied))
            .values(status=FindingStatus.CLOSED.value, closed_on=today, closed_reason=MATERIALS_SUPPLIED)
        )
    return len(supplied)


def settle_due_dates(
    s: Session,
    calendar: WorkCalendar,
    *,
    project_ids: Collection[int] | None = None,
    between: tuple[date, date] | None = None,
) -> int:
    """民法典 第二百零三条: an agreement item due on a day off is due on the next working day
    (``agreement_item.due_effective``). Sets it for the items of ``project_ids`` (or, after a calendar import,
    those due ``between`` two days, recomputed) whose year the calendar knows; the others wait for their year.
    Returns how many items were moved."""
    ai, ag = t(AgreementItem), t(Agreement)
    q = select(ai.c.id, ai.c.due).where(ai.c.due.is_not(None))
    if between is not None:
        s.execute(update(ai).where(ai.c.due.between(*between)).values(due_effective=None))
        q = q.where(ai.c.due.between(*between))
    q = q.where(ai.c.due_effective.is_(None))
    rows: list[Any] = []
    if project_ids is None:
        rows = list(s.execute(q))
    else:
        ids = sorted(set(project_ids))
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            rows += s.execute(q.join(ag, ag.c.id == ai.c.agreement_id).where(ag.c.project_id.in_(part))).all()
    moved = []
    for iid, due in rows:
        try:
            if calendar.is_workday(due):
                continue
            moved.append({"iid": iid, "day": calendar.add_workdays(due, 1)})
        except CalendarDataMissing:
            continue  # set once the year (or the next) is imported
    if moved:
        s.execute(
            update(ai).where(ai.c.id == bindparam("iid")).values(due_effective=bindparam("day")),
            moved,
        )
    return len(moved)


def conditions_not_listed(department: str, path: str) -> Reason:
    return Reason(
        "CONDITIONS_NOT_LISTED",
        "733号文 第九条",
        f"部门 {department} 的意见为“修改后同意”时须逐条列出修改意见（conditions），每条不能为空",
        f"an opinion of {department} agreeing with changes must list them (conditions), none empty",
        path,
        {"department": department},
    )


@use_case
def answer_condition(
    app: App, code: str, actor_name: str, *, department: str, condition: int, answer: str
) -> int:
    """The lead department answers condition ``condition`` (1-based) of a department's latest opinion, before
    approval (第九条: 征求意见 is answered, not filed); returns the project's new version."""
    text = (answer or "").strip()
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.edit", p)
        op = t(Opinion)
        latest = s.execute(
            select(op.c.id, op.c.verdict, op.c.conditions)
            .join(DEPT, DEPT.c.id == op.c.department_id)
            .where(op.c.project_id == p["id"], DEPT.c.code == department)
            .order_by(op.c.given_on.desc(), op.c.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            raise NotFound(
                f"部门 {department} 未对项目 {code} 出具意见", f"{department} gave no opinion on {code}"
            )
        conditions = [dict(c) for c in latest.conditions or ()]
        if not 1 <= condition <= len(conditions) or not text:
            raise RuleRefused(
                [
                    Reason(
                        "CONDITION_ANSWER_INVALID",
                        "733号文 第九条",
                        f"部门 {department} 的最新意见有 {len(conditions)} 项修改意见；须指明其中一项（1–"
                        f"{len(conditions)}）并给出答复",
                        f"the latest opinion of {department} lists {len(conditions)} conditions; name one "
                        f"(1–{len(conditions)}) and give an answer",
                        "condition" if text else "answer",
                        {"department": department, "condition": condition},
                    )
                ]
            )
        today = business_date(app.clock())
        conditions[condition - 1] |= {
            "answer": text,
            "answered_on": today.isoformat(),
            "answered_by": actor.name,
        }
        s.execute(update(op).where(op.c.id == latest.id).values(conditions=conditions))
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app, s, actor, code, "opinion.answer",
            f"答复 {department} 的第 {condition} 项修改意见「{conditions[condition - 1]['text']}」：{text}",
            "733号文 第九条",
        )  # fmt: skip
        return version


# ---------------------------------------------------------------------------------------------- bulk input


@use_case
def load_portfolio(app: App, path: Path, actor_name: str | None = None) -> portfolio.LoadSummary:
    """`govflow load FILE`: the whole document is checked first and written in one transaction, or nothing is."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "portfolio.load")  # before reading a file the actor may not load at all
    # shape errors do not stop here: load() reports them with the rule breaches of the rows that parsed
    parsed = portfolio.parse_document(path)
    with unit_of_work(app.engine) as s:
        # creating users (possibly admins) is user administration, even when their rows are malformed
        if parsed.doc.users or "users" in parsed.kept:
            authorize(app, s, actor, "user.admin")
        now = app.clock()
        summary = portfolio.load(
            s, parsed, actor=actor.name, role=actor.role.value, now=now, today=now.date()
        )
        ids = ids_by_code(s, PROJECT, [p.code for p in parsed.doc.projects])
        settle_due_dates(s, app.calendar, project_ids=ids.values())
        return summary


@use_case
def import_evidence(app: App, path: Path, actor_name: str | None = None, *, replace: bool = False) -> int:
    """Delivery evidence from a CSV/XLSX export of the exchange platform; all rows or none.

    The file is read and checked (:mod:`govflow.lifecycle.evidence`) between two transactions: a read that resolves the
    actor, refuses a role that may not import at all and loads the codes rows may name, and the write, which
    checks the department scope on every project the file names (before any row error is shown: a report
    must not tell a department about projects it may not see), refuses a file imported before (same SHA-256),
    writes the sums — refusing every row whose (item, consumer, day) is already on record, unless ``replace``
    — and records one audit event. Reading a million rows inside the write transaction would hold SQLite's
    write lock for seconds.
    """
    from govflow.lifecycle import evidence  # imported here: the rest of this module does not need it

    action = "evidence.import"
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, action)
        refs = evidence.References.load(s)
    batch = evidence.read_evidence(path, refs, app.clock().date())
    with unit_of_work(app.engine) as s:
        evidence.lock(s)  # one import at a time: the same file twice at once is recorded once
        # the department scope on every project named, read in bulk; a refusal goes through authorize
        codes, refused = evidence.refused_project(
            s, actor.role, action, actor.name, actor.department, batch.project_ids, refs
        )
        if refused is not None:
            authorize(app, s, actor, action, _project_row(s, refused))
        evidence.refuse_if_imported(s, batch)
        written = evidence.write_evidence(s, batch, replace=replace)  # or every bad row, raised at once
        record_change(app, s, actor, action, note=evidence.audit_note(batch, written, codes))
        return written.keys


#: phases in which the lead department may still change its catalog (the proposal, or its refinement, 第九条)
CATALOG_EDIT_PHASES = frozenset({Phase.DRAFT, Phase.PROPOSAL_APPROVED, Phase.REJECTED})


@use_case
def import_catalog(app: App, code: str, path: Path, actor_name: str) -> dict[str, int]:
    """共享信息目录 from CSV/XLSX into a project: new codes are added, known codes are refined in place.

    All or nothing: shape, rule and reference problems of every row are reported together, once.
    """
    rows = tabular.read_catalog(path)  # an unreadable file or a wrong header is refused here; bad rows below
    return _write_catalog(app, code, rows, path.name, actor_name)


@use_case
def add_catalog_item(app: App, code: str, cells: Mapping[str, str], actor_name: str) -> dict[str, int]:
    """One catalog item from a web form (its fields named as the file's columns), checked and written exactly
    as a one-row file would be: a known code is refined in place."""
    return _write_catalog(app, code, tabular.read_catalog_cells(cells), "网页表单", actor_name)


def _write_catalog(
    app: App, code: str, rows: tabular.Rows[portfolio.CatalogItemIn], source: str, actor_name: str
) -> dict[str, int]:
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "catalog.import", p)
        if Phase(p["phase"]) not in CATALOG_EDIT_PHASES:
            allowed = "、".join(ph.zh for ph in sorted(CATALOG_EDIT_PHASES))
            raise RuleRefused(
                [
                    Reason(
                        "CATALOG_LOCKED",
                        "733号文 第九条",
                        f"项目处于「{Phase(p['phase']).zh}」，共享信息目录只能在{allowed}阶段编制或细化",
                        f"the project is in '{Phase(p['phase']).en}'; its catalog can only change in draft, "
                        "proposal approved or rejected",
                    )
                ]
            )
        departments = set(s.execute(select(DEPT.c.code)).scalars())
        reasons = tabular.catalog_problems(rows, departments)
        if reasons:
            raise InvalidInput(reasons)
        items = rows.values
        ci, auth = t(CatalogItem), t(CatalogAuthorization)
        dept_id = {str(c): int(i) for i, c in s.execute(select(DEPT.c.id, DEPT.c.code))}
        known = {
            str(c): int(i) for i, c in s.execute(select(ci.c.id, ci.c.code).where(ci.c.project_id == p["id"]))
        }
        added = refined = 0
        for item in items:
            values = portfolio.catalog_values(item, int(p["id"]), dept_id[item.provider])
            if item.code in known:
                item_id = known[item.code]
                s.execute(update(ci).where(ci.c.id == item_id).values(**values))
                s.execute(delete(auth).where(auth.c.catalog_item_id == item_id))
                refined += 1
            else:
                item_id = s.execute(insert(ci).values(**values).returning(ci.c.id)).scalar_one()
                added += 1
            if item.authorized_codes:
                s.execute(
                    insert(auth),
                    [
                        {"catalog_item_id": item_id, "department_id": dept_id[c]}
                        for c in dict.fromkeys(item.authorized_codes)
                    ],
                )
        recheck_onboarding(s, p, business_date(app.clock()))
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app,
            s,
            actor,
            code,
            "catalog.import",
            f"{source}: 新增 {added} 条，细化 {refined} 条",
            "733号文 第九条",
        )
        return {"added": added, "refined": refined, "version": version}


#: phases in which the lead department may still change its proposal materials (needs analysis)
PROPOSAL_EDIT_PHASES = frozenset({Phase.DRAFT, Phase.REJECTED})


def _edit_refused(
    code: str, phase: Phase, what_zh: str, what_en: str, allowed: frozenset[Phase], cite: str
) -> RuleRefused:
    names = "、".join(p.zh for p in sorted(allowed))
    return RuleRefused(
        [
            Reason(
                "MATERIALS_LOCKED",
                cite,
                f"项目 {code} 处于「{phase.zh}」，{what_zh}只能在{names}阶段修改",
                f"project {code} is in '{phase.en}'; its {what_en} can only change in "
                + ", ".join(p.en for p in sorted(allowed)),
            )
        ]
    )


def _materials_audit(
    app: App, s: Session, actor: Actor, code: str, action: str, note: str, cite: str
) -> None:
    record_change(app, s, actor, action, project_code=code, note=note, clauses=[cite])


@use_case
def add_agreements(app: App, code: str, path: Path, actor_name: str) -> dict[str, int]:
    """信息共享协定或联合发文 (第八条) from a YAML/JSON file into an existing project, all or nothing.

    Agreements are added, never overwritten (a signed agreement is a record); any phase before the project's
    end, since 第八条 asks that authorizations be adjusted while the system runs too."""
    return _add_agreements(app, code, lambda: portfolio.parse_agreements(path), path.name, actor_name)


@use_case
def add_agreement(app: App, code: str, agreement: Mapping[str, Any], actor_name: str) -> dict[str, int]:
    """One agreement from a web form (the file's keys: code, form, parties, signed_on, term, basis, items),
    validated by the same model and checked and written exactly as a file of one agreement would be."""
    return _add_agreements(
        app,
        code,
        lambda: portfolio.agreements_from({"agreements": [dict(agreement)]}),
        "网页表单",
        actor_name,
    )


def _add_agreements(
    app: App, code: str, read: Callable[[], list[portfolio.AgreementIn]], source: str, actor_name: str
) -> dict[str, int]:
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.edit", _project_row(s, code))
    agreements = read()  # after the permission: a file is not read for who may not add agreements at all
    with unit_of_work(app.engine) as s:
        p = _project_row(s, code)
        authorize(app, s, actor, "project.edit", p)
        phase = Phase(p["phase"])
        if phase in (Phase.RETIRED, Phase.WITHDRAWN):
            allowed = frozenset(Phase) - {Phase.RETIRED, Phase.WITHDRAWN}
            raise _edit_refused(code, phase, "共享协定", "agreements", allowed, "733号文 第八条")
        ag = t(Agreement)
        reasons = portfolio.check_new_agreements(
            agreements,
            project=code,
            lead=p["lead_code"],
            catalog={c.code: c for c in load_catalog(s, int(p["id"]))},
            existing_codes=set(s.execute(select(ag.c.code).where(ag.c.project_id == p["id"])).scalars()),
            departments=set(s.execute(select(DEPT.c.code)).scalars()),
            today=business_date(app.clock()),
        )
        if reasons:
            raise InvalidInput(reasons)
        written = portfolio.write_agreements(s, code, int(p["id"]), agreements)
        settle_due_dates(s, app.calendar, project_ids=[int(p["id"])])
        recheck_onboarding(s, p, business_date(app.clock()))
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app, s, actor, code, "agreement.add",
            f"{source}: 协定 {', '.join(a.code for a in agreements)}（{written['agreement_items']} 个条目）",
            "733号文 第八条",
        )  # fmt: skip
        return {**written, "version": version}


@use_case
def set_needs_analysis(
    app: App,
    code: str,
    actor_name: str,
    *,
    internal: str | None,
    external: str | None,
    central_local: str | None,
) -> int:
    """需求分析 (第九条): the three dimensions of sharing needs; given dimensions replace the recorded ones."""
    from govflow.models.tables import NeedsAnalysis

    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.edit", p)
        # a legacy project still lacking a passed gate's materials may supply them whatever its phase
        if Phase(p["phase"]) not in PROPOSAL_EDIT_PHASES and not _open_onboarding_gaps(s, p):
            raise _edit_refused(
                code, Phase(p["phase"]), "需求分析", "needs analysis", PROPOSAL_EDIT_PHASES, "733号文 第九条"
            )
        na = t(NeedsAnalysis)
        given = {
            k: v
            for k, v in (("internal", internal), ("external", external), ("central_local", central_local))
            if v is not None
        }
        if not given:
            raise UsageError(
                "至少给出一个维度（--internal / --external / --central-local）", "give at least one dimension"
            )
        if s.execute(select(na.c.id).where(na.c.project_id == p["id"])).first() is None:
            s.execute(insert(na).values(project_id=p["id"], needs=[], **given))
        else:
            s.execute(update(na).where(na.c.project_id == p["id"]).values(**given))
        recheck_onboarding(s, p, business_date(app.clock()))
        version = bump_version(s, int(p["id"]))
        _materials_audit(app, s, actor, code, "needs.set", "需求分析：" + "、".join(given), "733号文 第九条")
        return version
