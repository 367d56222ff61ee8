"""Reads of the registry's SQL read contract (shared/contracts/registry.py), nothing else.

`registry.household_snapshot_v1` and `registry.member_identity_v1` are versioned views the
registry owns; screening never reads a registry table directly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SNAPSHOT = "registry.household_snapshot_v1"
MEMBER_IDENTITY = "registry.member_identity_v1"

SNAPSHOT_COLUMNS = (
    "household_id, household_number, county_code, township_code, village_code, status, member_count, "
    "labour_count, income_year, annual_net_income, previous_annual_net_income, dibao, tekun, negative_list, "
    "insured_years"
)


@dataclass(frozen=True, slots=True)
class HouseholdSnapshot:
    household_id: uuid.UUID
    household_number: str | None
    county_code: str
    township_code: str
    village_code: str
    status: str
    member_count: int
    labour_count: int
    income_year: int | None
    annual_net_income: Decimal | None
    previous_annual_net_income: Decimal | None
    insured_years: tuple[int, ...]

    @classmethod
    def from_row(cls, row: Any) -> HouseholdSnapshot:
        return cls(
            household_id=row.household_id,
            household_number=row.household_number,
            county_code=row.county_code,
            township_code=row.township_code,
            village_code=row.village_code,
            status=row.status,
            member_count=int(row.member_count or 0),
            labour_count=int(row.labour_count or 0),
            income_year=row.income_year,
            annual_net_income=row.annual_net_income,
            previous_annual_net_income=row.previous_annual_net_income,
            insured_years=tuple(row.insured_years or ()),
        )


async def household(session: AsyncSession, household_id: uuid.UUID) -> HouseholdSnapshot | None:
    row = (
        await session.execute(
            text(f"SELECT {SNAPSHOT_COLUMNS} FROM {SNAPSHOT} WHERE household_id = :id"), {"id": household_id}
        )
    ).one_or_none()
    return HouseholdSnapshot.from_row(row) if row is not None else None
