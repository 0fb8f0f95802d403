"""Every string the pages show, in zh-CN and English. A key missing here is an error, never shown raw."""

from __future__ import annotations

from starlette.requests import Request

from govflow.api.i18n import SUPPORTED, negotiate

LANG_COOKIE = "govflow_lang"

TEXT: dict[str, tuple[str, str]] = {
    "app": ("电子政务项目信息共享治理", "E-government sharing governance"),
    "basis": (
        "依据《关于进一步加强政务部门信息共享建设管理的指导意见》（发改高技〔2013〕733号）",
        "Under NDRC guidance 发改高技〔2013〕733号 on information sharing",
    ),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "user": ("用户名", "User name"),
    "password": ("口令", "Password"),
    "sign_in_failed": (
        "用户名或口令错误，或登录已失效",
        "wrong user name or password, or the sign-in expired",
    ),
    "board": ("项目看板", "Pipeline board"),
    "projects": ("项目", "Projects"),
    "projects_per_phase": ("各阶段项目数", "Projects per phase"),
    "coverage_per_dept": (
        "各部门共享覆盖率（到期协定条目中已交付的比例）",
        "Sharing coverage per department (due agreement items delivered)",
    ),
    "no_projects": ("暂无项目", "No projects"),
    "project": ("项目", "Project"),
    "code": ("编号", "Code"),
    "name": ("名称", "Name"),
    "phase": ("阶段", "Phase"),
    "lead": ("牵头部门", "Lead department"),
    "version": ("版本", "Version"),
    "om_budget": ("年度运维经费（元）", "Annual O&M budget (yuan)"),
    "timeline": ("历程（每一次受理、拒绝及理由）", "Timeline (every event, refusal and reason)"),
    "time": ("时间", "Time"),
    "event": ("事件", "Event"),
    "actor": ("操作人", "Actor"),
    "outcome": ("结果", "Outcome"),
    "reasons": ("理由与依据", "Reasons and clauses"),
    "accepted": ("通过", "accepted"),
    "refused": ("拒绝", "refused"),
    "recorded": ("已登记", "recorded"),
    "denied": ("无权", "denied"),
    "actions": ("可执行的操作", "What you may do now"),
    "no_actions": ("当前阶段没有您可执行的操作", "Nothing you may do in this phase"),
    "reason": ("理由", "Reason"),
    "reason_hint": (
        "理由（不予审批、撤销、不予通过验收时必填）",
        "Reason (required to refuse, withdraw or fail)",
    ),
    "result_accepted": ("已执行", "Done"),
    "result_refused": ("被拒绝", "Refused"),
    "catalog": ("共享信息目录", "Sharing catalog"),
    "category": ("类别", "Category"),
    "share_type": ("共享类型", "Share type"),
    "method": ("共享方式", "Method"),
    "frequency": ("更新频率", "Update frequency"),
    "secrecy": ("密级", "Secrecy"),
    "provider": ("提供部门", "Provider"),
    "agreements": ("信息共享协定", "Sharing agreements"),
    "form": ("形式", "Form"),
    "signed_on": ("签订日期", "Signed on"),
    "items": ("条目", "Items"),
    "consumer": ("使用部门", "Consumer"),
    "due": ("实现进度", "Due"),
    "delivered": ("已交付", "delivered"),
    "coverage": ("共享覆盖", "Sharing coverage"),
    "none": ("无", "none"),
    "my_projects": ("本部门的项目", "Your department's projects"),
    "next_step": ("下一步", "Next step"),
    "missing": ("尚缺（下一步前须满足的条件）", "Still missing before the next step"),
    "ready": ("条件已满足", "ready"),
    "done_by": ("办理：", "done by "),
    "orders": ("整改通知", "Rectification orders"),
    "open_orders": ("未结整改通知及期限", "Open rectification orders and deadlines"),
    "order": ("整改通知", "Order"),
    "deadline": ("整改期限", "Deadline"),
    "status": ("状态", "Status"),
    "submit_evidence": ("提交整改材料", "Submit evidence"),
    "evidence_note": ("整改材料说明", "What was done"),
    "upload_evidence": ("上传交付记录（CSV/XLSX）", "Upload delivery evidence (CSV/XLSX)"),
    "upload": ("上传", "Upload"),
    "imported": ("已导入交付记录行数", "delivery rows imported"),
    "audit": ("审计监察", "Audit"),
    "overdue": ("逾期整改（按逾期工作日数排序）", "Overdue rectifications (most overdue first)"),
    "overdue_days": ("逾期工作日数", "Working days overdue"),
    "escalation": ("升级级别", "Escalation level"),
    "chain": ("审计链校验", "Audit chain verification"),
    "chain_ok": ("审计链完整，已校验事件数：", "The audit chain is intact; events checked: "),
    "chain_bad": ("审计链异常，首个异常事件序号：", "The audit chain is BROKEN at event "),
    "trail": ("审计日志", "Audit trail"),
    "search": ("查询", "Search"),
    "export": ("导出", "Export"),
    "as_of": ("截至", "As of"),
    "finance": ("运维经费削减建议", "O&M cut recommendations"),
    "period": ("预算年度", "Budget period"),
    "percent": ("建议削减比例", "Suggested cut"),
    "amount": ("建议削减金额（元）", "Cut amount (yuan)"),
    "policy_version": ("策略版本", "Policy version"),
    "evidence": ("证据", "Evidence"),
    "decide": ("决定", "Decision"),
    "accept": ("采纳", "Accept"),
    "decline": ("不采纳", "Decline"),
    "decided": ("已决定", "Decided"),
    "no_cuts": ("本年度暂无削减建议", "No recommendations for this period"),
    "review_queue": ("评审队列", "Review queue"),
    "review_form": (
        "登记评审意见（五个评审重点，第十条第一款）",
        "Record a review (the five focus points, 第十条第一款)",
    ),
    "conclusion": ("评审结论", "Conclusion"),
    "comment": ("说明", "Comment"),
    "record": ("登记", "Record"),
    "recorded_version": ("已登记评审意见，项目版本：", "Review recorded; project version "),
    "met": ("满足", "met"),
    "partly": ("部分满足", "partly met"),
    "not_met": ("不满足", "not met"),
    "no_reviews_pending": ("暂无待评审项目", "No project awaits review"),
    "error": ("无法完成", "Could not be done"),
    "home": ("首页", "Home"),
    "obligations": ("共享义务", "Obligations"),
    "orders_linked": ("关联整改通知", "Linked orders"),
    "expected": ("应交付", "expected"),
    "all_departments": ("全部部门", "all departments"),
    "empty": ("暂无", "none"),
    "all": ("全部", "all"),
    "overdue_over_time": (
        "逾期整改通知数（近 12 周，每周末）",
        "Overdue orders (last 12 weeks, at each week's end)",
    ),
    "focus_point": ("评审重点", "Focus point"),
    "judgment": ("判断", "Judgment"),
    "colon": ("：", ": "),
    "lead_department": ("牵头部门", "the lead department"),
    "none_due": ("尚无到期的协定条目", "no agreement item is due yet"),
    "due_delivered": ("个到期条目有交付记录", "due items delivered"),
    "not_delivered": ("到期未交付", "due, not delivered"),
    "threshold": ("策略阈值", "policy threshold"),
    "last_delivery": ("最近交付", "Last delivery"),
    "covered": ("持续交付", "Sustained"),
}


