"""Governance policy: rectification deadlines, reminders, escalation, O&M cut tiers (SPEC §4).

The policy is a versioned, validated document; every order and recommendation names the version it used.
A file that does not validate is refused with its reasons and the active policy stays.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from states.errors import InvalidInput, UsageError
from states.verdict import Reason

#: 限期整改: working days between the notice and the deadline when no policy says otherwise (SPEC §4.2)
RECTIFICATION_WORKDAYS = 20
POLICY_CLAUSE = "govflow 治理策略"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationStep(_Strict):
    """Fired once when an order is this many working days overdue."""

    level: int = Field(ge=1, description="升级级别 / escalation level")
    after_workdays: int = Field(ge=0, description="逾期工作日数达到该值时触发 / working days overdue")
    name: str = Field(min_length=1, description="名称，如 逾期通报 / name")
    notify: list[str] = Field(min_length=1, description="通知的角色 / roles notified")


class Rectification(_Strict):
    workdays: int = Field(default=RECTIFICATION_WORKDAYS, ge=1, le=250, description="整改期限（工作日）")
    reminders: list[int] = Field(
        default=[5, 1], description="截止前第几个工作日提醒 / reminders before deadline"
    )
    escalation: list[EscalationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> Rectification:
        if any(r < 1 or r >= self.workdays for r in self.reminders):
            raise ValueError("reminders must be between 1 and workdays-1 working days before the deadline")
        levels = [s.level for s in self.escalation]
        if levels != sorted(set(levels)):
            raise ValueError("escalation levels must be unique and ascending")
        days = [s.after_workdays for s in self.escalation]
        if days != sorted(days):
            raise ValueError("escalation steps must be ordered by after_workdays")
        return self


class CutTier(_Strict):
    """A cut percentage applied when a project is at least this bad."""

    min_overdue_workdays: int = Field(default=0, ge=0, description="最长逾期工作日数下限")
    max_coverage: Decimal = Field(default=Decimal("1"), ge=0, le=1, description="共享覆盖率上限（含）")
    percent: Decimal = Field(gt=0, le=100, description="建议削减比例（%）")


class Cuts(_Strict):
    coverage_threshold: Decimal = Field(default=Decimal("0.9"), ge=0, le=1, description="共享覆盖率阈值")
    tiers: list[CutTier] = Field(min_length=1)


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=32, description="策略版本号 / policy version")
    rectification: Rectification = Field(default_factory=Rectification)
    agreement_expiry_notice_days: int = Field(default=30, ge=1, le=365)
    cuts: Cuts

    def digest(self) -> str:
        return hashlib.sha256(canonical(self).encode()).hexdigest()

    def cut_percent(self, overdue_workdays: int | None, coverage: Decimal) -> Decimal | None:
        """The highest tier percentage the project reaches, or None when no tier applies."""
        best: Decimal | None = None
        for tier in self.cuts.tiers:
            overdue_ok = overdue_workdays is not None and overdue_workdays >= tier.min_overdue_workdays
            coverage_ok = coverage < self.cuts.coverage_threshold and coverage <= tier.max_coverage
            if (overdue_ok or coverage_ok) and (best is None or tier.percent > best):
                best = tier.percent
        return best


def canonical(policy: Policy) -> str:
    return json.dumps(
        policy.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


def parse_policy(data: Any, source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        reasons = []
        for e in exc.errors():
            path = ".".join(str(p) for p in e["loc"]) or "(root)"
            reasons.append(
                Reason(
                    "POLICY_INVALID",
                    POLICY_CLAUSE,
                    f"策略文件 {source} 的 {path} 无效：{e['msg']}；原策略继续有效",
                    f"policy file {source}: {path} is invalid: {e['msg']}; the active policy stays",
                    path,
                )
            )
        raise InvalidInput(reasons) from exc


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"无法读取策略文件 {path}：{exc}", f"cannot read policy file {path}: {exc}") from exc
    return parse_policy(data, str(path))


def default_policy() -> Policy:
    return load_policy_file(Path(__file__).resolve().parent / "default-policy.yaml")
