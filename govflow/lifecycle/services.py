"""The service layer: one use case, one unit of work. CLI, flows, API and web call these and nothing lower.

Every function takes plain values (codes, names, dates), resolves the acting user, checks the permission
table (deny by default) and writes its audit event in the same transaction as its change. This module is the
index of the lifecycle's use cases; they live by concern in :mod:`.core` (the application, the acting user,
permissions, set-up), :mod:`.events` (the state machine's events), :mod:`govflow.reads.projects` (reading projects) and
:mod:`.materials` (reviews, opinions, catalog, agreements, needs, imports).
"""

from __future__ import annotations

from govflow.lifecycle.core import (
    BEIJING,
    OPERATOR,
    Actor,
    App,
    _project_row,
    add_user,
    authorize,
    bump_version,
    business_date,
    department_names,
    get_actor,
    init_db,
    record_change,
    use_case,
    verify_audit,
)
from govflow.lifecycle.events import EventResult, _notify_decision, fire_event
from govflow.lifecycle.materials import (
    add_agreement,
    add_agreements,
    add_catalog_item,
    answer_condition,
    import_catalog,
    import_evidence,
    load_portfolio,
    record_opinion,
    record_review,
    set_needs_analysis,
)
from govflow.lifecycle.precheck import Check, dry_run
from govflow.reads.projects import (
    ProjectView,
    list_projects,
    page_projects,
    project_history,
    show_project,
)

__all__ = [
    "BEIJING",
    "OPERATOR",
    "Actor",
    "App",
    "Check",
    "EventResult",
    "ProjectView",
    "_notify_decision",
    "_project_row",
    "add_agreement",
    "add_agreements",
    "add_catalog_item",
    "add_user",
    "answer_condition",
    "authorize",
    "bump_version",
    "business_date",
    "department_names",
    "dry_run",
    "fire_event",
    "get_actor",
    "import_catalog",
    "import_evidence",
    "init_db",
    "list_projects",
    "load_portfolio",
    "page_projects",
    "project_history",
    "record_change",
    "record_opinion",
    "record_review",
    "set_needs_analysis",
    "show_project",
    "use_case",
    "verify_audit",
]
