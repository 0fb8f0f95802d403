"""Governance policy: rectification deadlines, reminders, escalation, O&M cut tiers (SPEC §4).

The policy is a versioned, validated document; every order and recommendation names the version it used.
A file that does not validate is refused with its reasons, each naming the path of the offending value
(``cuts.tiers.1.percent``), and the active policy stays.

Two layers of validation:

* the shape (pydantic fields: types, ranges, unknown keys), and
* the meaning (:func:`policy_problems`): the cut tiers form a ladder from mildest to severest, so that a worse
  project never gets a lower percentage and no tier is dead; every project the cut run picks (an overdue
  order, or coverage below the threshold) reaches some tier; reminders and escalation steps are consistent.

Both run whenever a :class:`Policy` is built, so a ``Policy`` object is always sensible, whether it came
from a file, from the database or from a test. pydantic checks a model's meaning only once its own fields are
well-formed, so a file with both kinds of problems in one section is refused for its shape first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from govflow.states.errors import InvalidInput, UsageError
from govflow.states.permissions import Role
from govflow.states.verdict import Reason

#: 限期整改: working days between the notice and the deadline when no policy says otherwise (SPEC §4.2)
RECTIFICATION_WORKDAYS = 20
POLICY_CLAUSE = "govflow 治理策略"
#: the clause the cut tiers implement: 对项目投入使用后未持续保障信息共享的，财政部门要削减相应的运维经费
CUTS_CLAUSE = "733号文 第十一条"

_VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]*$"


@dataclass(frozen=True)
class Problem:
    """One breach of a policy's meaning: where (relative dotted path) and why, in zh-CN and English."""

    path: str
    message: str
    message_en: str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _raise(problems: list[Problem]) -> None:
    """Report every problem of one model at once (a plain ValueError would carry one English sentence)."""
    if problems:
        raise PydanticCustomError(
            "policy_rule",
            "{summary}",
            {"summary": "; ".join(f"{p.path}: {p.message_en}" for p in problems), "problems": problems},
        )


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
    def _consistent(self) -> Rectification:
        _raise(rectification_problems(self))
        return self


class CutTier(_Strict):
    """One rung of the cut ladder: the percentage applies when the project reaches *either* condition.

    ``min_overdue_workdays``: the longest-overdue rectification order is at least this many working days
    overdue. ``max_coverage``: sharing coverage is below the policy threshold and at most this value. A
    condition left out (null) does not lead to this tier; at least one must be given.
    """

    min_overdue_workdays: int | None = Field(default=None, ge=0, description="最长逾期工作日数下限")
    max_coverage: Decimal | None = Field(default=None, ge=0, le=1, description="共享覆盖率上限（含）")
    percent: Decimal = Field(gt=0, le=100, decimal_places=2, description="建议削减比例（%），最多两位小数")


class Cuts(_Strict):
    coverage_threshold: Decimal = Field(
        default=Decimal("0.9"), gt=0, le=1, description="共享覆盖率阈值：低于该值即未持续保障信息共享"
    )
    tiers: list[CutTier] = Field(min_length=1, description="削减档位，从最轻到最重排列")

    @model_validator(mode="after")
    def _ladder(self) -> Cuts:
        _raise(cut_problems(self))
        return self


class Policy(_Strict):
    version: str = Field(
        min_length=1, max_length=32, pattern=_VERSION_PATTERN, description="策略版本号 / policy version"
    )
    rectification: Rectification = Field(default_factory=Rectification)
    agreement_expiry_notice_days: int = Field(default=30, ge=1, le=365)
    cuts: Cuts

    def digest(self) -> str:
        return hashlib.sha256(canonical(self).encode()).hexdigest()

    def cut_tier(self, overdue_workdays: int | None, coverage: Decimal) -> tuple[int, CutTier] | None:
        """The severest tier the project reaches (its index in ``cuts.tiers``), or None when none applies.

        ``overdue_workdays`` is the working days overdue of the project's longest-overdue order (None: no
        overdue order); ``coverage`` its sharing coverage (0–1).
        """
        best: tuple[int, CutTier] | None = None
        for i, tier in enumerate(self.cuts.tiers):
            overdue_ok = (
                overdue_workdays is not None
                and tier.min_overdue_workdays is not None
                and overdue_workdays >= tier.min_overdue_workdays
            )
            coverage_ok = (
                tier.max_coverage is not None
                and coverage < self.cuts.coverage_threshold
                and coverage <= tier.max_coverage
            )
            if (overdue_ok or coverage_ok) and (best is None or tier.percent > best[1].percent):
                best = (i, tier)
        return best

    def cut_percent(self, overdue_workdays: int | None, coverage: Decimal) -> Decimal | None:
        """The highest tier percentage the project reaches, or None when no tier applies."""
        found = self.cut_tier(overdue_workdays, coverage)
        return None if found is None else found[1].percent

    def min_cut_overdue_workdays(self) -> int | None:
        """Working days an order must be overdue before it leads to a cut (the mildest overdue tier)."""
        days = [t.min_overdue_workdays for t in self.cuts.tiers if t.min_overdue_workdays is not None]
        return min(days) if days else None


