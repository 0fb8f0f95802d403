"""The portfolio document (SPEC §5, §7): departments, users, projects with their sharing materials, evidence.

Loading is all-or-nothing and happens in three steps; the problems of all three are reported together, once:

1. :func:`parse_document` reads YAML or JSON and validates the shape (pydantic, ``extra="forbid"``): one
   ``SCHEMA`` reason per error, and the rows with a broken shape (a department, user, project, catalog item,
   agreement, opinion, review or evidence row) are set aside so that the next step can judge the others. A file
   that cannot be read or parsed raises :class:`~states.errors.UsageError`.
2. :func:`check` applies the rules of 733号文 and referential integrity to the rows that parsed, against what
   the database already holds (:class:`Existing`), returning reasons with the path of the offending value.
   The codes of the rows set aside count as known, so that a malformed department is reported once, not once
   more by every row that names it.
3. :func:`write` inserts everything in the caller's transaction with set-based inserts.

:func:`load` raises :class:`~states.errors.InvalidInput` with the reasons of steps 1 and 2 in the order of the
rows they name (:func:`listed`: at most :data:`MAX_REASONS` problems, then a count of the rows not listed).

Paths name the offending value the way a reader finds it in the file: ``projects[3].catalog[2].share_type``,
indices counted from 0 as in JSON Pointer and jq; schema messages also give the YAML line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from govflow.models.audit import AuditRecord, append
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AppUser,
    CatalogAuthorization,
    CatalogItem,
    DeliveryEvidence,
    Department,
    NeedsAnalysis,
    Opinion,
    Project,
    ProjectDepartment,
    Review,
    ReviewJudgment,
)
from govflow.states.errors import InvalidInput, UsageError
from govflow.states.permissions import Role
from govflow.states.phases import Phase, ReviewStage
from govflow.states.rules import check_agreement, check_catalog_item, check_credit_code, check_region
from govflow.states.sharing import (
    AgreementFact,
    AgreementForm,
    AgreementItemFact,
    CatalogFact,
    Category,
    FieldSpec,
    FocusPoint,
    Frequency,
    Judgment,
    Level,
    Method,
    OpinionVerdict,
    Secrecy,
    ShareType,
)
from govflow.states.verdict import Reason, clause

#: The clause cited for problems of the document itself (shape, references) rather than of 733号文.
DOC_CLAUSE = "govflow 项目组合文档"
SCHEMA_CODE = "SCHEMA"

Loc = tuple[str | int, ...]

# --------------------------------------------------------------------------------------------------------------
# Input models. Field descriptions are the published JSON Schema (`govflow schema`), zh-CN first, then English.
# --------------------------------------------------------------------------------------------------------------


class _In(BaseModel):
    # Numbers are accepted where codes are expected because YAML reads `region: 330000` as an int.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )


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


class DepartmentIn(_In):
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


class UserIn(_In):
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


class FieldIn(_In):
    """目录条目的数据字段 / a data field of a catalog item (第九条: refined in the feasibility study)."""

    name: Text = Field(description="字段名 / field name")
    type: Text = Field(description="数据类型 / data type")
    description: str = Field(default="", description="字段说明 / description")


class CatalogItemIn(_In):
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


class TermIn(_In):
    """共享期限 / the sharing term."""

    start: dt.date = Field(description="起始日 / first day")
    end: dt.date = Field(description="终止日 / last day")


class AgreementItemIn(_In):
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


class AgreementIn(_In):
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


class NeedsAnalysisIn(_In):
    """信息共享需求分析（第九条：部门内部、部门外部、中央和地方之间） / the needs analysis."""

    internal: str | None = Field(default=None, description="部门内部共享需求 / internal sharing needs")
    external: str | None = Field(default=None, description="部门外部共享需求 / external sharing needs")
    central_local: str | None = Field(
        default=None, description="本部门中央和地方之间的共享需求 / central–local sharing needs"
    )
    needs: list[str] = Field(default_factory=list, description="列出的共享需求 / listed needs")


class UnmetNeedIn(_In):
    """相关部门提出的、项目尚未满足的共享需求 / a sharing need the department says is not met."""

    name: Text = Field(description="需求名称 / the need")
    catalog: str | None = Field(
        default=None,
        description="满足该需求的目录条目编码（如已知） / code of the catalog item that should meet it, if known",
    )


class OpinionIn(_In):
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


class JudgmentIn(_In):
    """对一个评审重点的明确判断 / an explicit judgment on one focus point."""

    judgment: Judgment = Field(description="判断 / judgment: met 符合 | partly 部分符合 | not_met 不符合")
    comment: str | None = Field(default=None, description="评审说明 / comment")


class ReviewIn(_In):
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


class ProjectIn(_In):
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
        decimal_places=2,
        description="年度运维经费（元） / annual O&M budget in yuan",
    )
    phase: Phase = Field(
        default=Phase.DRAFT,
        description="纳入管理时的阶段（已有项目按现阶段纳入），默认 draft / phase at onboarding, default draft",
    )
    needs_analysis: NeedsAnalysisIn | None = Field(default=None, description="需求分析 / needs analysis")
    catalog: list[CatalogItemIn] = Field(default_factory=list, description="共享信息目录 / sharing catalog")
    agreements: list[AgreementIn] = Field(default_factory=list, description="共享协定 / agreements")
    opinions: list[OpinionIn] = Field(default_factory=list, description="相关部门意见 / opinions")
    reviews: list[ReviewIn] = Field(default_factory=list, description="评审意见 / stage reviews")


class EvidenceIn(_In):
    """交换平台的交付记录；按目录条目、使用部门和日期汇总 / delivery evidence from the exchange platform."""

    project: Code = Field(description="项目编码 / project code")
    catalog: Code = Field(description="目录条目编码 / catalog item code")
    consumer: str = Field(description="使用部门的统一社会信用代码 / credit code of the consuming department")
    date: dt.date = Field(description="交付日期 / day of delivery")
    records: int = Field(description="交付记录数，不得为负 / records delivered, not negative")


class PortfolioDocument(_In):
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


# --------------------------------------------------------------------------------------------------------------
# Reading files and turning pydantic errors into reasons people can act on.
# --------------------------------------------------------------------------------------------------------------


class _YamlLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML that refuses duplicate keys: a second ``catalog:`` silently replacing the first loses data."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                first = seen[key_node.value].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"键“{key_node.value}”重复（首次出现于第 {first} 行），后者会覆盖前者 / "
                    f"duplicate key {key_node.value!r} (first at line {first})",
                    key_node.start_mark,
                )
            seen[key_node.value] = key_node
        result: dict[Any, Any] = super().construct_mapping(node, deep)
        return result


# Dates stay text for pydantic to parse: an impossible date (2026-13-01) is then a schema error with its path
# instead of a crash in the YAML constructor, and YAML and JSON documents are validated alike.
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_data(path: Path) -> Any:
    """YAML (``.yaml``/``.yml``) or JSON by extension; anything unreadable is a :class:`UsageError`."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise UsageError(
            f"无法识别文件 {path} 的格式：项目组合文档须为 .yaml、.yml 或 .json 文件",
            f"cannot tell the format of {path}: a portfolio document is a .yaml, .yml or .json file",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise UsageError(f"文件 {path} 不存在", f"file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"文件 {path} 不是 UTF-8 编码（第 {exc.start} 字节）：请另存为 UTF-8",
            f"file {path} is not UTF-8 (byte {exc.start}); save it as UTF-8",
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"无法读取文件 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from exc
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"文件 {path} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
                f"{path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from exc
    try:
        return yaml.load(text, Loader=_YamlLoader)  # SafeConstructor only: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where_zh = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "某处"
        where_en = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(
            f"文件 {path} 不是有效的 YAML：{where_zh}，{problem}",
            f"{path} is not valid YAML: {where_en}: {problem}",
        ) from exc


def parse_file(path: Path) -> PortfolioDocument:
    """Read and validate a portfolio document; every shape error is reported at once.

    For checking a document a person wrote, prefer :func:`parse_document` and :func:`load`, which report the
    rule breaches of the rows that parsed together with the shape errors of the others.
    """
    parsed = parse_document(path)
    if parsed.reasons:
        raise InvalidInput(parsed.reasons)
    return parsed.doc


#: lists whose entries are rows: set aside whole when their shape is wrong (the document's top level)
_ROW_LISTS = ("departments", "users", "projects", "evidence")
#: the lists of a project whose entries are rows of their own
_PROJECT_ROW_LISTS = ("catalog", "agreements", "opinions", "reviews")
#: a row's position in a path (a project's child row included), for :meth:`ParsedDocument.original`
_ROW_IN_PATH = re.compile(
    rf"(?<![.\w])({'|'.join(_ROW_LISTS)})\[(\d+)\](?:\.({'|'.join(_PROJECT_ROW_LISTS)})\[(\d+)\])?"
)


@dataclass(frozen=True)
class ParsedDocument:
    """A document read leniently: the rows with the right shape, and why the others were set aside."""

    #: the rows that parsed (lists that lost rows are shorter than in the file)
    doc: PortfolioDocument
    #: one ``SCHEMA`` reason per shape error, with the paths and lines of the file
    reasons: tuple[Reason, ...] = ()
    #: list path in the file (``projects``, ``projects[3].catalog``) → the file's indices of the rows kept,
    #: for the lists that lost rows
    kept: dict[str, list[int]] = field(default_factory=dict)
    #: codes of the rows set aside (departments, projects, (project, catalog item)): count them as known
    set_aside: Existing = field(default_factory=lambda: Existing())

    def original(self, reason: Reason) -> Reason:
        """``reason`` (found in :attr:`doc`) with the paths it names as they are in the file."""
        if not self.kept:
            return reason

        def fix(text: str) -> str:
            return _ROW_IN_PATH.sub(self._original_row, text)

        detail = {k: fix(v) if isinstance(v, str) else v for k, v in reason.detail.items()}
        path = fix(reason.path) if reason.path else reason.path
        return replace(
            reason, message=fix(reason.message), message_en=fix(reason.message_en), path=path, detail=detail
        )

    def _original_row(self, m: re.Match[str]) -> str:
        name, i = m[1], int(m[2])
        i = self.kept[name][i] if name in self.kept else i
        out = f"{name}[{i}]"
        if m[3] is not None:
            child, j = f"{out}.{m[3]}", int(m[4])
            out = f"{child}[{self.kept[child][j] if child in self.kept else j}]"
        return out


def parse_document(path: Path) -> ParsedDocument:
    """Read a portfolio document and validate its shape row by row: every shape error, and the rows that parsed.

    A document whose frame is broken (a top-level key that is unknown or not a list) cannot be split into rows;
    it raises :class:`InvalidInput` with its shape errors alone.
    """
    data = read_data(path)
    if data is None:
        raise UsageError(f"文件 {path} 是空的", f"file {path} is empty")
    if not isinstance(data, dict):
        raise UsageError(
            f"文件 {path} 的顶层须为映射（departments、users、projects、evidence），而不是 {type(data).__name__}",
            f"the top level of {path} must be a mapping (departments, users, projects, evidence), "
            f"not {type(data).__name__}",
        )
    try:
        return ParsedDocument(PortfolioDocument.model_validate(data))
    except ValidationError as exc:
        lines = _yaml_line_finder(path) if path.suffix.lower() in (".yaml", ".yml") else None
        reasons = tuple(validation_reasons(exc, PortfolioDocument, line_of=lines))
        rows = {_row_at(tuple(err["loc"])) for err in exc.errors(include_url=False)}
    if None in rows:
        raise InvalidInput(reasons)
    rest, kept, set_aside = _set_aside(data, {r for r in rows if r is not None})
    try:
        doc = PortfolioDocument.model_validate(rest)
    except ValidationError:  # pragma: no cover - no row constrains another's shape; never guess if one does
        raise InvalidInput(reasons) from None
    return ParsedDocument(doc, reasons, kept, set_aside)


def _row_at(loc: Loc) -> Loc | None:
    """The row a shape error is in (``('projects', 2, 'catalog', 1)``), or None when it is in the frame."""
    if len(loc) >= 4 and loc[0] == "projects" and loc[2] in _PROJECT_ROW_LISTS and isinstance(loc[3], int):
        return loc[:4]
    if len(loc) >= 2 and loc[0] in _ROW_LISTS and isinstance(loc[1], int):
        return loc[:2]
    return None


def _set_aside(data: dict[str, Any], rows: set[Loc]) -> tuple[dict[str, Any], dict[str, list[int]], Existing]:
    """``data`` without ``rows`` (copied where it changes), the indices kept, the codes of the rows removed."""
    rest = dict(data)
    kept: dict[str, list[int]] = {}
    departments: set[str] = set()
    projects: set[str] = set()
    items: set[tuple[str, str]] = set()

    def keep(values: list[Any], prefix: Loc) -> list[Any]:
        indices = [i for i in range(len(values)) if (*prefix, i) not in rows]
        if len(indices) < len(values):
            kept[format_loc(prefix)] = indices
        return [values[i] for i in indices]

    if any(r[:1] == ("departments",) for r in rows):
        departments.update(_codes(rest["departments"][r[1]] for r in rows if r[0] == "departments"))
        rest["departments"] = keep(rest["departments"], ("departments",))
    for name in ("users", "evidence"):
        if any(r[0] == name for r in rows):
            rest[name] = keep(rest[name], (name,))
    if any(r[0] == "projects" for r in rows):
        projects_in = rest["projects"]
        out = []
        for i, p in enumerate(projects_in):
            code = next(iter(_codes([p])), None)
            if ("projects", i) in rows:
                if code is not None:
                    projects.add(code)
                    catalog = p.get("catalog")
                    items.update((code, c) for c in _codes(catalog if isinstance(catalog, list) else []))
                continue
            children = [r for r in rows if r[:2] == ("projects", i) and len(r) == 4]
            if children:
                p = dict(p)
                for child in {r[2] for r in children}:
                    if child == "catalog" and code is not None:
                        items.update(
                            (code, c) for c in _codes(p["catalog"][r[3]] for r in children if r[2] == child)
                        )
                    p[child] = keep(p[child], ("projects", i, child))
            out.append(p)
        kept_projects = [i for i in range(len(projects_in)) if ("projects", i) not in rows]
        if len(kept_projects) < len(projects_in):
            kept["projects"] = kept_projects
        rest["projects"] = out
    return (
        rest,
        kept,
        Existing(frozenset(departments), projects=frozenset(projects), catalog_items=frozenset(items)),
    )


def _codes(rows: Iterable[Any]) -> set[str]:
    """The ``code`` of each row that has a readable one (as the models read it: numbers as text, trimmed)."""
    out = set()
    for row in rows:
        code = row.get("code") if isinstance(row, dict) else None
        if isinstance(code, str | int) and not isinstance(code, bool) and str(code).strip():
            out.add(str(code).strip())
    return out


def _yaml_line_finder(path: Path) -> Callable[[Loc], int | None]:
    """Map a pydantic location to the 1-based line of the YAML node (or of its nearest written parent)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_YamlLoader)
    except (OSError, yaml.YAMLError):
        root = None

    def line_of(loc: Loc) -> int | None:
        node = root
        line = None
        for part in loc:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    return line_of


def format_loc(loc: Loc) -> str:
    """``('projects', 3, 'catalog', 2, 'share_type')`` → ``projects[3].catalog[2].share_type``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else part
    return out or "$"


def _model_fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The field names allowed where ``loc`` points (to suggest the right spelling of an unknown key)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        info = model.model_fields.get(part)
        if info is None:
            break
        model = _unwrap(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """list[X] / X | None / dict[K, X] → X (the model inside, if any)."""
    for _ in range(4):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is None or not args:
            return annotation
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = models[0] if models else args[-1]
    return annotation


_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "string_type": ("文本", "text"),
    "int_type": ("整数", "an integer"),
    "int_parsing": ("整数", "an integer"),
    "int_from_float": ("整数", "an integer"),
    "decimal_type": ("数值", "a number"),
    "decimal_parsing": ("数值", "a number"),
    "float_type": ("数值", "a number"),
    "float_parsing": ("数值", "a number"),
    "date_type": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_parsing": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("不带时刻的日期（YYYY-MM-DD）", "a date without a time (YYYY-MM-DD)"),
    "list_type": ("列表", "a list"),
    "dict_type": ("映射", "a mapping"),
    "model_type": ("映射（带字段的对象）", "a mapping of fields"),
    "model_attributes_type": ("映射（带字段的对象）", "a mapping of fields"),
    "bool_type": ("是/否（true/false）", "true or false"),
    "bool_parsing": ("是/否（true/false）", "true or false"),
}


def _rule(err: Any, root: type[BaseModel], loc: Loc) -> tuple[str, str]:
    """(zh, en): the rule the value breaks and how to fix it."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown, shown_en = _show(value), _show(value, en=True)
    if kind == "missing":
        return "缺少必填字段；请补上该字段", "required field is missing; add it"
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        allowed = _model_fields_at(root, loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1)
        hint_zh = f"是否应为 {close[0]}？" if close else ""
        hint_en = f" Did you mean {close[0]}?" if close else ""
        listed = "、".join(allowed)
        return (
            f"不是可识别的字段（可能拼写错误）；{hint_zh}此处允许的字段：{listed}",
            f"unknown field (a typo?).{hint_en} Allowed here: {', '.join(allowed)}",
        )
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", ""))
        return (
            f"取值 {shown} 不在允许范围内；允许的值：{expected.replace(' or ', '、').replace(', ', '、')}，请改为其中之一",
            f"value {shown_en} is not allowed; use one of {expected}",
        )
    if kind == "authorized":
        return (
            f"取值 {shown} 无效；须为 all（所有政务部门）或部门统一社会信用代码的列表",
            f"value {shown_en} is invalid; use 'all' (every department) or a list of department credit codes",
        )
    if kind in _TYPE_NAMES and (kind.endswith("_parsing") or kind.endswith("_inexact")):
        zh, en = _TYPE_NAMES[kind]
        return f"取值 {shown} 不是有效的{zh}；请更正", f"value {shown_en} is not {en}"
    if kind in _TYPE_NAMES:
        zh, en = _TYPE_NAMES[kind]
        return (
            f"取值 {shown} 类型不符；应为{zh}，请更正",
            f"value {shown_en} has the wrong type; it must be {en}",
        )
    if kind in ("string_too_short", "too_short"):
        return "不能为空；请填写内容", "must not be empty; fill it in"
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        return f"过长；最多 {limit} 个字符，请缩短", f"too long; at most {limit} characters"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        op_zh = "不得小于" if kind == "greater_than_equal" else "须大于"
        op_en = "at least" if kind == "greater_than_equal" else "greater than"
        return f"取值 {shown} {op_zh} {bound}；请更正", f"value {shown_en} must be {op_en} {bound}"
    if kind in ("decimal_max_places", "decimal_max_digits"):
        return (
            f"取值 {shown} 小数位过多；金额以元为单位，最多两位小数（分）",
            f"value {shown_en} has too many decimal places; amounts are yuan with at most 2 places (fen)",
        )
    return f"取值 {shown} 无效：{err['msg']}", f"value {shown_en} is invalid: {err['msg']}"


def _show(value: Any, en: bool = False) -> str:
    if isinstance(value, dict | list):
        return "(a structure)" if en else "（结构）"
    if isinstance(value, str):
        value = value if len(value) <= 40 else value[:39] + "…"
        return repr(value) if en else f"“{value}”"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def validation_reasons(
    exc: ValidationError,
    root: type[BaseModel],
    *,
    prefix: Loc = (),
    line_of: Callable[[Loc], int | None] | None = None,
    where: Callable[[Loc], tuple[str, str]] | None = None,
) -> list[Reason]:
    """One ``SCHEMA`` reason per pydantic error: field first, then the rule, then the fix.

    ``prefix`` is put before each location (``('rows', 3)`` for a CSV row); ``line_of`` finds the YAML line
    of a location; ``where`` overrides how the location is described (zh, en) in the message.
    """
    reasons = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        path = format_loc(prefix + loc)
        zh, en = _rule(err, root, loc)
        detail: dict[str, Any] = {"type": err["type"]}
        if where is not None:
            where_zh, where_en = where(loc)
        else:
            line = line_of(loc) if line_of is not None else None
            where_zh = f"（第 {line} 行）" if line else ""
            where_en = f" (line {line})" if line else ""
            if line:
                detail["line"] = line
        reasons.append(
            Reason(
                SCHEMA_CODE,
                DOC_CLAUSE,
                f"字段 {path}{where_zh}：{zh}",
                f"field {path}{where_en}: {en}",
                path,
                detail,
            )
        )
    return reasons


#: problems listed before the rest are only counted (a file with a wrong column has a million of them)
MAX_REASONS = 1000
_ROW_ORDER = {name: i for i, name in enumerate(_ROW_LISTS)} | {n: i for i, n in enumerate(_PROJECT_ROW_LISTS)}
_INDEX = re.compile(r"(\w+)\[(\d+)\]")


def _row_key(path: str | None) -> tuple[tuple[int, int], ...]:
    """The row a path names, as a sort key in file order: ``rows[3].date`` → ((0, 3),),
    ``projects[2].agreements[0].items[1].due`` → ((2, 2), (1, 0)) (a project's child rows are rows too)."""
    found = _INDEX.findall(path or "")[:2]
    if len(found) == 2 and not (found[0][0] == "projects" and found[1][0] in _PROJECT_ROW_LISTS):
        found = found[:1]
    return tuple((_ROW_ORDER.get(name, 0), int(i)) for name, i in found)


def too_many(unlisted_rows: int, *, unit_zh: str = "行", unit_en: str = "rows", path: str = "rows") -> Reason:
    """The last reason of a long report: how many rows with problems were not listed."""
    return Reason(
        "TOO_MANY_ERRORS",
        DOC_CLAUSE,
        f"另有 {unlisted_rows} {unit_zh}有误，未逐一列出（只列出前 {MAX_REASONS} 个问题）；"
        "请先更正以上问题，再重新导入",
        f"{unlisted_rows} more {unit_en} have problems that are not listed (only the first "
        f"{MAX_REASONS} problems are); correct these and import again",
        path,
        {"unlisted_rows": unlisted_rows, "listed": MAX_REASONS},
    )


def listed(
    reasons: Iterable[Reason],
    *,
    unlisted_rows: int = 0,
    unit_zh: str = "行",
    unit_en: str = "rows",
    path: str = "rows",
) -> list[Reason]:
    """Every reason in the order of the rows it names (shape, rule and reference problems of one row together),
    whole rows until :data:`MAX_REASONS` problems are listed, then :func:`too_many` for the rows left out (and
    ``unlisted_rows`` more that the caller already left unexplained)."""
    out: list[Reason] = []
    unlisted: set[tuple[tuple[int, int], ...]] = set()
    last: tuple[tuple[int, int], ...] | None = None
    for r in sorted(reasons, key=lambda r: _row_key(r.path)):
        key = _row_key(r.path)
        if len(out) >= MAX_REASONS and key != last:
            unlisted.add(key)
            continue
        if key not in unlisted:
            out.append(r)
            last = key
    if unlisted or unlisted_rows:
        out.append(too_many(len(unlisted) + unlisted_rows, unit_zh=unit_zh, unit_en=unit_en, path=path))
    return out


# --------------------------------------------------------------------------------------------------------------
# Semantic checks: 733号文 and referential integrity.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """What the database already holds, as far as a document can refer to it (the caller reads it)."""

    departments: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    #: (project code, catalog item code) of projects already in the database, for evidence rows
    catalog_items: frozenset[tuple[str, str]] = frozenset()


def catalog_fact(item: CatalogItemIn) -> CatalogFact:
    return CatalogFact(
        code=item.code,
        name=item.name,
        provider=item.provider,
        category=item.category,
        share_type=item.share_type,
        method=item.method,
        update_frequency=item.update_frequency,
        secrecy=item.secrecy,
        legal_basis=item.legal_basis,
        all_departments=item.all_departments,
        authorized=item.authorized_codes,
        fields=tuple(FieldSpec(f.name, f.type, f.description) for f in item.fields),
        format=item.format,
        interface=item.interface,
        processing=item.processing,
        traceability=item.traceability,
    )


def agreement_fact(agreement: AgreementIn) -> AgreementFact:
    return AgreementFact(
        code=agreement.code,
        form=agreement.form,
        parties=tuple(agreement.parties),
        signed_on=agreement.signed_on,
        term_start=agreement.term.start if agreement.term else None,
        term_end=agreement.term.end if agreement.term else None,
        basis=agreement.basis,
        items=tuple(
            AgreementItemFact(
                catalog=i.catalog,
                consumer=i.consumer,
                quality=i.quality,
                quantity=i.quantity,
                update_frequency=i.update_frequency,
                scope=i.scope,
                usage=i.usage,
                due=i.due,
            )
            for i in agreement.items
        ),
    )


def _unknown_department(code: str, what_zh: str, what_en: str, path: str) -> Reason:
    return Reason(
        "UNKNOWN_DEPARTMENT",
        DOC_CLAUSE,
        f"{what_zh}“{code}”既不在文档的 departments 中，也不在数据库中；请在 departments 中补充该部门或更正代码",
        f"{what_en} '{code}' is neither in the document's departments nor in the database; add the department "
        "or correct the code",
        path,
        {"department": code},
    )


def _duplicates(values: Iterable[tuple[str, str]], what_zh: str, what_en: str) -> list[Reason]:
    """``values`` are (code, path); every repeat after the first is a reason."""
    first: dict[str, str] = {}
    reasons = []
    for code, path in values:
        if code in first:
            reasons.append(
                Reason(
                    "DUPLICATE_CODE",
                    DOC_CLAUSE,
                    f"{what_zh}“{code}”重复（首次出现于 {first[code]}）；每个编码只能出现一次，请删去或改正",
                    f"{what_en} '{code}' is repeated (first at {first[code]}); each code may appear only once",
                    path,
                    {"code": code, "first": first[code]},
                )
            )
        else:
            first[code] = path
    return reasons


def check_departments(departments: Sequence[DepartmentIn], prefix: str = "departments") -> list[Reason]:
    reasons = _duplicates(
        ((d.code, f"{prefix}[{i}].code") for i, d in enumerate(departments)), "部门代码", "department code"
    )
    for i, d in enumerate(departments):
        reasons += check_credit_code(d.code, f"{prefix}[{i}].code")
        reasons += check_region(d.region, f"{prefix}[{i}].region")
    return reasons


def check_users(
    users: Sequence[UserIn], departments: Collection[str], existing: Collection[str]
) -> list[Reason]:
    reasons = _duplicates(((u.name, f"users[{i}].name") for i, u in enumerate(users)), "用户名", "user name")
    for i, u in enumerate(users):
        path = f"users[{i}]"
        if u.name in existing:
            reasons.append(
                Reason(
                    "USER_EXISTS",
                    DOC_CLAUSE,
                    f"用户 {u.name} 已存在于数据库中；导入只新建用户，不修改已有用户。请从文档中删去该用户或改名",
                    f"user {u.name} already exists; loading creates users and never changes existing ones. "
                    "Remove the user from the document or rename it",
                    f"{path}.name",
                    {"user": u.name},
                )
            )
        if u.role is Role.DEPARTMENT and not u.department:
            reasons.append(
                Reason(
                    "USER_DEPARTMENT_MISSING",
                    DOC_CLAUSE,
                    f"用户 {u.name} 的角色为建设部门（department），须填写所属部门（department）",
                    f"user {u.name} has role department and must name its department (department)",
                    f"{path}.department",
                    {"user": u.name},
                )
            )
        if u.department and u.department not in departments:
            reasons.append(
                _unknown_department(
                    u.department, f"用户 {u.name} 的所属部门", "department", f"{path}.department"
                )
            )
    return reasons


def check_catalog_items(
    items: Sequence[CatalogItemIn], departments: Collection[str] | None, path_of: Callable[[int], str]
) -> list[Reason]:
    """第三条 / 第二条第三款 per item, unique codes, and (when ``departments`` is given) known departments."""
    reasons = _duplicates(
        ((c.code, f"{path_of(i)}.code") for i, c in enumerate(items)), "目录条目编码", "catalog item code"
    )
    for i, item in enumerate(items):
        path = path_of(i)
        reasons += check_catalog_item(catalog_fact(item), path)
        if departments is None:
            continue
        if item.provider not in departments:
            reasons.append(
                _unknown_department(
                    item.provider, f"目录条目 {item.code} 的提供部门", "provider", f"{path}.provider"
                )
            )
        for j, code in enumerate(item.authorized_codes):
            if code not in departments:
                reasons.append(
                    _unknown_department(
                        code,
                        f"目录条目 {item.code} 的被授权部门",
                        "authorized department",
                        f"{path}.authorized[{j}]",
                    )
                )
    return reasons


def _check_agreements(
    p: ProjectIn, path: str, departments: Collection[str], set_aside: Collection[str] = ()
) -> list[Reason]:
    """``set_aside``: codes of this project's catalog items whose rows were set aside (already reported)."""
    catalog = {c.code: c for c in p.catalog}
    reasons = _duplicates(
        ((a.code, f"{path}.agreements[{i}].code") for i, a in enumerate(p.agreements)),
        f"项目 {p.code} 的协定编号",
        f"agreement code of project {p.code}",
    )
    for a_i, a in enumerate(p.agreements):
        a_path = f"{path}.agreements[{a_i}]"
        reasons += check_agreement(agreement_fact(a), a_path)
        for j, party in enumerate(a.parties):
            if party not in departments:
                reasons.append(
                    _unknown_department(party, f"协定 {a.code} 的一方", "party", f"{a_path}.parties[{j}]")
                )
        for k, item in enumerate(a.items):
            i_path = f"{a_path}.items[{k}]"
            if item.catalog not in catalog and item.catalog not in set_aside:
                reasons.append(
                    Reason(
                        "UNKNOWN_CATALOG_ITEM",
                        clause("第八条"),
                        f"协定 {a.code} 约定共享的目录条目 {item.catalog} 不在项目 {p.code} 的共享信息目录中；"
                        "请先在 catalog 中列出该条目或更正编码",
                        f"agreement {a.code} shares catalog item {item.catalog}, which is not in the catalog of "
                        f"project {p.code}; list it in catalog or correct the code",
                        f"{i_path}.catalog",
                        {"catalog": item.catalog},
                    )
                )
            if item.consumer not in departments:
                reasons.append(
                    _unknown_department(
                        item.consumer,
                        f"协定 {a.code} 条目 {item.catalog} 的使用部门",
                        "consumer",
                        f"{i_path}.consumer",
                    )
                )
            reasons += _secret_consumer(
                a.code, catalog.get(item.catalog), item.consumer, f"{i_path}.consumer"
            )
    return reasons


def _secret_consumer(agreement: str, item: CatalogItemIn | None, consumer: str, path: str) -> list[Reason]:
    """第二条第三款: a secret item goes only to the departments its catalog entry authorizes."""
    if item is None or item.secrecy is not Secrecy.SECRET:
        return []
    if consumer == item.provider or consumer in item.authorized_codes:
        return []
    return [
        Reason(
            "SECRET_CONSUMER_NOT_AUTHORIZED",
            clause("第二条", "第三款"),
            f"协定 {agreement} 把涉密目录条目 {item.code} 共享给未经授权的部门 {consumer}；涉密信息的知悉范围"
            "限于目录条目 authorized 中列明的部门，请在目录条目中授权该部门或删去该协定条目",
            f"agreement {agreement} shares secret catalog item {item.code} with {consumer}, which the item does "
            "not authorize; authorize the department on the item or remove the agreement item",
            path,
            {"catalog": item.code, "consumer": consumer},
        )
    ]


def _check_opinions(p: ProjectIn, path: str) -> list[Reason]:
    related = set(p.departments) - {p.lead_department}
    reasons = []
    for i, op in enumerate(p.opinions):
        o_path = f"{path}.opinions[{i}]"
        if op.department not in related:
            reasons.append(
                Reason(
                    "OPINION_NOT_RELATED",
                    clause("第九条"),
                    f"部门 {op.department} 不是项目 {p.code} 的相关部门，其意见不能作为征求意见登记；"
                    "请将其列入 departments 或删去该意见",
                    f"department {op.department} is not a related department of project {p.code}; list it in "
                    "departments or remove the opinion",
                    f"{o_path}.department",
                    {"department": op.department},
                )
            )
        if op.verdict is OpinionVerdict.UNMET_NEEDS and not op.unmet_needs:
            reasons.append(
                Reason(
                    "UNMET_NEEDS_NOT_LISTED",
                    clause("第九条"),
                    f"部门 {op.department} 的意见为“需求未满足”（unmet_needs），须列出未满足的共享需求",
                    f"the opinion of {op.department} says needs are unmet but lists none (unmet_needs)",
                    f"{o_path}.unmet_needs",
                    {"department": op.department},
                )
            )
    return reasons


def _check_project(
    p: ProjectIn, path: str, departments: Collection[str], existing: Existing, set_aside: Existing
) -> list[Reason]:
    reasons: list[Reason] = []
    if p.code in existing.projects:
        reasons.append(
            Reason(
                "PROJECT_EXISTS",
                DOC_CLAUSE,
                f"项目 {p.code} 已存在于数据库中；导入只新建项目，不修改已有项目。请从文档中删去该项目，"
                "已有项目的材料和阶段通过 govflow 的编辑与事件命令变更",
                f"project {p.code} already exists; loading creates projects and never changes existing ones. "
                "Remove it from the document; change an existing project through govflow's edit and event commands",
                f"{path}.code",
                {"project": p.code},
            )
        )
    if p.lead_department not in departments:
        reasons.append(
            _unknown_department(
                p.lead_department, f"项目 {p.code} 的牵头部门", "lead department", f"{path}.lead_department"
            )
        )
    for j, code in enumerate(p.departments):
        if code not in departments:
            reasons.append(
                _unknown_department(
                    code, f"项目 {p.code} 的相关部门", "related department", f"{path}.departments[{j}]"
                )
            )
    reasons += check_catalog_items(p.catalog, departments, lambda i: f"{path}.catalog[{i}]")
    aside = {c for project, c in set_aside.catalog_items if project == p.code}
    reasons += _check_agreements(p, path, departments, aside)
    reasons += _check_opinions(p, path)
    return reasons


def check_evidence(
    rows: Sequence[EvidenceIn],
    existing: Existing | None,
    today: dt.date | None,
    *,
    path_of: Callable[[int], str] = lambda i: f"rows[{i + 1}]",
) -> list[Reason]:
    """Records not negative, dates not after ``today``, and references to what ``existing`` knows.

    With ``existing`` None the references (project, catalog item, consumer) are not checked; give it, filled
    by :func:`read_existing`, before writing. ``path_of`` names row *i* (0-based); by default ``rows[i+1]``,
    the numbering of :mod:`govflow.lifecycle.tabular`.
    """
    reasons = []
    for i, ev in enumerate(rows):
        path = path_of(i)
        if ev.records < 0:
            reasons.append(
                Reason(
                    "EVIDENCE_NEGATIVE",
                    DOC_CLAUSE,
                    f"交付记录数 {ev.records} 为负数；交付记录数须为 0 或正整数，请更正",
                    f"records delivered {ev.records} is negative; it must be 0 or more",
                    f"{path}.records",
                    {"records": ev.records},
                )
            )
        if today is not None and ev.date > today:
            reasons.append(
                Reason(
                    "EVIDENCE_IN_FUTURE",
                    DOC_CLAUSE,
                    f"交付日期 {ev.date.isoformat()} 晚于今天 {today.isoformat()}；交付记录只能记载已发生的交付，"
                    "请更正日期",
                    f"delivery date {ev.date.isoformat()} is after today {today.isoformat()}; evidence records "
                    "deliveries that happened",
                    f"{path}.date",
                    {"date": ev.date.isoformat(), "today": today.isoformat()},
                )
            )
        if existing is not None:
            if ev.project not in existing.projects:
                reasons.append(
                    Reason(
                        "UNKNOWN_PROJECT",
                        DOC_CLAUSE,
                        f"交付记录所属项目 {ev.project} 既不在文档中，也不在数据库中；请更正项目编码",
                        f"project {ev.project} of the evidence row is neither in the document nor in the database",
                        f"{path}.project",
                        {"project": ev.project},
                    )
                )
            elif (ev.project, ev.catalog) not in existing.catalog_items:
                reasons.append(
                    Reason(
                        "UNKNOWN_CATALOG_ITEM",
                        DOC_CLAUSE,
                        f"交付记录的目录条目 {ev.catalog} 不在项目 {ev.project} 的共享信息目录中；请更正目录条目编码",
                        f"catalog item {ev.catalog} of the evidence row is not in the catalog of project {ev.project}",
                        f"{path}.catalog",
                        {"project": ev.project, "catalog": ev.catalog},
                    )
                )
        if existing is not None and ev.consumer not in existing.departments:
            reasons.append(
                _unknown_department(ev.consumer, "交付记录的使用部门", "consumer", f"{path}.consumer")
            )
    return reasons


def check(
    doc: PortfolioDocument, existing: Existing, today: dt.date, set_aside: Existing | None = None
) -> list[Reason]:
    """Every rule the document breaks (733号文, GB 32100, references, duplicates), each with its path.

    ``set_aside``: the codes of rows whose shape was wrong (:attr:`ParsedDocument.set_aside`); references to
    them are not reported (the row itself already is).
    """
    aside = set_aside or Existing()
    departments = {d.code for d in doc.departments} | existing.departments | aside.departments
    reasons = check_departments(doc.departments)
    reasons += check_users(doc.users, departments, existing.users)
    reasons += _duplicates(
        ((p.code, f"projects[{i}].code") for i, p in enumerate(doc.projects)), "项目编码", "project code"
    )
    for i, p in enumerate(doc.projects):
        reasons += _check_project(p, f"projects[{i}]", departments, existing, aside)
    new = [p for p in doc.projects if p.code not in existing.projects]
    known = Existing(
        departments=frozenset(departments),
        projects=frozenset({p.code for p in new} | existing.projects | aside.projects),
        catalog_items=frozenset(
            {(p.code, c.code) for p in new for c in p.catalog} | existing.catalog_items | aside.catalog_items
        ),
    )
    reasons += check_evidence(doc.evidence, known, today, path_of=lambda i: f"evidence[{i}]")
    return reasons


# --------------------------------------------------------------------------------------------------------------
# Writing: set-based inserts in the caller's transaction.
# --------------------------------------------------------------------------------------------------------------

_CHUNK = 500


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


DEPARTMENT, APP_USER, PROJECT, PROJECT_DEPARTMENT = (
    _t(Department),
    _t(AppUser),
    _t(Project),
    _t(ProjectDepartment),
)
CATALOG_ITEM, CATALOG_AUTH = _t(CatalogItem), _t(CatalogAuthorization)
AGREEMENT, AGREEMENT_PARTY, AGREEMENT_ITEM = _t(Agreement), _t(AgreementParty), _t(AgreementItem)
NEEDS, OPINION, REVIEW, JUDGMENT = _t(NeedsAnalysis), _t(Opinion), _t(Review), _t(ReviewJudgment)
EVIDENCE = _t(DeliveryEvidence)


@dataclass(frozen=True)
class LoadSummary:
    departments_created: int = 0
    departments_reused: int = 0
    users: int = 0
    projects: int = 0
    onboarded: int = 0
    catalog_items: int = 0
    agreements: int = 0
    agreement_items: int = 0
    opinions: int = 0
    reviews: int = 0
    evidence_rows: int = 0
    #: distinct (catalog item, consumer, day) rows created or added to
    evidence_days: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _ids_by_code(session: Session, table: Table, codes: Collection[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(set(codes))):
        for id_, code in session.execute(select(table.c.id, table.c.code).where(table.c.code.in_(chunk))):
            out[code] = id_
    return out


def _child_ids(session: Session, table: Table, project_ids: Collection[int]) -> dict[tuple[int, str], int]:
    """(project id, code) → id for a per-project coded table (catalog items, agreements)."""
    out: dict[tuple[int, str], int] = {}
    for chunk in _chunks(sorted(set(project_ids))):
        rows = session.execute(
            select(table.c.id, table.c.project_id, table.c.code).where(table.c.project_id.in_(chunk))
        )
        for id_, pid, code in rows:
            out[(pid, code)] = id_
    return out


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> int:
    if rows:
        session.execute(insert(table), rows)
    return len(rows)


def read_existing(session: Session, doc: PortfolioDocument | None = None) -> Existing:
    """What the database holds that ``doc`` may refer to (departments, users, projects, their catalog codes)."""
    departments = frozenset(session.execute(select(DEPARTMENT.c.code)).scalars())
    users = frozenset(session.execute(select(APP_USER.c.name)).scalars())
    projects = frozenset(session.execute(select(PROJECT.c.code)).scalars())
    wanted = {e.project for e in doc.evidence} & projects if doc is not None else set()
    items: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(wanted)):
        q = (
            select(PROJECT.c.code, CATALOG_ITEM.c.code)
            .join(CATALOG_ITEM, CATALOG_ITEM.c.project_id == PROJECT.c.id)
            .where(PROJECT.c.code.in_(chunk))
        )
        items.update((p, c) for p, c in session.execute(q))
    return Existing(departments, users, projects, frozenset(items))


def write(
    session: Session, doc: PortfolioDocument, *, actor: str, role: str, now: dt.datetime
) -> LoadSummary:
    """Insert a checked document in the caller's transaction and record one audit event per project.

    Departments already in the database (same code) are reused; everything else is created. Call
    :func:`check` first (or use :func:`load`): this function trusts that references resolve.
    """
    known = _ids_by_code(session, DEPARTMENT, [d.code for d in doc.departments])
    new_departments = {d.code: d for d in doc.departments if d.code not in known}
    _insert(
        session,
        DEPARTMENT,
        [
            {"code": d.code, "name": d.name, "region": d.region, "level": d.level.value}
            for d in new_departments.values()
        ],
    )
    referenced = _referenced_departments(doc)
    dept = _ids_by_code(session, DEPARTMENT, referenced)

    _insert(
        session,
        APP_USER,
        [
            {
                "name": u.name,
                "display_name": u.display_name,
                "role": u.role.value,
                "department_id": dept[u.department] if u.department else None,
                "active": True,
            }
            for u in doc.users
        ],
    )
    projects = doc.projects
    _insert(
        session,
        PROJECT,
        [
            {
                "code": p.code,
                "name": p.name,
                "lead_department_id": dept[p.lead_department],
                "om_budget": p.om_budget,
                "phase": p.phase.value,
                "version": 1,
                "created_at": now,
                "last_event_at": now,
            }
            for p in projects
        ],
    )
    pid = _ids_by_code(session, PROJECT, [p.code for p in projects])
    _insert(
        session,
        PROJECT_DEPARTMENT,
        [
            {"project_id": pid[p.code], "department_id": dept[code]}
            for p in projects
            for code in dict.fromkeys(p.departments)
        ],
    )
    counts = _write_catalog(session, projects, pid, dept)
    counts |= _write_agreements(session, projects, pid, dept)
    counts |= _write_opinions_needs_reviews(session, projects, pid, dept)
    days = write_evidence(session, doc.evidence)
    onboarded = [p for p in projects if p.phase is not Phase.DRAFT]
    append(session, [_audit_record(p, actor=actor, role=role, now=now) for p in projects])
    return LoadSummary(
        departments_created=len(new_departments),
        departments_reused=len(known),
        users=len(doc.users),
        projects=len(projects),
        onboarded=len(onboarded),
        evidence_rows=len(doc.evidence),
        evidence_days=days,
        **counts,
    )


def _referenced_departments(doc: PortfolioDocument) -> set[str]:
    codes = {d.code for d in doc.departments} | {u.department for u in doc.users if u.department}
    for p in doc.projects:
        codes.add(p.lead_department)
        codes.update(p.departments)
        for c in p.catalog:
            codes.add(c.provider)
            codes.update(c.authorized_codes)
        for a in p.agreements:
            codes.update(a.parties)
            codes.update(i.consumer for i in a.items)
        codes.update(o.department for o in p.opinions)
    return codes


def catalog_values(c: CatalogItemIn, project_id: int, provider_id: int) -> dict[str, Any]:
    """The catalog_item column values of one input item (shared by the document loader and CSV/XLSX import)."""
    return {
        "project_id": project_id,
        "code": c.code,
        "name": c.name,
        "provider_id": provider_id,
        "category": c.category.value,
        "share_type": c.share_type.value,
        "method": c.method.value,
        "update_frequency": c.update_frequency.value,
        "secrecy": c.secrecy.value,
        "legal_basis": c.legal_basis,
        "all_departments": c.all_departments,
        "fields": [f.model_dump() for f in c.fields],
        "format": c.format,
        "interface": c.interface,
        "processing": c.processing,
        "traceability": c.traceability,
    }


def _write_catalog(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    rows = [catalog_values(c, pid[p.code], dept[c.provider]) for p in projects for c in p.catalog]
    n = _insert(session, CATALOG_ITEM, rows)
    if any(c.authorized_codes for p in projects for c in p.catalog):
        cid = _child_ids(session, CATALOG_ITEM, pid.values())
        _insert(
            session,
            CATALOG_AUTH,
            [
                {"catalog_item_id": cid[(pid[p.code], c.code)], "department_id": dept[code]}
                for p in projects
                for c in p.catalog
                for code in dict.fromkeys(c.authorized_codes)
            ],
        )
    return {"catalog_items": n}


def _write_agreements(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    n = _insert(
        session,
        AGREEMENT,
        [
            {
                "project_id": pid[p.code],
                "code": a.code,
                "form": a.form.value,
                "signed_on": a.signed_on,
                "term_start": a.term.start if a.term else None,
                "term_end": a.term.end if a.term else None,
                "basis": a.basis,
            }
            for p in projects
            for a in p.agreements
        ],
    )
    if not n:
        return {"agreements": 0, "agreement_items": 0}
    aid = _child_ids(session, AGREEMENT, pid.values())
    cid = _child_ids(session, CATALOG_ITEM, pid.values())
    parties, items = [], []
    for p in projects:
        project_id = pid[p.code]
        for a in p.agreements:
            agreement_id = aid[(project_id, a.code)]
            parties += [
                {"agreement_id": agreement_id, "department_id": dept[c]} for c in dict.fromkeys(a.parties)
            ]
            items += [
                {
                    "agreement_id": agreement_id,
                    "catalog_item_id": cid[(project_id, i.catalog)],
                    "consumer_id": dept[i.consumer],
                    "quality": i.quality,
                    "quantity": i.quantity,
                    "update_frequency": i.update_frequency.value if i.update_frequency else None,
                    "scope": i.scope,
                    "usage": i.usage,
                    "due": i.due,
                }
                for i in a.items
            ]
    _insert(session, AGREEMENT_PARTY, parties)
    return {"agreements": n, "agreement_items": _insert(session, AGREEMENT_ITEM, items)}


def _write_opinions_needs_reviews(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    _insert(
        session,
        NEEDS,
        [
            {
                "project_id": pid[p.code],
                "internal": p.needs_analysis.internal,
                "external": p.needs_analysis.external,
                "central_local": p.needs_analysis.central_local,
                "needs": list(p.needs_analysis.needs),
            }
            for p in projects
            if p.needs_analysis is not None
        ],
    )
    opinions = _insert(
        session,
        OPINION,
        [
            {
                "project_id": pid[p.code],
                "department_id": dept[o.department],
                "given_on": o.date,
                "verdict": o.verdict.value,
                "unmet_needs": [{"name": n.name, "catalog": n.catalog} for n in o.unmet_needs],
                "comment": o.comment,
            }
            for p in projects
            for o in p.opinions
        ],
    )
    reviews = [(p, r) for p in projects for r in p.reviews]
    if not reviews:
        return {"opinions": opinions, "reviews": 0}
    # Reviews have no code to read them back by: RETURNING in parameter order (SQLite ≥ 3.35, PostgreSQL).
    stmt = insert(REVIEW).returning(REVIEW.c.id, sort_by_parameter_order=True)
    review_ids = (
        session.execute(
            stmt,
            [
                {
                    "project_id": pid[p.code],
                    "stage": r.stage.value,
                    "agency": r.agency,
                    "reviewed_on": r.date,
                    "conclusion": r.conclusion,
                }
                for p, r in reviews
            ],
        )
        .scalars()
        .all()
    )
    _insert(
        session,
        JUDGMENT,
        [
            {"review_id": rid, "focus_point": point.value, "judgment": j.judgment.value, "comment": j.comment}
            for rid, (_, r) in zip(review_ids, reviews, strict=True)
            for point, j in r.judgments.items()
        ],
    )
    return {"opinions": opinions, "reviews": len(reviews)}


def write_evidence(session: Session, rows: Sequence[EvidenceIn]) -> int:
    """Record delivery evidence, summed per (catalog item, consumer, day) within the document.

    References are resolved in bulk against the database, so the projects may be new in this transaction or
    old. A key already on record is refused (``EVIDENCE_ALREADY_RECORDED`` at ``evidence[i].date``, every such
    row at once, nothing written), as ``govflow evidence import`` refuses it without ``--replace``: a document
    loaded twice must not count its deliveries twice. Returns the number of distinct keys written.
    """
    if not rows:
        return 0
    pid = _ids_by_code(session, PROJECT, {e.project for e in rows})
    cid = _child_ids(session, CATALOG_ITEM, pid.values())
    dept = _ids_by_code(session, DEPARTMENT, {e.consumer for e in rows})
    totals: dict[tuple[int, int, dt.date], int] = defaultdict(int)
    project_of: dict[int, int] = {}
    for e in rows:
        item = cid[(pid[e.project], e.catalog)]
        project_of[item] = pid[e.project]
        totals[(item, dept[e.consumer], e.date)] += e.records
    values = [
        {
            "project_id": project_of[item],
            "catalog_item_id": item,
            "consumer_id": consumer,
            "day": day,
            "records": n,
        }
        for (item, consumer, day), n in totals.items()
    ]
    recorded = _recorded_evidence(session, list(totals))
    if recorded:
        reasons = []
        for i, e in enumerate(rows):
            key = (cid[(pid[e.project], e.catalog)], dept[e.consumer], e.date)
            if key in recorded:
                reasons.append(
                    Reason(
                        "EVIDENCE_ALREADY_RECORDED",
                        DOC_CLAUSE,
                        f"evidence[{i}].date：项目 {e.project} 目录条目 {e.catalog} 向使用部门 {e.consumer} 在 "
                        f"{e.date.isoformat()} 的交付记录已在库中（{recorded[key]} 条）；同一条目、使用部门和日期的"
                        "记录只导入一次（更正请用 govflow evidence import --replace）",
                        f"evidence[{i}].date: deliveries of item {e.catalog} of project {e.project} to {e.consumer} "
                        f"on {e.date.isoformat()} are already on record ({recorded[key]} records); an item, "
                        "consumer and day is recorded once (correct it with govflow evidence import --replace)",
                        f"evidence[{i}].date",
                        {"recorded": recorded[key]},
                    )
                )
        raise InvalidInput(listed(reasons))
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        upsert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(EVIDENCE)
        stmt = upsert.on_conflict_do_update(
            index_elements=[EVIDENCE.c.catalog_item_id, EVIDENCE.c.consumer_id, EVIDENCE.c.day],
            set_={"records": EVIDENCE.c.records + upsert.excluded.records},
        )
        session.execute(stmt, values)
    else:  # pragma: no cover - other databases are not supported; kept correct anyway
        _add_evidence_portably(session, values)
    return len(values)


def _recorded_evidence(
    session: Session, keys: Sequence[tuple[int, int, dt.date]]
) -> dict[tuple[int, int, dt.date], int]:
    """Of these (item, consumer, day) keys, those already on record, with their numbers."""
    wanted = set(keys)
    found: dict[tuple[int, int, dt.date], int] = {}
    for chunk in _chunks(sorted({k[0] for k in wanted})):
        q = select(EVIDENCE.c.catalog_item_id, EVIDENCE.c.consumer_id, EVIDENCE.c.day, EVIDENCE.c.records)
        for item, consumer, day, records in session.execute(q.where(EVIDENCE.c.catalog_item_id.in_(chunk))):
            if (item, consumer, day) in wanted:
                found[(item, consumer, day)] = int(records)
    return found


def _add_evidence_portably(session: Session, values: list[dict[str, Any]]) -> None:
    keys = {(v["catalog_item_id"], v["consumer_id"], v["day"]): v for v in values}
    found: dict[tuple[int, int, dt.date], tuple[int, int]] = {}
    for chunk in _chunks(sorted({v["catalog_item_id"] for v in values})):
        q = select(
            EVIDENCE.c.id,
            EVIDENCE.c.catalog_item_id,
            EVIDENCE.c.consumer_id,
            EVIDENCE.c.day,
            EVIDENCE.c.records,
        )
        for id_, item, consumer, day, records in session.execute(
            q.where(EVIDENCE.c.catalog_item_id.in_(chunk))
        ):
            if (item, consumer, day) in keys:
                found[(item, consumer, day)] = (id_, records)
    for key, (id_, records) in found.items():
        session.execute(
            EVIDENCE.update().where(EVIDENCE.c.id == id_).values(records=records + keys[key]["records"])
        )
    _insert(session, EVIDENCE, [v for k, v in keys.items() if k not in found])


def _audit_record(p: ProjectIn, *, actor: str, role: str, now: dt.datetime) -> AuditRecord:
    if p.phase is Phase.DRAFT:
        return AuditRecord(
            kind="data",
            outcome="recorded",
            action="create",
            actor=actor,
            role=role,
            occurred_at=now,
            project_code=p.code,
            to_phase=Phase.DRAFT.value,
            note=f"从项目组合文档创建项目 {p.code}（{Phase.DRAFT.zh}） / created from the portfolio document",
        )
    return AuditRecord(
        kind="onboarding",
        outcome="recorded",
        action="onboard",
        actor=actor,
        role=role,
        occurred_at=now,
        project_code=p.code,
        to_phase=p.phase.value,
        note=f"从项目组合文档按现有阶段「{p.phase.zh}」（{p.phase.value}）纳入管理 / "
        f"onboarded at phase {p.phase.value} from the portfolio document",
    )


def load(
    session: Session,
    doc: PortfolioDocument | ParsedDocument,
    *,
    actor: str,
    role: str,
    now: dt.datetime,
    today: dt.date,
) -> LoadSummary:
    """Check ``doc`` against the database and write it, or raise :class:`InvalidInput` with every reason.

    Given a :class:`ParsedDocument`, the reasons are its shape errors and the rule and reference problems of
    the rows that parsed, together, in the order of the rows they name (:func:`listed`).
    """
    parsed = doc if isinstance(doc, ParsedDocument) else ParsedDocument(doc)
    found = check(parsed.doc, read_existing(session, parsed.doc), today, parsed.set_aside)
    reasons = [*parsed.reasons, *map(parsed.original, found)]
    if reasons:
        raise InvalidInput(listed(reasons, unit_zh="个条目", unit_en="entries", path="$"))
    return write(session, parsed.doc, actor=actor, role=role, now=now)


class AgreementsDocument(_In):
    """A file of agreements for one existing project (`govflow agreement add`)."""

    agreements: list[AgreementIn] = Field(min_length=1, description="共享协定 / agreements")


def parse_agreements(path: Path) -> list[AgreementIn]:
    """``agreements: [...]`` from YAML or JSON; shape errors are reported all at once with their paths."""
    data = read_data(path)
    try:
        return AgreementsDocument.model_validate(data).agreements
    except ValidationError as exc:
        raise InvalidInput(validation_reasons(exc, AgreementsDocument)) from exc


def check_new_agreements(
    agreements: Sequence[AgreementIn],
    *,
    project: str,
    catalog: Collection[str],
    existing_codes: Collection[str],
    departments: Collection[str],
) -> list[Reason]:
    """第八条 terms, unique codes, and references to the project's catalog and to known departments."""
    reasons = _duplicates(
        ((a.code, f"agreements[{i}].code") for i, a in enumerate(agreements)), "协定编号", "agreement code"
    )
    for i, a in enumerate(agreements):
        path = f"agreements[{i}]"
        if a.code in existing_codes:
            reasons.append(
                Reason(
                    "AGREEMENT_EXISTS",
                    DOC_CLAUSE,
                    f"项目 {project} 已有协定 {a.code}；协定一经登记不可覆盖，请使用新的编号",
                    f"project {project} already has agreement {a.code}; use a new code",
                    f"{path}.code",
                )
            )
        reasons += check_agreement(agreement_fact(a), path)
        for j, party in enumerate(a.parties):
            if party not in departments:
                reasons.append(
                    _unknown_department(party, f"协定 {a.code} 的一方", "party", f"{path}.parties[{j}]")
                )
        for j, item in enumerate(a.items):
            if item.catalog not in catalog:
                reasons.append(
                    Reason(
                        "CATALOG_ITEM_UNKNOWN",
                        clause("第八条"),
                        f"协定 {a.code} 的条目引用了项目 {project} 目录中没有的条目 {item.catalog}",
                        f"agreement {a.code} names catalog item {item.catalog}, not in project {project}'s catalog",
                        f"{path}.items[{j}].catalog",
                    )
                )
            if item.consumer not in departments:
                reasons.append(
                    _unknown_department(
                        item.consumer, f"协定 {a.code} 的使用部门", "consumer", f"{path}.items[{j}].consumer"
                    )
                )
    return reasons


def write_agreements(
    session: Session, project_code: str, project_id: int, agreements: Sequence[AgreementIn]
) -> dict[str, int]:
    """Insert checked agreements of one existing project (the loader's own writer, for one project)."""
    codes = {c for a in agreements for c in (*a.parties, *(i.consumer for i in a.items))}
    dept = _ids_by_code(session, DEPARTMENT, codes)
    # the loader's writer reads only the code and the agreements of each project
    project = ProjectIn.model_construct(
        code=project_code, name="", lead_department="", agreements=list(agreements)
    )
    return _write_agreements(session, [project], {project_code: project_id}, dept)
