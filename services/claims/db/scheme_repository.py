"""Every query on schemes and enrolments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import enrolment, scheme, scheme_version


class SchemeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _joined(self) -> Any:
        return select(
            scheme.c.code,
            scheme.c.county_code,
            scheme.c.year,
            scheme.c.status,
            scheme.c.latest_version,
            scheme.c.updated_at,
            scheme_version.c.version,
            scheme_version.c.body,
            scheme_version.c.used,
            scheme_version.c.created_at,
        ).select_from(scheme.join(scheme_version, scheme_version.c.code == scheme.c.code))

    async def get(self, code: str, *, lock: bool = False) -> RowMapping | None:
        query = select(scheme).where(scheme.c.code == code)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().one_or_none()

    async def get_version(self, code: str, version: int | None = None) -> RowMapping | None:
        query = self._joined().where(scheme.c.code == code)
        query = query.where(scheme_version.c.version == (version if version is not None else scheme.c.latest_version))
        return (await self.session.execute(query)).mappings().one_or_none()

    async def active_for(self, county_code: str, year: int) -> RowMapping | None:
        """The latest version of the scheme in force for a county and year."""
        query = self._joined().where(
            scheme.c.county_code == county_code,
            scheme.c.year == year,
            scheme.c.status == "active",
            scheme_version.c.version == scheme.c.latest_version,
        )
        return (await self.session.execute(query)).mappings().one_or_none()

    async def active_code_for(self, county_code: str, year: int) -> str | None:
        query = select(scheme.c.code).where(
            scheme.c.county_code == county_code, scheme.c.year == year, scheme.c.status == "active"
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def insert(self, *, code: str, county_code: str, year: int, status: str, created_by: str) -> bool:
        result = await self.session.execute(
            insert(scheme)
            .values(
                code=code, county_code=county_code, year=year, status=status, latest_version=1, created_by=created_by
            )
            .on_conflict_do_nothing(index_elements=[scheme.c.code])
            .returning(scheme.c.code)
        )
        return result.scalar_one_or_none() is not None

    async def insert_version(self, *, code: str, version: int, body: dict[str, Any], created_by: str) -> None:
        await self.session.execute(
            scheme_version.insert().values(code=code, version=version, body=body, created_by=created_by)
        )

    async def set_latest(self, code: str, version: int, status: str) -> None:
        await self.session.execute(
            update(scheme)
            .where(scheme.c.code == code)
            .values(latest_version=version, status=status, updated_at=func.now())
        )

    async def mark_used(self, code: str, version: int) -> None:
        await self.session.execute(
            update(scheme_version)
            .where(scheme_version.c.code == code, scheme_version.c.version == version, ~scheme_version.c.used)
            .values(used=True)
        )

    async def any_used(self, code: str) -> bool:
        query = select(func.count()).where(scheme_version.c.code == code, scheme_version.c.used)
        return bool((await self.session.execute(query)).scalar_one())

    async def search(
        self,
        *,
        region: str,
        county_code: str | None,
        year: int | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> Sequence[RowMapping]:
        query = select(scheme)
        if region:
            # a scheme is county-wide: visible to the county and to every region inside it
            query = query.where(
                (scheme.c.county_code.startswith(region)) | (func.strpos(region, scheme.c.county_code) == 1)
            )
        if county_code is not None:
            query = query.where(scheme.c.county_code == county_code)
        if year is not None:
            query = query.where(scheme.c.year == year)
        if status is not None:
            query = query.where(scheme.c.status == status)
        if after is not None:
            query = query.where(scheme.c.code > after)
        return (await self.session.execute(query.order_by(scheme.c.code).limit(limit))).mappings().all()

    async def versions(self, code: str) -> Sequence[RowMapping]:
        query = (
            select(scheme_version.c.version, scheme_version.c.used, scheme_version.c.created_at)
            .where(scheme_version.c.code == code)
            .order_by(scheme_version.c.version)
        )
        return (await self.session.execute(query)).mappings().all()


class EnrolmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enrol_households(self, rows: list[dict[str, Any]]) -> int:
        """Insert the households not enrolled yet for their year; returns how many were new."""
        if not rows:
            return 0
        inserted = 0
        for start in range(0, len(rows), 2000):
            chunk = [{"id": uuid.uuid4(), **row} for row in rows[start : start + 2000]]
            result = await self.session.execute(
                insert(enrolment)
                .values(chunk)
                .on_conflict_do_nothing(
                    index_elements=[enrolment.c.county_code, enrolment.c.year, enrolment.c.household_id],
                    index_where=enrolment.c.household_id.is_not(None),
                )
                .returning(enrolment.c.id)
            )
            inserted += len(result.all())
        return inserted

    async def upsert_pool(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        stmt = insert(enrolment).values([{"id": uuid.uuid4(), **row} for row in rows])
        stmt = stmt.on_conflict_do_update(
            index_elements=[enrolment.c.scheme_code, enrolment.c.township_code],
            index_where=enrolment.c.household_id.is_(None),
            set_={"insured_people": stmt.excluded.insured_people, "premium": stmt.excluded.premium},
        )
        await self.session.execute(stmt)
        return len(rows)

    async def is_enrolled(self, county_code: str, year: int, household_id: uuid.UUID) -> bool:
        query = select(func.count()).where(
            enrolment.c.county_code == county_code,
            enrolment.c.year == year,
            enrolment.c.household_id == household_id,
        )
        return bool((await self.session.execute(query)).scalar_one())

    async def enrolled_households(self, county_code: str, year: int) -> set[uuid.UUID]:
        query = select(enrolment.c.household_id).where(
            enrolment.c.county_code == county_code, enrolment.c.year == year, enrolment.c.household_id.is_not(None)
        )
        return {row[0] for row in (await self.session.execute(query)).all()}

    async def township_totals(self, scheme_code: str, region: str) -> Sequence[RowMapping]:
        query = (
            select(
                enrolment.c.township_code,
                func.count(enrolment.c.household_id).label("households"),
                func.coalesce(func.sum(enrolment.c.insured_people), 0).label("insured_people"),
                func.coalesce(func.sum(enrolment.c.premium), Decimal("0")).label("premium"),
            )
            .where(enrolment.c.scheme_code == scheme_code)
            .group_by(enrolment.c.township_code)
            .order_by(enrolment.c.township_code)
        )
        if region:
            query = query.where(
                enrolment.c.township_code.startswith(region) | (func.strpos(region, enrolment.c.township_code) == 1)
            )
        return (await self.session.execute(query)).mappings().all()

    async def insured_people(self, county_code: str, year: int) -> int:
        query = select(func.coalesce(func.sum(enrolment.c.insured_people), 0)).where(
            enrolment.c.county_code == county_code, enrolment.c.year == year
        )
        return int((await self.session.execute(query)).scalar_one())

    async def search(
        self,
        *,
        region: str,
        scheme_code: str | None,
        household_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[RowMapping]:
        query = select(enrolment)
        if region:
            query = query.where(func.coalesce(enrolment.c.village_code, enrolment.c.township_code).startswith(region))
        if scheme_code is not None:
            query = query.where(enrolment.c.scheme_code == scheme_code)
        if household_id is not None:
            query = query.where(enrolment.c.household_id == household_id)
        if after is not None:
            query = query.where(enrolment.c.id > after)
        query = query.order_by(enrolment.c.id).limit(limit)
        return (await self.session.execute(query)).mappings().all()
