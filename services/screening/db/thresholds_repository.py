"""Threshold versions: every query of `screening.threshold_version`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import (
    case_transition,
    feed_batch,
    monitoring_case,
    row_as,
    run,
    threshold_version,
)

T = threshold_version


@dataclass(frozen=True, slots=True)
class ThresholdVersion:
    """One version of a county-year's thresholds (`values` and `sources` are the stored documents)."""

    id: uuid.UUID
    county_code: str
    year: int
    version: int
    values: dict[str, Any]
    sources: dict[str, str]
    note: str | None
    created_by: str | None
    created_at: datetime


class ThresholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _one(row: Any) -> ThresholdVersion | None:
        return row_as(ThresholdVersion, row) if row is not None else None

    async def lock(self, county_code: str, year: int) -> None:
        """Serialise writers of one county-year (new versions, first-use seeding)."""
        key = func.hashtextextended(f"screening-thresholds:{county_code}:{year}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def current(self, county_code: str, year: int) -> ThresholdVersion | None:
        return self._one(
            (
                await self.session.execute(
                    select(T)
                    .where(T.c.county_code == county_code, T.c.year == year)
                    .order_by(T.c.version.desc())
                    .limit(1)
                )
            )
            .mappings()
            .one_or_none()
        )

    async def get(self, county_code: str, year: int, version: int) -> ThresholdVersion | None:
        return self._one(
            (
                await self.session.execute(
                    select(T).where(T.c.county_code == county_code, T.c.year == year, T.c.version == version)
                )
            )
            .mappings()
            .one_or_none()
        )

    async def by_id(self, version_id: uuid.UUID) -> ThresholdVersion | None:
        return self._one((await self.session.execute(select(T).where(T.c.id == version_id))).mappings().one_or_none())

    async def versions(self, county_code: str, year: int) -> list[ThresholdVersion]:
        return [
            row_as(ThresholdVersion, r)
            for r in (
                await self.session.execute(
                    select(T).where(T.c.county_code == county_code, T.c.year == year).order_by(T.c.version)
                )
            ).mappings()
        ]

    async def currents_of_county(self, county_code: str) -> list[ThresholdVersion]:
        latest = (
            select(T.c.year, func.max(T.c.version).label("version"))
            .where(T.c.county_code == county_code)
            .group_by(T.c.year)
            .subquery()
        )
        return [
            row_as(ThresholdVersion, r)
            for r in (
                await self.session.execute(
                    select(T)
                    .join(latest, (T.c.year == latest.c.year) & (T.c.version == latest.c.version))
                    .where(T.c.county_code == county_code)
                    .order_by(T.c.year)
                )
            ).mappings()
        ]

    async def insert(self, values: dict[str, Any]) -> ThresholdVersion:
        return row_as(
            ThresholdVersion, (await self.session.execute(insert(T).values(**values).returning(T))).mappings().one()
        )

    async def in_use(self, version_id: uuid.UUID) -> bool:
        used = select(
            or_(
                exists().where(run.c.threshold_version_id == version_id),
                exists().where(monitoring_case.c.threshold_version_id == version_id),
                exists().where(case_transition.c.threshold_version_id == version_id),
            )
        )
        return bool((await self.session.execute(used)).scalar())

    async def delete(self, version_id: uuid.UUID) -> None:
        await self.session.execute(delete(T).where(T.c.id == version_id))

    async def counties_in_use(self) -> list[str]:
        """Counties that configured thresholds or sent feeds: the ones the scheduler runs."""
        query = union(select(T.c.county_code), select(feed_batch.c.county_code))
        return sorted(str(c) for c in (await self.session.execute(query)).scalars())
