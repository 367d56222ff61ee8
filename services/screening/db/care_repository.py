"""Every query of 兜底保障 (rules.md §4): the suggestion list over the registry's member_care_v1, the
confirmed subjects and their placements, care institutions, the visits of home placements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import MEMBER_CARE, care_institution, care_subject, care_visit, row_as
from services.screening.domain.care import POOR_STATUSES

INSTITUTION, SUBJECT, VISIT = care_institution, care_subject, care_visit


@dataclass(frozen=True, slots=True)
class CareMember:
    """A member of the register as `registry.member_care_v1` shows it."""

    member_id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_status: str
    birth_date: date
    health: str
    disability_grade: int | None
    labour_ability: str


@dataclass(frozen=True, slots=True)
class Institution:
    id: uuid.UUID
    county_code: str
    region_code: str
    name: str
    kind: str
    carers: int
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Subject:
    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    member_id: uuid.UUID
    care_group: str
    status: str
    placement: str | None
    institution_id: uuid.UUID | None
    guardian_name: str | None
    agreement_ref: str | None
    agreement_signed_on: date | None
    placed_on: date | None
    note: str | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Visit:
    id: uuid.UUID
    county_code: str
    subject_id: uuid.UUID
    visit_date: date
    visitor: str
    findings: str | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HomePlacement:
    """A home placement with its last visit (the overdue list)."""

    subject: Subject
    last_visit: date | None


_MEMBER_COLUMNS = (
    "v.member_id, v.household_id, v.county_code, v.township_code, v.village_code, v.household_status, "
    "v.birth_date, v.health, v.disability_grade, v.labour_ability"
)


class CareRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the register ----------------------------------------------------------------------

    async def suggestions(
        self, county_code: str, region: str, elderly_born_by: date, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[CareMember]:
        """Members of poor households in a 兜底 group (domain/care.py) with no open subject, by village and id."""
        statuses = ", ".join(f"'{s}'" for s in POOR_STATUSES)
        rows = await self.session.execute(
            text(
                f"SELECT {_MEMBER_COLUMNS} FROM {MEMBER_CARE} v "
                "WHERE v.county_code = :county AND v.village_code LIKE :prefix "
                f"AND v.household_status IN ({statuses}) "
                "AND ((v.labour_ability = 'none' AND v.birth_date <= :born_by) "
                "     OR v.disability_grade IN (1, 2) OR v.health = 'serious_illness') "
                "AND NOT EXISTS (SELECT 1 FROM screening.care_subject s WHERE s.county_code = v.county_code "
                "                AND s.member_id = v.member_id AND s.status <> 'ended') "
                "AND (CAST(:after_village AS text) IS NULL OR (v.village_code, v.member_id) > "
                "     (CAST(:after_village AS text), CAST(:after_member AS uuid))) "
                "ORDER BY v.village_code, v.member_id LIMIT :limit"
            ),
            {
                "county": county_code,
                "prefix": f"{region}%",
                "born_by": elderly_born_by,
                "after_village": after[0] if after else None,
                "after_member": after[1] if after else None,
                "limit": limit,
            },
        )
        return [row_as(CareMember, r) for r in rows.mappings()]

    async def member(self, county_code: str, member_id: uuid.UUID) -> CareMember | None:
        row = (
            (
                await self.session.execute(
                    text(
                        f"SELECT {_MEMBER_COLUMNS} FROM {MEMBER_CARE} v "
                        "WHERE v.county_code = :county AND v.member_id = :member"
                    ),
                    {"county": county_code, "member": member_id},
                )
            )
            .mappings()
            .one_or_none()
        )
        return row_as(CareMember, row) if row is not None else None

    # --- institutions ----------------------------------------------------------------------

    async def insert_institution(self, values: dict[str, Any]) -> Institution:
        row = (await self.session.execute(INSTITUTION.insert().values(**values).returning(INSTITUTION))).mappings()
        return row_as(Institution, row.one())

    async def institution(self, institution_id: uuid.UUID, *, for_update: bool = False) -> Institution | None:
        query = select(INSTITUTION).where(INSTITUTION.c.id == institution_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Institution, row) if row is not None else None

    async def residents(self, county_code: str, institution_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            SUBJECT.c.county_code == county_code,
            SUBJECT.c.institution_id == institution_id,
            SUBJECT.c.status == "placed",
        )
        return int((await self.session.execute(query)).scalar_one())

    # --- subjects --------------------------------------------------------------------------

    async def insert_subject(self, values: dict[str, Any]) -> Subject | None:
        """The new subject, or None when the member already has an open one."""
        stmt = (
            insert(SUBJECT)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[SUBJECT.c.county_code, SUBJECT.c.member_id], index_where=text("status <> 'ended'")
            )
            .returning(SUBJECT)
        )
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        return row_as(Subject, row) if row is not None else None

    async def subject(self, subject_id: uuid.UUID, *, for_update: bool = False) -> Subject | None:
        query = select(SUBJECT).where(SUBJECT.c.id == subject_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Subject, row) if row is not None else None

    async def open_subject_of(self, county_code: str, member_id: uuid.UUID) -> Subject | None:
        query = select(SUBJECT).where(
            SUBJECT.c.county_code == county_code, SUBJECT.c.member_id == member_id, SUBJECT.c.status != "ended"
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Subject, row) if row is not None else None

    async def update_subject(self, subject_id: uuid.UUID, values: dict[str, Any]) -> Subject:
        stmt = SUBJECT.update().where(SUBJECT.c.id == subject_id).values(**values).returning(SUBJECT)
        return row_as(Subject, (await self.session.execute(stmt)).mappings().one())

    # --- visits ----------------------------------------------------------------------------

    async def insert_visit(self, values: dict[str, Any]) -> Visit:
        row = (await self.session.execute(VISIT.insert().values(**values).returning(VISIT))).mappings().one()
        return row_as(Visit, row)

    async def visits_of(self, county_code: str, subject_id: uuid.UUID) -> list[Visit]:
        query = (
            select(VISIT)
            .where(VISIT.c.county_code == county_code, VISIT.c.subject_id == subject_id)
            .order_by(VISIT.c.visit_date, VISIT.c.created_at)
        )
        return [row_as(Visit, r) for r in (await self.session.execute(query)).mappings()]

    async def home_placements(self, county_code: str, region: str) -> list[HomePlacement]:
        """Every home placement of the county under `region`, with its last visit."""
        last = (
            select(func.max(VISIT.c.visit_date))
            .where(VISIT.c.county_code == SUBJECT.c.county_code, VISIT.c.subject_id == SUBJECT.c.id)
            .scalar_subquery()
            .label("last_visit")
        )
        query = (
            select(SUBJECT, last)
            .where(
                SUBJECT.c.county_code == county_code,
                SUBJECT.c.village_code.startswith(region),
                SUBJECT.c.status == "placed",
                SUBJECT.c.placement == "home",
            )
            .order_by(SUBJECT.c.village_code, SUBJECT.c.id)
        )
        rows = (await self.session.execute(query)).mappings()
        return [HomePlacement(row_as(Subject, r), r["last_visit"]) for r in rows]
