"""A national-scale portfolio, written straight into a migrated database with bulk inserts.

Not through the portfolio loader (:mod:`govflow.lifecycle.portfolio` checks every rule of 733号文 for a document a person
wrote; a benchmark of the scheduled flows needs a portfolio that already *is* in the database): at scale 1,

* 500 departments — central ministries and the departments of the 31 provinces, their capitals and counties —
  with valid 统一社会信用代码 (GB 32100-2015 check character from ``stdnum.cn.uscc``);
* 20,000 projects, most in operation, the rest spread over the other phases (the swept ones — construction,
  acceptance review, rectification — and some that are not swept: draft, in review, retired), each with 3 related
  departments;
* 200,000 catalog items (10 per project) and 60,000 agreements with 300,000 agreement items (3 × 5 per
  project; every (catalog item, consumer) pair once per project);
* about 5,000,000 delivery-evidence rows (one per item, consumer and day) over 2026 up to ``as_of``, each
  obligation delivering at its update frequency from its 实现进度 date on.

A few percent of the obligations are broken on purpose, as they are in a real portfolio: agreement items past
their due date that never delivered (``MILESTONE_MISSED``), items of projects in operation that stopped
delivering longer ago than their frequency allows (``DELIVERY_STALE``), agreements whose term ended
(``AGREEMENT_EXPIRED``), and some that end within 30 days (expiry notices). Some batches deliver 0 records.
Needs analyses, opinions and reviews are not generated: the scheduled flows do not read them.

The last ``import_days`` days before ``as_of`` are *not* written to the database: they are the exchange
platform's export, written as a CSV file of raw batch rows (several per item, consumer and day, as the platform
logs them; about 1,000,000 rows at scale 1), for :func:`govflow.lifecycle.services.import_evidence` to add. Importing it
completes the portfolio: ``delivery_evidence`` then holds exactly the designed rows.

Everything is drawn from a seeded RNG; the same arguments give the same data. Rows go in through the DBAPI:
``executemany`` on SQLite (foreign keys off while loading), ``COPY`` on PostgreSQL (as ``session_replication_role
= replica``, so without per-row foreign-key triggers nor migration 0015's parent checks on ``delivery_evidence``,
then ``ANALYZE`` as autovacuum would).

    python -m bench.national --db-url sqlite:////tmp/national.db --csv-dir /tmp [--scale 0.1]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
from stdnum.cn import uscc

from bench.databases import Database, libpq_uri
from govflow.models import deliveries, tally
from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.sharing import FREQUENCY_DAYS, Frequency

#: the day the benchmark's flows judge (a Friday; 20 working days later is still in 2026, which the calendar covers)
AS_OF = date(2026, 11, 20)
YEAR_START = date(2026, 1, 1)
IMPORT_DAYS = 14

#: (phase, share of projects)
PHASES: tuple[tuple[Phase, float], ...] = (
    (Phase.OPERATION, 0.70),
    (Phase.CONSTRUCTION, 0.12),
    (Phase.ACCEPTANCE_REVIEW, 0.04),
    (Phase.RECTIFICATION, 0.03),
    (Phase.DRAFT, 0.03),
    (Phase.PROPOSAL_REVIEW, 0.02),
    (Phase.FEASIBILITY_REVIEW, 0.02),
    (Phase.DESIGN_REVIEW, 0.01),
    (Phase.RETIRED, 0.03),
)
#: update frequency of catalog items: (frequency, weight)
FREQUENCIES: tuple[tuple[Frequency, float], ...] = (
    (Frequency.REALTIME, 0.01),
    (Frequency.DAILY, 0.02),
    (Frequency.WEEKLY, 0.22),
    (Frequency.MONTHLY, 0.40),
    (Frequency.QUARTERLY, 0.24),
    (Frequency.YEARLY, 0.11),
)
#: days between two deliveries on schedule (never more than FREQUENCY_DAYS allows)
PERIOD_DAYS = {
    Frequency.REALTIME: 1,
    Frequency.DAILY: 1,
    Frequency.WEEKLY: 7,
    Frequency.MONTHLY: 30,
    Frequency.QUARTERLY: 91,
    Frequency.YEARLY: 365,
}
#: raw batch rows per (item, consumer, day) in the exchange platform's export: (low, high)
BATCHES = {
    Frequency.REALTIME: (12, 24),
    Frequency.DAILY: (2, 6),
    Frequency.WEEKLY: (1, 3),
    Frequency.MONTHLY: (1, 2),
    Frequency.QUARTERLY: (1, 2),
    Frequency.YEARLY: (1, 1),
}
P_NEVER = 0.02  # an item past its due date that never delivered
P_STOPPED = 0.03  # an item in operation that stopped delivering
P_EXPIRED = 0.015  # an agreement whose term ended before as_of
P_EXPIRING = 0.01  # an agreement whose term ends within 30 days
P_ZERO = 0.01  # a delivery of 0 records

ITEMS_PER_PROJECT = 10
AGREEMENTS_PER_PROJECT = 3
ITEMS_PER_AGREEMENT = 5

_PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("11", "BJ", "北京市"),
    ("12", "TJ", "天津市"),
    ("13", "HE", "河北省"),
    ("14", "SX", "山西省"),
    ("15", "NM", "内蒙古自治区"),
    ("21", "LN", "辽宁省"),
    ("22", "JL", "吉林省"),
    ("23", "HL", "黑龙江省"),
    ("31", "SH", "上海市"),
    ("32", "JS", "江苏省"),
    ("33", "ZJ", "浙江省"),
    ("34", "AH", "安徽省"),
    ("35", "FJ", "福建省"),
    ("36", "JX", "江西省"),
    ("37", "SD", "山东省"),
    ("41", "HA", "河南省"),
    ("42", "HB", "湖北省"),
    ("43", "HN", "湖南省"),
    ("44", "GD", "广东省"),
    ("45", "GX", "广西壮族自治区"),
    ("46", "HI", "海南省"),
    ("50", "CQ", "重庆市"),
    ("51", "SC", "四川省"),
    ("52", "GZ", "贵州省"),
    ("53", "YN", "云南省"),
    ("54", "XZ", "西藏自治区"),
    ("61", "SN", "陕西省"),
    ("62", "GS", "甘肃省"),
    ("63", "QH", "青海省"),
    ("64", "NX", "宁夏回族自治区"),
    ("65", "XJ", "新疆维吾尔自治区"),
)
_MINISTRIES = (
    "国家发展和改革委员会",
    "公安部",
    "民政部",
    "司法部",
    "财政部",
    "人力资源和社会保障部",
    "自然资源部",
    "生态环境部",
    "住房和城乡建设部",
    "交通运输部",
    "水利部",
    "农业农村部",
    "商务部",
    "国家卫生健康委员会",
    "应急管理部",
    "中国人民银行",
    "审计署",
    "国家市场监督管理总局",
    "国家税务总局",
    "国家统计局",
    "国家医疗保障局",
    "国家数据局",
    "海关总署",
    "国家移民管理局",
    "教育部",
)
_OFFICES = (
    "发展和改革委员会",
    "公安厅",
    "民政厅",
    "司法厅",
    "财政厅",
    "人力资源和社会保障厅",
    "自然资源厅",
    "生态环境厅",
    "住房和城乡建设厅",
    "交通运输厅",
    "市场监督管理局",
    "卫生健康委员会",
    "医疗保障局",
    "大数据发展管理局",
)
_RESOURCES = (
    "企业登记基本信息",
    "人口基础信息",
    "社会保险参保信息",
    "不动产登记信息",
    "行政许可信息",
    "行政处罚信息",
    "学籍学历信息",
    "婚姻登记信息",
    "车辆登记信息",
    "医保结算信息",
    "纳税信用信息",
    "电子证照信息",
    "办件过程信息",
    "公共信用信息",
    "低保救助信息",
)
_SYSTEMS = (
    "一体化政务服务平台",
    "数据共享交换平台",
    "“互联网+监管”系统",
    "信用信息共享平台",
    "社会保障信息系统",
    "不动产登记系统",
    "电子证照库",
    "应急指挥平台",
)
_CATEGORIES = ("basic", "business", "business", "status", "trace", "policy")


@dataclass
class NationalSummary:
    """What was generated: counts, the breakage designed in, and where the import file is."""

    scale: float
    seed: int
    as_of: str
    #: the last day written to the database; the import file holds the days after it up to as_of
    cut: str
    departments: int = 0
    projects: int = 0
    swept_projects: int = 0
    projects_by_phase: dict[str, int] = field(default_factory=dict)
    catalog_items: int = 0
    agreements: int = 0
    agreement_items: int = 0
    #: evidence rows (item, consumer, day) written to the database now
    evidence_rows: int = 0
    #: evidence rows once the import file is imported (the designed total)
    evidence_rows_total: int = 0
    import_file: str = ""
    import_rows: int = 0
    import_keys: int = 0
    import_records: int = 0
    designed_never: int = 0
    designed_stopped: int = 0
    designed_expired: int = 0
    designed_expiring: int = 0
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class _Shape:
    projects: int
    departments: int


def shape(scale: float) -> _Shape:
    return _Shape(projects=max(50, round(20_000 * scale)), departments=max(30, round(500 * scale)))


def credit_code(region: str, serial: int) -> str:
    """统一社会信用代码 of a fictitious 机关 (``GF`` + serial: no real organization has these codes)."""
    body = f"11{region}GF{serial:07d}"
    return body + uscc.calc_check_digit(body)


def _departments(n: int) -> list[tuple[int, str, str, str, str]]:
    """(id, code, name, region, level): a few central ministries, then per province its departments, its capital's
    and a county's, round-robin so that every province has some."""
    out: list[tuple[int, str, str, str, str]] = []
    central = max(5, n // 20)
    for i in range(central):
        name = _MINISTRIES[i % len(_MINISTRIES)] + ("" if i < len(_MINISTRIES) else f"（第{i // 25 + 1}局）")
        out.append((i + 1, credit_code("100000", i + 1), name, "100000", "central"))
    k = 0
    while len(out) < n:
        prov, _, pname = _PROVINCES[k % len(_PROVINCES)]
        office = _OFFICES[(k // len(_PROVINCES)) % len(_OFFICES)]
        tier = (k // (len(_PROVINCES) * len(_OFFICES))) % 3
        region, level, prefix = (
            (f"{prov}0000", "provincial", pname),
            (f"{prov}0100", "municipal", pname + "省会市"),
            (f"{prov}0102", "county", pname + "某区"),
        )[tier]
        name = prefix + (office if tier == 0 else office.replace("厅", "局").replace("委员会", "局"))
        id_ = len(out) + 1
        out.append((id_, credit_code(region, id_), name, region, level))
        k += 1
    return out


def _weighted(rng: random.Random, table: Sequence[tuple[Any, float]]) -> Any:
    r = rng.random() * sum(w for _, w in table)
    for value, w in table:
        r -= w
        if r < 0:
            return value
    return table[-1][0]


@dataclass(slots=True)
class _Item:
    """One agreement item and how it behaves (the evidence is drawn from this)."""

    catalog_item_id: int
    consumer_id: int
    project_id: int
    project: str
    catalog: str
    consumer: str
    frequency: Frequency
    due: date
    behaviour: str  # regular | never | stopped | pending (not due, not started) | retired
    start: date
    end: date


@dataclass
class _Data:
    departments: list[tuple[Any, ...]] = field(default_factory=list)
    projects: list[tuple[Any, ...]] = field(default_factory=list)
    project_departments: list[tuple[Any, ...]] = field(default_factory=list)
    catalog_items: list[tuple[Any, ...]] = field(default_factory=list)
    agreements: list[tuple[Any, ...]] = field(default_factory=list)
    agreement_parties: list[tuple[Any, ...]] = field(default_factory=list)
    agreement_items: list[tuple[Any, ...]] = field(default_factory=list)
    #: (catalog item, department): a conditional item is authorized for every department it is promised to
    #: (第八条 授权使用范围), as `govflow load` would require of the agreements
    catalog_authorizations: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)


def _rand_day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def _structure(rng: random.Random, sh: _Shape, as_of: date, summary: NationalSummary) -> _Data:
    data = _Data()
    depts = _departments(sh.departments)
    data.departments = depts
    code_of = {d[0]: d[1] for d in depts}
    abbr = {p: a for p, a, _ in _PROVINCES}
    created = datetime(2025, 6, 1, tzinfo=UTC)
    data.users = [
        (1, "bench_po", "王建国", "program_office", depts[0][0], True),
        (2, "bench_finance", "钱静", "finance", None, True),
        (3, "bench_audit", "郑明", "audit", None, True),
    ]
    catalog_id = agreement_id = item_id = 0
    by_phase: dict[str, int] = {}
    for pid in range(1, sh.projects + 1):
        phase: Phase = _weighted(rng, PHASES)
        by_phase[phase.value] = by_phase.get(phase.value, 0) + 1
        lead = rng.choice(depts)
        region = lead[3]
        prefix = "GJ" if region == "100000" else abbr[region[:2]]
        code = f"{prefix}-2026-{pid:05d}"
        related = [*rng.sample([d for d in depts[:60] if d[0] != lead[0]], 2), rng.choice(depts)]
        related_ids = list(dict.fromkeys(d[0] for d in related if d[0] != lead[0]))
        budget_fen = rng.randint(20, 800) * 1_000_000 + rng.randint(0, 99) * 100
        data.projects.append(
            (
                pid,
                code,
                f"{lead[2]}{rng.choice(_SYSTEMS)}",
                lead[0],
                budget_fen,
                phase.value,
                1,
                created,
                created,
            )
        )
        data.project_departments += [(pid, d) for d in related_ids]
        # catalog: 10 items, providers among the lead and related departments
        providers = [lead[0], *related_ids]
        catalog: list[tuple[int, str, Frequency]] = []
        conditional: dict[int, int] = {}  # conditional catalog item → its provider
        for n in range(1, ITEMS_PER_PROJECT + 1):
            catalog_id += 1
            category = _CATEGORIES[n % len(_CATEGORIES)]
            frequency: Frequency = _weighted(rng, FREQUENCIES)
            share = (
                "unconditional" if category in ("basic", "policy") or rng.random() < 0.6 else "conditional"
            )
            data.catalog_items.append(
                (
                    catalog_id,
                    pid,
                    f"C-{n:03d}",
                    rng.choice(_RESOURCES),
                    rng.choice(providers),
                    category,
                    share,
                    rng.choice(("exchange", "query")) if category != "policy" else "publish",
                    frequency.value,
                    "public" if category in ("basic", "policy") else "internal",
                    "《中华人民共和国数据安全法》第三十八条" if share == "conditional" else None,
                    category == "basic",
                    '[{"name":"id","type":"varchar(64)","description":"主键"}]',
                    "库表（JSON 增量包）",
                    "国家数据共享交换平台 RESTful 接口",
                    "每日增量推送，按主键去重",
                    "记录来源、批次和时间戳，日志留存三年",
                )
            )
            catalog.append((catalog_id, f"C-{n:03d}", frequency))
            if share == "conditional":
                conditional[catalog_id] = data.catalog_items[-1][4]
        # 3 agreements × 5 items, every (catalog item, consumer) pair at most once
        consumers = list(dict.fromkeys([lead[0], *related_ids, rng.choice(depts)[0]]))
        pairs = rng.sample(
            [(c, d) for c in catalog for d in consumers], AGREEMENTS_PER_PROJECT * ITEMS_PER_AGREEMENT
        )
        data.catalog_authorizations += sorted(
            {(c[0], d) for c, d in pairs if c[0] in conditional and d != conditional[c[0]]}
        )
        for a in range(AGREEMENTS_PER_PROJECT):
            agreement_id += 1
            signed = _rand_day(rng, date(2023, 1, 1), date(2025, 12, 31))
            end = signed + timedelta(days=3 * 365 + rng.randint(0, 400))
            if phase in SWEPT_PHASES:
                roll = rng.random()
                if roll < P_EXPIRED:
                    end = as_of - timedelta(days=rng.randint(1, 120))
                    summary.designed_expired += 1
                elif roll < P_EXPIRED + P_EXPIRING:
                    end = as_of + timedelta(days=rng.randint(0, 30))
                    summary.designed_expiring += 1
                elif end <= as_of + timedelta(days=30):
                    end = as_of + timedelta(days=31 + rng.randint(0, 700))
            data.agreements.append(
                (
                    agreement_id,
                    pid,
                    f"A-{a + 1:03d}",
                    "agreement" if a < 2 else "joint_document",
                    signed,
                    signed,
                    end,
                    "《政务信息资源共享管理暂行办法》；本项目建议书",
                )
            )
            parties = list(dict.fromkeys([lead[0], *(d for (_, d) in pairs[a * 5 : a * 5 + 5])]))
            data.agreement_parties += [(agreement_id, d) for d in parties]
            for (cid, ccode, cfreq), consumer in pairs[
                a * ITEMS_PER_AGREEMENT : (a + 1) * ITEMS_PER_AGREEMENT
            ]:
                item_id += 1
                own: Frequency | None = None if rng.random() < 0.2 else cfreq
                frequency = own or cfreq
                due, behaviour, start, stop = _obligation(rng, phase, frequency, as_of, summary)
                data.agreement_items.append(
                    (
                        item_id,
                        agreement_id,
                        cid,
                        consumer,
                        "字段完整率不低于 99%",
                        "全量及增量",
                        own.value if own else None,
                        "用于政务服务事项办理",
                        "库表交换",
                        due,
                    )
                )
                data.items.append(
                    _Item(
                        cid,
                        consumer,
                        pid,
                        code,
                        ccode,
                        code_of[consumer],
                        frequency,
                        due,
                        behaviour,
                        start,
                        stop,
                    )
                )
    summary.projects_by_phase = dict(sorted(by_phase.items()))
    return data


def _obligation(
    rng: random.Random, phase: Phase, frequency: Frequency, as_of: date, summary: NationalSummary
) -> tuple[date, str, date, date]:
    """(due, behaviour, first delivery day, last delivery day) of one agreement item."""
    if phase is Phase.OPERATION:
        past = rng.random() < 0.95
    elif phase is Phase.CONSTRUCTION:
        past = rng.random() < 0.35
    elif phase in (Phase.ACCEPTANCE_REVIEW, Phase.RECTIFICATION, Phase.RETIRED):
        past = rng.random() < 0.9
    else:
        past = False
    if past:
        due = _rand_day(rng, date(2024, 1, 1), as_of - timedelta(days=1))
    else:
        due = _rand_day(rng, as_of + timedelta(days=1), as_of + timedelta(days=400))
    start = max(YEAR_START, due - timedelta(days=rng.randint(0, 30)))
    if phase not in SWEPT_PHASES and phase is not Phase.RETIRED:
        return due, "pending", start, start
    if phase is Phase.RETIRED:
        return due, "retired", start, _rand_day(rng, YEAR_START, as_of - timedelta(days=60))
    if not past:
        # not due yet: some deliver early (construction testing the interface), most have not started
        if rng.random() < 0.3:
            start = _rand_day(rng, YEAR_START, as_of)
            return due, "regular", start, as_of
        return due, "pending", start, start
    if rng.random() < P_NEVER:
        summary.designed_never += 1
        return due, "never", start, start
    if phase is Phase.OPERATION and rng.random() < P_STOPPED:
        summary.designed_stopped += 1
        gap = FREQUENCY_DAYS[frequency]
        stop = as_of - timedelta(days=gap + rng.randint(1, 45))
        return due, "stopped", min(start, stop), stop
    # on schedule up to as_of (daily ones half the time only up to the day before: the export lags)
    end = as_of - timedelta(days=rng.randint(0, 1)) if PERIOD_DAYS[frequency] == 1 else as_of
    return due, "regular", start, end


# ---------------------------------------------------------------------------------------------- evidence


def _deliveries(rng: random.Random, item: _Item) -> Iterator[tuple[int, int]]:
    """(day index from 1 January, records) of one item's deliveries, in day order."""
    if item.behaviour in ("never", "pending") or item.start > item.end:
        return
    period = PERIOD_DAYS[item.frequency]
    first = (item.start - YEAR_START).days
    last = (item.end - YEAR_START).days
    if period > 1:
        first += rng.randint(0, min(period - 1, max(0, last - first)))  # a phase within the first period
    scale = 10 ** rng.uniform(1.0, 4.5)
    random_ = rng.random
    for day in range(first, last + 1, period):
        yield day, (0 if random_() < P_ZERO else int(scale * (0.5 + random_())) + 1)


class _Evidence:
    """Streams the rows up to the cut to the database; keeps the later ones for the import file."""

    def __init__(
        self, rng: random.Random, items: Sequence[_Item], cut_index: int, days: Sequence[str]
    ) -> None:
        self.rng, self.items, self.cut_index, self.days = rng, items, cut_index, days
        self.written = 0
        #: (day index, position of the item, item, records) after the cut
        self.late: list[tuple[int, int, _Item, int]] = []

    def early(self) -> Iterator[tuple[int, int, int, int, str, int]]:
        """(id, project, item, consumer, day, records), in (item, consumer, day) order: the unique index's."""
        days, cut, late = self.days, self.cut_index, self.late
        n = 0
        for pos, item in enumerate(self.items):
            for day, records in _deliveries(self.rng, item):
                if day <= cut:
                    n += 1
                    yield n, item.project_id, item.catalog_item_id, item.consumer_id, days[day], records
                else:
                    late.append((day, pos, item, records))
        self.written = n


_CATALOG_COLUMNS = (
    "id",
    "project_id",
    "code",
    "name",
    "provider_id",
    "category",
    "share_type",
    "method",
    "update_frequency",
    "secrecy",
    "legal_basis",
    "all_departments",
    "fields",
    "format",
    "interface",
    "processing",
    "traceability",
)
_AGREEMENT_ITEM_COLUMNS = (
    "id",
    "agreement_id",
    "catalog_item_id",
    "consumer_id",
    "quality",
    "quantity",
    "update_frequency",
    "scope",
    "usage",
    "due",
)


def _write_import_file(
    rng: random.Random, late: list[tuple[int, int, _Item, int]], days: Sequence[str], path: Path
) -> tuple[int, int]:
    """The exchange platform's export of the late days: per item, consumer and day a few batch rows whose
    records add up to the day's total; in day order, as the platform writes it. Returns (rows, records)."""
    late.sort(key=lambda r: (r[0], r[1]))
    rows = records_total = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("project", "catalog", "consumer", "date", "records"))
        for day, _, item, records in late:
            lo, hi = BATCHES[item.frequency]
            k = rng.randint(lo, hi) if records > 0 else 1
            cuts = sorted(rng.randint(0, records) for _ in range(k - 1))
            parts = [b - a for a, b in zip([0, *cuts], [*cuts, records], strict=True)]
            iso = days[day]
            for part in parts:
                w.writerow((item.project, item.catalog, item.consumer, iso, part))
            rows += len(parts)
            records_total += records
    return rows, records_total


# ---------------------------------------------------------------------------------------------- writing


class _Writer(Protocol):
    def rows(self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]) -> int: ...

    def execute(self, sql: str) -> None: ...

    def finish(self) -> None: ...


class _SqliteWriter:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN")

    def rows(self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]) -> int:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cur = self.conn.executemany(sql, (tuple(_sqlite_value(v) for v in row) for row in values))
        return cur.rowcount

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def finish(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):  # SQLAlchemy's SQLite DATETIME text, UTC without zone (govflow.models.types)
        return v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


