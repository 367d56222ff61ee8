"""Public notices (公示) and objections (异议)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from services.claims.api.deps import (
    Cadre,
    ClaimReader,
    CountyOfficer,
    IdempotencyKey,
    NoticePublisher,
    NoticeServiceDep,
)
from services.claims.api.schemas import NoticeCreate, NoticeRead, ObjectionCreate, ObjectionDecision, ObjectionRead
from shared.contracts.types import Cursor, VillageCode
from shared.errors import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/notices", tags=["notices"])


@router.post(
    "",
    status_code=201,
    summary="Publish the village's assessed claims (发布公示)",
    description="Every `assessed` claim of the village goes on today's notice for the scheme's notice_days.",
    responses=problem_responses(404, 409, 422),
)
async def publish(
    body: NoticeCreate,
    notices: NoticeServiceDep,
    principal: NoticePublisher,
    key: IdempotencyKey,
    response: Response,
) -> NoticeRead:
    result = await notices.publish(principal, body, key)
    notice = result.value
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/notices/{notice.id}"
    return notice


@router.get("", summary="Notices in your region", response_model=Page[NoticeRead])
async def list_notices(
    notices: NoticeServiceDep,
    principal: ClaimReader,
    village_code: Annotated[VillageCode | None, Query()] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[NoticeRead]:
    return await notices.search(principal, village_code=village_code, status=status, cursor=cursor, limit=limit)


@router.get("/{notice_id}", summary="One notice", responses=problem_responses(404))
async def get_notice(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> NoticeRead:
    return await notices.get(principal, notice_id)


@router.get(
    "/{notice_id}/print",
    summary="The notice as a printable page (打印公示; names and IDs masked)",
    response_class=HTMLResponse,
    responses=problem_responses(404),
)
async def print_notice(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> HTMLResponse:
    notice = await notices.get(principal, notice_id)
    return HTMLResponse(notices.printable(notice))


@router.post(
    "/{notice_id}/objections",
    status_code=201,
    summary="Record an objection (登记异议; during the window)",
    responses=problem_responses(404, 409, 422),
)
async def object_to(
    notice_id: UUID,
    body: ObjectionCreate,
    notices: NoticeServiceDep,
    principal: Cadre,
    key: IdempotencyKey,
    response: Response,
) -> ObjectionRead:
    result = await notices.object(principal, notice_id, body, key)
    objection = result.value
    response.status_code = 201 if result.created else 200
    return objection


@router.get("/{notice_id}/objections", summary="Objections to a notice", responses=problem_responses(404))
async def objections(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> list[ObjectionRead]:
    return await notices.objections(principal, notice_id)


@router.post(
    "/{notice_id}/objections/{objection_id}/decision",
    summary="Uphold or dismiss an objection (异议处理; county officer)",
    description="Upheld: the claim goes back to `investigating` and its assessment is released from the ledger.",
    responses=problem_responses(404, 409, 422),
)
async def decide(
    notice_id: UUID,
    objection_id: UUID,
    body: ObjectionDecision,
    notices: NoticeServiceDep,
    principal: CountyOfficer,
) -> ObjectionRead:
    return await notices.decide(principal, notice_id, objection_id, body)
