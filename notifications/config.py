"""The channel file: which apprise URLs each role is notified on, and how the outbox retries.

Schema (YAML; see ``govflow/data/notify.example.yaml``)::

    roles:
      program_office: [URL, …]
      department:                      # or a plain list, meaning the default
        default: [URL, …]              # every department without channels of its own
        "11330000GF00000027": [URL, …] # 统一社会信用代码 of one department (its own group, mailbox…)
      audit: [URL, …]
      finance: [URL, …]
      admin: [URL, …]
      review_agency: [URL, …]
    retry: {max_attempts: 8, base_seconds: 60, max_seconds: 3600}
    lease_seconds: 300                 # a claimed message is re-sent after this long if its sender vanished
    timeout_seconds: 30                # budget for one channel send (connect + read)
    lang: zh                           # zh | en: the language of the notices

A file that does not validate is refused as a whole with every problem listed (zh-CN and English); URLs in
messages are masked because they usually carry tokens or passwords.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govflow.notifications.base import mask_url
from govflow.states.errors import UsageError
from govflow.states.permissions import Role
from govflow.states.rules import check_credit_code

#: apprise schemes govflow accepts: e-mail, generic webhooks, and the office IM robots used by government
SCHEMES: dict[str, str] = {
    "mailto": "电子邮件（SMTP）",
    "mailtos": "电子邮件（SMTP over TLS）",
    "json": "Webhook（JSON）",
    "jsons": "Webhook（JSON，HTTPS）",
    "form": "Webhook（表单）",
    "forms": "Webhook（表单，HTTPS）",
    "xml": "Webhook（XML）",
    "xmls": "Webhook（XML，HTTPS）",
    "dingtalk": "钉钉群机器人",
    "wecombot": "企业微信群机器人",
    "feishu": "飞书群机器人",
    "lark": "Lark 群机器人",
}
#: text that marks an example value nobody replaced (the example file uses CHANGE-ME)
PLACEHOLDERS = ("CHANGE-ME", "CHANGEME", "${", "<TOKEN", "YOUR_")
DEFAULT_KEY = "default"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 60.0
    max_seconds: float = 3600.0

    def delay(self, failed_before: int) -> float:
        """Seconds to wait after a failed attempt when ``failed_before`` attempts had failed before it:
        ``min(base · 2^failed_before, max)`` — 60 s, 2 min, 4 min … capped at one hour by default."""
        return float(min(self.base_seconds * 2 ** min(failed_before, 62), self.max_seconds))


@dataclass(frozen=True)
class NotifyConfig:
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    department_default: tuple[str, ...] = ()
    departments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    lease_seconds: int = 300
    timeout_seconds: float = 30.0
    lang: str = "zh"
    source: str = "(内置)"

    def channels_for(self, role: str, department: str | None = None) -> tuple[str, ...]:
        """The URLs for a message to ``role``: a department's own channels, else the department default."""
        if role == Role.DEPARTMENT.value:
            if department and department in self.departments:
                return self.departments[department]
            return self.department_default
        return self.roles.get(role, ())

    def all_channels(self) -> dict[str, tuple[str, ...]]:
        """Every configured list, by its place in the file (``department.<code>``, ``audit`` …)."""
        out = {k: v for k, v in self.roles.items() if v}
        if self.department_default:
            out[f"{Role.DEPARTMENT.value}.{DEFAULT_KEY}"] = self.department_default
        out.update({f"{Role.DEPARTMENT.value}.{k}": v for k, v in self.departments.items()})
        return out


# ---------------------------------------------------------------------------------------------- file model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Retry(_Strict):
    max_attempts: int = Field(default=8, ge=1, le=100)
    base_seconds: float = Field(default=60, ge=0, le=86400)
    max_seconds: float = Field(default=3600, ge=0, le=7 * 86400)

    @model_validator(mode="after")
    def _ordered(self) -> _Retry:
        if self.max_seconds < self.base_seconds:
            raise ValueError("max_seconds < base_seconds")
        return self


class _Roles(_Strict):
    program_office: list[str] = Field(default_factory=list)
    department: list[str] | dict[str, list[str]] = Field(default_factory=list)
    review_agency: list[str] = Field(default_factory=list)
    finance: list[str] = Field(default_factory=list)
    audit: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)


