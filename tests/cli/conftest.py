"""Fixtures of the CLI tests: ``cli`` (the in-process harness of :mod:`.harness` on ``db_url``, SQLite and
PostgreSQL) and ``nodb`` (for commands that never touch the database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Cli, make_cli


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    runner = make_cli(db_url, monkeypatch)
    yield runner
    runner.close()


@pytest.fixture
def nodb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """For commands that never touch the database (help, schema, diagram, calendar)."""
    runner = make_cli(f"sqlite:///{tmp_path / 'unused.db'}", monkeypatch)
    yield runner
    runner.close()
