"""The portfolio document's shape: the input models (pydantic, ``extra="forbid"``) and their published JSON
Schema (``govflow schema``); field descriptions are zh-CN first, then English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from govflow.states import inputs
from govflow.states.permissions import Role
from govflow.states.phases import Phase, ReviewStage
from govflow.states.sharing import (
    AgreementForm,
    Category,
    FocusPoint,
    Frequency,
    Judgment,
    Level,
    Method,
    OpinionVerdict,
    Secrecy,
    ShareType,
)

#: The clause cited for problems of the document itself (shape, references) rather than of 733号文.

DOC_CLAUSE = "govflow 项目组合文档"
SCHEMA_CODE = "SCHEMA"

Loc = tuple[str | int, ...]

# --------------------------------------------------------------------------------------------------------------
# Input models. Field descriptions are the published JSON Schema (`govflow schema`), zh-CN first, then English.
# --------------------------------------------------------------------------------------------------------------


#: fields of free text: tabs and line breaks allowed; every other text field is a code or a name
#: (:mod:`govflow.states.inputs`: no control character, no bidi control)
FREE_TEXT_FIELDS = frozenset(
    {
        "description",
        "legal_basis",
        "format",
        "interface",
        "processing",
        "traceability",
        "quality",
        "quantity",
        "scope",
        "usage",
        "basis",
        "internal",
        "external",
        "central_local",
        "needs",
        "comment",
        "conclusion",
    }
)


class InputModel(BaseModel):
    # Numbers are accepted where codes are expected because YAML reads `region: 330000` as an int.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    @field_validator("*", mode="after")
    @classmethod
    def _safe_values(cls, value: Any, info: ValidationInfo) -> Any:
        """Every text and date of every field, by the rules of :mod:`govflow.states.inputs`."""
        problem = _problem(value, name=info.field_name not in FREE_TEXT_FIELDS)
        if problem is not None:
            raise inputs.error(problem)
        return value


def _problem(value: Any, *, name: bool) -> tuple[str, str] | None:
    if isinstance(value, str):
        return inputs.text_problem(value, name=name)
    if isinstance(value, dt.date):
        return inputs.day_problem(value)
    if isinstance(value, list | tuple):
        return next((p for v in value if (p := _problem(v, name=name)) is not None), None)
    return None


def _authorized(value: Any) -> Any:
    """``all`` or a list of department codes; one clear error instead of one per union member."""
    if value is None or value == "all":
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
        return [str(v).strip() for v in value]
    raise PydanticCustomError(
        "authorized", "must be 'all' or a list of department codes", {"expected": "'all' 或部门代码列表"}
    )


Authorized = Annotated[Literal["all"] | list[str] | None, BeforeValidator(_authorized)]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1)]


class DepartmentIn(InputModel):
    """政务部门 / a government department."""

    code: str = Field(
        min_length=1,
        max_length=18,
        description="统一社会信用代码，18 位，末位校验码按 GB 32100-2015 核验 / "
        "unified social credit code, 18 characters, check character verified per GB 32100-2015",
    )
    name: str = Field(min_length=1, max_length=200, description="部门名称 / department name")
    region: str = Field(
        min_length=1, max_length=6, description="行政区划代码（GB/T 2260，6 位） / region code (GB/T 2260)"
    )
    level: Level = Field(description="层级 / level: central | provincial | municipal | county")


class UserIn(InputModel):
    """用户 / a user. Department users act for their department and must name it."""

    name: str = Field(min_length=1, max_length=64, description="登录名，唯一 / login name, unique")
    role: Role = Field(
        description="角色 / role: department | program_office | review_agency | finance | audit | admin"
    )
    department: str | None = Field(
        default=None,
        description="所属部门的统一社会信用代码；role 为 department 时必填 / "
        "credit code of the user's department; required for role department",
    )
    display_name: str | None = Field(
        default=None, max_length=100, description="显示名（姓名） / display name"
    )


class FieldIn(InputModel):
    """目录条目的数据字段 / a data field of a catalog item (第九条: refined in the feasibility study)."""

    name: Text = Field(description="字段名 / field name")
    type: Text = Field(description="数据类型 / data type")
    description: str = Field(default="", description="字段说明 / description")


class CatalogItemIn(InputModel):
    """共享信息目录条目 / a sharing catalog item (第三条、第九条)."""

    code: Code = Field(description="目录条目编码，项目内唯一 / item code, unique within the project")
    name: str = Field(min_length=1, max_length=200, description="信息资源名称 / name")
    provider: str = Field(description="提供部门的统一社会信用代码 / credit code of the providing department")
    category: Category = Field(
        description="信息类别 / category: basic 基础信息 | business 业务信息 | trace 痕迹信息 | "
        "status 状态信息 | policy 政策规范"
    )
    share_type: ShareType = Field(
        description="共享类型 / share type: unconditional 无条件共享 | conditional 有条件共享 | none 不予共享; "
        "basic 类须为 unconditional（第三条） / basic items must be unconditional"
    )
    method: Method = Field(description="共享方式 / method: query 查询 | exchange 交换 | publish 发布")
    update_frequency: Frequency = Field(
        description="更新频度 / update frequency: realtime | daily | weekly | monthly | quarterly | yearly"
    )
    secrecy: Secrecy = Field(
        description="密级 / secrecy: public | internal | secret（国家秘密，第二条第三款）"
    )
    legal_basis: str | None = Field(
        default=None,
        description="法律依据；有条件共享和不予共享时必填 / legal basis; required for conditional and none",
    )
    authorized: Authorized = Field(
        default=None,
        description="被授权部门：all（所有政务部门）或统一社会信用代码列表。basic 类须为 all（第三条）；"
        "secret 类须逐一列明部门，不得为 all（第二条第三款）。省略时：非涉密的无条件共享条目视为 all，"
        "其他条目视为未授权任何部门 / authorized departments: 'all' or a list of credit codes. Basic items "
        "must be 'all'; secret items must list departments and never be 'all'. When omitted: 'all' for "
        "unconditional non-secret items, nobody for the others",
    )
    fields: list[FieldIn] = Field(
        default_factory=list, description="数据字段（可研阶段细化） / data fields (refined for feasibility)"
    )
    format: str | None = Field(default=None, description="数据格式 / data format")
    interface: str | None = Field(default=None, description="技术接口 / technical interface")
    processing: str | None = Field(default=None, description="加工处理方法 / processing method")
    traceability: str | None = Field(
        default=None, description="信息可追溯的技术要求 / traceability requirement"
    )

    @property
    def all_departments(self) -> bool:
        if self.authorized is None:
            return self.share_type is ShareType.UNCONDITIONAL and self.secrecy is not Secrecy.SECRET
        return self.authorized == "all"

    @property
    def authorized_codes(self) -> tuple[str, ...]:
        return tuple(self.authorized) if isinstance(self.authorized, list) else ()


class TermIn(InputModel):
    """共享期限 / the sharing term."""

    start: dt.date = Field(description="起始日 / first day")
    end: dt.date = Field(description="终止日 / last day")


class AgreementItemIn(InputModel):
    """协定条目：一个目录条目向一个使用部门共享的约定（第八条各项均须约定） / one item promised to a consumer."""

    catalog: Code = Field(description="本项目目录条目编码 / code of a catalog item of this project")
    consumer: str = Field(description="使用部门的统一社会信用代码 / credit code of the consuming department")
    quality: str | None = Field(default=None, description="质量要求（第八条） / quality (第八条)")
    quantity: str | None = Field(default=None, description="数量（第八条） / quantity (第八条)")
    update_frequency: Frequency | None = Field(
        default=None, description="更新频度（第八条） / update frequency"
    )
    scope: str | None = Field(default=None, description="授权使用范围（第八条） / authorized scope of use")
    usage: str | None = Field(default=None, description="使用方式（第八条） / manner of use")
    due: dt.date | None = Field(
        default=None, description="实现进度：须实现共享的日期（第八条） / due date of realisation"
    )


class AgreementIn(InputModel):
    """信息共享协定或联合发文（第八条） / a sharing agreement or joint document."""

    code: Code = Field(description="协定编号，项目内唯一 / agreement code, unique within the project")
    form: AgreementForm = Field(description="形式 / form: agreement 信息共享协定 | joint_document 联合发文")
    parties: list[str] = Field(
        default_factory=list,
        description="各方部门的统一社会信用代码（至少两方） / parties' credit codes (≥ 2)",
    )
    signed_on: dt.date | None = Field(default=None, description="签署日期 / date signed")
    term: TermIn | None = Field(default=None, description="共享期限（第八条） / sharing term")
    basis: str | None = Field(default=None, description="共享依据（第八条） / legal basis for sharing")
    items: list[AgreementItemIn] = Field(default_factory=list, description="协定条目 / agreement items")


class NeedsAnalysisIn(InputModel):
    """信息共享需求分析（第九条：部门内部、部门外部、中央和地方之间） / the needs analysis."""

    internal: str | None = Field(default=None, description="部门内部共享需求 / internal sharing needs")
    external: str | None = Field(default=None, description="部门外部共享需求 / external sharing needs")
    central_local: str | None = Field(
        default=None, description="本部门中央和地方之间的共享需求 / central–local sharing needs"
    )
    needs: list[str] = Field(default_factory=list, description="列出的共享需求 / listed needs")


class UnmetNeedIn(InputModel):
    """相关部门提出的、项目尚未满足的共享需求 / a sharing need the department says is not met."""

    name: Text = Field(description="需求名称 / the need")
    catalog: str | None = Field(
        default=None,
        description="满足该需求的目录条目编码（如已知） / code of the catalog item that should meet it, if known",
    )


class ConditionIn(InputModel):
    """修改意见 / a change asked for by an agree_with_changes opinion."""

    condition: Text = Field(description="修改意见 / the change asked for")
    answer: str | None = Field(
        default=None, description="牵头部门的答复（如已答复） / the lead's answer, if given"
    )


class OpinionIn(InputModel):
    """相关部门意见（第九条征求意见） / a related department's opinion."""

    department: str = Field(description="提出意见的相关部门 / credit code of the related department")
    date: dt.date = Field(description="意见日期 / date of the opinion")
    verdict: OpinionVerdict = Field(
        description="意见 / verdict: agree 同意 | agree_with_changes 修改后同意 | unmet_needs 需求未满足"
    )
    unmet_needs: list[UnmetNeedIn] = Field(
        default_factory=list, description="未满足的共享需求 / sharing needs not met"
    )
    comment: str | None = Field(default=None, description="意见说明 / comment")
    conditions: list[ConditionIn] = Field(
        default_factory=list,
        description="修改后同意的修改意见及牵头部门的答复（第九条） / the changes an agree_with_changes opinion asks "
        "for, with the lead department's answers",
    )


