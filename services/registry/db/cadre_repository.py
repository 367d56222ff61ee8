"""Every query of the responsible cadres 帮扶责任人 (registry.household_cadre). Flushes, never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.tables import household, household_cadre, member, region


@dataclass(frozen=True, slots=True)
class Cadre:
    """A row of `registry.household_cadre`: one assignment of a cadre to a household."""

    id: uuid.UUID
    county_code: str
    household_id: uuid.UUID
    name: str
    work_unit: str | None
    affiliation: str | None
    phone_enc: bytes | None
    phone_index: bytes | None
    phone_masked: str | None
    start_date: date
    end_date: date | None
    end_reason: str | None
    created_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping | Any) -> Cadre:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class CadreHousehold:
    """An assignment with the household it is for (a cadre's households)."""

    cadre: Cadre
    household_number: str
    village_code: str
    village_name: str | None
    head_name: str | None
    archived_at: datetime | None


_VILLAGE = region.alias("cadre_village")
_HEAD = member.alias("cadre_head")


def _range(prefix: str) -> tuple[str, str]:
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


class CadreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, values: dict[str, Any]) -> Cadre:
        row = (await self.session.execute(household_cadre.insert().values(**values).returning(household_cadre))).one()
        return Cadre.of(row._mapping)

    async def get(self, cadre_id: uuid.UUID, *, for_update: bool = False) -> Cadre | None:
        query = select(household_cadre).where(household_cadre.c.id == cadre_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return Cadre.of(row) if row else None

    async def of_household(self, household_id: uuid.UUID, county_code: str) -> list[Cadre]:
        query = (
            select(household_cadre)
            .where(household_cadre.c.county_code == county_code, household_cadre.c.household_id == household_id)
            .order_by(household_cadre.c.start_date, household_cadre.c.id)
        )
        return [Cadre.of(r) for r in (await self.session.execute(query)).mappings()]

    async def end(self, cadre_id: uuid.UUID, *, end_date: date, reason: str | None) -> Cadre:
        stmt = (
            update(household_cadre)
            .where(household_cadre.c.id == cadre_id)
            .values(end_date=end_date, end_reason=reason, version=household_cadre.c.version + 1, updated_at=func.now())
            .returning(household_cadre)
        )
        return Cadre.of((await self.session.execute(stmt)).mappings().one())

    async def update(self, cadre_id: uuid.UUID, values: dict[str, Any]) -> Cadre:
        """Change an assignment's columns; its version goes up."""
        stmt = (
            update(household_cadre)
            .where(household_cadre.c.id == cadre_id)
            .values(**values, version=household_cadre.c.version + 1, updated_at=func.now())
            .returning(household_cadre)
        )
        return Cadre.of((await self.session.execute(stmt)).mappings().one())

    async def households_of(
        self,
        *,
        scope_prefix: str,
        name: str | None,
        phone_index: bytes | None,
        current_on: date | None,
        after: tuple[str, str, uuid.UUID] | None,
        limit: int,
    ) -> list[CadreHousehold]:
        """Assignments matching the name and/or phone, of households in the caller's region, ordered by
        village, household number and assignment id; `current_on`: only those running on that day."""
        query: Select[Any] = (
            select(
                household_cadre,
                household.c.household_number,
                household.c.village_code,
                household.c.archived_at,
                _VILLAGE.c.name.label("village_name"),
                _HEAD.c.name.label("head_name"),
            )
            .join(
                household,
                and_(
                    household.c.id == household_cadre.c.household_id,
                    household.c.county_code == household_cadre.c.county_code,
                ),
            )
            .outerjoin(_VILLAGE, _VILLAGE.c.code == household.c.village_code)
            .outerjoin(_HEAD, _HEAD.c.id == household.c.head_member_id)
        )
        if scope_prefix:
            low, high = _range(scope_prefix)
            query = query.where(household.c.village_code.between(low, high))
        if name is not None:
            query = query.where(household_cadre.c.name == name)
        if phone_index is not None:
            query = query.where(household_cadre.c.phone_index == phone_index)
        if current_on is not None:
            query = query.where(
                household_cadre.c.start_date <= current_on,
                or_(household_cadre.c.end_date.is_(None), household_cadre.c.end_date >= current_on),
            )
        if after is not None:
            query = query.where(
                tuple_(household.c.village_code, household.c.household_number, household_cadre.c.id)
                > tuple_(literal(after[0]), literal(after[1]), literal(after[2]))
            )
        query = query.order_by(household.c.village_code, household.c.household_number, household_cadre.c.id).limit(
            limit
        )
        out = []
        for row in (await self.session.execute(query)).mappings():
            out.append(
                CadreHousehold(
                    cadre=Cadre.of(row),
                    household_number=row["household_number"],
                    village_code=row["village_code"],
                    village_name=row["village_name"],
                    head_name=row["head_name"],
                    archived_at=row["archived_at"],
                )
            )
        return out
