"""The dry run of a project's next events (预检): what each event the lifecycle allows from the project's phase
would answer now, judged exactly as :func:`govflow.lifecycle.events.fire_event` judges it — the same refusals
before judging, the same facts, the same state machine and guards — and nothing written, nothing audited.

Every surface asks this one function: the department's pre-check before it submits, the action buttons of the
project page (disabled, with the reasons next to them), the API's ``GET /api/projects/{code}/precheck`` and
``govflow project check``. An event whose materials are judged by the event after it (a proposal is judged at
intake, which the program office fires) carries that event's verdict too, judged from the phase it would
reach: so a department sees what intake would refuse before it submits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from govflow.lifecycle.core import App, _project_row, authorize, business_date, get_actor, use_case
from govflow.lifecycle.events import _refused_before_judging, judge
from govflow.models.db import unit_of_work
from govflow.models.facts import PARTS, load_facts, related_departments
from govflow.reads import secrecy
from govflow.states.guards import GuardContext, review_objections
from govflow.states.lifecycle import events_from, transition_for
from govflow.states.permissions import TABLE, Role, decide, event_action
from govflow.states.phases import Event, Phase
from govflow.states.verdict import Reason

#: events that need a reason a person types: the form asks for it, so the dry run does not count its absence
NEEDS_REASON = frozenset({Event.REFUSE, Event.WITHDRAW, Event.FAIL_ACCEPTANCE})
#: events that are never "the next step" of a project (exits, not progress)
EXITS = frozenset({Event.REFUSE, Event.WITHDRAW, Event.FAIL_ACCEPTANCE, Event.RETIRE})
#: an event whose materials the next event judges: intake judges the proposal that submit_proposal sends
JUDGED_BY: dict[Event, Event] = {Event.SUBMIT_PROPOSAL: Event.INTAKE}


@dataclass(frozen=True)
class Check:
    """What ``event`` would answer now if ``actor`` fired it (nothing is fired)."""

    event: Event
    source: Phase
    #: where an accepted event takes the project
    target: Phase
    #: why the permission table or the department scope refuses this actor (None: it may fire it)
    denial: Reason | None
    #: who may fire it (the permission table's roles)
    roles: tuple[Role, ...]
    #: what the lifecycle and the event's guard would refuse, as the actor may read it (第二条第三款)
    reasons: tuple[Reason, ...]
    #: the refusals an override reason may set aside (approve against the review, 第十条第一款)
    overridable: bool = False
    #: the event that judges what this one sends, judged from ``target`` (intake after submit_proposal)
    then: Check | None = None
    #: where a refusal takes the project (a refused intake returns the proposal to draft, 不予受理): such a
    #: refusal is an outcome the office may choose, so its button stays live and says where the project goes
    returns_to: Phase | None = None

    @property
    def permitted(self) -> bool:
        return self.denial is None

    @property
    def refused(self) -> bool:
        """Pressing the button would be refused (permission or guard) to no effect, an override aside; a refusal
        that moves the project (``returns_to``) is not: pressing it is how the office returns the proposal."""
        return not self.permitted or (bool(self.reasons) and not self.overridable and self.returns_to is None)

    @property
    def returns(self) -> bool:
        """Pressing the button now would be refused and move the project to ``returns_to``."""
        return self.permitted and bool(self.reasons) and self.returns_to is not None

    @property
    def ready(self) -> bool:
        """Nothing would be refused, neither this event nor the one that judges what it sends."""
        return not self.reasons and (self.then is None or self.then.ready)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "event": self.event.value,
            "label": self.event.label(lang),
            "from": self.source.value,
            "to": self.target.value,
            "permitted": self.permitted,
            "denial": self.denial.to_dict(lang) if self.denial else None,
            "roles": [r.value for r in self.roles],
            "ready": self.ready,
            "refused": self.refused,
            "overridable": self.overridable,
            "returns_to": self.returns_to.value if self.returns and self.returns_to else None,
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "then": self.then.to_dict(lang) if self.then else None,
        }


@use_case
def dry_run(app: App, code: str, actor_name: str | None, *, on: date | None = None) -> list[Check]:
    """Each event the lifecycle allows from the project's phase, judged now for ``actor_name``, in table order.

    A pure read: one read-only unit of work, no phase written, no audit record (a refused dry run is no refused
    event). The actor must be allowed to read the project (a department only its own and related ones)."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        now = app.clock()
        day = on or business_date(now)
        participants = frozenset(related_departments(s, int(p["id"])))
        seen = secrecy.visibility(s, actor, project_ids=[int(p["id"])])  # no secret item named to the actor

        def check(ev: Event, source: Phase, *, follow: bool) -> Check:
            t = transition_for(ev, source)
            assert t is not None  # events_from and JUDGED_BY only name events with a transition
            denial = decide(
                actor.role,
                event_action(ev),
                user=actor.name,
                user_department=actor.department,
                lead=p["lead_code"],
                participants=participants,
            )
            reasons, overridable = _verdict(s, p, ev, source, day, now)
            after = JUDGED_BY.get(ev) if follow else None
            return Check(
                ev,
                source,
                Phase(t.dest),
                denial,
                tuple(TABLE.get(event_action(ev), {})),
                seen.reasons(reasons, code),
                overridable,
                check(after, Phase(t.dest), follow=False) if after is not None else None,
                t.on_refusal,
            )

        source = Phase(p["phase"])
        return [check(ev, source, follow=True) for ev in events_from(source)]


def _verdict(s: Session, p: Any, ev: Event, source: Phase, day: date, now: Any) -> tuple[list[Reason], bool]:
    """The reasons ``fire_event`` would refuse ``ev`` from ``source`` for now, and whether an override reason
    could set all of them aside."""
    early = _refused_before_judging(ev, source, now, now, p["last_event_at"])
    if early is not None:
        return list(early.reasons), False
    facts = load_facts(s, p, p["lead_code"], PARTS.get(ev, frozenset()), day)
    outcome = judge(facts, GuardContext(ev, source, day))
    reasons = [r for r in outcome.reasons if not (ev in NEEDS_REASON and r.code == "REASON_REQUIRED")]
    if ev is not Event.APPROVE or not reasons:
        return reasons, False
    objections = {(r.code, r.message) for r in review_objections(facts, source)}
    return reasons, bool(objections) and all((r.code, r.message) in objections for r in reasons)
