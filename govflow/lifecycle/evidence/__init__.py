"""Bulk import of delivery evidence (SPEC §3, §5): exchange-platform exports of millions of rows, all or none.

A file is the header ``project,catalog,consumer,date,records`` (any order) and one row per delivery, as
:mod:`govflow.lifecycle.tabular` reads it: CSV in UTF-8 with or without a byte-order mark, or the first sheet of an XLSX
workbook; empty rows are skipped; dates may be written ``2026-07-01`` or ``2026/7/1``. The rows mean exactly
what :class:`~govflow.lifecycle.portfolio.EvidenceIn` means, and problems are reported in the format of
:func:`govflow.lifecycle.tabular.parse_evidence_rows` (``rows[N].field``, data row N and the file line in the message, and
both in ``detail``) — all kinds at once, not stage by stage — but without a pydantic model per row, which is far
too slow for a file of a million rows:

1. :meth:`References.load` reads, once, every project code, (project, catalog item code) and department code
   with its id;
2. :func:`read_evidence` streams the file. A row whose codes, date and count resolve at once through those
   dictionaries (and a cache of the dates already seen) costs a handful of dictionary lookups; only a row that
   does not (a stray space, a slashed date, a new date, an error) takes the slow path, which applies the very
   pydantic validators of :class:`~govflow.lifecycle.portfolio.EvidenceIn` to it, and only a row that is really wrong is
   explained, with :func:`govflow.lifecycle.portfolio.validation_reasons` and :func:`govflow.lifecycle.portfolio.check_evidence`.
   Every row is checked; after :data:`MAX_REASONS` problems the rest are only counted, and one last reason says
   how many rows were not listed. Good rows are summed per (catalog item, consumer, day) in a dictionary;
3. :func:`write_evidence` writes the sums inside the caller's transaction, through the DBAPI connection: one
   ``executemany`` insert on SQLite, ``COPY`` into a temporary table and one ``INSERT … SELECT`` on
   PostgreSQL, both ``ON CONFLICT DO NOTHING``. A key (item, consumer, day) already on record is a bad row
   (``EVIDENCE_ALREADY_RECORDED``), listed with the file's other problems, unless ``replace`` puts the file's
   number in place of the recorded one; :func:`refuse_if_imported` refuses a file whose SHA-256 an earlier
   import recorded in its audit note (:func:`audit_note`).

Validation is all-or-nothing: :class:`EvidenceBatch` carries the reasons, and the caller
(:func:`govflow.lifecycle.services.import_evidence`) checks permissions on the projects the file names before it raises
them, so that the report of a file never tells a department about projects it may not see.

The package: :mod:`.reading` (references, the row checker, the batch) and :mod:`.recording` (the lock, files
imported before, keys on record, the write). Everything other code uses is importable from here.
"""

from govflow.lifecycle.evidence.reading import (
    COLUMNS,
    MAX_REASONS,
    MAX_RECORDS,
    EvidenceBatch,
    Key,
    References,
    read_evidence,
    recorded_reasons,
    refused_project,
)
from govflow.lifecycle.evidence.recording import (
    ACTION,
    Written,
    audit_note,
    lock,
    recorded,
    refuse_if_imported,
    write_evidence,
)

__all__ = [
    "ACTION",
    "COLUMNS",
    "MAX_REASONS",
    "MAX_RECORDS",
    "EvidenceBatch",
    "Key",
    "References",
    "Written",
    "audit_note",
    "lock",
    "read_evidence",
    "recorded",
    "recorded_reasons",
    "refuse_if_imported",
    "refused_project",
    "write_evidence",
]
