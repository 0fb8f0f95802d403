"""Defaults of governance policy that the lifecycle core needs (the full policy file comes with the flows)."""

from __future__ import annotations

#: 限期整改: working days between the notice and the deadline of a rectification order (SPEC §4.2)
RECTIFICATION_WORKDAYS = 20