class JudgmentIn(InputModel):
    """对一个评审重点的明确判断 / an explicit judgment on one focus point."""

    judgment: Judgment = Field(description="判断 / judgment: met 符合 | partly 部分符合 | not_met 不符合")
    comment: str | None = Field(default=None, description="评审说明 / comment")


class ReviewIn(InputModel):
    """评审机构的评审意见（第十条第一款五个重点） / a stage review on the five focus points."""

    stage: ReviewStage = Field(
        description="评审阶段 / stage: proposal 项目建议书 | feasibility 可行性研究报告 | design 初步设计"
    )
    agency: str = Field(min_length=1, max_length=200, description="评审机构 / review agency")
    date: dt.date = Field(description="评审日期 / date of the review")
    judgments: dict[FocusPoint, JudgmentIn] = Field(
        default_factory=dict,
        description="各评审重点的判断：agreement 信息共享协定 | catalog 共享信息目录 | infrastructure "
        "信息共享基础设施利用 | aggregation 部门信息资源汇聚 | technical 信息共享技术条件 / "
        "judgment per focus point",
    )
    conclusion: str | None = Field(default=None, description="评审结论 / conclusion")
    against_approval: bool = Field(
        default=False, description="评审结论不同意批复（第十条第一款） / the conclusion is against approval"
    )


