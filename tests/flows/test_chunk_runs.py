"""Distributed runs without a Prefect server (issue 13 item 1): the chunks of a run handed to a launcher, worked
by whoever takes them, resubmitted when the process working one is gone — and the end state is the one of a
run in a single process. ``test_workers.py`` does the same on a real Prefect server with two workers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from govflow.governance import chunkruns, scheduling
from govflow.governance.chunkruns import ChunkFailed, ChunkRow
from govflow.governance.flowruns import recorded_run
from govflow.lifecycle.services import App
from govflow.settings import Settings

if TYPE_CHECKING:  # fixtures come from conftest.py; only their types are imported
    from tests.flows.conftest import Look

AS_OF = date(2026, 11, 26)


def dead_holder() -> str:
    """``host:pid:start`` of a process of this host that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return f"{socket.gethostname()}:{int(done.stdout)}:1"


class Inline:
    """A launcher that works each chunk at once in this process, as a worker would; ``die`` names chunks
    (by first project id) whose first submission dies after taking the chunk, or fails."""

    def __init__(self, settings: Settings, *, die: Sequence[int] = (), fail: Sequence[int] = ()) -> None:
        self.settings, self.die, self.fail = settings, set(die), set(fail)
        self.submitted: list[tuple[int, int]] = []
        self.crashes: list[str] = []
        self._states: dict[str, str] = {}

    def submit(self, chunk: ChunkRow, attempt: int) -> str:
        run = f"fr-{chunk.first_id}-{attempt}"
        self.submitted.append((chunk.first_id, attempt))
        if chunk.first_id in self.fail:
            self._states[run] = "FAILED"
        elif chunk.first_id in self.die and attempt == 1:
            app = App.from_settings(self.settings)
            try:  # took the chunk, then its worker was killed: the row stays running, its holder gone
                chunkruns.claim(app, chunk.run_id, chunk.first_id, dead_holder(), "w-dead", run)
            finally:
                app.engine.dispose()
            self._states[run] = "RUNNING"
        else:
            chunkruns.work(
                self.settings, chunk.run_id, chunk.first_id, worker="w-inline", prefect_flow_run_id=run
            )
            self._states[run] = "COMPLETED"
        return run

    def states(self, flow_run_ids: Sequence[str]) -> Mapping[str, str]:
        return {i: self._states[i] for i in flow_run_ids}

    def crashed(self, flow_run_id: str, message: str) -> None:
        self.crashes.append(flow_run_id)
        self._states[flow_run_id] = "CRASHED"


def distributed(settings: Settings, flow: str, launcher: Inline) -> tuple[dict[str, Any], list[ChunkRow]]:
    """A run of ``flow`` as the flow runs it with ``GOVFLOW_FLOW_CHUNK_RUNS=deployment``."""
    chunks = [c for c in scheduling.chunk_plan(settings, flow) if c is not None]
    with scheduling.open_app(settings) as app, recorded_run(app, flow, AS_OF) as stats:
        parts = chunkruns.drive(settings, stats.run_id, flow, AS_OF, chunks, launcher, parallel=2)
        result = scheduling.merge(flow, AS_OF, parts)
        stats.update(result)
    with scheduling.open_app(settings) as app:
        return result, chunkruns.read(app, stats.run_id)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunkruns, "POLL_SECONDS", 0.01)


def test_chunks_worked_elsewhere_add_up_to_the_single_process_run(
    portfolio_url: str, clone: Callable[[str], str], look: Look
) -> None:
    twin = clone(portfolio_url)
    settings = Settings(database_url=portfolio_url, flow_chunk_size=1)
    launcher = Inline(settings)
    results = {flow: distributed(settings, flow, launcher)[0] for flow in ("sweep", "deadlines", "cuts")}
    whole = Settings(database_url=twin, flow_chunk_size=1)
    assert results == {flow: scheduling.run_direct(whole, flow, AS_OF) for flow in results}
    assert look.snapshot(portfolio_url) == look.snapshot(twin)
    assert results["sweep"]["chunks"] > 1 and launcher.crashes == []


def test_a_chunk_whose_worker_died_is_resubmitted_and_the_state_is_the_same(
    portfolio_url: str, clone: Callable[[str], str], look: Look
) -> None:
    twin = clone(portfolio_url)
    settings = Settings(database_url=portfolio_url, flow_chunk_size=1)
    first_ids = [c[0] for c in scheduling.chunk_plan(settings, "sweep") if c is not None]
    victim = first_ids[1]
    launcher = Inline(settings, die=[victim])
    result, chunks = distributed(settings, "sweep", launcher)

    assert result == scheduling.run_direct(Settings(database_url=twin, flow_chunk_size=1), "sweep", AS_OF)
    assert look.snapshot(portfolio_url) == look.snapshot(twin)
    assert launcher.crashes == [f"fr-{victim}-1"]  # its Prefect flow run is marked crashed
    assert (victim, 2) in launcher.submitted
    by_first = {c.first_id: c for c in chunks}
    assert by_first[victim].attempts == 2 and by_first[victim].worker == "w-inline"
    assert {c.status for c in chunks} == {"completed"}


def test_a_failed_chunk_fails_the_run(portfolio_url: str, look: Look) -> None:
    settings = Settings(database_url=portfolio_url, flow_chunk_size=1)
    first = next(c[0] for c in scheduling.chunk_plan(settings, "sweep") if c is not None)
    with pytest.raises(ChunkFailed) as failed:
        distributed(settings, "sweep", Inline(settings, fail=[first]))
    assert failed.value.text("en").startswith(f"chunk sweep {AS_OF} {first}–")
    assert f"fr-{first}-1" in failed.value.text("zh")
    assert [r["status"] for r in look.flow_runs(portfolio_url)] == ["failed"]


def test_a_chunk_is_worked_once_and_not_after_its_run_ended(portfolio_url: str) -> None:
    settings = Settings(database_url=portfolio_url, flow_chunk_size=1)
    launcher = Inline(settings)
    _, chunks = distributed(settings, "sweep", launcher)
    done = chunks[0]
    # the run is over: a late flow run of one of its chunks does nothing
    assert chunkruns.work(settings, done.run_id, done.first_id) is None
