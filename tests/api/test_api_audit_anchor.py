"""The API's ``GET /api/v1/audit/verify`` and the audit page's chain frame hold the chain to the anchors outside the
database too (one function, :func:`govflow.governance.anchoring.verify`, behind every surface), on SQLite and
PostgreSQL: intact and anchored, then cut at the end with the head reset by raw SQL."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from govflow.access import auth
from govflow.api import ApiSettings
from govflow.demo import demo_portfolio
from govflow.governance import anchoring
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.web.site import create_site

from .support import NOW

PASSWORD = "Audit-Anchor!2026x"


def test_the_api_and_the_audit_page_hold_the_chain_to_the_anchors(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = ApiSettings(
        database_url=db_url,
        anchor_file=tmp_path / "anchors.jsonl",
        anchor_key=SecretStr(secrets.token_hex(32)),
    )
    gov = App(settings, engine, clock=lambda: NOW)
    services.load_portfolio(gov, demo_portfolio(), None)
    made = anchoring.write(gov)
    auth.set_password(gov, None, "zheng", PASSWORD)  # audit
    with TestClient(create_site(settings, app=gov)) as c:
        c.post("/web/login", data={"name": "zheng", "password": PASSWORD}, follow_redirects=False)
        body = c.get("/api/v1/audit/verify").json()
        assert (body["ok"], body["anchors"], body["anchor_seq"]) == (True, 1, made.seq) and made.seq > 2
        assert body["checked"] > made.seq  # setting the password and signing in came after the anchor
        page = c.get("/web/audit/chain").text
        assert "审计链完整" in page and "与数据库之外的锚点相符，锚点数：1" in page

        with engine.begin() as conn:  # the attack: cut the last two events and reset the head
            keep = made.seq - 2
            last = conn.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": keep}).scalar_one()
            conn.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": keep})
            conn.execute(
                text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": keep, "h": last}
            )

        body = c.get("/api/v1/audit/verify", headers={"Accept-Language": "en"}).json()
        assert body["ok"] is False and body["first_bad_seq"] == keep + 1
        assert f"the chain holds {keep} events" in body["problem"] and "deleted" in body["problem"]
        page = c.get("/web/audit/chain").text
        assert "审计链异常" in page and f"审计链只有 {keep} 条事件" in page
