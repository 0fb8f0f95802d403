"""Parsing and checking portfolio documents and CSV/XLSX tables, without a database.

Every bad input must come back as a reason with the exact path, code and clause, and all of them at once.
The demo portfolio is checked too: it is valid, and each project meets the lifecycle guards as its header says.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from govflow.demo import demo_portfolio
from govflow.lifecycle import portfolio as pf
from govflow.lifecycle import tabular as tb
from govflow.states import guards
from govflow.states.errors import InvalidInput, UsageError
from govflow.states.phases import Event, Phase
from govflow.states.sharing import NeedsFact, OpinionFact, ProjectFacts, ReviewFact, UnmetNeed

DATA = Path(__file__).resolve().parents[1] / "data"
DEMO = demo_portfolio()
TODAY = dt.date(2026, 11, 26)
DOC = "govflow 项目组合文档"

NDRC = "11330000GF00000014"
BIGDATA = "11330000GF00000027"
SAMR = "11330000GF0000003A"
POLICE = "11330000GF0000004D"
HRSS = "11330000GF0000005G"


def reasons_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[str, str, str | None]]:
    return [(r.code, r.clause, r.path) for r in exc.value.reasons]


def valid() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA / "portfolio-valid.yaml").read_text(encoding="utf-8"))
    return data


def write_yaml(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# -- the valid document ---------------------------------------------------------------------------------------


def test_a_valid_document_passes() -> None:
    doc = pf.parse_file(DATA / "portfolio-valid.yaml")
    assert pf.check(doc, pf.Existing(), TODAY) == []
    assert [p.code for p in doc.projects] == ["ZJ-2026-001"]
    p = doc.projects[0]
    assert p.phase is Phase.DRAFT
    assert p.om_budget == Decimal("1200000.00")
    assert doc.departments[2].region == "330000"  # YAML read 330000 as a number
    assert p.agreements[0].signed_on == dt.date(2026, 3, 1)
    # authorized omitted: all departments for an unconditional public item
    assert p.catalog[0].all_departments and not p.catalog[1].all_departments
    assert p.catalog[1].authorized_codes == (BIGDATA,)


def test_json_with_the_same_keys_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(valid(), ensure_ascii=False, default=str), encoding="utf-8")
    assert pf.parse_file(path) == pf.parse_file(DATA / "portfolio-valid.yaml")


def test_departments_in_the_database_may_be_referred_to() -> None:
    data = valid()
    data["departments"] = []
    doc = pf.PortfolioDocument.model_validate(data)
    existing = pf.Existing(departments=frozenset({NDRC, BIGDATA, SAMR}))
    assert pf.check(doc, existing, TODAY) == []


# -- rule-breaking documents: every reason, with its path, at once --------------------------------------------


def test_every_rule_broken_is_reported_with_path_code_and_clause() -> None:
    doc = pf.parse_file(DATA / "portfolio-bad-rules.yaml")
    got = [(r.code, r.clause, r.path) for r in pf.check(doc, pf.Existing(), TODAY)]
    assert got == [
        ("CREDIT_CODE_INVALID", "GB 32100-2015", "departments[1].code"),
        ("UNKNOWN_DEPARTMENT", DOC, "projects[0].departments[1]"),
        ("BASIC_NOT_UNCONDITIONAL", "733号文 第三条", "projects[0].catalog[0].share_type"),
        ("SECRET_WITHOUT_AUTHORIZATION", "733号文 第二条第三款", "projects[0].catalog[1].authorized"),
        ("AGREEMENT_ITEM_TERM_MISSING", "733号文 第八条", "projects[0].agreements[0].items[0].due"),
        ("EVIDENCE_NEGATIVE", DOC, "evidence[0].records"),
        ("EVIDENCE_IN_FUTURE", DOC, "evidence[1].date"),
    ]


def test_messages_name_the_value_and_say_what_to_do() -> None:
    doc = pf.parse_file(DATA / "portfolio-bad-rules.yaml")
    by_code = {r.code: r for r in pf.check(doc, pf.Existing(), TODAY)}
    unknown = by_code["UNKNOWN_DEPARTMENT"]
    assert "91330000MA0000000X" in unknown.message and "departments" in unknown.message
    assert "91330000MA0000000X" in unknown.message_en
    assert "2026-12-01" in by_code["EVIDENCE_IN_FUTURE"].message
    assert by_code["AGREEMENT_ITEM_TERM_MISSING"].detail == {"missing": ["due"]}
    # a share type in the words of the page's language, not the file's code (conditional)
    basic = by_code["BASIC_NOT_UNCONDITIONAL"]
    assert "「有条件共享」" in basic.message and "conditional" not in basic.message
    assert "not 'conditional'" in basic.message_en


@pytest.mark.parametrize(
    ("edit", "code", "clause", "path"),
    [
        (lambda d: d["projects"].append(dict(d["projects"][0])), "DUPLICATE_CODE", DOC, "projects[1].code"),
        (
            lambda d: d["departments"].append(dict(d["departments"][0])),
            "DUPLICATE_CODE",
            DOC,
            "departments[3].code",
        ),
        (
            lambda d: d["projects"][0]["catalog"].append(dict(d["projects"][0]["catalog"][0])),
            "DUPLICATE_CODE",
            DOC,
            "projects[0].catalog[2].code",
        ),
        (
            lambda d: d["departments"][0].update(region="33000"),
            "REGION_INVALID",
            "GB/T 2260",
            "departments[0].region",
        ),
        (lambda d: d["users"][1].pop("department"), "USER_DEPARTMENT_MISSING", DOC, "users[1].department"),
        (lambda d: d["users"][1].update(department="X"), "UNKNOWN_DEPARTMENT", DOC, "users[1].department"),
        (
            lambda d: d["users"].append({"name": "wang", "role": "audit"}),
            "DUPLICATE_CODE",
            DOC,
            "users[2].name",
        ),
        (
            lambda d: d["projects"][0].update(lead_department="X"),
            "UNKNOWN_DEPARTMENT",
            DOC,
            "projects[0].lead_department",
        ),
        (
            lambda d: d["projects"][0]["catalog"][0].update(provider="X"),
            "UNKNOWN_DEPARTMENT",
            DOC,
            "projects[0].catalog[0].provider",
        ),
        (
            lambda d: d["projects"][0]["catalog"][1].update(authorized=[BIGDATA, "X"]),
            "UNKNOWN_DEPARTMENT",
            DOC,
            "projects[0].catalog[1].authorized[1]",
        ),
        (
            lambda d: d["projects"][0]["catalog"][1].update(authorized="all"),
            "SECRET_ALL_DEPARTMENTS",
            "733号文 第二条第三款",
            "projects[0].catalog[1].authorized",
        ),
        (
            lambda d: d["projects"][0]["catalog"][0].update(authorized=[BIGDATA]),
            "BASIC_NOT_ALL_DEPARTMENTS",
            "733号文 第三条",
            "projects[0].catalog[0].authorized",
        ),
        (
            lambda d: d["projects"][0]["catalog"][1].pop("legal_basis"),  # a conditional item
            "LEGAL_BASIS_REQUIRED",
            "国发〔2016〕51号 第九条",
            "projects[0].catalog[1].legal_basis",
        ),
        (
            lambda d: d["projects"][0]["catalog"][1].update(share_type="none", legal_basis=" "),
            "LEGAL_BASIS_REQUIRED",
            "国发〔2016〕51号 第十条",
            "projects[0].catalog[1].legal_basis",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0].update(parties=[BIGDATA]),
            "AGREEMENT_PARTIES",
            "733号文 第八条",
            "projects[0].agreements[0].parties",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0].pop("term"),
            "AGREEMENT_TERM_MISSING",
            "733号文 第八条",
            "projects[0].agreements[0].term",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0].update(basis=" "),
            "AGREEMENT_BASIS_MISSING",
            "733号文 第八条",
            "projects[0].agreements[0].basis",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0]["items"][0].update(catalog="C-404"),
            "UNKNOWN_CATALOG_ITEM",
            "733号文 第八条",
            "projects[0].agreements[0].items[0].catalog",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0]["items"][0].update(consumer="X"),
            "UNKNOWN_DEPARTMENT",
            DOC,
            "projects[0].agreements[0].items[0].consumer",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0]["items"].append(
                {**d["projects"][0]["agreements"][0]["items"][0], "catalog": "C-002", "consumer": NDRC}
            ),
            "SECRET_CONSUMER_NOT_AUTHORIZED",
            "733号文 第二条第三款",
            "projects[0].agreements[0].items[1].consumer",
        ),
        (
            lambda d: d["projects"][0]["agreements"][0]["parties"].append("X"),
            "UNKNOWN_DEPARTMENT",
            DOC,
            "projects[0].agreements[0].parties[2]",
        ),
        (
            lambda d: d["projects"][0]["opinions"][0].update(department=NDRC),
            "OPINION_NOT_RELATED",
            "733号文 第九条",
            "projects[0].opinions[0].department",
        ),
        (
            lambda d: d["projects"][0]["opinions"][0].update(verdict="unmet_needs"),
            "UNMET_NEEDS_NOT_LISTED",
            "733号文 第九条",
            "projects[0].opinions[0].unmet_needs",
        ),
        (lambda d: d["evidence"][0].update(project="ZJ-404"), "UNKNOWN_PROJECT", DOC, "evidence[0].project"),
        (
            lambda d: d["evidence"][0].update(catalog="C-404"),
            "UNKNOWN_CATALOG_ITEM",
            DOC,
            "evidence[0].catalog",
        ),
        (lambda d: d["evidence"][0].update(consumer="X"), "UNKNOWN_DEPARTMENT", DOC, "evidence[0].consumer"),
    ],
)
def test_each_rule(edit: Any, code: str, clause: str, path: str) -> None:
    data = valid()
    edit(data)
    doc = pf.PortfolioDocument.model_validate(data)
    got = [(r.code, r.clause, r.path) for r in pf.check(doc, pf.Existing(), TODAY)]
    assert (code, clause, path) in got


def test_load_creates_it_refuses_what_already_exists() -> None:
    doc = pf.parse_file(DATA / "portfolio-valid.yaml")
    existing = pf.Existing(
        users=frozenset({"li"}),
        projects=frozenset({"ZJ-2026-001"}),
        catalog_items=frozenset({("ZJ-2026-001", "C-001")}),  # the evidence row then goes to the existing one
    )
    got = [(r.code, r.path) for r in pf.check(doc, existing, TODAY)]
    assert got == [("USER_EXISTS", "users[1].name"), ("PROJECT_EXISTS", "projects[0].code")]


def test_evidence_may_refer_to_items_of_projects_in_the_database() -> None:
    doc = pf.PortfolioDocument.model_validate(
        {
            "evidence": [
                {"project": "ZJ-OLD", "catalog": "C-9", "consumer": NDRC, "date": "2026-11-26", "records": 0}
            ]
        }
    )
    known = pf.Existing(
        departments=frozenset({NDRC}),
        projects=frozenset({"ZJ-OLD"}),
        catalog_items=frozenset({("ZJ-OLD", "C-9")}),
    )
    assert pf.check(doc, known, TODAY) == []  # today itself is not the future; zero records are allowed
    unknown_item = pf.Existing(departments=frozenset({NDRC}), projects=frozenset({"ZJ-OLD"}))
    assert [r.code for r in pf.check(doc, unknown_item, TODAY)] == ["UNKNOWN_CATALOG_ITEM"]


# -- shape errors (SCHEMA) ------------------------------------------------------------------------------------


def test_every_shape_error_is_reported_with_path_and_line() -> None:
    with pytest.raises(InvalidInput) as err:
        pf.parse_file(DATA / "portfolio-bad-schema.yaml")
    assert err.value.exit_code == 3
    got = {(r.code, r.clause, r.path, r.detail["type"], r.detail["line"]) for r in err.value.reasons}
    assert got == {
        ("SCHEMA", DOC, "departments[0].level", "enum", 3),
        ("SCHEMA", DOC, "projects[0].catalog[0].share_typ", "extra_forbidden", 13),
        ("SCHEMA", DOC, "projects[0].catalog[0].share_type", "missing", 9),
        ("SCHEMA", DOC, "projects[0].catalog[0].method", "enum", 14),
        ("SCHEMA", DOC, "evidence[0].date", "date_from_datetime_parsing", 18),
    }


def test_schema_messages_state_field_rule_and_fix() -> None:
    with pytest.raises(InvalidInput) as err:
        pf.parse_file(DATA / "portfolio-bad-schema.yaml")
    by_path = {r.path: r for r in err.value.reasons}
    enum = by_path["projects[0].catalog[0].method"]
    assert enum.message.startswith("字段 projects[0].catalog[0].method（第 14 行）：")
    assert "“fax”" in enum.message and "query" in enum.message and "publish" in enum.message
    assert enum.message_en.startswith("field projects[0].catalog[0].method (line 14): value 'fax'")
    typo = by_path["projects[0].catalog[0].share_typ"]
    assert "是否应为 share_type" in typo.message and "Did you mean share_type?" in typo.message_en
    assert "2026-13-01" in by_path["evidence[0].date"].message


@pytest.mark.parametrize(
    ("edit", "path", "kind"),
    [
        (lambda d: d["users"][0].update(role="boss"), "users[0].role", "enum"),
        (lambda d: d["projects"][0].update(phase="flying"), "projects[0].phase", "enum"),
        (lambda d: d["projects"][0].update(om_budget="1.234"), "projects[0].om_budget", "decimal_max_places"),
        (lambda d: d["projects"][0].update(om_budget=-1), "projects[0].om_budget", "greater_than_equal"),
        (
            lambda d: d["projects"][0]["catalog"][1].update(authorized="some"),
            "projects[0].catalog[1].authorized",
            "authorized",
        ),
        (
            lambda d: d["projects"][0]["reviews"][0]["judgments"].update(security={"judgment": "met"}),
            "projects[0].reviews[0].judgments.security",
            "enum",
        ),
        (
            lambda d: d["projects"][0]["reviews"][0]["judgments"]["catalog"].update(judgment="ok"),
            "projects[0].reviews[0].judgments.catalog.judgment",
            "enum",
        ),
        (lambda d: d.update(project=[]), "project", "extra_forbidden"),
        (lambda d: d["evidence"][0].update(records="many"), "evidence[0].records", "int_parsing"),
    ],
)
def test_each_shape_error(tmp_path: Path, edit: Any, path: str, kind: str) -> None:
    data = valid()
    edit(data)
    with pytest.raises(InvalidInput) as err:
        pf.parse_file(write_yaml(tmp_path, data))
    assert [(r.code, r.clause, r.path, r.detail["type"]) for r in err.value.reasons] == [
        ("SCHEMA", DOC, path, kind)
    ]


def test_a_misspelt_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    data = valid()
    data["project"] = data.pop("projects")
    with pytest.raises(InvalidInput) as err:
        pf.parse_file(write_yaml(tmp_path, data))
    assert "是否应为 projects" in next(r.message for r in err.value.reasons if r.path == "project")


# -- files that cannot be read: UsageError (exit 2) -----------------------------------------------------------


def test_bad_yaml_is_a_usage_error_naming_file_and_line() -> None:
    path = DATA / "portfolio-broken.yaml"
    with pytest.raises(UsageError) as err:
        pf.parse_file(path)
    assert err.value.exit_code == 2
    assert str(path) in err.value.message and "第 3 行" in err.value.message
    assert "line 3" in err.value.message_en


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("dup.yaml", "projects: []\nusers: []\nprojects: []\n", "重复"),
        ("empty.yaml", "", "空"),
        ("list.yaml", "- a\n- b\n", "顶层"),
        ("bad.json", '{"projects": [}', "JSON"),
        ("doc.txt", "projects: []", ".yaml"),
        ("gbk.yaml", "部门".encode("gbk"), "UTF-8"),
    ],
)
def test_unreadable_files_are_usage_errors(
    tmp_path: Path, name: str, content: str | bytes, needle: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        pf.parse_file(path)
    assert needle in err.value.message and str(path) in err.value.message


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        pf.parse_file(tmp_path / "nope.yaml")


# -- the published JSON Schema --------------------------------------------------------------------------------


def test_schema_is_published_with_titles_and_descriptions() -> None:
    s = pf.schema()
    assert s["title"] == "govflow 项目组合文档 / govflow portfolio document"
    assert "733" in s["description"]
    assert s["additionalProperties"] is False
    assert set(s["properties"]) == {"$schema", "departments", "users", "projects", "evidence"}
    item = s["$defs"]["CatalogItemIn"]
    assert item["additionalProperties"] is False
    assert "第三条" in item["properties"]["share_type"]["description"]
    assert s["$defs"]["ShareType"]["enum"] == ["unconditional", "conditional", "none"]
    json.dumps(s, ensure_ascii=False)  # serializable as published


# -- CSV and XLSX ---------------------------------------------------------------------------------------------


def test_catalog_csv() -> None:
    items = tb.parse_catalog_rows(DATA / "catalog.csv")
    assert [i.code for i in items] == ["C-001", "C-002", "C-003"]
    assert items[0].authorized == "all"
    assert [(f.name, f.type, f.description) for f in items[0].fields] == [
        ("uscc", "char(18)", "统一社会信用代码"),
        ("ent_name", "varchar(200)", "企业名称"),
    ]
    assert items[1].authorized_codes == (BIGDATA, SAMR)
    assert items[1].format is None
    assert items[2].fields[0].name == "cert_no"  # a JSON list in the cell


def test_evidence_csv_with_bom_blank_rows_and_slashed_dates() -> None:
    rows = tb.parse_evidence_rows(DATA / "evidence.csv", today=TODAY)
    assert [(r.catalog, r.date, r.records) for r in rows] == [
        ("C-001", dt.date(2026, 11, 24), 1764),
        ("C-001", dt.date(2026, 11, 25), 1200),
        ("C-004", dt.date(2026, 11, 25), 71),
    ]
    assert tb.read_rows(DATA / "evidence.csv")[0]["project"] == "ZJ-2026-005"


def test_catalog_csv_errors_name_row_and_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    header = (
        "code,name,provider,category,share_type,method,update_frequency,secrecy,legal_basis,authorized,fields"
    )
    path.write_text(
        "\n".join(
            [
                header,
                f"C-1,企业登记,{SAMR},basic,conditional,exchange,daily,public,《某法》,all,",
                f"C-2,涉密,{SAMR},business,conditional,query,monthly,secret,《某法》,,",
                "",
                f"C-3,x,{SAMR},business,unconditonal,query,daily,public,,,uscc",
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as err:
        tb.parse_catalog_rows(path)
    # all at once, in row order: the rules of the rows that parse, the shape of the one that does not
    assert [(r.code, r.path) for r in err.value.reasons] == [
        ("BASIC_NOT_UNCONDITIONAL", "rows[1].share_type"),
        ("SECRET_WITHOUT_AUTHORIZATION", "rows[2].authorized"),
        ("SCHEMA", "rows[3].fields[0]"),
        ("SCHEMA", "rows[3].share_type"),
    ]
    assert "第 3 条数据，文件第 5 行" in err.value.reasons[3].message
    assert "data row 3, line 5" in err.value.reasons[3].message_en

    path.write_text(
        path.read_text(encoding="utf-8").replace("unconditonal", "unconditional").replace(",uscc", ",")
    )
    with pytest.raises(InvalidInput) as err:
        tb.parse_catalog_rows(path)
    assert reasons_of(err) == [
        ("BASIC_NOT_UNCONDITIONAL", "733号文 第三条", "rows[1].share_type"),
        ("SECRET_WITHOUT_AUTHORIZATION", "733号文 第二条第三款", "rows[2].authorized"),
    ]
    assert "文件第 2 行" in err.value.reasons[0].message


def test_evidence_rows_negative_and_future(tmp_path: Path) -> None:
    path = tmp_path / "evidence.csv"
    path.write_text(
        f"project,catalog,consumer,date,records\nP,C,{NDRC},2026-11-01,-3\nP,C,{NDRC},2026-11-27,3\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as err:
        tb.parse_evidence_rows(path, today=TODAY)
    assert reasons_of(err) == [
        ("EVIDENCE_NEGATIVE", DOC, "rows[1].records"),
        ("EVIDENCE_IN_FUTURE", DOC, "rows[2].date"),
    ]


def test_table_header_errors(tmp_path: Path) -> None:
    path = tmp_path / "evidence.csv"
    path.write_text(
        "project,catalogue,consumer,date,records,records\nP,C,D,2026-11-01,3,3\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInput) as err:
        tb.parse_evidence_rows(path)
    assert [(r.code, r.path) for r in err.value.reasons] == [
        ("SCHEMA", "columns.catalogue"),
        ("SCHEMA", "columns.catalog"),
        ("SCHEMA", "columns.records"),
    ]
    assert "是否应为 catalog" in err.value.reasons[0].message


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("e.csv", "项目".encode("gbk"), "UTF-8"),
        ("e.csv", b"", "空"),
        ("e.xls", b"", ".xlsx"),
        ("e.xlsx", b"not a zip", "XLSX"),
    ],
)
def test_unreadable_tables_are_usage_errors(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        tb.read_table(path)
    assert needle in err.value.message


def test_xlsx_first_sheet(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "交付记录"
    ws.append(["project", "catalog", "consumer", "date", "records"])
    ws.append(["ZJ-2026-005", "C-001", NDRC, dt.datetime(2026, 11, 24), 1764.0])
    ws.append([None, None, None, None, None])
    ws.append(["ZJ-2026-005", "C-004", NDRC, "2026-11-25", "bad"])
    wb.create_sheet("其他").append(["ignored"])
    path = tmp_path / "evidence.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInput) as err:
        tb.parse_evidence_rows(path)
    (reason,) = err.value.reasons
    assert (reason.path, reason.detail["type"]) == ("rows[2].records", "int_parsing")
    assert "工作表「交付记录」第 4 行" in reason.message

    ws["E4"] = 71
    wb.save(path)
    rows = tb.parse_evidence_rows(path)
    assert [(r.date, r.records) for r in rows] == [(dt.date(2026, 11, 24), 1764), (dt.date(2026, 11, 25), 71)]


# -- the demo portfolio is valid and plays out as its header says ---------------------------------------------


def facts(p: pf.ProjectIn, evidence: list[pf.EvidenceIn]) -> ProjectFacts:
    last: dict[tuple[str, str], dt.date] = {}
    for e in evidence:
        if e.project == p.code and e.records > 0:
            key = (e.catalog, e.consumer)
            last[key] = max(last.get(key, e.date), e.date)
    needs = p.needs_analysis
    return ProjectFacts(
        code=p.code,
        name=p.name,
        lead_department=p.lead_department,
        departments=tuple(p.departments),
        catalog=tuple(pf.catalog_fact(c) for c in p.catalog),
        agreements=tuple(pf.agreement_fact(a) for a in p.agreements),
        needs=NeedsFact(needs.internal, needs.external, needs.central_local) if needs else None,
        opinions=tuple(
            OpinionFact(
                o.department, o.date, o.verdict, tuple(UnmetNeed(n.name, n.catalog) for n in o.unmet_needs)
            )
            for o in p.opinions
        ),
        reviews=tuple(
            ReviewFact(
                r.stage.value, r.agency, r.date, {k: j.judgment for k, j in r.judgments.items()}, r.conclusion
            )
            for r in p.reviews
        ),
        last_delivery=last,
    )


@pytest.fixture(scope="module")
def demo() -> dict[str, ProjectFacts]:
    doc = pf.parse_file(DEMO)
    assert pf.check(doc, pf.Existing(), TODAY) == []
    return {p.code: facts(p, doc.evidence) for p in doc.projects}


def codes(guard: Any, f: ProjectFacts, event: Event, source: Phase) -> list[str]:
    return [r.code for r in guard(f, guards.GuardContext(event, source, TODAY)).reasons]


def test_demo_complete_project_passes_every_guard(demo: dict[str, ProjectFacts]) -> None:
    f = demo["ZJ-2026-001"]
    assert codes(guards.intake, f, Event.INTAKE, Phase.PROPOSAL_SUBMITTED) == []
    for source in (Phase.PROPOSAL_REVIEW, Phase.FEASIBILITY_REVIEW, Phase.DESIGN_REVIEW):
        assert codes(guards.approve, f, Event.APPROVE, source) == []
    assert codes(guards.submit_feasibility, f, Event.SUBMIT_FEASIBILITY, Phase.PROPOSAL_APPROVED) == []
    assert codes(guards.pass_acceptance, f, Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW) == []


def test_demo_intake_refused_for_missing_agreement_and_opinion(demo: dict[str, ProjectFacts]) -> None:
    f = demo["ZJ-2026-002"]
    reasons = guards.intake(f, guards.GuardContext(Event.INTAKE, Phase.PROPOSAL_SUBMITTED, TODAY)).reasons
    assert [(r.code, r.detail.get("department")) for r in reasons] == [
        ("NO_AGREEMENT", None),
        ("OPINION_MISSING", POLICE),
    ]


def test_demo_approval_refused_for_an_uncovered_need(demo: dict[str, ProjectFacts]) -> None:
    f = demo["ZJ-2026-003"]
    assert codes(guards.intake, f, Event.INTAKE, Phase.PROPOSAL_SUBMITTED) == []
    assert codes(guards.approve, f, Event.APPROVE, Phase.PROPOSAL_REVIEW) == ["UNMET_NEED_NOT_COVERED"]


def test_demo_onboarded_construction_project_fails_acceptance(demo: dict[str, ProjectFacts]) -> None:
    f = demo["ZJ-2026-004"]
    reasons = guards.pass_acceptance(
        f, guards.GuardContext(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, TODAY)
    )
    assert sorted((r.code, r.detail["catalog"]) for r in reasons.reasons) == [
        ("DELIVERY_MISSING", "C-001"),
        ("DELIVERY_MISSING", "C-002"),
    ]


def test_demo_operation_project_has_evidence(demo: dict[str, ProjectFacts]) -> None:
    f = demo["ZJ-2026-005"]
    assert f.last_delivery[("C-001", NDRC)] == dt.date(2026, 11, 25)
    assert set(f.last_delivery) == {("C-001", NDRC), ("C-002", NDRC), ("C-003", SAMR), ("C-004", NDRC)}


def test_demo_has_a_user_for_every_role() -> None:
    doc = pf.parse_file(DEMO)
    assert {u.role.value for u in doc.users} == {
        "department",
        "program_office",
        "review_agency",
        "finance",
        "audit",
        "admin",
    }
    leads = {p.lead_department for p in doc.projects}
    assert leads <= {u.department for u in doc.users if u.role.value == "department"}