class ProjectIn(InputModel):
    """电子政务项目及其信息共享材料 / an e-government project with its sharing materials."""

    code: Code = Field(description="项目编码，唯一 / project code, unique")
    name: str = Field(min_length=1, max_length=300, description="项目名称 / project name")
    lead_department: str = Field(description="牵头（建设）部门 / credit code of the lead department")
    departments: list[str] = Field(
        default_factory=list,
        description="相关部门（须征求其意见，第九条） / related departments (each must give an opinion)",
    )
    om_budget: Decimal = Field(
        default=Decimal("0.00"),
        ge=0,
        le=inputs.MAX_YUAN,
        allow_inf_nan=False,
        decimal_places=2,
        description="年度运维经费（元） / annual O&M budget in yuan",
    )
    phase: Phase = Field(
        default=Phase.DRAFT,
        description="纳入管理时的阶段（已有项目按现阶段纳入），默认 draft / phase at onboarding, default draft",
    )
    legacy_reason: str | None = Field(
        default=None,
        max_length=1000,
        description="存量项目纳入管理的理由：以后续阶段纳入而缺少已过关口所要求的材料时必填，材料补齐前不予批复"
        "（第十条第二款） / why an existing project is onboarded without what the gates it passed require "
        "(its next approval waits for them)",
    )
    needs_analysis: NeedsAnalysisIn | None = Field(default=None, description="需求分析 / needs analysis")
    catalog: list[CatalogItemIn] = Field(default_factory=list, description="共享信息目录 / sharing catalog")
    agreements: list[AgreementIn] = Field(default_factory=list, description="共享协定 / agreements")
    opinions: list[OpinionIn] = Field(default_factory=list, description="相关部门意见 / opinions")
    reviews: list[ReviewIn] = Field(default_factory=list, description="评审意见 / stage reviews")


