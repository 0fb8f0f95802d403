"""The governance policy (states/policy.py): the packaged default, the cut ladder, and validation with paths."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from govflow.states.errors import InvalidInput, UsageError
from govflow.states.policy import (
    RECTIFICATION_WORKDAYS,
    Policy,
    default_policy,
    load_policy_file,
    parse_policy,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "policy"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "states" / "default-policy.yaml"


def base() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(doc)


def refused(data: Any) -> dict[str, str]:
    """path -> zh message of every reason a document is refused with."""
    with pytest.raises(InvalidInput) as info:
        parse_policy(data, "p.yaml")
    reasons = info.value.reasons
    assert all(r.code == "POLICY_INVALID" and r.path for r in reasons)
    assert all("原策略继续有效" in r.message and "the active policy stays" in r.message_en for r in reasons)
    return {str(r.path): r.message for r in reasons}


# ---------------------------------------------------------------------------------------------- the default


def test_the_default_policy_validates_and_keeps_its_version_and_digest() -> None:
    p = default_policy()
    assert p.version == "2026.1"
    assert p.rectification.workdays == RECTIFICATION_WORKDAYS == 20
    assert p.cuts.coverage_threshold == Decimal("0.9")
    assert [t.percent for t in p.cuts.tiers] == [Decimal(5), Decimal(10), Decimal(20)]
    # the digest of 2026.1 is recorded in databases: reformatting the file or the model must not move it
    assert p.digest() == Policy.model_validate(p.model_dump(mode="json")).digest()
    assert p.digest().startswith("debb8bd64de6")


@pytest.mark.parametrize(
    ("overdue", "coverage", "percent", "tier"),
    [
        (None, "1", None, None),  # nothing wrong
        (None, "0.9", None, None),  # at the threshold is not below it
        (None, "0.8999", "5", 0),
        (None, "0.75", "5", 0),
        (None, "0.7", "10", 1),  # max_coverage is inclusive
        (None, "0.5", "20", 2),
        (None, "0", "20", 2),
        (0, "1", None, None),  # overdue over a weekend only: within the grace of the mildest tier
        (1, "1", "5", 0),
        (9, "1", "5", 0),
        (10, "1", "10", 1),
        (25, "1", "20", 2),
        (12, "0.4", "20", 2),  # coverage is worse than the overdue: the severest reached tier wins
        (25, "0.75", "20", 2),
    ],
)
def test_cut_percent_takes_the_severest_tier_either_condition_reaches(
    overdue: int | None, coverage: str, percent: str | None, tier: int | None
) -> None:
    p = default_policy()
    got = p.cut_percent(overdue, Decimal(coverage))
    assert got == (None if percent is None else Decimal(percent))
    found = p.cut_tier(overdue, Decimal(coverage))
    assert (found[0] if found else None) == tier


def test_a_worse_project_never_gets_a_lower_percent() -> None:
    """Monotone in both directions over a grid (the ladder validation is what keeps this true)."""
    for p in (
        default_policy(),
        load_policy_file(DATA / "policy-2026.2.yaml"),
        load_policy_file(DATA / "policy-2026.3.json"),
    ):
        coverages = [Decimal(c) / 100 for c in range(100, -1, -5)]
        overdues: list[int | None] = [None, *range(0, 40)]
        for cov in coverages:
            last = Decimal(0)
            for od in overdues:  # more overdue
                now = p.cut_percent(od, cov) or Decimal(0)
                assert now >= last, (p.version, od, cov)
                last = now
        for od in overdues:
            last = Decimal(0)
            for cov in coverages:  # less coverage
                now = p.cut_percent(od, cov) or Decimal(0)
                assert now >= last, (p.version, od, cov)
                last = now


def test_the_grace_is_the_mildest_overdue_tier() -> None:
    assert default_policy().min_cut_overdue_workdays() == 1
    assert load_policy_file(DATA / "policy-2026.3.json").min_cut_overdue_workdays() == 3


def test_a_tier_may_name_one_condition_only() -> None:
    p = load_policy_file(DATA / "policy-2026.3.json")
    assert p.cut_percent(3, Decimal(1)) == Decimal(3)  # overdue only
    assert p.cut_percent(None, Decimal("0.79")) == Decimal(6)  # coverage only, higher than the overdue tier
    assert p.cut_percent(14, Decimal("0.79")) == Decimal(6)
    assert p.cut_percent(15, Decimal("0.9")) == Decimal(30)


# ---------------------------------------------------------------------------------------------- refused


def test_percent_must_be_between_0_and_100_with_at_most_two_decimals() -> None:
    doc = base()
    doc["cuts"]["tiers"][0]["percent"] = 0
    doc["cuts"]["tiers"][1]["percent"] = "10.125"
    doc["cuts"]["tiers"][2]["percent"] = 100.5
    found = refused(doc)
    assert "须大于 0" in found["cuts.tiers.0.percent"]
    assert "最多 2 位小数" in found["cuts.tiers.1.percent"]
    assert "须不大于 100" in found["cuts.tiers.2.percent"]


def test_percent_of_100_is_allowed_at_the_top() -> None:
    doc = base()
    doc["cuts"]["tiers"][2]["percent"] = 100
    assert parse_policy(doc, "p").cut_percent(30, Decimal(1)) == Decimal(100)


def test_tiers_out_of_order_are_refused_with_the_path_of_each_breach() -> None:
    found = refused(yaml.safe_load((DATA / "policy-invalid.yaml").read_text(encoding="utf-8")))
    assert set(found) == {
        "cuts.tiers.1.percent",  # 10 then 5
        "cuts.tiers",  # the mildest coverage tier (0.8) leaves 0.8–0.9 without a tier
        "agreement_expiry_notice_day",  # misspelt key
        "rectification.escalation.0.notify.1",  # unknown role
    }
    assert "从低到高" in found["cuts.tiers.1.percent"]
    assert "不允许的字段" in found["agreement_expiry_notice_day"]
    assert "mayor" in found["rectification.escalation.0.notify.1"]


def test_shape_errors_come_before_the_ladder_check() -> None:
    """pydantic runs a model's own validator only once its fields are well-formed: a tier with percent 120 is
    reported first, the ordering of the tiers once that is fixed."""
    doc = base()
    doc["cuts"]["tiers"][1]["percent"] = 120
    assert set(refused(doc)) == {"cuts.tiers.1.percent"}
    doc["cuts"]["tiers"][1]["percent"] = 50
    assert set(refused(doc)) == {"cuts.tiers.2.percent"}  # 50 then 20


def test_a_severer_tier_must_ask_for_more_overdue_and_less_coverage() -> None:
    doc = base()
    doc["cuts"]["tiers"][1]["min_overdue_workdays"] = 1  # same as tier 0: tier 0's overdue part is dead
    doc["cuts"]["tiers"][2]["max_coverage"] = 0.8  # more than tier 1's 0.7: a better project, a higher cut
    found = refused(doc)
    assert set(found) == {"cuts.tiers.1.min_overdue_workdays", "cuts.tiers.2.max_coverage"}
    assert "更长的逾期" in found["cuts.tiers.1.min_overdue_workdays"]
    assert "更低的覆盖率" in found["cuts.tiers.2.max_coverage"]


def test_every_project_below_the_threshold_must_reach_a_tier() -> None:
    doc = base()
    doc["cuts"]["coverage_threshold"] = 0.95  # tiers stop at 0.9: coverage 0.92 would be a cause with no cut
    assert "须等于阈值" in refused(doc)["cuts.tiers"]
    doc = base()
    doc["cuts"]["tiers"][0]["max_coverage"] = 0.95  # above the threshold
    assert "不能高于阈值" in refused(doc)["cuts.tiers.0.max_coverage"]


def test_overdue_orders_must_lead_to_some_tier_and_every_tier_needs_a_condition() -> None:
    doc = base()
    for tier in doc["cuts"]["tiers"]:
        tier.pop("min_overdue_workdays")
    assert "逾期整改触发" in refused(doc)["cuts.tiers"]
    doc = base()
    doc["cuts"]["tiers"][1] = {"percent": 10}
    assert "至少给出" in refused(doc)["cuts.tiers.1"]


def test_threshold_and_tiers_are_required_and_sensible() -> None:
    doc = base()
    doc["cuts"]["tiers"] = []
    assert "至少 1 项" in refused(doc)["cuts.tiers"]
    doc = base()
    doc["cuts"]["coverage_threshold"] = 0
    assert "须大于 0" in refused(doc)["cuts.coverage_threshold"]
    doc = base()
    del doc["cuts"]
    assert "缺少必填项" in refused(doc)["cuts"]


@pytest.mark.parametrize("version", ["", " ", "2026 .2", "-1", "x" * 33])
def test_the_version_must_be_a_non_empty_token(version: str) -> None:
    doc = base()
    doc["version"] = version
    assert "version" in refused(doc)


def test_an_unquoted_version_is_refused_with_a_hint() -> None:
    doc = base()
    doc["version"] = 2026.2  # what YAML makes of `version: 2026.2`
    assert "加引号" in refused(doc)["version"]


def test_reminders_and_escalation_are_checked() -> None:
    doc = base()
    doc["rectification"]["reminders"] = [5, 5, 20]
    doc["rectification"]["escalation"][1]["level"] = 1
    doc["rectification"]["escalation"][2]["after_workdays"] = 5
    found = refused(doc)
    assert set(found) == {
        "rectification.reminders",  # 5 twice
        "rectification.reminders.2",  # 20 is not before a 20-day deadline
        "rectification.escalation.1.level",
        "rectification.escalation.2.after_workdays",
    }


def test_the_whole_document_must_be_a_mapping() -> None:
    assert "须为映射" in refused(["version", "2026.2"])["(root)"]


# ---------------------------------------------------------------------------------------------- files


def test_yaml_and_json_files_load() -> None:
    assert load_policy_file(DATA / "policy-2026.2.yaml").version == "2026.2"
    p = load_policy_file(DATA / "policy-2026.3.json")
    assert p.cuts.coverage_threshold == Decimal("0.8")
    assert p.rectification.workdays == RECTIFICATION_WORKDAYS  # defaults fill what a file leaves out


def test_a_repeated_key_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        load_policy_file(DATA / "policy-duplicate-key.yaml")
    (r,) = info.value.reasons
    assert r.path == "percent" and "重复" in r.message and "第 5 行" in r.message
    js = tmp_path / "p.json"
    js.write_text('{"version": "1", "version": "2", "cuts": {}}', encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_policy_file(js)
    assert info.value.reasons[0].path == "version"


def test_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_policy_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(UsageError):
        load_policy_file(bad)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{", encoding="utf-8")
    with pytest.raises(UsageError):
        load_policy_file(bad_json)


def test_a_policy_read_back_from_the_database_is_validated_too() -> None:
    """Stored content goes through the same model: a hand-edited row cannot smuggle in a broken ladder."""
    dumped = json.loads(json.dumps(default_policy().model_dump(mode="json")))
    dumped["cuts"]["tiers"].reverse()
    with pytest.raises(ValueError, match="lowest to the highest percent"):
        Policy.model_validate(dumped)
