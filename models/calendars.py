"""Calendar years imported into the database: read by every process (CLI, API, web, Prefect workers) alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, Row, Select, select
from sqlalchemy.exc import DBAPIError

from govflow.models.db import read_intent
from govflow.models.facts import t
from govflow.models.tables import CalendarYear
from govflow.states.calendar import YearData

CAL = t(CalendarYear)

#: what identifies the stored years' content: ``(year, digest)`` of each, changing with every import
Stamp = tuple[tuple[int, str], ...]


def _rows(engine: Engine, statement: Select[Any]) -> Sequence[Row[Any]]:
    """Rows of ``statement``; none where the table is not there (a database not initialised yet: the calendar
    still answers from the packaged data, as ``govflow calendar add-workdays`` must on a fresh machine)."""
    try:
        with read_intent(), engine.connect() as conn:
            return conn.execute(statement).all()
    except DBAPIError:
        return ()


def calendar_stamp(engine: Engine) -> Stamp:
    return tuple((int(r.year), str(r.digest)) for r in _rows(engine, select(CAL.c.year, CAL.c.digest)))


def stored_years(engine: Engine) -> list[YearData]:
    return [
        YearData(
            int(r.year),
            tuple(date.fromisoformat(d) for d in r.holidays),
            tuple(date.fromisoformat(d) for d in r.workdays),
            str(r.source),
        )
        for r in _rows(engine, select(CAL).order_by(CAL.c.year))
    ]
