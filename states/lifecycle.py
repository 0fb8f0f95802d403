"""The lifecycle table and the `transitions` machine that runs it (SPEC §2).

The table is the single source: the machine, the permission table's event rows and ``govflow diagram`` are
all generated from :data:`TRANSITIONS`. The machine drives a :class:`ProjectState` wrapper, never a row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from transitions import EventData, Machine

from govflow.states.errors import RuleRefused
from govflow.states.guards import GuardContext, guard_for
from govflow.states.phases import Event, Phase
from govflow.states.sharing import ProjectFacts
from govflow.states.verdict import Reason, Verdict


@dataclass(frozen=True)
class Transition:
    event: Event
    source: Phase
    dest: Phase
    #: where the project goes when the guard refuses (a refused intake returns the proposal to draft)
    on_refusal: Phase | None = None


_BEFORE_OPERATION = (
    Phase.DRAFT,
    Phase.PROPOSAL_SUBMITTED,
    Phase.PROPOSAL_REVIEW,
    Phase.PROPOSAL_APPROVED,
    Phase.FEASIBILITY_REVIEW,
    Phase.FEASIBILITY_APPROVED,
    Phase.DESIGN_REVIEW,
    Phase.CONSTRUCTION,
    Phase.ACCEPTANCE_REVIEW,
    Phase.RECTIFICATION,
    Phase.REJECTED,
)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Event.SUBMIT_PROPOSAL, Phase.DRAFT, Phase.PROPOSAL_SUBMITTED),
    Transition(Event.INTAKE, Phase.PROPOSAL_SUBMITTED, Phase.PROPOSAL_REVIEW, on_refusal=Phase.DRAFT),
    Transition(Event.APPROVE, Phase.PROPOSAL_REVIEW, Phase.PROPOSAL_APPROVED),
    Transition(Event.APPROVE, Phase.FEASIBILITY_REVIEW, Phase.FEASIBILITY_APPROVED),
    Transition(Event.APPROVE, Phase.DESIGN_REVIEW, Phase.CONSTRUCTION),
    # ``refuse`` ends the approval reviews; acceptance has its own refusal (不予通过验收 → 限期整改, 第十一条).
    Transition(Event.REFUSE, Phase.PROPOSAL_REVIEW, Phase.REJECTED),
    Transition(Event.REFUSE, Phase.FEASIBILITY_REVIEW, Phase.REJECTED),
    Transition(Event.REFUSE, Phase.DESIGN_REVIEW, Phase.REJECTED),
    Transition(Event.SUBMIT_FEASIBILITY, Phase.PROPOSAL_APPROVED, Phase.FEASIBILITY_REVIEW),
    Transition(Event.SUBMIT_DESIGN, Phase.FEASIBILITY_APPROVED, Phase.DESIGN_REVIEW),
    Transition(Event.REQUEST_ACCEPTANCE, Phase.CONSTRUCTION, Phase.ACCEPTANCE_REVIEW),
    Transition(Event.REQUEST_ACCEPTANCE, Phase.RECTIFICATION, Phase.ACCEPTANCE_REVIEW),
    Transition(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, Phase.OPERATION),
    Transition(Event.FAIL_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, Phase.RECTIFICATION),
    Transition(Event.REVISE, Phase.REJECTED, Phase.DRAFT),
    *(Transition(Event.WITHDRAW, p, Phase.WITHDRAWN) for p in _BEFORE_OPERATION),
    Transition(Event.RETIRE, Phase.OPERATION, Phase.RETIRED),
)

_BY_KEY: dict[tuple[Event, Phase], Transition] = {(t.event, t.source): t for t in TRANSITIONS}


def transition_for(event: Event, source: Phase) -> Transition | None:
    return _BY_KEY.get((event, source))


def events_from(source: Phase) -> list[Event]:
    """The events the table allows from ``source``, in table order."""
    seen: list[Event] = []
    for t in TRANSITIONS:
        if t.source is source and t.event not in seen:
            seen.append(t.event)
    return seen


class ProjectState:
    """The model the machine drives: ``state`` reads and writes the phase through the accessors it is bound to.

    ``transitions`` sets attributes and trigger methods on its model, which pydantic (SQLModel) rows refuse,
    so the row is wrapped; the accessors are the only code that writes a phase. Building a machine costs
    ~0.2 ms, so each thread keeps one machine and one wrapper and rebinds the wrapper per event.
    """

    def __init__(self) -> None:
        self._get: Callable[[], str] = lambda: Phase.DRAFT.value
        self._set: Callable[[str], None] = lambda value: None
        self.facts = ProjectFacts(code="", name="", lead_department="")
        self.ctx = GuardContext(Event.SUBMIT_PROPOSAL, Phase.DRAFT, date.min)
        self.verdict = Verdict()

    def bind(
        self,
        get_phase: Callable[[], str],
        set_phase: Callable[[str], None],
        facts: ProjectFacts,
        ctx: GuardContext,
    ) -> None:
        self._get, self._set, self.facts, self.ctx, self.verdict = get_phase, set_phase, facts, ctx, Verdict()

    @property
    def state(self) -> str:
        return self._get()

    @state.setter
    def state(self, value: str) -> None:
        self._set(value)

    def check_guard(self, event: EventData) -> bool:
        self.verdict = guard_for(self.ctx.event)(self.facts, self.ctx)
        return self.verdict.ok


def _machine_transitions() -> list[dict[str, Any]]:
    return [
        {
            "trigger": t.event.value,
            "source": t.source.value,
            "dest": t.dest.value,
            "conditions": "check_guard",
        }
        for t in TRANSITIONS
    ]


def new_machine(model: ProjectState) -> Machine:
    return Machine(
        model=model,
        states=[p.value for p in Phase],
        transitions=_machine_transitions(),
        initial=model.state,
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
    )


class _Local(threading.local):
    def __init__(self) -> None:
        self.model = ProjectState()
        self.machine = new_machine(self.model)


_local = _Local()


@dataclass(frozen=True)
class Outcome:
    """What firing an event did: accepted (phase moved to ``dest``) or refused with reasons."""

    event: Event
    source: Phase
    dest: Phase
    accepted: bool
    reasons: tuple[Reason, ...] = ()


def invalid_event(event: Event, source: Phase) -> RuleRefused:
    allowed = events_from(source)
    listing = "、".join(f"{e.value}（{e.zh}）" for e in allowed) or "无"
    listing_en = ", ".join(e.value for e in allowed) or "none"
    return RuleRefused(
        [
            Reason(
                "EVENT_NOT_ALLOWED",
                "govflow 生命周期",
                f"项目当前阶段为「{source.zh}」，不能执行「{event.zh}」（{event.value}）；可执行：{listing}",
                f"the project is in '{source.en}'; '{event.value}' is not possible from there; possible: {listing_en}",
                detail={"phase": source.value, "event": event.value, "allowed": [e.value for e in allowed]},
            )
        ]
    )


def fire(
    get_phase: Callable[[], str], set_phase: Callable[[str], None], facts: ProjectFacts, ctx: GuardContext
) -> Outcome:
    """Run ``ctx.event`` through the machine on the phase behind the accessors.

    Raises :class:`RuleRefused` for an event the table does not allow from the current phase. A guard's
    refusal is an :class:`Outcome`, not an error, because it is recorded (and a refused intake moves the
    project back to draft).
    """
    source = Phase(get_phase())
    t = transition_for(ctx.event, source)
    if t is None:
        raise invalid_event(ctx.event, source)
    model, machine = _local.model, _local.machine
    model.bind(get_phase, set_phase, facts, ctx)
    accepted = bool(machine.events[ctx.event.value].trigger(model))
    reasons = model.verdict.reasons
    model.bind(model._get, model._set, ProjectFacts(code="", name="", lead_department=""), ctx)
    if accepted:
        return Outcome(ctx.event, source, Phase(get_phase()), True)
    if t.on_refusal is not None:
        set_phase(t.on_refusal.value)
    return Outcome(ctx.event, source, t.on_refusal or source, False, reasons)


def mermaid(lang: str = "zh") -> str:
    """The machine as a Mermaid state diagram, generated from the same table it runs on."""
    lines = ["stateDiagram-v2"]
    for p in Phase:
        lines.append(f'    state "{p.label(lang)} ({p.value})" as {p.value}')
    lines.append(f"    [*] --> {Phase.DRAFT.value}")
    for t in TRANSITIONS:
        guard = " [guard]" if guard_name(t.event) else ""
        lines.append(f"    {t.source.value} --> {t.dest.value}: {t.event.value} {t.event.label(lang)}{guard}")
        if t.on_refusal is not None:
            refused = "refused" if lang == "en" else "不予受理"
            lines.append(f"    {t.source.value} --> {t.on_refusal.value}: {t.event.value} {refused}")
    lines.append(f"    {Phase.RETIRED.value} --> [*]")
    lines.append(f"    {Phase.WITHDRAWN.value} --> [*]")
    return "\n".join(lines) + "\n"


def guard_name(event: Event) -> str | None:
    g = guard_for(event)
    return None if g.__name__ == "no_guard" else g.__name__
