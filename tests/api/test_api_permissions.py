"""The whole role × endpoint table, generated from one list of (method, path, action) and
:data:`states.permissions.TABLE`: every denial is a 403 naming the action (and is audited), every permission
gets past the check. A new route under /api/v1 fails :func:`test_every_route_is_walked` until it is listed here.

A department user acts through the demo user whose department the action's scope needs on ZJ-2026-001
(``li`` leads it; ``zhao``'s department is a related one), so that a denial here is the role's, not the scope's;
the department scope itself is walked in ``test_api_projects.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from govflow.api import ApiSettings, create_app
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent
from govflow.states.permissions import TABLE, Role, Scope
from govflow.states.phases import Event

from .support import BIGDATA, SAMR, As

DATA = Path(__file__).resolve().parents[1] / "data"
CODE = "ZJ-2026-001"
TARGET_USER = "xu"  # the user whose password and token the user endpoints change (never an actor here)
ORDER = "RO-ZJ-2026-001-01"  # opened by a failed acceptance of ZJ-2026-001 (:func:`open_order`)

#: one representative user per role; department users by the scope the action needs
ACTOR: dict[Role, str] = {
    Role.PROGRAM_OFFICE: "wang",
    Role.REVIEW_AGENCY: "pingshen",
    Role.FINANCE: "qian",
    Role.AUDIT: "zheng",
    Role.ADMIN: "admin",
}
DEPARTMENT_ACTOR: dict[Scope | None, str] = {
    Scope.LEAD: "li",
    Scope.PARTICIPANT: "li",
    Scope.ALL: "li",
    Scope.RELATED: "zhao",
    None: "li",
}


def _csv(name: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"file": (name, (DATA / name).read_bytes(), "text/csv")}


def _agreements() -> dict[str, Any]:
    return {"file": ("agreements.json", json.dumps({"agreements": []}).encode(), "application/json")}


def _evidence() -> dict[str, Any]:
    body = f"project,catalog,consumer,date,records\n{CODE},C-001,{BIGDATA},2026-11-20,10\n"
    return {"file": ("evidence.csv", body.encode(), "text/csv")}


def _portfolio() -> dict[str, Any]:
    return {"file": ("portfolio.json", json.dumps({"departments": []}).encode(), "application/json")}


@dataclass(frozen=True)
class Call:
    method: str
    route: str
    action: str
    body: dict[str, Any] | None = None
    files: Callable[[], dict[str, Any]] | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.route.format(
            code=CODE, name=TARGET_USER, order=ORDER, agreement="A-001", department=SAMR, item="C-005"
        )

    def __str__(self) -> str:
        return f"{self.method} {self.route} [{self.action}]"


P = "/api/v1/projects/{code}"
R = "/api/v1/orders/{order}"
WALK = "走查 / walk"
REVIEW = {"stage": "proposal", "judgments": {fp: {"judgment": "met"} for fp in ("agreement", "catalog")}}
CALLS: list[Call] = [
    Call("GET", "/api/v1/projects", "project.list"),
    Call("GET", P, "project.read"),
    Call("GET", P + "/history", "project.history"),
    Call("GET", P + "/precheck", "project.read"),
    Call("GET", P + "/catalog", "project.read"),
    Call("GET", P + "/agreements", "project.read"),
    Call("GET", P + "/opinions", "project.read"),
    Call("GET", P + "/reviews", "project.read"),
    Call("POST", P + "/reviews", "review.record", body=REVIEW),
    Call("POST", P + "/opinions", "opinion.record", body={"department": SAMR, "verdict": "agree"}),
    Call("POST", P + "/catalog", "catalog.import", files=_csv("catalog.csv")),
    # issue 10: agreements over time, conditions answered, a provider's scope (C-005 is li's department's own)
    Call("POST", P + "/agreements/{agreement}/renew", "project.edit", body={"until": "2030-12-31"}),
    Call("GET", P + "/agreements/{agreement}/versions", "project.read"),
    Call("POST", P + "/agreements/amend", "project.edit", files=_agreements),
    Call("POST", P + "/agreements", "project.edit", files=_agreements),
    Call("POST", P + "/agreements/{agreement}/terminate", "agreement.terminate", body={"reason": WALK}),
    Call("POST", P + "/opinions/{department}/answers", "project.edit", body={"condition": 1, "answer": WALK}),
    Call("PUT", P + "/catalog/{item}/authorization", "catalog.authorize", body={"all": True, "reason": WALK}),
    Call("POST", "/api/v1/evidence", "evidence.import", files=_evidence),
    Call("POST", "/api/v1/portfolio", "portfolio.load", files=_portfolio),
    Call("GET", "/api/v1/audit/events", "audit.read"),
    Call("GET", "/api/v1/audit/verify", "audit.verify"),
    Call("GET", "/api/v1/users", "user.admin"),
    Call("POST", "/api/v1/users", "user.admin", body={"name": "newcomer", "role": "finance"}),
    Call("PUT", "/api/v1/users/{name}/password", "user.admin", body={"password": "Xu-2026-Zhejiang!"}),
    Call("POST", "/api/v1/users/{name}/token", "user.admin"),
    Call("DELETE", "/api/v1/users/{name}/token", "user.admin"),
    # deactivated, then active again at once: TARGET_USER is never an actor, but later calls may name it
    Call("POST", "/api/v1/users/{name}/deactivate", "user.admin", body={"reason": WALK}),
    Call("POST", "/api/v1/users/{name}/activate", "user.admin", body={"reason": WALK}),
    Call("POST", "/api/v1/users/{name}/sessions/end", "user.admin"),
    Call("GET", "/api/v1/flow-runs", "flow.read"),
    Call("GET", "/api/v1/policy", "policy.read"),
    Call("GET", "/api/v1/findings", "finding.read"),
    Call("GET", "/api/v1/orders", "order.read"),
    Call("GET", R, "order.read"),
    # in this order each permitted call is accepted: open → evidence_submitted → closed (reject: 422) → open
    Call("POST", R + "/evidence", "order.evidence", body={"note": WALK}),
    Call("POST", R + "/verify", "order.verify", body={"note": WALK}),
    Call("POST", R + "/reject", "order.verify", body={"reason": WALK}),
    Call("POST", R + "/reopen", "order.reopen", body={"reason": WALK}),
    Call("POST", R + "/extend", "order.extend", body={"reason": WALK, "workdays": 1}),
    Call("GET", "/api/v1/cuts", "cuts.read", params={"period": "2026"}),
    Call(
        "POST",
        "/api/v1/cuts/{code}/decision",
        "cuts.decide",
        body={"period": "2026", "accept": False, "reason": "走查 / walk"},
    ),
    Call("GET", "/api/v1/reports/overdue", "report.overdue", params={"as_of": "2026-11-26"}),
    Call("GET", "/api/v1/reports/cuts", "report.cuts", params={"period": "2026"}),
    Call("GET", "/api/v1/reports/portfolio", "report.portfolio", params={"as_of": "2026-11-26"}),
    *[
        Call("POST", P + "/events", f"event.{e.value}", body={"event": e.value, "reason": "走查 / walk"})
        for e in Event
    ],
]


def actor_for(role: Role, action: str) -> str:
    if role is Role.DEPARTMENT:
        return DEPARTMENT_ACTOR[TABLE[action].get(role)]
    return ACTOR[role]


def send(client: TestClient, call: Call, headers: dict[str, str]) -> Any:
    return client.request(
        call.method,
        call.url,
        headers=headers,
        json=call.body,
        files=call.files() if call.files else None,
        params=call.params,
    )


def denials(gov: App) -> list[tuple[str, str]]:
    ae = t(AuditEvent)
    q = select(ae.c.actor, ae.c.action).where(ae.c.kind == "security", ae.c.outcome == "denied")
    with unit_of_work(gov.engine, write=False) as s:
        return [(str(a), str(b)) for a, b in s.execute(q.order_by(ae.c.seq))]


def open_order(gov: App) -> None:
    """ZJ-2026-001 through its lifecycle to a failed acceptance, which opens :data:`ORDER` (限期整改, 第十一条)."""
    for event, actor in [
        (Event.SUBMIT_PROPOSAL, "li"),
        (Event.INTAKE, "wang"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_FEASIBILITY, "li"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_DESIGN, "li"),
        (Event.APPROVE, "wang"),
        (Event.REQUEST_ACCEPTANCE, "li"),
        (Event.FAIL_ACCEPTANCE, "wang"),
    ]:
        res = services.fire_event(gov, CODE, event, actor, reason=WALK)
        assert res.accepted, event
    assert res.order == ORDER


def test_each_role_is_denied_or_permitted_as_the_table_says(client: TestClient, gov: App, as_: As) -> None:
    """One database per backend for the whole walk: every check precedes the state it would change, so the
    order of the calls cannot turn a denial into a permission or back."""
    open_order(gov)
    wrong: list[str] = []
    expected_denials: list[tuple[str, str]] = []
    for call in CALLS:
        assert call.action in TABLE, f"{call.action} is not in the permission table"
        for role in Role:
            user = actor_for(role, call.action)
            r = send(client, call, as_(user))
            body = r.json() if r.content else {}
            if role in TABLE[call.action]:
                if r.status_code in (401, 403) or r.status_code >= 500:
                    wrong.append(
                        f"{call}: {role.value} ({user}) should pass the check: {r.status_code} {body}"
                    )
                continue
            expected_denials.append((user, call.action))
            reason = (body.get("reasons") or [{}])[0]
            if (
                r.status_code != 403
                or body.get("error") != "PERMISSION_DENIED"
                or reason.get("code") != "PERMISSION_DENIED"
                or reason.get("detail", {}).get("action") != call.action
                or reason.get("clause") != "govflow 权限表"
            ):
                wrong.append(f"{call}: {role.value} ({user}) should be denied: {r.status_code} {body}")
    assert not wrong, "\n".join(wrong)
    assert len(expected_denials) > 100
    assert denials(gov) == expected_denials, "every denial is a security event in the audit trail"


def test_every_route_is_walked() -> None:
    """Every operation the OpenAPI document publishes under /api/v1 is in the walk, and nothing else."""
    api = create_app(ApiSettings(database_url="sqlite://"))
    published = {
        (method.upper(), path)
        for path, ops in api.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in ops
    }
    walked = {(c.method, c.route) for c in CALLS}
    assert published - walked == set(), "routes missing from the permission walk"
    assert walked - published == set(), "walked routes that do not exist"


def test_audit_reads_and_changes_nothing() -> None:
    """Audit (审计监察) reads everything and may not change anything (SPEC §1)."""
    changes = [c for c in CALLS if c.method != "GET"]
    assert changes and not [c for c in changes if Role.AUDIT in TABLE[c.action]]
    reads = [c for c in CALLS if c.method == "GET" and not c.action.startswith("user.")]
    assert [c for c in reads if Role.AUDIT not in TABLE[c.action]] == []


def test_every_signed_in_role_may_ask_who_it_is(client: TestClient, as_: As) -> None:
    for role in Role:
        r = client.get("/api/auth/me", headers=as_(actor_for(role, "project.read")))
        assert r.status_code == 200 and r.json()["role"] == role.value and r.json()["via"] == "token"
