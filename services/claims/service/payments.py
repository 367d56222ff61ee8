"""Payments (赔款支付): batches, the bank file out, the confirmation file in, exactly once.

Exactly one payment per claim is a database fact (UNIQUE (claim_id) on `claims.payment`), not
only code: a retry after `payment_failed` re-sends the same payment row as a new attempt. Every
state change locks the claim row first, then the payment row, so concurrent confirmations queue
and the second sees the first's result. A confirmed payment enqueues the registry benefit in the
same transaction (outbox), keyed by the payment id, so the registry records it once.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.api.schemas import (
    BatchCreate,
    BatchRead,
    ConfirmationOutcome,
    PaymentConfirmation,
    PaymentRead,
    ReconciliationReport,
)
from services.claims.clients.registry import BankAccountMissing
from services.claims.db.claim_repository import ClaimRepository, ClaimRow
from services.claims.db.payment_repository import BatchRow, PaymentRepository, PaymentRow
from services.claims.domain.workflow import Actor, ClaimAction, ClaimState, PaymentOutcome, take_step
from services.claims.metrics import PAYMENTS
from services.claims.service.claims import StepTaker, snapshot
from services.claims.service.common import SERVICE, Created, Idempotency, Runtime, idempotent
from shared import spreadsheets
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.contracts.registry import BankAccountReveal
from shared.errors import Conflict, FieldError, NotFound, PayloadTooLarge, ServiceError, Unprocessable
from shared.logging import get_logger
from shared.pagination import Page, next_cursor, read_cursor
from shared.pii import mask_bank_account

log = get_logger("fangpin.claims.payments")

CENT = Decimal("0.01")
BANK_FILE_COLUMNS = ("payment_id", "attempt", "account_holder", "bank_name", "bank_account", "amount", "memo")
CONFIRMATION_COLUMNS = ("payment_id", "status", "reason", "bank_reference", "paid_date")
MAX_CONFIRMATION_BYTES = 20 * 1024 * 1024


def incomplete_bank_details(
    lines: list[tuple[ClaimRow, Decimal]], accounts: dict[uuid.UUID, BankAccountReveal]
) -> list[dict[str, Any]]:
    """Row by row, the claims whose revealed account lacks the holder's name or the bank's name."""
    found = []
    for row, _ in lines:
        account = accounts[row.household_id]
        lacking = [
            name
            for name, value in (("account_holder", account.account_holder), ("bank_name", account.bank_name))
            if not (value or "").strip()
        ]
        if lacking:
            found.append({"claim_id": str(row.id), "household_id": str(row.household_id), "missing": lacking})
    return found


def payment_read(row: PaymentRow) -> PaymentRead:
    return PaymentRead(
        id=row.id,
        claim_id=row.claim_id,
        batch_id=row.batch_id,
        household_id=row.household_id,
        category=row.category,
        amount=row.amount,
        status=row.status,
        attempts=row.attempts,
        bank_account=row.bank_account_masked,
        bank_name=row.bank_name,
        failure_reason=row.failure_reason,
        bank_reference=row.bank_reference,
        paid_date=row.paid_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _system(principal: Principal) -> Actor:
    """Payment steps are the system's (role service); the HTTP layer has already checked the caller."""
    return Actor(principal.sub, Role.SERVICE, principal.region)


