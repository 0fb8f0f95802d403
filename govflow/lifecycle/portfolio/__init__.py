"""The portfolio document (SPEC §5, §7): departments, users, projects with their sharing materials, evidence.

Loading is all-or-nothing and happens in three steps; the problems of all three are reported together, once:

1. :func:`parse_document` reads YAML or JSON and validates the shape (pydantic, ``extra="forbid"``): one
   ``SCHEMA`` reason per error, and the rows with a broken shape (a department, user, project, catalog item,
   agreement, opinion, review or evidence row) are set aside so that the next step can judge the others. A file
   that cannot be read or parsed raises :class:`~govflow.states.errors.UsageError`.
2. :func:`check` applies the rules of 733号文 and referential integrity to the rows that parsed, against what
   the database already holds (:class:`Existing`), returning reasons with the path of the offending value.
   The codes of the rows set aside count as known, so that a malformed department is reported once, not once
   more by every row that names it.
3. :func:`write` inserts everything in the caller's transaction with set-based inserts.

:func:`load` raises :class:`~govflow.states.errors.InvalidInput` with the reasons of steps 1 and 2 in the order of the
rows they name (:func:`listed`: at most :data:`MAX_REASONS` problems, then a count of the rows not listed).

Paths name the offending value the way a reader finds it in the file: ``projects[3].catalog[2].share_type``,
indices counted from 0 as in JSON Pointer and jq; schema messages also give the YAML line.

The package: :mod:`.schema` (the input models and their JSON Schema), :mod:`.reading` (files, shape errors,
:func:`listed`), :mod:`.rules` (733号文 and references across rows), :mod:`.writer` (inserts, :func:`load`),
:mod:`.agreements` (``govflow agreement add``). Everything other code uses is importable from here.
"""

from govflow.lifecycle.portfolio.agreements import (
    AgreementsDocument,
    agreements_from,
    check_new_agreements,
    parse_agreements,
    write_agreements,
)
from govflow.lifecycle.portfolio.reading import (
    MAX_REASONS,
    ParsedDocument,
    format_loc,
    listed,
    parse_document,
    parse_file,
    read_data,
    too_many,
    validation_reasons,
)
from govflow.lifecycle.portfolio.rules import (
    Existing,
    agreement_fact,
    catalog_fact,
    check,
    check_catalog_items,
    check_departments,
    check_evidence,
    check_users,
)
from govflow.lifecycle.portfolio.schema import (
    DOC_CLAUSE,
    SCHEMA_CODE,
    AgreementIn,
    AgreementItemIn,
    CatalogItemIn,
    DepartmentIn,
    EvidenceIn,
    FieldIn,
    JudgmentIn,
    Loc,
    NeedsAnalysisIn,
    OpinionIn,
    PortfolioDocument,
    ProjectIn,
    ReviewIn,
    TermIn,
    UnmetNeedIn,
    UserIn,
    schema,
)
from govflow.lifecycle.portfolio.writer import (
    LoadSummary,
    catalog_values,
    load,
    read_existing,
    write,
    write_evidence,
)

__all__ = [
    "DOC_CLAUSE",
    "MAX_REASONS",
    "SCHEMA_CODE",
    "AgreementIn",
    "AgreementItemIn",
    "AgreementsDocument",
    "CatalogItemIn",
    "DepartmentIn",
    "EvidenceIn",
    "Existing",
    "FieldIn",
    "JudgmentIn",
    "LoadSummary",
    "Loc",
    "NeedsAnalysisIn",
    "OpinionIn",
    "ParsedDocument",
    "PortfolioDocument",
    "ProjectIn",
    "ReviewIn",
    "TermIn",
    "UnmetNeedIn",
    "UserIn",
    "agreement_fact",
    "agreements_from",
    "catalog_fact",
    "catalog_values",
    "check",
    "check_catalog_items",
    "check_departments",
    "check_evidence",
    "check_new_agreements",
    "check_users",
    "format_loc",
    "listed",
    "load",
    "parse_agreements",
    "parse_document",
    "parse_file",
    "read_data",
    "read_existing",
    "schema",
    "too_many",
    "validation_reasons",
    "write",
    "write_agreements",
    "write_evidence",
]