# ---------------------------------------------------------------------------------------------- meaning


def rectification_problems(r: Rectification) -> list[Problem]:
    out: list[Problem] = []
    for i, days in enumerate(r.reminders):
        if days < 1 or days >= r.workdays:
            out.append(
                Problem(
                    f"reminders.{i}",
                    f"提醒须在截止日前 1 至 {r.workdays - 1} 个工作日之间（整改期限为 {r.workdays} 个工作日），现为 {days}",
                    f"a reminder must be 1 to {r.workdays - 1} working days before the deadline, got {days}",
                )
            )
    if len(set(r.reminders)) != len(r.reminders):
        out.append(Problem("reminders", "提醒日重复", "reminder days repeat"))
    roles = {x.value for x in Role}
    prev: EscalationStep | None = None
    for i, step in enumerate(r.escalation):
        if prev is not None and step.level <= prev.level:
            out.append(
                Problem(
                    f"escalation.{i}.level",
                    f"升级级别须唯一且递增（上一级为 {prev.level}，本级为 {step.level}）",
                    f"escalation levels must be unique and ascending ({prev.level} then {step.level})",
                )
            )
        if prev is not None and step.after_workdays < prev.after_workdays:
            out.append(
                Problem(
                    f"escalation.{i}.after_workdays",
                    f"升级步骤须按逾期工作日数排列（{prev.after_workdays} 之后为 {step.after_workdays}）",
                    f"escalation steps must be ordered by after_workdays ({prev.after_workdays} then {step.after_workdays})",
                )
            )
        for j, role in enumerate(step.notify):
            if role not in roles:
                out.append(
                    Problem(
                        f"escalation.{i}.notify.{j}",
                        f"未知角色 {role}；可选：{', '.join(sorted(roles))}",
                        f"unknown role {role}; one of {', '.join(sorted(roles))}",
                    )
                )
        prev = step
    return out


