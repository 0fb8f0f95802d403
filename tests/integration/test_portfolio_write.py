"""Writing a portfolio document (``govflow.lifecycle.portfolio.write`` / ``load``), on SQLite and PostgreSQL.

The demo document is the fixture: its counts, its links (ids resolved per project, not by bare code), the
reuse of departments already in the database, evidence aggregation, and one audit event per project.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from govflow.demo import demo_portfolio
from govflow.lifecycle import portfolio as pf
from govflow.models.audit import verify
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AppUser,
    AuditEvent,
    CatalogAuthorization,
    CatalogItem,
    DeliveryEvidence,
    Department,
    NeedsAnalysis,
    Opinion,
    Project,
    ProjectDepartment,
    Review,
    ReviewJudgment,
)
from govflow.states.errors import InvalidInput

DEMO = demo_portfolio()
NOW = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 26)

NDRC = "11330000GF00000014"  # 浙江省发展和改革委员会
BIGDATA = "11330000GF00000027"  # 浙江省大数据发展管理局
SAMR = "11330000GF0000003A"  # 浙江省市场监督管理局
POLICE = "11330000GF0000004D"  # 浙江省公安厅
HRSS = "11330000GF0000005G"  # 浙江省人力资源和社会保障厅


@pytest.fixture(scope="module")
def demo() -> pf.PortfolioDocument:
    return pf.parse_file(DEMO)


@pytest.fixture
def loaded(engine: Engine, demo: pf.PortfolioDocument) -> pf.LoadSummary:
    with unit_of_work(engine) as s:
        return pf.load(s, demo, actor="wang", role="program_office", now=NOW, today=TODAY)


def count(s: Session, model: Any) -> int:
    return int(s.execute(select(func.count()).select_from(t(model))).scalar_one())


def ids(s: Session, model: Any) -> dict[str, int]:
    return {code: id_ for id_, code in s.execute(select(t(model).c.id, t(model).c.code))}


def catalog_ids(s: Session, project_code: str) -> dict[str, int]:
    p, c = t(Project), t(CatalogItem)
    q = select(c.c.code, c.c.id).join(p, p.c.id == c.c.project_id).where(p.c.code == project_code)
    return {code: id_ for code, id_ in s.execute(q)}


def test_demo_counts(engine: Engine, loaded: pf.LoadSummary) -> None:
    assert loaded == pf.LoadSummary(
        departments_created=8,
        departments_reused=0,
        users=11,
        projects=5,
        onboarded=2,
        catalog_items=17,
        agreements=6,
        agreement_items=16,
        opinions=12,
        reviews=10,
        evidence_rows=14,
        evidence_days=13,
    )
    with unit_of_work(engine, write=False) as s:
        assert count(s, Department) == 8
        assert count(s, AppUser) == 11
        assert count(s, Project) == 5
        assert count(s, ProjectDepartment) == 3 + 2 + 3 + 2 + 3
        assert count(s, CatalogItem) == 17
        assert count(s, CatalogAuthorization) == 3 + 1 + 3 + 1 + 2
        assert count(s, Agreement) == 6
        assert count(s, AgreementParty) == 3 + 3 + 4 + 3 + 3 + 2
        assert count(s, AgreementItem) == 16
        assert count(s, NeedsAnalysis) == 5
        assert count(s, Opinion) == 12
        assert count(s, Review) == 10
        assert count(s, ReviewJudgment) == 50
        assert count(s, DeliveryEvidence) == 13


def test_projects_start_at_their_phase_with_version_one(engine: Engine, loaded: pf.LoadSummary) -> None:
    with unit_of_work(engine, write=False) as s:
        p, d = t(Project), t(Department)
        rows = s.execute(
            select(
                p.c.code, p.c.phase, p.c.version, p.c.last_event_at, p.c.created_at, p.c.om_budget, d.c.code
            )
            .join(d, d.c.id == p.c.lead_department_id)
            .order_by(p.c.code)
        ).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("ZJ-2026-001", "draft", 1),
        ("ZJ-2026-002", "draft", 1),
        ("ZJ-2026-003", "draft", 1),
        ("ZJ-2026-004", "construction", 1),
        ("ZJ-2026-005", "operation", 1),
    ]
    assert all(r[3] == NOW and r[4] == NOW for r in rows)
    assert rows[0][5] == Decimal("1200000.00")
    assert rows[0][6] == BIGDATA


def test_links_resolve_within_each_project(engine: Engine, loaded: pf.LoadSummary) -> None:
    """C-001 exists in several projects: every link must point at the item of its own project."""
    with unit_of_work(engine, write=False) as s:
        dept, proj = ids(s, Department), ids(s, Project)
        p1, p3 = catalog_ids(s, "ZJ-2026-001"), catalog_ids(s, "ZJ-2026-003")
        assert set(p1) == {"C-001", "C-002", "C-003", "C-004", "C-005"}
        assert p1["C-001"] != p3["C-001"]

        c = t(CatalogItem)
        item = s.execute(select(c).where(c.c.id == p1["C-004"])).one()._mapping
        assert item["provider_id"] == dept[POLICE]
        assert (item["secrecy"], item["all_departments"]) == ("secret", False)
        assert item["fields"][0] == {"name": "cert_no", "type": "varchar(20)", "description": "证件号码"}
        auth = t(CatalogAuthorization)
        granted = s.execute(
            select(auth.c.department_id).where(auth.c.catalog_item_id == p1["C-004"])
        ).scalars()
        assert list(granted) == [dept[BIGDATA]]
        assert s.execute(select(c.c.all_departments).where(c.c.id == p1["C-001"])).scalar_one() is True

        a, ai, ap = t(Agreement), t(AgreementItem), t(AgreementParty)
        a3 = s.execute(select(a.c.id).where(a.c.project_id == proj["ZJ-2026-003"])).scalar_one()
        items = s.execute(
            select(ai.c.catalog_item_id, ai.c.consumer_id, ai.c.due).where(ai.c.agreement_id == a3)
        )
        assert {(i, cons) for i, cons, _ in items} == {
            (p3["C-002"], dept["11330000GF0000006K"]),
            (p3["C-003"], dept["11330000GF0000006K"]),
            (p3["C-001"], dept[SAMR]),
        }
        parties = set(s.execute(select(ap.c.department_id).where(ap.c.agreement_id == a3)).scalars())
        assert parties == {dept[c] for c in ("11330000GF0000006K", POLICE, SAMR, BIGDATA)}
        terms = s.execute(select(a.c.term_start, a.c.term_end, a.c.form).where(a.c.id == a3)).one()
        assert tuple(terms) == (dt.date(2026, 10, 1), dt.date(2029, 9, 30), "agreement")

        pd = t(ProjectDepartment)
        related = s.execute(
            select(pd.c.department_id).where(pd.c.project_id == proj["ZJ-2026-001"])
        ).scalars()
        assert set(related) == {dept[SAMR], dept[POLICE], dept[HRSS]}

        o = t(Opinion)
        unmet = s.execute(
            select(o.c.unmet_needs).where(
                o.c.project_id == proj["ZJ-2026-003"], o.c.department_id == dept[POLICE]
            )
        ).scalar_one()
        assert unmet == [{"name": "不动产抵押登记信息（涉案财产查控）", "catalog": "C-004"}]

        n = t(NeedsAnalysis)
        needs = s.execute(select(n.c.needs).where(n.c.project_id == proj["ZJ-2026-002"])).scalar_one()
        assert needs == ["企业设立登记信息实时推送", "印章刻制备案结果回传", "单位社保登记结果回传"]

        r, j = t(Review), t(ReviewJudgment)
        judged = s.execute(
            select(r.c.stage, j.c.focus_point, j.c.judgment)
            .join(j, j.c.review_id == r.c.id)
            .where(r.c.project_id == proj["ZJ-2026-001"])
        ).all()
        assert len(judged) == 15
        assert ("proposal", "technical", "partly") in {tuple(x) for x in judged}

        u = t(AppUser)
        users = {name: d for name, d in s.execute(select(u.c.name, u.c.department_id))}
        assert users["li"] == dept[BIGDATA]
        assert users["admin"] is None


def test_evidence_is_summed_per_item_consumer_and_day(engine: Engine, loaded: pf.LoadSummary) -> None:
    with unit_of_work(engine, write=False) as s:
        dept, item = ids(s, Department), catalog_ids(s, "ZJ-2026-005")["C-001"]
        e = t(DeliveryEvidence)
        q = select(e.c.records).where(
            e.c.catalog_item_id == item, e.c.consumer_id == dept[NDRC], e.c.day == dt.date(2026, 11, 25)
        )
        assert s.execute(q).scalar_one() == 1200 + 455

    # A later document with evidence only: a key already on record is refused, every such row at once, and
    # nothing is written (a document loaded twice must not count twice); new keys alone go in.
    later = pf.PortfolioDocument.model_validate(
        {
            "evidence": [
                {
                    "project": "ZJ-2026-005",
                    "catalog": "C-001",
                    "consumer": NDRC,
                    "date": "2026-11-25",
                    "records": 45,
                },
                {
                    "project": "ZJ-2026-005",
                    "catalog": "C-001",
                    "consumer": NDRC,
                    "date": "2026-11-25",
                    "records": 100,
                },
                {
                    "project": "ZJ-2026-005",
                    "catalog": "C-001",
                    "consumer": NDRC,
                    "date": "2026-11-26",
                    "records": 7,
                },
            ]
        }
    )
    with pytest.raises(InvalidInput) as err, unit_of_work(engine) as s:
        pf.load(s, later, actor="wang", role="program_office", now=NOW, today=TODAY)
    assert [(r.code, r.path) for r in err.value.reasons] == [
        ("EVIDENCE_ALREADY_RECORDED", "evidence[0].date"),
        ("EVIDENCE_ALREADY_RECORDED", "evidence[1].date"),
    ]
    assert "1655" in err.value.reasons[0].message
    with unit_of_work(engine, write=False) as s:
        assert s.execute(q).scalar_one() == 1200 + 455
        assert count(s, DeliveryEvidence) == 13
    new_day = pf.PortfolioDocument.model_validate(
        {"evidence": [later.model_dump(mode="json")["evidence"][2]]}
    )
    with unit_of_work(engine) as s:
        summary = pf.load(s, new_day, actor="wang", role="program_office", now=NOW, today=TODAY)
    assert (summary.evidence_rows, summary.evidence_days, summary.projects) == (1, 1, 0)
    with unit_of_work(engine, write=False) as s:
        assert count(s, DeliveryEvidence) == 14


def test_evidence_for_an_unknown_item_of_an_existing_project_is_refused(
    engine: Engine, loaded: pf.LoadSummary
) -> None:
    later = pf.PortfolioDocument.model_validate(
        {
            "evidence": [
                {
                    "project": "ZJ-2026-005",
                    "catalog": "C-404",
                    "consumer": NDRC,
                    "date": "2026-11-25",
                    "records": 1,
                }
            ]
        }
    )
    with pytest.raises(InvalidInput) as err, unit_of_work(engine) as s:
        pf.load(s, later, actor="wang", role="program_office", now=NOW, today=TODAY)
    assert [(r.code, r.path) for r in err.value.reasons] == [("UNKNOWN_CATALOG_ITEM", "evidence[0].catalog")]


def test_existing_departments_are_reused(engine: Engine, demo: pf.PortfolioDocument) -> None:
    with unit_of_work(engine) as s:
        s.execute(
            insert(t(Department)).values(
                code=NDRC, name="浙江省发改委（已登记）", region="330000", level="provincial"
            )
        )
    with unit_of_work(engine) as s:
        before = ids(s, Department)[NDRC]
        summary = pf.load(s, demo, actor="admin", role="admin", now=NOW, today=TODAY)
    assert (summary.departments_created, summary.departments_reused) == (7, 1)
    with unit_of_work(engine, write=False) as s:
        assert count(s, Department) == 8
        d = t(Department)
        assert s.execute(select(d.c.name).where(d.c.code == NDRC)).scalar_one() == "浙江省发改委（已登记）"
        u, p = t(AppUser), t(Project)
        assert s.execute(select(u.c.department_id).where(u.c.name == "wang")).scalar_one() == before
        lead = s.execute(select(p.c.lead_department_id).where(p.c.code == "ZJ-2026-005")).scalar_one()
        assert lead == before


def test_a_document_may_refer_to_departments_only_in_the_database(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        s.execute(
            insert(t(Department)),
            [{"code": c, "name": c, "region": "330000", "level": "provincial"} for c in (NDRC, SAMR)],
        )
    doc = pf.PortfolioDocument.model_validate(
        {
            "projects": [
                {
                    "code": "ZJ-2026-100",
                    "name": "只引用已有部门的项目",
                    "lead_department": NDRC,
                    "departments": [SAMR],
                    "catalog": [
                        {
                            "code": "C-1",
                            "name": "x",
                            "provider": SAMR,
                            "category": "business",
                            "share_type": "unconditional",
                            "method": "query",
                            "update_frequency": "daily",
                            "secrecy": "public",
                        }
                    ],
                }
            ]
        }
    )
    with unit_of_work(engine) as s:
        summary = pf.load(s, doc, actor="wang", role="program_office", now=NOW, today=TODAY)
    assert (summary.departments_created, summary.departments_reused, summary.catalog_items) == (0, 0, 1)


def test_loading_again_is_refused_and_writes_nothing(
    engine: Engine, loaded: pf.LoadSummary, demo: pf.PortfolioDocument
) -> None:
    with pytest.raises(InvalidInput) as err, unit_of_work(engine) as s:
        pf.load(s, demo, actor="wang", role="program_office", now=NOW, today=TODAY)
    codes = {(r.code, r.path) for r in err.value.reasons}
    assert ("PROJECT_EXISTS", "projects[0].code") in codes
    assert ("USER_EXISTS", "users[0].name") in codes
    assert len([c for c, _ in codes if c == "PROJECT_EXISTS"]) == 5
    with unit_of_work(engine, write=False) as s:
        assert count(s, Project) == 5
        assert count(s, AuditEvent) == 5


def test_one_audit_event_per_project(engine: Engine, loaded: pf.LoadSummary) -> None:
    with unit_of_work(engine, write=False) as s:
        a = t(AuditEvent)
        rows = s.execute(
            select(
                a.c.project_code,
                a.c.kind,
                a.c.action,
                a.c.outcome,
                a.c.actor,
                a.c.role,
                a.c.from_phase,
                a.c.to_phase,
                a.c.occurred_at,
                a.c.note,
            ).order_by(a.c.seq)
        ).all()
        report = verify(s)
    assert report.ok and report.checked == 5
    by_code = {r[0]: r for r in rows}
    assert [r[0] for r in rows] == [f"ZJ-2026-00{i}" for i in range(1, 6)]
    for code in ("ZJ-2026-001", "ZJ-2026-002", "ZJ-2026-003"):
        assert tuple(by_code[code][1:8]) == (
            "data",
            "create",
            "recorded",
            "wang",
            "program_office",
            None,
            "draft",
        )
    for code, phase, zh in (
        ("ZJ-2026-004", "construction", "建设实施"),
        ("ZJ-2026-005", "operation", "运行维护"),
    ):
        row = by_code[code]
        assert tuple(row[1:8]) == ("onboarding", "onboard", "recorded", "wang", "program_office", None, phase)
        assert zh in row[9] and "项目组合文档" in row[9] and phase in row[9]
    assert all(r[8] == NOW for r in rows)


def test_shape_rule_and_reference_problems_of_every_row_are_reported_at_once(
    engine: Engine, tmp_path: Path
) -> None:
    """A malformed row is set aside and reported; the rows that parsed are still judged, under the paths and
    lines of the file; references to a row set aside are not reported again."""
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    doc["departments"][1]["level"] = "national"  # BIGDATA: named by many agreements
    projects = doc["projects"]
    projects[0]["catalog"][0]["share_type"] = "sometimes"  # C-001, named by agreement A-001
    projects[0]["catalog"][2]["category"] = "basic"  # conditional: 第三条
    projects[1]["om_budget"] = "lots"  # the whole project is set aside
    projects[2]["lead_department"] = "91330000MA0000000X"
    projects[3]["code"] = "ZJ-2026-003"  # the code of projects[2]
    projects[3]["catalog"][1]["secrecy"] = "topsecret"
    projects[3]["agreements"][0]["items"][1]["consumer"] = "91330000MA0000000X"
    doc["evidence"][0]["records"] = "many"
    doc["evidence"][5]["date"] = dt.date(2026, 12, 1)
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(InvalidInput) as err, unit_of_work(engine) as s:
        pf.load(s, pf.parse_document(path), actor="wang", role="program_office", now=NOW, today=TODAY)
    reasons = err.value.reasons
    assert [(r.code, r.path) for r in reasons] == [
        ("SCHEMA", "departments[1].level"),
        ("SCHEMA", "projects[0].catalog[0].share_type"),
        ("BASIC_NOT_UNCONDITIONAL", "projects[0].catalog[2].share_type"),
        ("BASIC_NOT_ALL_DEPARTMENTS", "projects[0].catalog[2].authorized"),
        ("SCHEMA", "projects[1].om_budget"),
        ("UNKNOWN_DEPARTMENT", "projects[2].lead_department"),
        ("DUPLICATE_CODE", "projects[3].code"),
        ("SCHEMA", "projects[3].catalog[1].secrecy"),
        ("UNKNOWN_DEPARTMENT", "projects[3].agreements[0].items[1].consumer"),
        ("SCHEMA", "evidence[0].records"),
        ("EVIDENCE_IN_FUTURE", "evidence[5].date"),
    ]
    duplicate = reasons[6]
    assert (
        "首次出现于 projects[2].code" in duplicate.message and duplicate.detail["first"] == "projects[2].code"
    )
    assert "（第 9 行）" in reasons[0].message  # shape errors keep the YAML line
    with unit_of_work(engine, write=False) as s:
        assert count(s, Project) == 0 and count(s, Department) == 0 and count(s, DeliveryEvidence) == 0


def test_a_document_whose_frame_is_broken_reports_its_shape_alone(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    doc["departments"] = {"code": NDRC}  # not a list: no row can be told from another
    doc["projects"][0]["catalog"][0]["category"] = "basic"
    doc["projects"][0]["catalog"][0]["share_type"] = "conditional"
    path = tmp_path / "frame.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        pf.parse_document(path)
    assert [(r.code, r.path) for r in err.value.reasons] == [("SCHEMA", "departments")]
