"""Every string the pages show, in zh-CN and English. A key missing here is an error, never shown raw."""

from __future__ import annotations

from starlette.requests import Request

from govflow.api.i18n import SUPPORTED, negotiate
from govflow.governance.checks import count_label
from govflow.reads.trail import outcome_text

LANG_COOKIE = "govflow_lang"

TEXT: dict[str, tuple[str, str]] = {
    # the department's proposal materials and pre-check (prepare.html), and an order's page (order.html)
    "prepare": ("准备项目建议书材料", "Prepare the proposal"),
    "back_to_project": ("返回项目", "Back to the project"),
    "precheck": ("预检：报送前查看受理会不会通过", "Pre-check: would intake accept it?"),
    "precheck_help": (
        "按受理和各环节实际执行的同一套规则试算，不提交、不记录；每条理由附条款。",
        "Judged by the very rules the steps apply, without submitting or recording anything; each reason "
        "cites its clause.",
    ),
    "needs_analysis": ("信息共享需求分析", "Sharing needs analysis"),
    "needs_internal": ("部门内部的信息共享需求", "Sharing needs within the department"),
    "needs_external": ("部门外部的信息共享需求", "Sharing needs with other departments"),
    "needs_central_local": ("本部门中央和地方之间的信息共享需求", "Central–local sharing needs"),
    "save": ("保存", "Save"),
    "catalog_form": ("新增或细化一个目录条目", "Add or refine one catalog item"),
    "legal_basis": ("法律依据", "Legal basis"),
    "legal_basis_help": ("有条件共享和不予共享时必填", "required for conditional sharing and for none"),
    "authorized": ("被授权部门", "Authorized departments"),
    "authorized_help": (
        "填 all（所有政务部门）或统一社会信用代码，以分号分隔；涉密条目须逐一列明部门",
        "all (every department) or credit codes separated by semicolons; secret items must list departments",
    ),
    "add_or_refine": ("保存目录条目", "Save the catalog item"),
    "catalog_import": (
        "从 Excel 导入目录（整表校验，有误则不写入）",
        "Import a catalog from Excel (all rows or none)",
    ),
    "file_csv_xlsx": ("文件（XLSX 或 CSV）", "File (XLSX or CSV)"),
    "file_yaml_json": ("文件（YAML 或 JSON）", "File (YAML or JSON)"),
    "download_template": ("下载 Excel 模板", "Download the Excel template"),
    "file_format": ("文件格式说明", "File format"),
    "catalog_format_help": (
        "第一个工作表第 1 行为列名（与模板相同），此后每行一个目录条目；已有编码的条目就地细化。"
        "日期写作 2026-07-01，空单元格视为未填。",
        "Row 1 of the first sheet holds the column names (as in the template), then one catalog item per row; "
        "a known code is refined in place. Dates are written 2026-07-01; empty cells count as not given.",
    ),
    "evidence_format_help": (
        "交换平台导出的交付记录：第一个工作表（或 UTF-8 编码的 CSV）第 1 行为列名，此后每行一个目录条目向一个使用部门"
        "在一天内交付的记录数；同一条目、部门、日期已有记录的行将被拒绝。整份文件校验，任一行有误则不写入。",
        "Delivery records exported from the exchange platform: row 1 of the first sheet (or of a UTF-8 CSV) holds "
        "the column names, then one row per catalog item, consumer and day with the records delivered; a row "
        "already on record is refused. The whole file is checked: any bad row and nothing is written.",
    ),
    "column": ("列名", "Column"),
    "required": ("必填", "Required"),
    "description": ("说明", "Description"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "agreement_form": ("登记一份共享协定或联合发文", "Add a sharing agreement or joint document"),
    "agreement_code": ("协定编号", "Agreement code"),
    "agreement_kind": ("形式", "Form"),
    "parties": ("各方（至少两方）", "Parties (at least two)"),
    "term": ("共享期限", "Sharing term"),
    "term_start": ("共享期限起", "Term starts"),
    "term_end": ("共享期限止", "Term ends"),
    "sharing_basis": ("共享依据", "Basis for sharing"),
    "agreement_item": ("协定条目（第八条各项）", "Agreement item (every term the rules ask for)"),
    "quality": ("质量要求", "Quality"),
    "quantity": ("数量", "Quantity"),
    "scope": ("授权使用范围", "Authorized scope"),
    "usage": ("使用方式", "Manner of use"),
    "add_agreement": ("登记协定", "Add the agreement"),
    "agreement_import": (
        "上传协定文件（整份校验，有误则不写入）",
        "Upload an agreements file (all or nothing)",
    ),
    "agreement_format_help": (
        "文件内容为 agreements: [...]，每份协定的写法与项目组合文档相同（code、form、parties、signed_on、term、"
        "basis、items）；按 govflow load 同样的规则校验。",
        "The file holds agreements: [...], each written as in the portfolio document (code, form, parties, "
        "signed_on, term, basis, items), checked by the same rules as govflow load.",
    ),
    "condition_answers": ("答复相关部门的修改意见", "Answers to the departments' conditions"),
    "condition_no": ("第 %s 项修改意见", "condition %s"),
    "answer": ("答复", "Answer"),
    "answered": ("已答复", "answered"),
    "unanswered": ("未答复", "not answered"),
    "save_answer": ("保存答复", "Save the answer"),
    "no_conditions": ("没有需要答复的修改意见", "No conditions to answer"),
    "then_refuses": ("%s时将不予通过：", "%s would refuse:"),
    "returns_to": (
        "现在办理将被拒绝，项目退回「%s」，因为：",
        "Pressing it now is refused and returns the project to '%s', because:",
    ),
    "then_ok": ("（%s的条件也已满足）", "(%s would accept it too)"),
    "why_not": ("现在不能办理，因为：", "Not possible now, because:"),
    "override_needed": (
        "评审意见有不符合项：批复须填写不采纳理由",
        "the review judged points not met: approving needs the reason for setting it aside",
    ),
    "needs_saved": ("需求分析已保存", "Needs analysis saved"),
    "catalog_saved": ("目录已保存：新增 %s 条，细化 %s 条", "Catalog saved: %s added, %s refined"),
    "agreement_saved": ("协定 %s 已登记（%s 个条目）", "Agreement %s added (%s items)"),
    "agreements_imported": ("已登记协定 %s 份（%s 个条目）", "%s agreements added (%s items)"),
    "answer_saved": ("答复已保存", "Answer saved"),
    "items_count": ("%s 个条目", "%s item(s)"),
    "workdays_after_notice": ("（通知日后 %s 个工作日）", "(%s working days after the notice)"),
    "workdays_left": ("剩余工作日", "Working days left"),
    "overdue_by": ("已逾期 %s 个工作日", "%s working days overdue"),
    "workdays_unknown": (
        "期限所在年度的工作日历尚未导入，暂不能计算",
        "the deadline's year has no working-day calendar yet",
    ),
    "workdays_unit": ("个工作日（不含今天，含截止日）", "working days (after today, up to the deadline)"),
    "owed": ("须整改的问题", "What must be put right"),
    "step": ("环节", "Step"),
    "note": ("说明", "Note"),
    "all_orders": ("全部整改通知", "All orders"),
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
    "replace_evidence": (
        "更正后的导出：以本文件的数为准替换已有记录",
        "corrected export: the file's numbers replace those on record",
    ),
    "audit": ("审计监察", "Audit"),
    "overdue": ("逾期整改（按逾期工作日数排序）", "Overdue rectifications (most overdue first)"),
    "overdue_days": ("逾期工作日数", "Working days overdue"),
    "overdue_uncounted": (
        "已逾期；工作日数待导入本年工作日历后计算",
        "overdue; the working days are counted once this year's calendar is imported",
    ),
    "escalation": ("升级级别", "Escalation level"),
    "chain": ("审计链校验", "Audit chain verification"),
    "chain_ok": ("审计链完整，已校验事件数：", "The audit chain is intact; events checked: "),
    "chain_bad": ("审计链异常，首个异常事件序号：", "The audit chain is BROKEN at event "),
    "chain_broken": ("审计链异常", "The audit chain is BROKEN"),
    "chain_anchors": (
        "与数据库之外的锚点相符，锚点数：",
        "Matches the anchors outside the database; anchors: ",
    ),
    "chain_latest_anchor": ("最近锚点", "latest anchor"),
    "chain_unanchored": (
        "尚无锚点：无法发现末尾删除或整体重算哈希",
        "No anchor yet: a cut end or a re-hashed chain cannot be seen",
    ),
    "trail": ("审计日志", "Audit trail"),
    "search": ("查询", "Search"),
    "export": ("导出", "Export"),
    "as_of": ("截至", "As of"),
    "finance": ("运维经费削减建议", "O&M cut recommendations"),
    "period": ("预算年度", "Budget period"),
    "percent": ("建议削减比例", "Suggested cut"),
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
    "conditions": (
        "修改意见（修改后同意时必填，每行一条）",
        "Changes asked for (required with 'agree with changes', one per line)",
    ),
    "record": ("登记", "Record"),
    "recorded_version": ("已登记评审意见，项目版本：", "Review recorded; project version "),
    "no_reviews_pending": ("暂无待评审项目", "No project awaits review"),
    "error": ("无法完成", "Could not be done"),
    "no_such_page": ("没有这个页面，请检查地址", "there is no such page; check the address"),
    "bad_request": (
        "请求无效，请返回后重新填写",
        "the request could not be read; go back and fill it in again",
    ),
    "home": ("首页", "Home"),
    "csrf_failed": (
        "表单已过期或并非从本系统页面提交，未执行任何操作；请刷新页面后重试",
        "the form has expired or did not come from this site's pages; nothing was done. Reload the page and try "
        "again",
    ),
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
    "comma": ("，", ", "),
    "semicolon": ("；", "; "),
    "list_sep": ("、", ", "),
    "open_paren": ("（", " ("),
    "close_paren": ("）", ")"),
    "cut_amount": ("建议削减金额", "Cut amount"),
    "base_budget": ("年度运维经费", "Annual O&M budget"),
    "lead_department": ("牵头部门", "the lead department"),
    "none_due": ("尚无到期的协定条目", "no agreement item is due yet"),
    "due_delivered": ("个到期条目有交付记录", "due items delivered"),
    "not_delivered": ("到期未交付", "due, not delivered"),
    "threshold": ("策略阈值", "policy threshold"),
    "last_delivery": ("最近交付", "Last delivery"),
    "covered": ("持续交付", "Sustained"),
    # ------------------------------------------------------------------ opinions (第九条 征求意见)
    "opinions": ("相关部门意见（第九条 征求意见）", "Opinions of the related departments (第九条)"),
    "opinion_form": ("登记相关部门意见", "Record a related department's opinion"),
    "department": ("部门", "Department"),
    "date": ("日期", "Date"),
    "verdict": ("意见结论", "Verdict"),
    "unmet_needs": ("未满足的共享需求", "Unmet sharing needs"),
    "need_name": ("需求名称", "Need"),
    "need_catalog": ("对应目录条目（可选）", "Catalog item (optional)"),
    "opinion_hint": (
        "结论为“需求未满足”时请逐条列出未满足的共享需求；审批时核对每条需求是否已被共享信息目录和共享协定满足"
        "（第十条第二款）。同一部门以最新一次意见为准。",
        "With the verdict 'unmet needs', list each need: approval checks that every one is covered by a catalog "
        "item and an agreement (第十条第二款). A department's newest opinion is the one that counts.",
    ),
    "opinion_recorded": ("已登记意见，项目版本：", "Opinion recorded; project version "),
    "awaiting_opinion": ("尚未出具意见的相关部门", "Related departments without an opinion yet"),
    "bad_date": ("日期应为 YYYY-MM-DD 格式的有效日期", "a date is a valid YYYY-MM-DD"),
    # ------------------------------------------------------------------ rectification orders
    "orders_page": ("整改通知（限期整改，第十一条）", "Rectification orders (第十一条)"),
    "notice_date": ("通知日期", "Notice date"),
    "original_deadline": ("原定期限", "First deadline"),
    "closed_on": ("关闭日期", "Closed on"),
    "closed_late": ("逾期后关闭", "closed late"),
    "origin": ("来源", "Origin"),
    "steps": ("处理记录", "Steps"),
    "verify": ("核验通过", "Verify"),
    "verify_note": ("核验说明（可选）", "Note (optional)"),
    "reject": ("退回整改材料", "Reject the evidence"),
    "extend": ("延长整改期限", "Extend the deadline"),
    "new_deadline": ("新的整改期限", "New deadline"),
    "or_workdays": ("或延长工作日数", "or extend by working days"),
    "reopen": ("重新打开", "Reopen"),
    "order_done": ("已办理", "Done"),
    "no_order_actions": ("当前没有您可办理的操作", "Nothing you may do now"),
    "order_stale": (
        "该整改通知在您打开页面之后已被他人办理或由定时流程更新，本次操作未执行。下面已是最新内容，请核对后重试。",
        "This order was changed (by someone else or a scheduled run) after you opened the page; nothing was done. "
        "The page below is up to date: check it and try again.",
    ),
    "not_overdue": ("未逾期", "not overdue"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_of": ("第 %d 页，共 %d 页（%d 条）", "page %d of %d (%d items)"),
    "evidence_file": ("附交付记录（CSV/XLSX，可选）", "Delivery records (CSV/XLSX, optional)"),
    "evidence_attached": ("附交付记录 %s，%d 行", "delivery records %s attached, %d rows"),
    "bad_upload": (
        "只接受不超过上传上限的 CSV 或 XLSX 文件",
        "only a CSV or XLSX file within the upload limit is accepted",
    ),
    "bad_calendar_upload": ("日历文件超过上传上限", "the calendar file is over the upload limit"),
    "escalation_none": ("未升级", "none"),
    # ------------------------------------------------------------------ administration
    "users": ("用户管理", "Users"),
    "add_user": ("新增用户", "Add a user"),
    "display_name": ("姓名", "Display name"),
    "role": ("角色", "Role"),
    "user_active": ("启用", "active"),
    "user_inactive": ("停用", "inactive"),
    "sign_in_state": ("登录凭据", "Credentials"),
    "has_password": ("已设口令", "password set"),
    "no_password": ("未设口令", "no password"),
    "has_token": ("已签发令牌", "API token issued"),
    "initial_password": ("初始口令", "Initial password"),
    "new_password": ("新口令", "New password"),
    "password_rule": (
        "口令 12–256 个字符，包含小写字母、大写字母、数字、其他字符中的至少三类，且不得包含用户名"
        "（GB/T 22239-2019 8.1.4.1）；重设后该用户已有的登录会话失效。",
        "12 to 256 characters of at least three kinds (lower-case, upper-case, digits, other) and not containing "
        "the user name (GB/T 22239-2019 8.1.4.1); resetting ends the user's open sessions.",
    ),
    "set_password": ("重设口令", "Reset password"),
    "issue_token": ("签发 API 令牌", "Issue an API token"),
    "revoke_token": ("吊销令牌", "Revoke token"),
    "token_once": (
        "新的 API 令牌（只显示这一次，请妥善保存）：",
        "New API token (shown this once; keep it safe): ",
    ),
    "user_added": ("已新增用户并设置初始口令：", "User added with an initial password: "),
    "password_set": ("已重设口令：", "Password reset: "),
    "token_revoked": ("已吊销 API 令牌：", "API token revoked: "),
    "deactivate_user": ("停用", "Deactivate"),
    "activate_user": ("启用", "Activate"),
    "deactivate_reason": ("停用理由（必填）", "Reason (required)"),
    "deactivate_rule": (
        "停用后该用户不能再登录，已有会话立即失效，API 令牌一并吊销（GB/T 22239-2019 8.1.4.2）；"
        "不能停用自己或最后一名启用的管理员。",
        "A deactivated user cannot sign in; its open sessions end at once and its API token is revoked "
        "(GB/T 22239-2019 8.1.4.2). You cannot deactivate yourself or the last active administrator.",
    ),
    "this_is_you": ("当前登录账户", "signed in as this user"),
    "user_deactivated": (
        "已停用用户（会话已失效、API 令牌已吊销）：",
        "User deactivated (sessions ended, token revoked): ",
    ),
    "user_activated": (
        "已启用用户（API 令牌须重新签发）：",
        "User activated (issue a new API token if needed): ",
    ),
    "user_was_inactive": ("该用户已是停用状态，未做改动：", "Already inactive, nothing changed: "),
    "user_was_active": ("该用户已是启用状态，未做改动：", "Already active, nothing changed: "),
    "department_optional": ("所属部门（建设部门用户必填）", "Department (required for a department user)"),
    "no_department": ("—（不属于某一部门）", "— (no department)"),
    "policy": ("治理策略", "Governance policy"),
    "active_policy": ("当前生效的策略版本", "Active policy version"),
    "digest": ("摘要（SHA-256）", "Digest (SHA-256)"),
    "activated_at": ("生效时间", "Activated at"),
    "policy_readonly": (
        "只读。新版本经校验后由管理员以 govflow policy load 载入；每份整改通知和削减建议都记录所用版本。",
        "Read-only. An administrator loads a new, validated version with govflow policy load; every order and "
        "recommendation records the version it used.",
    ),
    "rectification_workdays": (
        "整改期限（通知日后的工作日数）",
        "Rectification period (working days after the notice)",
    ),
    "reminders": ("截止前提醒（第几个工作日）", "Reminders (working days before the deadline)"),
    "escalation_steps": ("逾期升级", "Escalation"),
    "after_workdays": ("逾期工作日数达到", "Working days overdue"),
    "notify_roles": ("通知", "Notifies"),
    "level": ("级别", "Level"),
    "expiry_notice_days": ("协定到期前提示（天，第八条）", "Agreement expiry notice (days ahead, 第八条)"),
    "coverage_threshold": ("共享覆盖率阈值", "Coverage threshold"),
    "cut_tiers": ("削减档位（第十一条，从轻到重）", "Cut tiers (第十一条, mildest first)"),
    "min_overdue": ("最长逾期工作日数 ≥", "Longest overdue ≥ (working days)"),
    "max_coverage": ("且覆盖率 ≤（或）", "or coverage ≤"),
    "policy_versions": ("版本历史", "Versions"),
    "current": ("生效中", "active"),
    "system_actor": ("系统（默认策略）", "System (default policy)"),
    "runs": ("流程运行记录", "Flow runs"),
    "calendar": ("工作日历", "Working-day calendar"),
    "override": ("不采纳评审意见的理由（如需）", "Reason to set the review aside (if needed)"),
    "override_help": (
        "仅当评审意见把某个重点判为不符合时填写：记入审计并在项目历程中引用（第十条第一款）",
        "Only when the review judged a focus point not met: audited and cited in the history (第十条第一款)",
    ),
    "calendar_intro": (
        "整改期限按工作日计算（733号文 第十一条），放假与调休安排以国务院办公厅每年发布的通知为准，系统不作猜测。"
        "某年没有数据时，落入该年的期限为「期限待定」，导入后下一次运行自动确定。",
        "Rectification deadlines count working days (733号文 第十一条); days off and make-up working days come "
        "from the State Council's yearly notice and are never guessed. Deadlines that reach into a year without "
        "data stay pending until it is imported; the next run then sets them.",
    ),
    "calendar_years": ("已有数据的年份", "Years with data"),
    "calendar_year": ("年份", "Year"),
    "calendar_origin": ("来源", "Origin"),
    "calendar_source": ("依据", "Source"),
    "calendar_days_off": ("放假日", "Days off"),
    "calendar_make_up": ("调休上班日", "Make-up workdays"),
    "calendar_imported_by": ("导入人", "Imported by"),
    "calendar_imported_at": ("导入时间", "Imported at"),
    "calendar_import": ("导入一年的安排", "Import a year"),
    "calendar_import_help": (
        "YAML 或 JSON 文件：{years: {2027: {holidays: [...], workdays: [...], source: 通知标题和文号}}}。"
        "整年校验：《全国年节及纪念日放假办法》的每个法定节日须在放假期间内，调休上班日只能是周末，日期不重复、不出本年；"
        "有任何问题则一年也不写入。",
        "A YAML or JSON file: {years: {2027: {holidays: [...], workdays: [...], source: the notice's title and "
        "number}}}. Each year is checked whole: every statutory holiday inside a period off, make-up workdays "
        "only on weekends, no date twice, nothing outside the year; on any problem no year is written.",
    ),
    "calendar_file": ("日历文件", "Calendar file"),
    "calendar_imported": ("已导入工作日历：", "Calendar imported: "),
    "calendar_banner_link": ("导入工作日历", "Import the calendar"),
    "flow": ("流程", "Flow"),
    "started": ("开始", "Started"),
    "finished": ("结束", "Finished"),
    "result": ("结果", "Result"),
    "error_col": ("错误", "Error"),
    "no_runs": ("暂无运行记录", "No runs yet"),
    "outbox": ("通知发送", "Notifications"),
    "outbox_configured": ("已配置通知渠道", "Notification channels are configured"),
    "outbox_unconfigured": (
        "未配置通知渠道文件：消息保存在发件箱中等待发送",
        "No channel file is configured: messages wait in the outbox",
    ),
    "topic": ("通知类型", "Topic"),
    "recipients": ("接收角色", "Recipients"),
    "attempts": ("尝试次数", "Attempts"),
    "created": ("产生时间", "Created"),
    "next_attempt": ("下次尝试", "Next attempt"),
    "last_error": ("最近错误", "Last error"),
    "oldest_pending": ("最早的待发送消息", "Oldest waiting message"),
    "problems": ("发送失败或跳过的消息（最近 20 条）", "Failed or skipped messages (latest 20)"),
    "total": ("合计", "Total"),
    "message_key": ("消息键", "Message key"),
    # ------------------------------------------------------------------ the user's own account and sessions
    "account": ("我的账户", "Your account"),
    "account_of": ("账户：", "Account: "),
    "change_password": ("修改口令", "Change your password"),
    "current_password": ("当前口令", "Current password"),
    "change_password_rule": (
        "口令 12–256 个字符，包含小写字母、大写字母、数字、其他字符中的至少三类，且不得包含用户名"
        "（GB/T 22239-2019 8.1.4.1）。修改后，您在其他设备和浏览器上的登录全部退出，本浏览器保持登录。",
        "12 to 256 characters of at least three kinds (lower-case, upper-case, digits, other) and not containing "
        "your user name (GB/T 22239-2019 8.1.4.1). Afterwards you are signed out on every other device and "
        "browser; this one stays signed in.",
    ),
    "password_changed": (
        "口令已修改；您在其他设备和浏览器上的登录已全部退出",
        "Password changed; you are signed out on every other device and browser",
    ),
    "sign_out_everywhere": ("在所有设备上退出", "Sign out everywhere"),
    "sign_out_everywhere_help": (
        "结束您在所有设备和浏览器上的登录（包括本浏览器）。怀疑口令或登录被他人使用时请使用，并随后修改口令。",
        "Ends your sign-in on every device and browser, this one included. Use it when you suspect someone else "
        "has your password or session, then change your password.",
    ),
    "signed_out": (
        "您已退出登录；本次登录已在服务器上结束",
        "You are signed out; this session has ended on the server",
    ),
    "signed_out_everywhere": (
        "已在所有设备和浏览器上退出登录",
        "You are signed out on every device and browser",
    ),
    "end_sessions": ("强制退出全部登录", "Sign out everywhere"),
    "sessions_ended": ("已结束该用户的全部登录会话：", "All sessions ended for "),
    # ------------------------------------------------------------------ lists (search, filters, sort, pages)
    "list_search": ("查找", "Search"),
    "search_hint": ("编号或名称中的文字", "Words in a code or name"),
    "trail_search_hint": ("项目编号、操作人或说明中的文字", "Words in a project code, actor or note"),
    "all_phases": ("全部阶段", "all phases"),
    "all_statuses": ("全部状态", "all statuses"),
    "only_overdue": ("只看有逾期整改的", "only with overdue orders"),
    "only_overdue_orders": ("只看已逾期的", "only overdue orders"),
    "sort_by": ("排序", "Sort by"),
    "ascending": ("正序", "ascending"),
    "descending": ("倒序", "descending"),
    "apply_filters": ("筛选", "Apply"),
    "clear_filters": ("清除条件", "Clear"),
    "sort_code": ("编号", "code"),
    "sort_name": ("名称", "name"),
    "sort_phase": ("阶段", "phase"),
    "sort_lead": ("牵头部门", "lead department"),
    "sort_last_event": ("最近办理时间", "last event"),
    "sort_urgency": ("紧急程度", "urgency"),
    "sort_deadline": ("整改期限", "deadline"),
    "sort_notice_date": ("通知日期", "notice date"),
    "sort_project": ("项目编号", "project"),
    "sort_department": ("牵头部门", "lead department"),
    "sort_amount": ("建议削减金额", "cut amount"),
    "sort_percent": ("建议削减比例", "cut percentage"),
    "sort_budget": ("年度运维经费", "O&M budget"),
    "sort_status": ("状态", "status"),
    "sort_newest": ("最新在前", "newest first"),
    "sort_oldest": ("最早在前", "oldest first"),
    "show_sign_ins": ("显示登录、退出记录", "show sign-ins and sign-outs"),
    "project_list": ("项目列表", "Project list"),
    "last_event": ("最近办理", "Last event"),
    "no_match": ("没有符合条件的记录", "Nothing matches"),
    "budget_year": ("预算年度", "Budget year"),
    "show_year": ("查看", "Show"),
    "cut_totals": ("本年度合计", "Totals for the year"),
    "cut_count": ("建议数", "Recommendations"),
    "total_amount": ("建议削减金额合计", "Total cut"),
    "total_budget": ("涉及年度运维经费合计", "O&M budgets concerned"),
    "status_col": ("状态", "Status"),
    "page_nav": ("翻页", "Pages"),
    "seq": ("序号", "No."),
    # ------------------------------------------------------------------ reviews (第十条第一款)
    "reviews": ("评审意见（第十条第一款）", "Reviews (第十条第一款)"),
    "review_stage": ("评审阶段", "Stage"),
    "review_agency": ("评审机构", "Review agency"),
    "review_date": ("评审日期", "Date"),
    "review_result": ("结论倾向", "For or against"),
    "against_approval": ("不同意批复", "against approval"),
    "for_approval": ("同意批复", "for approval"),
    "against_approval_box": (
        "评审结论为不同意批复（审批部门须说明不采纳的理由方可批复）",
        "The conclusion is against approval (the program office may approve only with a recorded reason)",
    ),
    "not_judged": ("未判断", "not judged"),
    "no_reviews": ("尚无评审意见", "No review recorded yet"),
    "reviewed_mark": ("已登记本阶段评审", "reviewed at this stage"),
    "not_reviewed_mark": ("待评审", "awaiting review"),
    "my_reviews": ("我登记的评审意见", "My reviews"),
    "no_my_reviews": ("您尚未登记评审意见", "You have not recorded a review yet"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "main_nav": ("主导航", "Main navigation"),
}


#: the heading of the error page per HTTP status (the status is the error class's ``http_status``)
ERROR_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "Bad request"),
    401: ("需要登录", "Sign-in required"),
    403: ("无权访问", "Forbidden"),
    404: ("没有找到", "Not found"),
    405: ("不支持该操作", "Method not allowed"),
    409: ("已被他人更改", "Changed in the meantime"),
    413: ("上传内容过大", "Upload too large"),
    422: ("被规则拒绝", "Refused by a rule"),
    429: ("尝试次数过多", "Too many attempts"),
    503: ("暂时无法完成", "Temporarily unavailable"),
}


def error_title(status: int, lang: str) -> str:
    zh, en = ERROR_TITLES.get(status, TEXT["error"])
    return en if lang == "en" else zh


def count_text(n: object, lang: str) -> str:
    """A count after a heading: （3） in Chinese, (3) in English."""
    return f" ({n})" if lang == "en" else f"（{n}）"


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


def stat_text(key: str, lang: str) -> str:
    return count_label(key, lang)  # the registry's words, as `govflow run` prints them


#: outbox topics: ``order.<step>``, ``cuts.<status>``, ``decision.<event>.<outcome>``, notices and alarms
TOPIC_LABELS: dict[str, tuple[str, str]] = {
    "order.issued": ("整改通知下达", "order issued"),
    "order.reminder": ("整改到期提醒", "order reminder"),
    "order.overdue": ("整改逾期", "order overdue"),
    "order.escalation": ("逾期升级", "order escalated"),
    "order.evidence": ("整改材料已提交", "evidence submitted"),
    "order.verify": ("整改已核验", "order verified"),
    "order.reject": ("整改材料被退回", "evidence rejected"),
    "order.reopen": ("整改通知重新打开", "order reopened"),
    "order.extend": ("整改期限延长", "deadline extended"),
    "order.dated": ("整改期限已确定", "deadline set"),
    "order.closed": ("整改通知关闭", "order closed"),
    "cuts.proposed": ("削减建议提出", "cut proposed"),
    "cuts.revised": ("削减建议调整", "cut revised"),
    "cuts.withdrawn": ("削减建议撤回", "cut withdrawn"),
    "cuts.reproposed": ("削减建议重新提出", "cut proposed again"),
    "cuts.accepted": ("削减建议采纳", "cut accepted"),
    "cuts.declined": ("削减建议不采纳", "cut declined"),
    "notice.agreement_expiry": ("协定即将到期提示", "agreement expiry notice"),
    "finding.opened": ("发现共享问题", "sharing finding opened"),
    "finding.closed": ("共享问题消除", "sharing finding closed"),
    "alarm.calendar": ("工作日历缺失告警", "calendar data alarm"),
    "alarm.calendar.upcoming": ("工作日历导入提醒", "calendar import reminder"),
}


def topic_text(topic: str, lang: str) -> str:
    """An outbox topic as people read it; ``decision.<event>.<accepted|refused>`` from the event's label."""
    pair = TOPIC_LABELS.get(topic)
    if pair is not None:
        return pair[1 if lang == "en" else 0]
    from govflow.states.phases import Event

    parts = topic.split(".")
    if len(parts) == 3 and parts[0] == "decision" and parts[1] in {e.value for e in Event}:
        return f"{Event(parts[1]).label(lang)}{tr('colon', lang)}{outcome_text(parts[2], lang)}"
    return topic
