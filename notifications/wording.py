"""The words of notices: labels of payload fields, the clauses, the finding rules, cut and order events, and
how a payload value reads (:func:`fmt`): codes of the domain's vocabularies get their words from their enums
(:mod:`govflow.states.vocabulary`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from govflow.states.permissions import Role
from govflow.states.phases import Event, Phase
from govflow.states.sharing import AgreementForm, Frequency
from govflow.states.vocabulary import CutStatus, FindingRule, OrderStatus, word

C8 = "733号文 第八条"
C10_1 = "733号文 第十条第一款"
C10_2 = "733号文 第十条第二款"
C11 = "733号文 第十一条"

#: zh / en labels of payload fields (a field without a label is shown under its own name)
LABELS: dict[str, tuple[str, str]] = {
    "project": ("项目", "Project"),
    "project_name": ("项目名称", "Project name"),
    "department": ("部门", "Department"),
    "department_name": ("部门名称", "Department name"),
    "lead_department": ("牵头部门", "Lead department"),
    "event": ("事件", "Event"),
    "accepted": ("结果", "Outcome"),
    "from": ("原阶段", "From phase"),
    "to": ("现阶段", "To phase"),
    "phase": ("阶段", "Phase"),
    "reasons": ("原因", "Reasons"),
    "reason": ("理由", "Reason"),
    "order": ("整改通知", "Rectification order"),
    "deadline": ("整改期限", "Deadline"),
    "original_deadline": ("原整改期限", "Original deadline"),
    "pending_from": ("待定期限起算日", "Pending deadline counted from"),
    "pending_workdays": ("待定期限工作日数", "Pending deadline working days"),
    "pending_note": ("期限说明", "About the deadline"),
    "notice_date": ("通知日期", "Notice date"),
    "rule": ("问题类型", "Rule"),
    "clause": ("依据", "Clause"),
    "evidence": ("证据", "Evidence"),
    "expected": ("应交付", "Expected"),
    "delivered": ("已交付", "Delivered"),
    "since": ("起始日期", "Since"),
    "records": ("记录数", "Records"),
    "last_day": ("最近交付日", "Last delivery day"),
    "last_delivery": ("最近交付日", "Last delivery day"),
    "update_frequency": ("更新频度", "Update frequency"),
    "frequency": ("更新频度", "Update frequency"),
    "due": ("实现进度（应实现日期）", "Due date"),
    "agreement": ("共享协定", "Agreement"),
    "catalog": ("目录条目", "Catalog item"),
    "consumer": ("使用部门", "Consumer department"),
    "provider": ("提供部门", "Provider department"),
    "period": ("期间", "Period"),
    "finding": ("问题编号", "Finding"),
    "term_end": ("协定到期日", "Agreement term ends"),
    "term_start": ("协定起始日", "Agreement term starts"),
    "days_left": ("剩余天数", "Days left"),
    "workdays_left": ("剩余工作日", "Working days left"),
    "reminder": ("提前工作日", "Working days before the deadline"),
    "late": ("补发", "Sent late"),
    "overdue_since": ("逾期起始日", "Overdue since"),
    "workdays_overdue": ("逾期工作日", "Working days overdue"),
    "overdue_workdays": ("逾期工作日", "Working days overdue"),
    "level": ("升级级别", "Escalation level"),
    "name": ("名称", "Name"),
    "notify": ("通知对象", "Notified roles"),
    "percent": ("建议削减比例", "Suggested cut"),
    "amount": ("建议削减金额（元）", "Suggested amount (yuan)"),
    "om_budget": ("年度运维经费（元）", "Annual O&M budget (yuan)"),
    "coverage": ("共享覆盖率", "Sharing coverage"),
    "policy_version": ("策略版本", "Policy version"),
    "status": ("状态", "Status"),
    "withdrawn_on": ("撤回日期", "Withdrawn on"),
    "due_on": ("提醒日", "Reminder day"),
    "closed_late": ("逾期后关闭", "Closed after the deadline"),
    "workdays": ("整改期限（工作日）", "Working days to rectify"),
    "previous_deadline": ("原整改期限", "Previous deadline"),
    "actor": ("操作人", "By"),
    "note": ("说明", "Note"),
    "form": ("形式", "Form"),
    "version": ("版本", "Version"),
    "base_budget": ("年度运维经费（元）", "Annual O&M budget (yuan)"),
    "raised_at": ("发生时间", "Raised at"),
    "escalation_level": ("升级级别", "Escalation level"),
    "closed_on": ("关闭日期", "Closed on"),
    "closed_reason": ("关闭原因", "Closed because"),
    "opened_on": ("发现日期", "Found on"),
    "decided_by": ("决定人", "Decided by"),
    "year": ("年份", "Year"),
    "seq": ("审计事件数", "Audit events"),
    "head": ("链首哈希", "Head hash"),
    "key_id": ("锚点密钥编号", "Anchor key id"),
    "mac": ("签名（HMAC-SHA256）", "Signature (HMAC-SHA256)"),
    "file": ("锚点文件", "Anchor file"),
    "first_bad_seq": ("首个异常事件序号", "First bad event"),
    "flow": ("流程", "Flow"),
    "as_of": ("基准日", "As of"),
    "error": ("错误", "Error"),
    "message": ("说明", "Message"),
    "orders": ("关联整改通知", "Linked orders"),
    "obligations": ("共享义务", "Obligations"),
    "sent_by": ("发送人", "Sent by"),
    "at": ("时间", "Time"),
    "key": ("编号", "Key"),
    "code": ("编码", "Code"),
}

#: the clause a sweep finding of each rule cites; the rule's words live on :class:`FindingRule`
RULE_CLAUSES: dict[FindingRule, str] = {r: r.clause for r in FindingRule}
RULES: dict[str, tuple[str, str, str]] = {r.value: (r.zh, r.en, RULE_CLAUSES[r]) for r in FindingRule}

#: a cut recommendation's statuses (their words live on :class:`CutStatus`) and the two changes the cuts run
#: announces besides them
CUT_STATES: dict[str, tuple[str, str]] = {
    **{c.value: (c.zh, c.en) for c in CutStatus},
    "reproposed": ("重新提出", "proposed again"),
    "revised": ("已按最新评估更新", "revised"),
}

#: rectification order events (``order.<event>`` topics of govflow.governance.rectification)
ORDER_EVENTS: dict[str, tuple[str, str]] = {
    "issued": ("下达整改通知", "Order issued"),
    "closed": ("整改通知关闭", "Order closed"),
    "evidence": (OrderStatus.EVIDENCE_SUBMITTED.zh, "Evidence submitted"),
    "verify": ("整改核验通过", "Rectification verified"),
    "reject": ("整改材料被退回", "Evidence rejected"),
    "reopen": ("整改通知重新打开", "Order reopened"),
    "extend": ("整改期限延长", "Deadline extended"),
    "dated": ("整改期限已确定", "Deadline set"),
    "reminder": ("整改提醒", "Reminder"),
    "overdue": ("整改逾期", "Overdue"),
    "escalation": ("逾期升级", "Escalation"),
}


def fmt(value: Any, lang: str = "zh", key: str | None = None) -> str:
    """A payload value as people read it: labels for codes, 是/否, lists joined, mappings as ``名称：值``."""
    en = lang == "en"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return ("yes" if value else "no") if en else ("是" if value else "否")
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date | Decimal | int | float):
        return str(value)
    if isinstance(value, Mapping):
        sep = "; " if en else "；"
        colon = ": " if en else "："
        parts = []
        for k, v in value.items():
            zh_l, en_l = LABELS.get(str(k), (str(k), str(k).replace("_", " ")))
            parts.append(f"{en_l if en else zh_l}{colon}{fmt(v, lang, str(k))}")
        return sep.join(parts)
    if isinstance(value, list | tuple | set | frozenset):
        return (", " if en else "、").join(fmt(v, lang, key) for v in value) or "—"
    text = str(value)
    return _code_label(text, lang, key)


_PHASES = frozenset(p.value for p in Phase)
EVENT_CODES = frozenset(e.value for e in Event)
_ROLES = frozenset(r.value for r in Role)
_ORDER_STATUSES = frozenset(st.value for st in OrderStatus)


def _code_label(text: str, lang: str, key: str | None) -> str:
    if key in ("from", "to", "phase") and text in _PHASES:
        return (
            f"{Phase(text).label(lang)}（{text}）" if lang != "en" else f"{Phase(text).label(lang)} ({text})"
        )
    if key in ("from", "to", "status") and text in _ORDER_STATUSES:
        return OrderStatus(text).label(lang)
    if key == "event" and text in EVENT_CODES:
        return Event(text).label(lang)
    if key == "event" and text in ORDER_EVENTS:
        return ORDER_EVENTS[text][1 if lang == "en" else 0]
    if key == "form":
        return word(AgreementForm, text, lang)
    if key in ("notify", "role") and text in _ROLES:
        return Role(text).label(lang)
    if key in ("update_frequency", "frequency"):
        return word(Frequency, text, lang)
    if key == "rule" and text in RULES:
        return RULES[text][1 if lang == "en" else 0]
    if key == "status" and text in CUT_STATES:
        return CUT_STATES[text][1 if lang == "en" else 0]
    return text


def role_label(role: str, lang: str) -> str:
    return Role(role).label(lang) if role in _ROLES else role
