"""The role × action table, walked whole: deny by default, scopes for department users."""

from __future__ import annotations

import pytest

from govflow.states.lifecycle import TRANSITIONS
from govflow.states.permissions import TABLE, Role, Scope, decide, event_action

LEAD, OTHER, STRANGER = "LEAD", "OTHER", "STRANGER"
EXPECTED_EVENT_ROLES = {
    "submit_proposal": {Role.DEPARTMENT},
    "intake": {Role.PROGRAM_OFFICE},
    "approve": {Role.PROGRAM_OFFICE},
    "refuse": {Role.PROGRAM_OFFICE},
    "submit_feasibility": {Role.DEPARTMENT},
    "submit_design": {Role.DEPARTMENT},
    "request_acceptance": {Role.DEPARTMENT},
    "pass_acceptance": {Role.PROGRAM_OFFICE},
    "fail_acceptance": {Role.PROGRAM_OFFICE},
    "revise": {Role.DEPARTMENT},
    "withdraw": {Role.DEPARTMENT, Role.PROGRAM_OFFICE},
    "retire": {Role.PROGRAM_OFFICE},
}


@pytest.mark.parametrize("action", [*sorted(TABLE), "no.such.action"])
@pytest.mark.parametrize("role", list(Role))
def test_every_cell_of_the_table(role: Role, action: str) -> None:
    """Allowed exactly where the table says so (for a user of a department in scope), denied elsewhere."""
    dept = OTHER if TABLE.get(action, {}).get(role) is Scope.RELATED else LEAD
    verdict = decide(
        role, action, user="u", user_department=dept, lead=LEAD, participants=frozenset({LEAD, OTHER})
    )
    if role in TABLE.get(action, {}):
        assert verdict is None
    else:
        assert verdict is not None and verdict.code == "PERMISSION_DENIED"
        assert verdict.detail == {"action": action, "role": role.value}


def test_event_rows_follow_the_spec_who_column() -> None:
    for event in {t.event for t in TRANSITIONS}:
        assert set(TABLE[event_action(event)]) == EXPECTED_EVENT_ROLES[event.value], event


def test_audit_changes_nothing_and_finance_fires_no_event() -> None:
    for action, roles in TABLE.items():
        if Role.AUDIT in roles:
            assert action.endswith((".read", ".list", ".history", ".verify")) or action.startswith(
                "report."
            ), action
        if action.startswith("event."):
            assert Role.FINANCE not in roles and Role.AUDIT not in roles and Role.ADMIN not in roles


@pytest.mark.parametrize(
    ("action", "dept", "allowed"),
    [
        ("event.submit_proposal", LEAD, True),
        ("event.submit_proposal", OTHER, False),  # a participant cannot submit for the lead
        ("project.read", OTHER, True),
        ("project.read", STRANGER, False),
        ("opinion.record", OTHER, True),
        ("opinion.record", LEAD, False),  # the lead does not give itself an opinion
        ("opinion.record", STRANGER, False),
    ],
)
def test_department_scope(action: str, dept: str, allowed: bool) -> None:
    verdict = decide(
        Role.DEPARTMENT, action, user="li", user_department=dept, lead=LEAD, participants=frozenset({OTHER})
    )
    assert (verdict is None) is allowed
    if not allowed:
        assert verdict is not None and verdict.code == "OUT_OF_DEPARTMENT"
        assert "li" in verdict.message


def test_program_office_scope_is_all() -> None:
    assert TABLE["event.intake"][Role.PROGRAM_OFFICE] is Scope.ALL
