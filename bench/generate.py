"""A realistic portfolio document of N projects, every one able to walk from draft to retired.

The shape is the one :mod:`govflow.lifecycle.portfolio` accepts (see ``govflow/data/demo-portfolio.yaml``): 50
departments of a province and its capital with valid 统一社会信用代码 (GB 32100-2015 check character from
``stdnum``), one department user per department, a program-office user and a review-agency user, and per
project a refined catalog of 5 items, 2 agreements with 4 items fixing every 第八条 term (due dates in the
future, so acceptance passes), a needs analysis covering all three dimensions, an ``agree`` opinion from every
related department and reviews of all three stages judging all five focus points.

Everything is drawn from a seeded RNG: the same arguments give the same document, byte for byte.

    python -m bench.generate --projects 2000 --out /tmp/portfolio.json [--yaml /tmp/portfolio.yaml]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from stdnum.cn import uscc

from govflow.states.sharing import FocusPoint

PROGRAM_OFFICE = "bench_po"
REVIEW_AGENCY = "bench_review"
AGENCY_NAME = "浙江省电子政务项目评审中心"

#: (name after the region prefix, short name used in project titles)
_OFFICES: tuple[tuple[str, str], ...] = (
    ("发展和改革委员会", "发改"),
    ("大数据发展管理局", "大数据"),
    ("市场监督管理局", "市场监管"),
    ("公安厅", "公安"),
    ("人力资源和社会保障厅", "人社"),
    ("自然资源厅", "自然资源"),
    ("财政厅", "财政"),
    ("审计厅", "审计"),
    ("教育厅", "教育"),
    ("科学技术厅", "科技"),
    ("民政厅", "民政"),
    ("司法厅", "司法"),
    ("生态环境厅", "生态环境"),
    ("住房和城乡建设厅", "住建"),
    ("交通运输厅", "交通"),
    ("水利厅", "水利"),
    ("农业农村厅", "农业农村"),
    ("商务厅", "商务"),
    ("文化和旅游厅", "文旅"),
    ("卫生健康委员会", "卫健"),
    ("应急管理厅", "应急"),
    ("医疗保障局", "医保"),
    ("统计局", "统计"),
    ("退役军人事务厅", "退役军人"),
    ("市场信用中心", "信用"),
)
#: (name prefix, GB/T 2260 region, level)
_REGIONS: tuple[tuple[str, str, str], ...] = (
    ("浙江省", "330000", "provincial"),
    ("杭州市", "330100", "municipal"),
)
_SYSTEMS = (
    "一体化政务服务平台",
    "数据共享交换系统",
    "“互联网+监管”系统",
    "行政审批管理系统",
    "信用信息平台",
    "综合业务管理平台",
    "基础数据库",
    "移动办事应用",
    "决策分析系统",
    "电子证照库",
)
_PHASE_SUFFIX = ("", "（二期）", "（升级改造）", "（三期）")
_RESOURCES = (
    ("企业登记基本信息", "uscc", "char(18)", "统一社会信用代码"),
    ("人口基础信息", "id_no_hash", "char(64)", "公民身份号码（脱敏摘要）"),
    ("社会保险参保状态", "insured", "boolean", "是否参保"),
    ("不动产登记信息", "unit_no", "varchar(28)", "不动产单元号"),
    ("行政许可信息", "licence_no", "varchar(64)", "许可证编号"),
    ("行政处罚信息", "decision_no", "varchar(64)", "处罚决定书文号"),
    ("学籍信息", "student_no", "varchar(32)", "学籍号"),
    ("婚姻登记信息", "cert_no", "varchar(32)", "结婚证字号"),
    ("车辆登记信息", "plate_no", "varchar(16)", "号牌号码"),
    ("医保结算信息", "settle_no", "varchar(40)", "结算流水号"),
    ("公共数据开放目录", "dataset_id", "varchar(32)", "数据集编号"),
    ("办件过程信息", "case_no", "varchar(40)", "办件编号"),
)
_LAWS = (
    "《中华人民共和国社会保险法》第七十四条",
    "《中华人民共和国数据安全法》第三十八条",
    "《浙江省公共数据条例》第二十条",
    "《不动产登记暂行条例》第二十七条",
    "《中华人民共和国个人信息保护法》第三十四条",
)
_JUDGMENT_COMMENTS: dict[FocusPoint, str] = {
    FocusPoint.AGREEMENT: "第八条事项齐全",
    FocusPoint.CATALOG: "目录已细化",
    FocusPoint.INFRASTRUCTURE: "依托政务云",
    FocusPoint.AGGREGATION: "汇聚方案可行",
    FocusPoint.TECHNICAL: "接口符合省级标准",
}


@dataclass(frozen=True)
class Portfolio:
    """The document and who acts for each project (the lead department's user fires its submissions)."""

    document: dict[str, Any]
    program_office: str
    #: project code -> name of the user of its lead department
    lead_user: dict[str, str]

    @property
    def codes(self) -> list[str]:
        return [str(p["code"]) for p in self.document["projects"]]


def credit_code(region: str, serial: int) -> str:
    """统一社会信用代码 of a fictitious 机关 (1-1): region, organization code ``GF`` + serial, check character.

    The ``GF`` marker follows the demo portfolio: no real organization has these codes.
    """
    body = f"11{region}GF{serial:07d}"
    return body + uscc.calc_check_digit(body)


def departments() -> list[dict[str, str]]:
    out = []
    serial = 0
    for prefix, region, level in _REGIONS:
        for office, _ in _OFFICES:
            serial += 1
            name = office if level == "provincial" else office.replace("厅", "局")
            out.append(
                {"code": credit_code(region, serial), "name": prefix + name, "region": region, "level": level}
            )
    return out


def _short(i: int) -> str:
    prefix, _, _ = _REGIONS[i // len(_OFFICES)]
    return prefix + _OFFICES[i % len(_OFFICES)][1]


def _catalog(rng: random.Random, lead: str, related: list[str]) -> list[dict[str, Any]]:
    resources = rng.sample(_RESOURCES, 5)
    # (category, share type, method, secrecy, provider, authorized)
    kinds: list[tuple[str, str, str, str, str, Any]] = [
        ("basic", "unconditional", "exchange", "public", related[0], "all"),
        ("business", "conditional", "query", "internal", related[1], [lead, related[0]]),
        ("status", "unconditional", "query", "internal", related[2], None),
        ("trace", "conditional", "exchange", "secret", related[2], [lead]),
        ("policy", "unconditional", "publish", "public", lead, "all"),
    ]
    items = []
    for n, ((name, field, ftype, fdesc), (category, share, method, secrecy, provider, auth)) in enumerate(
        zip(resources, kinds, strict=True), start=1
    ):
        item: dict[str, Any] = {
            "code": f"C-{n:03d}",
            "name": name,
            "provider": provider,
            "category": category,
            "share_type": share,
            "method": method,
            "update_frequency": rng.choice(("realtime", "daily", "daily", "weekly", "monthly")),
            "secrecy": secrecy,
        }
        if share != "unconditional":
            item["legal_basis"] = rng.choice(_LAWS)
        if auth is not None:
            item["authorized"] = auth
        item["fields"] = [
            {"name": field, "type": ftype, "description": fdesc},
            {"name": "org_name", "type": "varchar(200)", "description": "名称"},
            {"name": "region", "type": "char(6)", "description": "行政区划"},
            {"name": "updated_at", "type": "timestamp", "description": "更新时间"},
        ][: rng.randint(2, 4)]
        item["format"] = rng.choice(("库表（JSON 增量包）", "库表（CSV，UTF-8）", "JSON 查询结果"))
        item["interface"] = "涉密专网单向导入" if secrecy == "secret" else "省公共数据平台 RESTful 接口"
        item["processing"] = f"按{fdesc}去重，每日增量推送"
        item["traceability"] = "记录来源、批次和时间戳，日志留存三年"
        items.append(item)
    return items


def _agreement_item(
    rng: random.Random, catalog: dict[str, Any], consumer: str, today: date, scope: str
) -> dict[str, Any]:
    return {
        "catalog": catalog["code"],
        "consumer": consumer,
        "quality": "字段完整率不低于 99%",
        "quantity": rng.choice(("全量及每日增量", "按需查询，日均不超过 10 万次", "每月全量")),
        "update_frequency": catalog["update_frequency"],
        "scope": scope,
        "usage": {"exchange": "库表交换", "query": "接口查询", "publish": "公开下载"}[catalog["method"]],
        "due": (today + timedelta(days=rng.randint(180, 900))).isoformat(),
    }


def _agreements(
    rng: random.Random, catalog: list[dict[str, Any]], lead: str, related: list[str], today: date
) -> list[dict[str, Any]]:
    start = today - timedelta(days=rng.randint(150, 400))
    term = {"start": start.isoformat(), "end": (start + timedelta(days=3 * 365)).isoformat()}
    signed = (start - timedelta(days=rng.randint(1, 20))).isoformat()
    c1, c2, c3, c4, _ = catalog
    agreements: list[dict[str, Any]] = [
        {
            "code": "A-001",
            "form": "agreement",
            "parties": [lead, related[0], related[1]],
            "signed_on": signed,
            "term": term,
            "basis": "《浙江省公共数据条例》第二十条；本项目建议书",
            "items": [
                _agreement_item(rng, c1, lead, today, "用于政务服务事项办理和事中事后监管"),
                _agreement_item(rng, c2, lead, today, "用于行政审批中的资格核验"),
            ],
        },
        {
            "code": "A-002",
            "form": "joint_document",
            "parties": [lead, related[2], related[0]],
            "signed_on": signed,
            "term": term,
            "basis": f"浙数发〔{today.year - 1}〕{rng.randint(1, 99)}号 联合发文",
            "items": [
                _agreement_item(rng, c3, related[0], today, "用于参保状态核验"),
                _agreement_item(rng, c4, lead, today, "仅限涉密专网内的核查"),
            ],
        },
    ]
    # the term covers every item's due date (第八条: an agreement that ends before its items fall due is refused)
    for a in agreements:
        last_due = max(str(i["due"]) for i in a["items"])
        a["term"] = {**term, "end": max(term["end"], last_due)}
    return agreements


def _reviews(rng: random.Random, today: date) -> list[dict[str, Any]]:
    out = []
    for stage, days_ago in (("proposal", 300), ("feasibility", 200), ("design", 100)):
        judgments: dict[str, dict[str, str]] = {}
        for point, comment in _JUDGMENT_COMMENTS.items():
            judgments[point.value] = {"judgment": "partly" if rng.random() < 0.1 else "met"}
            if rng.random() < 0.3:  # reviewers comment on some points only
                judgments[point.value]["comment"] = comment
        out.append(
            {
                "stage": stage,
                "agency": AGENCY_NAME,
                "date": (today - timedelta(days=days_ago - rng.randint(0, 30))).isoformat(),
                "judgments": judgments,
                "conclusion": "同意，请在下一阶段细化数据对接方案。",
            }
        )
    return out


def _project(
    rng: random.Random, i: int, n_width: int, depts: list[dict[str, str]], today: date
) -> dict[str, Any]:
    lead_i = i % len(depts)
    lead = depts[lead_i]["code"]
    related = [depts[j]["code"] for j in rng.sample([j for j in range(len(depts)) if j != lead_i], 3)]
    catalog = _catalog(rng, lead, related)
    name = _short(lead_i) + rng.choice(_SYSTEMS) + rng.choice(_PHASE_SUFFIX)
    return {
        "code": f"ZJ-{today.year}-{i + 1:0{n_width}d}",
        "name": name,
        "lead_department": lead,
        "departments": related,
        "om_budget": f"{rng.randint(10, 500) * 10_000 + rng.randint(0, 99) * 100}.00",
        "needs_analysis": {
            "internal": "部门内部业务系统之间共享办件过程信息。",
            "external": "向相关部门提供基础和业务信息的交换与查询服务。",
            "central_local": "经国家数据共享交换平台对接国家基础信息库。",
            "needs": [f"{c['name']}共享" for c in catalog[:3]],
        },
        "catalog": catalog,
        "agreements": _agreements(rng, catalog, lead, related, today),
        "opinions": [
            {
                "department": d,
                "date": (today - timedelta(days=rng.randint(320, 400))).isoformat(),
                "verdict": "agree",
            }
            for d in related
        ],
        "reviews": _reviews(rng, today),
    }


def generate(projects: int = 2000, *, today: date | None = None, seed: int = 733) -> Portfolio:
    """``projects`` projects in draft, dated around ``today`` (UTC today by default)."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(seed)
    depts = departments()
    users: list[dict[str, Any]] = [
        {
            "name": PROGRAM_OFFICE,
            "role": "program_office",
            "department": depts[0]["code"],
            "display_name": "王建国",
        },
        {"name": REVIEW_AGENCY, "role": "review_agency", "display_name": "孙评审"},
    ]
    user_of: dict[str, str] = {}
    for n, d in enumerate(depts, start=1):
        user_of[d["code"]] = f"dept{n:02d}"
        users.append({"name": user_of[d["code"]], "role": "department", "department": d["code"]})
    width = max(4, len(str(projects)))
    plist = [_project(rng, i, width, depts, today) for i in range(projects)]
    doc = {"departments": depts, "users": users, "projects": plist}
    return Portfolio(doc, PROGRAM_OFFICE, {p["code"]: user_of[p["lead_department"]] for p in plist})


def write_json(doc: dict[str, Any], path: Path) -> int:
    """Compact UTF-8 JSON; returns the size in bytes."""
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    path.write_bytes(data)
    return len(data)


def write_yaml(doc: dict[str, Any], path: Path) -> int:
    """Block-style YAML, the way people write portfolio documents; returns the size in bytes."""
    dumper = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper
    data = yaml.dump(doc, Dumper=dumper, allow_unicode=True, sort_keys=False, width=120).encode()
    path.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=733)
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: UTC today)")
    ap.add_argument("--out", type=Path, required=True, help="JSON output")
    ap.add_argument("--yaml", type=Path, default=None, help="also write the document as YAML here")
    args = ap.parse_args(argv)
    portfolio = generate(args.projects, today=args.today, seed=args.seed)
    size = write_json(portfolio.document, args.out)
    print(f"{args.out}: {args.projects} projects, {size / 1e6:.1f} MB")
    if args.yaml is not None:
        size = write_yaml(portfolio.document, args.yaml)
        print(f"{args.yaml}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
