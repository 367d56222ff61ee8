"""Every query on schemes and enrolments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.tables import enrolment, scheme, scheme_version


@dataclass(frozen=True, slots=True)
class SchemeRow:
    """One scheme (table scheme): its code, county, year, status and latest version."""

    code: str
    county_code: str
    year: int
    status: str
    latest_version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> SchemeRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class SchemeVersionRow:
    """A stored version of a scheme with its scheme's columns; `body` is the jsonb document."""

    code: str
    county_code: str
    year: int
    status: str
    latest_version: int
    updated_at: datetime
    version: int
    body: dict[str, Any]  # jsonb: the scheme as stored (domain/scheme.py scheme_to_dict)
    used: bool
    created_at: datetime  # the version's

    @classmethod
    def of(cls, row: RowMapping) -> SchemeVersionRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class VersionBrief:
    """One version in a scheme's list of versions."""

    version: int
    used: bool
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> VersionBrief:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    """One enrolment (table enrolment); no household: a township's notional all_rural pool row."""

    id: uuid.UUID
    county_code: str
    year: int
    scheme_code: str
    household_id: uuid.UUID | None
    township_code: str
    village_code: str | None
    insured_people: int
    premium: Decimal
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> EnrolmentRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class TownshipTotal:
    """A township's enrolled households, insured people and premium under one scheme."""

    township_code: str
    households: int
    insured_people: int
    premium: Decimal

    @classmethod
    def of(cls, row: RowMapping) -> TownshipTotal:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


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

    async def get(self, code: str, *, lock: bool = False) -> SchemeRow | None:
        query = select(scheme).where(scheme.c.code == code)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else SchemeRow.of(row)

    async def get_version(self, code: str, version: int | None = None) -> SchemeVersionRow | None:
        query = self._joined().where(scheme.c.code == code)
        query = query.where(scheme_version.c.version == (version if version is not None else scheme.c.latest_version))
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else SchemeVersionRow.of(row)

    async def active_for(self, county_code: str, year: int) -> SchemeVersionRow | None:
        """The latest version of the scheme in force for a county and year."""
        query = self._joined().where(
            scheme.c.county_code == county_code,
            scheme.c.year == year,
            scheme.c.status == "active",
            scheme_version.c.version == scheme.c.latest_version,
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return None if row is None else SchemeVersionRow.of(row)

    async def active_in_year(self, year: int) -> list[SchemeVersionRow]:
        """The latest versions of every county's scheme in force in `year`."""
        query = self._joined().where(
            scheme.c.year == year, scheme.c.status == "active", scheme_version.c.version == scheme.c.latest_version
        )
        return [SchemeVersionRow.of(r) for r in (await self.session.execute(query.order_by(scheme.c.code))).mappings()]

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
    ) -> list[SchemeRow]:
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
        rows = (await self.session.execute(query.order_by(scheme.c.code).limit(limit))).mappings()
        return [SchemeRow.of(r) for r in rows]

    async def versions(self, code: str) -> list[VersionBrief]:
        query = (
            select(scheme_version.c.version, scheme_version.c.used, scheme_version.c.created_at)
            .where(scheme_version.c.code == code)
            .order_by(scheme_version.c.version)
        )
        return [VersionBrief.of(r) for r in (await self.session.execute(query)).mappings()]


REGISTRY_SOURCE = "registry"  # created_by of the enrolment rows fed from the registry's insured households


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
            index_elements=[enrolment.c.scheme_code, enrolment.c.township_code, enrolment.c.county_code],
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

    async def township_totals(self, scheme_code: str, region: str) -> list[TownshipTotal]:
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
        return [TownshipTotal.of(r) for r in (await self.session.execute(query)).mappings()]

    async def sync_from_registry(self, *, county_code: str, year: int, scheme_code: str, premium: Decimal) -> int:
        """Make the county-year's household enrolments the registry's insured households (one truth).

        "Insured in year Y" is the registry's: Y in the household's `insured_years`
        (read contract `registry.household_snapshot_v1`, non-archived households). Every such
        household gets its enrolment row, its insured people being the household's active members
        (a row recorded through the API is updated to them too); a row this sync wrote whose
        household is no longer insured (or archived) is removed. Set-based, in the caller's
        transaction; returns the number of enrolment rows of registry households after it.
        """
        params = {"county": county_code, "year": year, "scheme": scheme_code, "premium": premium}
        await self.session.execute(
            text(
                """
                INSERT INTO claims.enrolment AS e
                    (id, county_code, year, scheme_code, household_id, township_code, village_code,
                     insured_people, premium, created_by)
                SELECT gen_random_uuid(), s.county_code, :year, :scheme, s.household_id, s.township_code,
                       s.village_code, s.member_count, CAST(:premium AS numeric) * s.member_count, :source
                FROM registry.household_snapshot_v1 s
                WHERE s.county_code = :county AND CAST(:year AS int) = ANY(s.insured_years)
                ON CONFLICT (county_code, year, household_id) WHERE household_id IS NOT NULL
                DO UPDATE SET insured_people = EXCLUDED.insured_people,
                              premium = CAST(:premium AS numeric) * EXCLUDED.insured_people,
                              township_code = EXCLUDED.township_code,
                              village_code = EXCLUDED.village_code
                WHERE e.insured_people IS DISTINCT FROM EXCLUDED.insured_people
                   OR e.village_code IS DISTINCT FROM EXCLUDED.village_code
                """
            ),
            params | {"source": REGISTRY_SOURCE},
        )
        await self.session.execute(
            text(
                """
                DELETE FROM claims.enrolment e
                WHERE e.county_code = :county AND e.year = :year AND e.created_by = :source
                  AND NOT EXISTS (
                      SELECT 1 FROM registry.household_snapshot_v1 s
                      WHERE s.household_id = e.household_id AND s.county_code = :county
                        AND CAST(:year AS int) = ANY(s.insured_years))
                """
            ),
            {"county": county_code, "year": year, "source": REGISTRY_SOURCE},
        )
        counted = await self.session.execute(
            text(
                """
                SELECT count(*) FROM claims.enrolment e
                JOIN registry.household_snapshot_v1 s ON s.household_id = e.household_id
                WHERE e.county_code = :county AND e.year = :year
                """
            ),
            {"county": county_code, "year": year},
        )
        return int(counted.scalar_one())

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
    ) -> list[EnrolmentRow]:
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
        return [EnrolmentRow.of(r) for r in (await self.session.execute(query)).mappings()]
