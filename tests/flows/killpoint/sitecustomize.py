"""A kill point for the crash-safety tests, loaded by a govflow subprocess through ``PYTHONPATH``.

With ``GOVFLOW_TEST_KILL_AT=<flow>`` the process SIGKILLs itself right after it has claimed (committed) the run row
of ``<flow>``, before the flow's body runs: "killed as its <flow> begins", at the same point every time. Watching the
database from the test and killing from outside raced the run: on a fast or loaded machine the run could finish
between the poll and the kill. The product has no such switch; this file exists only on the tests' path.
"""

from __future__ import annotations

import os
import signal

_KILL_AT = os.environ.get("GOVFLOW_TEST_KILL_AT")

if _KILL_AT:
    from datetime import date

    from govflow.governance import flowruns
    from govflow.lifecycle.services import App

    _claim = flowruns._claim

    def _claim_then_die(app: App, flow: str, as_of: date | None, prefect_flow_run_id: str | None) -> int:
        run_id = _claim(app, flow, as_of, prefect_flow_run_id)
        if flow == _KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return run_id

    flowruns._claim = _claim_then_die