class PaymentService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.repo = PaymentRepository(session)
        self.claims = ClaimRepository(session)

    # ------------------------------------------------------------ batches

    async def _payable(self, principal: Principal, body: BatchCreate) -> list[tuple[ClaimRow, Decimal]]:
        """The claims of a batch with their amounts; 422/409 unless the batch adds up exactly."""
        errors: list[FieldError] = []
        seen: set[uuid.UUID] = set()
        lines: list[tuple[ClaimRow, Decimal]] = []
        not_payable: list[str] = []
        for i, claim_id in enumerate(body.claim_ids):
            if claim_id in seen:
                errors.append(FieldError(field=f"claim_ids[{i}]", message="listed twice"))
                continue
            seen.add(claim_id)
            view = await self.claims.view(claim_id)
            if view is None or not principal.can_see(view.claim.village_code):
                errors.append(
                    FieldError(field=f"claim_ids[{i}]", message="no such claim in your region", code="claim_not_found")
                )
                continue
            row = view.claim
            if row.state == ClaimState.APPROVED.value and view.assessment is not None:
                lines.append((row, view.assessment.payout))
            elif row.state == ClaimState.PAYMENT_FAILED.value and view.payment is not None:
                lines.append((row, view.payment.amount))
            else:
                not_payable.append(str(claim_id))
        if errors:
            raise Unprocessable(
                "the batch lists claims it cannot pay; see errors", code="invalid_batch", errors=errors[:200]
            )
        if not_payable:
            raise Conflict(
                "only approved claims (or failed payments) can be paid",
                code="claim_not_payable",
                extra={"claim_ids": not_payable[:200]},
            )
        counties = {row.county_code for row, _ in lines}
        if len(counties) > 1:
            raise Unprocessable(
                "a batch pays claims of one county",
                code="invalid_batch",
                errors=[FieldError(field="claim_ids", message=f"counties {sorted(counties)}")],
            )
        total = sum((amount for _, amount in lines), Decimal("0"))
        if body.declared_count != len(lines) or body.declared_total != total:
            raise Unprocessable(
                "the batch does not add up: its declared count and total must equal the claims it lists",
                code="batch_totals_mismatch",
                errors=[
                    FieldError(field="declared_count", message=f"the claims listed are {len(lines)}"),
                    FieldError(field="declared_total", message=f"their payouts add up to {total:.2f}"),
                ],
                extra={"count": len(lines), "total": f"{total:.2f}"},
            )
        if len(lines) > self.runtime.settings.max_batch_size:
            raise Unprocessable(
                f"at most {self.runtime.settings.max_batch_size} claims per batch", code="invalid_batch"
            )
        return lines

    async def create_batch(self, principal: Principal, body: BatchCreate, key: str | None) -> Created[BatchRead]:
        guard = Idempotency(principal, "POST /v1/payments/batches", key, body)
        replayed = await guard.replay(self.session, BatchRead)
        await self.session.rollback()
        if replayed is not None:
            return replayed
        lines = await self._payable(principal, body)
        await self.session.rollback()
        batch_id = uuid.uuid4()
        cipher = self.runtime.cipher()
        # Remote reads first: the bank accounts, revealed by the registry for this batch (it audits each).
        accounts: dict[uuid.UUID, BankAccountReveal] = {}
        missing: list[str] = []
        for row, _ in lines:
            household = row.household_id
            if household in accounts:
                continue
            try:
                accounts[household] = await self.runtime.registry.reveal_bank_account(
                    household, f"claim payment 理赔支付 (batch {batch_id}, claim {row.id})"
                )
            except BankAccountMissing:
                missing.append(str(row.id))
        if missing:
            raise Conflict(
                "some households have no bank account on file",
                code="bank_account_missing",
                extra={"claim_ids": missing[:200]},
            )
        incomplete = incomplete_bank_details(lines, accounts)
        if incomplete:
            # refused whole, never sent in part: a bank rejects a line without 户名 or 开户行, and a batch
            # split by the bank is harder to reconcile than one fixed in the registry and sent again
            raise Conflict(
                f"{len(incomplete)} claim(s) of the batch lack the account holder or the bank name in the "
                "registry; complete the household's bank details and create the batch again",
                code="bank_details_incomplete",
                extra={"claims": incomplete[:200]},
            )

        async def work() -> Created[BatchRead]:
            steps = StepTaker(self.session, principal)
            locked = {r.id: r for r in await self.claims.lock_many(r.id for r, _ in lines)}
            county = lines[0][0].county_code
            await self.repo.add_batch(
                {
                    "id": batch_id,
                    "county_code": county,
                    "declared_count": body.declared_count,
                    "declared_total": body.declared_total,
                    "status": "created",
                    "created_by": principal.sub,
                }
            )
            for row, amount in lines:
                current = locked[row.id]
                account = accounts[row.household_id]
                bank = {
                    "bank_account_enc": cipher.encrypt(account.bank_account, purpose="bank_account"),
                    "bank_account_masked": mask_bank_account(account.bank_account),
                    "bank_name": account.bank_name,
                    "account_holder_enc": (
                        cipher.encrypt(account.account_holder, purpose="account_holder")
                        if account.account_holder
                        else None
                    ),
                }
                if current.state == ClaimState.APPROVED.value:
                    action = ClaimAction.START_PAYMENT
                    payment_id = uuid.uuid4()
                    attempt = 1
                    if not await self.repo.insert_payment(
                        {
                            "id": payment_id,
                            "claim_id": row.id,
                            "batch_id": batch_id,
                            "county_code": county,
                            "household_id": row.household_id,
                            "category": row.category,
                            "amount": amount,
                            "status": "pending",
                            "attempts": 1,
                            **bank,
                        }
                    ):
                        raise Conflict(
                            "this claim already has its payment",
                            code="payment_exists",
                            extra={"claim_id": str(row.id)},
                        )
                elif current.state == ClaimState.PAYMENT_FAILED.value:
                    action = ClaimAction.RETRY_PAYMENT
                    existing = await self.repo.by_claim(row.id)
                    assert existing is not None
                    payment_id = existing.id
                    attempt = existing.attempts + 1
                    await self.repo.update(
                        payment_id,
                        batch_id=batch_id,
                        status="pending",
                        attempts=attempt,
                        failure_reason=None,
                        bank_reference=None,
                        **bank,
                    )
                else:
                    raise Conflict(
                        "a claim in this batch changed state meanwhile; nothing was paid",
                        code="claim_not_payable",
                        extra={"claim_ids": [str(row.id)], "state": current.state},
                    )
                await self.repo.add_attempt(
                    {
                        "payment_id": payment_id,
                        "attempt": attempt,
                        "batch_id": batch_id,
                        "county_code": county,
                        "amount": amount,
                        "status": "pending",
                    }
                )
                evidence = {"batch_id": str(batch_id), "attempt": attempt}
                await steps.take(take_step(snapshot(current), action, _system(principal), evidence=evidence))
            for household, account in accounts.items():
                await Auditor(self.session, SERVICE, principal).record(
                    "claims.bank_account.revealed",
                    "household",
                    household,
                    {
                        "purpose": "claim payment",
                        "batch_id": str(batch_id),
                        "bank_account": mask_bank_account(account.bank_account),
                    },
                )
            await Auditor(self.session, SERVICE, principal).record(
                "claims.payment_batch.created",
                "payment_batch",
                batch_id,
                {"count": body.declared_count, "total": f"{body.declared_total:.2f}"},
            )
            return Created(await self._batch_read(batch_id))

        return await idempotent(self.session, guard, BatchRead, work)

    async def _batch_read(self, batch_id: uuid.UUID) -> BatchRead:
        batch = await self.repo.batch(batch_id)
        assert batch is not None
        return BatchRead(
            id=batch.id,
            county_code=batch.county_code,
            declared_count=batch.declared_count,
            declared_total=batch.declared_total,
            status=batch.status,
            created_at=batch.created_at,
            payments=[payment_read(line.payment) for line in await self.repo.batch_lines(batch_id)],
        )

    async def _visible_batch(self, principal: Principal, batch_id: uuid.UUID) -> BatchRow:
        batch = await self.repo.batch(batch_id)
        if batch is None or not principal.can_see(batch.county_code):
            raise NotFound(f"no payment batch {batch_id}", code="batch_not_found")
        return batch

    async def get_batch(self, principal: Principal, batch_id: uuid.UUID) -> BatchRead:
        await self._visible_batch(principal, batch_id)
        return await self._batch_read(batch_id)

    async def bank_file(self, principal: Principal, batch_id: uuid.UUID, *, xlsx: bool = False) -> bytes:
        """The instructions for the bank, with the full account numbers (each export is audited).

        CSV (UTF-8 with a BOM) or XLSX, both written by shared/spreadsheets.py: amounts are numbers
        (two places), attempts integers, account numbers and IDs text.
        """
        await self._visible_batch(principal, batch_id)
        cipher = self.runtime.cipher()
        lines = await self.repo.batch_lines(batch_id)
        rows: list[list[spreadsheets.Cell]] = []
        for line in lines:
            p = line.payment
            holder = cipher.decrypt(p.account_holder_enc, purpose="account_holder") if p.account_holder_enc else ""
            rows.append(
                [
                    str(p.id),
                    line.attempt,
                    holder,
                    p.bank_name or "",
                    cipher.decrypt(p.bank_account_enc, purpose="bank_account"),
                    p.amount.quantize(CENT),
                    f"防贫保险理赔 anti-poverty insurance {p.category} claim {p.claim_id}",
                ]
            )
        # UTF-8 with a BOM (spreadsheet programs read Chinese correctly); a holder or bank name that
        # starts like a formula is written with a quote in front (shared/spreadsheets.py)
        if xlsx:
            out = spreadsheets.xlsx_bytes([spreadsheets.Sheet("代发 bank file", BANK_FILE_COLUMNS, rows)])
        else:
            out = spreadsheets.csv_bytes(BANK_FILE_COLUMNS, rows)
        await Auditor(self.session, SERVICE, principal).record(
            "claims.bank_file.exported",
            "payment_batch",
            batch_id,
            {"lines": len(lines), "format": "xlsx" if xlsx else "csv"},
        )
        await self.session.commit()
        return out

    # ------------------------------------------------------------ confirmations

    async def confirm(
        self,
        principal: Principal,
        payment_id: uuid.UUID,
        body: PaymentConfirmation,
        *,
        batch_id: uuid.UUID | None = None,
    ) -> ConfirmationOutcome:
        """Apply the bank's answer for one payment; a repeat of an applied answer changes nothing."""
        errors = []
        if body.status == "paid" and body.paid_date is None:
            errors.append(FieldError(field="paid_date", message="required when paid"))
        if body.status == "failed" and not (body.reason or "").strip():
            errors.append(FieldError(field="reason", message="required when failed"))
        if errors:
            raise Unprocessable("the confirmation is incomplete", code="invalid_confirmation", errors=errors)
        found = await self.repo.with_village(payment_id)
        if found is None or not principal.can_see(found.village_code):
            raise NotFound(f"no payment {payment_id}", code="payment_not_found")
        if batch_id is not None and found.payment.batch_id != batch_id:
            raise Conflict("the payment is not (or no longer) in this batch", code="payment_not_in_batch")
        claim_row = await self.claims.get(found.payment.claim_id, lock=True)
        current = await self.repo.get(payment_id, lock=True)
        assert claim_row is not None
        assert current is not None
        if current.status != "pending":
            if current.status == body.status:
                await self.session.rollback()
                return ConfirmationOutcome(payment=payment_read(current), changed=False)
            raise Conflict(
                f"the payment's attempt {current.attempts} is already {current.status}",
                code="payment_already_paid" if current.status == "paid" else "payment_attempt_closed",
            )
        if body.status == "paid":
            assert body.paid_date is not None
            await self.repo.update(
                payment_id, status="paid", paid_date=body.paid_date, bank_reference=body.bank_reference
            )
            await self.repo.close_attempt(
                payment_id, current.attempts, status="paid", bank_reference=body.bank_reference
            )
            action = ClaimAction.CONFIRM_PAYMENT
        else:
            await self.repo.update(
                payment_id, status="failed", failure_reason=body.reason, bank_reference=body.bank_reference
            )
            await self.repo.close_attempt(
                payment_id,
                current.attempts,
                status="failed",
                failure_reason=body.reason,
                bank_reference=body.bank_reference,
            )
            action = ClaimAction.FAIL_PAYMENT
        settled = PaymentOutcome(
            payment_id=payment_id,
            household_id=current.household_id,
            category=current.category,
            amount=current.amount,
            paid_date=body.paid_date,
        )
        step = take_step(
            snapshot(claim_row),
            action,
            _system(principal),
            comment=body.reason,
            evidence={
                "payment_id": str(payment_id),
                "attempt": current.attempts,
                "bank_reference": body.bank_reference,
            },
            payment=settled,
        )
        if not await self.repo.open_attempts(current.batch_id):
            await self.repo.set_batch_status(current.batch_id, "reconciled")
        await StepTaker(self.session, principal).take(step)
        await self.session.commit()
        PAYMENTS.labels(body.status).inc()
        log.info(f"claims.payment.{body.status}", payment_id=str(payment_id), claim_id=str(claim_row.id))
        updated = await self.repo.get(payment_id)
        assert updated is not None
        return ConfirmationOutcome(payment=payment_read(updated), changed=True)

    async def reconcile(self, principal: Principal, batch_id: uuid.UUID, content: bytes) -> ReconciliationReport:
        """The bank's confirmation file: one line per payment (paid, or failed with a reason).

        Larger than MAX_CONFIRMATION_BYTES: 413, before the batch is looked up."""
        if len(content) > MAX_CONFIRMATION_BYTES:
            raise PayloadTooLarge(f"at most {MAX_CONFIRMATION_BYTES} bytes")
        await self._visible_batch(principal, batch_id)
        await self.session.rollback()
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unprocessable("the confirmation file must be UTF-8 CSV", code="invalid_file") from exc
        reader = csv.DictReader(io.StringIO(text))
        try:
            header = [h.strip() for h in reader.fieldnames or []]
            records = list(reader)
        except csv.Error as exc:
            raise Unprocessable(f"the confirmation file is not readable CSV: {exc}", code="invalid_file") from exc
        missing = [c for c in ("payment_id", "status") if c not in header]
        if missing:
            raise Unprocessable(
                "the confirmation file needs a header with payment_id and status",
                code="invalid_file",
                errors=[FieldError(field="header", message=f"missing {missing}")],
            )
        report = {"rows": 0, "paid": 0, "failed": 0, "unchanged": 0}
        errors: list[FieldError] = []
        for number, raw in enumerate(records, start=2):
            record = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
            report["rows"] += 1
            try:
                payment_id = uuid.UUID(record.get("payment_id", ""))
                confirmation = PaymentConfirmation(
                    status=record.get("status", ""),
                    reason=record.get("reason") or None,
                    bank_reference=record.get("bank_reference") or None,
                    paid_date=date.fromisoformat(record["paid_date"]) if record.get("paid_date") else None,
                )
            except ValueError as exc:
                errors.append(
                    FieldError(field=f"line {number}", message=str(exc).splitlines()[0][:300], code="invalid_line")
                )
                continue
            try:
                outcome = await self.confirm(principal, payment_id, confirmation, batch_id=batch_id)
            except ServiceError as exc:
                await self.session.rollback()
                errors.append(FieldError(field=f"line {number}", message=exc.detail or exc.title, code=exc.code))
                continue
            if outcome.changed:
                report[confirmation.status] += 1
            else:
                report["unchanged"] += 1
        batch = await self.repo.batch(batch_id)
        assert batch is not None
        await self.session.rollback()
        return ReconciliationReport(batch_id=batch_id, errors=errors[:500], batch_status=batch.status, **report)

    # ------------------------------------------------------------ reads

    async def get(self, principal: Principal, payment_id: uuid.UUID) -> PaymentRead:
        found = await self.repo.with_village(payment_id)
        if found is None or not principal.can_see(found.village_code):
            raise NotFound(f"no payment {payment_id}", code="payment_not_found")
        return payment_read(found.payment)

    async def search(
        self,
        principal: Principal,
        *,
        batch_id: uuid.UUID | None,
        status: str | None,
        claim_id: uuid.UUID | None,
        cursor: str | None,
        limit: int,
    ) -> Page[PaymentRead]:
        after = read_cursor(cursor, uuid.UUID)
        after_id = after[0] if after else None
        rows = await self.repo.search(
            region=principal.region,
            batch_id=batch_id,
            status=status,
            claim_id=claim_id,
            after=after_id,
            limit=limit + 1,
        )
        items = [payment_read(r.payment) for r in rows[:limit]]
        return Page[PaymentRead](items=items, next_cursor=next_cursor(rows, limit, lambda r: [str(r.payment.id)]))
