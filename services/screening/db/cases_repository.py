"""Monitoring cases, their transitions, measures and notice objections: every query of them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Select, cast, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import (
    SNAPSHOT,
    SNAPSHOT_COLUMNS,
    case_transition,
    measure,
    monitoring_case,
    objection,
    row_as,
)
from services.screening.domain.cases import OPEN_STATES

C = monitoring_case


@dataclass(frozen=True, slots=True)
class OverdueOn:
    """The identification limit rule (认定时限, rules.md §1.4), decided once for the case list and the ledger.

    A case is overdue on ``day`` (a date of the county's calendar, instants read in ``zone``) when it
    had been opened by that day, its ``identification_deadline`` is before that day, and it had been
    neither confirmed nor closed (rejected) by that day. The deadline is the opening date plus the
    county's limit in working days, computed with the calendar (holidays, make-up working days) when
    the case is opened (domain/calendar.py `identification_deadline`) and stored on the case, so SQL
    compares dates only. For ``day`` = today this is "still being identified and past the deadline";
    for a day in the past (a ledger month's end) it reads the case's history.
    """

    day: date
    zone: str  # an IANA name PostgreSQL knows, e.g. Asia/Shanghai

    def clause(self) -> ColumnElement[bool]:
        def local(column: Any) -> Any:
            return cast(func.timezone(self.zone, column), Date)

        return (
            (local(C.c.opened_at) <= self.day)
            & (C.c.identification_deadline < self.day)
            & or_(C.c.confirmed_at.is_(None), local(C.c.confirmed_at) > self.day)
            & or_(C.c.closed_at.is_(None), local(C.c.closed_at) > self.day)
        )

    def holds_for(self, case: Case) -> bool:
        """The same rule on a case already read (the `overdue` flag of a read model)."""
        zone = ZoneInfo(self.zone)

        def local(moment: datetime | None) -> date | None:
            return None if moment is None else moment.astimezone(zone).date()

        confirmed, closed = local(case.confirmed_at), local(case.closed_at)
        return (
            case.opened_at.astimezone(zone).date() <= self.day
            and case.identification_deadline < self.day
            and (confirmed is None or confirmed > self.day)
            and (closed is None or closed > self.day)
        )


@dataclass(frozen=True, slots=True)
class Case:
    """A monitoring case (监测案件)."""

    id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    household_number: str | None
    source: str
    state: str
    risk_codes: list[str]
    suggested_type: str | None
    monitoring_type: str | None
    elimination_kind: str | None
    lead_id: uuid.UUID | None
    opened_at: datetime
    state_entered_at: datetime
    identification_deadline: date
    notice_start_date: date | None
    notice_days: int | None
    confirmed_at: datetime | None
    eliminated_at: datetime | None
    closed_at: datetime | None
    threshold_version_id: uuid.UUID | None
    version: int
    created_by: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CaseTransition:
    """One recorded step of a case (`evidence` is the stored document)."""

    id: uuid.UUID
    case_id: uuid.UUID
    county_code: str
    seq: int
    action: str
    from_state: str
    to_state: str
    actor_sub: str
    actor_role: str
    actor_region: str
    at: datetime
    comment: str | None
    evidence: dict[str, Any]
    threshold_version_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Measure:
    """An assistance measure of a case (帮扶措施)."""

    id: uuid.UUID
    case_id: uuid.UUID
    county_code: str
    household_id: uuid.UUID
    measure_type: str
    description: str
    start_date: date
    delivered_date: date | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Objection:
    """An objection to a case's notice (公示异议)."""

    id: uuid.UUID
    case_id: uuid.UUID
    county_code: str
    notice_state: str
    notice_start_date: date
    content: str
    raised_by_sub: str
    raised_by_role: str
    raised_at: datetime
    status: str
    resolution: str | None
    resolved_by_sub: str | None
    resolved_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class HouseholdSnapshot:
    """A household as the registry's read contract shows it (registry.household_snapshot_v1)."""

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


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the household, from the registry's read contract ----------------------------------

    async def household(self, household_id: uuid.UUID) -> HouseholdSnapshot | None:
        row = (
            await self.session.execute(
                text(f"SELECT {SNAPSHOT_COLUMNS} FROM {SNAPSHOT} WHERE household_id = :id"), {"id": household_id}
            )
        ).one_or_none()
        return HouseholdSnapshot.from_row(row) if row is not None else None

    # --- cases -----------------------------------------------------------------------------

    async def insert_case(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(C).values(**values))

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        query = select(C).where(C.c.id == case_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Case, row) if row is not None else None

    async def open_case_of(self, county_code: str, household_id: uuid.UUID) -> Case | None:
        row = (
            (
                await self.session.execute(
                    select(C).where(
                        C.c.county_code == county_code,
                        C.c.household_id == household_id,
                        C.c.state.in_([s.value for s in OPEN_STATES]),
                    )
                )
            )
            .mappings()
            .one_or_none()
        )
        return row_as(Case, row) if row is not None else None

    async def lock_household(self, household_id: uuid.UUID) -> None:
        key = func.hashtextextended(f"screening-case:{household_id}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def update_case(self, case_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(C).where(C.c.id == case_id).values(**values))

    @staticmethod
    def _cases(
        *,
        region_prefix: str,
        county_code: str | None = None,
        township_code: str | None = None,
        village_code: str | None = None,
        state: str | None = None,
        household_id: uuid.UUID | None = None,
        overdue: OverdueOn | None = None,
    ) -> Select[Any]:
        """The cases of a region, filtered: the one query behind the case list and the ledger's overdue count."""
        query = select(C)
        if region_prefix:
            query = query.where(C.c.village_code.startswith(region_prefix, autoescape=True))
        for column, value in (
            (C.c.county_code, county_code),
            (C.c.township_code, township_code),
            (C.c.village_code, village_code),
            (C.c.state, state),
            (C.c.household_id, household_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if overdue is not None:
            query = query.where(overdue.clause())
        return query

    async def list_cases(
        self,
        *,
        region_prefix: str,
        county_code: str | None,
        township_code: str | None,
        village_code: str | None,
        state: str | None,
        household_id: uuid.UUID | None,
        overdue: OverdueOn | None,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[Case]:
        query = self._cases(
            region_prefix=region_prefix,
            county_code=county_code,
            township_code=township_code,
            village_code=village_code,
            state=state,
            household_id=household_id,
            overdue=overdue,
        )
        if after:
            stamp, last_id = after  # (opened_at, id) of the last row of the page before
            query = query.where((C.c.opened_at > stamp) | ((C.c.opened_at == stamp) & (C.c.id > last_id)))
        rows = await self.session.execute(query.order_by(C.c.opened_at, C.c.id).limit(limit))
        return [row_as(Case, r) for r in rows.mappings()]

    async def count_overdue(self, *, county_code: str, region_prefix: str, overdue: OverdueOn) -> int:
        """How many cases `list_cases(overdue=...)` lists for the same county and region (the ledger's count)."""
        listed = self._cases(region_prefix=region_prefix, county_code=county_code, overdue=overdue).subquery()
        return int((await self.session.execute(select(func.count()).select_from(listed))).scalar_one())

    # --- transitions -----------------------------------------------------------------------

    async def add_transition(self, values: dict[str, Any]) -> None:
        seq = (
            await self.session.execute(
                select(func.coalesce(func.max(case_transition.c.seq), 0)).where(
                    case_transition.c.case_id == values["case_id"]
                )
            )
        ).scalar_one()
        await self.session.execute(insert(case_transition).values(id=uuid.uuid4(), seq=int(seq) + 1, **values))

    async def transitions(self, case_id: uuid.UUID) -> list[CaseTransition]:
        rows = await self.session.execute(
            select(case_transition).where(case_transition.c.case_id == case_id).order_by(case_transition.c.seq)
        )
        return [row_as(CaseTransition, r) for r in rows.mappings()]

    # --- measures --------------------------------------------------------------------------

    async def insert_measure(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(measure).values(**values))

    async def measure(self, case_id: uuid.UUID, measure_id: uuid.UUID, *, for_update: bool = False) -> Measure | None:
        query = select(measure).where(measure.c.id == measure_id, measure.c.case_id == case_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Measure, row) if row is not None else None

    async def update_measure(self, measure_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(measure).where(measure.c.id == measure_id).values(**values))

    async def measures(self, case_id: uuid.UUID) -> list[Measure]:
        rows = await self.session.execute(
            select(measure).where(measure.c.case_id == case_id).order_by(measure.c.start_date, measure.c.id)
        )
        return [row_as(Measure, r) for r in rows.mappings()]

    async def delivered_measures(self, case_id: uuid.UUID, on_or_before: date) -> int:
        return int(
            (
                await self.session.execute(
                    select(func.count()).where(
                        measure.c.case_id == case_id,
                        measure.c.delivered_date.is_not(None),
                        measure.c.delivered_date <= on_or_before,
                    )
                )
            ).scalar_one()
        )

    async def open_unsafe_risks(self, county_code: str, household_id: uuid.UUID, since: date) -> tuple[bool, bool]:
        """Housing / water records since `since` not followed by a delivered resolving measure."""
        row = (
            await self.session.execute(
                text(
                    """
                    SELECT bool_or(f.kind = 'housing_unsafe') AS housing, bool_or(f.kind = 'water_unsafe') AS water
                      FROM screening.feed_record f
                     WHERE f.county_code = :county AND f.household_id = :household
                       AND f.kind IN ('housing_unsafe', 'water_unsafe') AND f.event_date >= :since
                       AND NOT EXISTS (
                           SELECT 1 FROM screening.measure ms
                            WHERE ms.county_code = f.county_code AND ms.household_id = f.household_id
                              AND ms.measure_type = CASE f.kind WHEN 'housing_unsafe' THEN 'housing_safety'
                                                                ELSE 'drinking_water' END
                              AND ms.delivered_date >= f.event_date)
                    """
                ),
                {"county": county_code, "household": household_id, "since": since},
            )
        ).one()
        return bool(row.housing), bool(row.water)

    # --- objections ------------------------------------------------------------------------

    async def insert_objection(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(objection).values(**values))

    async def objection(
        self, case_id: uuid.UUID, objection_id: uuid.UUID, *, for_update: bool = False
    ) -> Objection | None:
        query = select(objection).where(objection.c.id == objection_id, objection.c.case_id == case_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Objection, row) if row is not None else None

    async def update_objection(self, objection_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(objection).where(objection.c.id == objection_id).values(**values))

    async def objections(self, case_id: uuid.UUID) -> list[Objection]:
        rows = await self.session.execute(
            select(objection).where(objection.c.case_id == case_id).order_by(objection.c.raised_at)
        )
        return [row_as(Objection, r) for r in rows.mappings()]

    async def notice_objections(self, case_id: uuid.UUID, notice_state: str, notice_start: date) -> list[Objection]:
        rows = await self.session.execute(
            select(objection).where(
                objection.c.case_id == case_id,
                objection.c.notice_state == notice_state,
                objection.c.notice_start_date == notice_start,
            )
        )
        return [row_as(Objection, r) for r in rows.mappings()]
