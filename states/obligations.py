"""The one obligation evaluator (SPEC §2 pass_acceptance, §4.1 sweep, §4.3 cuts): is an agreement item kept?

An *obligation* is one agreement item: a catalog item promised to a consumer department by a 实现进度 date
(``due``) and to be kept up at an update frequency (第八条). A due date that falls on a day off is the next
working day (《中华人民共和国民法典》第二百零三条): ``due`` here is always that effective day
(``agreement_item.due_effective``, set from the working-day calendar), the agreed one is kept beside it. Its status on a day X, from the deliveries recorded
for that catalog item and consumer:

``NOT_DUE``  未到实现进度
    nothing delivered yet, and the item names no due date or X is on or before it (the due day itself is
    still in time).
``DELIVERED``  已按时交付
    L — the last day on or before X with a delivery of **more than zero records** (a delivery of 0 records is
    not a delivery) — is at most ``FREQUENCY_DAYS[f]`` days before X. A delivery before the due date counts.
``MISSED``  到期未实现共享 (``MILESTONE_MISSED``, 第十一条; 第八条 实现进度)
    the due date lies before X and there is no such L.
``STALE``  未按更新频度持续共享 (``DELIVERY_STALE``, 第十一条; 第八条 更新频度)
    ``X - L > FREQUENCY_DAYS[f]`` days: sharing that started — or had to start — is not kept up (also when it
    started before its due date: once delivered, an item is kept up at its frequency).
``AGREEMENT_EXPIRED``  共享协定已到期 (第八条 共享期限)
    the agreement's term ended before X. An expired agreement does not end the duty to share: the verdict keeps
    the item's delivery status beside it (:attr:`ObligationVerdict.delivery`), and coverage counts it.

f is the agreement item's update frequency, or the catalog item's when the agreement item names none.

Which status becomes a *finding* depends on the project's phase (SPEC §4.1, :func:`finding_rules`):
``MILESTONE_MISSED`` in every swept phase, ``DELIVERY_STALE`` in operation only; ``AGREEMENT_EXPIRED`` is judged
per agreement (:func:`agreement_expired`). Acceptance (第十一条) requires every in-force item ``DELIVERED``.

Coverage (:func:`coverage`): the items in force — past their due date or already delivered, i.e. every status
but ``NOT_DUE`` — are *due*; coverage = the ``DELIVERED`` ones ÷ the due ones, an exact Decimal; nothing due is
coverage 1 (100 %). So every item the evaluator judges broken (``MISSED``, ``STALE``) counts against coverage,
and nothing else does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import NamedTuple

from govflow.states.findings import Rule
from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.sharing import FREQUENCY_DAYS, Frequency


class ObligationStatus(StrEnum):
    NOT_DUE = "not_due"
    DELIVERED = "delivered"
    MISSED = "missed"
    STALE = "stale"
    AGREEMENT_EXPIRED = "agreement_expired"

    @property
    def rule(self) -> Rule | None:
        """The finding rule a broken obligation is found under (none for a kept or not yet due one)."""
        return _STATUS_RULES.get(self)

    @property
    def clause(self) -> str | None:
        rule = self.rule
        return rule.clause if rule is not None else None

    @property
    def zh(self) -> str:
        return _STATUS_LABELS[self][0]

    @property
    def en(self) -> str:
        return _STATUS_LABELS[self][1]

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


_STATUS_RULES = {
    ObligationStatus.MISSED: Rule.MILESTONE_MISSED,
    ObligationStatus.STALE: Rule.DELIVERY_STALE,
    ObligationStatus.AGREEMENT_EXPIRED: Rule.AGREEMENT_EXPIRED,
}
_STATUS_LABELS: dict[ObligationStatus, tuple[str, str]] = {
    ObligationStatus.NOT_DUE: ("未到实现进度", "not yet due"),
    ObligationStatus.DELIVERED: ("已按时交付", "delivered"),
    ObligationStatus.MISSED: ("到期未实现共享", "due, not delivered"),
    ObligationStatus.STALE: ("未按更新频度持续共享", "not kept up at its frequency"),
    ObligationStatus.AGREEMENT_EXPIRED: ("共享协定已到期", "agreement expired"),
}


class Obligation(NamedTuple):
    """One agreement item × consumer as the evaluator needs it.

    ``last_delivery`` is the last day on or before the judged day with records > 0 (see :func:`last_delivery`
    to compute it from raw (day, records) rows; SQL usually pre-aggregates it).
    """

    due: date | None
    frequency: Frequency
    last_delivery: date | None = None
    term_end: date | None = None


def last_delivery(deliveries: Iterable[tuple[date, int]], on: date) -> date | None:
    """The last day on or before ``on`` with more than zero records, from (day, records) rows."""
    return max((d for d, records in deliveries if d <= on and records > 0), default=None)


_STATED = re.compile(r"(\d[\d,，]*(?:\.\d+)?)\s*(万)?\s*条")


def stated_records(quantity: str | None) -> int | None:
    """The number of records an agreement item's 数量 (第八条) states, when it states one: 「每日全量10000条」 →
    10000, 「每月约2万条」 → 20000, 「每月全量」 → None. Each delivery at the item's frequency is to bring it."""
    m = _STATED.search(quantity or "")
    if m is None:
        return None
    number = Decimal(m.group(1).replace(",", "").replace("，", ""))
    return int(number * 10000) if m.group(2) else int(number)


