"""低保 (rules.md §4): the county's standard of each class per year, versioned like the thresholds
(seed 004's 462 / 354 / 200 become version 1 on first use), and the month's payments generated for
the households of every class — each household's `dibao` measure (class, persons) paid persons ×
the class's amount, once per measure and month, and sent to the registry as transfer income through
the outbox like every other assistance payment."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import DibaoPaymentResult, DibaoPaymentRun, DibaoStandardRead, DibaoStandardWrite
from services.screening.db.dibao_repository import DibaoRepository, DibaoStandard
from services.screening.domain import dibao as rules
from services.screening.domain.public_posts import period_bounds
from services.screening.service.assistance import AssistanceService
from services.screening.service.common import SERVICE, Context, Created, require_county_read, require_county_write
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.errors import Conflict, FieldError, PreconditionFailed, Unprocessable


def standard_read(row: DibaoStandard) -> DibaoStandardRead:
    return DibaoStandardRead(
        id=row.id,
        county_code=row.county_code,
        year=row.year,
        version=row.version,
        amounts={"A": row.amount_a, "B": row.amount_b, "C": row.amount_c},
        source=row.source,
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class DibaoService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = DibaoRepository(session)

    async def _ensure(self, county_code: str, year: int) -> DibaoStandard:
        """The county-year's current standard; the demo amounts become version 1 on first use."""
        row = await self.repo.current(county_code, year)
        if row is not None:
            return row
        await self.repo.lock(county_code, year)
        row = await self.repo.current(county_code, year)
        if row is not None:
            return row
        return await self.repo.insert(
            {
                "id": uuid.uuid4(),
                "county_code": county_code,
                "year": year,
                "version": 1,
                "amount_a": rules.DEMO_AMOUNTS["A"],
                "amount_b": rules.DEMO_AMOUNTS["B"],
                "amount_c": rules.DEMO_AMOUNTS["C"],
                "source": rules.DEMO_SOURCE,
                "note": None,
                "created_by": "system:first-use",
            }
        )

    async def current(self, principal: Principal, county_code: str, year: int) -> DibaoStandardRead:
        require_county_read(principal, county_code, "county")
        row = await self._ensure(county_code, year)
        await self.session.commit()
        return standard_read(row)

    async def versions(self, principal: Principal, county_code: str, year: int) -> list[DibaoStandardRead]:
        require_county_read(principal, county_code, "county")
        return [standard_read(r) for r in await self.repo.versions(county_code, year)]

    async def replace(
        self, principal: Principal, county_code: str, year: int, body: DibaoStandardWrite, *, if_match: int | None
    ) -> Created[DibaoStandardRead]:
        """A new version from the current one (If-Match; not needed for the county-year's first version)."""
        require_county_write(principal, county_code)
        await self.repo.lock(county_code, year)
        current = await self.repo.current(county_code, year)
        if current is not None:
            require_version(if_match, current.version, what=f"dibao standard {county_code}/{year}")
        elif if_match not in (None, 0):
            raise PreconditionFailed(f"dibao standard {county_code}/{year} does not exist yet", code="version_conflict")
        base = (
            {"A": current.amount_a, "B": current.amount_b, "C": current.amount_c}
            if current is not None
            else dict(rules.DEMO_AMOUNTS)
        )
        if current is None and set(body.amounts) != set(rules.CLASSES):
            missing = sorted(set(rules.CLASSES) - set(body.amounts))
            raise Unprocessable(
                "the first standard of a county-year names every class",
                errors=[FieldError(field=f"amounts.{c}", message="required") for c in missing],
            )
        amounts: dict[str, Decimal] = {c: body.amounts.get(c, base[c]) for c in rules.CLASSES}  # type: ignore[call-overload]
        if current is not None and amounts == base and body.source == current.source and body.note == current.note:
            raise Conflict("nothing changed: the body equals the current version", code="no_change")
        row = await self.repo.insert(
            {
                "id": uuid.uuid4(),
                "county_code": county_code,
                "year": year,
                "version": current.version + 1 if current is not None else 1,
                "amount_a": amounts["A"],
                "amount_b": amounts["B"],
                "amount_c": amounts["C"],
                "source": body.source,
                "note": body.note,
                "created_by": principal.sub,
            }
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.dibao_standard.versioned",
            "dibao_standard",
            row.id,
            {
                "county_code": county_code,
                "year": year,
                "version": row.version,
                "amounts": {c: f"{v:.2f}" for c, v in amounts.items()},
            },
        )
        read = standard_read(row)
        await self.session.commit()
        return Created(read, created=current is None)

    async def generate(self, principal: Principal, body: DibaoPaymentRun) -> DibaoPaymentResult:
        """The month's 低保 for every household measure of the county in a class: persons × the class's amount of
        the period's year (the current version), once per measure and month; each payment to the registry through
        the outbox. A second call pays only measures not yet paid for the month."""
        require_county_write(principal, body.county_code)
        first, last = period_bounds(body.period)
        paid_date = body.paid_date or self.ctx.today()
        if paid_date > self.ctx.today():
            raise Unprocessable(
                "a payment is recorded once made",
                errors=[FieldError(field="paid_date", message=f"{paid_date} is in the future")],
            )
        await self.repo.lock_month(body.county_code, body.period)
        standard = await self._ensure(body.county_code, first.year)
        before = await self.repo.already_paid(body.county_code, body.period)
        payments = await self.repo.generate(
            county_code=body.county_code,
            period=body.period,
            year=first.year,
            first_day=first,
            last_day=last,
            standard=standard,
            paid_date=paid_date,
            actor=principal.sub,
            now=self.ctx.now(),
        )
        assistance = AssistanceService(self.session, self.ctx)
        for payment in payments:
            await assistance.post_income(payment)
        total = sum((p.amount for p in payments), Decimal("0.00"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.dibao_payments.generated",
            "dibao_standard",
            standard.id,
            {
                "county_code": body.county_code,
                "period": body.period,
                "standard_version": standard.version,
                "payments": len(payments),
                "amount": f"{total:.2f}",
            },
        )
        result = DibaoPaymentResult(
            county_code=body.county_code,
            period=body.period,
            standard_version=standard.version,
            created=len(payments),
            created_amount=total,
            paid_before=before,
            payment_ids=[p.id for p in payments],
        )
        await self.session.commit()
        self.ctx.wake_outbox()
        return result
