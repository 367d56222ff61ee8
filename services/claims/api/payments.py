"""Payments (赔款支付): batches, the bank file, confirmations."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response

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
from shared.openapi import problem_example
from shared.pagination import Page
from shared.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

BANK_FILE_EXAMPLE = (
    "payment_id,attempt,account_holder,bank_name,bank_account,amount,memo\n"
    "9b2e4c1a-6f3d-4e8b-a7c5-1d2f3e4a5b6c,1,张建国,中国农业银行安阳分行,6222021234567890123,12000.00,"
    "防贫保险理赔 anti-poverty insurance illness claim 3f6c1b2a-8d4e-4c7a-9b1f-2e5d6a7c8b90\n"
)
CONFIRMATION_EXAMPLE = (
    "payment_id,status,reason,bank_reference,paid_date\n"
    "9b2e4c1a-6f3d-4e8b-a7c5-1d2f3e4a5b6c,paid,,AB20260412000123,2026-04-12\n"
    "5d7e8f90-1a2b-4c3d-9e8f-7a6b5c4d3e2f,failed,账户已销户 (account closed),,\n"
)

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.post(
    "/batches",
    status_code=201,
    summary="Create a payment batch (支付批次)",
    description="Lists approved claims (and failed payments to send again) with a declared count and total that "
    "must add up. Bank accounts are revealed by the registry for this purpose (audited). A batch is refused "
    "whole, 409 `bank_details_incomplete`, when any claim's household lacks the account holder (户名) or the "
    "bank name (开户行) in the registry; `claims` lists each such claim with what it lacks. Nothing is sent in "
    "part: complete the registry's bank details and create the batch again.",
    responses={
        200: {
            "model": BatchRead,
            "description": "the earlier request's answer again (Idempotency-Key), or the resource that existed already",
        },
        **problem_responses(409, 422, 503),
        **problem_example(
            409,
            "bank_details_incomplete",
            "1 claim(s) of the batch lack the account holder or the bank name in the registry; "
            "complete the household's bank details and create the batch again",
            claims=[
                {
                    "claim_id": "2c1f6d7e-5b4a-4c3d-8e9f-0a1b2c3d4e5f",
                    "household_id": "7d3e2f1a-9b8c-4d5e-a6f7-0b1c2d3e4f5a",
                    "missing": ["bank_name"],
                }
            ],
        ),
    },
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
    """Reads one payment batch (支付批次) with its payments: amounts, status of each (pending, paid, failed) and the
    batch's totals; account numbers masked.
    """
    return await payments.get_batch(principal, batch_id)


@router.get(
    "/batches/{batch_id}/bank-file",
    summary="The bank file (CSV or XLSX, full account numbers; each export audited)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {"example": BANK_FILE_EXAMPLE},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "the bank file; `format=xlsx` for a workbook",
        },
        **problem_responses(404),
    },
)
async def bank_file(
    batch_id: UUID,
    payments: PaymentServiceDep,
    principal: PaymentOfficer,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (default) or xlsx")] = "csv",
) -> Response:
    """The bank file (代发文件) of a payment batch: one line per payment with the full account number, bank
    name, account holder, amount and memo, for the county's bank to pay out (代发). `format=csv` (default): UTF-8
    with a BOM; `format=xlsx`: a workbook whose amount column is numbers (SUM equals the batch's declared total)
    and attempt column integers, account numbers text. Every line has its holder and bank name: a batch whose
    bank details are incomplete is refused when it is created (409 `bank_details_incomplete`). Each download
    is written to the audit log (审计日志); the file is not cached (`Cache-Control: no-store`).
    """
    xlsx = format == "xlsx"
    content = await payments.bank_file(principal, batch_id, xlsx=xlsx)
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE if xlsx else CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="batch-{batch_id}.{format}"',
            "Cache-Control": "no-store",
        },
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
    body: Annotated[bytes, Body(media_type="text/csv", examples=[CONFIRMATION_EXAMPLE])],
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
    """Lists the payments (赔付款) of your region, filtered by batch, status or claim, paged by `cursor`."""
    return await payments.search(
        principal, batch_id=batch_id, status=status, claim_id=claim_id, cursor=cursor, limit=limit
    )


@router.get("/{payment_id}", summary="One payment", responses=problem_responses(404))
async def get_payment(payment_id: UUID, payments: PaymentServiceDep, principal: PaymentReader) -> PaymentRead:
    """Reads one payment (赔付款): the claim, amount, masked account, status (pending, paid, failed), the bank's
    reference or the failure reason, and the number of attempts.
    """
    return await payments.get(principal, payment_id)


@router.post(
    "/{payment_id}/confirmation",
    summary="Confirm one payment (paid / failed; 支付结果确认)",
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
