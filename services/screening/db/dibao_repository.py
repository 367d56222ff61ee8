"""Every query of 低保 (rules.md §4): the county's standards by class (versioned per county and year)
and the month's payments generated set-based for the households of every class."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.assistance_repository import AssistancePayment
from services.screening.db.tables import dibao_standard, row_as

D = dibao_standard


@dataclass(frozen=True, slots=True)
class DibaoStandard:
    id: uuid.UUID
    county_code: str
    year: int
    version: int
    amount_a: Decimal
    amount_b: Decimal
    amount_c: Decimal
    source: str
    note: str | None
    created_by: str | None
    created_at: datetime


#: The dibao measures that receive the month: in progress (or delivered, with an end date) and covering
#: some day of it; the amount is persons × the class's amount of the standard; one live payment per
#: measure and month (the partial unique index of assistance_payment), so a second run pays nobody twice.
_GENERATE = """
INSERT INTO screening.assistance_payment
       (id, county_code, village_code, measure_id, household_id, measure_type, income_type, period, year,
        amount, paid_date, kind, status, details, created_by, created_at)
SELECT gen_random_uuid(), m.county_code, m.village_code, m.id, m.household_id, 'dibao', 'transfer', :period, :year,
       ((m.details->>'persons')::int
        * CASE m.details->>'dibao_class' WHEN 'A' THEN CAST(:a AS numeric)
                                        WHEN 'B' THEN CAST(:b AS numeric) ELSE CAST(:c AS numeric) END)::numeric(14, 2),
       :paid_date, 'payment', 'posted',
       jsonb_build_object('standard_id', CAST(:standard_id AS text), 'standard_version', CAST(:version AS int),
                          'dibao_class', m.details->>'dibao_class', 'persons', (m.details->>'persons')::int),
       :actor, :now
  FROM screening.assistance_measure m
 WHERE m.county_code = :county
   AND m.measure_type = 'dibao'
   AND (m.status = 'in_progress' OR (m.status = 'delivered' AND m.end_date IS NOT NULL))
   AND m.details->>'dibao_class' IN ('A', 'B', 'C')
   AND (m.start_date IS NULL OR m.start_date <= :last_day)
   AND (m.end_date IS NULL OR m.end_date >= :first_day)
ON CONFLICT (county_code, measure_id, period) WHERE kind = 'payment' AND status = 'posted' DO NOTHING
RETURNING *
"""


class DibaoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, county_code: str, year: int) -> None:
        """Serialise writers of one county-year's standard (new versions, first-use seeding)."""
        key = func.hashtextextended(f"screening-dibao-standard:{county_code}:{year}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def lock_month(self, county_code: str, period: str) -> None:
        """Serialise the generation of one county-month."""
        key = func.hashtextextended(f"screening-dibao-month:{county_code}:{period}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def current(self, county_code: str, year: int) -> DibaoStandard | None:
        query = select(D).where(D.c.county_code == county_code, D.c.year == year).order_by(D.c.version.desc()).limit(1)
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(DibaoStandard, row) if row is not None else None

    async def versions(self, county_code: str, year: int) -> list[DibaoStandard]:
        query = select(D).where(D.c.county_code == county_code, D.c.year == year).order_by(D.c.version)
        return [row_as(DibaoStandard, r) for r in (await self.session.execute(query)).mappings()]

    async def insert(self, values: dict[str, Any]) -> DibaoStandard:
        row = (await self.session.execute(D.insert().values(**values).returning(D))).mappings().one()
        return row_as(DibaoStandard, row)

    async def generate(
        self,
        *,
        county_code: str,
        period: str,
        year: int,
        first_day: date,
        last_day: date,
        standard: DibaoStandard,
        paid_date: date,
        actor: str,
        now: datetime,
    ) -> list[AssistancePayment]:
        rows = await self.session.execute(
            text(_GENERATE),
            {
                "county": county_code,
                "period": period,
                "year": year,
                "first_day": first_day,
                "last_day": last_day,
                "a": standard.amount_a,
                "b": standard.amount_b,
                "c": standard.amount_c,
                "standard_id": str(standard.id),
                "version": standard.version,
                "paid_date": paid_date,
                "actor": actor,
                "now": now,
            },
        )
        return [row_as(AssistancePayment, r) for r in rows.mappings()]

    async def already_paid(self, county_code: str, period: str) -> int:
        """Live dibao payments of the county-month (before or after a generation)."""
        result = await self.session.execute(
            text(
                "SELECT count(*) FROM screening.assistance_payment WHERE county_code = :county AND period = :period "
                "AND measure_type = 'dibao' AND kind = 'payment' AND status = 'posted'"
            ),
            {"county": county_code, "period": period},
        )
        return int(result.scalar_one())
