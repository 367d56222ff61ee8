"""Assistance (帮扶措施, rules.md §4): measures as typed records for any household, the household's
assistance plan and its progress, and the money — each payment of a measure goes to the registry as
income of its year and type through the outbox, exactly once per payment; a correction reverses
(冲正) and re-posts."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    AssistanceMeasureCreate,
    AssistanceMeasureRead,
    AssistanceMeasureUpdate,
    AssistancePaymentCreate,
    AssistancePaymentRead,
    AssistancePlanRead,
    AssistanceReversalCreate,
    MeasureHistoryRead,
    PlanProgress,
)
from services.screening.db.assistance_repository import AssistanceMeasure, AssistancePayment, AssistanceRepository
from services.screening.db.cases_repository import CaseRepository, HouseholdSnapshot
from services.screening.db.tables import outbox
from services.screening.domain import assistance as rules
from services.screening.service.common import SERVICE, Context, Created
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.contracts.assistance import AssistanceIncomePost, AssistanceIncomeReversal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.outbox import enqueue

OPEN_STATUSES = (rules.MeasureStatus.PLANNED, rules.MeasureStatus.IN_PROGRESS)


def measure_read(row: AssistanceMeasure, paid_total: Decimal, today: date) -> AssistanceMeasureRead:
    spec = rules.TYPES[row.measure_type]
    status = rules.MeasureStatus(row.status)
    return AssistanceMeasureRead(
        id=row.id,
        household_id=row.household_id,
        county_code=row.county_code,
        village_code=row.village_code,
        measure_type=row.measure_type,
        measure_type_label=spec.label,
        income_type=spec.income.value if spec.income else None,
        status=row.status,
        status_label=rules.STATUS_LABELS[status],
        risk_code=row.risk_code,
        due_date=row.due_date,
        overdue=status in OPEN_STATUSES and row.due_date is not None and row.due_date < today,
        start_date=row.start_date,
        end_date=row.end_date,
        provider=row.provider,
        details=row.details,
        paid_total=paid_total,
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def payment_read(row: AssistancePayment) -> AssistancePaymentRead:
    return AssistancePaymentRead(
        id=row.id,
        measure_id=row.measure_id,
        household_id=row.household_id,
        measure_type=row.measure_type,
        income_type=row.income_type,
        period=row.period,
        year=row.year,
        amount=row.amount,
        paid_date=row.paid_date,
        kind="reversal" if row.kind == "reversal" else "payment",
        reverses_id=row.reverses_id,
        status=row.status,
        reason=row.reason,
        details=row.details,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, date) else f"{v:.2f}" if isinstance(v, Decimal) else v)
        for k, v in values.items()
    }


class AssistanceService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = AssistanceRepository(session)
        self.cases = CaseRepository(session)

    # --- reading ---------------------------------------------------------------------------

    async def _household(self, principal: Principal, household_id: uuid.UUID) -> HouseholdSnapshot:
        household = await self.cases.household(household_id)
        if household is None or not principal.can_see(household.village_code):
            raise NotFound("no such household in your region", code="household_not_found")
        return household

    async def _measure(
        self, principal: Principal, measure_id: uuid.UUID, *, for_update: bool = False
    ) -> AssistanceMeasure:
        row = await self.repo.measure(measure_id, for_update=for_update)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound("no such measure", code="measure_not_found")
        return row

    async def _read(self, row: AssistanceMeasure) -> AssistanceMeasureRead:
        return measure_read(row, await self.repo.paid_total(row.id), self.ctx.today())

    async def get(self, principal: Principal, measure_id: uuid.UUID) -> AssistanceMeasureRead:
        return await self._read(await self._measure(principal, measure_id))

    async def history(self, principal: Principal, measure_id: uuid.UUID) -> list[MeasureHistoryRead]:
        await self._measure(principal, measure_id)
        return [
            MeasureHistoryRead(version=h.version, action=h.action, changes=h.changes, actor_sub=h.actor_sub, at=h.at)
            for h in await self.repo.history(measure_id)
        ]

    async def plan(self, principal: Principal, household_id: uuid.UUID) -> AssistancePlanRead:
        """The household's assistance plan (帮扶计划): its measures by due date, and the progress."""
        await self._household(principal, household_id)
        reads = [await self._read(m) for m in await self.repo.measures_of(household_id)]
        counts = Counter(r.status for r in reads)
        return AssistancePlanRead(
            household_id=household_id,
            measures=reads,
            progress=PlanProgress(
                planned=counts["planned"],
                in_progress=counts["in_progress"],
                delivered=counts["delivered"],
                cancelled=counts["cancelled"],
                overdue=sum(1 for r in reads if r.overdue),
            ),
        )

    async def payments(self, principal: Principal, measure_id: uuid.UUID) -> list[AssistancePaymentRead]:
        await self._measure(principal, measure_id)
        return [payment_read(p) for p in await self.repo.payments_of(measure_id)]

    # --- measures --------------------------------------------------------------------------

    def _details(self, measure_type: str, details: dict[str, Any]) -> dict[str, Any]:
        clean, errors = rules.validate_details(measure_type, details)
        if errors:
            raise Unprocessable(
                f"the details of a {measure_type} measure are not valid",
                code="invalid_measure_details",
                errors=[FieldError(field=f"details.{e.field}", message=e.message) for e in errors],
            )
        return clean

    @staticmethod
    def _dates(start: date | None, end: date | None) -> None:
        if start is not None and end is not None and end < start:
            raise Unprocessable(
                "the measure ends before it starts",
                code="validation_failed",
                errors=[FieldError(field="end_date", message="before start_date")],
            )

    async def create(self, principal: Principal, body: AssistanceMeasureCreate) -> AssistanceMeasureRead:
        household = await self._household(principal, body.household_id)
        details = self._details(body.measure_type, dict(body.details))
        self._dates(body.start_date, body.end_date)
        now = self.ctx.now()
        row = await self.repo.insert_measure(
            {
                "id": uuid.uuid4(),
                "county_code": household.county_code,
                "township_code": household.township_code,
                "village_code": household.village_code,
                "household_id": household.household_id,
                "measure_type": body.measure_type,
                "status": body.status,
                "risk_code": body.risk_code,
                "due_date": body.due_date,
                "start_date": body.start_date,
                "end_date": body.end_date,
                "provider": body.provider,
                "details": details,
                "version": 1,
                "created_by": principal.sub,
                "created_at": now,
                "updated_at": now,
            }
        )
        await self.repo.insert_history(
            {
                "measure_id": row.id,
                "county_code": row.county_code,
                "version": 1,
                "action": "create",
                "changes": _jsonable(body.model_dump(exclude={"household_id"}) | {"details": details}),
                "actor_sub": principal.sub,
                "at": now,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.assistance_measure.created",
            "assistance_measure",
            row.id,
            {"household_id": str(row.household_id), "measure_type": row.measure_type},
        )
        read = await self._read(row)
        await self.session.commit()
        return read

    async def update(
        self, principal: Principal, measure_id: uuid.UUID, body: AssistanceMeasureUpdate, *, if_match: int | None
    ) -> AssistanceMeasureRead:
        row = await self._measure(principal, measure_id, for_update=True)
        require_version(if_match, row.version, what="measure")
        changes = body.model_dump(exclude_unset=True)
        values: dict[str, Any] = {}
        if "status" in changes and changes["status"] != row.status:
            current, wanted = rules.MeasureStatus(row.status), rules.MeasureStatus(changes["status"])
            if wanted not in rules.STATUS_MOVES[current]:
                raise Conflict(
                    f"a {current.value} measure cannot become {wanted.value}",
                    code="measure_status_refused",
                    extra={"status": current.value},
                )
            values["status"] = wanted.value
        for name in ("due_date", "start_date", "end_date", "provider"):
            if name in changes and changes[name] != getattr(row, name):
                values[name] = changes[name]
        if changes.get("details") is not None:
            details = self._details(row.measure_type, {**row.details, **changes["details"]})
            if details != row.details:
                values["details"] = details
        self._dates(values.get("start_date", row.start_date), values.get("end_date", row.end_date))
        if not values:
            return await self._read(row)
        now = self.ctx.now()
        fresh = await self.repo.update_measure(measure_id, {**values, "version": row.version + 1, "updated_at": now})
        await self.repo.insert_history(
            {
                "measure_id": row.id,
                "county_code": row.county_code,
                "version": fresh.version,
                "action": "update",
                "changes": {
                    k: {"from": _jsonable({k: getattr(row, k)})[k], "to": _jsonable({k: v})[k]}
                    for k, v in values.items()
                },
                "actor_sub": principal.sub,
                "at": now,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.assistance_measure.updated", "assistance_measure", row.id, {"fields": sorted(values)}
        )
        read = await self._read(fresh)
        await self.session.commit()
        return read

    # --- money -----------------------------------------------------------------------------

    async def pay(
        self,
        principal: Principal,
        measure_id: uuid.UUID,
        body: AssistancePaymentCreate,
        *,
        details: dict[str, Any] | None = None,
    ) -> Created[AssistancePaymentRead]:
        """A payment of the measure for `period`: the registry is told through the outbox, once.
        The same period again with the same amount and date answers the first payment (200); with
        other figures it is 409 `payment_period_taken` (reverse it first: a correction). `details`:
        what the amount was computed from (a 公益岗 wage's attendance), kept on the payment."""
        row = await self._measure(principal, measure_id, for_update=True)  # payments of a measure queue here
        spec = rules.TYPES[row.measure_type]
        if spec.income is None:
            raise Conflict(
                f"a {row.measure_type} measure resolves a risk and pays no income", code="measure_pays_no_income"
            )
        if row.status == rules.MeasureStatus.CANCELLED:
            raise Conflict("the measure is cancelled", code="measure_cancelled")
        year = rules.period_year(body.period)
        assert year is not None  # the wire model's pattern
        if body.paid_date > self.ctx.today():
            raise Unprocessable(
                "a payment is recorded once made",
                errors=[FieldError(field="paid_date", message=f"{body.paid_date} is in the future")],
            )
        existing = await self.repo.live_payment(row.county_code, measure_id, body.period)
        if existing is None:
            payment = await self.repo.insert_payment(
                {
                    "id": uuid.uuid4(),
                    "county_code": row.county_code,
                    "village_code": row.village_code,
                    "measure_id": row.id,
                    "household_id": row.household_id,
                    "measure_type": row.measure_type,
                    "income_type": spec.income.value,
                    "period": body.period,
                    "year": year,
                    "amount": body.amount,
                    "paid_date": body.paid_date,
                    "kind": "payment",
                    "status": "posted",
                    "details": details or {},
                    "created_by": principal.sub,
                    "created_at": self.ctx.now(),
                }
            )
            if payment is not None:
                await self.post_income(payment)
                await Auditor(self.session, SERVICE, principal).record(
                    "screening.assistance_payment.posted",
                    "assistance_payment",
                    payment.id,
                    {"measure_id": str(row.id), "period": body.period, "amount": f"{body.amount:.2f}"},
                )
                read = payment_read(payment)
                await self.session.commit()
                self.ctx.wake_outbox()
                return Created(read, created=True)
            existing = await self.repo.live_payment(row.county_code, measure_id, body.period)
            assert existing is not None
        await self.session.rollback()
        if existing.amount != body.amount or existing.paid_date != body.paid_date:
            raise Conflict(
                f"the measure was already paid for {body.period}; reverse that payment to correct it",
                code="payment_period_taken",
                extra={"payment_id": str(existing.id)},
            )
        return Created(payment_read(existing), created=False, replayed=True)

    async def post_income(self, payment: AssistancePayment) -> None:
        body = AssistanceIncomePost(
            payment_id=payment.id,
            measure_id=payment.measure_id,
            measure_type=payment.measure_type,
            income_type=payment.income_type,
            amount=payment.amount,
            paid_date=payment.paid_date,
            year=payment.year,
        )
        await enqueue(
            self.session,
            outbox,
            target="registry",
            method="POST",
            path=f"/v1/households/{payment.household_id}/assistance-income",
            body=body.model_dump(mode="json"),
            idempotency_key=f"screening:assistance:{payment.id}",
            ordering_key=f"household:{payment.household_id}",
            county_code=payment.county_code,
        )

    async def reverse(
        self, principal: Principal, payment_id: uuid.UUID, body: AssistanceReversalCreate
    ) -> Created[AssistancePaymentRead]:
        """Reverse (冲正) a payment: its income leaves the registry's year, once; the period may be paid again."""
        payment = await self.repo.payment(payment_id, for_update=True)
        if payment is None or not principal.can_see(payment.village_code):
            raise NotFound("no such payment", code="payment_not_found")
        if payment.kind != "payment":
            raise Conflict("a reversal cannot be reversed", code="payment_is_reversal")
        if payment.status == "reversed":
            reversal = await self.repo.reversal_of(payment_id)
            assert reversal is not None
            await self.session.rollback()
            return Created(payment_read(reversal), created=False, replayed=True)
        reversal = await self.repo.insert_reversal(
            {
                "id": uuid.uuid4(),
                "county_code": payment.county_code,
                "village_code": payment.village_code,
                "measure_id": payment.measure_id,
                "household_id": payment.household_id,
                "measure_type": payment.measure_type,
                "income_type": payment.income_type,
                "period": payment.period,
                "year": payment.year,
                "amount": payment.amount,
                "paid_date": self.ctx.today(),
                "kind": "reversal",
                "reverses_id": payment.id,
                "status": "posted",
                "reason": body.reason,
                "created_by": principal.sub,
                "created_at": self.ctx.now(),
            }
        )
        await self.repo.mark_reversed(payment.id)
        await enqueue(
            self.session,
            outbox,
            target="registry",
            method="POST",
            path=f"/v1/households/{payment.household_id}/assistance-income/{payment.id}/reversal",
            body=AssistanceIncomeReversal(reversal_id=reversal.id).model_dump(mode="json"),
            idempotency_key=f"screening:assistance-reversal:{reversal.id}",
            ordering_key=f"household:{payment.household_id}",
            county_code=payment.county_code,
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.assistance_payment.reversed",
            "assistance_payment",
            payment.id,
            {"reversal_id": str(reversal.id), "measure_id": str(payment.measure_id)},
        )
        read = payment_read(reversal)
        await self.session.commit()
        self.ctx.wake_outbox()
        return Created(read, created=True)
