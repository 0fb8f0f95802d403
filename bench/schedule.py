"""The 10 lifecycle events that take a project from draft to retired, interleaved across the portfolio."""

from __future__ import annotations

from typing import NamedTuple

from bench.generate import Portfolio
from govflow.states.permissions import Role
from govflow.states.phases import Event

#: (event, acted by the lead department's user?) — otherwise by the program office
LIFECYCLE: tuple[tuple[Event, bool], ...] = (
    (Event.SUBMIT_PROPOSAL, True),
    (Event.INTAKE, False),
    (Event.APPROVE, False),
    (Event.SUBMIT_FEASIBILITY, True),
    (Event.APPROVE, False),
    (Event.SUBMIT_DESIGN, True),
    (Event.APPROVE, False),
    (Event.REQUEST_ACCEPTANCE, True),
    (Event.PASS_ACCEPTANCE, False),
    (Event.RETIRE, False),
)


class Step(NamedTuple):
    project: str
    event: Event
    actor: str
    role: Role


def schedule(portfolio: Portfolio, cohorts: int = 10) -> list[Step]:
    """Every project's 10 events, round-robin by step with staggered starts.

    Project *i* belongs to cohort ``i % cohorts`` and starts ``cohort`` ticks late; at each tick every project
    takes its next step. So the stream mixes all event types at all times (as a program office's day does)
    instead of replaying one project, or one event type, at a time; each project's own events stay in order.
    """
    keyed: list[tuple[int, int, Step]] = []
    for i, code in enumerate(portfolio.codes):
        start = i % cohorts
        for n, (event, by_department) in enumerate(LIFECYCLE):
            if by_department:
                step = Step(code, event, portfolio.lead_user[code], Role.DEPARTMENT)
            else:
                step = Step(code, event, portfolio.program_office, Role.PROGRAM_OFFICE)
            keyed.append((start + n, i, step))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [s for _, _, s in keyed]
