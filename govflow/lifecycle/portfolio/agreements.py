"""A file of agreements for one existing project (``govflow agreement add``): parsed, checked and written
with the document's own models and rules."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path

from pydantic import Field, ValidationError
from sqlmodel import Session

from govflow.lifecycle.portfolio.problems import AGREEMENT_EXISTS, NEW_AGREEMENT_CATALOG_UNKNOWN
from govflow.lifecycle.portfolio.reading import read_data, validation_reasons
from govflow.lifecycle.portfolio.rules import agreement_reasons
from govflow.lifecycle.portfolio.schema import AgreementIn, InputModel, ProjectIn
from govflow.lifecycle.portfolio.writer import DEPARTMENT, ids_by_code, write_agreement_rows
from govflow.states.errors import InvalidInput
from govflow.states.sharing import CatalogFact
from govflow.states.verdict import Reason


class AgreementsDocument(InputModel):
    """A file of agreements for one existing project (`govflow agreement add`)."""

    agreements: list[AgreementIn] = Field(min_length=1, description="共享协定 / agreements")


def parse_agreements(path: Path) -> list[AgreementIn]:
    """``agreements: [...]`` from YAML or JSON; shape errors are reported all at once with their paths."""
    return agreements_from(read_data(path))


def agreements_from(data: object) -> list[AgreementIn]:
    """``{"agreements": [...]}`` as read from a file or built from a web form, validated by the same model."""
    try:
        return AgreementsDocument.model_validate(data).agreements
    except ValidationError as exc:
        raise InvalidInput(validation_reasons(exc, AgreementsDocument)) from exc


def check_new_agreements(
    agreements: Sequence[AgreementIn],
    *,
    project: str,
    lead: str,
    catalog: Mapping[str, CatalogFact],
    existing_codes: Collection[str],
    departments: Collection[str],
    today: date,
) -> list[Reason]:
    """第八条 terms and consistency (the same checks as ``govflow load``), unique codes, and references to the
    project's catalog and to known departments."""
    reasons = [
        AGREEMENT_EXISTS.at(f"agreements[{i}].code", project=project, agreement=a.code)
        for i, a in enumerate(agreements)
        if a.code in existing_codes
    ]
    return reasons + agreement_reasons(
        agreements,
        "",
        lead=lead,
        catalog=catalog,
        departments=departments,
        today=today,
        unknown_catalog=lambda path, a, code: NEW_AGREEMENT_CATALOG_UNKNOWN.at(
            path, project=project, agreement=a.code, catalog=code
        ),
        codes_label=("协定编号", "agreement code"),
    )


def write_agreements(
    session: Session, project_code: str, project_id: int, agreements: Sequence[AgreementIn]
) -> dict[str, int]:
    """Insert checked agreements of one existing project (the loader's own writer, for one project)."""
    codes = {c for a in agreements for c in (*a.parties, *(i.consumer for i in a.items))}
    dept = ids_by_code(session, DEPARTMENT, codes)
    # the loader's writer reads only the code and the agreements of each project
    project = ProjectIn.model_construct(
        code=project_code, name="", lead_department="", agreements=list(agreements)
    )
    return write_agreement_rows(session, [project], {project_code: project_id}, dept)
