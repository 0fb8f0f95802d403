"""The errors govflow raises. Each class carries the one error map every surface reads:

- ``exit_code``: the CLI exit code of SPEC §5 (0 ok, 2 usage / unreadable input, 3 refused by a rule, 4 not
  found, 5 conflict);
- ``http_status``: the HTTP status the API and the web pages answer with (400 usage, 401 unauthenticated,
  403 permission denied, 404 not found, 409 conflict, 422 refused by a rule or a day the calendar cannot
  count yet);
- ``code``: the machine-readable error code of JSON bodies.

A subclass elsewhere (``govflow.access.auth.Unauthenticated``, ``govflow.api.errors.CsrfFailed`` …) sets the
same three attributes; nothing keeps a table of its own.
"""

from __future__ import annotations

from govflow.states.verdict import Reason


class GovflowError(Exception):
    """Base of every error a user can be shown. ``message`` is zh-CN, ``message_en`` English."""

    exit_code = 1
    http_status = 500
    code = "ERROR"

    def __init__(self, message: str, message_en: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message

    def text(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message


class UsageError(GovflowError):
    """The request itself is malformed: unreadable file, unknown option value."""

    exit_code = 2
    http_status = 400
    code = "USAGE"


class RuleRefused(GovflowError):
    """A rule of 733号文 (or of the data model) refuses the request; ``reasons`` says which and why."""

    exit_code = 3
    http_status = 422
    code = "REFUSED"

    def __init__(
        self, reasons: list[Reason] | tuple[Reason, ...], message: str = "", message_en: str = ""
    ) -> None:
        self.reasons = tuple(reasons)
        super().__init__(
            message or "；".join(r.message for r in self.reasons),
            message_en or "; ".join(r.message_en for r in self.reasons),
        )


class InvalidInput(RuleRefused):
    """Input rows break rules; every reason carries the row path. Nothing was written."""

    code = "INVALID_INPUT"


class PermissionDenied(RuleRefused):
    """The role × action table (or the department scope) does not allow this actor to do this."""

    http_status = 403
    code = "PERMISSION_DENIED"
    #: set by the service layer: the security event to record once the refused transaction has rolled back
    pending_audit: object | None = None


class NotFound(GovflowError):
    """Nothing by that name, or nothing the reader may see: out-of-scope reads say exactly what a missing
    record says (no existence oracle)."""

    exit_code = 4
    http_status = 404
    code = "NOT_FOUND"


class OutOfScope(NotFound):
    """A record that exists but lies outside the reader's department scope. It reads exactly like the
    :class:`NotFound` of a record that does not exist (same code, message and status), so that nobody learns
    what exists from the answer; only the audit trail (a security event) knows the difference."""

    #: set by the service layer, as on :class:`PermissionDenied`
    pending_audit: object | None = None

    def __init__(self, missing: NotFound) -> None:
        super().__init__(missing.message, missing.message_en)


class Conflict(GovflowError):
    """Optimistic locking: somebody else changed the project first."""

    exit_code = 5
    http_status = 409
    code = "CONFLICT"


class RunInProgress(Conflict):
    """Another run of the same governance flow for the same day is still running (its lease is held)."""

    code = "RUN_IN_PROGRESS"


class CalendarDataMissing(GovflowError):
    """The working-day calendar has no official data for a year: an alarm, never a guess.

    ``year`` is the year without data, for callers that act on it (the alarm key ``alarm/calendar/{year}``)
    rather than show the message.
    """

    exit_code = 3
    #: the request asks about a day the calendar cannot count yet (a report date, an explicit new deadline):
    #: refused like a rule, with the year named; the operator is alarmed separately
    http_status = 422
    code = "CALENDAR_DATA_MISSING"

    def __init__(self, message: str, message_en: str | None = None, *, year: int) -> None:
        super().__init__(message, message_en)
        self.year = year


class ChainBroken(GovflowError):
    """The audit chain does not verify (on its own or against its anchors), so no new anchor may bless it: exit 1,
    as ``govflow audit verify`` exits on a broken chain."""

    exit_code = 1
    http_status = 500
    code = "AUDIT_CHAIN_BROKEN"
