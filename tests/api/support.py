"""Names and helpers the API tests share."""

from __future__ import annotations

from datetime import UTC, datetime

#: the demo portfolio's "today": 2026-11-26 10:00 in Beijing
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

NDRC = "11330000GF00000014"  # 浙江省发展和改革委员会 (wang: program office; xu: department)
BIGDATA = "11330000GF00000027"  # 浙江省大数据发展管理局 (li)
SAMR = "11330000GF0000003A"  # 浙江省市场监督管理局 (zhao)
POLICE = "11330000GF0000004D"  # 浙江省公安厅 (zhou)
HRSS = "11330000GF0000005G"  # 浙江省人力资源和社会保障厅 (chen)
LAND = "11330000GF0000006K"  # 浙江省自然资源厅 (lin)

DEMO_USERS = ("wang", "li", "zhao", "zhou", "chen", "lin", "xu", "pingshen", "qian", "zheng", "admin")


class As:
    """Headers for a demo user: ``as_("li")`` or ``as_("li", lang="en")``."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def __call__(self, name: str, *, lang: str | None = None, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[name]}", **extra}
        if lang:
            h["Accept-Language"] = lang
        return h
