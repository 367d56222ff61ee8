"""公益岗 (public-welfare posts, rules.md §4): posts, the members assigned to them, monthly attendance
and assessment (考核), and the month's wage paid as a payment of the assignment's measure (the
registry counts it as wage income through the outbox)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from services.screening.api.deps import AssistanceReader, AssistanceWriter, IfMatch, PublicPostServiceDep
from services.screening.api.schemas import (
    AssistancePaymentRead,
    AttendancePut,
    AttendanceRead,
    Period,
    PublicPostAssignmentCreate,
    PublicPostAssignmentEnd,
    PublicPostAssignmentRead,
    PublicPostCreate,
    PublicPostPage,
    PublicPostRead,
    PublicPostUpdate,
    WagePayment,
)
from shared.concurrency import etag
from shared.contracts.types import CountyCode, Cursor
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS

router = APIRouter(prefix="/v1", tags=["public-posts"])

PostId = Annotated[uuid.UUID, Path(description="public-welfare post id (公益岗 id)")]
AssignmentId = Annotated[uuid.UUID, Path(description="post assignment id (上岗记录 id)")]
PeriodPath = Annotated[Period, Path(description="the month (YYYY-MM, 考勤月份)")]


@router.post(
    "/public-posts",
    status_code=201,
    response_model=PublicPostRead,
    summary="Create a public-welfare post (设立公益岗)",
    responses=problem_responses(404, 422),
)
async def create_post(
    body: PublicPostCreate, service: PublicPostServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Creates a 公益岗 of a county, township or village (by the length of `region_code`) with its monthly wage,
    the days a month it requires for the full wage and its capacity (岗位数). A region outside yours is 404.
    """
    read = await service.create_post(principal, body)
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/public-posts/{read.id}", "ETag": etag(read.version)},
    )


