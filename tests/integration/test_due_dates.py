"""Due dates on days off (《中华人民共和国民法典》第二百零三条; issue 10, 7), on SQLite and PostgreSQL: an agreement
item due on a day off is due on the next working day — for the sweep, acceptance and the explanation alike — and
an item due in a year the calendar does not know yet is moved once that year is imported.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import select

from govflow.governance.calendar_years import import_calendar
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import Agreement, AgreementItem, CatalogItem, Finding
from govflow.states.findings import describe_finding
from tests.integration.test_rectification import FICTIONAL_2027, app  # noqa: F401  (demo portfolio, pinned clock)

NDRC, SAMR, POLICE = "11330000GF00000014", "11330000GF0000003A", "11330000GF0000004D"


def add_a009(gov: App, tmp: Path) -> None:
    """ZJ-2026-005 (in operation) promises C-001 to 公安厅 by 2026-10-01 (国庆: the next working day is 10-08)
    and C-003 by 2027-01-01 (a year the packaged calendar does not know)."""
    item = {"quality": "与登记簿一致", "quantity": "每日增量", "update_frequency": "daily", "scope": "用于核验",
            "usage": "库表交换", "consumer": POLICE}  # fmt: skip
    doc = {
        "agreements": [
            {
                "code": "A-009",
                "form": "agreement",
                "parties": [NDRC, SAMR, POLICE],
                "signed_on": "2026-01-05",
                "term": {"start": "2026-01-01", "end": "2028-12-31"},
                "basis": "测试协定",
                "items": [
                    item | {"catalog": "C-001", "due": "2026-10-01"},
                    item | {"catalog": "C-003", "due": "2027-01-01"},
                ],
            }
        ]
    }
    path = tmp / "a009.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    services.add_agreements(gov, "ZJ-2026-005", path, "xu")


def dues(gov: App) -> dict[str, tuple[date, date | None]]:
    ai, ag, ci = t(AgreementItem), t(Agreement), t(CatalogItem)
    q = (
        select(ci.c.code, ai.c.due, ai.c.due_effective)
        .join(ag, ag.c.id == ai.c.agreement_id)
        .join(ci, ci.c.id == ai.c.catalog_item_id)
        .where(ag.c.code == "A-009")
    )
    with unit_of_work(gov.engine, write=False) as s:
        return {str(c): (d, e) for c, d, e in s.execute(q)}


def missed(gov: App) -> dict[str, dict[str, object]]:
    fi = t(Finding)
    with unit_of_work(gov.engine, write=False) as s:
        rows = s.execute(select(fi.c.key, fi.c.evidence).where(fi.c.key.contains("/MILESTONE_MISSED/A-009/")))
        return {str(k): dict(e) for k, e in rows}


def test_a_due_date_on_a_holiday_moves_to_the_next_working_day(app: App, tmp_path: Path) -> None:  # noqa: F811
    add_a009(app, tmp_path)
    assert dues(app) == {"C-001": (date(2026, 10, 1), date(2026, 10, 8)), "C-003": (date(2027, 1, 1), None)}
    run_sweep(app, date(2026, 10, 8))  # the moved due day itself is still in time
    assert missed(app) == {}
    run_sweep(app, date(2026, 10, 9))
    [(key, evidence)] = missed(app).items()
    assert key == f"ZJ-2026-005/MILESTONE_MISSED/A-009/C-001/{POLICE}/2026-10-08"
    assert evidence["expected"] == {"due": "2026-10-08", "stated_due": "2026-10-01"}
    said = describe_finding("MILESTONE_MISSED", evidence)
    assert "实现进度为 2026-10-08（约定 2026-10-01 适逢休息日或法定节假日" in said and "第二百零三条" in said
    assert "Civil Code art. 203" in describe_finding("MILESTONE_MISSED", evidence, "en")


def test_a_due_date_in_a_year_without_data_moves_when_the_year_is_imported(app: App, tmp_path: Path) -> None:  # noqa: F811
    add_a009(app, tmp_path)
    import_calendar(app, FICTIONAL_2027, "admin")
    assert dues(app)["C-003"] == (
        date(2027, 1, 1),
        date(2027, 1, 4),
    )  # 2027-01-01…03 off in the imported year
    assert dues(app)["C-001"] == (date(2026, 10, 1), date(2026, 10, 8))  # recomputed the same
