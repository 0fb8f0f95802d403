"""Test helper: the exchange platform delivers what a rectification order was issued for.

A program office can verify an order only once the obligation it was issued for is met (733号文 第十一条: the
sweep's judgement on the day, :func:`govflow.governance.rectification.unrectified`), so a test that walks an order
to ``closed`` first has the platform deliver — through the evidence import, as the platform's export arrives.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select

from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import Finding, RectificationOrder


def deliver_for(app: App, order_code: str, day: date, records: int = 100) -> None:
    """Import ``records`` delivered on ``day`` for the catalog item and consumer of ``order_code``'s finding."""
    fi, ro = t(Finding), t(RectificationOrder)
    q = select(fi.c.evidence).join(ro, ro.c.finding_id == fi.c.id).where(ro.c.code == order_code)
    with unit_of_work(app.engine, write=False) as s:
        ev = s.execute(q).scalar_one()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"exchange-{order_code}-{day.isoformat()}.csv"
        path.write_text(
            "project,catalog,consumer,date,records\n"
            f"{ev['project']},{ev['catalog']},{ev['consumer']},{day.isoformat()},{records}\n",
            encoding="utf-8",
        )
        services.import_evidence(app, path, None, replace=True)