def tr(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def page_lang(request: Request) -> str:
    """``?lang=`` (remembered in a cookie by the response), else the cookie, else ``Accept-Language``."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED:
        return str(asked)
    kept = request.cookies.get(LANG_COOKIE)
    if kept in SUPPORTED:
        return str(kept)
    default = getattr(request.app.state, "default_lang", "zh")
    return negotiate(request.headers.get("accept-language"), default)


#: codes of the sharing data (SPEC §3) as people read them; an unknown code is shown as it is
CODE_LABELS: dict[str, tuple[str, str]] = {
    "basic": ("基础信息", "basic"),
    "business": ("业务信息", "business"),
    "trace": ("痕迹信息", "trace"),
    "status": ("状态信息", "status"),
    "policy": ("政策规范", "policy"),
    "unconditional": ("无条件共享", "unconditional"),
    "conditional": ("有条件共享", "conditional"),
    "none": ("不予共享", "not shared"),
    "query": ("查询", "query"),
    "exchange": ("交换", "exchange"),
    "publish": ("发布", "publish"),
    "realtime": ("实时", "real time"),
    "daily": ("每日", "daily"),
    "weekly": ("每周", "weekly"),
    "monthly": ("每月", "monthly"),
    "quarterly": ("每季度", "quarterly"),
    "yearly": ("每年", "yearly"),
    "public": ("公开", "public"),
    "internal": ("内部", "internal"),
    "secret": ("涉密", "secret"),
    "agreement": ("信息共享协定", "sharing agreement"),
    "joint_document": ("联合发文", "joint document"),
}


def code_label(code: object, lang: str) -> str:
    if code is None:
        return ""
    pair = CODE_LABELS.get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if lang == "en" else pair[0]


#: audit-trail actions that are not lifecycle events (those are labelled by :class:`states.phases.Event`)
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "onboard": ("纳入管理", "onboarded"),
    "create": ("创建项目", "project created"),
    "order.issue": ("下达整改通知", "order issued"),
    "order.remind": ("整改提醒", "reminder"),
    "order.overdue": ("整改逾期", "order overdue"),
    "order.escalate": ("逾期升级", "escalated"),
    "order.evidence": ("提交整改材料", "evidence submitted"),
    "order.verify": ("核验整改", "evidence verified"),
    "order.reopen": ("重新打开整改通知", "order reopened"),
    "order.extend": ("延长整改期限", "deadline extended"),
    "order.close": ("关闭整改通知", "order closed"),
    "cuts.propose": ("提出削减建议", "cut proposed"),
    "cuts.revise": ("调整削减建议", "cut revised"),
    "cuts.withdraw": ("撤回削减建议", "cut withdrawn"),
    "cuts.accept": ("采纳削减建议", "cut accepted"),
    "cuts.decline": ("不采纳削减建议", "cut declined"),
    "review.record": ("登记评审意见", "review recorded"),
    "opinion.record": ("登记相关部门意见", "opinion recorded"),
    "catalog.import": ("导入共享信息目录", "catalog imported"),
    "evidence.import": ("导入交付记录", "evidence imported"),
    "flow.sweep": ("共享义务检查", "obligation sweep"),
    "flow.deadlines": ("整改期限检查", "deadline run"),
    "flow.cuts": ("削减建议测算", "cuts run"),
    "flow.dispatch": ("通知发送", "notification dispatch"),
    "policy.load": ("载入治理策略", "policy loaded"),
    "user.add": ("新增用户", "user added"),
    "user.password": ("设置口令", "password set"),
    "user.token": ("签发 API 令牌", "API token issued"),
    "user.token.revoke": ("吊销 API 令牌", "API token revoked"),
    "auth.login": ("登录", "sign-in"),
    "notify.retry": ("重发通知", "notification retried"),
    "notify.test": ("测试通知渠道", "notification test"),
}

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "accepted": ("通过", "accepted"),
    "refused": ("拒绝", "refused"),
    "recorded": ("已登记", "recorded"),
    "denied": ("无权或失败", "denied"),
    "failed": ("失败", "failed"),
}


def action_text(action: str, lang: str) -> str:
    from states.permissions import action_label
    from states.phases import Event

    if action in {e.value for e in Event}:
        return Event(action).label(lang)
    pair = ACTION_LABELS.get(action)
    if pair is not None:
        return pair[1] if lang == "en" else pair[0]
    return action_label(action, lang)  # the permission table's labels, or the code itself


def outcome_text(outcome: str, lang: str) -> str:
    pair = OUTCOME_LABELS.get(outcome)
    return outcome if pair is None else pair[1 if lang == "en" else 0]