def agreement_expired(term_end: date | None, on: date) -> bool:
    """第八条 共享期限: the term ended before ``on`` (its last day is still within it)."""
    return term_end is not None and term_end < on


class ObligationVerdict(NamedTuple):
    """What :func:`evaluate` decided for one obligation on ``on``."""

    delivery: ObligationStatus  # NOT_DUE, DELIVERED, MISSED or STALE
    expired: bool
    on: date
    due: date | None
    frequency: Frequency
    last_delivery: date | None
    term_end: date | None

    @property
    def status(self) -> ObligationStatus:
        """The headline status: ``AGREEMENT_EXPIRED`` when the term ended, else the delivery status."""
        return ObligationStatus.AGREEMENT_EXPIRED if self.expired else self.delivery

    @property
    def in_force(self) -> bool:
        """Counted as due in coverage: past its due date or already delivered."""
        return self.delivery is not ObligationStatus.NOT_DUE

    @property
    def covered(self) -> bool:
        return self.delivery is ObligationStatus.DELIVERED

    @property
    def max_gap_days(self) -> int:
        return FREQUENCY_DAYS[self.frequency]

    @property
    def days_since_last(self) -> int | None:
        return None if self.last_delivery is None else (self.on - self.last_delivery).days

    @property
    def since(self) -> date | None:
        """The first day the delivery status is broken (``None`` when it is not)."""
        if self.delivery is ObligationStatus.MISSED and self.due is not None:
            return self.due + timedelta(days=1)
        if self.delivery is ObligationStatus.STALE and self.last_delivery is not None:
            return self.last_delivery + timedelta(days=self.max_gap_days + 1)
        return None


def evaluate(ob: Obligation, on: date) -> ObligationVerdict:
    """The verdict on one obligation on ``on`` (see the module docstring for the rules)."""
    last = ob.last_delivery if ob.last_delivery is not None and ob.last_delivery <= on else None
    if last is not None:
        stale = (on - last).days > FREQUENCY_DAYS[ob.frequency]
        delivery = ObligationStatus.STALE if stale else ObligationStatus.DELIVERED
    elif ob.due is not None and ob.due < on:
        delivery = ObligationStatus.MISSED
    else:
        delivery = ObligationStatus.NOT_DUE
    expired = ob.term_end is not None and ob.term_end < on  # agreement_expired, inlined: a run judges many
    return ObligationVerdict(delivery, expired, on, ob.due, ob.frequency, last, ob.term_end)


def finding_rules(verdict: ObligationVerdict, phase: Phase) -> tuple[Rule, ...]:
    """The item findings the sweep opens for ``verdict`` of a project in ``phase`` (SPEC §4.1):
    ``MILESTONE_MISSED`` in any swept phase, ``DELIVERY_STALE`` in operation only. The agreement's own
    ``AGREEMENT_EXPIRED`` is one finding per agreement, not per item."""
    if phase not in SWEPT_PHASES:
        return ()
    if verdict.delivery is ObligationStatus.MISSED:
        return (Rule.MILESTONE_MISSED,)
    if verdict.delivery is ObligationStatus.STALE and phase is Phase.OPERATION:
        return (Rule.DELIVERY_STALE,)
    return ()


@dataclass(frozen=True)
class Coverage:
    """Sharing coverage: of the ``due`` (in-force) obligations, ``delivered`` are kept."""

    due: int = 0
    delivered: int = 0

    @property
    def value(self) -> Decimal:
        """delivered ÷ due, exact; 1 when nothing is due."""
        return Decimal(self.delivered) / Decimal(self.due) if self.due else Decimal(1)

    @property
    def percent(self) -> Decimal:
        return self.value * 100

    def text(self) -> str:
        """The value rounded *down* to four places, so a value just below a threshold never prints as it."""
        return str(self.value.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))

    def __add__(self, other: Coverage) -> Coverage:
        return Coverage(self.due + other.due, self.delivered + other.delivered)


def coverage(verdicts: Iterable[ObligationVerdict]) -> Coverage:
    """Coverage of a set of obligations (a project's, a department's)."""
    due = delivered = 0
    for v in verdicts:
        if v.in_force:
            due += 1
            delivered += v.covered
    return Coverage(due, delivered)
