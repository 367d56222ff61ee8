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
from services.claims.service.notice_print import FONT_FILE, FONTS_PATH
from shared.contracts.types import Cursor, VillageCode
from shared.errors import problem_responses
from shared.openapi import problem_example
from shared.pagination import Page

router = APIRouter(prefix="/v1/notices", tags=["notices"])

# The start of a printed notice (the page is longer: every row, how to object, the office, the seal area).
PRINT_EXAMPLE = (
    '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>防贫保险理赔公示</title></head>'
    "<body><h1>防贫保险理赔公示</h1><p>宝莲寺镇东街村 · 公示期 2026-04-01 至 2026-04-07</p>"
    "<table><tr><th>户主</th><th>身份证号</th><th>类别</th><th>赔付金额（元）</th></tr>"
    "<tr><td>张*国</td><td>410602********1312</td><td>因病</td><td>12000.00</td></tr></table>…"
)


@router.post(
    "",
    status_code=201,
    summary="Publish the village's assessed claims (发布公示)",
    description="Every `assessed` claim of the village goes on today's notice for the scheme's notice_days.",
    responses={
        200: {
            "model": NoticeRead,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(404, 409, 422),
        **problem_example(409, "nothing_to_publish", "no assessed claim in this village waits for a notice"),
    },
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
    """Lists the public notices (公示) of your region, optionally one village's or only open or closed ones, newest
    first, paged by `cursor`.
    """
    return await notices.search(principal, village_code=village_code, status=status, cursor=cursor, limit=limit)


@router.get("/{notice_id}", summary="One notice", responses=problem_responses(404))
async def get_notice(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> NoticeRead:
    """Reads one public notice (公示): the village, the window (公示期: start, end, days), status, the schemes used and
    each listed claim with the household, category and payout (names and IDs masked).
    """
    return await notices.get(principal, notice_id)


@router.get(
    "/{notice_id}/print",
    summary="The notice as a printable page (打印公示; names and IDs masked)",
    description="The notice as an HTML page to print and post: the village by name, the window, up to 20 rows "
    "a page (more continue on the next page under the same header), how to object, the issuing office, the "
    "complaint phone and the seal area (盖章处). Names follow the county's policy (default 张*国), IDs stay "
    "masked. The page carries the glyphs it uses (Noto Sans SC) so Chinese prints without local fonts. "
    "Roles: those who read claims, in their region.",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"example": PRINT_EXAMPLE}}}, **problem_responses(404)},
)
async def print_notice(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> HTMLResponse:
    return HTMLResponse(await notices.printable(principal, notice_id, font_url=f"../../..{FONTS_PATH}/{FONT_FILE}"))


@router.get(
    "/{notice_id}/print.pdf",
    summary="The notice as an A4 PDF (公示 PDF; names and IDs masked)",
    description="The same notice as `/print`, as an A4 PDF: 20 rows to a page, then continued pages with the "
    "header repeated; the subset of Noto Sans SC it uses is embedded. Roles: those who read claims, in their "
    "region.",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the notice (PDF)"}, **problem_responses(404)},
)
async def print_notice_pdf(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> Response:
    content = await notices.printable_pdf(principal, notice_id)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"'},
    )


@router.post(
    "/{notice_id}/objections",
    status_code=201,
    summary="Record an objection (登记异议; during the window)",
    responses={
        200: {
            "model": ObjectionRead,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(404, 409, 422),
    },
)
async def object_to(
    notice_id: UUID,
    body: ObjectionCreate,
    notices: NoticeServiceDep,
    principal: Cadre,
    key: IdempotencyKey,
    response: Response,
) -> ObjectionRead:
    """Records an objection (登记异议) to a claim listed on a notice (公示) while its window runs, e.g. a villager says
    the expense was reimbursed elsewhere; the claim cannot be approved until the objection is decided. 201 with the
    new objection, 200 when the `Idempotency-Key` replays one. 409 `notice_window_closed` outside the window,
    `not_on_notice` for a claim the notice does not list.
    """
    result = await notices.object(principal, notice_id, body, key)
    objection = result.value
    response.status_code = 201 if result.created else 200
    return objection


@router.get("/{notice_id}/objections", summary="Objections to a notice", responses=problem_responses(404))
async def objections(notice_id: UUID, notices: NoticeServiceDep, principal: ClaimReader) -> list[ObjectionRead]:
    """The objections (异议) raised against a notice's claims, with their decisions."""
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
