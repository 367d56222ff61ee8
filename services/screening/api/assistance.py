"""Assistance measures (帮扶措施) for any household, the assistance plan (帮扶计划), and their payments
(帮扶资金), which the registry counts as income through the outbox (rules.md §4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from services.screening.api.deps import AssistanceReader, AssistanceServiceDep, AssistanceWriter, IfMatch
from services.screening.api.schemas import (
    AssistanceMeasureCreate,
    AssistanceMeasureRead,
    AssistanceMeasureUpdate,
    AssistancePaymentCreate,
    AssistancePaymentRead,
    AssistancePlanRead,
    AssistanceReversalCreate,
    MeasureHistoryRead,
)
from shared.concurrency import etag
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS
from shared.results import Created

router = APIRouter(prefix="/v1", tags=["assistance"])

MeasureId = Annotated[uuid.UUID, Path(description="measure id (帮扶措施 id)")]
PaymentId = Annotated[uuid.UUID, Path(description="payment id (发放记录 id)")]
HouseholdId = Annotated[uuid.UUID, Path(description="household id (农户 id)")]


def _measure(read: AssistanceMeasureRead, status: int = 200) -> JSONResponse:
    return JSONResponse(
        read.model_dump(mode="json"),
        status_code=status,
        headers={"ETag": etag(read.version), "Location": f"/v1/measures/{read.id}"},
    )


def _payment(result: Created[AssistancePaymentRead]) -> JSONResponse:
    headers = {"Location": f"/v1/payments/{result.value.id}"}
    if result.replayed:
        headers.update(REPLAY_HEADERS)
    return JSONResponse(
        result.value.model_dump(mode="json"), status_code=201 if result.created else 200, headers=headers
    )


@router.post(
    "/measures",
    status_code=201,
    response_model=AssistanceMeasureRead,
    summary="Record an assistance measure (帮扶措施) for a household",
    responses=problem_responses(404, 422),
)
async def create_measure(
    body: AssistanceMeasureCreate, service: AssistanceServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Records an assistance measure (帮扶措施) of one of rules.md §4's types for any household of your region,
    monitored or not: planned against a risk with a due date (帮扶计划), in progress or delivered, with the
    type's fields in `details` (checked per type: 422 `invalid_measure_details` names each field).
    """
    return _measure(await service.create(principal, body), 201)


@router.get(
    "/measures/{measure_id}",
    response_model=AssistanceMeasureRead,
    summary="An assistance measure (帮扶措施)",
    responses=problem_responses(404),
)
async def get_measure(
    measure_id: MeasureId, service: AssistanceServiceDep, principal: AssistanceReader
) -> JSONResponse:
    """One assistance measure (帮扶措施) with the total paid on it; 404 outside your region."""
    return _measure(await service.get(principal, measure_id))


@router.patch(
    "/measures/{measure_id}",
    response_model=AssistanceMeasureRead,
    summary="Change an assistance measure (修改帮扶措施): progress, dates, details (If-Match required)",
    responses=problem_responses(404, 409, 412, 422, 428),
)
async def update_measure(
    measure_id: MeasureId,
    body: AssistanceMeasureUpdate,
    service: AssistanceServiceDep,
    principal: AssistanceWriter,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Moves a measure on (计划 → 实施中 → 已落实, or 已取消: 409 `measure_status_refused` otherwise) or changes its
    dates and details; every change is in its history. If-Match with the measure's ETag (428 without, 412 stale).
    """
    return _measure(await service.update(principal, measure_id, body, if_match=if_match))


@router.get(
    "/measures/{measure_id}/history",
    response_model=list[MeasureHistoryRead],
    summary="A measure's history (帮扶措施变更记录)",
    responses=problem_responses(404),
)
async def measure_history(
    measure_id: MeasureId, service: AssistanceServiceDep, principal: AssistanceReader
) -> list[MeasureHistoryRead]:
    """Every version of the measure: who changed what, when (变更记录)."""
    return await service.history(principal, measure_id)


@router.get(
    "/households/{household_id}/assistance-plan",
    response_model=AssistancePlanRead,
    summary="A household's assistance plan (帮扶计划) and its progress",
    responses=problem_responses(404),
)
async def assistance_plan(
    household_id: HouseholdId, service: AssistanceServiceDep, principal: AssistanceReader
) -> AssistancePlanRead:
    """The household's measures by due date, with the count planned, in progress, delivered, cancelled and
    overdue (计划完成日期已过仍未落实).
    """
    return await service.plan(principal, household_id)


@router.post(
    "/measures/{measure_id}/payments",
    status_code=201,
    response_model=AssistancePaymentRead,
    summary="Record a payment of a measure (帮扶资金发放); the registry counts it as income",
    responses={200: {"model": AssistancePaymentRead}, **problem_responses(404, 409, 422)},
)
async def pay(
    measure_id: MeasureId, body: AssistancePaymentCreate, service: AssistanceServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Records one payment of the measure for a month (a month's 公益岗 wage, a month of 低保, an aid payment, a
    dividend). The registry records it as income of the period's year and the type's income kind through the
    outbox, exactly once. One live payment per measure and month: the same again answers the first (200); other
    figures are 409 `payment_period_taken` (reverse it first). 409 `measure_pays_no_income` for housing/water,
    `measure_cancelled` for a cancelled measure.
    """
    return _payment(await service.pay(principal, measure_id, body))


@router.get(
    "/measures/{measure_id}/payments",
    response_model=list[AssistancePaymentRead],
    summary="The payments of a measure (发放记录) and their reversals",
    responses=problem_responses(404),
)
async def payments(
    measure_id: MeasureId, service: AssistanceServiceDep, principal: AssistanceReader
) -> list[AssistancePaymentRead]:
    """Payments and reversals (冲正) of the measure, by month."""
    return await service.payments(principal, measure_id)


@router.post(
    "/payments/{payment_id}/reversal",
    status_code=201,
    response_model=AssistancePaymentRead,
    summary="Reverse a payment (冲正); the registry takes the income back out",
    responses={200: {"model": AssistancePaymentRead}, **problem_responses(404, 409, 422)},
)
async def reverse(
    payment_id: PaymentId, body: AssistanceReversalCreate, service: AssistanceServiceDep, principal: AssistanceWriter
) -> JSONResponse:
    """Reverses (冲正) a payment: a reversal record, and the registry removes the income through the outbox, once.
    The month may then be paid again (a correction). A second reversal answers the first (200); reversing a
    reversal is 409 `payment_is_reversal`.
    """
    return _payment(await service.reverse(principal, payment_id, body))
