"""Sharing data as the domain sees it (SPEC §3): vocabularies and plain, immutable facts about a project.

The persistence layer turns rows into these facts; guards and rules reason over them without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from govflow.states.vocabulary import Word, words


class Level(Word):
    CENTRAL = "central"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    COUNTY = "county"


words(
    Level,
    {
        Level.CENTRAL: ("中央", "central"),
        Level.PROVINCIAL: ("省级", "provincial"),
        Level.MUNICIPAL: ("市级", "municipal"),
        Level.COUNTY: ("县级", "county"),
    },
)


class Category(Word):
    BASIC = "basic"  # 基础信息
    BUSINESS = "business"  # 业务信息
    TRACE = "trace"  # 痕迹信息
    STATUS = "status"  # 状态信息
    POLICY = "policy"  # 政策规范


words(
    Category,
    {
        Category.BASIC: ("基础信息", "basic"),
        Category.BUSINESS: ("业务信息", "business"),
        Category.TRACE: ("痕迹信息", "trace"),
        Category.STATUS: ("状态信息", "status"),
        Category.POLICY: ("政策规范", "policy"),
    },
)


class ShareType(Word):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


words(
    ShareType,
    {
        ShareType.UNCONDITIONAL: ("无条件共享", "unconditional"),
        ShareType.CONDITIONAL: ("有条件共享", "conditional"),
        ShareType.NONE: ("不予共享", "not shared"),
    },
)


class Method(Word):
    QUERY = "query"
    EXCHANGE = "exchange"
    PUBLISH = "publish"


words(
    Method,
    {
        Method.QUERY: ("查询", "query"),
        Method.EXCHANGE: ("交换", "exchange"),
        Method.PUBLISH: ("发布", "publish"),
    },
)


class Frequency(Word):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


words(
    Frequency,
    {
        Frequency.REALTIME: ("实时", "real time"),
        Frequency.DAILY: ("每日", "daily"),
        Frequency.WEEKLY: ("每周", "weekly"),
        Frequency.MONTHLY: ("每月", "monthly"),
        Frequency.QUARTERLY: ("每季度", "quarterly"),
        Frequency.YEARLY: ("每年", "yearly"),
    },
)


#: The longest gap in days between deliveries that a frequency tolerates (used by the sweep).
FREQUENCY_DAYS: dict[Frequency, int] = {
    Frequency.REALTIME: 1,
    Frequency.DAILY: 1,
    Frequency.WEEKLY: 7,
    Frequency.MONTHLY: 31,
    Frequency.QUARTERLY: 92,
    Frequency.YEARLY: 366,
}


class Secrecy(Word):
    PUBLIC = "public"
    INTERNAL = "internal"
    SECRET = "secret"  # 国家秘密 (第二条第三款)


words(
    Secrecy,
    {
        Secrecy.PUBLIC: ("公开", "public"),
        Secrecy.INTERNAL: ("内部", "internal"),
        Secrecy.SECRET: ("涉密", "secret"),
    },
)


class AgreementForm(Word):
    AGREEMENT = "agreement"  # 信息共享协定
    JOINT_DOCUMENT = "joint_document"  # 联合发文


words(
    AgreementForm,
    {
        AgreementForm.AGREEMENT: ("信息共享协定", "sharing agreement"),
        AgreementForm.JOINT_DOCUMENT: ("联合发文", "joint document"),
    },
)


class OpinionVerdict(Word):
    AGREE = "agree"
    AGREE_WITH_CHANGES = "agree_with_changes"
    UNMET_NEEDS = "unmet_needs"


VERDICT_LABELS = words(
    OpinionVerdict,
    {
        OpinionVerdict.AGREE: ("同意", "agree"),
        OpinionVerdict.AGREE_WITH_CHANGES: ("修改后同意", "agree with changes"),
        OpinionVerdict.UNMET_NEEDS: ("需求未满足", "unmet needs"),
    },
)


class FocusPoint(Word):
    """The five focus points of a review (第十条第一款)."""

    AGREEMENT = "agreement"  # 信息共享协定
    CATALOG = "catalog"  # 共享信息目录
    INFRASTRUCTURE = "infrastructure"  # 信息共享基础设施利用
    AGGREGATION = "aggregation"  # 部门信息资源汇聚
    TECHNICAL = "technical"  # 信息共享技术条件


FOCUS_LABELS = words(
    FocusPoint,
    {
        FocusPoint.AGREEMENT: ("信息共享协定", "sharing agreements"),
        FocusPoint.CATALOG: ("共享信息目录", "sharing catalog"),
        FocusPoint.INFRASTRUCTURE: ("信息共享基础设施利用", "use of sharing infrastructure"),
        FocusPoint.AGGREGATION: ("部门信息资源汇聚", "aggregation of departmental information"),
        FocusPoint.TECHNICAL: ("信息共享技术条件", "technical conditions for sharing"),
    },
)


class Judgment(Word):
    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"


words(
    Judgment,
    {
        Judgment.MET: ("满足", "met"),
        Judgment.PARTLY: ("部分满足", "partly met"),
        Judgment.NOT_MET: ("不满足", "not met"),
    },
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class CatalogFact:
    code: str
    name: str
    provider: str
    category: Category
    share_type: ShareType
    method: Method
    update_frequency: Frequency
    secrecy: Secrecy
    legal_basis: str | None = None
    all_departments: bool = False
    authorized: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    format: str | None = None
    interface: str | None = None
    processing: str | None = None
    traceability: str | None = None


@dataclass(frozen=True)
class AgreementItemFact:
    catalog: str
    consumer: str
    quality: str | None
    quantity: str | None
    update_frequency: Frequency | None
    scope: str | None
    usage: str | None
    due: date | None
    #: the catalog item's update frequency, which an agreement item naming none follows
    catalog_frequency: Frequency | None = None
    #: the due date as agreed when it fell on a day off; ``due`` is then the next working day (民法典 第二百零三条)
    stated_due: date | None = None

    @property
    def frequency(self) -> Frequency:
        """The agreed update frequency: the item's own, else its catalog item's (daily when neither is known)."""
        return self.update_frequency or self.catalog_frequency or Frequency.DAILY


@dataclass(frozen=True)
class AgreementFact:
    code: str
    form: AgreementForm
    parties: tuple[str, ...]
    signed_on: date | None
    term_start: date | None
    term_end: date | None
    basis: str | None
    items: tuple[AgreementItemFact, ...] = ()
    #: the day a terminated agreement ended (its items are no obligation after it)
    terminated_on: date | None = None

    def in_force(self, on: date) -> bool:
        """Not terminated before ``on`` (an expired agreement's items still count: 第八条)."""
        return self.terminated_on is None or self.terminated_on >= on


@dataclass(frozen=True)
class NeedsFact:
    internal: str | None = None
    external: str | None = None
    central_local: str | None = None


@dataclass(frozen=True)
class UnmetNeed:
    """A sharing need a related department says the project does not meet; ``catalog`` names the item if known."""

    name: str
    catalog: str | None = None


@dataclass(frozen=True)
class OpinionCondition:
    """A change an ``agree_with_changes`` opinion asks for, and the lead department's answer (第九条)."""

    text: str
    answer: str | None = None


@dataclass(frozen=True)
class OpinionFact:
    department: str
    on: date
    verdict: OpinionVerdict
    unmet_needs: tuple[UnmetNeed, ...] = ()
    conditions: tuple[OpinionCondition, ...] = ()


@dataclass(frozen=True)
class ReviewFact:
    stage: str
    agency: str
    on: date
    judgments: dict[FocusPoint, Judgment] = field(default_factory=dict)
    conclusion: str | None = None
    #: the review's comment on a focus point, where it gave one
    comments: dict[FocusPoint, str] = field(default_factory=dict)
    #: the conclusion is against approval
    against: bool = False


@dataclass(frozen=True)
class ProjectFacts:
    """Everything the lifecycle guards need to know about one project, read in one snapshot."""

    code: str
    name: str
    lead_department: str
    departments: tuple[str, ...] = ()
    catalog: tuple[CatalogFact, ...] = ()
    agreements: tuple[AgreementFact, ...] = ()
    needs: NeedsFact | None = None
    opinions: tuple[OpinionFact, ...] = ()
    reviews: tuple[ReviewFact, ...] = ()
    #: (catalog code, consumer department) -> the last day up to the decision date with records > 0
    last_delivery: dict[tuple[str, str], date] = field(default_factory=dict)
    #: (catalog code, consumer department) -> the records delivered on that last day (第八条 数量)
    last_records: dict[tuple[str, str], int] = field(default_factory=dict)
    open_findings: tuple[str, ...] = ()
    #: department code -> name, for messages people read
    names: dict[str, str] = field(default_factory=dict)

    def dept(self, code: str) -> str:
        """A department as people read it: its name with the credit code, or the code alone."""
        name = self.names.get(code)
        return f"{name}（{code}）" if name else code
