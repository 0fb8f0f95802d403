"""Who may do what: one role × action table, deny by default (SPEC §1).

Department scope (a department user acts only on projects its department leads, and reads only those it
leads or takes part in) is the second check; :func:`decide` applies both.
"""

from __future__ import annotations

from enum import StrEnum

from govflow.states.phases import Event
from govflow.states.verdict import Reason
from govflow.states.vocabulary import Word, words


class Role(Word):
    DEPARTMENT = "department"
    PROGRAM_OFFICE = "program_office"
    REVIEW_AGENCY = "review_agency"
    FINANCE = "finance"
    AUDIT = "audit"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.DEPARTMENT: ("建设部门", "owner department"),
    Role.PROGRAM_OFFICE: ("项目审批部门", "program office"),
    Role.REVIEW_AGENCY: ("评审机构", "review agency"),
    Role.FINANCE: ("财政部门", "finance bureau"),
    Role.AUDIT: ("审计监察", "audit"),
    Role.ADMIN: ("系统管理员", "administrator"),
}
words(Role, ROLE_LABELS)


class Scope(StrEnum):
    """How far a permission reaches for a department user."""

    ALL = "all"
    LEAD = "lead"  # projects the user's department leads
    PARTICIPANT = "participant"  # projects it leads or takes part in
    RELATED = "related"  # projects where it is a related department (giving opinions)


#: the clause a permission refusal cites: this table, not the guidance
PERMISSION_TABLE = "govflow 权限表"
#: the clauses that are not quoted from the guidance (those are cited as written in English too), in English
CLAUSES_EN = {PERMISSION_TABLE: "govflow permission table"}


def clause_text(clause: str, lang: str = "zh") -> str:
    """A clause as the reader's page cites it: ``733号文 第十一条`` as written, this table by its name."""
    return CLAUSES_EN.get(clause, clause) if lang == "en" else clause


def event_action(event: Event) -> str:
    return f"event.{event.value}"


_D, _P, _R, _F, _A, _X = (
    Role.DEPARTMENT,
    Role.PROGRAM_OFFICE,
    Role.REVIEW_AGENCY,
    Role.FINANCE,
    Role.AUDIT,
    Role.ADMIN,
)

