"""Queries of `registry.assistance_income`: screening's assistance payments taken as income (issue 13).

The amount itself goes through the benefit path (`HouseholdRepository.insert_benefit` and
`add_benefit_income`); this table keeps the payment's type and the link back to screening's
payment and measure, and the reversal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import Income
from services.registry.db.tables import assistance_income, benefit, income


@dataclass(frozen=True)
class AssistanceIncome:
    """A row of `registry.assistance_income`."""

    payment_id: uuid.UUID
    county_code: str
    household_id: uuid.UUID
    benefit_id: uuid.UUID | None
    measure_id: uuid.UUID
    measure_type: str
    income_type: str
    amount: Decimal
    year: int
    paid_date: date
    status: str
    reversal_id: uuid.UUID | None
    recorded_by: str | None
    created_at: datetime
    reversed_at: datetime | None

    @classmethod
    def of(cls, row: RowMapping) -> AssistanceIncome:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class IncomeTotal:
    year: int
    income_type: str
    amount: Decimal
    payments: int


class AssistanceIncomeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, county_code: str, payment_id: uuid.UUID, *, for_update: bool = False
    ) -> AssistanceIncome | None:
        query = select(assistance_income).where(
            assistance_income.c.county_code == county_code, assistance_income.c.payment_id == payment_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return AssistanceIncome.of(row) if row is not None else None

    async def insert(self, values: dict[str, Any]) -> AssistanceIncome:
        stmt = assistance_income.insert().values(**values).returning(assistance_income)
        return AssistanceIncome.of((await self.session.execute(stmt)).mappings().one())

    async def mark_reversed(
        self, county_code: str, payment_id: uuid.UUID, *, reversal_id: uuid.UUID, at: datetime
    ) -> AssistanceIncome:
        stmt = (
            assistance_income.update()
            .where(assistance_income.c.county_code == county_code, assistance_income.c.payment_id == payment_id)
            .values(status="reversed", reversal_id=reversal_id, reversed_at=at, benefit_id=None)
            .returning(assistance_income)
        )
        return AssistanceIncome.of((await self.session.execute(stmt)).mappings().one())

    async def take_back_income(
        self, *, household_id: uuid.UUID, county_code: str, year: int, amount: Decimal
    ) -> tuple[Income, Income]:
        """Take a reversed payment's amount back out of its year's benefit income: (before, after). A plain
        UPDATE: the upsert of `HouseholdRepository.add_benefit_income` checks its proposed insert row, and a
        negative amount fails `ck_income_non_negative` there before the conflict is resolved."""
        where = (income.c.household_id == household_id, income.c.year == year, income.c.county_code == county_code)
        before = Income(**(await self.session.execute(select(income).where(*where).with_for_update())).mappings().one())
        stmt = (
            income.update()
            .where(*where)
            .values(
                benefit_income=income.c.benefit_income - amount, version=income.c.version + 1, updated_at=func.now()
            )
            .returning(income)
        )
        after = Income(**(await self.session.execute(stmt)).mappings().one())
        return before, after

    async def delete_benefit(self, county_code: str, benefit_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(benefit).where(benefit.c.county_code == county_code, benefit.c.id == benefit_id)
        )

    async def of_household(self, household_id: uuid.UUID, year: int | None) -> list[AssistanceIncome]:
        query = select(assistance_income).where(assistance_income.c.household_id == household_id)
        if year is not None:
            query = query.where(assistance_income.c.year == year)
        query = query.order_by(assistance_income.c.paid_date, assistance_income.c.created_at)
        return [AssistanceIncome.of(r) for r in (await self.session.execute(query)).mappings()]

    async def totals(self, household_id: uuid.UUID, year: int | None) -> list[IncomeTotal]:
        a = assistance_income
        query = (
            select(a.c.year, a.c.income_type, func.sum(a.c.amount).label("amount"), func.count().label("payments"))
            .where(a.c.household_id == household_id, a.c.status == "posted")
            .group_by(a.c.year, a.c.income_type)
            .order_by(a.c.year, a.c.income_type)
        )
        if year is not None:
            query = query.where(a.c.year == year)
        return [IncomeTotal(r.year, r.income_type, r.amount, r.payments) for r in await self.session.execute(query)]