class EvidenceIn(InputModel):
    """交换平台的交付记录；按目录条目、使用部门和日期汇总 / delivery evidence from the exchange platform."""

    project: Code = Field(description="项目编码 / project code")
    catalog: Code = Field(description="目录条目编码 / catalog item code")
    consumer: str = Field(description="使用部门的统一社会信用代码 / credit code of the consuming department")
    date: dt.date = Field(description="交付日期 / day of delivery")
    records: int = Field(description="交付记录数，不得为负 / records delivered, not negative")


class PortfolioDocument(InputModel):
    """govflow 项目组合文档 / the govflow portfolio document."""

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="JSON Schema 地址（供编辑器使用） / JSON Schema URI"
    )
    departments: list[DepartmentIn] = Field(default_factory=list, description="政务部门 / departments")
    users: list[UserIn] = Field(default_factory=list, description="用户 / users")
    projects: list[ProjectIn] = Field(default_factory=list, description="项目 / projects")
    evidence: list[EvidenceIn] = Field(default_factory=list, description="交付记录 / delivery evidence")


def schema() -> dict[str, Any]:
    """The published JSON Schema of the portfolio document (`govflow schema`)."""
    out = PortfolioDocument.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **out,
        "title": "govflow 项目组合文档 / govflow portfolio document",
        "description": "电子政务项目组合：部门、用户、项目及其共享信息目录、共享协定、需求分析、相关部门意见、"
        "评审意见，以及交付记录；按《关于进一步加强政务部门信息共享建设管理的指导意见》（发改高技〔2013〕733号）"
        "校验后整体导入 / An e-government portfolio: departments, users, projects with their sharing "
        "catalogs, agreements, needs analyses, opinions and reviews, and delivery evidence; validated "
        "against NDRC guidance 733 and loaded all-or-nothing.",
    }
