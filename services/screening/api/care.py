"""兜底保障 (basic-living support, rules.md §4): the suggested list from the register, the officer's
confirmation, placement (care home within its carer ratio, hospital, or at home with a guardian and
a signed agreement), the monthly visits of home placements and the overdue list."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from services.screening.api.deps import AssistanceReader, AssistanceWriter, CareOfficer, CareServiceDep
from services.screening.api.schemas import (
    CareInstitutionCreate,
    CareInstitutionRead,
    CarePlacementCreate,
    CareSubjectCreate,
    CareSubjectRead,
    CareSuggestionPage,
    CareVisitCreate,
    OverdueVisitList,
)
from shared.concurrency import etag
from shared.contracts.types import CountyCode, Cursor
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/care", tags=["care"])

SubjectId = Annotated[uuid.UUID, Path(description="care subject id (兜底对象 id)")]
InstitutionId = Annotated[uuid.UUID, Path(description="care institution id (供养/救治机构 id)")]
CountyQuery = Annotated[CountyCode, Query(description="the county (县)")]


def _subject(read: CareSubjectRead, status: int = 200) -> JSONResponse:
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=status,
        headers={"Location": f"/v1/care/subjects/{read.id}", "ETag": etag(read.version)},
    )


@router.get(
    "/suggestions",
    response_model=CareSuggestionPage,
    summary="Suggested 兜底 subjects from the register (兜底对象建议名单)",
    responses=problem_responses(404, 422),
)
async def suggestions(
    service: CareServiceDep,
    principal: AssistanceReader,
    county_code: CountyQuery,
    cursor: Annotated[Cursor | None, Query(description="opaque cursor from `next_cursor` (分页游标)")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
) -> CareSuggestionPage:
    """Members of poor households (脱贫户 and monitored households) in your region who fall in a 兜底 group and are not
    yet a subject: 60 or older without labour ability, disability grade 1–2, or seriously ill (患有大病); by village.
    """
    return await service.suggestions(principal, county_code, cursor, limit)


@router.post(
    "/subjects",
    status_code=201,
    response_model=CareSubjectRead,
    summary="Confirm a 兜底 subject (认定兜底对象)",
    responses=problem_responses(404, 409, 422),
)
async def confirm(body: CareSubjectCreate, service: CareServiceDep, principal: CareOfficer) -> JSONResponse:
    """A township or county officer confirms a member in one of the groups the register gives (422
    `care_group_not_met` otherwise); one open subject per member (409 `care_subject_exists`).
    """
    return _subject(await service.confirm(principal, body), 201)


@router.get(
    "/subjects/{subject_id}",
    response_model=CareSubjectRead,
    summary="A 兜底 subject with its placement and visits",
    responses=problem_responses(404),
)
async def get_subject(subject_id: SubjectId, service: CareServiceDep, principal: AssistanceReader) -> JSONResponse:
    """The subject, its placement and, for a home placement, its visits and when the next is due (一月一回访)."""
    return _subject(await service.get(principal, subject_id))


@router.post(
    "/subjects/{subject_id}/placement",
    response_model=CareSubjectRead,
    summary="Place a 兜底 subject (安置: 集中供养 / 集中救治 / 分散托养)",
    responses=problem_responses(404, 409, 422),
)
async def place(
    subject_id: SubjectId, body: CarePlacementCreate, service: CareServiceDep, principal: CareOfficer
) -> JSONResponse:
    """Places a confirmed subject. Every rule refuses with its own 409: `care_already_placed`,
    `institution_kind_mismatch` (集中供养 needs a care home, 集中救治 a hospital), `carer_ratio_exceeded` (more than 5
    residents per carer), `guardian_agreement_required` (分散托养 needs a guardian and an agreement signed by the
    placement day).
    """
    return _subject(await service.place(principal, subject_id, body))


@router.post(
    "/subjects/{subject_id}/visits",
    status_code=201,
    response_model=CareSubjectRead,
    summary="Record a monthly visit of a home placement (一月一回访)",
    responses=problem_responses(404, 409, 422),
)
async def visit(
    subject_id: SubjectId, body: CareVisitCreate, service: CareServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """A visit of a home placement (409 `visit_not_home_placement` otherwise), dated between the placement and today."""
    return _subject(await service.record_visit(principal, subject_id, body), 201)


@router.get(
    "/overdue-visits",
    response_model=OverdueVisitList,
    summary="Home placements whose monthly visit is overdue (回访逾期名单)",
    responses=problem_responses(404, 422),
)
async def overdue_visits(
    service: CareServiceDep, principal: AssistanceReader, county_code: CountyQuery
) -> OverdueVisitList:
    """Home placements in your region whose next visit (one month after the last one, or after the placement) was due
    before today.
    """
    return await service.overdue(principal, county_code)


@router.post(
    "/institutions",
    status_code=201,
    response_model=CareInstitutionRead,
    summary="Register a care home or hospital (登记供养/救治机构)",
    responses=problem_responses(404, 422),
)
async def create_institution(
    body: CareInstitutionCreate, service: CareServiceDep, principal: CareOfficer
) -> JSONResponse:
    """A care home (集中供养, at most 5 residents per carer) or a hospital (集中救治) of a region in yours."""
    read = await service.create_institution(principal, body)
    return JSONResponse(
        read.model_dump(mode="json"), status_code=201, headers={"Location": f"/v1/care/institutions/{read.id}"}
    )


@router.get(
    "/institutions/{institution_id}",
    response_model=CareInstitutionRead,
    summary="A care institution with its residents (供养/救治机构)",
    responses=problem_responses(404),
)
async def get_institution(
    institution_id: InstitutionId, service: CareServiceDep, principal: AssistanceReader
) -> CareInstitutionRead:
    """The institution, its carers and the subjects placed there now."""
    return await service.institution(principal, institution_id)
