"""Wall-clock and CPU time of a block, and how busy the machine was.

This bench runs on small shared machines: other processes steal cores and make wall-clock rates noisy. The
process's CPU time is much steadier, and on SQLite (in process) it covers the database's own work too, so
both are recorded; on PostgreSQL the server's CPU is not in it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Timing:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Timing]:
    """``with stopwatch() as t:`` … afterwards ``t.wall`` and ``t.cpu`` hold the block's seconds."""
    timing = Timing()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall, timing.cpu = time.perf_counter() - wall, time.process_time() - cpu


def load_average() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
