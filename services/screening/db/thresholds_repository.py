"""Threshold versions: every query of `screening.threshold_version`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, union
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import case_transition, feed_batch, monitoring_case, run, threshold_version

T = threshold_version


class ThresholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, county_code: str, year: int) -> None:
        """Serialise writers of one county-year (new versions, first-use seeding)."""
        key = func.hashtextextended(f"screening-thresholds:{county_code}:{year}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def current(self, county_code: str, year: int) -> RowMapping | None:
        return (
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

    async def get(self, county_code: str, year: int, version: int) -> RowMapping | None:
        return (
            (
                await self.session.execute(
                    select(T).where(T.c.county_code == county_code, T.c.year == year, T.c.version == version)
                )
            )
            .mappings()
            .one_or_none()
        )

    async def by_id(self, version_id: uuid.UUID) -> RowMapping | None:
        return (await self.session.execute(select(T).where(T.c.id == version_id))).mappings().one_or_none()

    async def versions(self, county_code: str, year: int) -> list[RowMapping]:
        return list(
            (
                await self.session.execute(
                    select(T).where(T.c.county_code == county_code, T.c.year == year).order_by(T.c.version)
                )
            ).mappings()
        )

    async def currents_of_county(self, county_code: str) -> list[RowMapping]:
        latest = (
            select(T.c.year, func.max(T.c.version).label("version"))
            .where(T.c.county_code == county_code)
            .group_by(T.c.year)
            .subquery()
        )
        return list(
            (
                await self.session.execute(
                    select(T)
                    .join(latest, (T.c.year == latest.c.year) & (T.c.version == latest.c.version))
                    .where(T.c.county_code == county_code)
                    .order_by(T.c.year)
                )
            ).mappings()
        )

    async def insert(self, values: dict[str, Any]) -> RowMapping:
        return (await self.session.execute(insert(T).values(**values).returning(T))).mappings().one()

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
