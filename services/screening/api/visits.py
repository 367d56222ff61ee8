"""Home visits (入户走访) with their photos (attachments), and the visit coverage list (走访覆盖)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from services.screening.api.deps import AssistanceReader, AssistanceWriter, VisitServiceDep
from services.screening.api.schemas import AttachmentRead, CoverageRead, VisitCreate, VisitRead
from shared.contracts.types import CountyCode
from shared.errors import problem_responses
from shared.limits import body_limit, spool_upload

router = APIRouter(prefix="/v1", tags=["visits"])

VisitId = Annotated[uuid.UUID, Path(description="visit id (走访记录 id)")]
AttachmentId = Annotated[uuid.UUID, Path(description="attachment id (附件 id)")]
HouseholdId = Annotated[uuid.UUID, Path(description="household id (农户 id)")]


def _binary(kind: str, name: str) -> dict[str, object]:
    return {
        "schema": {"type": "string", "format": "binary"},
        "examples": {kind: {"summary": f"a {kind} photo: the file's bytes", "externalValue": name}},
    }


PHOTO_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        "image/jpeg": _binary("JPEG", "visit.jpg"),
        "image/png": _binary("PNG", "visit.png"),
        "image/webp": _binary("WebP", "visit.webp"),
    },
}


@router.post(
    "/visits",
    status_code=201,
    response_model=VisitRead,
    summary="Record a home visit (入户走访)",
    responses=problem_responses(404, 409, 422),
)
async def create_visit(body: VisitCreate, visits: VisitServiceDep, principal: AssistanceWriter) -> VisitRead:
    """Records a cadre's home visit (入户走访): the date, who visited, structured findings (生活状况, 收入变化, risks
    seen, needs). With `open_case=true` the visit opens a monitoring case (`cadre_visit`, 基层干部排查) with the
    findings as its evidence (409 `case_already_open` when the household has one).
    """
    return await visits.create(principal, body)


@router.get(
    "/visits/coverage",
    response_model=CoverageRead,
    summary="Visit coverage (走访覆盖)",
    responses=problem_responses(404, 422),
)
async def coverage(
    visits: VisitServiceDep,
    principal: AssistanceReader,
    county_code: Annotated[CountyCode, Query(description="the county (县)")],
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> CoverageRead:
    """Households of the county (within your region) with no home visit within the county's interval
    (`FANGPIN_SCREENING_VISIT_INTERVAL_DAYS`, default 90 days), each with its last visit date.
    """
    return await visits.coverage(principal, county_code, limit)


@router.get(
    "/visits/{visit_id}", response_model=VisitRead, summary="A home visit (走访记录)", responses=problem_responses(404)
)
async def get_visit(visit_id: VisitId, visits: VisitServiceDep, principal: AssistanceReader) -> VisitRead:
    """One home visit with its photos (metadata); 404 outside your region."""
    return await visits.get(principal, visit_id)


@router.get(
    "/households/{household_id}/visits",
    response_model=list[VisitRead],
    summary="A household's home visits (走访记录)",
    responses=problem_responses(404),
)
async def household_visits(
    household_id: HouseholdId, visits: VisitServiceDep, principal: AssistanceReader
) -> list[VisitRead]:
    """The household's home visits, newest first."""
    return await visits.of_household(principal, household_id)


@router.post(
    "/visits/{visit_id}/photos",
    status_code=201,
    response_model=AttachmentRead,
    summary="Attach a photo to a visit (走访照片)",
    responses=problem_responses(404, 409, 413, 415, 422),
    openapi_extra={**body_limit("attachment_max_bytes"), "requestBody": PHOTO_BODY},
)
async def add_photo(
    visit_id: VisitId, request: Request, visits: VisitServiceDep, principal: AssistanceWriter
) -> AttachmentRead:
    """Attaches a photo (JPEG, PNG, WebP, GIF, HEIC) to the visit, as the multipart field `file` or the raw body.
    The type is read from the content, not the name (415 `unsupported_media_type` otherwise); at most
    `FANGPIN_SCREENING_ATTACHMENT_MAX_BYTES` (413); streamed to the database in chunks; SHA-256 recorded.
    """
    upload = await spool_upload(request, request.app.state.settings.attachment_max_bytes)
    with upload:
        return await visits.add_photo(principal, visit_id, upload)


@router.get(
    "/visits/{visit_id}/photos/{attachment_id}",
    summary="Download a visit photo (下载走访照片)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "image/jpeg": _binary("JPEG", "visit.jpg"),
                "image/png": _binary("PNG", "visit.png"),
                "image/webp": _binary("WebP", "visit.webp"),
            },
            "description": "the photo",
        },
        **problem_responses(404),
    },
)
async def photo(
    visit_id: VisitId,
    attachment_id: AttachmentId,
    request: Request,
    visits: VisitServiceDep,
    principal: AssistanceReader,
) -> StreamingResponse:
    """The photo's bytes, streamed from the database chunk by chunk, with its SHA-256 as the ETag; 404 outside
    your region.
    """
    row = await visits.photo(principal, visit_id, attachment_id)
    return StreamingResponse(
        visits.content(request.app.state.sessionmaker, row),
        media_type=row.content_type,
        headers={
            "Content-Length": str(row.size_bytes),
            "ETag": f'"{row.sha256_hex}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
