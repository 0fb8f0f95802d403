"""The answer of a list command: the rows as JSON for machines, or one table for people."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from govflow.cli.common import State, emit_json, table


def listing(
    st: State,
    as_json: bool,
    data: Any,
    title: tuple[str, str],
    columns: Sequence[tuple[str, str]],
    rows: Callable[[], list[list[Any]]],
) -> None:
    """``data`` as JSON, or a table of ``rows()`` under the zh / English ``title`` and ``columns``."""
    if as_json:
        emit_json(data)
        return
    table(st.tr(*title), [st.tr(*c) for c in columns], rows())
