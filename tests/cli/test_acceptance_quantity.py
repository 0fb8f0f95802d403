"""Acceptance judges deliveries (733号文 第十一条, 第八条 数量; issue 10, 5), on SQLite and PostgreSQL: at the
decision date, through the obligation evaluator, with no sweep; where an agreement item states a number of
records (「每日全量10000条」), the last delivery is compared with it and a shortfall refuses acceptance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .harness import Cli
from .test_cli import BIGDATA, audit_count, variant_document, write_document

CODE = "ZJ-2026-130"


def accepting(records: int) -> dict[str, Any]:
    """ZJ-2026-001 under acceptance: C-001 promised to 大数据局 daily as 10000 records from 2026-11-01 (the
    other items fall due at the end of the year), delivered 2026-11-25 with ``records``."""
    doc = variant_document({CODE: {"phase": "acceptance_review"}})
    item = doc["projects"][0]["agreements"][0]["items"][0]
    assert (item["catalog"], item["consumer"]) == ("C-001", BIGDATA)
    item |= {"quantity": "每日全量10000条", "due": "2026-11-01"}
    doc["evidence"] = [
        {"project": CODE, "catalog": "C-001", "consumer": BIGDATA, "date": "2026-11-25", "records": records}
    ]
    return doc


def test_a_delivery_short_of_the_stated_number_refuses_acceptance(cli: Cli, tmp_path: Path) -> None:
    cli("load", write_document(tmp_path / "p.json", accepting(9000))).expect(0)
    before = audit_count(cli)
    res = cli.json("event", CODE, "pass_acceptance", "--as", "wang", code=3)
    [short] = [r for r in res["reasons"] if r["code"] == "DELIVERY_SHORT"]
    assert short["clause"] == "733号文 第十一条、第八条"
    assert (short["detail"]["stated"], short["detail"]["delivered"], short["detail"]["day"]) == (
        10000,
        9000,
        "2026-11-25",
    )
    assert "仅 9000 条，少于约定的 10000 条" in short["message"]
    assert (
        cli.json("project", "show", CODE)["phase"] == "acceptance_review" and audit_count(cli) == before + 1
    )
    # the full number delivered the next day: acceptance passes on the deliveries themselves, no sweep ran
    rows = tmp_path / "today.csv"
    rows.write_text(
        f"project,catalog,consumer,date,records\n{CODE},C-001,{BIGDATA},2026-11-26,10000\n", encoding="utf-8"
    )
    cli("evidence", "import", rows, "--as", "wang").expect(0)
    cli("event", CODE, "pass_acceptance", "--as", "wang").expect(0)
    assert cli.json("project", "show", CODE)["phase"] == "operation"


def test_the_stated_number_met_passes_and_a_stale_delivery_does_not(cli: Cli, tmp_path: Path) -> None:
    doc = accepting(10000)
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", CODE, "pass_acceptance", "--as", "wang").expect(0)
    # a day later than the daily frequency allows, the same delivery is stale (judged at the decision date)
    late = json.loads(json.dumps(accepting(10000)).replace(CODE, "ZJ-2026-131"))
    late["evidence"][0]["date"] = "2026-11-20"
    cli(
        "load",
        write_document(tmp_path / "late.json", {"projects": late["projects"], "evidence": late["evidence"]}),
    ).expect(0)
    res = cli.json("event", "ZJ-2026-131", "pass_acceptance", "--as", "wang", code=3)
    assert [r["code"] for r in res["reasons"]] == ["DELIVERY_STALE"]


def test_a_due_date_on_a_sunday_is_told_as_moved_to_monday(cli: Cli, tmp_path: Path) -> None:
    """民法典 第二百零三条: C-001 due on Sunday 2026-11-22 is due on Monday 11-23; nothing delivered by 11-26."""
    doc = accepting(10000)
    doc["projects"][0]["agreements"][0]["items"][0]["due"] = "2026-11-22"
    doc["evidence"] = []
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    res = cli.json("event", CODE, "pass_acceptance", "--as", "wang", code=3)
    [missing] = [r for r in res["reasons"] if r["code"] == "DELIVERY_MISSING"]
    assert "约定 2026-11-23（约定 2026-11-22 适逢休息日或法定节假日" in missing["message"]
    assert "《中华人民共和国民法典》第二百零三条顺延至 2026-11-23" in missing["message"]
    assert missing["detail"]["stated_due"] == "2026-11-22"