def cut_problems(c: Cuts) -> list[Problem]:
    """The tiers must be a ladder from mildest to severest: a worse project never gets a lower percentage and
    every tier can be reached; every project below the coverage threshold reaches some tier, and so does an
    order overdue long enough (SPEC §4.3: both causes lead to a recommendation)."""
    out: list[Problem] = []
    last_overdue: tuple[int, int] | None = None  # (tier index, min_overdue_workdays)
    last_coverage: tuple[int, Decimal] | None = None
    for i, t in enumerate(c.tiers):
        where = f"tiers.{i}"
        if t.min_overdue_workdays is None and t.max_coverage is None:
            out.append(
                Problem(
                    where,
                    "档位须至少给出 min_overdue_workdays 或 max_coverage 之一",
                    "a tier needs min_overdue_workdays or max_coverage (or both)",
                )
            )
        if i and t.percent <= c.tiers[i - 1].percent:
            out.append(
                Problem(
                    f"{where}.percent",
                    f"档位须按削减比例从低到高排列（第 {i} 档 {c.tiers[i - 1].percent}% 之后为 {t.percent}%）",
                    f"tiers must go from the lowest to the highest percent ({c.tiers[i - 1].percent}% then {t.percent}%)",
                )
            )
        if t.min_overdue_workdays is not None:
            if last_overdue is not None and t.min_overdue_workdays <= last_overdue[1]:
                out.append(
                    Problem(
                        f"{where}.min_overdue_workdays",
                        f"更重的档位须要求更长的逾期（第 {last_overdue[0] + 1} 档为 {last_overdue[1]} 个工作日，"
                        f"本档为 {t.min_overdue_workdays}）；否则逾期更久的项目反而适用较低比例或较轻档位永不适用",
                        f"a severer tier must need a longer overdue ({last_overdue[1]} then {t.min_overdue_workdays} "
                        "working days); otherwise a worse project could get a lower percent or a tier never applies",
                    )
                )
            last_overdue = (i, t.min_overdue_workdays)
        if t.max_coverage is not None:
            if t.max_coverage > c.coverage_threshold:
                out.append(
                    Problem(
                        f"{where}.max_coverage",
                        f"覆盖率上限 {t.max_coverage} 不能高于阈值 {c.coverage_threshold}（高于阈值不构成削减理由）",
                        f"max_coverage {t.max_coverage} exceeds the threshold {c.coverage_threshold}",
                    )
                )
            if last_coverage is not None and t.max_coverage >= last_coverage[1]:
                out.append(
                    Problem(
                        f"{where}.max_coverage",
                        f"更重的档位须对应更低的覆盖率（第 {last_coverage[0] + 1} 档为 {last_coverage[1]}，"
                        f"本档为 {t.max_coverage}）",
                        f"a severer tier must need a lower coverage ({last_coverage[1]} then {t.max_coverage})",
                    )
                )
            last_coverage = (i, t.max_coverage)
    widest = [t.max_coverage for t in c.tiers if t.max_coverage is not None]
    if not widest or max(widest) != c.coverage_threshold:
        out.append(
            Problem(
                "tiers",
                f"覆盖率低于阈值 {c.coverage_threshold} 的项目都须落入某一档：最轻的覆盖率档位 max_coverage 须等于阈值",
                f"every project below the coverage threshold {c.coverage_threshold} must reach a tier: "
                "the mildest coverage tier's max_coverage must equal the threshold",
            )
        )
    if all(t.min_overdue_workdays is None for t in c.tiers):
        out.append(
            Problem(
                "tiers",
                "须至少有一档由逾期整改触发（min_overdue_workdays），逾期未整改须导致削减建议（733号文 第十一条）",
                "at least one tier must be reached by an overdue order (min_overdue_workdays)",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- files


def canonical(policy: Policy) -> str:
    return json.dumps(
        policy.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


#: zh-CN wording for the pydantic error types a policy author meets most
_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段（拼写错误？）",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "too_short": "不能为空（至少 {min_length} 项）",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不符：须以字母或数字开头，只含字母、数字、点、下划线和连字符",
    "string_type": '须为文本（版本号请加引号，如 "2026.2"）',
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "list_type": "须为列表",
    "model_type": "须为映射（键: 值）",
    "dict_type": "须为映射（键: 值）",
}


def _path(loc: tuple[int | str, ...], extra: str = "") -> str:
    parts = [str(p) for p in loc] + ([extra] if extra else [])
    return ".".join(parts) or "(root)"


def _reasons(exc: ValidationError, source: str) -> list[Reason]:
    reasons: list[Reason] = []
    for e in exc.errors():
        ctx: dict[str, Any] = e.get("ctx") or {}
        if e["type"] == "policy_rule":
            problems: list[Problem] = ctx["problems"]
            found = [(p.path, p.message, p.message_en) for p in problems]
        else:
            template = _ZH.get(e["type"], e["msg"])
            try:
                zh = template.format(**ctx)
            except (KeyError, IndexError, ValueError):  # a template naming a key pydantic did not give
                zh = e["msg"]
            found = [("", zh, e["msg"])]
        for rel, zh_msg, en_msg in found:
            path = _path(tuple(e["loc"]), rel)
            reasons.append(
                Reason(
                    "POLICY_INVALID",
                    POLICY_CLAUSE,
                    f"策略文件 {source} 的 {path} 无效：{zh_msg}；原策略继续有效",
                    f"policy file {source}: {path} is invalid: {en_msg}; the active policy stays",
                    path,
                )
            )
    return reasons


def parse_policy(data: Any, source: str) -> Policy:
    """A :class:`Policy` from parsed YAML/JSON, or :class:`InvalidInput` with one reason per problem."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_reasons(exc, source)) from exc


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _PolicyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a repeated key: PyYAML would silently keep the last ``percent:`` of a tier."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _no_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k, 0)
        out[k] = v
    return out


def load_policy_file(path: Path) -> Policy:
    """Read and validate a policy file (YAML, or JSON by its ``.json`` suffix).

    Unreadable or unparsable: :class:`UsageError` (exit 2). Parsed but invalid: :class:`InvalidInput`
    (exit 3) with every problem and its path.
    """
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_no_duplicate_json_keys)
        else:
            data = yaml.load(text, Loader=_PolicyLoader)  # a SafeLoader subclass
    except _DuplicateKey as dup:
        where = f"第 {dup.line} 行" if dup.line else ""
        where_en = f" on line {dup.line}" if dup.line else ""
        raise InvalidInput(
            [
                Reason(
                    "POLICY_INVALID",
                    POLICY_CLAUSE,
                    f"策略文件 {path} {where}键 {dup.key} 重复；原策略继续有效",
                    f"policy file {path}: key {dup.key} repeats{where_en}; the active policy stays",
                    dup.key,
                )
            ]
        ) from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"无法读取策略文件 {path}：{exc}", f"cannot read policy file {path}: {exc}") from exc
    return parse_policy(data, str(path))


def default_policy() -> Policy:
    return load_policy_file(Path(__file__).resolve().parent / "default-policy.yaml")