class _PgWriter:
    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(libpq_uri(url))
        try:
            self.conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        except psycopg.Error:
            self.conn.rollback()
        self.tables: list[str] = []

    def rows(self, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]) -> int:
        n = 0
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
                n += 1
        self.tables.append(table)
        return n

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def finish(self) -> None:
        with self.conn.cursor() as cur:
            for table in dict.fromkeys(self.tables):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1)) FROM {table}"
                    if table not in ("project_department", "agreement_party", "catalog_authorization")
                    else "SELECT 1"
                )
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("ANALYZE")
        self.conn.close()


def _writer(db: Database) -> _Writer:
    return _SqliteWriter(db.name) if db.backend == "sqlite" else _PgWriter(db.url)


# ---------------------------------------------------------------------------------------------- main entry


def generate(
    db: Database,
    csv_dir: Path,
    *,
    scale: float = 1.0,
    as_of: date = AS_OF,
    seed: int = 733,
    import_days: int = IMPORT_DAYS,
) -> NationalSummary:
    """Fill the migrated, empty database ``db`` and write the import file into ``csv_dir`` (if not there yet)."""
    started = time.perf_counter()
    cut = as_of - timedelta(days=import_days)
    summary = NationalSummary(scale, seed, as_of.isoformat(), cut.isoformat())
    rng = random.Random(seed)
    data = _structure(rng, shape(scale), as_of, summary)
    summary.departments = len(data.departments)
    summary.projects = len(data.projects)
    summary.swept_projects = sum(1 for p in data.projects if Phase(p[5]) in SWEPT_PHASES)
    summary.catalog_items = len(data.catalog_items)
    summary.agreements = len(data.agreements)
    summary.agreement_items = len(data.agreement_items)

    days = [(YEAR_START + timedelta(days=i)).isoformat() for i in range(366)]
    w = _writer(db)
    w.rows("department", ("id", "code", "name", "region", "level"), data.departments)
    w.rows("app_user", ("id", "name", "display_name", "role", "department_id", "active"), data.users)
    w.rows(
        "project",
        (
            "id",
            "code",
            "name",
            "lead_department_id",
            "om_budget",
            "phase",
            "version",
            "created_at",
            "last_event_at",
        ),
        data.projects,
    )
    w.rows("project_department", ("project_id", "department_id"), data.project_departments)
    w.rows("catalog_item", _CATALOG_COLUMNS, data.catalog_items)
    w.rows("catalog_authorization", ("catalog_item_id", "department_id"), data.catalog_authorizations)
    w.rows(
        "agreement",
        ("id", "project_id", "code", "form", "signed_on", "term_start", "term_end", "basis"),
        data.agreements,
    )
    w.rows("agreement_party", ("agreement_id", "department_id"), data.agreement_parties)
    w.rows("agreement_item", _AGREEMENT_ITEM_COLUMNS, data.agreement_items)
    evidence = _Evidence(random.Random(seed + 1), data.items, (cut - YEAR_START).days, days)
    w.rows(
        "delivery_evidence",
        ("id", "project_id", "catalog_item_id", "consumer_id", "day", "records"),
        evidence.early(),
    )
    w.execute(deliveries.DERIVE_SQL)  # what every evidence write keeps (govflow.models.deliveries)
    for statement in tally.DERIVE_SQL:  # what the triggers on project keep (govflow.models.tally)
        w.execute(statement)
    summary.evidence_rows = evidence.written
    summary.import_keys = len(evidence.late)
    summary.evidence_rows_total = evidence.written + len(evidence.late)
    path = (
        csv_dir
        / f"exchange-export-{(cut + timedelta(days=1)).isoformat()}-{as_of.isoformat()}-s{scale:g}.csv"
    )
    summary.import_file = str(path)
    # drawn with their own RNG: the same file whichever backend is generated first
    summary.import_rows, summary.import_records = _write_import_file(
        random.Random(seed + 2), evidence.late, days, path
    )
    w.finish()
    summary.seconds = time.perf_counter() - started
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    from govflow.lifecycle import services
    from govflow.lifecycle.services import App
    from govflow.models.db import make_engine
    from govflow.settings import Settings

    ap = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.splitlines()[0])
    ap.add_argument("--db-url", required=True, help="an empty database (it is migrated first)")
    ap.add_argument("--csv-dir", type=Path, required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=733)
    ap.add_argument("--as-of", type=date.fromisoformat, default=AS_OF)
    args = ap.parse_args(argv)
    app = App(Settings(database_url=args.db_url), make_engine(args.db_url))
    services.init_db(app)
    app.engine.dispose()
    url = app.settings.database_url
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    name = url.split("///", 1)[1] if backend == "sqlite" else url.rsplit("/", 1)[1]
    summary = generate(
        Database(backend, url, name), args.csv_dir, scale=args.scale, as_of=args.as_of, seed=args.seed
    )
    print(json.dumps(asdict(summary), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
