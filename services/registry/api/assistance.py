"""Assistance payments as income (帮扶资金计入收入): screening's outbox posts each payment of a measure
here, once (shared/contracts/assistance.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from services.registry.service.assistance_income import AssistanceIncomeService
from services.registry.service.common import BENEFIT_RECORDERS, READERS
from shared.auth import Principal, require_roles
from shared.contracts.assistance import (
    AssistanceIncomeList,
    AssistanceIncomePost,
    AssistanceIncomeRead,
    AssistanceIncomeReversal,
)
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS

router = APIRouter(prefix="/v1/households", tags=["households"])

Recorder = Annotated[Principal, Depends(require_roles(*BENEFIT_RECORDERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
HouseholdId = Annotated[uuid.UUID, Path(description="household id (农户 id)")]
PaymentId = Annotated[uuid.UUID, Path(description="screening's payment id (帮扶资金发放 id)")]


async def _service(session: SessionDep, request: Request, principal: Recorder) -> AssistanceIncomeService:
    return AssistanceIncomeService(session, principal, request.app.state.clock)


async def _reader(session: SessionDep, request: Request, principal: Reader) -> AssistanceIncomeService:
    return AssistanceIncomeService(session, principal, request.app.state.clock)


Writer = Annotated[AssistanceIncomeService, Depends(_service)]
ReaderService = Annotated[AssistanceIncomeService, Depends(_reader)]


@router.post(
    "/{household_id}/assistance-income",
    status_code=201,
    response_model=AssistanceIncomeRead,
    summary="Record an assistance payment as income (帮扶资金计入家庭收入)",
    responses={200: {"model": AssistanceIncomeRead}, **problem_responses(404, 409, 422)},
)
async def post_assistance_income(
    household_id: HouseholdId, body: AssistanceIncomePost, service: Writer
) -> JSONResponse:
    """Records a payment of an assistance measure (帮扶资金) as income of its year and type (工资性/经营性/财产性/
    转移性收入), through the benefit path: it counts in the year's per-capita net income (人均纯收入) and in the
    income the next screening run reads. Exactly once per `payment_id`: the same payment again answers the
    first record (200, `Idempotency-Replayed: true`); the same id with other details is 409
    `assistance_payment_conflict`; an archived household is 409 `household_archived`.
    """
    result = await service.post(household_id, body)
    headers = dict(REPLAY_HEADERS) if result.replayed else {}
    return JSONResponse(
        result.value.model_dump(mode="json"), status_code=201 if result.created else 200, headers=headers
    )


@router.post(
    "/{household_id}/assistance-income/{payment_id}/reversal",
    response_model=AssistanceIncomeRead,
    summary="Reverse an assistance payment's income (冲正帮扶资金收入)",
    responses=problem_responses(404, 409, 422),
)
async def reverse_assistance_income(
    household_id: HouseholdId, payment_id: PaymentId, body: AssistanceIncomeReversal, service: Writer
) -> AssistanceIncomeRead:
    """Reverses (冲正) an assistance payment recorded as income: its benefit leaves the year's income. Once: the
    same reversal again answers the reversed record; another reversal of it is 409 `assistance_payment_conflict`;
    a payment the registry does not hold is 404 `assistance_payment_unknown`.
    """
    return await service.reverse(household_id, payment_id, body)


@router.get(
    "/{household_id}/assistance-income",
    response_model=AssistanceIncomeList,
    summary="Assistance payments counted as income (帮扶资金收入), with totals by year and type",
    responses=problem_responses(404, 422),
)
async def list_assistance_income(
    household_id: HouseholdId,
    service: ReaderService,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="only this income year", examples=[2026])] = None,
) -> AssistanceIncomeList:
    """The household's assistance payments taken as income (帮扶资金收入), each with the link back to screening's
    payment and measure, and the posted totals by year and income type.
    """
    return await service.list(household_id, year)