@router.get(
    "/public-posts",
    response_model=PublicPostPage,
    summary="The county's public-welfare posts (公益岗列表) in your region",
    responses=problem_responses(404, 422),
)
async def list_posts(
    service: PublicPostServiceDep,
    principal: AssistanceReader,
    county_code: Annotated[CountyCode, Query(description="the county (县)")],
    cursor: Annotated[Cursor | None, Query(description="opaque cursor from `next_cursor` (分页游标)")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
) -> PublicPostPage:
    """The county's posts whose region lies inside yours, by region, each with the number of members on it (在岗人数).
    A county outside your region is 404.
    """
    return await service.list_posts(principal, county_code, cursor, limit)


@router.get(
    "/public-posts/{post_id}",
    response_model=PublicPostRead,
    summary="A public-welfare post (公益岗)",
    responses=problem_responses(404),
)
async def get_post(post_id: PostId, service: PublicPostServiceDep, principal: AssistanceReader) -> JSONResponse:
    """One post with its capacity and the members on it (ETag: its version); 404 outside your region."""
    read = await service.get_post(principal, post_id)
    return JSONResponse(read.model_dump(mode="json"), headers={"ETag": etag(read.version)})


@router.patch(
    "/public-posts/{post_id}",
    response_model=PublicPostRead,
    summary="Change a public-welfare post (修改公益岗): name, wage, days, capacity, open/closed (If-Match)",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def change_post(
    post_id: PostId,
    body: PublicPostUpdate,
    service: PublicPostServiceDep,
    principal: AssistanceWriter,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Changes the post; a new wage or days per month applies to the months recorded from then on (a recorded month
    keeps the figures it was computed with). A closed post takes no new assignment (409 `public_post_closed`); the
    capacity cannot fall below the members on it (409 `capacity_below_occupied`). If-Match with the post's ETag (428
    without, 412 stale).
    """
    read = await service.change_post(principal, post_id, body, if_match=if_match)
    return JSONResponse(read.model_dump(mode="json"), headers={"ETag": etag(read.version)})


@router.post(
    "/public-posts/{post_id}/assignments",
    status_code=201,
    response_model=PublicPostAssignmentRead,
    summary="Assign a household member to a post (公益岗上岗)",
    responses=problem_responses(404, 409, 422),
)
async def assign(
    post_id: PostId, body: PublicPostAssignmentCreate, service: PublicPostServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Puts a current member of a household inside the post's region on the post from `start_date`, and records the
    assignment's `public_welfare_post` assistance measure (公益岗 帮扶措施), whose payments are the wages. One active
    assignment per member (409 `member_already_assigned`); 409 `public_post_full` when every place is taken,
    `household_outside_post_region`, `public_post_closed`; 422 `member_not_in_household`.
    """
    read = await service.assign(principal, post_id, body)
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/public-post-assignments/{read.id}", "ETag": etag(read.version)},
    )


@router.get(
    "/public-posts/{post_id}/assignments",
    response_model=list[PublicPostAssignmentRead],
    summary="The assignments of a post (上岗人员)",
    responses=problem_responses(404),
)
async def post_assignments(
    post_id: PostId, service: PublicPostServiceDep, principal: AssistanceReader
) -> list[PublicPostAssignmentRead]:
    """Every assignment of the post, active ones first."""
    return await service.assignments_of_post(principal, post_id)


@router.get(
    "/public-post-assignments/{assignment_id}",
    response_model=PublicPostAssignmentRead,
    summary="A post assignment (上岗记录)",
    responses=problem_responses(404),
)
async def get_assignment(
    assignment_id: AssignmentId, service: PublicPostServiceDep, principal: AssistanceReader
) -> PublicPostAssignmentRead:
    """One assignment; visible to the post's region and to the household's village, 404 otherwise."""
    return await service.get_assignment(principal, assignment_id)


@router.post(
    "/public-post-assignments/{assignment_id}/end",
    response_model=PublicPostAssignmentRead,
    summary="End an assignment (离岗)",
    responses=problem_responses(404, 409, 422),
)
async def end_assignment(
    assignment_id: AssignmentId,
    body: PublicPostAssignmentEnd,
    service: PublicPostServiceDep,
    principal: AssistanceWriter,
) -> PublicPostAssignmentRead:
    """The member leaves the post on `end_date` (离岗) with a reason; the measure becomes delivered (已落实). Months
    already recorded stay payable; 409 `attendance_after_end` when a recorded month lies after the end date. Ending an
    ended assignment answers it unchanged.
    """
    return await service.end_assignment(principal, assignment_id, body)


@router.put(
    "/public-post-assignments/{assignment_id}/attendance/{period}",
    response_model=AttendanceRead,
    summary="Record a month's attendance and assessment (考勤与考核)",
    responses={201: {"model": AttendanceRead}, **problem_responses(404, 409, 422)},
)
async def put_attendance(
    assignment_id: AssignmentId,
    period: PeriodPath,
    body: AttendancePut,
    service: PublicPostServiceDep,
    principal: AssistanceWriter,
) -> JSONResponse:
    """Records (201) or replaces (200) the month's days attended and assessment; the wage payable follows: the
    monthly wage × days attended ÷ the post's days per month (capped at the wage); `warning` pays it with a note,
    `fail` pays nothing. 409 `attendance_paid` once the month is paid (reverse the payment first),
    `period_outside_assignment`; 422 for a month not begun or more days than it has.
    """
    result = await service.put_attendance(principal, assignment_id, period, body)
    return JSONResponse(result.value.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.get(
    "/public-post-assignments/{assignment_id}/attendance",
    response_model=list[AttendanceRead],
    summary="An assignment's months: attendance, assessment, wage payable and payment (考勤与工资)",
    responses=problem_responses(404),
)
async def attendance(
    assignment_id: AssignmentId, service: PublicPostServiceDep, principal: AssistanceReader
) -> list[AttendanceRead]:
    """Every recorded month by period, with the wage payable and the live payment of the month, if paid."""
    return await service.attendance(principal, assignment_id)


@router.post(
    "/public-post-assignments/{assignment_id}/wages",
    status_code=201,
    response_model=AssistancePaymentRead,
    summary="Pay a month's wage (发放公益岗工资); the registry counts it as wage income",
    responses={200: {"model": AssistancePaymentRead}, **problem_responses(404, 409, 422)},
)
async def pay_wage(
    assignment_id: AssignmentId, body: WagePayment, service: PublicPostServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Pays the month's wage payable as a payment of the assignment's measure: the registry records it as wage income
    (工资性收入) of the month's year through the outbox, exactly once. The same month again answers the first payment
    (200, `Idempotency-Replayed: true`); 409 `attendance_missing`, `wage_not_payable` (assessment failed, no
    attendance), `payment_period_taken` (paid with another date: reverse first). Reverse with
    `POST /v1/payments/{payment_id}/reversal`.
    """
    result = await service.pay_wage(principal, assignment_id, body)
    headers = {"Location": f"/v1/payments/{result.value.id}"}
    if result.replayed:
        headers.update(REPLAY_HEADERS)
    return JSONResponse(
        result.value.model_dump(mode="json"), status_code=201 if result.created else 200, headers=headers
    )
