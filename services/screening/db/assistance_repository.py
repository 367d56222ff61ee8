"""Every query of assistance (rules.md §4): measures as typed records with their history, their
payments and reversals, home visits and the visit coverage list; attachments go through
shared/attachments.py on the tables declared here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import (
    SNAPSHOT,
    assistance_measure,
    assistance_measure_history,
    assistance_payment,
    row_as,
    visit,
)

MEASURE, HISTORY, PAYMENT, VISIT = assistance_measure, assistance_measure_history, assistance_payment, visit


@dataclass(frozen=True, slots=True)
class AssistanceMeasure:
    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    measure_type: str
    status: str
    risk_code: str | None
    due_date: date | None
    start_date: date | None
    end_date: date | None
    provider: str | None
    details: dict[str, Any]
    amount: Decimal | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MeasureHistory:
    id: int
    measure_id: uuid.UUID
    version: int
    action: str
    changes: dict[str, Any]
    actor_sub: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AssistancePayment:
    id: uuid.UUID
    county_code: str
    village_code: str
    measure_id: uuid.UUID
    household_id: uuid.UUID
    measure_type: str
    income_type: str
    period: str
    year: int
    amount: Decimal
    paid_date: date
    kind: str
    reverses_id: uuid.UUID | None
    status: str
    reason: str | None
    details: dict[str, Any]
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Visit:
    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    visit_date: date
    visitors: list[str]
    findings: dict[str, Any]
    case_id: uuid.UUID | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A household of the register not visited within the interval (走访覆盖)."""

    household_id: uuid.UUID
    household_number: str | None
    township_code: str
    village_code: str
    last_visit_date: date | None


class AssistanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- measures --------------------------------------------------------------------------

    async def insert_measure(self, values: dict[str, Any]) -> AssistanceMeasure:
        row = (await self.session.execute(MEASURE.insert().values(**values).returning(MEASURE))).mappings().one()
        return row_as(AssistanceMeasure, row)

    async def measure(self, measure_id: uuid.UUID, *, for_update: bool = False) -> AssistanceMeasure | None:
        query = select(MEASURE).where(MEASURE.c.id == measure_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(AssistanceMeasure, row) if row is not None else None

    async def update_measure(self, measure_id: uuid.UUID, values: dict[str, Any]) -> AssistanceMeasure:
        stmt = MEASURE.update().where(MEASURE.c.id == measure_id).values(**values).returning(MEASURE)
        return row_as(AssistanceMeasure, (await self.session.execute(stmt)).mappings().one())

    async def deliver_measure(self, measure_id: uuid.UUID, *, end_date: date, at: datetime) -> AssistanceMeasure:
        """Mark a measure delivered (已落实) on `end_date`, version + 1 (a 公益岗 assignment that ended)."""
        stmt = (
            MEASURE.update()
            .where(MEASURE.c.id == measure_id)
            .values(status="delivered", end_date=end_date, version=MEASURE.c.version + 1, updated_at=at)
            .returning(MEASURE)
        )
        return row_as(AssistanceMeasure, (await self.session.execute(stmt)).mappings().one())

    async def measures_of(self, household_id: uuid.UUID) -> list[AssistanceMeasure]:
        query = (
            select(MEASURE)
            .where(MEASURE.c.household_id == household_id)
            .order_by(MEASURE.c.due_date.asc().nulls_last(), MEASURE.c.created_at, MEASURE.c.id)
        )
        return [row_as(AssistanceMeasure, r) for r in (await self.session.execute(query)).mappings()]

    async def insert_history(self, values: dict[str, Any]) -> None:
        await self.session.execute(HISTORY.insert().values(**values))

    async def history(self, measure_id: uuid.UUID) -> list[MeasureHistory]:
        query = select(HISTORY).where(HISTORY.c.measure_id == measure_id).order_by(HISTORY.c.id)
        return [row_as(MeasureHistory, r) for r in (await self.session.execute(query)).mappings()]

    # --- payments --------------------------------------------------------------------------

    async def insert_payment(self, values: dict[str, Any]) -> AssistancePayment | None:
        """The new payment, or None when the measure already has a live payment for the period."""
        stmt = (
            insert(PAYMENT)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[PAYMENT.c.county_code, PAYMENT.c.measure_id, PAYMENT.c.period],
                index_where=text("kind = 'payment' AND status = 'posted'"),
            )
            .returning(PAYMENT)
        )
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        return row_as(AssistancePayment, row) if row is not None else None

    async def insert_reversal(self, values: dict[str, Any]) -> AssistancePayment:
        row = (await self.session.execute(PAYMENT.insert().values(**values).returning(PAYMENT))).mappings().one()
        return row_as(AssistancePayment, row)

    async def payment(self, payment_id: uuid.UUID, *, for_update: bool = False) -> AssistancePayment | None:
        query = select(PAYMENT).where(PAYMENT.c.id == payment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(AssistancePayment, row) if row is not None else None

    async def live_payment(self, county_code: str, measure_id: uuid.UUID, period: str) -> AssistancePayment | None:
        query = select(PAYMENT).where(
            PAYMENT.c.county_code == county_code,
            PAYMENT.c.measure_id == measure_id,
            PAYMENT.c.period == period,
            PAYMENT.c.kind == "payment",
            PAYMENT.c.status == "posted",
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(AssistancePayment, row) if row is not None else None

    async def reversal_of(self, payment_id: uuid.UUID) -> AssistancePayment | None:
        query = select(PAYMENT).where(PAYMENT.c.reverses_id == payment_id, PAYMENT.c.kind == "reversal")
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(AssistancePayment, row) if row is not None else None

    async def mark_reversed(self, payment_id: uuid.UUID) -> None:
        await self.session.execute(PAYMENT.update().where(PAYMENT.c.id == payment_id).values(status="reversed"))

    async def payments_of(self, measure_id: uuid.UUID) -> list[AssistancePayment]:
        query = (
            select(PAYMENT).where(PAYMENT.c.measure_id == measure_id).order_by(PAYMENT.c.period, PAYMENT.c.created_at)
        )
        return [row_as(AssistancePayment, r) for r in (await self.session.execute(query)).mappings()]

    async def paid_total(self, measure_id: uuid.UUID) -> Decimal:
        query = select(func.coalesce(func.sum(PAYMENT.c.amount), 0)).where(
            PAYMENT.c.measure_id == measure_id, PAYMENT.c.kind == "payment", PAYMENT.c.status == "posted"
        )
        return Decimal((await self.session.execute(query)).scalar_one())

    # --- visits ----------------------------------------------------------------------------

    async def insert_visit(self, values: dict[str, Any]) -> Visit:
        row = (await self.session.execute(VISIT.insert().values(**values).returning(VISIT))).mappings().one()
        return row_as(Visit, row)

    async def visit(self, visit_id: uuid.UUID) -> Visit | None:
        row = (await self.session.execute(select(VISIT).where(VISIT.c.id == visit_id))).mappings().one_or_none()
        return row_as(Visit, row) if row is not None else None

    async def set_visit_case(self, visit_id: uuid.UUID, case_id: uuid.UUID) -> Visit:
        stmt = VISIT.update().where(VISIT.c.id == visit_id).values(case_id=case_id).returning(VISIT)
        return row_as(Visit, (await self.session.execute(stmt)).mappings().one())

    async def visits_of(self, household_id: uuid.UUID) -> list[Visit]:
        query = select(VISIT).where(VISIT.c.household_id == household_id).order_by(VISIT.c.visit_date.desc())
        return [row_as(Visit, r) for r in (await self.session.execute(query)).mappings()]

    async def uncovered(self, region: str, county_code: str, since: date, limit: int) -> list[Uncovered]:
        """Households of the county (under `region`) with no visit on or after `since` (set-based)."""
        rows = await self.session.execute(
            text(
                f"SELECT h.household_id, h.household_number, h.township_code, h.village_code, "
                f"  (SELECT max(v.visit_date) FROM screening.visit v "
                f"   WHERE v.county_code = h.county_code AND v.household_id = h.household_id) AS last_visit_date "
                f"FROM {SNAPSHOT} h "
                f"WHERE h.county_code = :county AND h.village_code LIKE :prefix "
                f"AND NOT EXISTS (SELECT 1 FROM screening.visit v WHERE v.county_code = h.county_code "
                f"  AND v.household_id = h.household_id AND v.visit_date >= :since) "
                f"ORDER BY h.village_code, h.household_number NULLS LAST, h.household_id LIMIT :limit"
            ),
            {"county": county_code, "prefix": f"{region}%", "since": since, "limit": limit},
        )
        return [row_as(Uncovered, r) for r in rows.mappings()]
