"""A project's sharing materials (第八条、第九条、第十条): catalog, agreements, opinions, reviews, evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile

from govflow.api.deps import ActorName, GovApp, PageParams, ProjectCode, get_settings
from govflow.api.schemas import (
    AgreementOut,
    AgreementRenewed,
    AgreementRenewIn,
    AgreementTerminateIn,
    AgreementVersionOut,
    AuthorizationIn,
    CatalogImported,
    CatalogItemOut,
    ConditionAnswerIn,
    ErrorBody,
    EvidenceImported,
    OpinionIn,
    OpinionOut,
    OpinionRecorded,
    PageOut,
    PortfolioLoaded,
    ReviewIn,
    ReviewOut,
    ReviewRecorded,
)
from govflow.api.settings import ApiSettings
from govflow.api.uploads import DOCUMENT, TABULAR, saved
from govflow.governance import agreements as agreement_cases
from govflow.lifecycle import services
from govflow.reads import queries
from govflow.states.sharing import Secrecy

router = APIRouter(tags=["materials"])
#: an agreement or catalog item code in a path: one line, no control characters, no slash
MaterialCode = Annotated[str, Path(pattern=r"^[^\x00-\x1f\x7f/]{1,64}$")]
Settings = Annotated[ApiSettings, Depends(get_settings)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    413: {"model": ErrorBody, "description": "上传文件过大 / upload too large"},
}


@router.get(
    "/projects/{code}/catalog",
    response_model=PageOut[CatalogItemOut],
    summary="共享信息目录 / sharing catalog",
    description="涉密条目（第二条第三款）只对提供部门、被授权部门和审计可见，其他人看不到也不计数。\n\n"
    "Secret items (第二条第三款) are visible only to their provider, the authorized departments and audit; "
    "to anybody else they are neither listed nor counted.",
    responses=ERRORS,
)
def list_catalog(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    paging: PageParams,
    secrecy: Annotated[Secrecy | None, Query(description="按密级筛选 / filter by secrecy")] = None,
) -> dict[str, Any]:
    return queries.list_catalog(
        app, code, actor, page=paging.page, size=paging.size, secrecy=secrecy.value if secrecy else None
    ).to_dict()


@router.post(
    "/projects/{code}/catalog",
    response_model=CatalogImported,
    summary="导入共享信息目录（CSV/XLSX） / import a catalog",
    description="新编码新增、已有编码就地细化；任一行有误则逐行报告（422）且不写入。只能在编制中、建议书已批复、"
    "不予审批阶段导入（第九条）。\n\nNew codes are added, known codes refined in place; any bad row is "
    "reported (422) and nothing is written. Only in draft, proposal approved or rejected (第九条).",
    responses=ERRORS,
)
def import_catalog(
    app: GovApp,
    actor: ActorName,
    settings: Settings,
    code: ProjectCode,
    file: Annotated[UploadFile, File(description="CSV 或 XLSX / CSV or XLSX")],
) -> dict[str, Any]:
    queries.require(app, actor, "catalog.import", code)
    with saved(file, TABULAR, settings.upload_max_bytes) as path:
        res = services.import_catalog(app, code, path, actor)
    return {"project": code, **res}


@router.get(
    "/projects/{code}/agreements",
    response_model=PageOut[AgreementOut],
    summary="信息共享协定 / sharing agreements",
    description="协定及其条目（第八条）；涉密目录条目上的协定条目按目录的可见范围隐藏。\n\nAgreements and "
    "their items (第八条); items on a secret catalog item follow that item's visibility.",
    responses=ERRORS,
)
def list_agreements(app: GovApp, actor: ActorName, code: ProjectCode, paging: PageParams) -> dict[str, Any]:
    return queries.list_agreements(app, code, actor, page=paging.page, size=paging.size).to_dict()


@router.get(
    "/projects/{code}/opinions",
    response_model=PageOut[OpinionOut],
    summary="相关部门意见 / opinions of related departments",
    responses=ERRORS,
)
def list_opinions(app: GovApp, actor: ActorName, code: ProjectCode, paging: PageParams) -> dict[str, Any]:
    return queries.list_opinions(app, code, actor, page=paging.page, size=paging.size).to_dict()


@router.post(
    "/projects/{code}/opinions",
    response_model=OpinionRecorded,
    summary="登记相关部门意见（第九条） / record an opinion",
    description="相关部门本部门用户或项目审批部门登记。\n\nEntered by the related department itself or by the "
    "program office.",
    responses=ERRORS,
)
def record_opinion(app: GovApp, actor: ActorName, code: ProjectCode, body: OpinionIn) -> dict[str, Any]:
    version = services.record_opinion(
        app,
        code,
        actor,
        department=body.department,
        on=body.date or app.clock().date(),
        verdict=body.verdict.value,
        unmet_needs=[n.model_dump() for n in body.unmet_needs],
        comment=body.comment,
        conditions=list(body.conditions),
    )
    return {"project": code, "department": body.department, "verdict": body.verdict, "version": version}


@router.put(
    "/projects/{code}/catalog/{item}/authorization",
    summary="调整目录条目的授权使用范围（第八条） / adjust a catalog item's authorized scope",
    description="提供部门或项目审批部门调整；超出新范围的协定条目随结果列出，并在下次巡查时成为问题。\n\nBy the provider "
    "or the program office; agreement items now outside the scope are listed and become findings at the next sweep.",
    responses=ERRORS,
)
def authorize_catalog_item(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    item: MaterialCode,
    body: AuthorizationIn,
) -> dict[str, Any]:
    return agreement_cases.authorize_catalog_item(
        app,
        code,
        item,
        actor,
        departments=list(body.departments),
        all_departments=body.all,
        reason=body.reason,
    )


@router.post(
    "/projects/{code}/opinions/{department}/answers",
    response_model=OpinionRecorded,
    summary="答复修改意见（第九条） / answer a condition of an opinion",
    description="牵头部门逐条答复相关部门“修改后同意”意见中的修改意见；未答复的修改意见使批复不予通过。\n\nThe lead "
    "department answers each change an agree_with_changes opinion asks for; an unanswered one refuses approval.",
    responses=ERRORS,
)
def answer_condition(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    department: Annotated[str, Path(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")],
    body: ConditionAnswerIn,
) -> dict[str, Any]:
    version = services.answer_condition(
        app, code, actor, department=department, condition=body.condition, answer=body.answer
    )
    return {"project": code, "department": department, "verdict": "agree_with_changes", "version": version}


@router.post(
    "/projects/{code}/agreements/{agreement}/renew",
    response_model=AgreementRenewed,
    summary="续签共享协定（第八条 共享期限） / renew an agreement",
    description="新版本留痕并写入审计；续签后的协定按新协定同样校验（签署日期、期限覆盖实现进度、各方、授权范围），"
    "协定到期问题及其整改通知随即关闭。\n\nA new, audited version; the renewed agreement is checked as a new one is "
    "(signed date, term covering due dates, parties, scope); its expiry finding and the orders on it close at once.",
    responses=ERRORS,
)
def renew_agreement(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    agreement: MaterialCode,
    body: AgreementRenewIn,
) -> dict[str, Any]:
    return agreement_cases.renew_agreement(
        app, code, agreement, actor, until=body.until, signed_on=body.signed_on, reason=body.reason
    )


@router.post(
    "/projects/{code}/agreements",
    summary="登记共享协定或联合发文（第八条） / add agreements",
    description="上传 agreements: [...]（格式同项目组合文档），与 govflow load 同样校验（签署日期、期限覆盖实现进度、各方、"
    "授权范围），任一处有误则逐条报告（422，带路径）且不写入。\n\nUpload agreements: [...] (as in the portfolio "
    "document), checked as `govflow load` checks them; any error is reported (422, with its path), nothing written.",
    responses=ERRORS,
)
def add_agreements(
    app: GovApp,
    actor: ActorName,
    settings: Settings,
    code: ProjectCode,
    file: Annotated[UploadFile, File(description="YAML 或 JSON / YAML or JSON")],
) -> dict[str, Any]:
    with saved(file, DOCUMENT, settings.upload_max_bytes) as path:
        return {"project": code, **services.add_agreements(app, code, path, actor)}


@router.post(
    "/projects/{code}/agreements/amend",
    summary="修订已签署的共享协定 / amend signed agreements",
    description="上传 agreements: [...]（同编号整份替换为新版本），按新协定同样校验，任一处有误则逐条报告（422）且不写入。"
    "\n\nUpload agreements: [...] (same codes, each replaced as a new version), checked as new agreements are; any "
    "error is reported (422) and nothing is written.",
    responses=ERRORS,
)
def amend_agreements(
    app: GovApp,
    actor: ActorName,
    settings: Settings,
    code: ProjectCode,
    file: Annotated[UploadFile, File(description="YAML 或 JSON / YAML or JSON")],
    reason: Annotated[str | None, Query(max_length=2000, description="修订理由 / why")] = None,
) -> dict[str, Any]:
    with saved(file, DOCUMENT, settings.upload_max_bytes) as path:
        return agreement_cases.amend_agreements(app, code, path, actor, reason=reason)


@router.post(
    "/projects/{code}/agreements/{agreement}/terminate",
    summary="终止共享协定 / terminate an agreement",
    description="项目审批部门决定并记录理由；终止日后其条目不再是共享义务。\n\nDecided by the program office with a "
    "reason; after that day its items are no obligation.",
    responses=ERRORS,
)
def terminate_agreement(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    agreement: MaterialCode,
    body: AgreementTerminateIn,
) -> dict[str, Any]:
    return agreement_cases.terminate_agreement(app, code, agreement, actor, on=body.on, reason=body.reason)


@router.get(
    "/projects/{code}/agreements/{agreement}/versions",
    response_model=list[AgreementVersionOut],
    summary="共享协定的版本 / an agreement's versions",
    responses=ERRORS,
)
def agreement_versions(
    app: GovApp,
    actor: ActorName,
    code: ProjectCode,
    agreement: MaterialCode,
) -> list[dict[str, Any]]:
    return agreement_cases.agreement_versions(app, code, agreement, actor)


@router.get(
    "/projects/{code}/reviews",
    response_model=PageOut[ReviewOut],
    summary="评审意见 / stage reviews",
    responses=ERRORS,
)
def list_reviews(app: GovApp, actor: ActorName, code: ProjectCode, paging: PageParams) -> dict[str, Any]:
    return queries.list_reviews(app, code, actor, page=paging.page, size=paging.size).to_dict()


@router.post(
    "/projects/{code}/reviews",
    response_model=ReviewRecorded,
    summary="登记评审意见（第十条第一款） / record a stage review",
    description="评审机构对五个评审重点逐一作出明确判断；项目须处于该阶段的评审中。\n\nThe review agency judges "
    "each of the five focus points; the project must be under review at that stage.",
    responses=ERRORS,
)
def record_review(app: GovApp, actor: ActorName, code: ProjectCode, body: ReviewIn) -> dict[str, Any]:
    version = services.record_review(
        app,
        code,
        actor,
        stage=body.stage.value,
        agency=body.agency,
        on=body.date or app.clock().date(),
        judgments={k.value: (v.judgment.value, v.comment) for k, v in body.judgments.items()},
        conclusion=body.conclusion,
        against_approval=body.against_approval,
    )
    return {"project": code, "stage": body.stage, "version": version}


@router.post(
    "/evidence",
    response_model=EvidenceImported,
    summary="导入交付记录（CSV/XLSX） / import delivery evidence",
    description="交换平台导出的 project, catalog, consumer, date, records；按条目、使用部门、日期汇总，任一行有误"
    "则不写入。同一文件只导入一次；某条目、使用部门、日期已有记录的行视为有误，除非 replace=true（以本文件的数"
    "为准替换）。\n\nRows of project, catalog, consumer, date, records from the exchange platform, aggregated "
    "per item, consumer and day; all rows or none. A file is imported once; a row whose item, consumer and day "
    "are already on record is refused unless replace=true (the file's number replaces the recorded one).",
    responses=ERRORS,
)
def import_evidence(
    app: GovApp,
    actor: ActorName,
    settings: Settings,
    file: Annotated[UploadFile, File(description="CSV 或 XLSX / CSV or XLSX")],
    replace: Annotated[
        bool, Query(description="以本文件为准替换已有记录 / the file's numbers replace those on record")
    ] = False,
) -> dict[str, Any]:
    queries.require(app, actor, "evidence.import")
    with saved(file, TABULAR, settings.upload_max_bytes) as path:
        return {"imported": services.import_evidence(app, path, actor, replace=replace)}


@router.post(
    "/portfolio",
    response_model=PortfolioLoaded,
    summary="导入项目组合文档（YAML/JSON） / load a portfolio document",
    description="整体校验，任一行有误则逐行报告（422，带路径）且不写入任何数据。\n\nChecked as a whole; any "
    "error is reported per row (422, with its path) and nothing is written.",
    responses=ERRORS,
)
def load_portfolio(
    app: GovApp,
    actor: ActorName,
    settings: Settings,
    file: Annotated[UploadFile, File(description="YAML 或 JSON / YAML or JSON")],
) -> dict[str, Any]:
    queries.require(app, actor, "portfolio.load")
    with saved(file, DOCUMENT, settings.upload_max_bytes) as path:
        summary = services.load_portfolio(app, path, actor)
    return {"loaded": True, "summary": summary.to_dict()}
