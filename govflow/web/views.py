"""What the pages draw from read models: the pipeline board's columns, phase counts and inline SVG charts."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from html import escape
from typing import Any

from govflow.states.phases import Phase

#: the main line of the lifecycle, in order, then the side phases: the columns of the pipeline board
BOARD_PHASES: tuple[Phase, ...] = tuple(Phase)
#: shown on the board only when some project is in them
SIDE_PHASES = frozenset({Phase.RETIRED, Phase.RECTIFICATION, Phase.REJECTED, Phase.WITHDRAWN})


def phase_counts(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(r["phase"]) for r in rows)


def bar_chart(
    bars: list[tuple[str, float, str]], *, title: str, unit: str = "", max_value: float | None = None
) -> str:
    """A horizontal bar chart as inline SVG (no script, no external resources): ``(label, value, shown)``."""
    row, label_w, bar_w, pad = 26, 190, 360, 8
    top = max((v for _, v, _ in bars), default=0.0)
    top = max(max_value or top, 1e-9)
    height = pad * 2 + row * max(len(bars), 1) + 24
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {label_w + bar_w + 80} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if not bars:
        parts.append('<text x="0" y="44" class="chart-empty">—</text>')
    for i, (label, value, shown) in enumerate(bars):
        y = 24 + pad + i * row
        w = 0.0 if top <= 0 else bar_w * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="chart-label">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{row - 8}" class="bar"/>'
            f'<text x="{label_w + max(w, 1.5) + 6:.1f}" y="{y + 15}" class="chart-value">'
            f"{escape(shown)}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def overdue_over_time(
    spans: list[tuple[date | None, date | None]], today: date, weeks: int = 12
) -> list[tuple[date, int]]:
    """Orders overdue at the end of each of the last ``weeks`` weeks (ending ``today``), from each order's
    ``(overdue_since, closed_on)``: overdue from the first day until the day it was closed."""
    days = [today - timedelta(weeks=w) for w in range(weeks - 1, -1, -1)]
    return [
        (
            d,
            sum(
                1
                for since, closed in spans
                if since is not None and since <= d and (closed is None or closed > d)
            ),
        )
        for d in days
    ]
