"""Every query of 公益岗 (public-welfare posts, rules.md §4): posts, assignments of members to
them, monthly attendance; the wages themselves are assistance payments (assistance_repository)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import (
    MEMBER_IDENTITY,
    public_post,
    public_post_assignment,
    public_post_attendance,
    row_as,
)

POST, ASSIGNMENT, ATTENDANCE = public_post, public_post_assignment, public_post_attendance


@dataclass(frozen=True, slots=True)
class Post:
    id: uuid.UUID
    county_code: str
    region_code: str
    level: str
    name: str
    monthly_wage: Decimal
    days_per_month: int
    capacity: int
    status: str
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PostWithCount:
    post: Post
    occupied: int


@dataclass(frozen=True, slots=True)
class Assignment:
    id: uuid.UUID
    county_code: str
    post_id: uuid.UUID
    township_code: str
    village_code: str
    household_id: uuid.UUID
    member_id: uuid.UUID
    measure_id: uuid.UUID
    start_date: date
    end_date: date | None
    status: str
    end_reason: str | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attendance:
    assignment_id: uuid.UUID
    county_code: str
    period: str
    days_attended: int
    assessment: str
    note: str | None
    monthly_wage: Decimal
    days_per_month: int
    wage_payable: Decimal
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A member of the register as `registry.member_identity_v1` shows it."""

    member_id: uuid.UUID
    household_id: uuid.UUID
    county_code: str
    active: bool


class PublicPostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- posts -----------------------------------------------------------------------------

    async def insert_post(self, values: dict[str, Any]) -> Post:
        row = (await self.session.execute(POST.insert().values(**values).returning(POST))).mappings().one()
        return row_as(Post, row)

    async def post(self, post_id: uuid.UUID, *, for_update: bool = False) -> Post | None:
        query = select(POST).where(POST.c.id == post_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Post, row) if row is not None else None

    async def update_post(self, post_id: uuid.UUID, values: dict[str, Any]) -> Post:
        stmt = POST.update().where(POST.c.id == post_id).values(**values).returning(POST)
        return row_as(Post, (await self.session.execute(stmt)).mappings().one())

    async def occupied(self, county_code: str, post_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            ASSIGNMENT.c.county_code == county_code, ASSIGNMENT.c.post_id == post_id, ASSIGNMENT.c.status == "active"
        )
        return int((await self.session.execute(query)).scalar_one())

    async def posts(
        self, county_code: str, region: str, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[PostWithCount]:
        """Posts of the county whose region lies inside `region`, by region and id, with their active count."""
        occupied = (
            select(func.count())
            .where(
                ASSIGNMENT.c.county_code == POST.c.county_code,
                ASSIGNMENT.c.post_id == POST.c.id,
                ASSIGNMENT.c.status == "active",
            )
            .scalar_subquery()
            .label("occupied")
        )
        query = select(POST, occupied).where(POST.c.county_code == county_code, POST.c.region_code.startswith(region))
        if after is not None:
            query = query.where(
                or_(
                    POST.c.region_code > after[0],
                    and_(POST.c.region_code == after[0], POST.c.id > after[1]),
                )
            )
        query = query.order_by(POST.c.region_code, POST.c.id).limit(limit)
        rows = (await self.session.execute(query)).mappings()
        return [PostWithCount(row_as(Post, r), int(r["occupied"])) for r in rows]

    # --- assignments -----------------------------------------------------------------------

    async def membership(self, county_code: str, member_id: uuid.UUID) -> Membership | None:
        row = (
            (
                await self.session.execute(
                    text(
                        f"SELECT member_id, household_id, county_code, active FROM {MEMBER_IDENTITY} "
                        "WHERE county_code = :county AND member_id = :member "
                        "ORDER BY active DESC LIMIT 1"
                    ),
                    {"county": county_code, "member": member_id},
                )
            )
            .mappings()
            .one_or_none()
        )
        return row_as(Membership, row) if row is not None else None

    async def insert_assignment(self, values: dict[str, Any]) -> Assignment | None:
        """The new assignment, or None when the member already holds an active one."""
        stmt = (
            insert(ASSIGNMENT)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[ASSIGNMENT.c.county_code, ASSIGNMENT.c.member_id],
                index_where=text("status = 'active'"),
            )
            .returning(ASSIGNMENT)
        )
        row = (await self.session.execute(stmt)).mappings().one_or_none()
        return row_as(Assignment, row) if row is not None else None

    async def active_of_member(self, county_code: str, member_id: uuid.UUID) -> Assignment | None:
        query = select(ASSIGNMENT).where(
            ASSIGNMENT.c.county_code == county_code,
            ASSIGNMENT.c.member_id == member_id,
            ASSIGNMENT.c.status == "active",
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Assignment, row) if row is not None else None

    async def assignment(self, assignment_id: uuid.UUID, *, for_update: bool = False) -> Assignment | None:
        query = select(ASSIGNMENT).where(ASSIGNMENT.c.id == assignment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Assignment, row) if row is not None else None

    async def assignments_of_post(self, county_code: str, post_id: uuid.UUID) -> list[Assignment]:
        query = (
            select(ASSIGNMENT)
            .where(ASSIGNMENT.c.county_code == county_code, ASSIGNMENT.c.post_id == post_id)
            .order_by(ASSIGNMENT.c.status, ASSIGNMENT.c.start_date, ASSIGNMENT.c.id)
        )
        return [row_as(Assignment, r) for r in (await self.session.execute(query)).mappings()]

    async def update_assignment(self, assignment_id: uuid.UUID, values: dict[str, Any]) -> Assignment:
        stmt = ASSIGNMENT.update().where(ASSIGNMENT.c.id == assignment_id).values(**values).returning(ASSIGNMENT)
        return row_as(Assignment, (await self.session.execute(stmt)).mappings().one())

    # --- attendance ------------------------------------------------------------------------

    async def attendance(self, county_code: str, assignment_id: uuid.UUID, period: str) -> Attendance | None:
        query = select(ATTENDANCE).where(
            ATTENDANCE.c.county_code == county_code,
            ATTENDANCE.c.assignment_id == assignment_id,
            ATTENDANCE.c.period == period,
        )
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Attendance, row) if row is not None else None

    async def put_attendance(self, values: dict[str, Any]) -> Attendance:
        """Insert the month, or replace its figures (version + 1)."""
        stmt = insert(ATTENDANCE).values(**values)
        changing = ("days_attended", "assessment", "note", "monthly_wage", "days_per_month", "wage_payable")
        upsert = stmt.on_conflict_do_update(
            index_elements=[ATTENDANCE.c.assignment_id, ATTENDANCE.c.county_code, ATTENDANCE.c.period],
            set_={
                **{name: stmt.excluded[name] for name in changing},
                "version": ATTENDANCE.c.version + 1,
                "updated_at": stmt.excluded.updated_at,
            },
        ).returning(ATTENDANCE)
        return row_as(Attendance, (await self.session.execute(upsert)).mappings().one())

    async def attendance_of(self, county_code: str, assignment_id: uuid.UUID) -> list[Attendance]:
        query = (
            select(ATTENDANCE)
            .where(ATTENDANCE.c.county_code == county_code, ATTENDANCE.c.assignment_id == assignment_id)
            .order_by(ATTENDANCE.c.period)
        )
        return [row_as(Attendance, r) for r in (await self.session.execute(query)).mappings()]
