"""公益岗 (public-welfare posts, rules.md §4): posts of a county, township or village; members of
households assigned to them; monthly attendance and assessment (考核) and the wage payable from it;
paying a month's wage is a payment of the assignment's `public_welfare_post` measure, so the
existing path (AssistanceService.pay → outbox → registry.assistance_income) carries it to the
household's wage income, exactly once per month.

Scope: a post belongs to its region (`region_code`). Writes on a post, its assignments, their
attendance and wages need a caller whose region covers the post's region (the office that runs the
post); an assignment's household lies inside the post's region, so that caller sees it too. Reads
of an assignment are also open to callers who see the household's village. Anything else is 404.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    AssistancePaymentCreate,
    AssistancePaymentRead,
    AttendancePut,
    AttendanceRead,
    PublicPostAssignmentCreate,
    PublicPostAssignmentEnd,
    PublicPostAssignmentRead,
    PublicPostCreate,
    PublicPostPage,
    PublicPostRead,
    PublicPostUpdate,
    WagePayment,
)
from services.screening.db.assistance_repository import AssistanceRepository
from services.screening.db.cases_repository import CaseRepository
from services.screening.db.public_posts_repository import Assignment, Attendance, Post, PublicPostRepository
from services.screening.domain import assistance as measures
from services.screening.domain import public_posts as rules
from services.screening.service.assistance import AssistanceService
from services.screening.service.common import SERVICE, Context, Created
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.pagination import encode_cursor, read_cursor

MEASURE_TYPE = "public_welfare_post"


def post_read(row: Post, occupied: int) -> PublicPostRead:
    level = rules.PostLevel(row.level)
    return PublicPostRead(
        id=row.id,
        county_code=row.county_code,
        region_code=row.region_code,
        level=level.value,
        level_label=rules.LEVEL_LABELS[level],
        name=row.name,
        monthly_wage=row.monthly_wage,
        days_per_month=row.days_per_month,
        capacity=row.capacity,
        occupied=occupied,
        status="closed" if row.status == "closed" else "open",
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def assignment_read(row: Assignment, post: Post) -> PublicPostAssignmentRead:
    return PublicPostAssignmentRead(
        id=row.id,
        post_id=row.post_id,
        post_name=post.name,
        monthly_wage=post.monthly_wage,
        household_id=row.household_id,
        member_id=row.member_id,
        measure_id=row.measure_id,
        county_code=row.county_code,
        village_code=row.village_code,
        start_date=row.start_date,
        end_date=row.end_date,
        status="ended" if row.status == "ended" else "active",
        end_reason=row.end_reason,
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _wage(row: Attendance) -> rules.Wage:
    return rules.wage_payable(row.monthly_wage, row.days_per_month, row.days_attended, rules.Assessment(row.assessment))


def attendance_read(row: Attendance, payment_id: uuid.UUID | None) -> AttendanceRead:
    wage = _wage(row)
    assessment = rules.Assessment(row.assessment)
    return AttendanceRead(
        assignment_id=row.assignment_id,
        period=row.period,
        days_attended=row.days_attended,
        assessment=assessment.value,
        assessment_label=rules.ASSESSMENT_LABELS[assessment],
        note=row.note,
        monthly_wage=row.monthly_wage,
        days_per_month=row.days_per_month,
        wage_payable=row.wage_payable,
        payable=wage.payable,
        not_payable_reason=wage.not_payable.value if wage.not_payable else None,
        payment_id=payment_id,
        version=row.version,
        updated_at=row.updated_at,
    )


class PublicPostService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = PublicPostRepository(session)
        self.assistance = AssistanceRepository(session)
        self.cases = CaseRepository(session)

    # --- scope -----------------------------------------------------------------------------

    async def _post(self, principal: Principal, post_id: uuid.UUID, *, for_update: bool = False) -> Post:
        row = await self.repo.post(post_id, for_update=for_update)
        if row is None or not principal.can_see(row.region_code):
            raise NotFound("no such public-welfare post in your region", code="public_post_not_found")
        return row

    async def _assignment(
        self, principal: Principal, assignment_id: uuid.UUID, *, write: bool, for_update: bool = False
    ) -> tuple[Assignment, Post]:
        row = await self.repo.assignment(assignment_id, for_update=for_update)
        post = await self.repo.post(row.post_id) if row is not None else None
        if row is None or post is None:
            raise NotFound("no such post assignment in your region", code="post_assignment_not_found")
        if not (principal.can_see(post.region_code) or (not write and principal.can_see(row.village_code))):
            raise NotFound("no such post assignment in your region", code="post_assignment_not_found")
        return row, post

    # --- posts -----------------------------------------------------------------------------

    async def create_post(self, principal: Principal, body: PublicPostCreate) -> PublicPostRead:
        level = rules.level_of(body.region_code)
        if level is None or not principal.can_see(body.region_code):
            raise NotFound("no such region in your scope", code="region_not_found")
        now = self.ctx.now()
        row = await self.repo.insert_post(
            {
                "id": uuid.uuid4(),
                "county_code": body.region_code[:6],
                "region_code": body.region_code,
                "level": level.value,
                "name": body.name.strip(),
                "monthly_wage": body.monthly_wage,
                "days_per_month": body.days_per_month,
                "capacity": body.capacity,
                "status": "open",
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.public_post.created",
            "public_post",
            row.id,
            {"region_code": row.region_code, "name": row.name, "monthly_wage": f"{row.monthly_wage:.2f}"},
        )
        read = post_read(row, 0)
        await self.session.commit()
        return read

    async def change_post(
        self, principal: Principal, post_id: uuid.UUID, body: PublicPostUpdate, *, if_match: int | None
    ) -> PublicPostRead:
        """Rename, re-price (the months recorded from now on), resize or close a post (If-Match). The capacity
        cannot fall below the members on the post (409 `capacity_below_occupied`)."""
        row = await self._post(principal, post_id, for_update=True)
        require_version(if_match, row.version, what="public-welfare post")
        occupied = await self.repo.occupied(row.county_code, row.id)
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        if "name" in changes:
            changes["name"] = changes["name"].strip()
        values = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if "capacity" in values and values["capacity"] < occupied:
            raise Conflict(
                "the capacity cannot fall below the members on the post",
                code="capacity_below_occupied",
                extra={"occupied": occupied},
            )
        if not values:
            return post_read(row, occupied)
        now = self.ctx.now()
        fresh = await self.repo.update_post(row.id, {**values, "version": row.version + 1, "updated_at": now})
        await Auditor(self.session, SERVICE, principal).record(
            "screening.public_post.changed",
            "public_post",
            row.id,
            {k: (f"{v:.2f}" if k == "monthly_wage" else v) for k, v in values.items()},
        )
        read = post_read(fresh, occupied)
        await self.session.commit()
        return read

    async def get_post(self, principal: Principal, post_id: uuid.UUID) -> PublicPostRead:
        row = await self._post(principal, post_id)
        return post_read(row, await self.repo.occupied(row.county_code, row.id))

    async def list_posts(
        self, principal: Principal, county_code: str, cursor: str | None, limit: int
    ) -> PublicPostPage:
        """The county's posts inside the caller's region (a caller covering the county sees them all)."""
        if principal.region.startswith(county_code):
            region = principal.region
        elif county_code.startswith(principal.region):
            region = county_code
        else:
            raise NotFound("no such county in your region", code="not_found")
        after = read_cursor(cursor, str, uuid.UUID)
        rows = await self.repo.posts(county_code, region, (after[0], after[1]) if after else None, limit + 1)
        items = [post_read(r.post, r.occupied) for r in rows[:limit]]
        last = rows[limit - 1].post if len(rows) > limit else None
        return PublicPostPage(
            items=items, next_cursor=encode_cursor([last.region_code, str(last.id)]) if last else None
        )

    # --- assignments -----------------------------------------------------------------------

    async def assign(
        self, principal: Principal, post_id: uuid.UUID, body: PublicPostAssignmentCreate
    ) -> PublicPostAssignmentRead:
        post = await self._post(principal, post_id, for_update=True)  # assignments of a post queue here
        household = await self.cases.household(body.household_id)
        if household is None or not principal.can_see(household.village_code):
            raise NotFound("no such household in your region", code="household_not_found")
        if not household.village_code.startswith(post.region_code):
            raise Conflict(
                "the household lies outside the post's region",
                code="household_outside_post_region",
                extra={"region_code": post.region_code},
            )
        if post.status == "closed":
            raise Conflict("the post is closed", code="public_post_closed")
        member = await self.repo.membership(household.county_code, body.member_id)
        if member is None or member.household_id != household.household_id or not member.active:
            raise Unprocessable(
                "the member is not in this household",
                code="member_not_in_household",
                errors=[FieldError(field="member_id", message="not a current member of the household")],
            )
        if body.end_date is not None and body.end_date < body.start_date:
            raise Unprocessable(
                "the assignment ends before it starts",
                errors=[FieldError(field="end_date", message="before start_date")],
            )
        held = await self.repo.active_of_member(post.county_code, body.member_id)
        if held is not None:
            raise Conflict(
                "the member already holds a post", code="member_already_assigned", extra={"assignment_id": str(held.id)}
            )
        if await self.repo.occupied(post.county_code, post.id) >= post.capacity:
            raise Conflict(
                "every place of the post is taken", code="public_post_full", extra={"capacity": post.capacity}
            )
        now = self.ctx.now()
        details, errors = measures.validate_details(
            MEASURE_TYPE, {"post": post.name, "monthly_wage": f"{post.monthly_wage:.2f}"}
        )
        assert not errors  # the post's own figures
        measure = await self.assistance.insert_measure(
            {
                "id": uuid.uuid4(),
                "county_code": household.county_code,
                "township_code": household.township_code,
                "village_code": household.village_code,
                "household_id": household.household_id,
                "measure_type": MEASURE_TYPE,
                "status": measures.MeasureStatus.IN_PROGRESS.value,
                "start_date": body.start_date,
                "end_date": body.end_date,
                "provider": post.name,
                "details": details,
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        await self.assistance.insert_history(
            {
                "measure_id": measure.id,
                "county_code": measure.county_code,
                "version": 1,
                "action": "create",
                "changes": {"public_post_id": str(post.id), "details": details, "start_date": str(body.start_date)},
                "actor_sub": principal.sub,
                "at": now,
            }
        )
        row = await self.repo.insert_assignment(
            {
                "id": uuid.uuid4(),
                "county_code": household.county_code,
                "post_id": post.id,
                "township_code": household.township_code,
                "village_code": household.village_code,
                "household_id": household.household_id,
                "member_id": body.member_id,
                "measure_id": measure.id,
                "start_date": body.start_date,
                "end_date": body.end_date,
                "status": "active",
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        if row is None:  # a concurrent assignment of the member to another post won
            await self.session.rollback()
            raise Conflict("the member already holds a post", code="member_already_assigned")
        await Auditor(self.session, SERVICE, principal).record(
            "screening.public_post_assignment.created",
            "public_post_assignment",
            row.id,
            {"post_id": str(post.id), "household_id": str(row.household_id), "measure_id": str(measure.id)},
        )
        read = assignment_read(row, post)
        await self.session.commit()
        return read

    async def get_assignment(self, principal: Principal, assignment_id: uuid.UUID) -> PublicPostAssignmentRead:
        row, post = await self._assignment(principal, assignment_id, write=False)
        return assignment_read(row, post)

    async def assignments_of_post(self, principal: Principal, post_id: uuid.UUID) -> list[PublicPostAssignmentRead]:
        post = await self._post(principal, post_id)
        return [assignment_read(a, post) for a in await self.repo.assignments_of_post(post.county_code, post.id)]

    async def end_assignment(
        self, principal: Principal, assignment_id: uuid.UUID, body: PublicPostAssignmentEnd
    ) -> PublicPostAssignmentRead:
        """The member leaves the post (离岗): the assignment ends, its measure is delivered (已落实); the
        months already recorded stay payable. Ending an ended assignment again answers it as it is."""
        row, post = await self._assignment(principal, assignment_id, write=True, for_update=True)
        if row.status == "ended":
            await self.session.rollback()
            return assignment_read(row, post)
        if body.end_date < row.start_date:
            raise Unprocessable(
                "the assignment ends before it starts",
                errors=[FieldError(field="end_date", message="before start_date")],
            )
        later = [
            a.period
            for a in await self.repo.attendance_of(row.county_code, row.id)
            if not rules.covers(a.period, row.start_date, body.end_date)
        ]
        if later:
            raise Conflict(
                "attendance is recorded after that end date",
                code="attendance_after_end",
                extra={"periods": later},
            )
        now = self.ctx.now()
        fresh = await self.repo.update_assignment(
            row.id,
            {
                "status": "ended",
                "end_date": body.end_date,
                "end_reason": body.reason,
                "version": row.version + 1,
                "updated_at": now,
            },
        )
        measure = await self.assistance.measure(row.measure_id, for_update=True)
        if measure is not None and measure.status in ("planned", "in_progress"):
            updated = await self.assistance.deliver_measure(measure.id, end_date=body.end_date, at=now)
            await self.assistance.insert_history(
                {
                    "measure_id": measure.id,
                    "county_code": measure.county_code,
                    "version": updated.version,
                    "action": "update",
                    "changes": {
                        "status": {"from": measure.status, "to": "delivered"},
                        "end_date": {
                            "from": str(measure.end_date) if measure.end_date else None,
                            "to": str(body.end_date),
                        },
                    },
                    "actor_sub": principal.sub,
                    "at": now,
                }
            )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.public_post_assignment.ended",
            "public_post_assignment",
            row.id,
            {"end_date": body.end_date.isoformat()},
        )
        read = assignment_read(fresh, post)
        await self.session.commit()
        return read

    # --- attendance and wages --------------------------------------------------------------

    def _check_period(self, period: str, row: Assignment) -> None:
        first, _ = rules.period_bounds(period)
        if first > self.ctx.today():
            raise Unprocessable(
                "attendance is recorded for a month that has begun",
                errors=[FieldError(field="period", message=f"{period} has not begun")],
            )
        if not rules.covers(period, row.start_date, row.end_date):
            raise Conflict(
                f"the assignment does not cover {period}",
                code="period_outside_assignment",
                extra={"period": period},
            )

    async def put_attendance(
        self, principal: Principal, assignment_id: uuid.UUID, period: str, body: AttendancePut
    ) -> Created[AttendanceRead]:
        """The month's attendance and assessment; the wage payable follows (domain/public_posts.py). A month
        already paid is 409 `attendance_paid`: reverse its payment first, then correct it."""
        row, post = await self._assignment(principal, assignment_id, write=True, for_update=True)
        self._check_period(period, row)
        if body.days_attended > rules.days_in_month(period):
            raise Unprocessable(
                "more days than the month has",
                errors=[FieldError(field="days_attended", message=f"{period} has {rules.days_in_month(period)} days")],
            )
        live = await self.assistance.live_payment(row.county_code, row.measure_id, period)
        if live is not None:
            raise Conflict(
                f"the wage of {period} is paid; reverse that payment to correct the month",
                code="attendance_paid",
                extra={"payment_id": str(live.id)},
            )
        before = await self.repo.attendance(row.county_code, row.id, period)
        wage = rules.wage_payable(
            post.monthly_wage, post.days_per_month, body.days_attended, rules.Assessment(body.assessment)
        )
        now = self.ctx.now()
        saved = await self.repo.put_attendance(
            {
                "assignment_id": row.id,
                "county_code": row.county_code,
                "period": period,
                "days_attended": body.days_attended,
                "assessment": body.assessment,
                "note": body.note,
                "monthly_wage": post.monthly_wage,
                "days_per_month": post.days_per_month,
                "wage_payable": wage.amount,
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.public_post_attendance.recorded",
            "public_post_assignment",
            row.id,
            {
                "period": period,
                "days_attended": body.days_attended,
                "assessment": body.assessment,
                "wage_payable": f"{wage.amount:.2f}",
                "version": saved.version,
            },
        )
        read = attendance_read(saved, None)
        await self.session.commit()
        return Created(read, created=before is None)

    async def attendance(self, principal: Principal, assignment_id: uuid.UUID) -> list[AttendanceRead]:
        row, _ = await self._assignment(principal, assignment_id, write=False)
        paid = {
            p.period: p.id
            for p in await self.assistance.payments_of(row.measure_id)
            if p.kind == "payment" and p.status == "posted"
        }
        return [attendance_read(a, paid.get(a.period)) for a in await self.repo.attendance_of(row.county_code, row.id)]

    async def pay_wage(
        self, principal: Principal, assignment_id: uuid.UUID, body: WagePayment
    ) -> Created[AssistancePaymentRead]:
        """Pays the month's wage payable as a payment of the assignment's measure (AssistanceService.pay):
        once per month — the same again answers the first payment (200)."""
        row, _ = await self._assignment(principal, assignment_id, write=True, for_update=True)
        month = await self.repo.attendance(row.county_code, row.id, body.period)
        if month is None:
            raise Conflict(f"no attendance is recorded for {body.period}", code="attendance_missing")
        wage = _wage(month)
        if not wage.payable:
            reason = wage.not_payable.value if wage.not_payable else "no_attendance"
            raise Conflict(
                f"no wage is payable for {body.period} ({reason})",
                code="wage_not_payable",
                extra={"reason": reason},
            )
        details: dict[str, Any] = {
            "assignment_id": str(row.id),
            "post_id": str(row.post_id),
            "days_attended": month.days_attended,
            "days_per_month": month.days_per_month,
            "assessment": month.assessment,
            "monthly_wage": f"{month.monthly_wage:.2f}",
        }
        if wage.note:
            details["note"] = wage.note
        paid_date: date = body.paid_date or self.ctx.today()
        return await AssistanceService(self.session, self.ctx).pay(
            principal,
            row.measure_id,
            AssistancePaymentCreate(period=body.period, amount=wage.amount, paid_date=paid_date),
            details=details,
        )
