"""Payments (赔款支付): batches, the bank file, confirmations."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import PlainTextResponse

from services.claims.api.deps import (
    IdempotencyKey,
    PaymentOfficer,
    PaymentReader,
    PaymentServiceDep,
)
from services.claims.api.schemas import (
    BatchCreate,
    BatchRead,
    ConfirmationOutcome,
    PaymentConfirmation,
    PaymentRead,
    ReconciliationReport,
)
from shared.app import wake_outbox
from shared.contracts.types import Cursor
from shared.errors import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.post(
    "/batches",
    status_code=201,
    summary="Create a payment batch (支付批次)",
    description="Lists approved claims (and failed payments to send again) with a declared count and total that "
    "must add up. Bank accounts are revealed by the registry for this purpose (audited).",
    responses=problem_responses(409, 422, 503),
)
async def create_batch(
    body: BatchCreate,
    payments: PaymentServiceDep,
    principal: PaymentOfficer,
    key: IdempotencyKey,
    response: Response,
) -> BatchRead:
    result = await payments.create_batch(principal, body, key)
    batch = result.value
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/payments/batches/{batch.id}"
    return batch


@router.get("/batches/{batch_id}", summary="One batch with its payments", responses=problem_responses(404))
async def get_batch(batch_id: UUID, payments: PaymentServiceDep, principal: PaymentReader) -> BatchRead:
    return await payments.get_batch(principal, batch_id)


@router.get(
    "/batches/{batch_id}/bank-file",
    summary="The bank file (CSV, full account numbers; each export audited)",
    response_class=PlainTextResponse,
    responses=problem_responses(404),
)
async def bank_file(batch_id: UUID, payments: PaymentServiceDep, principal: PaymentOfficer) -> Response:
    content = await payments.bank_file(principal, batch_id)
    return Response(
        content.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"', "Cache-Control": "no-store"},
    )


@router.post(
    "/batches/{batch_id}/confirmations",
    summary="The bank's confirmation file (回盘文件; CSV)",
    description="Header `payment_id,status,reason,bank_reference,paid_date`; status `paid` (with paid_date) or "
    "`failed` (with reason). Lines already applied are counted as unchanged; bad lines are reported, not fatal.",
    responses=problem_responses(404, 413, 422),
)
async def confirmations(
    batch_id: UUID,
    request: Request,
    payments: PaymentServiceDep,
    principal: PaymentOfficer,
    body: Annotated[
        bytes, Body(media_type="text/csv", examples=["payment_id,status,reason,bank_reference,paid_date\n"])
    ],
) -> ReconciliationReport:
    report = await payments.reconcile(principal, batch_id, body)
    wake_outbox(request)
    return report


@router.get("", summary="Payments in your region", response_model=Page[PaymentRead])
async def list_payments(
    payments: PaymentServiceDep,
    principal: PaymentReader,
    batch_id: Annotated[UUID | None, Query()] = None,
    status: Annotated[Literal["pending", "paid", "failed"] | None, Query()] = None,
    claim_id: Annotated[UUID | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[PaymentRead]:
    return await payments.search(
        principal, batch_id=batch_id, status=status, claim_id=claim_id, cursor=cursor, limit=limit
    )


@router.get("/{payment_id}", summary="One payment", responses=problem_responses(404))
async def get_payment(payment_id: UUID, payments: PaymentServiceDep, principal: PaymentReader) -> PaymentRead:
    return await payments.get(principal, payment_id)


@router.post(
    "/{payment_id}/confirmation",
    summary="Confirm one payment (paid / failed)",
    description="Idempotent: a confirmation already applied answers `changed: false`. A paid payment records the "
    "benefit in the registry through the outbox.",
    responses=problem_responses(404, 409, 422),
)
async def confirm(
    payment_id: UUID,
    body: PaymentConfirmation,
    request: Request,
    payments: PaymentServiceDep,
    principal: PaymentOfficer,
) -> ConfirmationOutcome:
    outcome = await payments.confirm(principal, payment_id, body)
    if outcome.changed:
        wake_outbox(request)
    return outcome
