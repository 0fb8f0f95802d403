"""The problems a portfolio document (or an agreements file, or an evidence row) can have beyond its shape: each
rule's code, the clause it rests on and its message in zh-CN and English, in one table.

A message is a template over named fields; :meth:`Problem.at` fills it from the reason's ``detail`` (what a
machine reads) and any further words only the sentence needs (what a person reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govflow.lifecycle.portfolio.schema import DOC_CLAUSE
from govflow.states.verdict import Reason, clause


@dataclass(frozen=True)
class Problem:
    code: str
    clause: str
    zh: str
    en: str

    def at(self, path: str, detail: dict[str, Any] | None = None, **words: Any) -> Reason:
        fields = {**(detail or {}), **words}
        return Reason(
            self.code, self.clause, self.zh.format(**fields), self.en.format(**fields), path, detail or {}
        )


# -- references and codes
UNKNOWN_DEPARTMENT = Problem(
    "UNKNOWN_DEPARTMENT",
    DOC_CLAUSE,
    "{what}“{department}”既不在文档的 departments 中，也不在数据库中；请在 departments 中补充该部门或更正代码",
    "{what_en} '{department}' is neither in the document's departments nor in the database; add the department "
    "or correct the code",
)
DUPLICATE_CODE = Problem(
    "DUPLICATE_CODE",
    DOC_CLAUSE,
    "{what}“{code}”重复（首次出现于 {first}）；每个编码只能出现一次，请删去或改正",
    "{what_en} '{code}' is repeated (first at {first}); each code may appear only once",
)

# -- users and projects: loading creates, it never changes what exists
USER_EXISTS = Problem(
    "USER_EXISTS",
    DOC_CLAUSE,
    "用户 {user} 已存在于数据库中；导入只新建用户，不修改已有用户。请从文档中删去该用户或改名",
    "user {user} already exists; loading creates users and never changes existing ones. "
    "Remove the user from the document or rename it",
)
USER_DEPARTMENT_MISSING = Problem(
    "USER_DEPARTMENT_MISSING",
    DOC_CLAUSE,
    "用户 {user} 的角色为建设部门（department），须填写所属部门（department）",
    "user {user} has role department and must name its department (department)",
)
PROJECT_EXISTS = Problem(
    "PROJECT_EXISTS",
    DOC_CLAUSE,
    "项目 {project} 已存在于数据库中；导入只新建项目，不修改已有项目。请从文档中删去该项目，"
    "已有项目的材料和阶段通过 govflow 的编辑与事件命令变更",
    "project {project} already exists; loading creates projects and never changes existing ones. "
    "Remove it from the document; change an existing project through govflow's edit and event commands",
)

# -- agreements (第八条) and secrecy (第二条第三款)
AGREEMENT_CATALOG_UNKNOWN = Problem(
    "UNKNOWN_CATALOG_ITEM",
    clause("第八条"),
    "协定 {agreement} 约定共享的目录条目 {catalog} 不在项目 {project} 的共享信息目录中；"
    "请先在 catalog 中列出该条目或更正编码",
    "agreement {agreement} shares catalog item {catalog}, which is not in the catalog of "
    "project {project}; list it in catalog or correct the code",
)
AGREEMENT_EXISTS = Problem(
    "AGREEMENT_EXISTS",
    DOC_CLAUSE,
    "项目 {project} 已有协定 {agreement}；协定一经登记不可覆盖，请使用新的编号",
    "project {project} already has agreement {agreement}; use a new code",
)
NEW_AGREEMENT_CATALOG_UNKNOWN = Problem(
    "CATALOG_ITEM_UNKNOWN",
    clause("第八条"),
    "协定 {agreement} 的条目引用了项目 {project} 目录中没有的条目 {catalog}",
    "agreement {agreement} names catalog item {catalog}, not in project {project}'s catalog",
)

# -- opinions of related departments (第九条)
OPINION_NOT_RELATED = Problem(
    "OPINION_NOT_RELATED",
    clause("第九条"),
    "部门 {department} 既不是项目 {project} 的相关部门，也不是其目录条目的提供部门或协定一方，其意见不能作为"
    "征求意见登记；请将其列入 departments 或删去该意见",
    "department {department} is neither a related department of project {project} nor a provider or party "
    "of its sharing; list it in departments or remove the opinion",
)
UNMET_NEEDS_NOT_LISTED = Problem(
    "UNMET_NEEDS_NOT_LISTED",
    clause("第九条"),
    "部门 {department} 的意见为“需求未满足”（unmet_needs），须列出未满足的共享需求",
    "the opinion of {department} says needs are unmet but lists none (unmet_needs)",
)

# -- evidence rows
EVIDENCE_NEGATIVE = Problem(
    "EVIDENCE_NEGATIVE",
    DOC_CLAUSE,
    "交付记录数 {records} 为负数；交付记录数须为 0 或正整数，请更正",
    "records delivered {records} is negative; it must be 0 or more",
)
EVIDENCE_IN_FUTURE = Problem(
    "EVIDENCE_IN_FUTURE",
    DOC_CLAUSE,
    "交付日期 {date} 晚于今天 {today}；交付记录只能记载已发生的交付，请更正日期",
    "delivery date {date} is after today {today}; evidence records deliveries that happened",
)
EVIDENCE_PROJECT_UNKNOWN = Problem(
    "UNKNOWN_PROJECT",
    DOC_CLAUSE,
    "交付记录所属项目 {project} 既不在文档中，也不在数据库中；请更正项目编码",
    "project {project} of the evidence row is neither in the document nor in the database",
)
EVIDENCE_CATALOG_UNKNOWN = Problem(
    "UNKNOWN_CATALOG_ITEM",
    DOC_CLAUSE,
    "交付记录的目录条目 {catalog} 不在项目 {project} 的共享信息目录中；请更正目录条目编码",
    "catalog item {catalog} of the evidence row is not in the catalog of project {project}",
)

# -- onboarding at a later phase (第九条、第十条第二款)
ONBOARDING_GATE_UNMET = Problem(
    "ONBOARDING_GATE_UNMET",
    clause("第十条", "第二款"),
    "项目 {project} 以「{phase}」阶段纳入管理，须具备已过「{gate_zh}」关口所要求的材料：{message}；"
    "请补齐材料，或填写 legacy_reason 说明其为存量项目（所缺材料补齐前不予批复）",
    "project {project} is onboarded at phase {phase_en} and must carry what the '{gate_en}' gate it passed "
    "requires: {message_en}; supply it, or give legacy_reason for an existing project (no approval until it "
    "is supplied)",
)
CONDITIONS_NOT_LISTED = Problem(
    "CONDITIONS_NOT_LISTED",
    clause("第九条"),
    "部门 {department} 的意见为“修改后同意”（agree_with_changes），须逐条列出修改意见（conditions）",
    "the opinion of {department} agrees with changes but lists none (conditions)",
)