#: action -> {role: scope}. Anything not listed is denied.
TABLE: dict[str, dict[Role, Scope]] = {
    "project.read": {
        _D: Scope.PARTICIPANT,
        _P: Scope.ALL,
        _R: Scope.ALL,
        _F: Scope.ALL,
        _A: Scope.ALL,
        _X: Scope.ALL,
    },
    "project.list": {
        _D: Scope.PARTICIPANT,
        _P: Scope.ALL,
        _R: Scope.ALL,
        _F: Scope.ALL,
        _A: Scope.ALL,
        _X: Scope.ALL,
    },
    "project.history": {_D: Scope.PARTICIPANT, _P: Scope.ALL, _A: Scope.ALL, _X: Scope.ALL},
    "project.edit": {_D: Scope.LEAD},
    "catalog.import": {_D: Scope.LEAD, _X: Scope.ALL},
    #: 第八条 及时调整授权: the provider (a department taking part; checked against the item) or the program office
    "catalog.authorize": {_D: Scope.PARTICIPANT, _P: Scope.ALL},
    #: ending an agreement is the program office's decision, with a reason
    "agreement.terminate": {_P: Scope.ALL},
    "evidence.import": {_D: Scope.PARTICIPANT, _P: Scope.ALL, _X: Scope.ALL},
    "opinion.record": {_D: Scope.RELATED, _P: Scope.ALL},
    "review.record": {_R: Scope.ALL},
    "portfolio.load": {_P: Scope.ALL, _X: Scope.ALL},
    "audit.read": {_A: Scope.ALL, _P: Scope.ALL, _X: Scope.ALL},
    "audit.verify": {_A: Scope.ALL, _X: Scope.ALL},
    "user.admin": {_X: Scope.ALL},
    "calendar.admin": {_X: Scope.ALL},
    "calendar.read": {
        _D: Scope.ALL,
        _P: Scope.ALL,
        _R: Scope.ALL,
        _F: Scope.ALL,
        _A: Scope.ALL,
        _X: Scope.ALL,
    },
    "policy.admin": {_X: Scope.ALL},
    "policy.read": {_P: Scope.ALL, _F: Scope.ALL, _A: Scope.ALL, _X: Scope.ALL},
    "flow.run": {_X: Scope.ALL},
    "flow.read": {_P: Scope.ALL, _A: Scope.ALL, _X: Scope.ALL},
    "notify.admin": {_X: Scope.ALL},
    "finding.read": {_D: Scope.PARTICIPANT, _P: Scope.ALL, _A: Scope.ALL, _F: Scope.ALL, _X: Scope.ALL},
    "order.read": {_D: Scope.PARTICIPANT, _P: Scope.ALL, _A: Scope.ALL, _F: Scope.ALL, _X: Scope.ALL},
    "order.evidence": {_D: Scope.LEAD},
    "order.verify": {_P: Scope.ALL},
    "order.extend": {_P: Scope.ALL},
    "order.reopen": {_P: Scope.ALL},
    "cuts.read": {_F: Scope.ALL, _A: Scope.ALL, _P: Scope.ALL, _X: Scope.ALL},
    "cuts.decide": {_F: Scope.ALL},
    "report.overdue": {_A: Scope.ALL, _P: Scope.ALL, _F: Scope.ALL, _X: Scope.ALL},
    "report.cuts": {_F: Scope.ALL, _A: Scope.ALL, _P: Scope.ALL, _X: Scope.ALL},
    "report.portfolio": {_P: Scope.ALL, _A: Scope.ALL, _F: Scope.ALL, _X: Scope.ALL},
    event_action(Event.SUBMIT_PROPOSAL): {_D: Scope.LEAD},
    event_action(Event.INTAKE): {_P: Scope.ALL},
    event_action(Event.APPROVE): {_P: Scope.ALL},
    event_action(Event.REFUSE): {_P: Scope.ALL},
    event_action(Event.SUBMIT_FEASIBILITY): {_D: Scope.LEAD},
    event_action(Event.SUBMIT_DESIGN): {_D: Scope.LEAD},
    event_action(Event.REQUEST_ACCEPTANCE): {_D: Scope.LEAD},
    event_action(Event.PASS_ACCEPTANCE): {_P: Scope.ALL},
    event_action(Event.FAIL_ACCEPTANCE): {_P: Scope.ALL},
    event_action(Event.REVISE): {_D: Scope.LEAD},
    event_action(Event.WITHDRAW): {_D: Scope.LEAD, _P: Scope.ALL},
    event_action(Event.RETIRE): {_P: Scope.ALL},
}

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "catalog.authorize": ("调整目录条目授权范围", "adjust a catalog item's authorized scope"),
    "agreement.terminate": ("终止共享协定", "terminate an agreement"),
    "project.read": ("查看项目", "read a project"),
    "project.list": ("列出项目", "list projects"),
    "project.history": ("查看项目历程", "read a project's history"),
    "project.edit": ("编辑项目材料", "edit project materials"),
    "catalog.import": ("导入共享信息目录", "import a sharing catalog"),
    "evidence.import": ("导入交付记录", "import delivery evidence"),
    "opinion.record": ("登记相关部门意见", "record a department's opinion"),
    "review.record": ("登记评审意见", "record a review"),
    "portfolio.load": ("导入项目组合", "load a portfolio"),
    "audit.read": ("查看审计日志", "read the audit trail"),
    "audit.verify": ("校验审计链", "verify the audit chain"),
    "user.admin": ("管理用户", "administer users"),
    "calendar.admin": ("管理工作日历", "administer the calendar"),
    "calendar.read": ("查看工作日历年份", "read the calendar's years"),
    "policy.admin": ("管理策略", "administer policy"),
    "policy.read": ("查看治理策略", "read the governance policy"),
    "flow.run": ("运行治理流程", "run governance flows"),
    "flow.read": ("查看流程运行记录", "read flow runs"),
    "notify.admin": ("管理通知渠道", "administer notifications"),
    "finding.read": ("查看共享问题", "read findings"),
    "order.read": ("查看整改通知", "read rectification orders"),
    "order.evidence": ("提交整改材料", "submit rectification evidence"),
    "order.verify": ("核验整改", "verify a rectification"),
    "order.extend": ("延长整改期限", "extend a deadline"),
    "order.reopen": ("重新打开整改通知", "reopen an order"),
    "cuts.read": ("查看削减建议", "read cut recommendations"),
    "cuts.decide": ("决定削减建议", "decide cut recommendations"),
    "report.overdue": ("查看逾期整改报表", "read the overdue report"),
    "report.cuts": ("查看削减建议报表", "read the cuts report"),
    "report.portfolio": ("查看项目组合报表", "read the portfolio report"),
}


def action_label(action: str, lang: str = "zh") -> str:
    if action.startswith("event."):
        return Event(action.removeprefix("event.")).label(lang)
    zh, en = ACTION_LABELS.get(action, (action, action))
    return en if lang == "en" else zh


def allowed_scope(role: Role, action: str) -> Scope | None:
    """The scope the table grants ``role`` for ``action``, or None (deny by default)."""
    return TABLE.get(action, {}).get(role)


def decide(
    role: Role,
    action: str,
    *,
    user: str,
    user_department: str | None = None,
    lead: str | None = None,
    participants: frozenset[str] = frozenset(),
) -> Reason | None:
    """None when allowed, else the reason for the denial (it goes to the audit trail as a security event)."""
    scope = allowed_scope(role, action)
    label_zh, label_en = action_label(action), action_label(action, "en")
    if scope is None:
        return Reason(
            "PERMISSION_DENIED",
            PERMISSION_TABLE,
            f"用户 {user}（{role.label()}）无权{label_zh}",
            f"user {user} ({role.label('en')}) may not {label_en}",
            detail={"action": action, "role": role.value},
        )
    if scope is Scope.ALL or lead is None:
        return None
    dept = user_department
    ok = {
        Scope.LEAD: dept == lead,
        Scope.PARTICIPANT: dept == lead or dept in participants,
        Scope.RELATED: dept in participants and dept != lead,
    }[scope]
    if ok:
        return None
    return Reason(
        "OUT_OF_DEPARTMENT",
        PERMISSION_TABLE,
        f"用户 {user} 所属部门 {dept} 不是该项目的{'牵头部门' if scope is Scope.LEAD else '参与部门'}，无权{label_zh}",
        f"user {user}'s department {dept} is not the project's "
        f"{'lead department' if scope is Scope.LEAD else 'participant'}; may not {label_en}",
        detail={"action": action, "role": role.value, "department": dept},
    )