class _File(_Strict):
    roles: _Roles = Field(default_factory=_Roles)
    retry: _Retry = Field(default_factory=_Retry)
    lease_seconds: int = Field(default=300, ge=10, le=86400)
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    lang: Literal["zh", "en"] = "zh"

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> _File:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("lease_seconds <= timeout_seconds")
        return self


# ---------------------------------------------------------------------------------------------- parsing


def load_config(path: Path) -> NotifyConfig:
    """Read and validate a channel file; :class:`UsageError` (exit 2) with every problem otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(
            f"无法读取通知渠道配置文件 {path}：{exc}",
            f"cannot read the notification channel file {path}: {exc}",
        ) from exc
    return parse_config(data, str(path))


def parse_config(data: Any, source: str) -> NotifyConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        _refuse(source, [("(根)", "须为映射（YAML 键值对）", "must be a mapping")])
    try:
        model = _File.model_validate(data)
    except ValidationError as exc:
        found = [_explain(e) for e in exc.errors()]
        _scan_urls(data.get("roles"), "roles", found)  # one pass reports every problem, not the first kind
        _refuse(source, found)
    problems: list[tuple[str, str, str]] = []
    roles: dict[str, tuple[str, ...]] = {}
    for role in Role:
        if role is Role.DEPARTMENT:
            continue
        roles[role.value] = _urls(getattr(model.roles, role.value), f"roles.{role.value}", problems)
    dept = model.roles.department
    groups = {DEFAULT_KEY: dept} if isinstance(dept, list) else dict(dept)
    departments: dict[str, tuple[str, ...]] = {}
    default: tuple[str, ...] = ()
    for code, urls in groups.items():
        where = f"roles.department.{code}"
        if code == DEFAULT_KEY:
            default = _urls(urls, where, problems)
            continue
        for r in check_credit_code(str(code), where):
            problems.append((where, r.message, r.message_en))
        departments[str(code)] = _urls(urls, where, problems)
    widest = max([len(v) for v in (*roles.values(), default, *departments.values())], default=0)
    if widest and model.lease_seconds <= model.timeout_seconds * widest:
        problems.append(
            (
                "lease_seconds",
                f"须大于 timeout_seconds × 单个角色的最多渠道数（{model.timeout_seconds:g} × {widest}）："
                "租约须能覆盖一条消息的全部发送",
                f"must exceed timeout_seconds × the most channels of one role ({model.timeout_seconds:g} × {widest})",
            )
        )
    if problems:
        _refuse(source, problems)
    return NotifyConfig(
        roles=roles,
        department_default=default,
        departments=departments,
        retry=RetryPolicy(model.retry.max_attempts, model.retry.base_seconds, model.retry.max_seconds),
        lease_seconds=model.lease_seconds,
        timeout_seconds=model.timeout_seconds,
        lang=model.lang,
        source=source,
    )


def _scan_urls(node: Any, where: str, problems: list[tuple[str, str, str]]) -> None:
    """URL problems anywhere under ``roles`` of a file whose structure is also wrong."""
    if isinstance(node, dict):
        for k, v in node.items():
            _scan_urls(v, f"{where}.{k}", problems)
    elif isinstance(node, list):
        for i, url in enumerate(node):
            problem = url_problem(url.strip()) if isinstance(url, str) else None
            if problem is not None:
                problems.append((f"{where}[{i}]", *problem))


def _urls(urls: list[str], where: str, problems: list[tuple[str, str, str]]) -> tuple[str, ...]:
    good: list[str] = []
    for i, raw in enumerate(urls):
        url = raw.strip()
        at = f"{where}[{i}]"
        problem = url_problem(url)
        if problem is None:
            good.append(url)
        else:
            problems.append((at, *problem))
    return tuple(dict.fromkeys(good))


def url_problem(url: str) -> tuple[str, str] | None:
    """Why a channel URL is not acceptable (zh, en), or None. Checked without apprise: the adapter checks
    again that apprise can build the service."""
    scheme, sep, rest = url.partition("://")
    supported = "、".join(f"{k}（{v}）" for k, v in SCHEMES.items())
    if not sep or not rest:
        return (
            f"不是渠道地址（应形如 scheme://…，支持：{supported}）",
            f"not a channel URL (scheme://…; supported: {', '.join(SCHEMES)})",
        )
    if scheme.lower() not in SCHEMES:
        return (
            f"不支持的渠道类型 {scheme}://（支持：{supported}）",
            f"unsupported channel scheme {scheme}:// (supported: {', '.join(SCHEMES)})",
        )
    masked = mask_url(url)
    if any(p.lower() in url.lower() for p in PLACEHOLDERS):
        return (
            f"{masked} 仍是示例占位符（CHANGE-ME），请替换为真实的令牌、密码或地址",
            f"{masked} still holds an example placeholder (CHANGE-ME); put the real token, password or address",
        )
    query = dict((k.lower(), v.strip().lower()) for k, v in parse_qsl(rest.partition("?")[2]))
    if query.get("optional", "no") not in ("", "no", "false", "0", "n", "off"):
        return (
            f"{masked} 设置了 optional=yes：发送失败会被当作成功，消息将丢失；请删除该参数",
            f"{masked} sets optional=yes: a failed send would count as delivered and the message be lost",
        )
    if query.get("retry", "0") not in ("", "0"):
        return (
            f"{masked} 设置了 retry=：重试由 govflow 发件箱负责（指数退避，不重复送达），请删除该参数",
            f"{masked} sets retry=: the govflow outbox does the retrying (backoff, never twice); remove it",
        )
    return None


_MESSAGES: dict[str, tuple[str, str]] = {
    "extra_forbidden": ("不允许的字段", "unknown field"),
    "missing": ("缺少必填字段", "field required"),
    "list_type": ("须为列表", "must be a list"),
    "dict_type": ("须为映射", "must be a mapping"),
    "model_type": ("须为映射", "must be a mapping"),
    "string_type": ("须为字符串（渠道地址）", "must be a string (a channel URL)"),
    "int_type": ("须为整数", "must be an integer"),
    "int_parsing": ("须为整数", "must be an integer"),
    "int_from_float": ("须为整数", "must be an integer"),
    "float_type": ("须为数字", "must be a number"),
    "float_parsing": ("须为数字", "must be a number"),
    "literal_error": ("取值无效", "invalid value"),
}


def _explain(e: Any) -> tuple[str, str, str]:
    loc = [str(p) for p in e["loc"] if not str(p).startswith(("list[", "dict[", "function-"))]
    where = ".".join(loc) or "(根)"
    kind = str(e["type"])
    ctx = e.get("ctx") or {}
    if kind in _MESSAGES:
        zh, en = _MESSAGES[kind]
        if kind == "extra_forbidden" and loc[:1] == ["roles"]:
            roles = "、".join(r.value for r in Role)
            zh, en = f"未知角色（可用：{roles}）", f"unknown role (one of {', '.join(r.value for r in Role)})"
        elif kind == "extra_forbidden":
            zh = f"{zh}（可用：roles、retry、lease_seconds、timeout_seconds、lang）"
        elif kind == "literal_error":
            zh, en = f"{zh}（可选：{ctx.get('expected', '')}）", f"{en} (expected {ctx.get('expected', '')})"
        return where, zh, en
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "")
        return where, f"须 {op} {bound}", f"must be {op} {bound}"
    msg = str(e.get("msg", kind))
    if "lease_seconds <= timeout_seconds" in msg:
        return where, "lease_seconds 须大于 timeout_seconds（租约须长于一次发送）", msg
    if "max_seconds < base_seconds" in msg:
        return where, "retry.max_seconds 不得小于 retry.base_seconds", msg
    return where, f"无效：{msg}", f"invalid: {msg}"


def _refuse(source: str, problems: list[tuple[str, str, str]]) -> NoReturn:
    zh = "\n".join(f"  - {where}：{m}" for where, m, _ in problems)
    en = "\n".join(f"  - {where}: {m}" for where, _, m in problems)
    raise UsageError(
        f"通知渠道配置文件 {source} 无效，未采用：\n{zh}",
        f"notification channel file {source} is invalid and was not used:\n{en}",
    )
