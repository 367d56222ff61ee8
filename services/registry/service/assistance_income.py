"""Screening's assistance payments taken as income of their year and type (rules.md §4; issue 13).

The one path by which money paid outside the registry becomes a household's income is the benefit
record (claims' insurance payouts use it too): `registry.benefit` (source, source_ref) plus the
year's `benefit_income`. An assistance payment is recorded there with source "screening" and the
payment id as source_ref, so it counts in the per-capita net income and in `household_income_v1`
(what the next screening run reads); `registry.assistance_income` keeps its income type and the
link back to screening's payment and measure. Exactly once per payment id (the household row is
locked first, so concurrent deliveries queue behind one another and find the first record); a
reversal takes the benefit back out of the year's income, once.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.assistance_income_repository import AssistanceIncome, AssistanceIncomeRepository
from services.registry.db.household_repository import Household, HouseholdRepository
from services.registry.domain.history import FieldChange
from services.registry.domain.ids import uuid7
from services.registry.service.common import HistoryWriter, household_not_found
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.contracts.assistance import (
    SOURCE,
    AssistanceIncomeList,
    AssistanceIncomePost,
    AssistanceIncomeRead,
    AssistanceIncomeReversal,
    AssistanceIncomeTotal,
)
from shared.errors import Conflict, NotFound
from shared.results import Created

PROGRAMME_PREFIX = "assistance:"  # benefit.programme: "assistance:<measure type>"


def income_read(row: AssistanceIncome) -> AssistanceIncomeRead:
    return AssistanceIncomeRead(
        payment_id=row.payment_id,
        household_id=row.household_id,
        benefit_id=row.benefit_id,
        measure_id=row.measure_id,
        measure_type=row.measure_type,
        income_type=row.income_type,
        amount=row.amount,
        paid_date=row.paid_date,
        year=row.year,
        status="reversed" if row.status == "reversed" else "posted",
        reversal_id=row.reversal_id,
        created_at=row.created_at,
        reversed_at=row.reversed_at,
    )


def _same(row: AssistanceIncome, household_id: uuid.UUID, body: AssistanceIncomePost) -> bool:
    return (
        row.household_id == household_id
        and row.measure_id == body.measure_id
        and row.measure_type == body.measure_type
        and row.income_type == body.income_type
        and row.amount == body.amount
        and row.paid_date == body.paid_date
        and row.year == body.year
    )


class AssistanceIncomeService:
    def __init__(self, session: AsyncSession, principal: Principal, clock: BusinessClock | None = None) -> None:
        self.session = session
        self.principal = principal
        self.clock = clock or BusinessClock()
        self.households = HouseholdRepository(session)
        self.repo = AssistanceIncomeRepository(session)
        self.history = HistoryWriter(session, self.households, principal, self.clock)

    async def _household(self, household_id: uuid.UUID) -> Household:
        row = await self.households.get_household(household_id, for_update=True)
        if row is None or not self.principal.can_see(row.village_code):
            raise household_not_found()
        return row

    async def list(self, household_id: uuid.UUID, year: int | None) -> AssistanceIncomeList:
        row = await self.households.get_household(household_id)
        if row is None or not self.principal.can_see(row.village_code):
            raise household_not_found()
        return AssistanceIncomeList(
            items=[income_read(r) for r in await self.repo.of_household(household_id, year)],
            totals=[
                AssistanceIncomeTotal(year=t.year, income_type=t.income_type, amount=t.amount, payments=t.payments)
                for t in await self.repo.totals(household_id, year)
            ],
        )

    async def post(self, household_id: uuid.UUID, body: AssistanceIncomePost) -> Created[AssistanceIncomeRead]:
        household = await self._household(household_id)  # the lock: one delivery of a household at a time
        existing = await self.repo.get(household.county_code, body.payment_id)
        if existing is not None:
            await self.session.rollback()
            if not _same(existing, household_id, body):
                raise Conflict(
                    "this payment was already recorded with other details",
                    code="assistance_payment_conflict",
                    extra={"payment_id": str(body.payment_id)},
                )
            return Created(income_read(existing), created=False, replayed=True)
        if household.archived_at is not None:
            raise Conflict("the household is archived (已注销); it can no longer change", code="household_archived")
        benefit_id = uuid7()
        await self.households.insert_benefit(
            {
                "id": benefit_id,
                "household_id": household_id,
                "county_code": household.county_code,
                "source": SOURCE,
                "source_ref": str(body.payment_id),
                "programme": PROGRAMME_PREFIX + body.measure_type,
                "category": body.income_type,
                "amount": body.amount,
                "paid_date": body.paid_date,
                "year": body.year,
                "recorded_by": self.principal.sub,
            }
        )
        before, after = await self.households.add_benefit_income(
            household_id=household_id, county_code=household.county_code, year=body.year, amount=body.amount
        )
        row = await self.repo.insert(
            {
                "payment_id": body.payment_id,
                "county_code": household.county_code,
                "household_id": household_id,
                "benefit_id": benefit_id,
                "measure_id": body.measure_id,
                "measure_type": body.measure_type,
                "income_type": body.income_type,
                "amount": body.amount,
                "year": body.year,
                "paid_date": body.paid_date,
                "status": "posted",
                "recorded_by": self.principal.sub,
            }
        )
        await self.households.touch_household(household_id)
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="benefit",
            entity_id=benefit_id,
            action="assistance_income.record",
            changes=[
                FieldChange(
                    "assistance_income",
                    None,
                    {
                        "payment_id": str(body.payment_id),
                        "measure_id": str(body.measure_id),
                        "measure_type": body.measure_type,
                        "income_type": body.income_type,
                        "amount": f"{body.amount:.2f}",
                        "year": body.year,
                    },
                ),
                FieldChange(
                    f"incomes.{body.year}.benefit_income",
                    f"{before.benefit_income:.2f}" if before else None,
                    f"{after.benefit_income:.2f}",
                ),
            ],
            reason=f"{PROGRAMME_PREFIX}{body.measure_type}",
            effective_date=body.paid_date,
        )
        read = income_read(row)
        await self.history.flush_audit()
        await self.session.commit()
        return Created(read, created=True)

    async def reverse(
        self, household_id: uuid.UUID, payment_id: uuid.UUID, body: AssistanceIncomeReversal
    ) -> AssistanceIncomeRead:
        household = await self._household(household_id)
        existing = await self.repo.get(household.county_code, payment_id, for_update=True)
        if existing is None or existing.household_id != household_id:
            raise NotFound("the registry holds no such assistance payment", code="assistance_payment_unknown")
        if existing.status == "reversed":
            await self.session.rollback()
            if existing.reversal_id != body.reversal_id:
                raise Conflict(
                    "this payment was already reversed by another reversal",
                    code="assistance_payment_conflict",
                    extra={"reversal_id": str(existing.reversal_id)},
                )
            return income_read(existing)
        if existing.benefit_id is not None:
            await self.repo.delete_benefit(household.county_code, existing.benefit_id)
        before, after = await self.repo.take_back_income(
            household_id=household_id, county_code=household.county_code, year=existing.year, amount=existing.amount
        )
        row = await self.repo.mark_reversed(
            household.county_code, payment_id, reversal_id=body.reversal_id, at=self.clock.now()
        )
        await self.households.touch_household(household_id)
        await self.history.record(
            household_id=household_id,
            county_code=household.county_code,
            entity_type="benefit",
            entity_id=existing.benefit_id,
            action="assistance_income.reverse",
            changes=[
                FieldChange(
                    "assistance_income",
                    {"payment_id": str(payment_id), "amount": f"{existing.amount:.2f}", "status": "posted"},
                    {"payment_id": str(payment_id), "reversal_id": str(body.reversal_id), "status": "reversed"},
                ),
                FieldChange(
                    f"incomes.{existing.year}.benefit_income",
                    f"{before.benefit_income:.2f}" if before else None,
                    f"{after.benefit_income:.2f}",
                ),
            ],
            reason=f"{PROGRAMME_PREFIX}{existing.measure_type} reversal",
        )
        read = income_read(row)
        await self.history.flush_audit()
        await self.session.commit()
        return read
