"""Every query on payment batches, payments and their attempts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import claim, payment, payment_attempt, payment_batch


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One payment batch (table payment_batch)."""

    id: uuid.UUID
    county_code: str
    declared_count: int
    declared_total: Decimal
    status: str
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> BatchRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """One payment (table payment); the bank account and holder are encrypted at rest."""

    id: uuid.UUID
    claim_id: uuid.UUID
    batch_id: uuid.UUID
    county_code: str
    household_id: uuid.UUID
    category: str
    amount: Decimal
    status: str
    attempts: int
    bank_account_enc: bytes
    bank_account_masked: str
    bank_name: str | None
    account_holder_enc: bytes | None
    failure_reason: str | None
    bank_reference: str | None
    paid_date: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> PaymentRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class PlacedPayment:
    """A payment with its claim's village (what access scoping reads)."""

    payment: PaymentRow
    village_code: str

    @classmethod
    def of(cls, row: RowMapping) -> PlacedPayment:
        return cls(payment=PaymentRow.of(row), village_code=row["village_code"])


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One attempt of a batch with its payment (the bank file's line)."""

    payment: PaymentRow
    attempt: int
    attempt_status: str
    village_code: str

    @classmethod
    def of(cls, row: RowMapping) -> BatchLine:
        return cls(
            payment=PaymentRow.of(row),
            attempt=row["attempt"],
            attempt_status=row["attempt_status"],
            village_code=row["village_code"],
        )


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_batch(self, values: dict[str, Any]) -> BatchRow:
        result = await self.session.execute(payment_batch.insert().values(**values).returning(*payment_batch.c))
        return BatchRow.of(result.mappings().one())

    async def batch(self, batch_id: uuid.UUID) -> BatchRow | None:
        query = select(payment_batch).where(payment_batch.c.id == batch_id)
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else BatchRow.of(row)

    async def insert_payment(self, values: dict[str, Any]) -> bool:
        """False when the claim already has its payment: the unique constraint makes it once per claim."""
        result = await self.session.execute(
            insert(payment)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[payment.c.claim_id, payment.c.county_code])
            .returning(payment.c.id)
        )
        return result.scalar_one_or_none() is not None

    async def get(self, payment_id: uuid.UUID, *, lock: bool = False) -> PaymentRow | None:
        query = select(payment).where(payment.c.id == payment_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else PaymentRow.of(row)

    async def with_village(self, payment_id: uuid.UUID) -> PlacedPayment | None:
        query = (
            select(payment, claim.c.village_code)
            .select_from(payment.join(claim, claim.c.id == payment.c.claim_id))
            .where(payment.c.id == payment_id)
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else PlacedPayment.of(row)

    async def by_claim(self, claim_id: uuid.UUID) -> PaymentRow | None:
        query = select(payment).where(payment.c.claim_id == claim_id)
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else PaymentRow.of(row)

    async def update(self, payment_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(payment).where(payment.c.id == payment_id).values(**values, updated_at=func.now())
        )

    async def add_attempt(self, values: dict[str, Any]) -> None:
        await self.session.execute(payment_attempt.insert().values(**values))

    async def close_attempt(self, payment_id: uuid.UUID, attempt: int, **values: Any) -> None:
        await self.session.execute(
            update(payment_attempt)
            .where(payment_attempt.c.payment_id == payment_id, payment_attempt.c.attempt == attempt)
            .values(**values, confirmed_at=func.now())
        )

    async def batch_lines(self, batch_id: uuid.UUID) -> list[BatchLine]:
        """The batch's attempts with their payments, in a stable order."""
        query = (
            select(
                payment,
                payment_attempt.c.attempt,
                payment_attempt.c.status.label("attempt_status"),
                claim.c.village_code,
            )
            .select_from(
                payment_attempt.join(payment, payment.c.id == payment_attempt.c.payment_id).join(
                    claim, claim.c.id == payment.c.claim_id
                )
            )
            .where(payment_attempt.c.batch_id == batch_id)
            .order_by(payment.c.id)
        )
        return [BatchLine.of(r) for r in (await self.session.execute(query)).mappings()]

    async def open_attempts(self, batch_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            payment_attempt.c.batch_id == batch_id, payment_attempt.c.status == "pending"
        )
        return int((await self.session.execute(query)).scalar_one())

    async def set_batch_status(self, batch_id: uuid.UUID, status: str) -> None:
        await self.session.execute(update(payment_batch).where(payment_batch.c.id == batch_id).values(status=status))

    async def search(
        self,
        *,
        region: str,
        batch_id: uuid.UUID | None,
        status: str | None,
        claim_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[PlacedPayment]:
        query = select(payment, claim.c.village_code).select_from(payment.join(claim, claim.c.id == payment.c.claim_id))
        if region:
            query = query.where(claim.c.village_code.startswith(region))
        if batch_id is not None:
            query = query.where(payment.c.batch_id == batch_id)
        if status is not None:
            query = query.where(payment.c.status == status)
        if claim_id is not None:
            query = query.where(payment.c.claim_id == claim_id)
        if after is not None:
            query = query.where(payment.c.id > after)
        rows = (await self.session.execute(query.order_by(payment.c.id).limit(limit))).mappings()
        return [PlacedPayment.of(r) for r in rows]
